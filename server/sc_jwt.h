/* sc_jwt: connection tokens (JWT in JWS compact form, RFC 7515/7519).
 *
 * Three algorithms, each bound to one kind of key: HS256 to a shared
 * secret, RS256 to an RSA public key, ES256 to an EC P-256 public key. A
 * token is only ever checked with keys of the algorithm its header names,
 * so an RSA public key can never be used as an HMAC secret, and "none" or
 * any other algorithm is refused. Keys come from files only; headers that
 * point at keys (jwk, jku, x5u, x5c) are ignored.
 *
 * Nothing here logs, and no error text ever holds a token, a secret or a
 * claim value: verification failures are short stable codes (see
 * docs/security.md), key loading errors name the file and the problem. */
#ifndef SC_JWT_H
#define SC_JWT_H

#include <stddef.h>
#include <stdint.h>

#define SC_JWT_MAX_TOKEN 8192        /* bytes in a compact token */
#define SC_JWT_MIN_SECRET 32         /* bytes in an HS256 secret */
#define SC_JWT_MAX_SUB 128           /* bytes in the sub claim */
#define SC_JWT_MAX_GRANTS 256        /* entries in the channels claim */
#define SC_JWT_MAX_GRANT_LENGTH 4096 /* bytes in one entry of channels */
#define SC_JWT_MAX_LEEWAY 3600       /* seconds; larger values are capped */

enum sc_jwt_alg { SC_JWT_HS256 = 1, SC_JWT_RS256, SC_JWT_ES256 };

struct sc_jwt_keys;

/* What sc_jwt_verify checks besides the signature. All-zero (or a NULL
 * pointer) means: no leeway, exp required, aud and iss not checked. */
struct sc_jwt_opts {
    unsigned leeway;      /* seconds of clock skew allowed on exp/nbf/iat */
    const char *audience; /* if set, aud (string or array) must contain it */
    const char *issuer;   /* if set, iss must equal it */
    int exp_optional;     /* 1: a token without exp never expires */
};

/* The verified claims the node uses. Owned by the caller of
 * sc_jwt_verify; release with sc_jwt_claims_free. */
struct sc_jwt_claims {
    char *sub;       /* 1..SC_JWT_MAX_SUB bytes, no control characters */
    int64_t exp;     /* unix seconds; INT64_MAX when absent (exp_optional) */
    char **channels; /* grants, exact names or Redis globs; may be 0 */
    size_t nchannels;
};

/* An empty key set. Returns NULL on allocation failure. */
struct sc_jwt_keys *sc_jwt_keys_new(void);

/* Frees every key (secrets are wiped first). NULL is a no-op. */
void sc_jwt_keys_free(struct sc_jwt_keys *keys);

/* Adds the HS256 secret held in the file at path: its raw bytes, less one
 * trailing "\n" (or "\r\n"). Refuses an empty file, a secret shorter than
 * SC_JWT_MIN_SECRET bytes, or a file over 64 KiB. The key has no kid.
 * Returns 0, or -EINVAL / -ENOMEM with a message (path and reason, never
 * the content) in err; the key set is unchanged on error. */
int sc_jwt_keys_load_hmac_file(struct sc_jwt_keys *keys, const char *path, char *err,
                               size_t errlen);

/* Adds one PEM "PUBLIC KEY" (SubjectPublicKeyInfo) from the file at path:
 * an RSA key of at least 2048 bits (serves RS256) or an EC P-256 key
 * (serves ES256). The key has no kid. Returns 0, or -EINVAL / -ENOMEM with
 * a message in err; the key set is unchanged on error. */
int sc_jwt_keys_load_pem_file(struct sc_jwt_keys *keys, const char *path, char *err, size_t errlen);

/* Adds the keys of a JWKS file (RFC 7517, {"keys":[...]}, at most 1 MiB):
 * kty "RSA" (n, e; at least 2048 bits) and kty "EC" (crv "P-256", x, y),
 * with optional kid. Keys whose use is not "sig", whose alg is not RS256
 * (RSA) or ES256 (EC), or whose kty is another one are skipped. A file that
 * is not a JWKS, that holds private key material (d, p, q, k, ...), a
 * malformed supported key, or no usable key at all is refused: returns
 * -EINVAL (or -ENOMEM) with a message in err and the key set unchanged.
 * Returns the number of keys added (> 0) on success. */
int sc_jwt_keys_load_jwks_file(struct sc_jwt_keys *keys, const char *path, char *err,
                               size_t errlen);

/* Number of keys serving alg in the set. */
size_t sc_jwt_keys_count(const struct sc_jwt_keys *keys, enum sc_jwt_alg alg);

/* Verifies token[0..len) at time now (unix seconds) and fills claims.
 *
 * The token must be exactly three base64url parts (no padding, canonical
 * trailing bits), at most SC_JWT_MAX_TOKEN bytes; the header a JSON object
 * with alg (and optional typ "JWT", kid; no crit). The alg must be one the
 * key set serves. With a kid only the keys with that kid are tried,
 * without one every key of that alg. The signature is checked before the
 * claims are parsed. Claims: exp required unless opts->exp_optional; nbf
 * and iat optional; numbers compared with opts->leeway; aud and iss as
 * configured in opts; sub required; channels optional, strings only.
 *
 * Returns 0 and fills claims (free with sc_jwt_claims_free), or a negative
 * errno with claims zeroed and a reason code in err: -EINVAL for a
 * malformed token or claim ("malformed", "missing_exp", "bad_subject",
 * "bad_claims"), -EACCES for a well-formed token that is not acceptable
 * ("alg_not_allowed", "unknown_kid", "bad_signature", "expired",
 * "not_yet_valid", "bad_audience", "bad_issuer"), -ENOMEM ("internal"). */
int sc_jwt_verify(const struct sc_jwt_keys *keys, const char *token, size_t len, int64_t now,
                  const struct sc_jwt_opts *opts, struct sc_jwt_claims *claims, char *err,
                  size_t errlen);

/* Frees what sc_jwt_verify put in claims and zeroes it. Safe on a zeroed
 * or already freed struct. */
void sc_jwt_claims_free(struct sc_jwt_claims *claims);

/* The JOSE name of alg ("HS256", ...), or NULL. */
const char *sc_jwt_alg_name(enum sc_jwt_alg alg);

#endif
