/* sc_access: who may subscribe to what, checked the same way at the
 * upgrade (sc_http.c, ?channels=) and for a connection's requests
 * (sc_conn.c): token verification, the hand-over of an upgrade's verified
 * claims to its connection, channel permissions and the names reserved for
 * the node, and the one ?channels= reader. */
#include "sc_access.h"

#include <stdio.h>
#include <string.h>

#include "sc_acl.h"
#include "sc_pubsub.h"

int sc_access_verify(struct sc_hub *hub, const char *token, size_t len, struct sc_jwt_claims **out,
                     const char **code)
{
    hub->metrics.token_verifications++;
    return sc_auth_verify(&hub->auth, token, len, out, code);
}

void sc_access_handover(struct sc_hub *hub, struct lws *wsi, struct sc_jwt_claims *claims)
{
    sc_auth_claims_free(hub->upgrade_claims);
    hub->upgrade_claims = claims;
    hub->upgrade_wsi = wsi;
    /* The address alone could be a later wsi's, after this one failed its
     * upgrade and was freed; lws zeroes a new wsi, so this mark tells. */
    lws_set_opaque_user_data(wsi, hub);
}

int sc_access_take(struct sc_hub *hub, struct lws *wsi, struct sc_jwt_claims **cl)
{
    *cl = NULL;
    if (hub->upgrade_wsi != wsi || lws_get_opaque_user_data(wsi) != hub)
        return 0;
    lws_set_opaque_user_data(wsi, NULL);
    *cl = hub->upgrade_claims;
    hub->upgrade_claims = NULL;
    hub->upgrade_wsi = NULL;
    return 1;
}

/* Names under "<cluster-prefix>:" (the cluster's control channel and
 * anything it may add) and the standalone liveness probe's belong to the
 * node: a client subscribed there would take the probe's confirmations
 * for its own, or read the cluster's messages. A pattern is reserved if
 * it could match any such name. Errors count as reserved. */
static int channel_reserved(const struct sc_hub *hub, const char *name, size_t len)
{
    char cluster[80];
    const char *prefixes[2] = {cluster, SC_PUBSUB_PROBE_PREFIX};
    int pattern = sc_channel_is_pattern(name, len);

    snprintf(cluster, sizeof(cluster), "%s:", hub->cfg->cluster_prefix);
    for (size_t i = 0; i < 2; i++) {
        size_t pl = strlen(prefixes[i]);
        if (pattern ? sc_glob_meets_prefix(name, len, prefixes[i], pl) != 0
                    : len >= pl && memcmp(name, prefixes[i], pl) == 0)
            return 1;
    }
    return 0;
}

int sc_access_may_subscribe(struct sc_hub *hub, const struct sc_jwt_claims *claims,
                            const char *name, size_t len, uint64_t *budget, char *msg,
                            size_t msglen)
{
    int show = (int)(len > 128 ? 128 : len);

    if (sc_auth_may_read(&hub->auth, claims, name, len, budget) < 0) {
        snprintf(msg, msglen, "not allowed to read %.*s", show, name);
        return SC_PERR_FORBIDDEN;
    }
    if (channel_reserved(hub, name, len)) {
        snprintf(
            msg, msglen,
            "%.*s %s reserved for the node (names beginning \"%s:\" or \"" SC_PUBSUB_PROBE_PREFIX
            "\")",
            show, name, sc_channel_is_pattern(name, len) ? "could match names" : "is",
            hub->cfg->cluster_prefix);
        return SC_PERR_FORBIDDEN;
    }
    return SC_PERR_NONE;
}

int sc_access_url_channels(struct lws *wsi, const struct sc_proto_limits *lim, char *buf,
                           size_t buflen, struct sc_name **names, size_t *count, char *msg,
                           size_t msglen)
{
    const char *v = lws_get_urlarg_by_name(wsi, "channels=", buf, (int)buflen);

    return sc_channel_list_parse(v ? v : "", v ? strlen(v) : 0, lim, names, count, msg, msglen);
}
