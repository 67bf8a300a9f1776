/* sc_file: bounded reads of small secret files. */
#include "sc_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sc_file_read_max(const char *path, size_t max, unsigned char **out, size_t *outlen,
                     const char **why)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned char *buf;
    size_t n = 0;
    int rc = 0;

    *why = NULL;
    if (fd < 0) {
        *why = strerror(errno);
        return -EIO;
    }
    if (!(buf = malloc(max + 1))) {
        close(fd);
        return -ENOMEM;
    }
    /* The bound keeps a wrong path (a device, a log) from stalling. */
    while (n <= max) {
        ssize_t r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *why = strerror(errno);
            rc = -EIO;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (!rc && n > max)
        rc = -EFBIG;
    if (rc) {
        explicit_bzero(buf, max + 1);
        free(buf);
        return rc;
    }
    buf[n] = 0;
    *out = buf;
    *outlen = n;
    return 0;
}
