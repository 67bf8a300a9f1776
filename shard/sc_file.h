/* sc_file: read a small file that may hold a secret (a password, a token
 * key), shared by the node, shardctl and shardcast-cli. */
#ifndef SC_FILE_H
#define SC_FILE_H

#include <stddef.h>

/* Read all of path, at most max bytes, with plain read(2): no stdio buffer
 * keeps a copy of a secret after the caller wipes its own. Returns 0 with
 * *out (max + 1 bytes, NUL after the *outlen read) owned by the caller, who
 * wipes it before freeing when it may hold a secret; -EFBIG when the file
 * is larger than max; -EIO with *why (static text) when it cannot be
 * opened or read; -ENOMEM. Nothing to free on error. */
int sc_file_read_max(const char *path, size_t max, unsigned char **out, size_t *outlen,
                     const char **why);

#endif
