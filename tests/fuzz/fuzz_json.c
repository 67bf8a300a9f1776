/* Fuzz target: the fan-out text encodings (server/sc_json.h).
 *
 * Input: arbitrary bytes, used whole as the payload of each function.
 *  - sc_utf8_valid() must agree with two independent validators: jansson's
 *    (json_stringn() refuses ill-formed UTF-8) and fuzz_util.c's decoder.
 *  - sc_json_append_string() output must be one JSON string that jansson
 *    decodes to the input when the input is UTF-8, else to the input with
 *    each invalid byte replaced by U+FFFD; and when nothing needs escaping
 *    the bytes must pass through untouched (docs/protocol.md: "byte for
 *    byte").
 *  - sc_base64_append() output must be the canonical RFC 4648 encoding of
 *    the input, and must not disturb what the buffer already held.
 * Each append runs on a fresh buffer and on one that already holds bytes,
 * because the two take different paths through sc_buf's growth. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sc_json.h"

static const char prefix[] = "{\"op\":\"message\",\"data\":";

static void check_utf8(const unsigned char *p, size_t len)
{
    int got = sc_utf8_valid(p, len);
    json_t *s = json_stringn((const char *)p, len);

    FUZZ_CHECK(got == 0 || got == 1);
    FUZZ_CHECK(got == ref_utf8_valid(p, len));
    FUZZ_CHECK(got == (s != NULL));
    json_decref(s);
}

/* Checks out[0..olen), one appended JSON string, against input p. */
static void check_json_string(const char *out, size_t olen, const unsigned char *p, size_t len)
{
    json_error_t jerr;
    json_t *v = json_loadb(out, olen, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    size_t wlen;
    unsigned char *want = ref_utf8_replace(p, len, &wlen);

    FUZZ_CHECK(json_is_string(v));
    FUZZ_CHECK(json_string_length(v) == wlen);
    FUZZ_CHECK(!memcmp(json_string_value(v), want, wlen));
    /* Only controls, '"' and '\\' need escapes; a string without them
     * (and valid, so nothing was replaced) must come out verbatim. */
    int plain = wlen == len;
    for (size_t i = 0; plain && i < len; i++)
        if (p[i] < 0x20 || p[i] == '"' || p[i] == '\\')
            plain = 0;
    if (plain)
        FUZZ_CHECK(olen == len + 2 && out[0] == '"' && out[olen - 1] == '"' &&
                   !memcmp(out + 1, p, len));
    free(want);
    json_decref(v);
}

static void check_json_append(const unsigned char *p, size_t len)
{
    struct sc_buf b;
    size_t pl = sizeof(prefix) - 1;

    sc_buf_init(&b);
    sc_json_append_string(&b, p, len);
    FUZZ_CHECK(!sc_buf_failed(&b));
    check_json_string(b.data, b.len, p, len);
    sc_buf_free(&b);

    sc_buf_init(&b);
    sc_buf_append(&b, prefix, pl);
    sc_json_append_string(&b, p, len);
    FUZZ_CHECK(!sc_buf_failed(&b) && b.len >= pl);
    FUZZ_CHECK(!memcmp(b.data, prefix, pl));
    check_json_string(b.data + pl, b.len - pl, p, len);
    sc_buf_free(&b);
}

static void check_base64_text(const char *out, size_t olen, const unsigned char *p, size_t len)
{
    size_t dlen = 0;
    unsigned char *dec;

    FUZZ_CHECK(olen == (len + 2) / 3 * 4);
    dec = ref_base64_decode(out, olen, &dlen);
    FUZZ_CHECK(dec != NULL);
    FUZZ_CHECK(dlen == len && (len == 0 || !memcmp(dec, p, len)));
    free(dec);
}

static void check_base64(const unsigned char *p, size_t len)
{
    struct sc_buf b;
    size_t pl = sizeof(prefix) - 1;

    sc_buf_init(&b);
    sc_base64_append(&b, p, len);
    FUZZ_CHECK(!sc_buf_failed(&b));
    check_base64_text(b.data, b.len, p, len);
    sc_buf_free(&b);

    sc_buf_init(&b);
    sc_buf_append(&b, prefix, pl);
    sc_base64_append(&b, p, len);
    FUZZ_CHECK(!sc_buf_failed(&b) && b.len >= pl);
    FUZZ_CHECK(!memcmp(b.data, prefix, pl));
    check_base64_text(b.data + pl, b.len - pl, p, len);
    sc_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    check_utf8(data, size);
    check_json_append(data, size);
    check_base64(data, size);
    return 0;
}
