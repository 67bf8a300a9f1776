/*
 * out.c - stdout for data, stderr for diagnostics.
 *
 * Data goes through stdio with an explicit flush per line rather than
 * line buffering, because a payload may itself contain newlines (and NULs)
 * and must still reach a pipe as one unit.
 */
#include "out.h"

#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

static int sc_verbose;
static int sc_quiet;

void sc_log_setup(int verbose, int quiet)
{
    sc_verbose = verbose;
    sc_quiet = quiet;
}

int sc_log_verbose(void)
{
    return sc_verbose;
}

/* Print one prefixed diagnostic line; stderr is unbuffered already. */
static void sc_vlog(const char *fmt, va_list ap)
{
    fputs(SC_CLI_NAME ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void sc_err(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sc_vlog(fmt, ap);
    va_end(ap);
}

void sc_note(const char *fmt, ...)
{
    va_list ap;

    if (sc_quiet)
        return;
    va_start(ap, fmt);
    sc_vlog(fmt, ap);
    va_end(ap);
}

void sc_debug(const char *fmt, ...)
{
    va_list ap;

    if (!sc_verbose)
        return;
    va_start(ap, fmt);
    sc_vlog(fmt, ap);
    va_end(ap);
}

int sc_out_line(const void *buf, size_t len)
{
    errno = 0;
    if ((len && fwrite(buf, 1, len, stdout) != len) || fputc('\n', stdout) == EOF ||
        fflush(stdout) == EOF) {
        int e = errno ? errno : EIO;

        clearerr(stdout);
        return -e;
    }
    return 0;
}
