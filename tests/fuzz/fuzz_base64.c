/* Fuzz target: shard/sc_base64.h, the one base64 of the tree (message
 * payloads, JWT parts, shardcast-cli, the bench's handshake).
 *
 * Input: arbitrary bytes, used whole, both as text to decode and as bytes
 * to encode. Differential against fuzz_util.c's ref_base64_decode(), an
 * independent reading of RFC 4648:
 *  - sc_base64_decode() accepts exactly the texts the reference accepts,
 *    with the same bytes;
 *  - sc_base64url_decode() accepts exactly the texts that, spelled with
 *    '+' and '/' and padded with '=', the reference accepts (and no text
 *    holding '+', '/' or '='), with the same bytes;
 *  - both encoders give the promised length, and the reference decodes
 *    what they wrote back to the input.
 * Decoding writes into a buffer of exactly the size the header promises,
 * so ASan reports any write past it. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sc_base64.h"

/* The reference's answer for base64url text: translate the alphabet, add
 * the padding, decode strictly. NULL when it is not canonical base64url. */
static unsigned char *ref_base64url_decode(const char *s, size_t len, size_t *outlen)
{
    size_t padded = (len + 3) / 4 * 4;
    char *t;
    unsigned char *out;

    if (len % 4 == 1 || memchr(s, '+', len) || memchr(s, '/', len) || memchr(s, '=', len))
        return NULL;
    t = malloc(padded + 1);
    FUZZ_CHECK(t != NULL);
    for (size_t i = 0; i < padded; i++)
        t[i] = i >= len ? '=' : s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    out = ref_base64_decode(t, padded, outlen);
    free(t);
    return out;
}

/* One decoder against its reference: the same verdict, the same bytes,
 * and no write past cap bytes. */
static void check_decoder(int (*decode)(const char *, size_t, void *, size_t *),
                          unsigned char *(*ref_decode)(const char *, size_t, size_t *),
                          const char *s, size_t len, size_t cap)
{
    size_t rlen = 0, glen = 0;
    unsigned char *ref = ref_decode(s, len, &rlen);
    unsigned char *got = malloc(cap ? cap : 1);
    int rc;

    FUZZ_CHECK(got != NULL);
    rc = decode(s, len, got, &glen);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL);
    FUZZ_CHECK((rc == 0) == (ref != NULL));
    if (ref)
        FUZZ_CHECK(glen == rlen && (!rlen || !memcmp(got, ref, rlen)));
    free(got);
    free(ref);
}

static void check_encoders(const unsigned char *p, size_t len)
{
    char *text = malloc(SC_BASE64_ENCODED_LEN(len) + 1);
    unsigned char *back;
    size_t n, blen = 0;

    FUZZ_CHECK(text != NULL);
    n = sc_base64_encode(p, len, text);
    FUZZ_CHECK(n == SC_BASE64_ENCODED_LEN(len));
    back = ref_base64_decode(text, n, &blen);
    FUZZ_CHECK(back != NULL && blen == len && (!len || !memcmp(back, p, len)));
    free(back);

    n = sc_base64url_encode(p, len, text);
    FUZZ_CHECK(n == SC_BASE64URL_ENCODED_LEN(len));
    back = ref_base64url_decode(text, n, &blen);
    FUZZ_CHECK(back != NULL && blen == len && (!len || !memcmp(back, p, len)));
    free(back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    check_decoder(sc_base64_decode, ref_base64_decode, (const char *)data, size, size / 4 * 3);
    check_decoder(sc_base64url_decode, ref_base64url_decode, (const char *)data, size,
                  SC_BASE64_DECODED_MAX(size));
    check_encoders(data, size);
    return 0;
}
