/* sc_handshake: pure checks of the WebSocket opening handshake. */
#include "sc_handshake.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sc_uri.h"

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Trim optional whitespace (RFC 7230 OWS) from both ends of v[0..*len). */
static const char *trim(const char *v, size_t *len)
{
    size_t n = *len;

    while (n && is_ows(*v)) {
        v++;
        n--;
    }
    while (n && is_ows(v[n - 1]))
        n--;
    *len = n;
    return v;
}

int sc_hs_http11(const char *v, size_t len)
{
    return len == 8 && !memcmp(v, "HTTP/1.", 7) && v[7] >= '1' && v[7] <= '9';
}

int sc_hs_version_13(const char *v, size_t len)
{
    v = trim(v, &len);
    return len == 2 && v[0] == '1' && v[1] == '3';
}

static int is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

int sc_hs_key_valid(const char *v, size_t len)
{
    v = trim(v, &len);
    /* 16 bytes are 128 bits: 21 characters of 6 bits, one of 2, "==". */
    if (len != 24 || v[22] != '=' || v[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (!is_b64(v[i]))
            return 0;
    return 1;
}

/* Calls each(elem, elen, arg) for the elements of the list v[0..len),
 * trimmed; stops at and returns the first nonzero result. */
static int list_walk(const char *v, size_t len, int (*each)(const char *, size_t, const void *),
                     const void *arg)
{
    while (1) {
        const char *comma = memchr(v, ',', len);
        size_t l = comma ? (size_t)(comma - v) : len, el = l;
        const char *e = trim(v, &el);
        int rc = each(e, el, arg);

        if (rc || !comma)
            return rc;
        v += l + 1;
        len -= l + 1;
    }
}

struct want {
    const char *token;
    int nocase;
};

static int elem_is(const char *e, size_t el, const void *arg)
{
    const struct want *w = arg;

    if (el != strlen(w->token))
        return 0;
    return w->nocase ? !strncasecmp(e, w->token, el) : !memcmp(e, w->token, el);
}

int sc_hs_list_has(const char *v, size_t len, const char *token, int nocase)
{
    struct want w = {token, nocase};

    return list_walk(v, len, elem_is, &w) > 0;
}

/* RFC 7230 tchar. */
static int is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* -1 for an element lws's tokenizer would stop at: not a token, only
 * digits and dots (a number to it), or too long for its 64-byte name
 * buffers (63 bytes and a NUL). */
static int elem_bad(const char *e, size_t el, const void *arg)
{
    size_t digits = 0;

    (void)arg;
    if (!el || el >= 63)
        return -1;
    for (size_t i = 0; i < el; i++) {
        if (!is_tchar((unsigned char)e[i]))
            return -1;
        digits += (e[i] >= '0' && e[i] <= '9') || e[i] == '.';
    }
    return digits == el ? -1 : 0;
}

int sc_hs_token_list(const char *v, size_t len)
{
    return list_walk(v, len, elem_bad, NULL) == 0;
}

int sc_hs_connection_ok(const char *v, size_t len)
{
    return sc_hs_token_list(v, len) && sc_hs_list_has(v, len, "upgrade", 1);
}

int sc_hs_subprotocol_ok(const char *v, size_t len)
{
    return sc_hs_token_list(v, len) && !sc_hs_list_has(v, len, "http", 0) &&
           sc_hs_list_has(v, len, SC_HS_SUBPROTOCOL, 0);
}

const char *sc_hs_reason_phrase(unsigned status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : "OK";
    }
}

size_t sc_hs_response(char *out, size_t cap, unsigned status, const char *body)
{
    const char *upgrade = status == 426   ? "Sec-WebSocket-Version: 13\r\n"
                                            "Upgrade: websocket\r\n"
                                            "Connection: Upgrade, close\r\n"
                          : status == 405 ? "Allow: GET\r\nConnection: close\r\n"
                                          : "Connection: close\r\n";
    int n;

    if (!body)
        body = "";
    n = snprintf(out, cap,
                 "HTTP/1.1 %u %s\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n"
                 "Content-Length: %zu\r\n"
                 "Cache-Control: no-store\r\n"
                 "%s"
                 "\r\n"
                 "%s",
                 status, sc_hs_reason_phrase(status), strlen(body), upgrade, body);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Scanner states. */
enum {
    ST_METHOD, /* the method; n = its length, match = methods it may be */
    ST_PATH,   /* path part of the target; n = 0 before its first byte */
    ST_NAME,   /* a query parameter's name */
    ST_VALUE,  /* its value */
    ST_PCT1,   /* after '%' */
    ST_PCT2,   /* after '%' and one hex digit */
    ST_LINE,   /* rest of the request line (the version) */
    ST_HEAD,   /* header lines; n = line ends in a row, hp = name matched */
    ST_UPVAL,  /* an Upgrade header's value; hp = its length so far */
    ST_DONE,   /* not a request, or a verdict given: stop */
};

/* The names whose bad escapes get their own reason, in bit order. */
static const char *const names[] = {"channels", "key"};
/* The methods lws 4.1 knows (methods[] in lib/roles/http/parsers.c, built
 * with LWS_WITH_HTTP_UNCOMMON_HEADERS), matched without case as lws does;
 * anything else makes it answer its own 403 page. CONNECT is last. */
static const char *const methods[] = {"get",   "post",   "options", "put",
                                      "patch", "delete", "head",    "connect"};
#define METHOD_CONNECT (1u << 7)
/* The Upgrade values lws takes (lws_handshake_server(), strcasecmp). */
static const char *const upgrades[] = {"websocket", "h2c"};
static const char upgrade_name[] = "upgrade:";

#define HP_NONE 0xFF /* this header line is not an Upgrade */
#define UP_SEEN 1    /* an Upgrade header came */
#define UP_BAD 2     /* one lws would refuse, or a second one */
#define UP_VALUE 4   /* past the spaces before its value */
#define UP_CONNECT 8 /* the method is CONNECT */

static void method_start(struct sc_hs_scan *s)
{
    s->state = ST_METHOD;
    s->n = s->up = 0;
    s->match = (uint8_t)((1u << (sizeof(methods) / sizeof(methods[0]))) - 1);
}

void sc_hs_scan_init(struct sc_hs_scan *s)
{
    memset(s, 0, sizeof(*s));
    method_start(s);
}

static void name_start(struct sc_hs_scan *s)
{
    s->state = ST_NAME;
    s->n = 0;
    s->match = (1u << (sizeof(names) / sizeof(names[0]))) - 1;
}

/* One decoded byte of a parameter name. */
static void name_add(struct sc_hs_scan *s, unsigned char c)
{
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if ((s->match & (1u << i)) && (s->n >= strlen(names[i]) || names[i][s->n] != c))
            s->match &= (uint8_t) ~(1u << i);
    if (s->n < UINT8_MAX)
        s->n++;
}

static enum sc_hs_param name_end(const struct sc_hs_scan *s)
{
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if ((s->match & (1u << i)) && s->n == strlen(names[i]))
            return (enum sc_hs_param)(SC_HS_PARAM_CHANNELS + i);
    return SC_HS_PARAM_OTHER;
}

/* Where the request target ends: the version follows, or (no version)
 * the header lines. */
static int target_end(struct sc_hs_scan *s, unsigned char c)
{
    if (c == ' ')
        s->state = ST_LINE;
    else if (c == '\r' || c == '\n') {
        s->state = ST_HEAD;
        s->n = c == '\n';
        s->hp = c == '\n' ? 0 : HP_NONE;
    } else
        return 0;
    return 1;
}

/* A target byte outside an escape. lws decodes the target the same way:
 * an unescaped '?' starts the query, '&' and ';' separate parameters,
 * '=' ends a name, '+' is a space. */
static void target_byte(struct sc_hs_scan *s, unsigned char c)
{
    if (s->state == ST_PATH && !s->n) {
        if (c == ' ')
            return; /* lws skips spaces before the target */
        s->n = 1;
    }
    if (target_end(s, c))
        return;
    if (c == '%') {
        s->ret = s->state;
        s->state = ST_PCT1;
        return;
    }
    if (s->state == ST_PATH) {
        if (c == '?')
            name_start(s);
    } else if (c == '&' || c == ';') {
        name_start(s);
    } else if (s->state == ST_NAME) {
        if (c == '=') {
            s->param = (uint8_t)name_end(s);
            s->state = ST_VALUE;
        } else
            name_add(s, c == '+' ? ' ' : c);
    }
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 'a' - 'A') : c;
}

/* A byte of a header line: finds Upgrade lines (lws matches header names
 * without case) and the empty line that ends the head. Returns 0, or
 * SC_HS_BAD_UPGRADE at the end of a head with a bad Upgrade. */
static int head_byte(struct sc_hs_scan *s, unsigned char c)
{
    if (c == '\n') {
        s->hp = 0;
        if (++s->n < 2)
            return 0;
        if (s->up & UP_BAD)
            return SC_HS_BAD_UPGRADE;
        if (s->up & UP_CONNECT)
            return SC_HS_METHOD; /* lws would make the socket raw */
        /* After an upgrade request the connection is a WebSocket, or
         * refused and closed: what follows are frames, not requests. */
        if (s->up & UP_SEEN)
            s->state = ST_DONE;
        else
            method_start(s);
        return 0;
    }
    if (c == '\r')
        return 0;
    s->n = 0;
    if (s->hp == HP_NONE)
        return 0;
    if (lower(c) != (unsigned char)upgrade_name[s->hp]) {
        s->hp = HP_NONE;
    } else if (++s->hp == sizeof(upgrade_name) - 1) {
        s->state = ST_UPVAL;
        s->hp = 0;
        s->match = (1u << (sizeof(upgrades) / sizeof(upgrades[0]))) - 1;
        s->up &= (uint8_t)~UP_VALUE;
    }
    return 0;
}

/* A byte of an Upgrade header's value: lws skips the spaces before it and
 * compares the rest, to the end of the line, without case. */
static void upgrade_byte(struct sc_hs_scan *s, unsigned char c)
{
    if (c == '\r' || c == '\n') {
        int ok = 0;

        for (unsigned i = 0; i < sizeof(upgrades) / sizeof(upgrades[0]); i++)
            if ((s->match & (1u << i)) && s->hp == strlen(upgrades[i]))
                ok = 1;
        if (!ok || (s->up & UP_SEEN))
            s->up |= UP_BAD;
        s->up |= UP_SEEN;
        s->state = ST_HEAD;
        s->n = 0;
        s->hp = HP_NONE;
        head_byte(s, c);
        return;
    }
    if (c == ' ' && !(s->up & UP_VALUE))
        return;
    s->up |= UP_VALUE;
    for (unsigned i = 0; i < sizeof(upgrades) / sizeof(upgrades[0]); i++)
        if ((s->match & (1u << i)) &&
            (s->hp >= strlen(upgrades[i]) || (unsigned char)upgrades[i][s->hp] != lower(c)))
            s->match &= (uint8_t) ~(1u << i);
    if (s->hp < UINT8_MAX)
        s->hp++;
}

/* A byte of the method. lws reads it without case against the methods it
 * knows and answers its own 403 at the first byte that fits none (an
 * unknown method, or bytes that are no request at all); CONNECT it turns
 * into a raw socket that no timeout closes. Returns 0 or a verdict. */
static int method_byte(struct sc_hs_scan *s, unsigned char c)
{
    unsigned n = sizeof(methods) / sizeof(methods[0]);

    if ((c == '\r' || c == '\n') && !s->n)
        return 0; /* empty lines before a request are allowed */
    if (c == ' ' && s->n) {
        for (unsigned i = 0; i < n; i++)
            if ((s->match & (1u << i)) && s->n == strlen(methods[i])) {
                if ((1u << i) == METHOD_CONNECT)
                    s->up |= UP_CONNECT;
                s->state = ST_PATH;
                s->n = 0;
                return 0;
            }
        return SC_HS_METHOD;
    }
    if (lower(c) < 'a' || lower(c) > 'z')
        return SC_HS_NOT_HTTP;
    for (unsigned i = 0; i < n; i++)
        if ((s->match & (1u << i)) &&
            (s->n >= strlen(methods[i]) || (unsigned char)methods[i][s->n] != lower(c)))
            s->match &= (uint8_t) ~(1u << i);
    s->n++;
    return s->match ? 0 : SC_HS_METHOD;
}

/* One byte outside the target. Returns 0 or a verdict. */
static int line_byte(struct sc_hs_scan *s, unsigned char c)
{
    switch (s->state) {
    case ST_METHOD: return method_byte(s, c);
    case ST_LINE:
        if (c == '\n') {
            s->state = ST_HEAD;
            s->n = 1;
            s->hp = 0;
        }
        return 0;
    case ST_UPVAL: upgrade_byte(s, c); return 0;
    default: return head_byte(s, c);
    }
}

enum sc_hs_verdict sc_hs_scan_feed(struct sc_hs_scan *s, const unsigned char *p, size_t len,
                                   size_t *at, enum sc_hs_param *param)
{
    for (size_t i = 0; i < len && s->state != ST_DONE; i++) {
        unsigned char c = p[i];
        enum sc_hs_verdict v = SC_HS_FINE;
        int h;

        switch (s->state) {
        case ST_PATH:
        case ST_NAME:
        case ST_VALUE: target_byte(s, c); continue;
        case ST_PCT1:
            if ((h = sc_uri_hex_value(c)) < 0) {
                v = SC_HS_BAD_ESCAPE;
                break;
            }
            s->hi = (uint8_t)h;
            s->state = ST_PCT2;
            continue;
        case ST_PCT2:
            if ((h = sc_uri_hex_value(c)) < 0) {
                v = SC_HS_BAD_ESCAPE;
                break;
            }
            if (!(h = s->hi << 4 | h)) {
                v = SC_HS_NUL;
                break;
            }
            s->state = s->ret;
            /* An escaped '=' or '&' is part of the name (lws makes '='
             * a '_'); either way the name is no longer one we know. */
            if (s->state == ST_NAME)
                name_add(s, (unsigned char)h);
            continue;
        default:
            if (!(h = line_byte(s, c)))
                continue;
            v = (enum sc_hs_verdict)h;
            s->ret = ST_DONE; /* in no parameter */
            break;
        }
        *at = i;
        *param = s->ret == ST_VALUE ? (enum sc_hs_param)s->param : SC_HS_PARAM_OTHER;
        s->state = ST_DONE;
        return v;
    }
    return SC_HS_FINE;
}

unsigned sc_hs_verdict_status(enum sc_hs_verdict v)
{
    return v == SC_HS_METHOD ? 405 : 400;
}

const char *sc_hs_verdict_reason(enum sc_hs_verdict v, enum sc_hs_param param)
{
    static const char *const bad[] = {
        [SC_HS_PARAM_OTHER] = "bad_request: invalid percent-escape in the request target "
                              "('%' must be followed by two hex digits)\n",
        [SC_HS_PARAM_CHANNELS] = "bad_channel: invalid percent-escape in ?channels= "
                                 "('%' must be followed by two hex digits)\n",
        [SC_HS_PARAM_KEY] = "bad_key: invalid percent-escape in ?key= "
                            "('%' must be followed by two hex digits)\n",
    };
    static const char *const nul[] = {
        [SC_HS_PARAM_OTHER] = "bad_request: %00 (NUL) in the request target\n",
        [SC_HS_PARAM_CHANNELS] = "bad_channel: %00 (NUL) in ?channels=\n",
        [SC_HS_PARAM_KEY] = "bad_key: %00 (NUL) in ?key=\n",
    };

    if (v == SC_HS_BAD_UPGRADE)
        return "only WebSocket upgrades are served\n";
    if (v == SC_HS_METHOD)
        return "GET only\n";
    if (v == SC_HS_NOT_HTTP)
        return "bad_request: not an HTTP/1.1 request\n";
    if ((unsigned)param > SC_HS_PARAM_KEY)
        param = SC_HS_PARAM_OTHER;
    return v == SC_HS_NUL ? nul[param] : bad[param];
}
