/* sc_conn_auth: a connection's identity: its token (from the upgrade or an
 * auth message), what it may subscribe to, and the deadlines that end it
 * (a token's expiry; in required mode, the time allowed to authenticate).
 *
 * Deadlines sit in a wheel of one-second slots swept with the keep-alive
 * timer, so arming, moving and cancelling one is O(1) at any number of
 * connections. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sc_acl.h"
#include "sc_auth.h"
#include "sc_conn.h"
#include "sc_log.h"
#include "sc_redis.h"

#define WHEEL_SLOTS 4096 /* seconds; later deadlines wait a lap or more */

struct sc_conn_auth {
    struct sc_jwt_claims *claims; /* NULL: anonymous (or still pending) */
    struct sc_conn *conn;
    struct sc_conn_auth *wprev, *wnext;
    int64_t deadline;             /* unix seconds, 0 = none */
    uint16_t deadline_code;       /* 4001 pending, 4102 expired */
    unsigned pending : 1;         /* required mode, not authenticated yet */
};

static void wheel_remove(struct sc_server *srv, struct sc_conn_auth *a)
{
    struct sc_conn_auth **head;

    if (!a->deadline)
        return;
    head = &srv->auth_wheel[a->deadline % WHEEL_SLOTS];
    if (a->wprev)
        a->wprev->wnext = a->wnext;
    else
        *head = a->wnext;
    if (a->wnext)
        a->wnext->wprev = a->wprev;
    a->wprev = a->wnext = NULL;
    a->deadline = 0;
}

static int wheel_insert(struct sc_server *srv, struct sc_conn_auth *a, int64_t when,
                        uint16_t code)
{
    struct sc_conn_auth **head;

    if (!srv->auth_wheel &&
        !(srv->auth_wheel = calloc(WHEEL_SLOTS, sizeof(*srv->auth_wheel))))
        return -ENOMEM;
    wheel_remove(srv, a);
    if (when <= 0)
        when = 1;
    a->deadline = when;
    a->deadline_code = code;
    head = &srv->auth_wheel[when % WHEEL_SLOTS];
    a->wprev = NULL;
    a->wnext = *head;
    if (*head)
        (*head)->wprev = a;
    *head = a;
    return 0;
}

/* Close every connection whose deadline has passed. Runs once a second;
 * visits only the slots of the seconds since the last run. */
void sc_conn_auth_sweep(struct sc_server *srv)
{
    int64_t now = (int64_t)time(NULL);

    if (!srv->auth_wheel) {
        srv->auth_swept = now;
        return;
    }
    if (!srv->auth_swept || now - srv->auth_swept > WHEEL_SLOTS)
        srv->auth_swept = now - WHEEL_SLOTS;
    for (int64_t s = srv->auth_swept + 1; s <= now; s++) {
        struct sc_conn_auth *a = srv->auth_wheel[s % WHEEL_SLOTS], *next;
        for (; a; a = next) {
            next = a->wnext;
            if (a->deadline > now)
                continue;
            uint16_t code = a->deadline_code;
            wheel_remove(srv, a);
            srv->metrics.errors[code == 4102 ? SC_ERR_TOKEN_EXPIRED : SC_ERR_UNAUTHORIZED]++;
            sc_conn_close(a->conn, code);
        }
    }
    srv->auth_swept = now;
}

static struct sc_conn_auth *conn_auth(struct sc_conn *c)
{
    if (!c->auth && (c->auth = calloc(1, sizeof(*c->auth))))
        c->auth->conn = c;
    return c->auth;
}

/* Adopt verified claims; a token for another subject is refused. */
static int conn_auth_adopt(struct sc_conn *c, struct sc_jwt_claims *cl)
{
    struct sc_conn_auth *a = conn_auth(c);

    if (!a) {
        sc_auth_claims_free(cl);
        return -ENOMEM;
    }
    if (a->claims && strcmp(a->claims->sub, cl->sub) != 0) {
        sc_auth_claims_free(cl);
        return -EPERM;
    }
    sc_auth_claims_free(a->claims);
    a->claims = cl;
    a->pending = 0;
    wheel_remove(c->srv, a);
    if (cl->exp != INT64_MAX &&
        wheel_insert(c->srv, a, cl->exp + c->srv->auth.opts.leeway, 4102) < 0)
        return -ENOMEM;
    return 0;
}

int sc_conn_auth_verify(struct sc_server *srv, const char *token, size_t len,
                        struct sc_jwt_claims **out, const char **code)
{
    srv->metrics.token_verifications++;
    return sc_auth_verify(&srv->auth, token, len, out, code);
}

void sc_conn_auth_handover(struct sc_server *srv, struct lws *wsi,
                           struct sc_jwt_claims *claims)
{
    sc_auth_claims_free(srv->upgrade_claims);
    srv->upgrade_claims = claims;
    srv->upgrade_wsi = wsi;
    /* The address alone could be a later wsi's, after this one failed its
     * upgrade and was freed; lws zeroes a new wsi, so this mark tells. */
    lws_set_opaque_user_data(wsi, srv);
}

/* Take what the upgrade check handed over for c's wsi. Returns 1 (claims
 * in *cl, NULL for no token) or 0 when c's upgrade was not checked. */
static int conn_auth_take(struct sc_conn *c, struct sc_jwt_claims **cl)
{
    struct sc_server *srv = c->srv;

    *cl = NULL;
    if (srv->upgrade_wsi != c->wsi || lws_get_opaque_user_data(c->wsi) != srv)
        return 0;
    lws_set_opaque_user_data(c->wsi, NULL);
    *cl = srv->upgrade_claims;
    srv->upgrade_claims = NULL;
    srv->upgrade_wsi = NULL;
    return 1;
}

int sc_conn_auth_start(struct sc_conn *c)
{
    struct sc_server *srv = c->srv;
    char buf[SC_JWT_MAX_TOKEN + 1];
    const char *tok, *code;
    struct sc_jwt_claims *cl;
    struct sc_conn_auth *a;

    if (!conn_auth_take(c, &cl) && srv->auth.mode != SC_AUTH_OFF &&
        (tok = lws_get_urlarg_by_name(c->wsi, "token=", buf, sizeof(buf)))) {
        /* Only for an upgrade sc_http_confirm_upgrade did not see. */
        if (sc_conn_auth_verify(srv, tok, strlen(tok), &cl, &code) < 0) {
            srv->metrics.errors[SC_ERR_UNAUTHORIZED]++;
            sc_conn_close(c, 4001);
            return 0;
        }
    }
    if (srv->auth.mode == SC_AUTH_OFF) {
        sc_auth_claims_free(cl);
        return 0;
    }
    if (cl)
        return conn_auth_adopt(c, cl) == -ENOMEM ? -ENOMEM : 0;
    if (srv->auth.mode != SC_AUTH_REQUIRED)
        return 0;
    /* Required, and no token yet: it must come as the first message. */
    if (!(a = conn_auth(c)))
        return -ENOMEM;
    a->pending = 1;
    return wheel_insert(srv, a, (int64_t)time(NULL) + srv->cfg->handshake_timeout, 4001);
}

int sc_conn_auth_gate(const struct sc_conn *c, enum sc_op op)
{
    if (c->auth && c->auth->pending && op != SC_OP_AUTH && op != SC_OP_PING)
        return SC_PERR_UNAUTHORIZED;
    if (op == SC_OP_AUTH && c->srv->auth.mode == SC_AUTH_OFF)
        return SC_PERR_UNAUTHORIZED;
    return SC_PERR_NONE;
}

int sc_conn_auth_request(struct sc_conn *c, const struct sc_request *req, char *msg,
                         size_t msglen, uint16_t *close_code)
{
    struct sc_server *srv = c->srv;
    struct sc_jwt_claims *cl;
    const char *code;
    int rc;

    *close_code = 0;
    if (srv->auth.mode == SC_AUTH_OFF) {
        snprintf(msg, msglen, "this node does not use tokens (--auth off)");
        return SC_PERR_UNAUTHORIZED;
    }
    if (sc_conn_auth_verify(srv, req->token, req->token_len, &cl, &code) < 0) {
        snprintf(msg, msglen, "token refused: %s", code);
        /* Not authenticated yet and refused: close, but after the reply
         * (docs/security.md promises it). */
        if (c->auth && c->auth->pending)
            *close_code = 4001;
        return SC_PERR_UNAUTHORIZED;
    }
    rc = conn_auth_adopt(c, cl);
    if (rc == -EPERM) {
        snprintf(msg, msglen, "a connection keeps its subject; reconnect to change it");
        return SC_PERR_BAD_REQUEST;
    }
    return rc < 0 ? rc : SC_PERR_NONE;
}

/* Names under "<cluster-prefix>:" (the cluster's control channel and
 * anything it may add) and the standalone liveness probe's belong to the
 * node: a client subscribed there would take the probe's confirmations
 * for its own, or read the cluster's messages. A pattern is reserved if
 * it could match any such name. Errors count as reserved. */
static int channel_reserved(const struct sc_server *srv, const char *name, size_t len)
{
    char cluster[80];
    const char *prefixes[2] = {cluster, SC_REDIS_PROBE_PREFIX};
    int pattern = sc_channel_is_pattern(name, len);

    snprintf(cluster, sizeof(cluster), "%s:", srv->cfg->cluster_prefix);
    for (size_t i = 0; i < 2; i++) {
        size_t pl = strlen(prefixes[i]);
        if (pattern ? sc_glob_meets_prefix(name, len, prefixes[i], pl) != 0
                    : len >= pl && memcmp(name, prefixes[i], pl) == 0)
            return 1;
    }
    return 0;
}

int sc_conn_may_subscribe(struct sc_server *srv, const struct sc_jwt_claims *claims,
                          const char *name, size_t len, uint64_t *budget, char *msg,
                          size_t msglen)
{
    int show = (int)(len > 128 ? 128 : len);

    if (sc_auth_may_read(&srv->auth, claims, name, len, budget) < 0) {
        snprintf(msg, msglen, "not allowed to read %.*s", show, name);
        return SC_PERR_FORBIDDEN;
    }
    if (channel_reserved(srv, name, len)) {
        snprintf(msg, msglen, "%.*s %s reserved for the node (names beginning \"%s:\" or \""
                 SC_REDIS_PROBE_PREFIX "\")", show, name,
                 sc_channel_is_pattern(name, len) ? "could match names" : "is",
                 srv->cfg->cluster_prefix);
        return SC_PERR_FORBIDDEN;
    }
    return SC_PERR_NONE;
}

const struct sc_jwt_claims *sc_conn_auth_claims(const struct sc_conn *c)
{
    return c->auth ? c->auth->claims : NULL;
}

const char *sc_conn_auth_subject(const struct sc_conn *c)
{
    return c->auth && c->auth->claims ? c->auth->claims->sub : NULL;
}

void sc_conn_auth_end(struct sc_conn *c)
{
    if (!c->auth)
        return;
    wheel_remove(c->srv, c->auth);
    sc_auth_claims_free(c->auth->claims);
    free(c->auth);
    c->auth = NULL;
}
