/* shardcast: WebSocket fan-out of Redis Pub/Sub, one node per process.
 *
 * Exit status: 0 after a clean stop, 1 when the node could not start or
 * failed at run time, 2 for a bad configuration (nothing was started). */
#include <ctype.h>
#include <errno.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "sc_config.h"
#include "sc_log.h"
#include "sc_server.h"

/* errno of the bind() that lws reported failing, 0 if none. */
static int lws_bind_errno;

/* lws reports a listener it cannot bind in two or three error lines with a
 * raw errno ("ERROR on binding fd 12 to port 8080 (-1 98)", "init server
 * failed", "VH ... DOESN'T EXIST"); main() says the same in one line. So
 * these go to debug level, and the errno is kept for that line. Returns
 * 1 for such a line. */
static int lws_listen_line(const char *line)
{
    int e;

    if (sscanf(line, "ERROR on binding fd %*d to port %*d (%*d %d)", &e) == 1) {
        lws_bind_errno = e;
        return 1;
    }
    return !strncmp(line, "init server failed", 18) ||
           (!strncmp(line, "VH ", 3) &&
            (strstr(line, "DOESN'T EXIST") || strstr(line, "NOT USABLE")));
}

/* Route lws's own messages through our log, errors and warnings only. A
 * line that repeats (lws logs every failed accept() when file descriptors
 * run out) is printed once a second with a count, not thousands of times. */
static void lws_log_bridge(int level, const char *line)
{
    static char last[200];
    static unsigned long repeats;
    static time_t last_at;
    int n = (int)strcspn(line, "\n");
    time_t now = time(NULL);

    if (lws_listen_line(line)) {
        SC_LOG(SC_LOG_DEBUG, "lws: %.*s", n, line);
        return;
    }
    if (n < (int)sizeof(last) && (int)strlen(last) == n && !strncmp(last, line, (size_t)n) &&
        now == last_at) {
        repeats++;
        return;
    }
    if (repeats)
        SC_LOG(SC_LOG_WARN, "lws: (last message repeated %lu more times)", repeats);
    repeats = 0;
    last_at = now;
    snprintf(last, sizeof(last), "%.*s", n < (int)sizeof(last) ? n : 0, line);
    SC_LOG(level == LLL_ERR ? SC_LOG_ERROR : SC_LOG_WARN, "lws: %.*s", n, line);
}

/* The one line for a listener that could not be made, exit status 1. */
static void report_listen_failure(const struct sc_config *cfg)
{
    char why[128] = "the listener could not be created";

    if (lws_bind_errno) {
        snprintf(why, sizeof(why), "%s", strerror(lws_bind_errno));
        why[0] = (char)tolower((unsigned char)why[0]);
    }
    fprintf(stderr, "shardcast: cannot listen on %s:%ld: %s\n", cfg->host ? cfg->host : "*",
            cfg->port, why);
}

int main(int argc, char **argv)
{
    struct sc_config cfg;
    struct sc_server srv;
    uv_loop_t loop;
    int rc;

    switch (sc_config_load(&cfg, argc, argv)) {
    case SC_CONFIG_OK: break;
    case SC_CONFIG_EXIT: sc_config_free(&cfg); return 0;
    default: sc_config_free(&cfg); return 2;
    }
    sc_log_level = sc_log_level_parse(cfg.log_level);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);
    /* hiredis writes with write(2); a peer reset must not kill the node. */
    signal(SIGPIPE, SIG_IGN);

    uv_loop_init(&loop);
    rc = sc_server_start(&srv, &cfg, &loop);
    if (rc < 0) {
        if (rc == -EADDRINUSE)
            report_listen_failure(&cfg);
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_loop_close(&loop);
        sc_config_free(&cfg);
        return rc == -ENOENT || rc == -EINVAL ? 2 : 1;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    sc_server_cleanup(&srv);
    rc = uv_loop_close(&loop);
    if (rc)
        SC_LOG(SC_LOG_WARN, "event loop closed with handles open: %s", uv_strerror(rc));
    sc_config_free(&cfg);
    return 0;
}
