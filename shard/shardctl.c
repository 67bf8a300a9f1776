/*
 * shardctl - inspect and operate a shardcast cluster through its state in
 * Redis (see server/sc_cluster.h): `list` the shard map with each shard's
 * heartbeat, find the `owner` of a key, `drain` a shard.
 *
 * Every answer comes from Redis alone, never from a node's HTTP port, so
 * the tool works from any host that reaches Redis and agrees with the
 * nodes by construction: the map is parsed and queried with the same
 * shard/ library the nodes use.
 *
 * Exit statuses are part of the interface (scripts test them); they are
 * listed in usage() and docs/shardctl.md.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sc_ctl_redis.h"
#include "sc_names.h"
#include "sc_shard.h"

enum {
    SC_EXIT_OK = 0,
    SC_EXIT_REDIS = 1, /* unreachable, timeout, AUTH, error reply */
    SC_EXIT_USAGE = 2,
    SC_EXIT_UNKNOWN = 3, /* no such shard (or, for owner, no shard) */
    SC_EXIT_NOT_RECEIVED = 4,
    SC_EXIT_TIMEOUT = 5,
    SC_EXIT_BAD_MAP = 6,
};

#define SC_CTL_POLL_MS 200
#define SC_CTL_PROGRESS_MS 5000 /* repeat an unchanged progress line */

struct sc_ctl_opts {
    const char *redis_url;
    const char *password_file;
    const char *prefix;
    long timeout_ms;
    long wait_s;
    int wait_given;
    int json;
    const char *cmd;
    char **args;
    int nargs;
};

struct sc_ctl {
    struct sc_ctl_opts o;
    struct sc_ctl_redis r;
    char key_map[SC_NAME_MAX + 8];
    char key_hb_prefix[SC_NAME_MAX + 8];
    char channel[SC_NAME_MAX + 16];
};

/* What a shard's heartbeat key holds. */
enum sc_ctl_hb_state { SC_HB_OK, SC_HB_MISSING, SC_HB_INVALID };

struct sc_ctl_hb {
    enum sc_ctl_hb_state state;
    /* Each is -1 when the heartbeat lacks it (or state is not OK). */
    long long connections, started_ms, hb_ms, epoch;
};

static const char usage_text[] =
    "Usage: shardctl [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Inspect and operate a shardcast cluster through its state in Redis.\n"
    "\n"
    "Commands:\n"
    "  list             the shard map: epoch, and per shard its id, URL,\n"
    "                   weight, connections, heartbeat age, start time and\n"
    "                   the map epoch its node last reported\n"
    "  owner KEY        the shard that owns KEY under the current map: ID URL\n"
    "  drain ID         ask shard ID to leave the map, move its clients to\n"
    "                   the other shards and exit; then wait until it is gone\n"
    "\n"
    "Options (anywhere on the line; `--` ends them):\n"
    "  --redis URL      redis://[[user]:password@]host[:port] (default\n"
    "                   redis://127.0.0.1:6379); AUTH when a password is given\n"
    "  --redis-password-file FILE\n"
    "                   the password from FILE (one trailing newline dropped)\n"
    "                   instead of the URL, which is visible in ps; then\n"
    "                   --redis takes redis://[user@]host[:port]\n"
    "  --prefix P       cluster prefix, as the nodes' --cluster-prefix\n"
    "                   (default shardcast)\n"
    "  --timeout MS     Redis connect and command timeout (default 2000)\n"
    "  --wait S         drain: seconds to wait until the shard is gone\n"
    "                   (default 60; 0: do not wait)\n"
    "  --json           machine-readable output: one JSON object\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status:\n"
    "  0  ok\n"
    "  1  Redis unreachable, timed out, AUTH failed or answered an error\n"
    "  2  usage error\n"
    "  3  unknown shard id (owner: the map has no shard at all)\n"
    "  4  drain: no node is listening on the control channel\n"
    "  5  drain: timed out waiting for the shard to be gone\n"
    "  6  the stored map is invalid\n";

static long long now_ms(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Decimal integer in [min, max], whole string. Returns 0 or -1. */
static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Prints "shardctl: <fmt with arg>" and a pointer to --help on stderr.
 * Returns SC_EXIT_USAGE, so that callers can return it directly. */
__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("shardctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'shardctl --help'.\n", stderr);
    return SC_EXIT_USAGE;
}

/* Options and command from argv into *o. Returns SC_EXIT_OK, SC_EXIT_USAGE
 * (message printed), or -1 after printing --help (exit 0). */
static int parse_opts(int argc, char **argv, struct sc_ctl_opts *o)
{
    static const struct option longopts[] = {
        {"redis", required_argument, NULL, 'r'},
        {"redis-password-file", required_argument, NULL, 'P'},
        {"prefix", required_argument, NULL, 'p'},
        {"timeout", required_argument, NULL, 't'},
        {"wait", required_argument, NULL, 'w'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char short_opt[3] = "-?";
    int ch;

    opterr = 0; /* our own messages, without argv[0]'s path */
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'r': o->redis_url = optarg; break;
        case 'P': o->password_file = optarg; break;
        case 'p': o->prefix = optarg; break;
        case 'j': o->json = 1; break;
        case 'h': fputs(usage_text, stdout); return -1;
        case 't':
            if (parse_long(optarg, 1, 3600000, &o->timeout_ms) < 0)
                return usage_error("--timeout: expected milliseconds "
                                   "1..3600000, got '%.80s'",
                                   optarg);
            break;
        case 'w':
            if (parse_long(optarg, 0, 86400, &o->wait_s) < 0)
                return usage_error("--wait: expected seconds "
                                   "0..86400, got '%.80s'",
                                   optarg);
            o->wait_given = 1;
            break;
        case ':': return usage_error("%s: missing argument", argv[optind - 1]);
        default:
            short_opt[1] = (char)optopt;
            return usage_error("unknown option '%.80s'", optopt ? short_opt : argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage_error("%s", "missing command (list, owner KEY, drain ID)");
    o->cmd = argv[optind];
    o->args = argv + optind + 1;
    o->nargs = argc - optind - 1;
    if (!sc_name_valid(o->prefix))
        return usage_error("--prefix: expected 1-64 bytes of "
                           "[A-Za-z0-9._:-], got '%.80s'",
                           o->prefix);
    return SC_EXIT_OK;
}

/* Checks the command's arguments. Returns SC_EXIT_OK or SC_EXIT_USAGE. */
static int check_command(const struct sc_ctl_opts *o)
{
    int want;

    if (!strcmp(o->cmd, "list"))
        want = 0;
    else if (!strcmp(o->cmd, "owner") || !strcmp(o->cmd, "drain"))
        want = 1;
    else
        return usage_error("unknown command '%.80s' "
                           "(list, owner KEY, drain ID)",
                           o->cmd);
    if (o->nargs != want)
        return usage_error(want ? "%s: expected exactly one argument" : "%s: takes no arguments",
                           o->cmd);
    if (o->wait_given && strcmp(o->cmd, "drain"))
        return usage_error("%s: --wait applies to drain only", o->cmd);
    /* The node's own rules (sc_names.h), so that `owner` answers exactly
	 * what GET /route would and `drain` never names an impossible id. */
    if (!strcmp(o->cmd, "owner") && !sc_key_valid(o->args[0], strlen(o->args[0])))
        return usage_error("owner: KEY must be 1-128 bytes of printable "
                           "ASCII without spaces, got '%.80s'",
                           o->args[0]);
    if (!strcmp(o->cmd, "drain") && !sc_name_valid(o->args[0]))
        return usage_error("drain: ID must be 1-64 bytes of "
                           "[A-Za-z0-9._:-], got '%.80s'",
                           o->args[0]);
    return SC_EXIT_OK;
}

/* --- reading the cluster state ------------------------------------------ */

static int redis_failed(struct sc_ctl *c)
{
    fprintf(stderr, "shardctl: %s\n", c->r.err);
    return SC_EXIT_REDIS;
}

/* A command whose reply must not be an error. Returns the reply, or NULL
 * after printing why (the caller exits SC_EXIT_REDIS). */
static redisReply *command(struct sc_ctl *c, int argc, const char **argv)
{
    redisReply *rep = sc_ctl_redis_cmd(&c->r, argc, argv);

    if (!rep) {
        redis_failed(c);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "shardctl: Redis at %s:%d: %s %s: %s\n", c->r.target.host, c->r.target.port,
                argv[0], argc > 1 ? argv[1] : "", rep->str);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

/* Reads P:map into *out: the stored map, or an empty epoch-0 map when the
 * key does not exist (the nodes read it the same way). Returns SC_EXIT_OK,
 * SC_EXIT_REDIS or SC_EXIT_BAD_MAP, the latter two after printing why. */
static int load_map(struct sc_ctl *c, sc_shardmap **out)
{
    const char *argv[] = {"GET", c->key_map};
    redisReply *rep = sc_ctl_redis_cmd(&c->r, 2, argv);
    char err[200];
    int rc = SC_EXIT_OK;

    if (!rep)
        return redis_failed(c);
    if (rep->type == REDIS_REPLY_NIL) {
        if (sc_shardmap_new(out, 0) < 0)
            rc = (fprintf(stderr, "shardctl: out of memory\n"), SC_EXIT_REDIS);
    } else if (rep->type == REDIS_REPLY_ERROR && !strncmp(rep->str, "WRONGTYPE", 9)) {
        fprintf(stderr, "shardctl: stored map %s is invalid: not a string key\n", c->key_map);
        rc = SC_EXIT_BAD_MAP;
    } else if (rep->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "shardctl: Redis at %s:%d: GET %s: %s\n", c->r.target.host,
                c->r.target.port, c->key_map,
                rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
        rc = SC_EXIT_REDIS;
    } else if (sc_shardmap_parse(rep->str, rep->len, out, err, sizeof(err)) < 0) {
        fprintf(stderr, "shardctl: stored map %s is invalid: %s\n", c->key_map, err);
        rc = SC_EXIT_BAD_MAP;
    }
    freeReplyObject(rep);
    return rc;
}

static long long member_int(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);

    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* Decodes one heartbeat value (a GET reply or MGET element; anything but a
 * string is MISSING). A string that is not a JSON object is INVALID: the
 * nodes treat it as no heartbeat at all. */
static void hb_from_reply(const redisReply *e, struct sc_ctl_hb *hb)
{
    json_t *o = NULL;

    hb->connections = hb->started_ms = hb->hb_ms = hb->epoch = -1;
    if (e->type != REDIS_REPLY_STRING) {
        hb->state = SC_HB_MISSING;
        return;
    }
    o = json_loadb(e->str, e->len, 0, NULL);
    if (!json_is_object(o)) {
        hb->state = SC_HB_INVALID;
        json_decref(o);
        return;
    }
    hb->state = SC_HB_OK;
    hb->connections = member_int(o, "connections");
    hb->started_ms = member_int(o, "started_ms");
    hb->hb_ms = member_int(o, "hb_ms");
    hb->epoch = member_int(o, "epoch");
    json_decref(o);
}

/* Heartbeats of every shard in map, in map order, into hb[] (count
 * entries). One MGET, so they are read at one instant. Returns SC_EXIT_OK
 * or SC_EXIT_REDIS (printed). */
static int load_heartbeats(struct sc_ctl *c, const sc_shardmap *map, struct sc_ctl_hb *hb)
{
    size_t n = sc_shardmap_count(map);
    const char **argv = calloc(n + 1, sizeof(*argv));
    char **keys = calloc(n + 1, sizeof(*keys));
    redisReply *rep = NULL;
    int rc = SC_EXIT_REDIS;

    if (!argv || !keys)
        goto out;
    argv[0] = "MGET";
    for (size_t i = 0; i < n; i++) {
        const char *id = sc_shardmap_at(map, i)->id;
        size_t len = strlen(c->key_hb_prefix) + strlen(id) + 1;
        if (!(keys[i] = malloc(len)))
            goto out;
        snprintf(keys[i], len, "%s%s", c->key_hb_prefix, id);
        argv[i + 1] = keys[i];
    }
    if (n > 0 && !(rep = command(c, (int)n + 1, argv)))
        goto done;
    if (rep && (rep->type != REDIS_REPLY_ARRAY || rep->elements != n)) {
        fprintf(stderr, "shardctl: Redis at %s:%d: MGET: unexpected reply\n", c->r.target.host,
                c->r.target.port);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        hb_from_reply(rep->element[i], &hb[i]);
    rc = SC_EXIT_OK;
    goto done;
out:
    fprintf(stderr, "shardctl: out of memory\n");
done:
    freeReplyObject(rep);
    for (size_t i = 0; keys && i < n; i++)
        free(keys[i]);
    free(keys);
    free(argv);
    return rc;
}

/* The heartbeat of one shard. Returns SC_EXIT_OK or SC_EXIT_REDIS. */
static int load_heartbeat(struct sc_ctl *c, const char *id, struct sc_ctl_hb *hb)
{
    char key[2 * SC_NAME_MAX + 16];
    const char *argv[] = {"GET", key};
    redisReply *rep;

    snprintf(key, sizeof(key), "%s%s", c->key_hb_prefix, id);
    if (!(rep = sc_ctl_redis_cmd(&c->r, 2, argv)))
        return redis_failed(c);
    if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "WRONGTYPE", 9)) {
        fprintf(stderr, "shardctl: Redis at %s:%d: GET %s: %s\n", c->r.target.host,
                c->r.target.port, key, rep->str);
        freeReplyObject(rep);
        return SC_EXIT_REDIS;
    }
    /* A key that is not a string reads as missing, as the nodes' MGET of
	 * the heartbeats (nil for it) does. */
    hb_from_reply(rep, hb);
    freeReplyObject(rep);
    return SC_EXIT_OK;
}

/* --- list ---------------------------------------------------------------- */

enum { COL_ID, COL_URL, COL_WEIGHT, COL_CONNS, COL_HB, COL_STARTED, COL_EPOCH, NCOLS };

static const char *const col_head[NCOLS] = {"ID",        "URL",     "WEIGHT", "CONNS",
                                            "HEARTBEAT", "STARTED", "EPOCH"};
static const int col_right[NCOLS] = {0, 0, 1, 1, 1, 1, 1};

struct sc_ctl_row {
    char cell[NCOLS][SC_SHARD_URL_MAX + 1];
};

/* "42s ago", "3m07s ago", "5h02m ago", "12d04h ago": how long ago a time
 * `ms` milliseconds back was. */
static void fmt_age(char *out, size_t len, long long ms)
{
    long long s = ms / 1000;

    if (s < 0) /* the node's clock is ahead of ours */
        snprintf(out, len, "in %llds", -s);
    else if (s < 60)
        snprintf(out, len, "%llds ago", s);
    else if (s < 3600)
        snprintf(out, len, "%lldm%02llds ago", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, len, "%lldh%02lldm ago", s / 3600, s % 3600 / 60);
    else
        snprintf(out, len, "%lldd%02lldh ago", s / 86400, s % 86400 / 3600);
}

static void fill_row(struct sc_ctl_row *r, const struct sc_shard *s, const struct sc_ctl_hb *hb,
                     long long now)
{
    const size_t w = sizeof(r->cell[0]);

    snprintf(r->cell[COL_ID], w, "%s", s->id);
    snprintf(r->cell[COL_URL], w, "%s", s->url);
    snprintf(r->cell[COL_WEIGHT], w, "%u", (unsigned)s->weight);
    for (int i = COL_CONNS; i < NCOLS; i++)
        snprintf(r->cell[i], w, "-");
    if (hb->state != SC_HB_OK) {
        snprintf(r->cell[COL_HB], w, "%s", hb->state == SC_HB_MISSING ? "missing" : "invalid");
        return;
    }
    if (hb->connections >= 0)
        snprintf(r->cell[COL_CONNS], w, "%lld", hb->connections);
    if (hb->hb_ms >= 0)
        snprintf(r->cell[COL_HB], w, "%.1fs", (double)(now - hb->hb_ms) / 1000.0);
    if (hb->started_ms >= 0)
        fmt_age(r->cell[COL_STARTED], w, now - hb->started_ms);
    if (hb->epoch >= 0)
        snprintf(r->cell[COL_EPOCH], w, "%lld", hb->epoch);
}

/* Prints rows[0..n) (rows[0] is the header) in aligned columns. */
static void print_rows(const struct sc_ctl_row *rows, size_t n)
{
    int width[NCOLS] = {0};

    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < NCOLS; k++) {
            int len = (int)strlen(rows[i].cell[k]);
            if (len > width[k])
                width[k] = len;
        }
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < NCOLS; k++) {
            const char *sep = k + 1 < NCOLS ? "  " : "\n";
            if (k + 1 == NCOLS && !col_right[k])
                printf("%s%s", rows[i].cell[k], sep);
            else
                printf(col_right[k] ? "%*s%s" : "%-*s%s", width[k], rows[i].cell[k], sep);
        }
    }
}

static int list_table(const struct sc_ctl *c, const sc_shardmap *map, const struct sc_ctl_hb *hb)
{
    size_t n = sc_shardmap_count(map), missing = 0, invalid = 0;
    struct sc_ctl_row *rows = calloc(n + 1, sizeof(*rows));
    long long now = now_ms(CLOCK_REALTIME);

    if (!rows) {
        fprintf(stderr, "shardctl: out of memory\n");
        return SC_EXIT_REDIS;
    }
    printf("map %s: epoch %llu, %zu shard%s\n", c->key_map,
           (unsigned long long)sc_shardmap_epoch(map), n, n == 1 ? "" : "s");
    for (int k = 0; k < NCOLS; k++)
        snprintf(rows[0].cell[k], sizeof(rows[0].cell[k]), "%s", col_head[k]);
    for (size_t i = 0; i < n; i++) {
        fill_row(&rows[i + 1], sc_shardmap_at(map, i), &hb[i], now);
        missing += hb[i].state == SC_HB_MISSING;
        invalid += hb[i].state == SC_HB_INVALID;
    }
    if (n > 0)
        print_rows(rows, n + 1);
    if (missing)
        printf("missing: no heartbeat; the nodes remove such a shard "
               "from the map at their next check\n");
    if (invalid)
        printf("invalid: the heartbeat is not a JSON object; the nodes "
               "treat it as missing\n");
    free(rows);
    return SC_EXIT_OK;
}

static json_t *int_or_null(long long v)
{
    return v >= 0 ? json_integer((json_int_t)v) : json_null();
}

static json_t *shard_json(const struct sc_shard *s, const struct sc_ctl_hb *hb, long long now)
{
    static const char *const state[] = {"ok", "missing", "invalid"};

    return json_pack("{s:s,s:s,s:I,s:s,s:o,s:o,s:o,s:o,s:o}", "id", s->id, "url", s->url, "weight",
                     (json_int_t)s->weight, "heartbeat", state[hb->state], "connections",
                     int_or_null(hb->connections), "heartbeat_ms", int_or_null(hb->hb_ms),
                     "heartbeat_age_ms",
                     hb->hb_ms >= 0 ? json_integer(now - hb->hb_ms) : json_null(), "started_ms",
                     int_or_null(hb->started_ms), "node_epoch", int_or_null(hb->epoch));
}

/* Prints o as one compact line and frees it. */
static int print_json(json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    if (!text) {
        fprintf(stderr, "shardctl: out of memory\n");
        return SC_EXIT_REDIS;
    }
    puts(text);
    free(text);
    return SC_EXIT_OK;
}

static int list_json(const sc_shardmap *map, const struct sc_ctl_hb *hb)
{
    json_t *arr = json_array();
    long long now = now_ms(CLOCK_REALTIME);

    for (size_t i = 0; arr && i < sc_shardmap_count(map); i++) {
        json_t *s = shard_json(sc_shardmap_at(map, i), &hb[i], now);
        if (json_array_append_new(arr, s) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    if (!arr)
        return print_json(NULL);
    return print_json(
        json_pack("{s:I,s:o}", "epoch", (json_int_t)sc_shardmap_epoch(map), "shards", arr));
}

static int cmd_list(struct sc_ctl *c)
{
    sc_shardmap *map = NULL;
    struct sc_ctl_hb *hb = NULL;
    int rc = load_map(c, &map);

    if (rc != SC_EXIT_OK)
        return rc;
    hb = calloc(sc_shardmap_count(map) + 1, sizeof(*hb));
    if (!hb)
        rc = (fprintf(stderr, "shardctl: out of memory\n"), SC_EXIT_REDIS);
    else if ((rc = load_heartbeats(c, map, hb)) == SC_EXIT_OK)
        rc = c->o.json ? list_json(map, hb) : list_table(c, map, hb);
    free(hb);
    sc_shardmap_free(map);
    return rc;
}

/* --- owner ---------------------------------------------------------------- */

static int cmd_owner(struct sc_ctl *c)
{
    const char *key = c->o.args[0];
    const struct sc_shard *s;
    sc_shardmap *map = NULL;
    int rc = load_map(c, &map);

    if (rc != SC_EXIT_OK)
        return rc;
    if (sc_shardmap_owner(map, key, strlen(key), &s) < 0) {
        fprintf(stderr,
                "shardctl: no shard owns '%s': the map %s is "
                "empty (epoch %llu)\n",
                key, c->key_map, (unsigned long long)sc_shardmap_epoch(map));
        rc = SC_EXIT_UNKNOWN;
    } else if (c->o.json) {
        /* Same members, same order as the node's GET /route. */
        rc = print_json(json_pack("{s:s,s:s,s:I}", "shard", s->id, "url", s->url, "epoch",
                                  (json_int_t)sc_shardmap_epoch(map)));
    } else {
        printf("%s %s\n", s->id, s->url);
    }
    sc_shardmap_free(map);
    return rc;
}

/* --- drain ---------------------------------------------------------------- */

/* "a, b, c" (the first few ids) for an error message. */
static void list_ids(const sc_shardmap *map, char *out, size_t len)
{
    size_t n = sc_shardmap_count(map), used = 0;

    out[0] = 0;
    for (size_t i = 0; i < n && used + 1 < len; i++) {
        int w = snprintf(out + used, len - used, "%s%s", i ? ", " : "",
                         i < 8 ? sc_shardmap_at(map, i)->id : "...");
        if (w < 0)
            break;
        used += (size_t)w;
        if (i >= 8)
            break;
    }
    if (!n)
        snprintf(out, len, "none");
}

/* Exits SC_EXIT_OK if id is in the map, else SC_EXIT_UNKNOWN (or the
 * load_map() failure), printed. */
static int check_member(struct sc_ctl *c, const char *id)
{
    sc_shardmap *map = NULL;
    char ids[600];
    int rc = load_map(c, &map);

    if (rc != SC_EXIT_OK)
        return rc;
    if (!sc_shardmap_find(map, id)) {
        list_ids(map, ids, sizeof(ids));
        fprintf(stderr,
                "shardctl: unknown shard '%s': not in the map %s "
                "(epoch %llu; shards: %s)\n",
                id, c->key_map, (unsigned long long)sc_shardmap_epoch(map), ids);
        rc = SC_EXIT_UNKNOWN;
    }
    sc_shardmap_free(map);
    return rc;
}

/* Where the drained shard stands, as one poll saw it. */
struct sc_ctl_drain_state {
    int in_map;
    unsigned long long epoch;
    struct sc_ctl_hb hb;
};

static int drain_poll(struct sc_ctl *c, const char *id, struct sc_ctl_drain_state *st)
{
    sc_shardmap *map = NULL;
    int rc = load_map(c, &map);

    if (rc != SC_EXIT_OK)
        return rc;
    st->in_map = sc_shardmap_find(map, id) != NULL;
    st->epoch = (unsigned long long)sc_shardmap_epoch(map);
    sc_shardmap_free(map);
    return load_heartbeat(c, id, &st->hb);
}

static void drain_describe(const struct sc_ctl_drain_state *st, char *out, size_t len)
{
    char conns[48] = "";

    if (st->hb.state == SC_HB_OK && st->hb.connections >= 0)
        snprintf(conns, sizeof(conns), ", %lld connection%s left", st->hb.connections,
                 st->hb.connections == 1 ? "" : "s");
    snprintf(out, len, "%s the map (epoch %llu), heartbeat %s%s", st->in_map ? "in" : "out of",
             st->epoch,
             st->hb.state == SC_HB_OK        ? "present"
             : st->hb.state == SC_HB_MISSING ? "gone"
                                             : "invalid",
             conns);
}

static int drain_result(const struct sc_ctl *c, const char *id, long long received, json_t *gone,
                        long long elapsed_ms)
{
    if (!c->o.json) {
        json_decref(gone);
        return SC_EXIT_OK;
    }
    return print_json(json_pack("{s:s,s:I,s:o,s:I}", "shard", id, "received", (json_int_t)received,
                                "gone", gone, "elapsed_ms", (json_int_t)elapsed_ms));
}

/* Polls until id is out of the map and its heartbeat key is gone, printing
 * a line whenever that changes (and every SC_CTL_PROGRESS_MS). Progress
 * goes to stderr under --json so that stdout holds only the result. */
static int drain_wait(struct sc_ctl *c, const char *id, long long received)
{
    FILE *out = c->o.json ? stderr : stdout;
    long long start = now_ms(CLOCK_MONOTONIC), last_print = -SC_CTL_PROGRESS_MS;
    long long deadline = start + c->o.wait_s * 1000;
    char line[200], prev[200] = "";
    struct sc_ctl_drain_state st;

    for (;;) {
        int rc = drain_poll(c, id, &st);
        long long now = now_ms(CLOCK_MONOTONIC);
        if (rc != SC_EXIT_OK)
            return rc;
        if (!st.in_map && st.hb.state == SC_HB_MISSING) {
            fprintf(out,
                    "%s is gone: out of the map (epoch %llu), "
                    "heartbeat deleted, after %.1fs\n",
                    id, st.epoch, (double)(now - start) / 1000.0);
            drain_result(c, id, received, json_true(), now - start);
            return SC_EXIT_OK;
        }
        drain_describe(&st, line, sizeof(line));
        if (strcmp(line, prev) || now - last_print >= SC_CTL_PROGRESS_MS) {
            fprintf(out, "%6.1fs  %s: %s\n", (double)(now - start) / 1000.0, id, line);
            fflush(out);
            snprintf(prev, sizeof(prev), "%s", line);
            last_print = now;
        }
        if (now >= deadline) {
            fprintf(stderr,
                    "shardctl: timed out after %lds waiting "
                    "for %s to be gone: %s\n",
                    c->o.wait_s, id, line);
            drain_result(c, id, received, json_false(), now - start);
            return SC_EXIT_TIMEOUT;
        }
        sleep_ms(deadline - now < SC_CTL_POLL_MS ? deadline - now : SC_CTL_POLL_MS);
    }
}

static int cmd_drain(struct sc_ctl *c)
{
    const char *id = c->o.args[0];
    char msg[SC_NAME_MAX + 8];
    const char *argv[] = {"PUBLISH", c->channel, msg};
    redisReply *rep;
    long long received;
    int rc = check_member(c, id);

    if (rc != SC_EXIT_OK)
        return rc;
    snprintf(msg, sizeof(msg), "drain %s", id);
    if (!(rep = command(c, 3, argv)))
        return SC_EXIT_REDIS;
    received = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
    freeReplyObject(rep);
    if (received <= 0) {
        fprintf(stderr,
                "shardctl: drain %s: no node with that id is "
                "listening on %s (nobody received the request)\n",
                id, c->channel);
        drain_result(c, id, 0, json_false(), 0);
        return SC_EXIT_NOT_RECEIVED;
    }
    /* Every node of the prefix listens on the channel; only the one with
	 * this id acts on the message. */
    fprintf(c->o.json ? stderr : stdout,
            "drain %s: request received by %lld node%s listening on %s\n", id, received,
            received == 1 ? "" : "s", c->channel);
    if (c->o.wait_s == 0)
        return drain_result(c, id, received, json_null(), 0);
    return drain_wait(c, id, received);
}

/* --- main ----------------------------------------------------------------- */

static int run(struct sc_ctl *c)
{
    char err[256];
    int rc;

    snprintf(c->key_map, sizeof(c->key_map), "%s:map", c->o.prefix);
    snprintf(c->key_hb_prefix, sizeof(c->key_hb_prefix), "%s:hb:", c->o.prefix);
    snprintf(c->channel, sizeof(c->channel), "%s:control", c->o.prefix);
    if (sc_ctl_target_parse(c->o.redis_url, c->o.password_file, &c->r.target, err, sizeof(err)) < 0)
        return usage_error("%s", err);
    c->r.timeout_ms = c->o.timeout_ms;
    if (sc_ctl_redis_connect(&c->r) < 0)
        return redis_failed(c);
    if (!strcmp(c->o.cmd, "list"))
        rc = cmd_list(c);
    else if (!strcmp(c->o.cmd, "owner"))
        rc = cmd_owner(c);
    else
        rc = cmd_drain(c);
    return rc;
}

int main(int argc, char **argv)
{
    struct sc_ctl c = {
        .o = {.redis_url = "redis://127.0.0.1:6379",
              .prefix = "shardcast",
              .timeout_ms = 2000,
              .wait_s = 60},
    };
    int rc = parse_opts(argc, argv, &c.o);

    if (rc < 0) /* --help */
        rc = SC_EXIT_OK;
    else if (rc == SC_EXIT_OK && (rc = check_command(&c.o)) == SC_EXIT_OK)
        rc = run(&c);
    sc_ctl_redis_close(&c.r);
    /* A result that did not reach stdout (closed pipe, full disk) is no
	 * success for a script. */
    if (fflush(stdout) != 0 && rc == SC_EXIT_OK) {
        fprintf(stderr, "shardctl: writing the output: %s\n", strerror(errno));
        rc = SC_EXIT_REDIS;
    }
    return rc;
}
