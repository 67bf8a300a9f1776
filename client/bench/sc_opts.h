/* sc_opts: shardcast-bench command line. */
#ifndef SC_BENCH_OPTS_H
#define SC_BENCH_OPTS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sc_target {
    struct sockaddr_in addr;
    char host[24]; /* "a.b.c.d:port", for the Host header and reports */
};

struct sc_opts {
    /* what to drive */
    struct sc_target *targets; /* connection i goes to targets[i % ntargets] */
    uint32_t ntargets;
    char *path;    /* request-target template, placeholders expanded */
    char *sub_msg; /* text frame template sent after the upgrade, or NULL */
    int resp;      /* RESP SUBSCRIBE straight to Redis instead of WebSocket */
    struct sc_target redis;
    /* connections */
    uint32_t conns;
    uint32_t src_first, src_last; /* host order; 0 = let the kernel pick */
    double connect_rate;          /* per second; 0 = only max_pending bounds it */
    uint32_t max_pending;
    double connect_timeout;
    uint32_t forks;
    uint32_t rcvbuf;
    size_t max_msg;
    /* channels */
    uint32_t per_conn;
    uint32_t subs_per_chan;
    uint32_t nchan; /* derived */
    char *prefix;
    uint32_t numsub_min;
    double settle;
    /* publishing */
    double rate;
    int random_order;           /* --random: channel order scrambled per round */
    uint32_t perm_a, perm_ainv; /* derived: the round's bijection on channels */
    double duration;
    uint64_t count; /* derived from rate*duration unless given */
    int by_count;
    double time_limit; /* seconds; only for --rate 0 without --count */
    uint32_t size;
    uint32_t pipeline;
    double hold;
    double drain;
    /* measurement and output */
    pid_t *server_pids;
    int nserver;
    pid_t *redis_pids;
    int nredis;
    int json;
    int quiet;
    char *label;
    uint32_t tag; /* run id stamped into every payload */
};

int sc_opts_parse(struct sc_opts *o, int argc, char **argv);
void sc_opts_free(struct sc_opts *o);
size_t sc_opts_channel_name(const struct sc_opts *o, uint32_t chan, char *out, size_t cap);
uint32_t sc_opts_pub_chan(const struct sc_opts *o, uint64_t k);
uint64_t sc_opts_published_on(const struct sc_opts *o, uint64_t total, uint32_t chan);
int sc_opts_expand(const struct sc_opts *o, const char *tmpl, uint32_t conn, char *out, size_t cap);

#endif
