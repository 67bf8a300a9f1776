/* sc_buf: a growable byte buffer for building frames and HTTP bodies.
 *
 * Appends never fail silently: after an allocation failure the buffer is
 * marked failed, further appends are no-ops, and sc_buf_failed() tells the
 * caller once at the end, so builders need a single check. */
#ifndef SC_BUF_H
#define SC_BUF_H

#include <stddef.h>

struct sc_buf {
    char *data;
    size_t len;
    size_t cap;
    int failed;
};

void sc_buf_init(struct sc_buf *b);
/* Release the storage; the buffer may be reused after sc_buf_init(). */
void sc_buf_free(struct sc_buf *b);
/* Make room for n more bytes. Returns 0 or -ENOMEM (and marks failure). */
int sc_buf_reserve(struct sc_buf *b, size_t n);
void sc_buf_append(struct sc_buf *b, const void *p, size_t n);
void sc_buf_append_str(struct sc_buf *b, const char *s);
void sc_buf_printf(struct sc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int sc_buf_failed(const struct sc_buf *b)
{
    return b->failed;
}

#endif
