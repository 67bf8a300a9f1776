/*
 * out.h - where shardcast-cli's output goes: data on stdout, one line per
 * message, and diagnostics on stderr at three levels.
 */
#ifndef SC_CLI_OUT_H
#define SC_CLI_OUT_H

#include <stddef.h>

/* sc_log_setup() - set what sc_note() and sc_debug() print. */
void sc_log_setup(int verbose, int quiet);

/* sc_log_verbose() - the -v count given to sc_log_setup(). */
int sc_log_verbose(void);

/* sc_err() - an error, always printed, prefixed with the program name. */
void sc_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* sc_note() - a notice (reconnects and the like); silenced by -q. */
void sc_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* sc_debug() - detail printed only with -v. */
void sc_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * sc_out_line() - write len bytes and a newline to stdout and flush, so a
 * reader on a pipe sees each message as it arrives.  Returns 0, or -errno
 * (-EPIPE when the reader went away).
 */
int sc_out_line(const void *buf, size_t len);

#endif /* SC_CLI_OUT_H */
