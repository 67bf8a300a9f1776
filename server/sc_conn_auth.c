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
#include "sc_access.h"

#define WHEEL_SLOTS 4096 /* seconds; later deadlines wait a lap or more */

struct sc_conn_auth {
    struct sc_jwt_claims *claims; /* NULL: anonymous (or still pending) */
    struct sc_conn *conn;
    struct sc_link wlink;   /* in its deadline's wheel slot */
    int64_t deadline;       /* unix seconds, 0 = none */
    uint16_t deadline_code; /* 4001 pending, 4102 expired */
    unsigned pending : 1;   /* required mode, not authenticated yet */
};

static void wheel_remove(struct sc_hub *hub, struct sc_conn_auth *a)
{
    if (!a->deadline)
        return;
    sc_list_unlink(&hub->auth_wheel[a->deadline % WHEEL_SLOTS], &a->wlink);
    a->deadline = 0;
}

static int wheel_insert(struct sc_hub *hub, struct sc_conn_auth *a, int64_t when, uint16_t code)
{
    /* calloc'ed lists are empty lists. */
    if (!hub->auth_wheel && !(hub->auth_wheel = calloc(WHEEL_SLOTS, sizeof(*hub->auth_wheel))))
        return -ENOMEM;
    wheel_remove(hub, a);
    if (when <= 0)
        when = 1;
    a->deadline = when;
    a->deadline_code = code;
    sc_list_prepend(&hub->auth_wheel[when % WHEEL_SLOTS], &a->wlink);
    return 0;
}

/* Close every connection whose deadline has passed. Runs once a second;
 * visits only the slots of the seconds since the last run. */
void sc_conn_auth_sweep(struct sc_hub *hub)
{
    int64_t now = (int64_t)time(NULL);

    if (!hub->auth_wheel) {
        hub->auth_swept = now;
        return;
    }
    if (!hub->auth_swept || now - hub->auth_swept > WHEEL_SLOTS)
        hub->auth_swept = now - WHEEL_SLOTS;
    for (int64_t s = hub->auth_swept + 1; s <= now; s++) {
        struct sc_link *l = hub->auth_wheel[s % WHEEL_SLOTS].head, *next;
        for (; l; l = next) {
            struct sc_conn_auth *a = sc_container_of(l, struct sc_conn_auth, wlink);
            next = l->next;
            if (a->deadline > now)
                continue;
            uint16_t code = a->deadline_code;
            wheel_remove(hub, a);
            hub->metrics.errors[code == 4102 ? SC_ERR_TOKEN_EXPIRED : SC_ERR_UNAUTHORIZED]++;
            sc_conn_close(a->conn, code);
        }
    }
    hub->auth_swept = now;
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
    wheel_remove(c->hub, a);
    if (cl->exp != INT64_MAX &&
        wheel_insert(c->hub, a, cl->exp + c->hub->auth.opts.leeway, 4102) < 0)
        return -ENOMEM;
    return 0;
}

int sc_conn_auth_start(struct sc_conn *c)
{
    struct sc_hub *hub = c->hub;
    char buf[SC_JWT_MAX_TOKEN + 1];
    const char *tok, *code;
    struct sc_jwt_claims *cl;
    struct sc_conn_auth *a;

    if (!sc_access_take(hub, c->wsi, &cl) && hub->auth.mode != SC_AUTH_OFF &&
        (tok = lws_get_urlarg_by_name(c->wsi, "token=", buf, sizeof(buf)))) {
        /* Only for an upgrade sc_http_confirm_upgrade did not see. */
        if (sc_access_verify(hub, tok, strlen(tok), &cl, &code) < 0) {
            hub->metrics.errors[SC_ERR_UNAUTHORIZED]++;
            sc_conn_close(c, 4001);
            return 0;
        }
    }
    if (hub->auth.mode == SC_AUTH_OFF) {
        sc_auth_claims_free(cl);
        return 0;
    }
    if (cl)
        return conn_auth_adopt(c, cl) == -ENOMEM ? -ENOMEM : 0;
    if (hub->auth.mode != SC_AUTH_REQUIRED)
        return 0;
    /* Required, and no token yet: it must come as the first message. */
    if (!(a = conn_auth(c)))
        return -ENOMEM;
    a->pending = 1;
    return wheel_insert(hub, a, (int64_t)time(NULL) + hub->cfg->handshake_timeout, 4001);
}

int sc_conn_auth_gate(const struct sc_conn *c, enum sc_op op)
{
    if (c->auth && c->auth->pending && op != SC_OP_AUTH && op != SC_OP_PING)
        return SC_PERR_UNAUTHORIZED;
    if (op == SC_OP_AUTH && c->hub->auth.mode == SC_AUTH_OFF)
        return SC_PERR_UNAUTHORIZED;
    return SC_PERR_NONE;
}

int sc_conn_auth_request(struct sc_conn *c, const struct sc_request *req, char *msg, size_t msglen,
                         uint16_t *close_code)
{
    struct sc_hub *hub = c->hub;
    struct sc_jwt_claims *cl;
    const char *code;
    int rc;

    *close_code = 0;
    if (hub->auth.mode == SC_AUTH_OFF) {
        snprintf(msg, msglen, "this node does not use tokens (--auth off)");
        return SC_PERR_UNAUTHORIZED;
    }
    if (sc_access_verify(hub, req->token, req->token_len, &cl, &code) < 0) {
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
    wheel_remove(c->hub, c->auth);
    sc_auth_claims_free(c->auth->claims);
    free(c->auth);
    c->auth = NULL;
}
