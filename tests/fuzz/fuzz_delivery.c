/* Fuzz target: the delivery frame (sc_msg_delivery() in server/sc_msg.h).
 *
 * Input layout (tests/fuzz/corpus/delivery/ files follow it):
 *   byte 0      flags: bit 0 = a pattern is given (else pattern is NULL),
 *               bit 1 = data is the rest of the input repeated REPEAT
 *               times, so short inputs reach the 64-bit frame length form
 *   byte 1      channel length (clipped to what is left)
 *   byte 2      pattern length (clipped to what is left)
 *   then        channel bytes, pattern bytes, data bytes (the rest)
 * Missing header bytes read as 0.
 *
 * The frame must be one minimal RFC 6455 text frame whose body decodes with
 * jansson to exactly the members of docs/protocol.md "Deliveries": channel
 * and pattern as given (each invalid UTF-8 byte replaced by U+FFFD); data
 * byte for byte when it is UTF-8, else base64 that decodes to the exact
 * bytes, with "encoding":"base64".
 *
 * The data bytes also go through sc_msg_text(), the frame builder for
 * bodies made elsewhere: it must frame them unchanged. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_msg.h"
#include "fuzz_util.h"
#include "sc_msg.h"

#define REPEAT 21 /* 21 * 3121 bytes > 65535: the 8-byte length form */

/* Member key must be the JSON string of p[0..len) after replacement. */
static void check_name(const json_t *body, const char *key, const char *p, size_t len)
{
    size_t glen, wlen;
    const char *got = fuzz_json_str(body, key, &glen);
    unsigned char *want = ref_utf8_replace((const unsigned char *)p, len, &wlen);

    FUZZ_CHECK(glen == wlen && !memcmp(got, want, wlen));
    free(want);
}

static void check_delivery(const char *channel, size_t clen, const char *pattern, size_t plen,
                           const char *data, size_t dlen)
{
    struct sc_msg *m = sc_msg_delivery(channel, clen, pattern, plen, data, dlen);
    json_t *body;
    const char *got;
    size_t glen;
    int utf8 = ref_utf8_valid((const unsigned char *)data, dlen);

    FUZZ_CHECK(m != NULL);
    body = fuzz_msg_json(m);
    got = fuzz_json_str(body, "op", &glen);
    FUZZ_CHECK(glen == 7 && !memcmp(got, "message", 7));
    check_name(body, "channel", channel, clen);
    if (pattern)
        check_name(body, "pattern", pattern, plen);
    else
        FUZZ_CHECK(json_object_get(body, "pattern") == NULL);
    got = fuzz_json_str(body, "data", &glen);
    if (utf8) {
        FUZZ_CHECK(glen == dlen && (dlen == 0 || !memcmp(got, data, dlen)));
        FUZZ_CHECK(json_object_get(body, "encoding") == NULL);
    } else {
        size_t elen, blen = 0;
        const char *enc = fuzz_json_str(body, "encoding", &elen);
        unsigned char *bytes = ref_base64_decode(got, glen, &blen);
        FUZZ_CHECK(elen == 6 && !memcmp(enc, "base64", 6));
        FUZZ_CHECK(bytes != NULL && blen == dlen && !memcmp(bytes, data, dlen));
        free(bytes);
    }
    /* Nothing but the documented members. */
    FUZZ_CHECK(json_object_size(body) == 3u + (pattern != NULL) + (size_t)!utf8);
    json_decref(body);

    /* Shared by reference: a second holder keeps the frame alive. */
    FUZZ_CHECK(sc_msg_ref(m) == m && m->refs == 2);
    sc_msg_unref(m);
    FUZZ_CHECK(m->refs == 1);
    sc_msg_unref(m);
}

static void check_text(const char *data, size_t dlen)
{
    struct sc_msg *m = sc_msg_text(data, dlen);
    const char *body;
    size_t blen;

    FUZZ_CHECK(m != NULL);
    body = fuzz_msg_frame(m, &blen);
    FUZZ_CHECK(blen == dlen && (dlen == 0 || !memcmp(body, data, dlen)));
    sc_msg_unref(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t hdr[3] = {0, 0, 0};
    size_t h = size < 3 ? size : 3, clen, plen, dlen;
    const char *p = (const char *)data + h;
    size_t left = size - h;

    fuzz_init();
    if (h)
        memcpy(hdr, data, h);
    clen = hdr[1] < left ? hdr[1] : left;
    left -= clen;
    plen = hdr[2] < left ? hdr[2] : left;
    left -= plen;
    dlen = left;

    const char *channel = p, *pattern = p + clen, *payload = p + clen + plen;
    if (!(hdr[0] & 1))
        pattern = NULL;
    if (hdr[0] & 2) {
        /* Exactly sized heap copy, so ASan sees any over-read. */
        char *big = malloc(dlen * REPEAT + (dlen == 0));
        FUZZ_CHECK(big != NULL);
        for (size_t i = 0; i < REPEAT; i++)
            memcpy(big + i * dlen, payload, dlen);
        check_delivery(channel, clen, pattern, plen, big, dlen * REPEAT);
        check_text(big, dlen * REPEAT);
        free(big);
    } else {
        check_delivery(channel, clen, pattern, plen, payload, dlen);
        check_text(payload, dlen);
    }
    return 0;
}
