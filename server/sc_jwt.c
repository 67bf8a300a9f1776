/* sc_jwt: JWS compact tokens checked with OpenSSL 3 (see sc_jwt.h).
 *
 * Parsing order is chosen to expose as little as possible to unauthenticated
 * input: the header is decoded first (it picks the keys), the signature is
 * checked, and only then is the payload decoded and parsed as JSON. */
#include "sc_jwt.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "sc_base64.h"
#include "sc_file.h"

#define MAX_SECRET_FILE (64 * 1024)
#define MAX_KEY_FILE (1024 * 1024)
#define MAX_KID 256
#define MIN_RSA_BITS 2048
#define MAX_RSA_BITS 16384 /* bounds the cost of one verification */

struct sc_jwt_key {
    enum sc_jwt_alg alg;
    char *kid;             /* NULL: the key has none */
    unsigned char *secret; /* HS256, wiped on free */
    size_t secret_len;
    EVP_PKEY *pkey; /* RS256, ES256 */
};

struct sc_jwt_keys {
    struct sc_jwt_key *v;
    size_t n, cap;
};

const char *sc_jwt_alg_name(enum sc_jwt_alg alg)
{
    static const char *const names[] = {NULL, "HS256", "RS256", "ES256"};

    return alg >= SC_JWT_HS256 && alg <= SC_JWT_ES256 ? names[alg] : NULL;
}

/* ---- base64url ---------------------------------------------------------- */

/* Strict RFC 7515 base64url (shard/sc_base64.h: no padding, no whitespace,
 * unused bits zero, so a signature has exactly one accepted spelling) into
 * a malloc'd buffer. Returns 0 and the buffer (never NULL, even when
 * empty), -EINVAL or -ENOMEM. */
static int b64u_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
    unsigned char *buf = malloc(SC_BASE64_DECODED_MAX(len));

    if (!buf)
        return -ENOMEM;
    if (sc_base64url_decode(in, len, buf, outlen) < 0) {
        free(buf);
        return -EINVAL;
    }
    *out = buf;
    return 0;
}

/* ---- key set ------------------------------------------------------------ */

struct sc_jwt_keys *sc_jwt_keys_new(void)
{
    return calloc(1, sizeof(struct sc_jwt_keys));
}

static void key_clear(struct sc_jwt_key *k)
{
    free(k->kid);
    if (k->secret)
        OPENSSL_clear_free(k->secret, k->secret_len);
    EVP_PKEY_free(k->pkey);
    memset(k, 0, sizeof(*k));
}

/* Drops the keys after the first n: a loader that fails half-way leaves
 * the caller's set as it was. */
static void keys_truncate(struct sc_jwt_keys *keys, size_t n)
{
    while (keys->n > n)
        key_clear(&keys->v[--keys->n]);
}

void sc_jwt_keys_free(struct sc_jwt_keys *keys)
{
    if (!keys)
        return;
    keys_truncate(keys, 0);
    free(keys->v);
    free(keys);
}

size_t sc_jwt_keys_count(const struct sc_jwt_keys *keys, enum sc_jwt_alg alg)
{
    size_t c = 0;

    for (size_t i = 0; i < keys->n; i++)
        c += keys->v[i].alg == alg;
    return c;
}

/* Takes ownership of k's members on success only. */
static int keys_push(struct sc_jwt_keys *keys, struct sc_jwt_key *k)
{
    if (keys->n == keys->cap) {
        size_t cap = keys->cap ? keys->cap * 2 : 4;
        struct sc_jwt_key *v = realloc(keys->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        keys->v = v;
        keys->cap = cap;
    }
    keys->v[keys->n++] = *k;
    memset(k, 0, sizeof(*k));
    return 0;
}

/* sc_file_read_max() with the error in err: -EINVAL, or -ENOMEM. On
 * success the caller owns *out and must wipe *outlen bytes of it before
 * freeing when it may hold a secret. */
static int read_file(const char *path, size_t max, unsigned char **out, size_t *outlen,
                     const char *what, char *err, size_t errlen)
{
    const char *why;
    int rc = sc_file_read_max(path, max, out, outlen, &why);

    if (rc == -EIO)
        snprintf(err, errlen, "%s %.200s: %s", what, path, why);
    else if (rc == -EFBIG)
        snprintf(err, errlen, "%s %.200s: larger than %zu bytes", what, path, max);
    return rc == -ENOMEM ? -ENOMEM : rc ? -EINVAL : 0;
}

int sc_jwt_keys_load_hmac_file(struct sc_jwt_keys *keys, const char *path, char *err, size_t errlen)
{
    struct sc_jwt_key k = {.alg = SC_JWT_HS256};
    unsigned char *buf;
    size_t n, len;
    int rc;

    rc = read_file(path, MAX_SECRET_FILE, &buf, &n, "jwt secret file", err, errlen);
    if (rc < 0)
        return rc;
    len = n;
    if (len && buf[len - 1] == '\n') { /* one line ending, LF or CRLF */
        len--;
        if (len && buf[len - 1] == '\r')
            len--;
    }
    rc = -EINVAL;
    if (len == 0) {
        snprintf(err, errlen, "jwt secret file %.200s: empty", path);
        goto out;
    }
    /* A public key used as the HMAC secret would let anyone who has the
     * public key mint tokens: refuse the likely mix-up outright. */
    if (memmem(buf, len, "-----BEGIN", 10) || memmem(buf, len, "\"kty\"", 5)) {
        snprintf(err, errlen,
                 "jwt secret file %.200s: looks like a PEM key or a "
                 "JWKS, not a shared secret",
                 path);
        goto out;
    }
    if (len < SC_JWT_MIN_SECRET) {
        snprintf(err, errlen, "jwt secret file %.200s: secret shorter than %d bytes", path,
                 SC_JWT_MIN_SECRET);
        goto out;
    }
    k.secret = OPENSSL_memdup(buf, len);
    k.secret_len = len;
    rc = k.secret ? keys_push(keys, &k) : -ENOMEM;
    if (rc < 0) {
        key_clear(&k);
        snprintf(err, errlen, "jwt secret file %.200s: out of memory", path);
    }
out:
    OPENSSL_clear_free(buf, n);
    return rc;
}

/* Decides which alg a public key serves, after OpenSSL's own consistency
 * check: RSA >= 2048 bits -> RS256, EC on P-256 -> ES256, nothing else.
 * Returns the alg or 0 with a reason in msg. */
static enum sc_jwt_alg pkey_alg(EVP_PKEY *pk, char *msg, size_t msglen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    int ok = ctx && EVP_PKEY_public_check(ctx) == 1;
    char group[64];
    int bits = EVP_PKEY_get_bits(pk);

    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        snprintf(msg, msglen, "public key fails OpenSSL's consistency check");
        return 0;
    }
    if (EVP_PKEY_is_a(pk, "RSA")) {
        if (bits >= MIN_RSA_BITS && bits <= MAX_RSA_BITS)
            return SC_JWT_RS256;
        snprintf(msg, msglen, "RSA key of %d bits (need %d to %d)", bits, MIN_RSA_BITS,
                 MAX_RSA_BITS);
        return 0;
    }
    if (EVP_PKEY_is_a(pk, "EC")) {
        if (EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL) == 1 &&
            (!strcmp(group, "prime256v1") || !strcmp(group, "P-256")))
            return SC_JWT_ES256;
        snprintf(msg, msglen, "EC key not on the named curve P-256");
        return 0;
    }
    snprintf(msg, msglen, "unsupported key type (need RSA or EC P-256)");
    return 0;
}

int sc_jwt_keys_load_pem_file(struct sc_jwt_keys *keys, const char *path, char *err, size_t errlen)
{
    struct sc_jwt_key k = {0};
    unsigned char *buf;
    char why[128];
    size_t n;
    BIO *bio;
    int rc;

    rc = read_file(path, MAX_KEY_FILE, &buf, &n, "jwt key file", err, errlen);
    if (rc < 0)
        return rc;
    bio = BIO_new_mem_buf(buf, (int)n);
    k.pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    OPENSSL_clear_free(buf, n); /* the file might be a private key */
    rc = -EINVAL;
    if (!k.pkey) {
        snprintf(err, errlen, "jwt key file %.200s: no PEM PUBLIC KEY block", path);
        goto out;
    }
    k.alg = pkey_alg(k.pkey, why, sizeof(why));
    if (!k.alg) {
        snprintf(err, errlen, "jwt key file %.200s: %s", path, why);
        goto out;
    }
    rc = keys_push(keys, &k);
    if (rc < 0)
        snprintf(err, errlen, "jwt key file %.200s: out of memory", path);
out:
    key_clear(&k);
    ERR_clear_error(); /* lws shares this thread's OpenSSL error queue */
    return rc;
}

/* ---- JWKS --------------------------------------------------------------- */

/* Fixed-size or non-empty bytes of a base64url JWK member, malloc'd;
 * NULL if absent, malformed or of the wrong size (want 0: any size > 0). */
static unsigned char *jwk_bytes(json_t *jk, const char *name, size_t want, size_t *len)
{
    json_t *v = json_object_get(jk, name);
    unsigned char *raw;

    if (!json_is_string(v) ||
        b64u_decode(json_string_value(v), json_string_length(v), &raw, len) < 0)
        return NULL;
    if (*len && (!want || *len == want))
        return raw;
    free(raw);
    return NULL;
}

/* EVP_PKEY of type ("RSA" or "EC") from OpenSSL 3 parameters in bld. */
static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
    EVP_PKEY *pk = NULL;

    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pk = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pk;
}

static EVP_PKEY *jwk_rsa(json_t *jk)
{
    size_t nl = 0, el = 0;
    unsigned char *n = jwk_bytes(jk, "n", 0, &nl), *e = jwk_bytes(jk, "e", 0, &el);
    BIGNUM *bn = n ? BN_bin2bn(n, (int)nl, NULL) : NULL;
    BIGNUM *be = e ? BN_bin2bn(e, (int)el, NULL) : NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pk = NULL;

    if (bn && be && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        pk = pkey_fromdata("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return pk;
}

/* The point goes in as an uncompressed octet string, which OpenSSL decodes
 * and checks against the curve equation. */
static EVP_PKEY *jwk_ec(json_t *jk)
{
    size_t xl = 0, yl = 0;
    unsigned char *x = jwk_bytes(jk, "x", 32, &xl), *y = jwk_bytes(jk, "y", 32, &yl);
    unsigned char point[65];
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pk = NULL;

    if (x && y && bld) {
        point[0] = 0x04;
        memcpy(point + 1, x, 32);
        memcpy(point + 33, y, 32);
        if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
            pk = pkey_fromdata("EC", bld);
    }
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);
    return pk;
}

/* Optional string member: 1 present (in *s), 0 absent, -1 wrong type. */
static int opt_string(json_t *obj, const char *name, const char **s)
{
    json_t *v = json_object_get(obj, name);

    if (!v)
        return 0;
    if (!json_is_string(v))
        return -1;
    *s = json_string_value(v);
    return 1;
}

/* Refuses JWKs that are not objects, carry private parts (a verifying node
 * has no business holding them: the file is probably the wrong one) or
 * have members of the wrong type. Returns NULL or the reason. */
static const char *jwk_sane(json_t *jk, const char **kty, const char **use, const char **alg,
                            const char **kid, const char **crv)
{
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

    if (!json_is_object(jk) || opt_string(jk, "kty", kty) != 1)
        return "not an object with a string kty";
    for (size_t i = 0; i < sizeof(private_members) / sizeof(*private_members); i++)
        if (json_object_get(jk, private_members[i]))
            return "holds private key material";
    if (opt_string(jk, "use", use) < 0 || opt_string(jk, "alg", alg) < 0 ||
        opt_string(jk, "kid", kid) < 0 || opt_string(jk, "crv", crv) < 0)
        return "use, alg, kid or crv is not a string";
    if (*kid && (!**kid || strlen(*kid) > MAX_KID))
        return "kid empty or longer than 256 bytes";
    return NULL;
}

/* One JWK into set. Returns 1 added, 0 skipped (not a key we serve), or a
 * negative errno with the reason in msg. */
static int jwk_load(struct sc_jwt_keys *set, json_t *jk, char *msg, size_t msglen)
{
    const char *kty = NULL, *use = NULL, *alg = NULL, *kid = NULL, *crv = NULL;
    const char *why = jwk_sane(jk, &kty, &use, &alg, &kid, &crv);
    struct sc_jwt_key k = {0};
    int rsa, rc = -EINVAL;

    if (why) {
        snprintf(msg, msglen, "%s", why);
        return -EINVAL;
    }
    rsa = !strcmp(kty, "RSA");
    if ((!rsa && strcmp(kty, "EC")) || (use && strcmp(use, "sig")) ||
        (alg && strcmp(alg, rsa ? "RS256" : "ES256")) || (!rsa && (!crv || strcmp(crv, "P-256"))))
        return 0;
    k.pkey = rsa ? jwk_rsa(jk) : jwk_ec(jk);
    if (!k.pkey)
        snprintf(msg, msglen, "%s", rsa ? "bad n or e" : "bad x or y (not a P-256 point)");
    else if ((k.alg = pkey_alg(k.pkey, msg, msglen))) {
        rc = -ENOMEM;
        if ((!kid || (k.kid = strdup(kid))) && keys_push(set, &k) == 0)
            rc = 1;
        else
            snprintf(msg, msglen, "out of memory");
    }
    key_clear(&k);
    ERR_clear_error();
    return rc;
}

int sc_jwt_keys_load_jwks_file(struct sc_jwt_keys *keys, const char *path, char *err, size_t errlen)
{
    size_t n0 = keys->n, n, i;
    unsigned char *buf;
    json_t *root, *arr, *jk;
    char why[160];
    int rc;

    rc = read_file(path, MAX_KEY_FILE, &buf, &n, "jwks file", err, errlen);
    if (rc < 0)
        return rc;
    root = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    OPENSSL_clear_free(buf, n);
    arr = json_object_get(root, "keys");
    rc = -EINVAL;
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "jwks file %.200s: not a JSON object with a keys array", path);
        goto out;
    }
    json_array_foreach(arr, i, jk)
    {
        if ((rc = jwk_load(keys, jk, why, sizeof(why))) < 0) {
            snprintf(err, errlen, "jwks file %.200s: keys[%zu]: %s", path, i, why);
            goto out;
        }
    }
    rc = (int)(keys->n - n0);
    if (rc == 0) {
        snprintf(err, errlen, "jwks file %.200s: no RS256 or ES256 signing key", path);
        rc = -EINVAL;
    }
out:
    if (rc < 0)
        keys_truncate(keys, n0);
    json_decref(root);
    return rc;
}

/* ---- signatures --------------------------------------------------------- */

/* JWS ES256 signatures are r||s, 32 bytes each (RFC 7518 3.4); OpenSSL
 * wants DER. Returns a DER buffer (OPENSSL_free) or NULL. */
static unsigned char *es256_der(const unsigned char *sig, int *derlen)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;

    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return NULL;
    }
    *derlen = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    return *derlen > 0 ? der : NULL;
}

static int pkey_verify(EVP_PKEY *pk, const unsigned char *msg, size_t mlen,
                       const unsigned char *sig, size_t slen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
             EVP_DigestVerify(md, sig, slen, msg, mlen) == 1;

    EVP_MD_CTX_free(md);
    return ok;
}

/* 1 if sig is k's signature of msg, else 0. The length checks come first:
 * a signature's length is public, its bytes are compared in constant time. */
static int key_verify(const struct sc_jwt_key *k, const unsigned char *msg, size_t mlen,
                      const unsigned char *sig, size_t slen)
{
    unsigned char mac[EVP_MAX_MD_SIZE], *der;
    size_t maclen = 0;
    int ok = 0, derlen = 0;

    switch (k->alg) {
    case SC_JWT_HS256:
        if (slen == 32 &&
            EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k->secret, k->secret_len, msg, mlen, mac,
                      sizeof(mac), &maclen) &&
            maclen == 32)
            ok = CRYPTO_memcmp(mac, sig, 32) == 0;
        OPENSSL_cleanse(mac, sizeof(mac));
        break;
    case SC_JWT_RS256:
        ok = slen == (size_t)EVP_PKEY_get_size(k->pkey) &&
             pkey_verify(k->pkey, msg, mlen, sig, slen);
        break;
    case SC_JWT_ES256:
        if (slen == 64 && (der = es256_der(sig, &derlen))) {
            ok = pkey_verify(k->pkey, msg, mlen, der, (size_t)derlen);
            OPENSSL_free(der);
        }
        break;
    }
    ERR_clear_error();
    return ok;
}

/* ---- verification ------------------------------------------------------- */

struct jws {
    const char *part[3]; /* header, payload, signature (base64url) */
    size_t len[3];
    enum sc_jwt_alg alg;
    const char *kid; /* in header, NULL if none */
    json_t *header;
};

static const char *jws_split(struct jws *t, const char *tok, size_t len)
{
    const char *p = tok, *end = tok + len;

    if (!tok || len > SC_JWT_MAX_TOKEN)
        return "malformed";
    for (int i = 0; i < 3; i++) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        if ((i < 2) != (dot != NULL))
            return "malformed"; /* fewer or more than three parts */
        t->part[i] = p;
        t->len[i] = (size_t)((dot ? dot : end) - p);
        p = dot ? dot + 1 : end;
    }
    return t->len[0] && t->len[1] ? NULL : "malformed";
}

/* Decodes the header and picks the alg. Anything but a known alg that the
 * key set serves is refused here, before any key is touched. */
static const char *jws_header(struct jws *t, const struct sc_jwt_keys *keys)
{
    static const enum sc_jwt_alg algs[] = {SC_JWT_HS256, SC_JWT_RS256, SC_JWT_ES256};
    const char *alg = NULL, *typ = NULL;
    unsigned char *raw;
    size_t rawlen;

    if (b64u_decode(t->part[0], t->len[0], &raw, &rawlen) < 0)
        return "malformed";
    t->header = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (!json_is_object(t->header) || opt_string(t->header, "alg", &alg) != 1 ||
        opt_string(t->header, "typ", &typ) < 0 || opt_string(t->header, "kid", &t->kid) < 0 ||
        (t->kid && strlen(t->kid) > MAX_KID) || (typ && strcasecmp(typ, "JWT")) ||
        json_object_get(t->header, "crit"))
        return "malformed";
    for (size_t i = 0; i < sizeof(algs) / sizeof(*algs); i++)
        if (!strcmp(alg, sc_jwt_alg_name(algs[i])) && sc_jwt_keys_count(keys, algs[i]))
            t->alg = algs[i];
    return t->alg ? NULL : "alg_not_allowed";
}

static const char *jws_signature(const struct jws *t, const struct sc_jwt_keys *keys)
{
    const unsigned char *msg = (const unsigned char *)t->part[0];
    size_t mlen = t->len[0] + 1 + t->len[1], slen, tried = 0;
    unsigned char *sig;
    int ok = 0;

    if (b64u_decode(t->part[2], t->len[2], &sig, &slen) < 0)
        return "malformed";
    for (size_t i = 0; i < keys->n && !ok; i++) {
        const struct sc_jwt_key *k = &keys->v[i];
        if (k->alg != t->alg || (t->kid && (!k->kid || strcmp(k->kid, t->kid))))
            continue;
        tried++;
        ok = key_verify(k, msg, mlen, sig, slen);
    }
    free(sig);
    return ok ? NULL : tried ? "bad_signature" : "unknown_kid";
}

/* NumericDate member: 0 absent, 1 present in *v, -1 not a number. Reals
 * round toward refusal: exp down (round_up 0), nbf and iat up. */
static int numeric_date(json_t *obj, const char *name, int round_up, int64_t *v)
{
    json_t *j = json_object_get(obj, name);
    double d;

    if (!j)
        return 0;
    if (json_is_integer(j)) {
        *v = json_integer_value(j);
        return 1;
    }
    if (!json_is_real(j) || !isfinite(d = json_real_value(j)))
        return -1;
    if (d >= 9.0e18 || d <= -9.0e18) {
        *v = d > 0 ? INT64_MAX : INT64_MIN;
        return 1;
    }
    *v = (int64_t)d;
    if (round_up ? (double)*v < d : (double)*v > d)
        *v += round_up ? 1 : -1;
    return 1;
}

static const char *check_times(json_t *c, int64_t now, const struct sc_jwt_opts *o, int64_t *exp)
{
    int64_t L = o->leeway > SC_JWT_MAX_LEEWAY ? SC_JWT_MAX_LEEWAY : o->leeway;
    int64_t nbf, iat;
    int has_exp = numeric_date(c, "exp", 0, exp);
    int has_nbf = numeric_date(c, "nbf", 1, &nbf);
    int has_iat = numeric_date(c, "iat", 1, &iat);

    if (has_exp < 0 || has_nbf < 0 || has_iat < 0)
        return "bad_claims";
    if (!has_exp && !o->exp_optional)
        return "missing_exp";
    if (!has_exp)
        *exp = INT64_MAX;
    /* now is a real clock and L <= SC_JWT_MAX_LEEWAY: no overflow. */
    if (has_exp && *exp <= now - L)
        return "expired";
    if ((has_nbf && nbf > now + L) || (has_iat && iat > now + L))
        return "not_yet_valid";
    return NULL;
}

static const char *check_aud_iss(json_t *c, const struct sc_jwt_opts *o)
{
    json_t *aud = json_object_get(c, "aud"), *v;
    const char *iss = NULL;
    size_t i;
    int found = 0;

    if (o->issuer) {
        int r = opt_string(c, "iss", &iss);
        if (r < 0)
            return "bad_claims";
        if (!r || strcmp(iss, o->issuer))
            return "bad_issuer";
    }
    if (!o->audience)
        return NULL;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), o->audience) ? "bad_audience" : NULL;
    if (aud && !json_is_array(aud))
        return "bad_claims";
    json_array_foreach(aud, i, v)
    {
        if (!json_is_string(v))
            return "bad_claims";
        found |= !strcmp(json_string_value(v), o->audience);
    }
    return found ? NULL : "bad_audience";
}

/* sub and channels into out. Control characters are refused in sub
 * because it becomes the connection's identity and may reach log lines. */
static const char *take_claims(json_t *c, struct sc_jwt_claims *out)
{
    json_t *sub = json_object_get(c, "sub"), *ch = json_object_get(c, "channels"), *v;
    size_t n, i;

    if (!json_is_string(sub) || !(n = json_string_length(sub)) || n > SC_JWT_MAX_SUB)
        return "bad_subject";
    for (i = 0; i < n; i++) {
        unsigned char b = (unsigned char)json_string_value(sub)[i];
        if (b < 0x20 || b == 0x7f)
            return "bad_subject";
    }
    if (ch && (!json_is_array(ch) || json_array_size(ch) > SC_JWT_MAX_GRANTS))
        return "bad_claims";
    json_array_foreach(ch, i, v)
    {
        if (!json_is_string(v) || !json_string_length(v) ||
            json_string_length(v) > SC_JWT_MAX_GRANT_LENGTH)
            return "bad_claims";
    }
    if (!(out->sub = strdup(json_string_value(sub))))
        return "internal";
    n = json_array_size(ch);
    if (n && !(out->channels = calloc(n, sizeof(char *))))
        return "internal";
    for (i = 0; i < n; i++, out->nchannels++)
        if (!(out->channels[i] = strdup(json_string_value(json_array_get(ch, i)))))
            return "internal";
    return NULL;
}

static const char *jws_claims(const struct jws *t, int64_t now, const struct sc_jwt_opts *o,
                              struct sc_jwt_claims *out)
{
    unsigned char *raw;
    size_t rawlen;
    json_t *c;
    const char *why;

    if (b64u_decode(t->part[1], t->len[1], &raw, &rawlen) < 0)
        return "malformed";
    c = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (!json_is_object(c))
        why = "malformed";
    else if (!(why = check_times(c, now, o, &out->exp)) && !(why = check_aud_iss(c, o)))
        why = take_claims(c, out);
    json_decref(c);
    return why;
}

int sc_jwt_verify(const struct sc_jwt_keys *keys, const char *token, size_t len, int64_t now,
                  const struct sc_jwt_opts *opts, struct sc_jwt_claims *claims, char *err,
                  size_t errlen)
{
    static const struct sc_jwt_opts defaults;
    struct jws t = {0};
    const char *why;

    memset(claims, 0, sizeof(*claims));
    if (!opts)
        opts = &defaults;
    if (!(why = jws_split(&t, token, len)) && !(why = jws_header(&t, keys)) &&
        !(why = jws_signature(&t, keys)))
        why = jws_claims(&t, now, opts, claims);
    json_decref(t.header);
    if (errlen)
        snprintf(err, errlen, "%s", why ? why : "");
    if (!why)
        return 0;
    sc_jwt_claims_free(claims);
    if (!strcmp(why, "internal"))
        return -ENOMEM;
    if (!strcmp(why, "malformed") || !strcmp(why, "missing_exp") || !strcmp(why, "bad_subject") ||
        !strcmp(why, "bad_claims"))
        return -EINVAL;
    return -EACCES;
}

void sc_jwt_claims_free(struct sc_jwt_claims *claims)
{
    for (size_t i = 0; i < claims->nchannels; i++)
        free(claims->channels[i]);
    free(claims->channels);
    free(claims->sub);
    memset(claims, 0, sizeof(*claims));
}
