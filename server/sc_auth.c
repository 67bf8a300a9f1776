/* sc_auth: tokens, permissions and origins for the node. */
#include "sc_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sc_acl.h"

/* Split a comma-separated option into add(item) calls. */
static int each_item(const char *list,
                     int (*add)(void *ud, const char *item, char *err, size_t errlen), void *ud,
                     char *err, size_t errlen)
{
    char item[SC_ACL_MAX_ENTRY + 1];

    while (list && *list) {
        size_t n = strcspn(list, ",");
        if (n > SC_ACL_MAX_ENTRY) {
            snprintf(err, errlen, "entry longer than %d bytes", SC_ACL_MAX_ENTRY);
            return -EINVAL;
        }
        memcpy(item, list, n);
        item[n] = 0;
        if (n && add(ud, item, err, errlen) < 0)
            return -EINVAL;
        list += n + (list[n] == ',');
    }
    return 0;
}

static int add_public(void *ud, const char *item, char *err, size_t errlen)
{
    return sc_acl_add_public(ud, item, err, errlen);
}

static int add_namespace(void *ud, const char *item, char *err, size_t errlen)
{
    return sc_acl_add_namespace(ud, item, err, errlen);
}

static int add_origin(void *ud, const char *item, char *err, size_t errlen)
{
    struct sc_auth *a = ud;
    char **o = realloc(a->origins, sizeof(*o) * (a->norigins + 1));

    if (!o || !(o[a->norigins] = strdup(item))) {
        if (o)
            a->origins = o;
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    a->origins = o;
    a->norigins++;
    return 0;
}

/* Each key source named by the configuration must load. */
static int auth_load_keys(struct sc_auth *a, const struct sc_config *cfg, char *err, size_t errlen)
{
    char sub[256];

    if (!(a->keys = sc_jwt_keys_new())) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (cfg->jwt_secret_file &&
        sc_jwt_keys_load_hmac_file(a->keys, cfg->jwt_secret_file, sub, sizeof(sub)) < 0) {
        snprintf(err, errlen, "jwt-secret-file: %s", sub);
        return -EINVAL;
    }
    if (cfg->jwt_public_key_file &&
        sc_jwt_keys_load_pem_file(a->keys, cfg->jwt_public_key_file, sub, sizeof(sub)) < 0) {
        snprintf(err, errlen, "jwt-public-key-file: %s", sub);
        return -EINVAL;
    }
    if (cfg->jwks_file &&
        sc_jwt_keys_load_jwks_file(a->keys, cfg->jwks_file, sub, sizeof(sub)) < 0) {
        snprintf(err, errlen, "jwks-file: %s", sub);
        return -EINVAL;
    }
    return 0;
}

int sc_auth_init(struct sc_auth *a, const struct sc_config *cfg, char *err, size_t errlen)
{
    char sub[256];

    memset(a, 0, sizeof(*a));
    a->mode = cfg->auth_mode;
    a->opts.leeway = (unsigned)cfg->jwt_leeway;
    a->opts.audience = cfg->jwt_audience;
    a->opts.issuer = cfg->jwt_issuer;
    if (cfg->allowed_origins &&
        each_item(cfg->allowed_origins, add_origin, a, sub, sizeof(sub)) < 0) {
        snprintf(err, errlen, "allowed-origins: %s", sub);
        goto fail;
    }
    if (a->mode == SC_AUTH_OFF)
        return 0;
    if (auth_load_keys(a, cfg, err, errlen) < 0)
        goto fail;
    if (!(a->acl = sc_acl_new())) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (each_item(cfg->public_channels, add_public, a->acl, sub, sizeof(sub)) < 0) {
        snprintf(err, errlen, "public-channels: %s", sub);
        goto fail;
    }
    if (each_item(cfg->user_namespaces, add_namespace, a->acl, sub, sizeof(sub)) < 0) {
        snprintf(err, errlen, "user-namespaces: %s", sub);
        goto fail;
    }
    return 0;
fail:
    sc_auth_free(a);
    return -EINVAL;
}

void sc_auth_free(struct sc_auth *a)
{
    sc_jwt_keys_free(a->keys);
    sc_acl_free(a->acl);
    for (size_t i = 0; i < a->norigins; i++)
        free(a->origins[i]);
    free(a->origins);
    memset(a, 0, sizeof(*a));
}

int sc_auth_verify(const struct sc_auth *a, const char *token, size_t len,
                   struct sc_jwt_claims **out, const char **code)
{
    static char reason[32];
    struct sc_jwt_claims *c;
    int rc;

    *out = NULL;
    *code = "unauthorized";
    if (!a->keys)
        return -EACCES;
    if (!(c = calloc(1, sizeof(*c)))) {
        *code = "internal";
        return -ENOMEM;
    }
    rc = sc_jwt_verify(a->keys, token, len, (int64_t)time(NULL), &a->opts, c, reason,
                       sizeof(reason));
    if (rc < 0) {
        free(c);
        *code = reason;
        return rc;
    }
    *out = c;
    return 0;
}

void sc_auth_claims_free(struct sc_jwt_claims *c)
{
    if (c) {
        sc_jwt_claims_free(c);
        free(c);
    }
}

int sc_auth_may_read(const struct sc_auth *a, const struct sc_jwt_claims *claims, const char *name,
                     size_t len, uint64_t *budget)
{
    if (a->mode == SC_AUTH_OFF)
        return 0;
    return sc_acl_check_budget(a->acl, claims ? claims->sub : NULL,
                               claims ? (const char *const *)claims->channels : NULL,
                               claims ? claims->nchannels : 0, name, len, budget) == 0
               ? 0
               : -EACCES;
}

int sc_auth_origin_ok(const struct sc_auth *a, const char *origin)
{
    if (!a->origins || !origin)
        return 1;
    for (size_t i = 0; i < a->norigins; i++)
        if (!strcmp(a->origins[i], origin))
            return 1;
    return 0;
}
