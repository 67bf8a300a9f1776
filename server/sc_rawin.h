/* sc_rawin: the node's look at the bytes lws reads from a client while the
 * connection is still plain HTTP, before lws's own request parser sees
 * them. Used to answer a bad percent-escape in the request target with the
 * documented 400 instead of what lws 4.1 does (see sc_rawin.c for why).
 *
 * Process-wide (one node per process); service thread only. */
#ifndef SC_RAWIN_H
#define SC_RAWIN_H

#include <stdint.h>

/* A client connection was accepted on fd: scan its requests from now on.
 * refused (may be NULL) is bumped for each request refused here. If the
 * table cannot grow the fd is not watched, and lws answers as it would. */
void sc_rawin_watch(int fd, uint64_t *refused);

/* The connection on fd left HTTP (it is a WebSocket now): stop scanning. */
void sc_rawin_forget(int fd);

/* Free the table (when the node stops). */
void sc_rawin_release(void);

#endif
