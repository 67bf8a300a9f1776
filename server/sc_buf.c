/* sc_buf: growable byte buffer with sticky allocation failure. */
#include "sc_buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sc_buf_init(struct sc_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void sc_buf_free(struct sc_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

int sc_buf_reserve(struct sc_buf *b, size_t n)
{
    size_t want, cap;
    char *p;

    if (b->failed)
        return -ENOMEM;
    if (n > (size_t)-1 / 2 - b->len)
        goto fail;
    want = b->len + n;
    if (want <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < want)
        cap *= 2;
    p = realloc(b->data, cap);
    if (!p)
        goto fail;
    b->data = p;
    b->cap = cap;
    return 0;
fail:
    b->failed = 1;
    return -ENOMEM;
}

void sc_buf_append(struct sc_buf *b, const void *p, size_t n)
{
    if (n == 0 || sc_buf_reserve(b, n) < 0)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void sc_buf_append_str(struct sc_buf *b, const char *s)
{
    sc_buf_append(b, s, strlen(s));
}

void sc_buf_printf(struct sc_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sc_buf_reserve(b, (size_t)n + 1) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}
