/* sc_rawin: scan what lws reads from HTTP clients before lws parses it.
 *
 * Why this exists: lws 4.1 URL-decodes the request target while it parses
 * the request line (lws_parse_urldecode() in lib/roles/http/parsers.c),
 * before any callback of ours runs. A '%' not followed by two hex digits
 * makes it write its own "HTTP/1.0 403 Forbidden" HTML page ("forbidding
 * on uri sanitation"), which strict clients refuse to read, and a %00
 * makes it drop the connection without a word. An unknown method or
 * Upgrade value gets the same 403 page, and CONNECT turns the socket into
 * a raw one that no timeout ever closes. docs/protocol.md promises a 400
 * (405 for a method) with a plain-text reason instead.
 *
 * How: lws reads a plain socket with recv() and a TLS one with SSL_read(),
 * both resolved by the dynamic linker, where the executable's own
 * definitions come first. This file defines both: each calls the real
 * function (dlsym RTLD_NEXT) and, for a connection still in its HTTP
 * phase, feeds what came back to a request-line scanner (sc_handshake.h).
 * At a problem it writes the refusal itself and reports end of stream, so
 * lws closes the connection without ever parsing the bad byte. Nothing
 * else in the process calls recv() or SSL_read() (hiredis, libuv and
 * OpenSSL's socket BIO use read()), and a connection that was never
 * watched, or has been upgraded, costs one table lookup per read. */
#include "sc_rawin.h"

#include <dlfcn.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sc_handshake.h"
#include "sc_log.h"

struct watch {
    struct sc_hs_scan scan;
    uint8_t on;
};

static struct watch *table; /* indexed by fd */
static size_t table_len;
static uint64_t *refusals;

void sc_rawin_watch(int fd, uint64_t *refused)
{
    if (fd < 0)
        return;
    if ((size_t)fd >= table_len) {
        size_t n = table_len ? table_len : 256;
        struct watch *t;

        while (n <= (size_t)fd)
            n *= 2;
        if (!(t = realloc(table, n * sizeof(*t)))) {
            SC_LOG(SC_LOG_WARN, "out of memory watching fd %d; lws answers its requests", fd);
            return;
        }
        memset(t + table_len, 0, (n - table_len) * sizeof(*t));
        table = t;
        table_len = n;
    }
    sc_hs_scan_init(&table[fd].scan);
    table[fd].on = 1;
    refusals = refused;
}

void sc_rawin_forget(int fd)
{
    if (fd >= 0 && (size_t)fd < table_len)
        table[fd].on = 0;
}

void sc_rawin_release(void)
{
    free(table);
    table = NULL;
    table_len = 0;
}

/* Send the refusal for verdict v on fd (ssl when TLS), best effort: the
 * connection is new and its send buffer empty. Then no more input is
 * wanted; reading what is already queued keeps close() from turning into
 * a reset that could overtake the answer. */
static void refuse(int fd, SSL *ssl, enum sc_hs_verdict v, enum sc_hs_param param)
{
    char out[512], sink[4096];
    size_t n = sc_hs_response(out, sizeof(out), sc_hs_verdict_status(v),
                              sc_hs_verdict_reason(v, param));

    if (ssl)
        (void)!SSL_write(ssl, out, (int)n);
    else
        (void)!send(fd, out, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
        ;
    if (refusals)
        (*refusals)++;
    SC_LOG(SC_LOG_DEBUG, "fd %d: refused (%u): %s", fd, sc_hs_verdict_status(v),
           sc_hs_verdict_reason(v, param));
}

/* What lws is given back for n bytes read into buf on fd: n, or 0 (end
 * of stream) after a refusal. */
static ssize_t inspect(int fd, SSL *ssl, const void *buf, ssize_t n)
{
    enum sc_hs_param param;
    enum sc_hs_verdict v;
    size_t at;

    if (n <= 0 || fd < 0 || (size_t)fd >= table_len || !table[fd].on)
        return n;
    v = sc_hs_scan_feed(&table[fd].scan, buf, (size_t)n, &at, &param);
    if (v == SC_HS_FINE)
        return n;
    table[fd].on = 0;
    refuse(fd, ssl, v, param);
    return 0;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    static ssize_t (*real)(int, void *, size_t, int);
    ssize_t n;

    if (!real && !(real = (ssize_t (*)(int, void *, size_t, int))dlsym(RTLD_NEXT, "recv"))) {
        errno = ENOSYS;
        return -1;
    }
    n = real(fd, buf, len, flags);
    return flags & MSG_PEEK ? n : inspect(fd, NULL, buf, n);
}

int SSL_read(SSL *ssl, void *buf, int num)
{
    static int (*real)(SSL *, void *, int);
    int n;

    if (!real && !(real = (int (*)(SSL *, void *, int))dlsym(RTLD_NEXT, "SSL_read")))
        return -1;
    n = real(ssl, buf, num);
    return (int)inspect(SSL_get_fd(ssl), ssl, buf, n);
}
