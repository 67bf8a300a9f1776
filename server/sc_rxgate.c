/* sc_rxgate: the read hook in front of libwebsockets (see sc_rxgate.h).
 *
 * Why interposition: lws 4.1 parses frames in lws_ws_rx_sm() (ops-ws.c)
 * straight from what it read, with no callback before it, and reads with
 * recv() (core-net/output.c) or SSL_read() (tls/openssl). Owning the whole
 * read path would mean replacing lws's role ops; a byte proxy would double
 * every socket. Defining the two functions here costs one table lookup per
 * read and leaves lws untouched. Every other caller of recv()/SSL_read()
 * (none in this process today) passes straight through: only sockets lws
 * accepted have a slot. */
#include "sc_rxgate.h"

#include <dlfcn.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sc_handshake.h"
#include "sc_hub.h"
#include "sc_log.h"
#include "sc_wsrx.h"

/* Reads of a failed connection's bytes per call; with level-triggered
 * polling the rest is read on the next loop iteration, so one flooding
 * client cannot hold the loop. */
#define DRAIN_ROUNDS 16

struct slot {
    void *conn; /* from LWS_CALLBACK_ESTABLISHED to CLOSED */
    struct sc_wsrx rx;
    struct sc_hs_scan hs; /* what lws would refuse with an HTML 403 */
    uint8_t used;         /* a socket lws accepted */
};

typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef int (*ssl_read_fn)(SSL *, void *, int);

static struct {
    struct sc_hub *hub; /* NULL: nothing is checked */
    void (*fail)(void *conn, uint16_t code);
    struct slot *slots; /* indexed by fd */
    size_t cap;
} gate;

static recv_fn real_recv_fn;
static ssl_read_fn real_ssl_read_fn;

/* The next definition after ours (libc's, or a sanitizer's in front of it).
 * Returns NULL if there is none. */
static void *next_symbol(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

static recv_fn real_recv(void)
{
    if (!real_recv_fn) {
        void *p = next_symbol("recv");
        memcpy(&real_recv_fn, &p, sizeof(p));
    }
    return real_recv_fn;
}

static ssl_read_fn real_ssl_read(void)
{
    if (!real_ssl_read_fn) {
        void *p = next_symbol("SSL_read");
        memcpy(&real_ssl_read_fn, &p, sizeof(p));
    }
    return real_ssl_read_fn;
}

int sc_rxgate_start(struct sc_hub *hub, void (*fail)(void *conn, uint16_t code))
{
    if (!real_recv() || !real_ssl_read()) {
        SC_LOG(SC_LOG_ERROR, "cannot find recv/SSL_read behind the read hook: %s", dlerror());
        return -ENOSYS;
    }
    gate.hub = hub;
    gate.fail = fail;
    return 0;
}

void sc_rxgate_stop(void)
{
    free(gate.slots);
    memset(&gate, 0, sizeof(gate));
}

static struct slot *slot_of(int fd)
{
    if (!gate.hub || fd < 0 || (size_t)fd >= gate.cap || !gate.slots[fd].used)
        return NULL;
    return &gate.slots[fd];
}

int sc_rxgate_accept(int fd)
{
    if (fd < 0 || !gate.hub)
        return 0;
    if ((size_t)fd >= gate.cap) {
        /* fds are handed out lowest first: the table follows the number
         * of sockets open at once, not the open-files limit. */
        size_t cap = gate.cap ? gate.cap : 64;
        struct slot *s;
        while (cap <= (size_t)fd)
            cap *= 2;
        if (!(s = realloc(gate.slots, cap * sizeof(*s))))
            return -ENOMEM;
        memset(s + gate.cap, 0, (cap - gate.cap) * sizeof(*s));
        gate.slots = s;
        gate.cap = cap;
    }
    memset(&gate.slots[fd], 0, sizeof(gate.slots[fd]));
    gate.slots[fd].used = 1;
    sc_wsrx_init(&gate.slots[fd].rx);
    sc_hs_scan_init(&gate.slots[fd].hs);
    return 0;
}

uint16_t sc_rxgate_bind(int fd, void *c)
{
    struct slot *s = slot_of(fd);

    if (!s)
        return 0;
    s->conn = c;
    if (s->rx.mode != SC_WSRX_FAILED) {
        sc_wsrx_upgraded(&s->rx);
        if (s->rx.mode == SC_WSRX_FAILED) {
            SC_LOG(SC_LOG_DEBUG,
                   "fd %d: upgraded where the read checker saw no "
                   "upgrade: failing it",
                   fd);
            gate.hub->metrics.errors[SC_ERR_PROTOCOL]++;
        }
    }
    return s->rx.mode == SC_WSRX_FAILED ? s->rx.code : 0;
}

void sc_rxgate_unbind(int fd, const void *c)
{
    struct slot *s = slot_of(fd);

    /* lws reads no more from it; the fd may be reused by anything. */
    if (s && s->conn == c)
        memset(s, 0, sizeof(*s));
}

void sc_rxgate_http(int fd)
{
    struct slot *s = slot_of(fd);

    if (s)
        sc_wsrx_served_http(&s->rx);
}

uint16_t sc_rxgate_close_code(int fd)
{
    struct slot *s = slot_of(fd);

    return s ? sc_wsrx_close_code(&s->rx) : 0;
}

/* A bad request head: the answer is written here, at once, because lws
 * would never answer it (it is still waiting for the rest of the head) or
 * would answer it with an HTML "HTTP/1.0 403" page. Then our side is shut
 * (plain TCP); lws closes when the client does or at the handshake
 * timeout, and what the client still sends is read and dropped. */
static void answer_http(int fd, SSL *ssl, unsigned status, const char *why)
{
    char buf[512];
    size_t n = sc_hs_response(buf, sizeof(buf), status, why);

    gate.hub->metrics.errors[SC_ERR_REJECTED_REQUEST]++;
    SC_LOG(SC_LOG_DEBUG, "fd %d: request refused (%u): %s", fd, status, why);
    /* Best effort: nothing else was written on this connection yet. */
    if (ssl) {
        /* close_notify plays the part of SHUT_WR: the client ends too. */
        (void)SSL_write(ssl, buf, (int)n);
        (void)SSL_shutdown(ssl);
        return;
    }
    (void)!send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
}

/* A bad frame: the connection sends a close frame with the code, now if it
 * is established, else once lws upgrades it (sc_rxgate_bind). */
static void answer(struct slot *s, int fd, SSL *ssl, int code)
{
    SC_LOG(SC_LOG_DEBUG, "fd %d: failing the connection with %d", fd, code);
    if (code < 1000) {
        answer_http(fd, ssl, (unsigned)code,
                    code == 431 ? "request head over 4096 bytes\n"
                                : "bad_request: a header line without a colon\n");
        return;
    }
    gate.hub->metrics.errors[code == 1009 ? SC_ERR_MESSAGE_TOO_BIG : SC_ERR_PROTOCOL]++;
    if (s->conn)
        gate.fail(s->conn, (uint16_t)code);
}

/* n bytes just read: returns how many lws may have (the others are
 * dropped), after answering a failure. */
static size_t check(struct slot *s, int fd, SSL *ssl, const void *buf, size_t n)
{
    enum sc_hs_param param;
    enum sc_hs_verdict hv;
    size_t ok, at;
    int v;

    /* The request line and Upgrade headers first (sc_handshake.h): the
     * scanner stops by itself once a head asks for an upgrade. */
    if ((hv = sc_hs_scan_feed(&s->hs, buf, n, &at, &param)) != SC_HS_FINE) {
        answer_http(fd, ssl, sc_hs_verdict_status(hv), sc_hs_verdict_reason(hv, param));
        sc_wsrx_fail(&s->rx, (uint16_t)sc_hs_verdict_status(hv));
        return 0;
    }
    v = sc_wsrx_feed(&s->rx, (uint32_t)gate.hub->cfg->max_message_size, buf, n, &ok);
    if (v == SC_WSRX_OK)
        return n;
    if (v != SC_WSRX_END)
        answer(s, fd, ssl, v);
    return ok;
}

static int stopped(const struct slot *s)
{
    return s->rx.mode == SC_WSRX_FAILED || s->rx.mode == SC_WSRX_CLOSED;
}

/* Read and drop what the client sends after a failure or its close frame.
 * Returns 0 at its end of stream (lws then closes), else -1 with errno
 * (EAGAIN once the socket is empty, or after DRAIN_ROUNDS reads). */
static ssize_t drain_plain(int fd, void *buf, size_t len)
{
    for (int i = 0; i < DRAIN_ROUNDS; i++) {
        ssize_t n = real_recv()(fd, buf, len, 0);
        if (n <= 0)
            return n;
    }
    errno = EAGAIN;
    return -1;
}

/* The same for TLS. The last SSL_read's own result goes back to lws, so
 * SSL_get_error() describes it truly (WANT_READ, or the end). After
 * DRAIN_ROUNDS full reads it returns 0, and lws drops the connection: a
 * client that floods after failing does not get its close frame
 * guaranteed. */
static int drain_tls(SSL *ssl, void *buf, int num)
{
    for (int i = 0; i < DRAIN_ROUNDS; i++) {
        int n = real_ssl_read()(ssl, buf, num);
        if (n <= 0)
            return n;
    }
    return 0;
}

/* Called by lws (output.c) for every plain-TCP read. Other callers and
 * other sockets go straight to the real recv(). */
ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    struct slot *s = flags ? NULL : slot_of(fd);
    ssize_t n;
    size_t ok;

    if (!s)
        return real_recv()(fd, buf, len, flags);
    if (stopped(s))
        return drain_plain(fd, buf, len);
    n = real_recv()(fd, buf, len, 0);
    if (n <= 0)
        return n;
    ok = check(s, fd, NULL, buf, (size_t)n);
    return ok ? (ssize_t)ok : drain_plain(fd, buf, len);
}

/* Called by lws (tls/openssl) for every read of a TLS connection. */
int SSL_read(SSL *ssl, void *buf, int num)
{
    int fd = gate.hub ? SSL_get_fd(ssl) : -1;
    struct slot *s = slot_of(fd);
    size_t ok;
    int n;

    if (!s)
        return real_ssl_read()(ssl, buf, num);
    if (stopped(s))
        return drain_tls(ssl, buf, num);
    n = real_ssl_read()(ssl, buf, num);
    if (n <= 0)
        return n;
    ok = check(s, fd, ssl, buf, (size_t)n);
    return ok ? (int)ok : drain_tls(ssl, buf, num);
}
