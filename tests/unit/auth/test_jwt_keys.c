/* sc_jwt key material: secret files (trimming, minimum size, a public key
 * given as a secret), PEM public keys (size, curve, private keys refused),
 * and JWKS files (skipped entries, private members, bad points, a failing
 * file leaving the key set untouched). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "jwt_test.h"

/* ---- key material ------------------------------------------------------- */

/* Loads path with fn into a fresh set; returns the result, and checks that
 * a failure left the set empty and named the file without its content. */
static int try_load(loader_fn fn, const char *path, const char *must_not_contain)
{
    struct sc_jwt_keys *k = sc_jwt_keys_new();
    int rc = fn(k, path, err, sizeof(err));

    if (rc < 0) {
        assert_non_null(strstr(err, path));
        assert_int_equal(sc_jwt_keys_count(k, SC_JWT_HS256) + sc_jwt_keys_count(k, SC_JWT_RS256) +
                             sc_jwt_keys_count(k, SC_JWT_ES256),
                         0);
        if (must_not_contain)
            assert_null(strstr(err, must_not_contain));
    }
    sc_jwt_keys_free(k);
    return rc;
}

static void test_secret_files(void **state)
{
    const char *secret32 = "0123456789abcdef0123456789abcdef";
    char buf[128], *t;
    struct sc_jwt_keys *k;

    (void)state;
    assert_int_equal(try_load(sc_jwt_keys_load_hmac_file, write_file("s0", "", 0), NULL), -EINVAL);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(try_load(sc_jwt_keys_load_hmac_file, write_file("s1", "\n", 1), NULL),
                     -EINVAL);
    assert_int_equal(
        try_load(sc_jwt_keys_load_hmac_file, write_file("s31", secret32, 31), secret32 + 1),
        -EINVAL);
    assert_non_null(strstr(err, "32 bytes"));
    assert_int_equal(try_load(sc_jwt_keys_load_hmac_file, path_of("missing"), NULL), -EINVAL);
    assert_int_equal(try_load(sc_jwt_keys_load_hmac_file, F.dir, NULL), -EINVAL);
    /* A public key or a JWKS given as the secret: the confusion, refused. */
    assert_int_equal(try_load(sc_jwt_keys_load_hmac_file, path_of("rsa.pem"), "MIIB"), -EINVAL);
    assert_non_null(strstr(err, "PEM"));
    assert_int_equal(try_load(sc_jwt_keys_load_hmac_file, path_of("jwks.json"), "kty"), -EINVAL);
    /* One trailing LF or CRLF is not part of the secret; anything else is. */
    static const char *const endings[] = {"", "\n", "\r\n"};
    for (int i = 0; i < 3; i++) {
        snprintf(buf, sizeof(buf), "%s%s", secret32, endings[i]);
        k = load(sc_jwt_keys_load_hmac_file, NULL, write_file("s32", buf, strlen(buf)));
        t = mint("HS256", claims_with(""), secret32, 32, NULL);
        expect_ok(k, t, NULL, NOW);
        free(t);
        sc_jwt_keys_free(k);
    }
    snprintf(buf, sizeof(buf), "%s\n\n", secret32);
    k = load(sc_jwt_keys_load_hmac_file, NULL, write_file("s32", buf, strlen(buf)));
    t = mint("HS256", claims_with(""), secret32, 32, NULL);
    expect_fail(k, t, NULL, NOW, -EACCES, "bad_signature");
    free(t);
    sc_jwt_keys_free(k);
}

static void test_pem_files(void **state)
{
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    char *pem;

    (void)state;
    assert_true(small && p384);
    pem = pem_of(small, 0);
    assert_int_equal(
        try_load(sc_jwt_keys_load_pem_file, write_file("small.pem", pem, strlen(pem)), NULL),
        -EINVAL);
    assert_non_null(strstr(err, "1024 bits"));
    free(pem);
    pem = pem_of(p384, 0);
    assert_int_equal(
        try_load(sc_jwt_keys_load_pem_file, write_file("p384.pem", pem, strlen(pem)), NULL),
        -EINVAL);
    assert_non_null(strstr(err, "P-256"));
    free(pem);
    pem = pem_of(F.rsa, 1); /* a private key is not a PUBLIC KEY block */
    assert_int_equal(
        try_load(sc_jwt_keys_load_pem_file, write_file("priv.pem", pem, strlen(pem)), "PRIVATE"),
        -EINVAL);
    free(pem);
    assert_int_equal(try_load(sc_jwt_keys_load_pem_file, path_of("secret"), F.secret), -EINVAL);
    assert_int_equal(try_load(sc_jwt_keys_load_pem_file, path_of("nope.pem"), NULL), -EINVAL);
    assert_int_equal(try_load(sc_jwt_keys_load_pem_file, path_of("ec.pem"), NULL), 0);
    EVP_PKEY_free(small);
    EVP_PKEY_free(p384);
}

static int jwks_from(const char *json)
{
    return try_load(sc_jwt_keys_load_jwks_file, write_file("t.jwks", json, strlen(json)), NULL);
}

static void test_jwks_files(void **state)
{
    json_t *arr = json_array();
    char text[512];

    (void)state;
    /* Unusable entries are skipped, usable ones kept. */
    add_rsa_jwk(arr, F.rsa, "enc-key", "enc");
    add_ec_jwk(arr, F.ec, "e1");
    json_array_append_new(arr,
                          json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x", "AAAA"));
    json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-384", "x",
                                         "AAAA", "y", "AAAA", "kid", "p384"));
    assert_int_equal(try_load(sc_jwt_keys_load_jwks_file, write_jwks(arr, "mixed.jwks"), NULL), 1);
    assert_int_equal(jwks_from("{\"keys\":[]}"), -EINVAL);
    assert_non_null(strstr(err, "no RS256 or ES256"));
    assert_int_equal(jwks_from("[]"), -EINVAL);
    assert_int_equal(jwks_from("{\"keys\":{}}"), -EINVAL);
    assert_int_equal(jwks_from("not json"), -EINVAL);
    assert_int_equal(jwks_from("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}"), -EINVAL);
    assert_non_null(strstr(err, "private"));
    assert_null(strstr(err, "c2VjcmV0"));
    assert_int_equal(
        jwks_from("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}]}"),
        -EINVAL);
    assert_int_equal(jwks_from("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}"),
                     -EINVAL);
    assert_int_equal(jwks_from("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQ+B\",\"e\":\"AQAB\"}]}"),
                     -EINVAL);
    assert_int_equal(jwks_from("{\"keys\":[7]}"), -EINVAL);
    assert_int_equal(jwks_from("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":5}]}"),
                     -EINVAL);
    /* A point that is not on the curve: x = y = 1. */
    snprintf(text, sizeof(text),
             "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE",
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE");
    assert_int_equal(jwks_from(text), -EINVAL);
    /* A failing file leaves a loaded set untouched. */
    struct sc_jwt_keys *k = load(sc_jwt_keys_load_hmac_file, NULL, path_of("secret"));
    assert_true(sc_jwt_keys_load_jwks_file(k, path_of("t.jwks"), err, sizeof(err)) < 0);
    assert_int_equal(sc_jwt_keys_count(k, SC_JWT_HS256), 1);
    assert_int_equal(sc_jwt_keys_count(k, SC_JWT_ES256), 0);
    sc_jwt_keys_free(k);
    sc_jwt_keys_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_files),
        cmocka_unit_test(test_pem_files),
        cmocka_unit_test(test_jwks_files),
    };
    return cmocka_run_group_tests(tests, jwt_setup, jwt_teardown);
}
