/* sc_log: the one logging macro of the node.
 *
 * Every line goes to stderr as "TIME LEVEL message". Levels below the
 * configured one cost a compare and nothing else; arguments are not
 * evaluated. Never log tokens, secrets or message payloads. */
#ifndef SC_LOG_H
#define SC_LOG_H

enum sc_log_level { SC_LOG_ERROR = 0, SC_LOG_WARN, SC_LOG_INFO, SC_LOG_DEBUG };

extern int sc_log_level;

void sc_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse "error|warn|info|debug". Returns the level or -EINVAL. */
int sc_log_level_parse(const char *name);

#define SC_LOG(level, ...)                      \
    do {                                        \
        if ((level) <= sc_log_level)            \
            sc_log_write((level), __VA_ARGS__); \
    } while (0)

#endif
