/* sc_conn_int: what sc_conn.c (connection lifecycle) and sc_conn_rx.c
 * (receive path) share; not for use outside those two files. */
#ifndef SC_BENCH_CONN_INT_H
#define SC_BENCH_CONN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sc_conn.h"

enum {
    SC_ST_IDLE,        /* not attempted yet */
    SC_ST_CONNECTING,  /* TCP handshake in progress */
    SC_ST_UPGRADING,   /* HTTP upgrade sent, waiting for 101 */
    SC_ST_SUBSCRIBING, /* waiting for the subscribe reply (ack / RESP confirms) */
    SC_ST_OPEN,        /* subscribed, receiving */
    SC_ST_DONE,        /* closed or failed */
};

/* Close code recorded for a connection that ended without a close frame. */
#define SC_CLOSE_ABNORMAL 1006

void sc_conn_ready(struct sc_conns *c, struct sc_conn *k);
void sc_conn_end(struct sc_conns *c, struct sc_conn *k, int err, unsigned code);
int sc_conn_send_frame(struct sc_conns *c, struct sc_conn *k, int op, const void *data, size_t len);
void sc_conn_send_close(struct sc_conns *c, struct sc_conn *k, unsigned code);
int sc_conn_carry(struct sc_conn *k, const uint8_t *data, size_t n, size_t limit);
void sc_conn_read(struct sc_conns *c, struct sc_conn *k);

#endif
