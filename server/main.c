/* shardcast: WebSocket fan-out of Redis Pub/Sub, one node per process.
 *
 * Exit status: 0 after a clean stop, 1 when the node could not start or
 * failed at run time, 2 for a bad configuration (nothing was started). */
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <uv.h>

#include "sc_config.h"
#include "sc_log.h"
#include "sc_server.h"

/* Route lws's own messages through our log, errors and warnings only. */
static void lws_log_bridge(int level, const char *line)
{
    SC_LOG(level == LLL_ERR ? SC_LOG_ERROR : SC_LOG_WARN, "lws: %.*s",
           (int)strcspn(line, "\n"), line);
}

int main(int argc, char **argv)
{
    struct sc_config cfg;
    struct sc_server srv;
    uv_loop_t loop;
    int rc;

    switch (sc_config_load(&cfg, argc, argv)) {
    case SC_CONFIG_OK:
        break;
    case SC_CONFIG_EXIT:
        sc_config_free(&cfg);
        return 0;
    default:
        sc_config_free(&cfg);
        return 2;
    }
    sc_log_level = sc_log_level_parse(cfg.log_level);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);
    /* hiredis writes with write(2); a peer reset must not kill the node. */
    signal(SIGPIPE, SIG_IGN);

    uv_loop_init(&loop);
    rc = sc_server_start(&srv, &cfg, &loop);
    if (rc < 0) {
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
