/* Fuzz target: the pure parts of the opening handshake (server/sc_handshake.h).
 *
 * Input: any bytes, read five ways: as a raw stream from a client (the
 * request-head scanner), as a request target put into a request line, as
 * the value of an Upgrade header (byte 0 bit 0: sent twice), as a method,
 * and as a header value (the key, version, Connection and subprotocol
 * checks, and a refusal's body).
 *
 * Beyond "no crash", each result is compared with a reading written here
 * from the rules (RFC 6455 4.2.1, RFC 3986 percent-encoding, lws's query
 * decoding as docs/protocol.md describes it), not from the code under
 * test: the scanner's verdict on a target against a whole-string decode,
 * the same verdict however the stream is cut into reads, and refusals that
 * are well-formed HTTP/1.1. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sc_handshake.h"

#define TARGET_MAX 1024

static int hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

struct ref_verdict {
    enum sc_hs_verdict v;
    size_t at; /* offset in the target; len = the byte after it */
    enum sc_hs_param param;
};

/* The query parameter the byte at i of t is in, the query starting at
 * q (just after the first '?'): its name, percent-decoded with '+' as
 * space, is "channels" or "key" and i is past its first unescaped '='. */
static enum sc_hs_param ref_param(const unsigned char *t, size_t q, size_t i)
{
    size_t start = i, eq = (size_t)-1;
    char name[16];
    size_t n = 0;

    while (start > q && t[start - 1] != '&' && t[start - 1] != ';')
        start--;
    for (size_t j = start; j < i; j++)
        if (t[j] == '=') {
            eq = j;
            break;
        }
    if (eq == (size_t)-1)
        return SC_HS_PARAM_OTHER; /* in the name */
    for (size_t j = start; j < eq && n < sizeof(name); j++) {
        if (t[j] == '%') { /* valid here: the first bad escape is at i */
            name[n++] = (char)(hex(t[j + 1]) << 4 | hex(t[j + 2]));
            j += 2;
        } else
            name[n++] = t[j] == '+' ? ' ' : (char)t[j];
    }
    if (n == 8 && !memcmp(name, "channels", 8))
        return SC_HS_PARAM_CHANNELS;
    if (n == 3 && !memcmp(name, "key", 3))
        return SC_HS_PARAM_KEY;
    return SC_HS_PARAM_OTHER;
}

/* The first bad escape or %00 in target t[0..len) (no space, CR or LF). */
static struct ref_verdict ref_target(const unsigned char *t, size_t len)
{
    struct ref_verdict r = {SC_HS_FINE, 0, SC_HS_PARAM_OTHER};
    const unsigned char *q = memchr(t, '?', len);

    for (size_t i = 0; i < len; i++) {
        if (t[i] != '%')
            continue;
        size_t bad = i + 1 >= len || hex(t[i + 1]) < 0   ? i + 1
                     : i + 2 >= len || hex(t[i + 2]) < 0 ? i + 2
                                                         : 0;
        if (bad || (!hex(t[i + 1]) && !hex(t[i + 2]))) {
            r.v = bad ? SC_HS_BAD_ESCAPE : SC_HS_NUL;
            r.at = bad ? bad : i + 2;
            /* An escape is in the query if an unescaped '?' came first:
             * an escape never decodes to the '?' that starts it. */
            r.param =
                q && (size_t)(q - t) < i ? ref_param(t, (size_t)(q - t) + 1, i) : SC_HS_PARAM_OTHER;
            return r;
        }
        i += 2;
    }
    return r;
}

/* The scanner on a whole request built around the input as its target. */
static void check_target(const uint8_t *data, size_t size)
{
    static const char pre[] = "GET ", post[] = " HTTP/1.1\r\nHost: x\r\n\r\n";
    unsigned char t[TARGET_MAX], req[sizeof(pre) + TARGET_MAX + sizeof(post)];
    size_t n = 0, len;
    struct sc_hs_scan s;
    enum sc_hs_param param = SC_HS_PARAM_OTHER;
    size_t at = 0;

    for (size_t i = 0; i < size && n < sizeof(t); i++)
        if (data[i] != ' ' && data[i] != '\r' && data[i] != '\n')
            t[n++] = data[i];
    len = sizeof(pre) - 1;
    memcpy(req, pre, len);
    memcpy(req + len, t, n);
    len += n;
    memcpy(req + len, post, sizeof(post) - 1);
    len += sizeof(post) - 1;

    struct ref_verdict r = ref_target(t, n);
    sc_hs_scan_init(&s);
    enum sc_hs_verdict v = sc_hs_scan_feed(&s, req, len, &at, &param);
    FUZZ_CHECK(v == r.v);
    if (v != SC_HS_FINE) {
        FUZZ_CHECK(at == sizeof(pre) - 1 + r.at);
        FUZZ_CHECK(param == r.param);
        const char *why = sc_hs_verdict_reason(v, param);
        const char *code = param == SC_HS_PARAM_CHANNELS ? "bad_channel: "
                           : param == SC_HS_PARAM_KEY    ? "bad_key: "
                                                         : "bad_request: ";
        FUZZ_CHECK(!strncmp(why, code, strlen(code)) && why[strlen(why) - 1] == '\n');
    } else {
        /* A good request leaves the scanner ready for the next one. */
        FUZZ_CHECK(sc_hs_scan_feed(&s, (const unsigned char *)"GET /%zz ", 9, &at, &param) ==
                   SC_HS_BAD_ESCAPE);
        FUZZ_CHECK(at == 6);
    }
}

/* The input as the value of an Upgrade header (once, or twice): lws takes
 * the value after its leading spaces, whole, and knows "websocket" and
 * "h2c" in any case; two headers join into a list it does not know. */
static void check_upgrade(const uint8_t *data, size_t size)
{
    static const char pre[] = "GET /ws HTTP/1.1\r\nupGRADE:", post[] = "\r\nHost: x\r\n\r\n";
    char val[64], req[sizeof(pre) + 2 * sizeof(val) + sizeof(post) + 16], low[64];
    size_t n = 0, len, v0 = 0;
    int twice = size && (data[0] & 1);

    for (size_t i = 1; i < size && n < sizeof(val) - 1; i++)
        if (data[i] != '\r' && data[i] != '\n')
            val[n++] = (char)data[i];
    val[n] = 0;
    len = (size_t)snprintf(req, sizeof(req), "%s%.*s%s%s%.*s%s", pre, (int)n, val,
                           twice ? "\r\nUpgrade:" : "", "", twice ? (int)n : 0, val, post);
    while (v0 < n && val[v0] == ' ')
        v0++;
    for (size_t i = v0; i <= n; i++)
        low[i - v0] = (char)(val[i] >= 'A' && val[i] <= 'Z' ? val[i] + 32 : val[i]);
    int known = !strcmp(low, "websocket") || !strcmp(low, "h2c");

    struct sc_hs_scan s;
    size_t at = 0;
    enum sc_hs_param param = SC_HS_PARAM_OTHER;
    sc_hs_scan_init(&s);
    /* A value with NUL is cut there by the %s above; compare what was sent. */
    enum sc_hs_verdict v = sc_hs_scan_feed(&s, (const unsigned char *)req, len, &at, &param);
    if (strlen(val) != n)
        return;
    if (known && !twice) {
        FUZZ_CHECK(v == SC_HS_FINE);
    } else {
        FUZZ_CHECK(v == SC_HS_BAD_UPGRADE && at == len - 1 && param == SC_HS_PARAM_OTHER);
        FUZZ_CHECK(!strcmp(sc_hs_verdict_reason(v, param), "only WebSocket upgrades are served\n"));
    }
}

/* The input as a method: lws 4.1 knows these, in any case (parsers.c
 * methods[]); CONNECT it makes a raw socket, so the node refuses it too,
 * once the head is complete; any other is refused at its first byte that
 * no known method has there; a byte that is no letter is no request. */
static void check_method(const uint8_t *data, size_t size)
{
    static const char *const known[] = {"get",   "post",   "options", "put",
                                        "patch", "delete", "head",    "connect"};
    static const char post[] = " /x HTTP/1.1\r\nHost: x\r\n\r\n";
    unsigned char req[20 + sizeof(post)];
    char low[21];
    size_t n = 0, want_at = 0;
    enum sc_hs_verdict want = SC_HS_FINE;

    for (size_t i = 0; i < size && n < 20; i++)
        if (data[i] != ' ' && data[i] != '\r' && data[i] != '\n')
            req[n++] = data[i];
    memcpy(req + n, post, sizeof(post) - 1);
    for (size_t i = 0; i <= n && want == SC_HS_FINE; i++) {
        if (i == n) { /* the space after the method */
            low[n] = 0;
            int k = -1;
            for (size_t j = 0; j < 8; j++)
                if (!strcmp(low, known[j]))
                    k = (int)j;
            if (!n)
                want = SC_HS_NOT_HTTP;
            else if (k < 0)
                want = SC_HS_METHOD;
            else if (k == 7) {
                want = SC_HS_METHOD;
                i = n + sizeof(post) - 2; /* the head's last byte */
            }
            want_at = i;
            break;
        }
        unsigned char c = req[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
            want = SC_HS_NOT_HTTP;
            want_at = i;
            break;
        }
        low[i] = (char)(c | 0x20);
        int prefix = 0;
        for (size_t j = 0; j < 8; j++)
            if (strlen(known[j]) > i && !strncmp(low, known[j], i + 1))
                prefix = 1;
        if (!prefix) {
            want = SC_HS_METHOD;
            want_at = i;
        }
    }

    struct sc_hs_scan s;
    size_t at = 0;
    enum sc_hs_param param = SC_HS_PARAM_OTHER;
    sc_hs_scan_init(&s);
    enum sc_hs_verdict v = sc_hs_scan_feed(&s, req, n + sizeof(post) - 1, &at, &param);
    FUZZ_CHECK(v == want);
    if (v != SC_HS_FINE) {
        FUZZ_CHECK(at == want_at);
        FUZZ_CHECK(sc_hs_verdict_status(v) == (v == SC_HS_METHOD ? 405u : 400u));
    }
}

/* The raw stream: the same verdict at the same offset however it is cut. */
static void check_stream(const uint8_t *data, size_t size)
{
    struct sc_hs_scan whole, cut;
    enum sc_hs_param p1 = SC_HS_PARAM_OTHER, p2 = SC_HS_PARAM_OTHER;
    size_t at1 = 0, at2 = 0, off = 0, k = 0;
    enum sc_hs_verdict v1, v2 = SC_HS_FINE;

    sc_hs_scan_init(&whole);
    v1 = sc_hs_scan_feed(&whole, data, size, &at1, &p1);
    sc_hs_scan_init(&cut);
    while (off < size && v2 == SC_HS_FINE) {
        size_t n = 1 + (size_t)(data[k++ % size] % 7);
        if (n > size - off)
            n = size - off;
        v2 = sc_hs_scan_feed(&cut, data + off, n, &at2, &p2);
        if (v2 != SC_HS_FINE)
            at2 += off;
        off += n;
    }
    FUZZ_CHECK(v1 == v2);
    if (v1 != SC_HS_FINE) {
        FUZZ_CHECK(at1 == at2 && p1 == p2 && at1 < size);
        /* A verdict ends the scan. */
        FUZZ_CHECK(sc_hs_scan_feed(&whole, data, size, &at1, &p1) == SC_HS_FINE);
    }
}

/* The input as a header value, trimmed of spaces and tabs. */
static void trimmed(const char *v, size_t len, const char **t, size_t *tlen)
{
    while (len && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    *t = v;
    *tlen = len;
}

/* Elements of a comma-separated list, trimmed; calls f on each until it
 * returns nonzero. */
static int ref_list(const char *v, size_t len, int (*f)(const char *, size_t, const char *),
                    const char *arg)
{
    size_t start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && v[i] != ',')
            continue;
        const char *e;
        size_t el;
        trimmed(v + start, i - start, &e, &el);
        if (f(e, el, arg))
            return 1;
        start = i + 1;
    }
    return 0;
}

static int eq_nocase(const char *e, size_t el, const char *w)
{
    if (el != strlen(w))
        return 0;
    for (size_t i = 0; i < el; i++)
        if ((e[i] | 0x20) != w[i])
            return 0;
    return 1;
}

static int eq_exact(const char *e, size_t el, const char *w)
{
    return el == strlen(w) && !memcmp(e, w, el);
}

/* Not an element lws reads: an RFC 7230 token, not all digits and dots
 * (lws_tokenize() returns a number for those), shorter than 63 bytes
 * (lws_tokenize_cstr() into 64). */
static int not_token(const char *e, size_t el, const char *unused)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    int number = 1;

    (void)unused;
    if (!el || el > 62)
        return 1;
    for (size_t i = 0; i < el; i++) {
        unsigned char c = (unsigned char)e[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (c && memchr(extra, c, sizeof(extra) - 1))))
            return 1;
        if (!(c >= '0' && c <= '9') && c != '.')
            number = 0;
    }
    return number;
}

static void check_headers(const uint8_t *data, size_t size)
{
    const char *v = (const char *)data, *t;
    size_t tlen;

    trimmed(v, size, &t, &tlen);
    FUZZ_CHECK(sc_hs_version_13(v, size) == (tlen == 2 && !memcmp(t, "13", 2)));
    FUZZ_CHECK(sc_hs_http11(v, size) ==
               (size == 8 && !memcmp(v, "HTTP/1.", 7) && v[7] >= '1' && v[7] <= '9'));

    /* Key: 22 base64 characters and "==". Any key that is the canonical
     * base64 of 16 bytes passes; a passing key with its last character's
     * unused bits cleared is one. */
    int kv = sc_hs_key_valid(v, size);
    size_t dlen = 0;
    unsigned char *d = ref_base64_decode(t, tlen, &dlen);
    if (d && dlen == 16)
        FUZZ_CHECK(kv);
    free(d);
    if (kv) {
        static const char b64[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char k[24];
        FUZZ_CHECK(tlen == 24);
        memcpy(k, t, 24);
        const char *pos = memchr(b64, k[21], 64);
        FUZZ_CHECK(pos);
        k[21] = b64[(pos - b64) & ~15];
        d = ref_base64_decode(k, 24, &dlen);
        FUZZ_CHECK(d && dlen == 16);
        free(d);
    }

    FUZZ_CHECK(sc_hs_list_has(v, size, "upgrade", 1) == ref_list(v, size, eq_nocase, "upgrade"));
    FUZZ_CHECK(sc_hs_token_list(v, size) == !ref_list(v, size, not_token, NULL));
    FUZZ_CHECK(sc_hs_connection_ok(v, size) ==
               (!ref_list(v, size, not_token, NULL) && ref_list(v, size, eq_nocase, "upgrade")));
    FUZZ_CHECK(sc_hs_subprotocol_ok(v, size) ==
               (!ref_list(v, size, not_token, NULL) && !ref_list(v, size, eq_exact, "http") &&
                ref_list(v, size, eq_exact, SC_HS_SUBPROTOCOL)));
}

/* A refusal with the input as its body: well-formed HTTP/1.1. */
static void check_response(const uint8_t *data, size_t size)
{
    static const unsigned statuses[] = {400, 401, 403, 404, 426, 503, 418};
    char body[400], out[600], head[64];
    size_t blen = 0, n;
    unsigned status = statuses[size ? data[0] % 7 : 0];

    for (size_t i = 0; i < size && blen < sizeof(body) - 1 && data[i]; i++)
        body[blen++] = (char)data[i];
    body[blen] = 0;
    n = sc_hs_response(out, sizeof(out), status, body);
    if (!n) {
        FUZZ_CHECK(blen > 300); /* only a long body can fail to fit */
        return;
    }
    FUZZ_CHECK(n < sizeof(out) && out[n] == 0);
    snprintf(head, sizeof(head), "HTTP/1.1 %u ", status);
    FUZZ_CHECK(!strncmp(out, head, strlen(head)));
    char *eoh = strstr(out, "\r\n\r\n");
    FUZZ_CHECK(eoh && !strcmp(eoh + 4, body));
    snprintf(head, sizeof(head), "\r\nContent-Length: %zu\r\n", blen);
    FUZZ_CHECK(strstr(out, head) && strstr(out, head) < eoh);
    FUZZ_CHECK(strstr(out, "\r\nConnection: ") < eoh);
    FUZZ_CHECK((status == 426) == (strstr(out, "\r\nSec-WebSocket-Version: 13\r\n") != NULL &&
                                   strstr(out, "\r\nSec-WebSocket-Version: 13\r\n") < eoh));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    check_stream(data, size);
    check_target(data, size);
    check_upgrade(data, size);
    check_method(data, size);
    check_headers(data, size);
    check_response(data, size);
    return 0;
}
