/* sc_jwt_check: verifies one token with sc_jwt at the current time, for the
 * recipe test (recipes.sh) and for trying tokens by hand.
 *
 *   sc_jwt_check (--secret FILE | --pem FILE | --jwks FILE)... [--leeway S]
 *                [--aud AUDIENCE] [--iss ISSUER] TOKEN
 *
 * Prints "ok sub=... exp=... channels=..." and exits 0, or prints the reason
 * code and exits 1; 2 for a usage or key file error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sc_jwt.h"

static int usage(void)
{
    fprintf(stderr, "usage: sc_jwt_check (--secret F | --pem F | --jwks F)... "
                    "[--leeway S] [--aud A] [--iss I] TOKEN\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct sc_jwt_keys *keys = sc_jwt_keys_new();
    struct sc_jwt_opts o = {.leeway = 0};
    struct sc_jwt_claims c;
    char err[256];
    int i, rc;

    if (!keys)
        return 2;
    for (i = 1; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
        const char *opt = argv[i], *val = argv[i + 1];
        int unknown = 0;
        rc = 0;
        if (!strcmp(opt, "--secret"))
            rc = sc_jwt_keys_load_hmac_file(keys, val, err, sizeof(err));
        else if (!strcmp(opt, "--pem"))
            rc = sc_jwt_keys_load_pem_file(keys, val, err, sizeof(err));
        else if (!strcmp(opt, "--jwks"))
            rc = sc_jwt_keys_load_jwks_file(keys, val, err, sizeof(err));
        else if (!strcmp(opt, "--leeway"))
            o.leeway = (unsigned)strtoul(val, NULL, 10);
        else if (!strcmp(opt, "--aud"))
            o.audience = val;
        else if (!strcmp(opt, "--iss"))
            o.issuer = val;
        else
            unknown = 1;
        if (unknown) {
            sc_jwt_keys_free(keys);
            return usage();
        }
        if (rc < 0) {
            fprintf(stderr, "%s\n", err);
            sc_jwt_keys_free(keys);
            return 2;
        }
    }
    if (i + 1 != argc) {
        sc_jwt_keys_free(keys);
        return usage();
    }
    rc = sc_jwt_verify(keys, argv[i], strlen(argv[i]), (int64_t)time(NULL), &o, &c, err,
                       sizeof(err));
    sc_jwt_keys_free(keys);
    if (rc < 0) {
        printf("%s\n", err);
        return 1;
    }
    printf("ok sub=%s exp=%lld channels=", c.sub, (long long)c.exp);
    for (size_t k = 0; k < c.nchannels; k++)
        printf("%s%s", k ? "," : "", c.channels[k]);
    printf("\n");
    sc_jwt_claims_free(&c);
    return 0;
}
