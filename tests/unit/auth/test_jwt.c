/* sc_jwt_verify: valid HS256/RS256/ES256 tokens, kid selection, forged
 * signatures, algorithm confusion and alg "none", time claims and leeway
 * edges, audience, issuer, subject, grants, and malformed input. Every
 * refusal is checked for its exact reason code and for leaking nothing (no
 * token, secret or claim value in the error text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "jwt_test.h"

/* ---- valid tokens ----------------------------------------------------- */

static void test_hs256_valid(void **state)
{
    struct sc_jwt_claims c;
    char *t = hs(claims_with("\"channels\":[\"news\",\"team.42.*\"],\"iat\":1699999990"));

    (void)state;
    assert_int_equal(verify_at(F.hmac, t, NOW, NULL, &c), 0);
    assert_string_equal(err, "");
    assert_string_equal(c.sub, SUB);
    assert_int_equal(c.exp, NOW + 600);
    assert_int_equal(c.nchannels, 2);
    assert_string_equal(c.channels[0], "news");
    assert_string_equal(c.channels[1], "team.42.*");
    sc_jwt_claims_free(&c);
    sc_jwt_claims_free(&c); /* idempotent */
    expect_ok(F.mixed, t, NULL, NOW);
    free(t);
    t = mint_hdr("{\"alg\":\"HS256\"}", "HS256", claims_with(""), F.secret, strlen(F.secret), NULL);
    expect_ok(F.hmac, t, NULL, NOW); /* typ is optional */
    free(t);
    t = mint_hdr("{\"typ\":\"jwt\",\"alg\":\"HS256\",\"x5u\":\"https://evil/\"}", "HS256",
                 claims_with(""), F.secret, strlen(F.secret), NULL);
    expect_ok(F.hmac, t, NULL, NOW); /* key-pointing headers are ignored */
    free(t);
}

static void test_rs256_and_es256_valid(void **state)
{
    char *t;

    (void)state;
    t = mint("RS256", claims_with(""), NULL, 0, F.rsa);
    expect_ok(F.rsa_keys, t, NULL, NOW);
    expect_ok(F.mixed, t, NULL, NOW);
    expect_ok(F.jwks, t, NULL, NOW); /* no kid: every RS256 key is tried */
    free(t);
    t = mint("ES256", claims_with(""), NULL, 0, F.ec);
    expect_ok(F.ec_keys, t, NULL, NOW);
    expect_ok(F.jwks, t, NULL, NOW);
    free(t);
    t = mint("ES256", claims_with(""), NULL, 0, F.ec2);
    expect_ok(F.jwks, t, NULL, NOW);
    expect_fail(F.ec_keys, t, NULL, NOW, -EACCES, "bad_signature");
    free(t);
}

static void test_jwks_kid_selection(void **state)
{
    char *t;

    (void)state;
    assert_int_equal(sc_jwt_keys_count(F.jwks, SC_JWT_ES256), 2);
    assert_int_equal(sc_jwt_keys_count(F.jwks, SC_JWT_RS256), 1);
    assert_int_equal(sc_jwt_keys_count(F.jwks, SC_JWT_HS256), 0);
    t = mint_hdr("{\"alg\":\"ES256\",\"kid\":\"b\"}", "ES256", claims_with(""), NULL, 0, F.ec2);
    expect_ok(F.jwks, t, NULL, NOW);
    free(t);
    t = mint_hdr("{\"alg\":\"ES256\",\"kid\":\"a\"}", "ES256", claims_with(""), NULL, 0, F.ec);
    expect_ok(F.jwks, t, NULL, NOW);
    free(t);
    /* Signed by b but naming a: only a is tried. */
    t = mint_hdr("{\"alg\":\"ES256\",\"kid\":\"a\"}", "ES256", claims_with(""), NULL, 0, F.ec2);
    expect_fail(F.jwks, t, NULL, NOW, -EACCES, "bad_signature");
    free(t);
    t = mint_hdr("{\"alg\":\"ES256\",\"kid\":\"zz\"}", "ES256", claims_with(""), NULL, 0, F.ec);
    expect_fail(F.jwks, t, NULL, NOW, -EACCES, "unknown_kid");
    free(t);
    /* kid "r" is the RSA key: an ES256 token naming it finds no key. */
    t = mint_hdr("{\"alg\":\"ES256\",\"kid\":\"r\"}", "ES256", claims_with(""), NULL, 0, F.ec);
    expect_fail(F.jwks, t, NULL, NOW, -EACCES, "unknown_kid");
    free(t);
    t = mint_hdr("{\"alg\":\"RS256\",\"kid\":\"r\"}", "RS256", claims_with(""), NULL, 0, F.rsa);
    expect_ok(F.jwks, t, NULL, NOW);
    expect_fail(F.rsa_keys, t, NULL, NOW, -EACCES, "unknown_kid"); /* PEM: no kid */
    free(t);
}

/* ---- signatures and algorithms ---------------------------------------- */

static void test_forged_signatures(void **state)
{
    char *t = hs(claims_with("")), *dot = strrchr(t, '.'), *t2, *p;
    char forged[SC_JWT_MAX_TOKEN];

    (void)state;
    strcpy(forged, t);
    p = forged + (dot - t) + 1;
    *p = *p == 'A' ? 'B' : 'A'; /* first character: still canonical */
    expect_fail(F.hmac, forged, NULL, NOW, -EACCES, "bad_signature");
    /* Someone else's valid payload under this signature. */
    t2 = hs("{\"sub\":\"mallory\",\"exp\":1800000000}");
    snprintf(forged, sizeof(forged), "%.*s%s", (int)(strrchr(t2, '.') - t2), t2, dot);
    expect_fail(F.hmac, forged, NULL, NOW, -EACCES, "bad_signature");
    /* Truncated and empty signatures. */
    snprintf(forged, sizeof(forged), "%.*s", (int)(strlen(t) - 3), t); /* 30 bytes */
    expect_fail(F.hmac, forged, NULL, NOW, -EACCES, "bad_signature");
    snprintf(forged, sizeof(forged), "%.*s.", (int)(dot - t), t);
    expect_fail(F.hmac, forged, NULL, NOW, -EACCES, "bad_signature");
    free(t);
    free(t2);
    /* Signed with a secret that is not ours. */
    t = mint("HS256", claims_with(""), "0123456789abcdef0123456789abcdef", 32, NULL);
    expect_fail(F.hmac, t, NULL, NOW, -EACCES, "bad_signature");
    free(t);
    t = mint("RS256", claims_with(""), NULL, 0, F.rsa);
    dot = strrchr(t, '.');
    dot[1] = dot[1] == 'A' ? 'B' : 'A';
    expect_fail(F.rsa_keys, t, NULL, NOW, -EACCES, "bad_signature");
    free(t);
}

/* ES256 signatures in DER (what OpenSSL produces) are not JWS. */
static void test_es256_der_signature_refused(void **state)
{
    char *h = b64u("{\"alg\":\"ES256\"}", 15), *p = b64u(claims_with(""), strlen(claims_with("")));
    char input[1024], tok[2048], *s;
    unsigned char der[128];
    size_t n = sizeof(der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    (void)state;
    snprintf(input, sizeof(input), "%s.%s", h, p);
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, F.ec), 1);
    assert_int_equal(EVP_DigestSign(md, der, &n, (unsigned char *)input, strlen(input)), 1);
    s = b64u(der, n);
    snprintf(tok, sizeof(tok), "%s.%s", input, s);
    expect_fail(F.ec_keys, tok, NULL, NOW, -EACCES, "bad_signature");
    EVP_MD_CTX_free(md);
    free(h);
    free(p);
    free(s);
}

static void test_algorithm_confusion(void **state)
{
    char *t;
    const char *pem = F.rsa_pem;

    (void)state;
    /* RS256 token, node configured for HS256 only. */
    t = mint("RS256", claims_with(""), NULL, 0, F.rsa);
    expect_fail(F.hmac, t, NULL, NOW, -EACCES, "alg_not_allowed");
    free(t);
    /* The classic: HS256 keyed with the RSA public key's PEM bytes. */
    t = mint("HS256", claims_with(""), pem, strlen(pem), NULL);
    expect_fail(F.rsa_keys, t, NULL, NOW, -EACCES, "alg_not_allowed");
    expect_fail(F.mixed, t, NULL, NOW, -EACCES, "bad_signature");
    expect_fail(F.jwks, t, NULL, NOW, -EACCES, "alg_not_allowed");
    free(t);
    t = mint_hdr("{\"alg\":\"HS256\",\"kid\":\"r\"}", "HS256", claims_with(""), pem, strlen(pem),
                 NULL);
    expect_fail(F.jwks, t, NULL, NOW, -EACCES, "alg_not_allowed");
    free(t);
    /* ES256 token against RSA keys and the reverse. */
    t = mint("ES256", claims_with(""), NULL, 0, F.ec);
    expect_fail(F.rsa_keys, t, NULL, NOW, -EACCES, "alg_not_allowed");
    free(t);
    t = mint_hdr("{\"alg\":\"ES256\"}", "RS256", claims_with(""), NULL, 0, F.rsa);
    expect_fail(F.jwks, t, NULL, NOW, -EACCES, "bad_signature");
    free(t);
}

static void test_alg_none_and_others(void **state)
{
    static const char *const hdrs[] = {
        "{\"alg\":\"none\"}",  "{\"alg\":\"None\",\"typ\":\"JWT\"}",
        "{\"alg\":\"NONE\"}",  "{\"alg\":\"HS512\"}",
        "{\"alg\":\"hs256\"}", "{\"alg\":\"RS384\"}",
        "{\"alg\":\"PS256\"}", "{\"alg\":\"EdDSA\"}",
        "{\"alg\":\"\"}",
    };
    char *t;

    (void)state;
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(*hdrs); i++) {
        t = mint_hdr(hdrs[i], "none", claims_with(""), NULL, 0, NULL);
        assert_int_equal(t[strlen(t) - 1], '.'); /* empty signature */
        expect_fail(F.mixed, t, NULL, NOW, -EACCES, "alg_not_allowed");
        free(t);
        t = mint_hdr(hdrs[i], "HS256", claims_with(""), F.secret, strlen(F.secret), NULL);
        expect_fail(F.mixed, t, NULL, NOW, -EACCES, "alg_not_allowed");
        free(t);
    }
    t = mint_hdr("{\"typ\":\"JWT\"}", "HS256", claims_with(""), F.secret, strlen(F.secret), NULL);
    expect_fail(F.hmac, t, NULL, NOW, -EINVAL, "malformed");
    free(t);
    t = mint_hdr("{\"alg\":256}", "HS256", claims_with(""), F.secret, strlen(F.secret), NULL);
    expect_fail(F.hmac, t, NULL, NOW, -EINVAL, "malformed");
    free(t);
}

/* ---- claims ------------------------------------------------------------ */

static void test_time_claims(void **state)
{
    struct sc_jwt_opts o = {.leeway = 30};
    char buf[256];

    (void)state;
    HS_FAIL("{\"sub\":\"" SUB "\",\"exp\":1699999000}", -EACCES, "expired", NULL);
    HS_FAIL("{\"sub\":\"" SUB "\",\"exp\":1700000000}", -EACCES, "expired", NULL);
    HS_FAIL(claims_with("\"nbf\":1700000001"), -EACCES, "not_yet_valid", NULL);
    HS_FAIL(claims_with("\"iat\":1700000100"), -EACCES, "not_yet_valid", NULL);
    HS_FAIL(claims_with("\"nbf\":\"soon\""), -EINVAL, "bad_claims", NULL);
    HS_FAIL("{\"sub\":\"" SUB "\",\"exp\":\"1800000000\"}", -EINVAL, "bad_claims", NULL);
    HS_FAIL("{\"sub\":\"" SUB "\"}", -EINVAL, "missing_exp", NULL);
    HS_FAIL("{\"sub\":\"" SUB "\",\"exp\":null}", -EINVAL, "bad_claims", NULL);
    /* Fractional NumericDates round toward refusal. */
    HS_FAIL("{\"sub\":\"" SUB "\",\"exp\":1700000000.5}", -EACCES, "expired", NULL);
    HS_FAIL(claims_with("\"nbf\":1700000000.5"), -EACCES, "not_yet_valid", NULL);
    char *t = hs("{\"sub\":\"" SUB "\",\"exp\":1700000001.5}");
    expect_ok(F.hmac, t, NULL, NOW);
    free(t);
    t = hs("{\"sub\":\"" SUB "\",\"exp\":1e300}");
    expect_ok(F.hmac, t, NULL, NOW);
    free(t);
    /* exp optional when configured so. */
    o.exp_optional = 1;
    t = hs("{\"sub\":\"" SUB "\"}");
    struct sc_jwt_claims c;
    assert_int_equal(verify_at(F.hmac, t, NOW, &o, &c), 0);
    assert_int_equal(c.exp, INT64_MAX);
    sc_jwt_claims_free(&c);
    free(t);
    snprintf(buf, sizeof(buf), "{\"sub\":\"" SUB "\",\"exp\":%lld}", (long long)NOW - 31);
    HS_FAIL(buf, -EACCES, "expired", &o);
}

/* exp is valid while now < exp + leeway; nbf and iat while now >= t - leeway. */
static void test_leeway_edges(void **state)
{
    static const unsigned leeways[] = {0, 30};
    char buf[256];
    char *t;

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        struct sc_jwt_opts o = {.leeway = leeways[i]};
        long long L = leeways[i];
        snprintf(buf, sizeof(buf), "{\"sub\":\"" SUB "\",\"exp\":%lld}", NOW - L);
        t = hs(buf);
        expect_fail(F.hmac, t, &o, NOW, -EACCES, "expired");
        free(t);
        snprintf(buf, sizeof(buf), "{\"sub\":\"" SUB "\",\"exp\":%lld}", NOW - L + 1);
        t = hs(buf);
        expect_ok(F.hmac, t, &o, NOW);
        free(t);
        snprintf(buf, sizeof(buf), "\"nbf\":%lld,\"iat\":%lld", NOW + L, NOW + L);
        t = hs(claims_with(buf));
        expect_ok(F.hmac, t, &o, NOW);
        free(t);
        snprintf(buf, sizeof(buf), "\"nbf\":%lld", NOW + L + 1);
        t = hs(claims_with(buf));
        expect_fail(F.hmac, t, &o, NOW, -EACCES, "not_yet_valid");
        free(t);
        snprintf(buf, sizeof(buf), "\"iat\":%lld", NOW + L + 1);
        t = hs(claims_with(buf));
        expect_fail(F.hmac, t, &o, NOW, -EACCES, "not_yet_valid");
        free(t);
    }
    /* Leeway is capped: a day of skew is not "small". */
    struct sc_jwt_opts big = {.leeway = 86400};
    snprintf(buf, sizeof(buf), "{\"sub\":\"" SUB "\",\"exp\":%lld}",
             (long long)NOW - SC_JWT_MAX_LEEWAY);
    t = hs(buf);
    expect_fail(F.hmac, t, &big, NOW, -EACCES, "expired");
    free(t);
}

static void test_audience_and_issuer(void **state)
{
    struct sc_jwt_opts o = {.audience = "shardcast", .issuer = "https://auth.example"};
    const char *iss = "\"iss\":\"https://auth.example\"";
    char buf[256];
    char *t;

    (void)state;
    snprintf(buf, sizeof(buf), "%s,\"aud\":\"shardcast\"", iss);
    t = hs(claims_with(buf));
    expect_ok(F.hmac, t, &o, NOW);
    free(t);
    snprintf(buf, sizeof(buf), "%s,\"aud\":[\"other\",\"shardcast\"]", iss);
    t = hs(claims_with(buf));
    expect_ok(F.hmac, t, &o, NOW);
    free(t);
    snprintf(buf, sizeof(buf), "%s,\"aud\":\"other\"", iss);
    HS_FAIL(claims_with(buf), -EACCES, "bad_audience", &o);
    snprintf(buf, sizeof(buf), "%s,\"aud\":[\"other\"]", iss);
    HS_FAIL(claims_with(buf), -EACCES, "bad_audience", &o);
    snprintf(buf, sizeof(buf), "%s,\"aud\":[]", iss);
    HS_FAIL(claims_with(buf), -EACCES, "bad_audience", &o);
    HS_FAIL(claims_with(iss), -EACCES, "bad_audience", &o);
    snprintf(buf, sizeof(buf), "%s,\"aud\":[\"shardcast\",7]", iss);
    HS_FAIL(claims_with(buf), -EINVAL, "bad_claims", &o);
    snprintf(buf, sizeof(buf), "%s,\"aud\":{\"shardcast\":1}", iss);
    HS_FAIL(claims_with(buf), -EINVAL, "bad_claims", &o);
    snprintf(buf, sizeof(buf), "%s,\"aud\":\"SHARDCAST\"", iss);
    HS_FAIL(claims_with(buf), -EACCES, "bad_audience", &o);
    HS_FAIL(claims_with("\"iss\":\"https://evil.example\",\"aud\":\"shardcast\""), -EACCES,
            "bad_issuer", &o);
    HS_FAIL(claims_with("\"aud\":\"shardcast\""), -EACCES, "bad_issuer", &o);
    HS_FAIL(claims_with("\"iss\":1,\"aud\":\"shardcast\""), -EINVAL, "bad_claims", &o);
    /* Not configured: not checked. */
    t = hs(claims_with("\"iss\":\"anyone\",\"aud\":\"anything\""));
    expect_ok(F.hmac, t, NULL, NOW);
    free(t);
}

static void test_subject(void **state)
{
    char buf[512], sub[200];
    struct sc_jwt_claims c;
    char *t;

    (void)state;
    HS_FAIL("{\"exp\":1800000000}", -EINVAL, "bad_subject", NULL);
    HS_FAIL("{\"sub\":\"\",\"exp\":1800000000}", -EINVAL, "bad_subject", NULL);
    HS_FAIL("{\"sub\":42,\"exp\":1800000000}", -EINVAL, "bad_subject", NULL);
    HS_FAIL("{\"sub\":null,\"exp\":1800000000}", -EINVAL, "bad_subject", NULL);
    HS_FAIL("{\"sub\":\"a\\nb\",\"exp\":1800000000}", -EINVAL, "bad_subject", NULL);
    HS_FAIL("{\"sub\":\"a\\u0000b\",\"exp\":1800000000}", -EINVAL, "malformed", NULL);
    memset(sub, 'x', SC_JWT_MAX_SUB + 1);
    sub[SC_JWT_MAX_SUB + 1] = 0;
    snprintf(buf, sizeof(buf), "{\"sub\":\"%s\",\"exp\":1800000000}", sub);
    HS_FAIL(buf, -EINVAL, "bad_subject", NULL);
    sub[SC_JWT_MAX_SUB] = 0;
    snprintf(buf, sizeof(buf), "{\"sub\":\"%s\",\"exp\":1800000000}", sub);
    t = hs(buf);
    assert_int_equal(verify_at(F.hmac, t, NOW, NULL, &c), 0);
    assert_int_equal(strlen(c.sub), SC_JWT_MAX_SUB);
    sc_jwt_claims_free(&c);
    free(t);
    t = hs("{\"sub\":\"\xc3\xa9l\xc3\xa8ve\",\"exp\":1800000000}"); /* UTF-8 is fine */
    assert_int_equal(verify_at(F.hmac, t, NOW, NULL, &c), 0);
    sc_jwt_claims_free(&c);
    free(t);
}

static void test_channels_claim(void **state)
{
    char buf[8192];
    size_t n;

    (void)state;
    HS_FAIL(claims_with("\"channels\":\"news\""), -EINVAL, "bad_claims", NULL);
    HS_FAIL(claims_with("\"channels\":[\"news\",1]"), -EINVAL, "bad_claims", NULL);
    HS_FAIL(claims_with("\"channels\":[\"\"]"), -EINVAL, "bad_claims", NULL);
    n = (size_t)snprintf(buf, sizeof(buf),
                         "{\"sub\":\"" SUB "\",\"exp\":1800000000,\"channels\":[");
    for (int i = 0; i <= SC_JWT_MAX_GRANTS; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"c%d\"", i ? "," : "", i);
    snprintf(buf + n, sizeof(buf) - n, "]}");
    char *t = hs(buf);
    assert_true(strlen(t) <= SC_JWT_MAX_TOKEN);
    expect_fail(F.hmac, t, NULL, NOW, -EINVAL, "bad_claims");
    free(t);
    struct sc_jwt_claims c;
    t = hs(claims_with("\"channels\":[]"));
    assert_int_equal(verify_at(F.hmac, t, NOW, NULL, &c), 0);
    assert_int_equal(c.nchannels, 0);
    sc_jwt_claims_free(&c);
    free(t);
}

/* ---- structure ---------------------------------------------------------- */

static void test_malformed(void **state)
{
    char *good = hs(claims_with("")), buf[SC_JWT_MAX_TOKEN + 64];
    char *d1 = strchr(good, '.'), *d2 = strrchr(good, '.');
    int h = (int)(d1 - good), hp = (int)(d2 - good);
    static const char *const literal[] = {
        "",         ".",        "..",
        "...",      "abc",      "a.b",
        "a.b.c.d",  "e30.e30.", "eyJhbGciOiJIUzI1NiJ9..sig",
        ".e30.sig",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(literal) / sizeof(*literal); i++)
        expect_fail(F.hmac, literal[i], NULL, NOW, -EINVAL, "malformed");
    snprintf(buf, sizeof(buf), "%s.", good); /* extra dot */
    expect_fail(F.hmac, buf, NULL, NOW, -EINVAL, "malformed");
    snprintf(buf, sizeof(buf), "%s.%s", good, d2 + 1); /* four parts */
    expect_fail(F.hmac, buf, NULL, NOW, -EINVAL, "malformed");
    snprintf(buf, sizeof(buf), "%s=", good); /* padding */
    expect_fail(F.hmac, buf, NULL, NOW, -EINVAL, "malformed");
    snprintf(buf, sizeof(buf), "%.*s=%s", h, good, d1); /* padded header */
    expect_fail(F.hmac, buf, NULL, NOW, -EINVAL, "malformed");
    snprintf(buf, sizeof(buf), " %s", good); /* whitespace */
    expect_fail(F.hmac, buf, NULL, NOW, -EINVAL, "malformed");
    snprintf(buf, sizeof(buf), "%s\n", good);
    expect_fail(F.hmac, buf, NULL, NOW, -EINVAL, "malformed");
    strcpy(buf, good); /* base64, not url */
    buf[hp + 3] = '+';
    expect_fail(F.hmac, buf, NULL, NOW, -EINVAL, "malformed");
    buf[hp + 3] = '/';
    expect_fail(F.hmac, buf, NULL, NOW, -EINVAL, "malformed");
    /* HS256 signatures are 43 characters; the last carries 2 unused bits,
     * which must be zero. */
    strcpy(buf, good);
    assert_int_equal(strlen(d2 + 1), 43);
    const char *abc = "AEIMQUYcgkosw048";
    char last = buf[strlen(buf) - 1];
    buf[strlen(buf) - 1] = strchr(abc, last) ? last + 1 : last;
    if (buf[strlen(buf) - 1] != last)
        expect_fail(F.hmac, buf, NULL, NOW, -EINVAL, "malformed");
    snprintf(buf, sizeof(buf), "%sAA", good); /* 45 characters: 4k+1 */
    expect_fail(F.hmac, buf, NULL, NOW, -EINVAL, "malformed");
    /* A NUL inside the given length. */
    memcpy(buf, good, strlen(good) + 1);
    buf[5] = 0;
    struct sc_jwt_claims c;
    assert_int_equal(sc_jwt_verify(F.hmac, buf, strlen(good), NOW, NULL, &c, err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "malformed");
    free(good);
}

static void test_malformed_json(void **state)
{
    static const char *const bad_headers[] = {
        "[\"HS256\"]",
        "{\"alg\":\"HS256\"",
        "\"HS256\"",
        "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
        "{\"alg\":\"HS256\",\"typ\":\"JOSE+JSON\"}",
        "{\"alg\":\"HS256\",\"typ\":1}",
        "{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}",
        "{\"alg\":\"HS256\",\"kid\":7}",
    };
    static const char *const bad_payloads[] = {
        "[]",
        "not json",
        "{\"sub\":\"" SUB "\",\"sub\":\"root\",\"exp\":1800000000}",
        "{\"sub\":\"" SUB "\",\"exp\":1800000000",
        "",
    };
    char *t;

    (void)state;
    for (size_t i = 0; i < sizeof(bad_headers) / sizeof(*bad_headers); i++) {
        t = mint_hdr(bad_headers[i], "HS256", claims_with(""), F.secret, strlen(F.secret), NULL);
        expect_fail(F.hmac, t, NULL, NOW, -EINVAL, "malformed");
        free(t);
    }
    for (size_t i = 0; i < sizeof(bad_payloads) / sizeof(*bad_payloads); i++) {
        t = hs(bad_payloads[i]); /* correctly signed, so the payload is parsed */
        expect_fail(F.hmac, t, NULL, NOW, -EINVAL, "malformed");
        free(t);
    }
}

static void test_oversized(void **state)
{
    char pad[SC_JWT_MAX_TOKEN];
    char payload[SC_JWT_MAX_TOKEN + 64];
    char *t;
    size_t n;

    (void)state;
    /* Grow a padding claim until the token passes the bound. */
    for (n = 5000; n < sizeof(pad); n += 1) {
        memset(pad, 'p', n);
        pad[n] = 0;
        snprintf(payload, sizeof(payload), "{\"sub\":\"" SUB "\",\"exp\":1800000000,\"x\":\"%s\"}",
                 pad);
        t = hs(payload);
        if (strlen(t) > SC_JWT_MAX_TOKEN) {
            expect_fail(F.hmac, t, NULL, NOW, -EINVAL, "malformed");
            free(t);
            break;
        }
        if (strlen(t) > SC_JWT_MAX_TOKEN - 4)
            expect_ok(F.hmac, t, NULL, NOW);
        free(t);
    }
    assert_true(n < sizeof(pad));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hs256_valid),
        cmocka_unit_test(test_rs256_and_es256_valid),
        cmocka_unit_test(test_jwks_kid_selection),
        cmocka_unit_test(test_forged_signatures),
        cmocka_unit_test(test_es256_der_signature_refused),
        cmocka_unit_test(test_algorithm_confusion),
        cmocka_unit_test(test_alg_none_and_others),
        cmocka_unit_test(test_time_claims),
        cmocka_unit_test(test_leeway_edges),
        cmocka_unit_test(test_audience_and_issuer),
        cmocka_unit_test(test_subject),
        cmocka_unit_test(test_channels_claim),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_oversized),
    };
    return cmocka_run_group_tests(tests, jwt_setup, jwt_teardown);
}
