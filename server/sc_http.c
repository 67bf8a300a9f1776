/* sc_http: plain HTTP on the node's port: /healthz, /metrics, the demo
 * page from the web root, and the checks that admit or refuse a WebSocket
 * upgrade. The node speaks HTTP/1.1 only (sc_server.c offers no h2). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "sc_http.h"

#include "sc_access.h"
#include "sc_acl.h"
#include "sc_handshake.h"
#include "sc_hub.h"
#include "sc_json.h"
#include "sc_log.h"
#include "sc_names.h"
#include "sc_rxgate.h"

/* Room for any one query parameter: lws keeps at most this many bytes of
 * request head (max_http_header_data in sc_server.c). A smaller buffer is
 * not enough even for a short parameter: lws_get_urlarg_by_name() stops
 * looking at the first parameter that does not fit. */
#define QUERY_ARG_MAX 4096

/* The status line. lws would write the request's HTTP version, which it
 * records only for requests that are not upgrades (so "HTTP/1.0" there),
 * and no reason phrase for 426; RFC 7230 section 2.6 asks for the
 * server's own version, HTTP/1.1. */
static int http_status_line(struct lws *wsi, unsigned status, unsigned char **p, unsigned char *end)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "HTTP/1.1 %u %s", status, sc_hs_reason_phrase(status));

    return lws_add_http_header_by_name(wsi, NULL, (const unsigned char *)line, n, p, end);
}

/* Write a whole small response. Returns what the callback must return:
 * nonzero when lws should close the connection. */
static int http_respond(struct lws *wsi, unsigned status, const char *ctype, const char *body,
                        size_t len)
{
    unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start;
    unsigned char *end = hdr + sizeof(hdr) - 1;

    if (http_status_line(wsi, status, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, (const unsigned char *)ctype,
                                     (int)strlen(ctype), &p, end) ||
        lws_add_http_header_content_length(wsi, (lws_filepos_t)len, &p, end) ||
        (status == 405 && lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
                                                      (const unsigned char *)"GET", 3, &p, end)) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    if (len) {
        /* lws_write() wants LWS_PRE writable bytes in front of the body. */
        struct sc_buf b;
        sc_buf_init(&b);
        sc_buf_reserve(&b, LWS_PRE + len);
        if (sc_buf_failed(&b))
            return 1;
        memcpy(b.data + LWS_PRE, body, len);
        int n = lws_write(wsi, (unsigned char *)b.data + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
        sc_buf_free(&b);
        if (n < 0)
            return 1;
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_text(struct lws *wsi, unsigned status, const char *text)
{
    return http_respond(wsi, status, "text/plain; charset=utf-8", text, strlen(text));
}

static int http_healthz(struct lws *wsi, struct sc_hub *hub)
{
    struct sc_hub_status st;
    struct sc_buf b;
    int rc;

    hub->ops->status(hub, &st);
    sc_buf_init(&b);
    sc_buf_printf(&b,
                  "{\"status\":\"%s\",\"redis\":\"%s\",\"connections\":%llu,"
                  "\"subscriptions\":%llu,\"channels\":%llu,\"patterns\":%llu,"
                  "\"uptime_s\":%.0f}\n",
                  hub->stopping ? "stopping"
                  : st.healthy  ? "ok"
                                : "degraded",
                  st.redis, (unsigned long long)st.gauges.connections,
                  (unsigned long long)st.gauges.subscriptions,
                  (unsigned long long)st.gauges.channels, (unsigned long long)st.gauges.patterns,
                  st.gauges.uptime_s);
    rc = sc_buf_failed(&b)
             ? 1
             : http_respond(wsi, st.healthy ? 200 : 503, "application/json", b.data, b.len);
    sc_buf_free(&b);
    return rc;
}

static int http_metrics(struct lws *wsi, struct sc_hub *hub)
{
    struct sc_hub_status st;
    struct sc_buf b;
    int rc;

    hub->ops->status(hub, &st);
    sc_buf_init(&b);
    sc_metrics_render(&hub->metrics, &st.gauges, &b);
    rc = sc_buf_failed(&b) ? 1 : http_respond(wsi, 200, "text/plain; version=0.0.4", b.data, b.len);
    sc_buf_free(&b);
    return rc;
}

static int http_json_body(struct lws *wsi, unsigned status, struct sc_buf *b)
{
    int rc = sc_buf_failed(b) ? 1 : http_respond(wsi, status, "application/json", b->data, b->len);
    sc_buf_free(b);
    return rc;
}

/* GET /route?key=K: the shard that owns K. 404 on a standalone node or
 * while no shard is in the map; 400 for a bad key. */
static int http_route(struct lws *wsi, struct sc_hub *hub)
{
    char buf[QUERY_ARG_MAX];
    const char *k = lws_get_urlarg_by_name(wsi, "key=", buf, sizeof(buf));
    struct sc_buf b;
    int rc;

    sc_buf_init(&b);
    if (!hub->ops->route_json) {
        sc_buf_append_str(&b, "{\"error\":\"not_clustered\"}\n");
        return http_json_body(wsi, 404, &b);
    }
    rc = k ? hub->ops->route_json(hub, k, strlen(k), &b) : -EINVAL;
    if (rc == -EINVAL)
        sc_buf_append_str(&b, "{\"error\":\"bad_key\"}\n");
    else if (rc == -ENOENT)
        sc_buf_append_str(&b, "{\"error\":\"no_shards\"}\n");
    return http_json_body(wsi, rc == 0 ? 200 : rc == -EINVAL ? 400 : 404, &b);
}

static int http_shards(struct lws *wsi, struct sc_hub *hub)
{
    struct sc_buf b;

    sc_buf_init(&b);
    if (!hub->ops->shards_json) {
        sc_buf_append_str(&b, "{\"error\":\"not_clustered\"}\n");
        return http_json_body(wsi, 404, &b);
    }
    hub->ops->shards_json(hub, &b);
    return http_json_body(wsi, 200, &b);
}

/* Answer with status and the plain-text reason why, then close: the whole
 * response is built here (sc_hs_response) and written as raw bytes, since
 * during an upgrade lws would start it with "HTTP/1.0". Returns -1, what
 * the callback returns for lws to close the connection once it has sent
 * what it holds. */
static int http_close_with(struct lws *wsi, unsigned status, const char *why)
{
    unsigned char buf[LWS_PRE + 1024];
    size_t n = sc_hs_response((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE, status, why);

    if (n)
        (void)lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP);
    return -1;
}

/* Refuse an upgrade, counted under kind. Returns -1 (close). */
static int upgrade_refuse(struct lws *wsi, unsigned status, const char *why, enum sc_err_kind kind)
{
    sc_hub_of(wsi)->metrics.errors[kind]++;
    return http_close_with(wsi, status, why);
}

/* RFC 6455 section 4.2.1: what an opening handshake must hold. Checked here,
 * before lws acts on it, because lws 4.1 (lws_process_ws_upgrade() and
 * handshake_0405() in lib/roles/ws/server-ws.c) ignores the version,
 * accepts HTTP/1.0 and any key, and drops the connection without a word
 * when Host, "Connection: Upgrade", the key or a subprotocol it knows is
 * missing, or a list it reads is not to its liking (sc_hs_token_list).
 * Returns NULL, or the reason to refuse with (*status). */
static const char *upgrade_check_rfc6455(struct lws *wsi, const char *proto, unsigned *status)
{
    char v[512];
    int n;

    *status = 400;
    /* lws itself refuses other Upgrade values than these two (403). */
    if (!proto || strcasecmp(proto, "websocket"))
        return "only WebSocket upgrades are served\n";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
        return "bad_request: a WebSocket upgrade is a GET request\n";
    n = lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_HTTP);
    if (n < 0 || !sc_hs_http11(v, (size_t)n))
        return "bad_request: a WebSocket upgrade needs HTTP/1.1\n";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HOST) <= 0)
        return "bad_request: missing Host header\n";
    n = lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_CONNECTION);
    if (n < 0 || !sc_hs_connection_ok(v, (size_t)n))
        return "bad_request: the Connection header must be a token list with Upgrade\n";
    n = lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_VERSION);
    if (n < 0 || !sc_hs_version_13(v, (size_t)n)) {
        *status = 426;
        return "Sec-WebSocket-Version must be 13\n";
    }
    n = lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_KEY);
    if (n < 0 || !sc_hs_key_valid(v, (size_t)n))
        return "bad_request: Sec-WebSocket-Key must be the base64 of 16 bytes\n";
    /* The node offers no extension, but lws 4.1 walks the list anyway
     * (lws_extension_server_handshake()) and fails the handshake, without
     * a word, once it is 255 bytes long. */
    if (lws_hdr_total_length(wsi, WSI_TOKEN_EXTENSIONS) > 0 &&
        ((n = lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_EXTENSIONS)) < 0 || n > 254))
        return "bad_request: Sec-WebSocket-Extensions longer than 254 bytes\n";
    /* lws binds the first name it knows: "http" would make this a
     * WebSocket on the HTTP callback, outside every count and check. */
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) > 0 &&
        ((n = lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_PROTOCOL)) < 0 ||
         !sc_hs_subprotocol_ok(v, (size_t)n)))
        return "bad_request: Sec-WebSocket-Protocol must offer " SC_HS_SUBPROTOCOL "\n";
    return NULL;
}

static const char *upgrade_origin(struct lws *wsi, char *buf, size_t len)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
        return NULL;
    /* An Origin too long for buf cannot be on the list: compare "". */
    if (lws_hdr_copy(wsi, buf, (int)len, WSI_TOKEN_ORIGIN) < 0)
        buf[0] = 0;
    return buf;
}

/* ?token=: verified here so a bad token is refused with 401 before the
 * upgrade. In required mode a connection may come without one and send
 * {"op":"auth"} first; ?channels= then needs the token in the URL. */
static int upgrade_check_token(struct lws *wsi, struct sc_hub *hub, struct sc_jwt_claims **claims,
                               char *msg, size_t msglen)
{
    char buf[SC_JWT_MAX_TOKEN + 1];
    const char *tok, *code;

    *claims = NULL;
    if (hub->auth.mode == SC_AUTH_OFF)
        return 0;
    tok = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof(buf));
    if (!tok) {
        if (hub->auth.mode == SC_AUTH_REQUIRED &&
            lws_get_urlarg_by_name(wsi, "channels=", buf, sizeof(buf))) {
            snprintf(msg, msglen, "unauthorized: ?channels= needs ?token= in --auth required\n");
            return -EACCES;
        }
        return 0;
    }
    if (sc_access_verify(hub, tok, strlen(tok), claims, &code) < 0) {
        snprintf(msg, msglen, "unauthorized: %s\n", code);
        return -EACCES;
    }
    return 0;
}

/* ?channels= split and checked exactly as the connection will subscribe
 * it (sc_access_url_channels, sc_access_may_subscribe), so a list that would
 * fail fails the handshake instead. Returns 0, -EACCES (403: forbidden or
 * reserved), -ENOMEM, or -1 (400: bad_channel, too_many_channels), with
 * the reason in msg. */
static int upgrade_check_channels(struct lws *wsi, struct sc_hub *hub,
                                  const struct sc_jwt_claims *claims, char *msg, size_t msglen)
{
    char buf[SC_URL_ARG_MAX], why[256];
    struct sc_name *names;
    size_t count;
    uint64_t budget = SC_GLOB_MAX_WORK;
    int rc = sc_access_url_channels(wsi, &hub->limits, buf, sizeof(buf), &names, &count, why,
                                    sizeof(why));

    for (size_t i = 0; rc == SC_PERR_NONE && i < count; i++)
        rc = sc_access_may_subscribe(hub, claims, names[i].p, names[i].len, &budget, why,
                                     sizeof(why));
    free(names);
    if (rc == SC_PERR_NONE)
        return 0;
    if (rc < 0) {
        snprintf(msg, msglen, "out of memory");
        return rc;
    }
    snprintf(msg, msglen, "%s: %s%s", sc_perr_code((enum sc_perr)rc), why,
             rc == SC_PERR_FORBIDDEN ? "\n" : "");
    return rc == SC_PERR_FORBIDDEN ? -EACCES : -1;
}

static int upgrade_check_key(struct lws *wsi)
{
    char buf[QUERY_ARG_MAX];
    const char *k = lws_get_urlarg_by_name(wsi, "key=", buf, sizeof(buf));

    return !k || sc_key_valid(k, strlen(k)) ? 0 : -1;
}

int sc_http_confirm_upgrade(struct lws *wsi, const char *proto)
{
    struct sc_hub *hub = sc_hub_of(wsi);
    char uri[64], msg[300], origin[256];
    struct sc_jwt_claims *claims = NULL;
    const char *why;
    unsigned status;
    int rc;

    if ((why = upgrade_check_rfc6455(wsi, proto, &status)))
        return upgrade_refuse(wsi, status, why, SC_ERR_REJECTED_REQUEST);
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0 || strcmp(uri, "/ws"))
        return upgrade_refuse(wsi, 404, "WebSocket endpoint is /ws\n", SC_ERR_REJECTED_REQUEST);
    if (hub->stopping || hub->nconns >= hub->max_conns)
        return upgrade_refuse(wsi, 503, "node is at its connection limit\n", SC_ERR_REJECTED_FULL);
    if (upgrade_check_key(wsi) < 0)
        return upgrade_refuse(wsi, 400, "bad_key: 1-128 printable ASCII bytes\n",
                              SC_ERR_REJECTED_REQUEST);
    if (!sc_auth_origin_ok(&hub->auth, upgrade_origin(wsi, origin, sizeof(origin))))
        return upgrade_refuse(wsi, 403, "origin not allowed\n", SC_ERR_ORIGIN);
    if ((rc = upgrade_check_token(wsi, hub, &claims, msg, sizeof(msg))) < 0)
        return upgrade_refuse(wsi, 401, msg, SC_ERR_UNAUTHORIZED);
    rc = upgrade_check_channels(wsi, hub, claims, msg, sizeof(msg));
    if (rc == 0) {
        /* ESTABLISHED follows within this call: it takes the claims. */
        sc_access_handover(hub, wsi, claims);
        return 0;
    }
    sc_auth_claims_free(claims);
    if (rc == -ENOMEM)
        return upgrade_refuse(wsi, 503, "out of memory\n", SC_ERR_ALLOC);
    if (rc == -EACCES)
        return upgrade_refuse(wsi, 403, msg, SC_ERR_FORBIDDEN);
    if (rc < 0) {
        strncat(msg, "\n", sizeof(msg) - strlen(msg) - 1);
        return upgrade_refuse(wsi, 400, msg, SC_ERR_REJECTED_REQUEST);
    }
    return 0;
}

static const char *mime_of(const char *path)
{
    static const char *const map[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');

    for (size_t i = 0; dot && i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(dot, map[i][0]))
            return map[i][1];
    return "application/octet-stream";
}

/* path, resolved, if it names a regular file inside the web root, also
 * resolved: a symlink may point anywhere inside the root, never out of
 * it. Returns 0 with the resolved name in out (PATH_MAX bytes), or -1. */
static int file_in_root(const char *root, const char *path, char *out)
{
    char rroot[PATH_MAX];
    struct stat st;
    size_t n;

    if (!realpath(root, rroot) || !realpath(path, out))
        return -1;
    n = strlen(rroot);
    /* "/" as the root holds every path; else out must be below rroot/. */
    if (n > 1 && (strncmp(out, rroot, n) || out[n] != '/'))
        return -1;
    return stat(out, &st) == 0 && S_ISREG(st.st_mode) ? 0 : -1;
}

/* Serve a file from the web root. Only plain names (letters, digits, and
 * "-_./", no "..") are looked up, and what they resolve to must be a file
 * inside the root (symlinks followed), else 404. The lws file mount is not
 * used: in this lws a missing file there leaves the request hanging until
 * the timeout instead of answering 404. */
static int http_file(struct lws *wsi, struct sc_hub *hub, const char *uri)
{
    char path[sizeof(hub->web_root) + 128], real[PATH_MAX];
    int n;

    if (!strcmp(uri, "/"))
        uri = "/index.html";
    if (!hub->web_root[0] || strlen(uri) > 100 || strstr(uri, ".."))
        return http_text(wsi, 404, "not found\n");
    for (const char *p = uri; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-_./", *p))
            return http_text(wsi, 404, "not found\n");
    snprintf(path, sizeof(path), "%s%s", hub->web_root, uri);
    /* Served by its resolved name, so a link swapped after the check is
     * not followed out of the root. */
    if (file_in_root(hub->web_root, path, real) < 0)
        return http_text(wsi, 404, "not found\n");
    n = lws_serve_http_file(wsi, real, mime_of(real), NULL, 0);
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
        return -1;
    return 0;
}

/* accept() has just returned fd. At the ceiling the process is about to
 * run out of descriptors: refuse this one now (lws closes it) so that the
 * next accept() does not fail with EMFILE, which lws 4.1 retries at once,
 * forever, with the listener still readable. Below it, the read hook
 * (sc_rxgate.c) starts checking what the socket sends. */
static int http_filter_fd(struct sc_hub *hub, int fd)
{
    char full[256];
    size_t n;

    if (fd < hub->fd_ceiling) {
        if (sc_rxgate_accept(fd) == 0)
            return 0;
        hub->metrics.errors[SC_ERR_ALLOC]++;
        return 1;
    }
    /* Best effort: the socket is new, its send buffer empty. */
    n = sc_hs_response(full, sizeof(full), 503, "node is at its connection limit\n");
    (void)!send(fd, full, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    hub->metrics.errors[SC_ERR_REJECTED_FULL]++;
    return 1;
}

int sc_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    char uri[128];

    (void)user;
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return http_filter_fd(sc_hub_of(wsi), (int)(intptr_t)in);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        if (sc_http_confirm_upgrade(wsi, in) == 0)
            return 0;
        /* Refused, and answered: another request may follow. */
        sc_rxgate_http(lws_get_socket_fd(wsi));
        return 1;
    case LWS_CALLBACK_HTTP:
        /* Served as plain HTTP: another request may follow. */
        sc_rxgate_http(lws_get_socket_fd(wsi));
        /* lws_hdr_copy() gives 0, not -1, when there is no GET URI. */
        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
            return http_text(wsi, 405, "GET only\n");
        if (!strcmp(uri, "/healthz"))
            return http_healthz(wsi, sc_hub_of(wsi));
        if (!strcmp(uri, "/metrics"))
            return http_metrics(wsi, sc_hub_of(wsi));
        if (!strcmp(uri, "/route"))
            return http_route(wsi, sc_hub_of(wsi));
        if (!strcmp(uri, "/shards"))
            return http_shards(wsi, sc_hub_of(wsi));
        if (!strcmp(uri, "/ws"))
            return http_close_with(wsi, 426, "connect with a WebSocket client\n");
        return http_file(wsi, sc_hub_of(wsi), uri);
    default: return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
