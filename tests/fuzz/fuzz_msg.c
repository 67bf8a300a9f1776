/* Frame checks shared by fuzz_request.c and fuzz_delivery.c. */
#include "fuzz_msg.h"

#include <stdio.h>

#include "fuzz_util.h"

const char *fuzz_msg_frame(const struct sc_msg *m, size_t *len)
{
    const unsigned char *f = sc_msg_frame(m);
    size_t blen, hlen, plen = 0;
    const char *body = sc_msg_body(m, &blen);

    FUZZ_CHECK(m->refs == 1);
    FUZZ_CHECK(f[0] == 0x81); /* FIN, text; clients reject anything else */
    /* RFC 6455 5.2: unmasked, and "the minimal number of bytes MUST be
     * used to encode the length". */
    if (f[1] < 126) {
        hlen = 2;
        plen = f[1];
    } else if (f[1] == 126) {
        hlen = 4;
        plen = (size_t)f[2] << 8 | f[3];
        FUZZ_CHECK(plen >= 126);
    } else {
        FUZZ_CHECK(f[1] == 127);
        hlen = 10;
        FUZZ_CHECK(f[2] < 0x80); /* the most significant bit MUST be 0 */
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | f[2 + i];
        FUZZ_CHECK(plen > 0xFFFF);
    }
    FUZZ_CHECK(plen == blen);
    FUZZ_CHECK(m->len == hlen + blen);
    FUZZ_CHECK((const char *)f + hlen == body);
    *len = blen;
    return body;
}

json_t *fuzz_msg_json(const struct sc_msg *m)
{
    size_t blen;
    const char *body = fuzz_msg_frame(m, &blen);
    json_error_t jerr;
    json_t *j;

    j = json_loadb(body, blen, JSON_ALLOW_NUL, &jerr);
    if (!j)
        fprintf(stderr, "frame body is not JSON: %s at %d\n", jerr.text, jerr.position);
    FUZZ_CHECK(json_is_object(j));
    return j;
}

const char *fuzz_json_str(const json_t *obj, const char *key, size_t *len)
{
    const json_t *v = json_object_get(obj, key);

    FUZZ_CHECK(json_is_string(v));
    *len = json_string_length(v);
    return json_string_value(v);
}
