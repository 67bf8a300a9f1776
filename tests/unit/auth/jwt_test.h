/* Helpers shared by the sc_jwt unit tests (cmocka must be included first):
 * keys made at run time (RSA 2048, EC P-256, a random HMAC secret) in a
 * temporary directory, tokens signed here with OpenSSL, and checks that a
 * refusal has the exact reason code and leaks nothing. */
#ifndef JWT_TEST_H
#define JWT_TEST_H

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "sc_base64.h"
#include "sc_jwt.h"

#define NOW INT64_C(1700000000)
#define SUB "alice-the-subject"

static struct {
    char dir[64];
    EVP_PKEY *rsa, *ec, *ec2;
    char secret[65]; /* hex text: the file holds it plus "\n" */
    char *rsa_pem;   /* public key PEM text */
    struct sc_jwt_keys *hmac, *rsa_keys, *ec_keys, *jwks, *mixed;
} F;

static char err[256];

/* ---- helpers ---------------------------------------------------------- */

/* base64url of data, malloc'd and NUL-terminated. The shared encoder
 * (shard/sc_base64.h) is checked against RFC 4648 in tests/unit/shard, and
 * unit_jwt_recipes mints tokens with openssl and Node, independently. */
static inline char *b64u(const void *data, size_t len)
{
    char *out = malloc(SC_BASE64URL_ENCODED_LEN(len) + 1);

    assert_non_null(out);
    out[sc_base64url_encode(data, len, out)] = '\0';
    return out;
}

static inline char *path_of(const char *name)
{
    static char buf[8][128];
    static int k;
    char *p = buf[k++ % 8];

    snprintf(p, 128, "%s/%s", F.dir, name);
    return p;
}

static inline const char *write_file(const char *name, const void *data, size_t len)
{
    const char *path = path_of(name);
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    return path;
}

static inline char *pem_of(EVP_PKEY *pk, int private)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *mem, *out;
    long n;

    assert_non_null(bio);
    assert_true(private ? PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL)
                        : PEM_write_bio_PUBKEY(bio, pk));
    n = BIO_get_mem_data(bio, &mem);
    out = strndup(mem, (size_t)n);
    BIO_free(bio);
    return out;
}

/* JWS signature of input: HMAC with secret, or a signature with pk
 * (ES256 converted from DER to r||s). Returns the length. */
static inline size_t sign(const char *alg, const char *input, const void *secret, size_t slen,
                          EVP_PKEY *pk, unsigned char *sig)
{
    unsigned char der[512];
    size_t n = sizeof(der);
    EVP_MD_CTX *md;

    if (!strcmp(alg, "HS256")) {
        assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, slen,
                                  (const unsigned char *)input, strlen(input), sig, 64, &n));
        return n;
    }
    if (!pk)
        return 0;
    md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk), 1);
    assert_int_equal(EVP_DigestSign(md, der, &n, (const unsigned char *)input, strlen(input)), 1);
    EVP_MD_CTX_free(md);
    if (EVP_PKEY_is_a(pk, "RSA")) {
        memcpy(sig, der, n);
        return n;
    }
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
    assert_non_null(es);
    BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
    ECDSA_SIG_free(es);
    return 64;
}

/* A compact token from header and payload JSON, signed as alg says. */
static inline char *mint_hdr(const char *hdr, const char *alg, const char *payload,
                             const void *secret, size_t slen, EVP_PKEY *pk)
{
    char *h = b64u(hdr, strlen(hdr)), *p = b64u(payload, strlen(payload));
    char *input = malloc(strlen(h) + strlen(p) + 2), *s, *tok;
    unsigned char sig[1024];
    size_t n;

    sprintf(input, "%s.%s", h, p);
    n = sign(alg, input, secret, slen, pk, sig);
    s = b64u(sig, n);
    tok = malloc(strlen(input) + strlen(s) + 2);
    sprintf(tok, "%s.%s", input, s);
    free(h);
    free(p);
    free(input);
    free(s);
    return tok;
}

static inline char *mint(const char *alg, const char *payload, const void *secret, size_t slen,
                         EVP_PKEY *pk)
{
    char hdr[128];

    snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    return mint_hdr(hdr, alg, payload, secret, slen, pk);
}

static inline char *hs(const char *payload)
{
    return mint("HS256", payload, F.secret, strlen(F.secret), NULL);
}

/* A payload valid at NOW, with extra members appended. */
static inline const char *claims_with(const char *extra)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ % 4];

    snprintf(p, 512, "{\"sub\":\"" SUB "\",\"exp\":%lld%s%s}", (long long)(NOW + 600),
             extra[0] ? "," : "", extra);
    return p;
}

/* err must not hold the token, any part of it, the secret, the public
 * key, or the subject. */
static inline void assert_no_leak(const char *token)
{
    const char *dot;

    assert_null(strstr(err, F.secret));
    assert_null(strstr(err, SUB));
    assert_null(strstr(err, "MIIB"));
    if (!token || !*token)
        return;
    assert_null(strstr(err, token));
    for (const char *p = token; (dot = strchr(p, '.')) || *p; p = dot + 1) {
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char part[SC_JWT_MAX_TOKEN + 1];
        if (n >= 6 && n < sizeof(part)) {
            memcpy(part, p, n);
            part[n] = 0;
            assert_null(strstr(err, part));
        }
        if (!dot)
            break;
    }
}

static inline int verify_at(const struct sc_jwt_keys *keys, const char *tok, int64_t now,
                            const struct sc_jwt_opts *o, struct sc_jwt_claims *c)
{
    return sc_jwt_verify(keys, tok, strlen(tok), now, o, c, err, sizeof(err));
}

static inline void expect_ok(const struct sc_jwt_keys *keys, const char *tok,
                             const struct sc_jwt_opts *o, int64_t now)
{
    struct sc_jwt_claims c;
    int rc = verify_at(keys, tok, now, o, &c);

    if (rc != 0)
        fail_msg("refused (%d, %s)", rc, err);
    assert_string_equal(c.sub, SUB);
    sc_jwt_claims_free(&c);
}

static inline void expect_fail(const struct sc_jwt_keys *keys, const char *tok,
                               const struct sc_jwt_opts *o, int64_t now, int want_rc,
                               const char *want)
{
    struct sc_jwt_claims c;
    int rc = verify_at(keys, tok, now, o, &c);

    if (rc != want_rc || strcmp(err, want))
        fail_msg("got %d '%s', want %d '%s'", rc, err, want_rc, want);
    assert_null(c.sub);
    assert_null(c.channels);
    assert_no_leak(tok);
}

/* Mints with hs() and checks the outcome; frees the token. */
#define HS_FAIL(payload, rc, code, opts)              \
    do {                                              \
        char *t_ = hs(payload);                       \
        expect_fail(F.hmac, t_, opts, NOW, rc, code); \
        free(t_);                                     \
    } while (0)

/* ---- fixture ---------------------------------------------------------- */

static inline void add_ec_jwk(json_t *arr, EVP_PKEY *pk, const char *kid)
{
    BIGNUM *x = NULL, *y = NULL;
    unsigned char bx[32], by[32];
    char *sx, *sy;

    assert_true(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x));
    assert_true(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y));
    BN_bn2binpad(x, bx, 32);
    BN_bn2binpad(y, by, 32);
    sx = b64u(bx, 32);
    sy = b64u(by, 32);
    json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256",
                                         "kid", kid, "x", sx, "y", sy, "use", "sig"));
    free(sx);
    free(sy);
    BN_free(x);
    BN_free(y);
}

static inline void add_rsa_jwk(json_t *arr, EVP_PKEY *pk, const char *kid, const char *use)
{
    BIGNUM *n = NULL, *e = NULL;
    unsigned char bn[512], be[8];
    int ln, le;
    char *sn, *se;

    assert_true(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n));
    assert_true(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e));
    ln = BN_bn2bin(n, bn);
    le = BN_bn2bin(e, be);
    sn = b64u(bn, (size_t)ln);
    se = b64u(be, (size_t)le);
    json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "RSA", "kid", kid, "n",
                                         sn, "e", se, "alg", "RS256", "use", use));
    free(sn);
    free(se);
    BN_free(n);
    BN_free(e);
}

static inline const char *write_jwks(json_t *arr, const char *name)
{
    json_t *root = json_pack("{s:o}", "keys", arr);
    char *text = json_dumps(root, 0);
    const char *p = write_file(name, text, strlen(text));

    free(text);
    json_decref(root);
    return p;
}

/* One of the sc_jwt_keys_load_*_file functions. */
typedef int (*loader_fn)(struct sc_jwt_keys *, const char *, char *, size_t);

static inline struct sc_jwt_keys *load(loader_fn fn, struct sc_jwt_keys *keys, const char *path)
{
    if (!keys)
        keys = sc_jwt_keys_new();
    assert_non_null(keys);
    if (fn(keys, path, err, sizeof(err)) < 0)
        fail_msg("loading %s: %s", path, err);
    return keys;
}

static inline int jwt_setup(void **state)
{
    unsigned char raw[32];
    char line[80];
    json_t *arr = json_array();

    (void)state;
    strcpy(F.dir, "/tmp/sc_jwt_test.XXXXXX");
    assert_non_null(mkdtemp(F.dir));
    F.rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    F.ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    F.ec2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_true(F.rsa && F.ec && F.ec2);
    assert_int_equal(RAND_bytes(raw, sizeof(raw)), 1);
    for (size_t i = 0; i < sizeof(raw); i++)
        sprintf(F.secret + 2 * i, "%02x", raw[i]);
    snprintf(line, sizeof(line), "%s\n", F.secret);
    write_file("secret", line, strlen(line));
    F.rsa_pem = pem_of(F.rsa, 0);
    write_file("rsa.pem", F.rsa_pem, strlen(F.rsa_pem));
    char *ec_pem = pem_of(F.ec, 0);
    write_file("ec.pem", ec_pem, strlen(ec_pem));
    free(ec_pem);
    add_ec_jwk(arr, F.ec, "a");
    add_ec_jwk(arr, F.ec2, "b");
    add_rsa_jwk(arr, F.rsa, "r", "sig");
    write_jwks(arr, "jwks.json");
    F.hmac = load(sc_jwt_keys_load_hmac_file, NULL, path_of("secret"));
    F.rsa_keys = load(sc_jwt_keys_load_pem_file, NULL, path_of("rsa.pem"));
    F.ec_keys = load(sc_jwt_keys_load_pem_file, NULL, path_of("ec.pem"));
    F.jwks = load(sc_jwt_keys_load_jwks_file, NULL, path_of("jwks.json"));
    F.mixed = load(sc_jwt_keys_load_hmac_file, NULL, path_of("secret"));
    load(sc_jwt_keys_load_pem_file, F.mixed, path_of("rsa.pem"));
    return 0;
}

static inline int jwt_teardown(void **state)
{
    char cmd[128];

    (void)state;
    sc_jwt_keys_free(F.hmac);
    sc_jwt_keys_free(F.rsa_keys);
    sc_jwt_keys_free(F.ec_keys);
    sc_jwt_keys_free(F.jwks);
    sc_jwt_keys_free(F.mixed);
    EVP_PKEY_free(F.rsa);
    EVP_PKEY_free(F.ec);
    EVP_PKEY_free(F.ec2);
    free(F.rsa_pem);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", F.dir);
    return system(cmd);
}

#endif
