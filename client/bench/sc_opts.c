/* sc_opts: command-line parsing for shardcast-bench.
 *
 * Every value is checked here, once, so the run code can trust its inputs;
 * a bad value exits 2 with the option's name, as scripts grep for it. */
#include "sc_opts.h"
#include "sc_delivery.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sc_redis_url.h"

static const char usage[] =
    "usage: shardcast-bench [options]\n"
    "\n"
    "Opens many WebSocket (or RESP) subscriber connections, publishes stamped\n"
    "messages through Redis and reports loss, latency and the server's cost.\n"
    "All addresses must be on loopback (127.0.0.0/8).\n"
    "\n"
    "Target:\n"
    "  --url ws://IP:PORT/PATH    server and request-target template in one\n"
    "                             (default ws://127.0.0.1:8080/ws?channels={channels})\n"
    "  --target IP:PORT[,...]     server address(es); connection i goes to the\n"
    "                             (i mod n)-th, e.g. one per node of a cluster\n"
    "  --path TEMPLATE            request-target of the upgrade (default\n"
    "                             /ws?channels={channels})\n"
    "  --sub-msg TEMPLATE         text frame sent after the upgrade, e.g.\n"
    "                             '{\"op\":\"subscribe\",\"channels\":[{channels_json}]}';\n"
    "                             the connection counts as subscribed at the first\n"
    "                             {\"op\":\"ok\"} reply ({\"op\":\"error\"} fails it).\n"
    "                             Placeholders in both templates:\n"
    "                             {channels} a,b  {channels_json} \"a\",\"b\"  {conn} index\n"
    "  --resp                     subscribe with RESP SUBSCRIBE straight to Redis\n"
    "                             (Redis's own fan-out as a baseline); targets\n"
    "                             default to the --redis address\n"
    "  --redis redis://IP[:PORT]  Redis to publish to (default redis://127.0.0.1:6379)\n"
    "\n"
    "Connections:\n"
    "  -c, --conns N              connections to open (default 1000)\n"
    "  --src IP[-IP]              bind() each connection to a source address taken\n"
    "                             round-robin from this range, e.g.\n"
    "                             127.0.0.2-127.0.0.9: each address has its own\n"
    "                             ~28k ephemeral ports (default: kernel's choice)\n"
    "  --connect-rate R           new connections per second, 0 = no limit (default 0)\n"
    "  --max-pending N            handshakes in flight at once (default 256)\n"
    "  --connect-timeout SEC      per connection, until subscribed (default 10)\n"
    "  --fork N                   split connections over N child processes (each\n"
    "                             has its own fd limit, ~19,900 here); the parent\n"
    "                             publishes and merges the children's reports\n"
    "  --rcvbuf BYTES             SO_RCVBUF per connection (default: kernel's)\n"
    "  --max-msg BYTES            largest message accepted (default 1048576)\n"
    "\n"
    "Channels (named PREFIX<i>, i = 0..channels-1):\n"
    "  --channels-per-conn K      subscriptions per connection, 1-256 (default 1)\n"
    "  --subs-per-channel S       subscribers per channel, <= conns (default: all\n"
    "                             connections); channels = ceil(conns*K/S)\n"
    "  --channel-prefix P         (default bench.)\n"
    "  --numsub-min N             before publishing, wait until Redis's PUBSUB\n"
    "                             NUMSUB is >= N on every channel, i.e. the server\n"
    "                             has subscribed (default 1; 0 = do not wait)\n"
    "  --settle SEC               extra wait before publishing (default 0.2)\n"
    "\n"
    "Publishing (round-robin over the channels):\n"
    "  -r, --rate R               messages per second in total, 0 = as fast as\n"
    "                             the pipeline allows (default 1000)\n"
    "  --random                   random channel order: each round still publishes\n"
    "                             once to every channel, but in a scrambled order\n"
    "                             that changes every round (loss stays exact)\n"
    "  -d, --duration SEC         publish for SEC seconds (default 5; 0 = none)\n"
    "  -n, --count N              publish exactly N messages instead\n"
    "  -s, --size BYTES           payload size, >= 42 (default 64)\n"
    "  --pipeline N               PUBLISH commands awaiting a reply (default 1000);\n"
    "                             a payload is stamped when queued, so a Redis\n"
    "                             backlog shows up as latency\n"
    "  --hold SEC                 keep the connections idle SEC before publishing,\n"
    "                             measuring the server's idle CPU (default 0)\n"
    "  --drain SEC                after the last publish, wait at most SEC for\n"
    "                             deliveries; ends early when all arrived or none\n"
    "                             came for 3 s (default 30)\n"
    "\n"
    "Measurement and output:\n"
    "  --server-pid PID[,PID...]  processes whose RSS and CPU (utime+stime from\n"
    "                             /proc) make up the server; summed\n"
    "  --redis-pid PID[,PID...]   Redis's CPU, reported apart\n"
    "  --label NAME               copied into the report (scenario name)\n"
    "  --json                     print one JSON object on stdout instead of text\n"
    "  -q, --quiet                no progress line on stderr\n"
    "  -h, --help                 this text\n"
    "\n"
    "Exit status: 0 run completed (read the report for loss), 1 run failed,\n"
    "2 bad option.\n";

enum {
    OPT_URL = 256,
    OPT_TARGET,
    OPT_PATH,
    OPT_SUBMSG,
    OPT_RESP,
    OPT_REDIS,
    OPT_SRC,
    OPT_CRATE,
    OPT_PENDING,
    OPT_CTIMEOUT,
    OPT_FORK,
    OPT_RCVBUF,
    OPT_MAXMSG,
    OPT_PERCONN,
    OPT_SUBS,
    OPT_PREFIX,
    OPT_NUMSUB,
    OPT_SETTLE,
    OPT_PIPELINE,
    OPT_HOLD,
    OPT_DRAIN,
    OPT_SPID,
    OPT_RPID,
    OPT_LABEL,
    OPT_JSON,
    OPT_RANDOM,
};

static const struct option longopts[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"target", required_argument, NULL, OPT_TARGET},
    {"path", required_argument, NULL, OPT_PATH},
    {"sub-msg", required_argument, NULL, OPT_SUBMSG},
    {"resp", no_argument, NULL, OPT_RESP},
    {"redis", required_argument, NULL, OPT_REDIS},
    {"conns", required_argument, NULL, 'c'},
    {"src", required_argument, NULL, OPT_SRC},
    {"connect-rate", required_argument, NULL, OPT_CRATE},
    {"max-pending", required_argument, NULL, OPT_PENDING},
    {"connect-timeout", required_argument, NULL, OPT_CTIMEOUT},
    {"fork", required_argument, NULL, OPT_FORK},
    {"rcvbuf", required_argument, NULL, OPT_RCVBUF},
    {"max-msg", required_argument, NULL, OPT_MAXMSG},
    {"channels-per-conn", required_argument, NULL, OPT_PERCONN},
    {"subs-per-channel", required_argument, NULL, OPT_SUBS},
    {"channel-prefix", required_argument, NULL, OPT_PREFIX},
    {"numsub-min", required_argument, NULL, OPT_NUMSUB},
    {"settle", required_argument, NULL, OPT_SETTLE},
    {"rate", required_argument, NULL, 'r'},
    {"random", no_argument, NULL, OPT_RANDOM},
    {"duration", required_argument, NULL, 'd'},
    {"count", required_argument, NULL, 'n'},
    {"size", required_argument, NULL, 's'},
    {"pipeline", required_argument, NULL, OPT_PIPELINE},
    {"hold", required_argument, NULL, OPT_HOLD},
    {"drain", required_argument, NULL, OPT_DRAIN},
    {"server-pid", required_argument, NULL, OPT_SPID},
    {"redis-pid", required_argument, NULL, OPT_RPID},
    {"label", required_argument, NULL, OPT_LABEL},
    {"json", no_argument, NULL, OPT_JSON},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Contract: prints "shardcast-bench: --name: msg" and returns -EINVAL, so
 * every rejection names the option the user typed. */
static int bad(const char *name, const char *msg, const char *arg)
{
    if (arg && *arg)
        fprintf(stderr, "shardcast-bench: --%s: %s (got '%s'); see --help\n", name, msg, arg);
    else
        fprintf(stderr, "shardcast-bench: --%s: %s; see --help\n", name, msg);
    return -EINVAL;
}

/* Contract: parses a decimal integer in [lo, hi] into *out; -EINVAL (with a
 * message naming the option) otherwise. */
static int get_u64(const char *name, const char *arg, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || v < lo || v > hi) {
        char msg[96];

        snprintf(msg, sizeof(msg), "expected an integer from %llu to %llu", (unsigned long long)lo,
                 (unsigned long long)hi);
        return bad(name, msg, arg);
    }
    *out = v;
    return 0;
}

/* Contract: parses a message size limit (256 B .. 1 GiB) into *out. */
static int get_size(const char *name, const char *arg, size_t *out)
{
    uint64_t v;
    int rc = get_u64(name, arg, 256, 1u << 30, &v);

    if (rc == 0)
        *out = (size_t)v;
    return rc;
}

static int get_u32(const char *name, const char *arg, uint32_t lo, uint32_t hi, uint32_t *out)
{
    uint64_t v;
    int rc = get_u64(name, arg, lo, hi, &v);

    if (rc == 0)
        *out = (uint32_t)v;
    return rc;
}

/* Contract: parses a finite number in [lo, hi] into *out. */
static int get_double(const char *name, const char *arg, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(v) || v < lo || v > hi) {
        char msg[96];

        snprintf(msg, sizeof(msg), "expected a number from %g to %g", lo, hi);
        return bad(name, msg, arg);
    }
    *out = v;
    return 0;
}

/* Contract: parses a loopback IPv4 address (or "localhost") into *a. The
 * bench only ever drives servers on this machine, so anything else is
 * refused rather than risk load on a real network. */
static int get_ip(const char *name, const char *s, struct in_addr *a)
{
    if (strcmp(s, "localhost") == 0)
        s = "127.0.0.1";
    if (inet_pton(AF_INET, s, a) != 1)
        return bad(name, "expected an IPv4 address", s);
    if ((ntohl(a->s_addr) >> 24) != 127)
        return bad(name, "only loopback addresses (127.0.0.0/8) are allowed", s);
    return 0;
}

/* Contract: parses "IP:PORT" (length len) into *t. */
static int get_hostport(const char *name, const char *s, size_t len, struct sc_target *t)
{
    char buf[64], *colon;
    uint32_t port = 0;
    int rc;

    if (len == 0 || len >= sizeof(buf))
        return bad(name, "expected IP:PORT", s);
    memcpy(buf, s, len);
    buf[len] = '\0';
    colon = strrchr(buf, ':');
    if (!colon)
        return bad(name, "expected IP:PORT", buf);
    *colon = '\0';
    if ((rc = get_ip(name, buf, &t->addr.sin_addr)) < 0)
        return rc;
    if ((rc = get_u32(name, colon + 1, 1, 65535, &port)) < 0)
        return rc;
    t->addr.sin_family = AF_INET;
    t->addr.sin_port = htons((uint16_t)port);
    /* get_ip accepted it, so buf is a dotted quad of at most 15 bytes. */
    snprintf(t->host, sizeof(t->host), "%.15s:%u", buf, port);
    return 0;
}

/* Contract: replaces o->targets with the comma-separated list in s. */
static int get_targets(struct sc_opts *o, const char *name, const char *s)
{
    uint32_t n = 1, i = 0;
    const char *p, *comma;
    struct sc_target *t;
    int rc;

    for (p = s; *p; p++)
        n += *p == ',';
    t = calloc(n, sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (p = s; i < n; i++, p = comma + 1) {
        comma = strchr(p, ',');
        if (!comma)
            comma = p + strlen(p);
        if ((rc = get_hostport(name, p, (size_t)(comma - p), &t[i])) < 0) {
            free(t);
            return rc;
        }
    }
    free(o->targets);
    o->targets = t;
    o->ntargets = n;
    return 0;
}

/* Contract: splits "ws://IP:PORT/PATH" into one target and the path. */
static int get_url(struct sc_opts *o, const char *s)
{
    const char *hp = s + 5, *slash;
    int rc;

    if (strncmp(s, "ws://", 5) != 0)
        return bad("url", "expected ws://IP:PORT/PATH (wss is not supported)", s);
    slash = strchr(hp, '/');
    if (!slash)
        slash = hp + strlen(hp);
    if (!o->targets && !(o->targets = calloc(1, sizeof(*o->targets))))
        return -ENOMEM;
    o->ntargets = 1;
    if ((rc = get_hostport("url", hp, (size_t)(slash - hp), o->targets)) < 0)
        return rc;
    free(o->path);
    o->path = strdup(*slash ? slash : "/");
    return o->path ? 0 : -ENOMEM;
}

/* Contract: parses the --redis URL into *t. The grammar is the node's
 * (shard/sc_redis_url.h); the bench then wants a loopback IPv4 host, as for
 * every target, and sends no AUTH, so credentials are refused. */
static int get_redis(const char *s, struct sc_target *t)
{
    struct sc_redis_url u;
    char hp[sizeof(u.host) + 8];
    int rc = sc_redis_url_parse(s, &u);

    if (rc == -ENOMEM)
        return rc;
    if (rc < 0)
        return bad("redis", "expected redis://IP[:PORT]", s);
    rc = u.password || u.user ? -EINVAL : 0;
    snprintf(hp, sizeof(hp), "%s:%d", u.host, u.port);
    sc_redis_url_free(&u);
    if (rc < 0)
        return bad("redis", "the bench sends no AUTH: no user or password", s);
    return get_hostport("redis", hp, strlen(hp), t);
}

/* Contract: parses "IP" or "IP-IP" (ascending, loopback) into the source
 * range. */
static int get_src(struct sc_opts *o, const char *s)
{
    char buf[64], *dash;
    struct in_addr a, b;
    int rc;

    if (strlen(s) >= sizeof(buf))
        return bad("src", "expected IP or IP-IP", s);
    strcpy(buf, s);
    dash = strchr(buf, '-');
    if (dash)
        *dash = '\0';
    if ((rc = get_ip("src", buf, &a)) < 0)
        return rc;
    b = a;
    if (dash && (rc = get_ip("src", dash + 1, &b)) < 0)
        return rc;
    if (ntohl(b.s_addr) < ntohl(a.s_addr))
        return bad("src", "range must be ascending", s);
    o->src_first = ntohl(a.s_addr);
    o->src_last = ntohl(b.s_addr);
    return 0;
}

/* Contract: parses a comma-separated list of PIDs into a new array. */
static int get_pids(const char *name, const char *s, pid_t **out, int *n)
{
    int cap = 1, i = 0;
    const char *p;
    char *end;
    long v;
    pid_t *pids;

    for (p = s; *p; p++)
        cap += *p == ',';
    if (!(pids = calloc((size_t)cap, sizeof(*pids))))
        return -ENOMEM;
    for (p = s; i < cap; i++, p = end + 1) {
        errno = 0;
        v = strtol(p, &end, 10);
        if (errno || end == p || v <= 0 || v > 0x3fffffff || (*end && *end != ',')) {
            free(pids);
            return bad(name, "expected PID[,PID...]", s);
        }
        pids[i] = (pid_t)v;
    }
    free(*out);
    *out = pids;
    *n = cap;
    return 0;
}

/* Contract: replaces *dst with a copy of s. */
static int set_str(char **dst, const char *s)
{
    char *c = strdup(s);

    if (!c)
        return -ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

/* Contract: applies one option; negative errno on a bad value. */
static int apply(struct sc_opts *o, int c, const char *arg)
{
    switch (c) {
    case OPT_URL: return get_url(o, arg);
    case OPT_TARGET: return get_targets(o, "target", arg);
    case OPT_PATH:
        if (arg[0] != '/')
            return bad("path", "must start with /", arg);
        return set_str(&o->path, arg);
    case OPT_SUBMSG: return set_str(&o->sub_msg, arg);
    case OPT_RESP: o->resp = 1; return 0;
    case OPT_REDIS: return get_redis(arg, &o->redis);
    case 'c': return get_u32("conns", arg, 1, 10000000, &o->conns);
    case OPT_SRC: return get_src(o, arg);
    case OPT_CRATE: return get_double("connect-rate", arg, 0, 1e7, &o->connect_rate);
    case OPT_PENDING: return get_u32("max-pending", arg, 1, 100000, &o->max_pending);
    case OPT_CTIMEOUT: return get_double("connect-timeout", arg, 0.1, 3600, &o->connect_timeout);
    case OPT_FORK: return get_u32("fork", arg, 1, 256, &o->forks);
    case OPT_RCVBUF: return get_u32("rcvbuf", arg, 0, 1u << 30, &o->rcvbuf);
    case OPT_MAXMSG: return get_size("max-msg", arg, &o->max_msg);
    case OPT_PERCONN: return get_u32("channels-per-conn", arg, 1, 256, &o->per_conn);
    case OPT_SUBS: return get_u32("subs-per-channel", arg, 1, 10000000, &o->subs_per_chan);
    case OPT_PREFIX:
        if (!*arg || strlen(arg) > 64 || strpbrk(arg, ",\" \\{}"))
            return bad("channel-prefix", "1-64 bytes without , \" space \\ { }", arg);
        return set_str(&o->prefix, arg);
    case OPT_NUMSUB: return get_u32("numsub-min", arg, 0, 1000000, &o->numsub_min);
    case OPT_SETTLE: return get_double("settle", arg, 0, 3600, &o->settle);
    case 'r': return get_double("rate", arg, 0, 1e8, &o->rate);
    case OPT_RANDOM: o->random_order = 1; return 0;
    case 'd': return get_double("duration", arg, 0, 86400, &o->duration);
    case 'n': o->by_count = 1; return get_u64("count", arg, 0, UINT32_MAX, &o->count);
    case 's': return get_u32("size", arg, SC_PAYLOAD_MIN, 64u << 20, &o->size);
    case OPT_PIPELINE: return get_u32("pipeline", arg, 1, 1000000, &o->pipeline);
    case OPT_HOLD: return get_double("hold", arg, 0, 86400, &o->hold);
    case OPT_DRAIN: return get_double("drain", arg, 0, 86400, &o->drain);
    case OPT_SPID: return get_pids("server-pid", arg, &o->server_pids, &o->nserver);
    case OPT_RPID: return get_pids("redis-pid", arg, &o->redis_pids, &o->nredis);
    case OPT_LABEL: return set_str(&o->label, arg);
    case OPT_JSON: o->json = 1; return 0;
    case 'q': o->quiet = 1; return 0;
    }
    return -EINVAL;
}

/* Contract: fills the defaults documented in the usage text. */
static int defaults(struct sc_opts *o)
{
    struct timespec ts;

    memset(o, 0, sizeof(*o));
    o->conns = 1000;
    o->max_pending = 256;
    o->connect_timeout = 10;
    o->forks = 1;
    o->max_msg = 1 << 20;
    o->per_conn = 1;
    o->numsub_min = 1;
    o->settle = 0.2;
    o->rate = 1000;
    o->duration = 5;
    o->size = 64;
    o->pipeline = 1000;
    o->drain = 30;
    clock_gettime(CLOCK_REALTIME, &ts);
    o->tag = (uint32_t)(ts.tv_nsec ^ ts.tv_sec ^ ((uint32_t)getpid() << 16));
    if (get_hostport("redis", "127.0.0.1:6379", 14, &o->redis) < 0 ||
        set_str(&o->prefix, "bench.") < 0)
        return -ENOMEM;
    return 0;
}

/* Contract: splitmix64's finaliser: a well-mixed 64-bit hash of z. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Contract: the inverse of a modulo n (gcd(a, n) must be 1); 0 when n is 1. */
static uint32_t inverse_mod(uint32_t a, uint32_t n)
{
    int64_t t = 0, nt = 1, r = n, nr = a, q, tmp;

    while (nr) {
        q = r / nr;
        tmp = t - q * nt;
        t = nt;
        nt = tmp;
        tmp = r - q * nr;
        r = nr;
        nr = tmp;
    }
    return (uint32_t)(t < 0 ? t + n : t) % n;
}

static uint32_t gcd_u32(uint32_t a, uint32_t b)
{
    while (b) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Contract: picks the multiplier of the --random permutation, pos -> (a *
 * pos + offset(round)) mod nchan: near nchan / golden ratio (consecutive
 * messages land far apart), jittered by the run tag, coprime with nchan. */
static void choose_perm(struct sc_opts *o)
{
    uint32_t n = o->nchan, a;

    a = (uint32_t)((double)n * 0.6180339887498949);
    a += (uint32_t)(mix64(o->tag) % (n / 16 + 1));
    a %= n;
    while (n > 1 && (a == 0 || gcd_u32(a, n) != 1))
        a = (a + 1) % n;
    o->perm_a = a;
    o->perm_ainv = inverse_mod(a, n);
}

/* Contract: the offset of round r's permutation, in [0, nchan). */
static uint32_t round_offset(const struct sc_opts *o, uint64_t round)
{
    return (uint32_t)(mix64(((uint64_t)o->tag << 32) ^ round) % o->nchan);
}

/* Contract: the channel of publish number k. Round-robin: k mod nchan.
 * --random: round k / nchan visits every channel once, position k mod
 * nchan going to (a * pos + offset(round)) mod nchan, a bijection, so
 * sequence k / nchan + 1 still rises by one per channel and round. */
uint32_t sc_opts_pub_chan(const struct sc_opts *o, uint64_t k)
{
    uint32_t n = o->nchan;
    uint64_t pos = k % n;

    if (!o->random_order)
        return (uint32_t)pos;
    return (uint32_t)(((uint64_t)o->perm_a * pos + round_offset(o, k / n)) % n);
}

/* Contract: how many of the first `total` publishes went to chan, in either
 * order. */
uint64_t sc_opts_published_on(const struct sc_opts *o, uint64_t total, uint32_t chan)
{
    uint32_t n = o->nchan, off;
    uint64_t pos;

    if (!o->random_order)
        return sc_published_on(total, n, chan);
    off = round_offset(o, total / n);
    pos = (uint64_t)o->perm_ainv * ((chan + (uint64_t)n - off) % n) % n;
    return total / n + (pos < total % n ? 1 : 0);
}

/* Contract: cross-option checks and derived values, after all options. */
static int finish(struct sc_opts *o)
{
    uint64_t slots;

    if (!o->targets) {
        o->targets = calloc(1, sizeof(*o->targets));
        if (!o->targets)
            return -ENOMEM;
        o->ntargets = 1;
        if (o->resp)
            o->targets[0] = o->redis;
        else if (get_hostport("target", "127.0.0.1:8080", 14, o->targets) < 0)
            return -EINVAL;
    }
    if (!o->path && set_str(&o->path, "/ws?channels={channels}") < 0)
        return -ENOMEM;
    if (o->subs_per_chan == 0)
        o->subs_per_chan = o->conns;
    if (o->subs_per_chan > o->conns)
        return bad("subs-per-channel", "must not exceed --conns", "");
    slots = (uint64_t)o->conns * o->per_conn;
    o->nchan = (uint32_t)((slots + o->subs_per_chan - 1) / o->subs_per_chan);
    if (o->forks > o->conns)
        return bad("fork", "more processes than connections", "");
    choose_perm(o);
    /* A count, once known, is published in full even when the publisher
     * falls behind its schedule: the report then shows the rate achieved.
     * Only an unthrottled run without a count is bounded by time. */
    if (o->by_count) {
        o->time_limit = 0;
    } else if (o->rate > 0) {
        if (o->rate * o->duration > UINT32_MAX)
            return bad("duration", "rate x duration exceeds 2^32 messages", "");
        o->count = (uint64_t)llround(o->rate * o->duration);
        o->time_limit = 0;
    } else {
        o->count = o->duration > 0 ? UINT32_MAX : 0;
        o->time_limit = o->duration;
    }
    return 0;
}

/* Contract: parses argv into o. Returns 0 to run, 1 when --help was printed
 * (exit 0), -EINVAL after printing why (exit 2), -ENOMEM. */
int sc_opts_parse(struct sc_opts *o, int argc, char **argv)
{
    int c, rc;

    if ((rc = defaults(o)) < 0)
        return rc;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "c:r:d:n:s:qh", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return 1;
        }
        if (c == '?' || c == ':')
            return -EINVAL; /* getopt named the option already */
        if ((rc = apply(o, c, optarg)) < 0)
            return rc;
    }
    if (optind < argc) {
        fprintf(stderr, "shardcast-bench: unexpected argument '%s'; see --help\n", argv[optind]);
        return -EINVAL;
    }
    return finish(o);
}

/* Contract: frees what sc_opts_parse allocated; o may be partly filled. */
void sc_opts_free(struct sc_opts *o)
{
    free(o->targets);
    free(o->path);
    free(o->sub_msg);
    free(o->prefix);
    free(o->server_pids);
    free(o->redis_pids);
    free(o->label);
    memset(o, 0, sizeof(*o));
}

/* Contract: writes PREFIX<chan> NUL-terminated; returns its length (0 if it
 * did not fit). */
size_t sc_opts_channel_name(const struct sc_opts *o, uint32_t chan, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%u", o->prefix, chan);

    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* Contract: writes one channel list for connection conn in the form a
 * placeholder asks for (quoted = JSON strings) at out[*o_len], advancing it;
 * -ENOSPC when cap would be exceeded. */
static int put_channels(const struct sc_opts *o, uint32_t conn, int quoted, char *out, size_t cap,
                        size_t *len)
{
    char name[96];
    uint32_t j;
    size_t n;

    for (j = 0; j < o->per_conn; j++) {
        n = sc_opts_channel_name(o, sc_chan_of(conn, j, o->conns, o->subs_per_chan), name,
                                 sizeof(name));
        if (*len + n + 4 >= cap)
            return -ENOSPC;
        if (j)
            out[(*len)++] = ',';
        if (quoted)
            out[(*len)++] = '"';
        memcpy(out + *len, name, n);
        *len += n;
        if (quoted)
            out[(*len)++] = '"';
    }
    return 0;
}

/* Contract: expands {channels}, {channels_json} and {conn} in tmpl for
 * connection conn into out (NUL-terminated); returns the length or
 * -ENOSPC. Unknown {...} sequences are copied as they are. */
int sc_opts_expand(const struct sc_opts *o, const char *tmpl, uint32_t conn, char *out, size_t cap)
{
    size_t len = 0;
    int rc;

    while (*tmpl) {
        if (strncmp(tmpl, "{channels}", 10) == 0) {
            if ((rc = put_channels(o, conn, 0, out, cap, &len)) < 0)
                return rc;
            tmpl += 10;
        } else if (strncmp(tmpl, "{channels_json}", 15) == 0) {
            if ((rc = put_channels(o, conn, 1, out, cap, &len)) < 0)
                return rc;
            tmpl += 15;
        } else if (strncmp(tmpl, "{conn}", 6) == 0) {
            rc = snprintf(out + len, cap - len, "%u", conn);
            if (rc < 0 || (size_t)rc >= cap - len)
                return -ENOSPC;
            len += (size_t)rc;
            tmpl += 6;
        } else {
            if (len + 1 >= cap)
                return -ENOSPC;
            out[len++] = *tmpl++;
        }
    }
    out[len] = '\0';
    return (int)len;
}
