/* sc_rxgate: every byte libwebsockets reads from a client passes here
 * first, through sc_wsrx, so that what lws 4.1 accepts or drops bare
 * (unmasked frames, over-long control frames, 64-bit lengths with the top
 * bit, close frames with a 1-byte payload, undefined codes or a reason that
 * is not UTF-8, a message announced over the limit, a header line without
 * a colon) is answered the way RFC 6455 and HTTP say, and never reaches lws.
 *
 * lws 4.1 has no hook before its frame parser, so this module defines
 * recv() and SSL_read() in the node's executable: lws calls them through
 * the PLT, they call the real ones (dlsym(RTLD_NEXT)), and check the bytes
 * of the sockets lws accepted. Bytes before the first bad one go to lws;
 * that one and everything after are read and dropped (a socket closed with
 * unread bytes sends RST, which could destroy our answer before the client
 * reads it) until the client closes, or the close timeout.
 *
 * A failure is answered by the node: HTTP 400/431 written at once; a close
 * frame with the code (the fail callback: sc_conn_fail), then the end of our side of the TCP
 * connection (RFC 6455 7.1.7). One thread (the loop's) uses all of this. */
#ifndef SC_RXGATE_H
#define SC_RXGATE_H

#include <stdint.h>

struct sc_hub;

/* Check the clients of hub from now on (before lws listens). Returns 0 or
 * -ENOSYS when the real recv/SSL_read cannot be found. */
int sc_rxgate_start(struct sc_hub *hub, void (*fail)(void *conn, uint16_t code));

/* Stop checking and free the table (after lws is gone). */
void sc_rxgate_stop(void);

/* lws accepted fd: a request head comes first. Returns 0, or -ENOMEM
 * (refuse the socket). */
int sc_rxgate_accept(int fd);

/* The connection on fd was upgraded to c (LWS_CALLBACK_ESTABLISHED).
 * Returns 0, or the close code c must fail with at once: its first frames
 * came with the request and one was bad, or the checker lost track. */
uint16_t sc_rxgate_bind(int fd, void *c);

/* c is closing (LWS_CALLBACK_CLOSED): fd is no longer checked. (A plain
 * HTTP connection keeps its slot until the fd is accepted again: only lws
 * calls recv()/SSL_read() here, and only on sockets it accepted.) */
void sc_rxgate_unbind(int fd, const void *c);

/* lws answered the request on fd as plain HTTP (also a refused upgrade):
 * another request head may come on it. */
void sc_rxgate_http(int fd);

/* The status code of the close frame the client on fd sent, 0 if none. */
uint16_t sc_rxgate_close_code(int fd);

#endif
