/* sc_config: defaults, JSON file and command-line flags, one table. */
#include "sc_config.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_log.h"
#include "sc_names.h"
#include "sc_redis_url.h"

#ifndef SC_VERSION
#define SC_VERSION "dev"
#endif

enum opt_type { OPT_INT, OPT_STR, OPT_BOOL };

struct opt {
    const char *name; /* flag without "--"; JSON key has '_' for '-' */
    enum opt_type type;
    size_t off;
    long min, max;
    const char *def; /* default, as text, for --help */
    const char *help;
};

#define F(field) offsetof(struct sc_config, field)

static const struct opt opts[] = {
    {"host", OPT_STR, F(host), 0, 0, "all addresses", "address to listen on"},
    {"port", OPT_INT, F(port), 1, 65535, "8080", "TCP port for WebSocket and HTTP"},
    {"redis", OPT_STR, F(redis_url), 0, 0, "redis://127.0.0.1:6379",
     "Redis URL, redis://[[user]:password@]host[:port] (or [user@] with "
     "--redis-password-file)"},
    {"redis-password-file", OPT_STR, F(redis_password_file), 0, 0, "none",
     "file holding the Redis password, read at start-up (keeps it out of ps)"},
    {"web-root", OPT_STR, F(web_root), 0, 0, "installed demo", "directory served at /"},
    {"log-level", OPT_STR, F(log_level), 0, 0, "info", "error, warn, info or debug"},
    {"max-connections", OPT_INT, F(max_connections), 0, 10000000, "0",
     "WebSocket connections held at once, more get HTTP 503; 0 = open-files limit - 64"},
    {"max-message-size", OPT_INT, F(max_message_size), 64, 16777216, "16384",
     "bytes in one incoming message; more closes with 1009"},
    {"max-channels", OPT_INT, F(max_channels), 1, 100000, "64", "subscriptions per connection"},
    {"max-channel-length", OPT_INT, F(max_channel_length), 1, 4096, "128",
     "bytes in a channel name"},
    {"channel-bytes", OPT_STR, F(channel_bytes), 0, 0, "ascii",
     "ascii (printable, no space or comma) or utf8 (no controls or comma)"},
    {"max-queue-bytes", OPT_INT, F(max_queue_bytes), 1024, 1L << 30, "1048576",
     "send queue bound per connection; past it the client is closed with 4100"},
    {"handshake-timeout", OPT_INT, F(handshake_timeout), 1, 3600, "10",
     "seconds to complete the HTTP request and WebSocket upgrade"},
    {"max-handshakes", OPT_INT, F(max_handshakes), 16, 32767, "8192",
     "connections in their HTTP/upgrade phase at once (4 KiB of headers each)"},
    {"max-requests-per-second", OPT_INT, F(max_requests_per_second), 1, 100000, "50",
     "client requests per second per connection (burst as large); excess: rate_limited"},
    {"ping-interval", OPT_INT, F(ping_interval), 1, 86400, "25",
     "seconds of silence before the node pings a client"},
    {"pong-timeout", OPT_INT, F(pong_timeout), 1, 3600, "10",
     "seconds to answer a ping; then the client is closed with 4101"},
    {"shutdown-timeout", OPT_INT, F(shutdown_timeout), 1, 600, "5",
     "seconds to wait for clients to close on SIGTERM before exiting"},
    {"redis-ping-interval", OPT_INT, F(redis_ping_interval), 50, 600000, "1000",
     "milliseconds between liveness checks of the Redis connection"},
    {"redis-timeout", OPT_INT, F(redis_timeout), 100, 600000, "3000",
     "milliseconds without an answer before Redis is declared down"},
    {"redis-backoff-min", OPT_INT, F(redis_backoff_min), 1, 600000, "100",
     "first reconnect delay cap, milliseconds (full jitter below it)"},
    {"redis-backoff-max", OPT_INT, F(redis_backoff_max), 1, 3600000, "10000",
     "largest reconnect delay cap, milliseconds"},
    {"redis-batch", OPT_INT, F(redis_batch), 1, 100000, "1000",
     "channels per SUBSCRIBE or UNSUBSCRIBE command"},
    {"shard-id", OPT_STR, F(shard_id), 0, 0, "none (standalone)",
     "join the cluster under this id ([A-Za-z0-9._:-], 1-64 bytes)"},
    {"advertise-url", OPT_STR, F(advertise_url), 0, 0, "ws://HOST:PORT/ws",
     "WebSocket URL clients are sent to for this shard"},
    {"weight", OPT_INT, F(weight), 1, 1000000, "1", "share of keys relative to other shards"},
    {"cluster-prefix", OPT_STR, F(cluster_prefix), 0, 0, "shardcast",
     "prefix of the cluster's Redis keys and control channel"},
    {"heartbeat-ttl", OPT_INT, F(heartbeat_ttl), 300, 600000, "5000",
     "milliseconds after its last heartbeat a silent shard leaves the map"},
    {"move-rate", OPT_INT, F(move_rate), 0, 1000000, "0",
     "clients moved per second when the map changes; 0 = spread over 5 s"},
    {"drain", OPT_BOOL, F(drain), 0, 1, "false",
     "on SIGTERM, leave the map and move clients away before exiting"},
    {"auth", OPT_STR, F(auth), 0, 0, "off",
     "off (anyone reads anything), optional, or required: see docs/security.md"},
    {"jwt-secret-file", OPT_STR, F(jwt_secret_file), 0, 0, "none",
     "file holding the HS256 secret (at least 32 bytes)"},
    {"jwt-public-key-file", OPT_STR, F(jwt_public_key_file), 0, 0, "none",
     "PEM public key for RS256 (RSA) or ES256 (P-256) tokens"},
    {"jwks-file", OPT_STR, F(jwks_file), 0, 0, "none", "JWKS file of public keys"},
    {"jwt-audience", OPT_STR, F(jwt_audience), 0, 0, "not checked", "required aud claim"},
    {"jwt-issuer", OPT_STR, F(jwt_issuer), 0, 0, "not checked", "required iss claim"},
    {"jwt-leeway", OPT_INT, F(jwt_leeway), 0, 600, "30", "seconds of clock skew on exp/nbf"},
    {"public-channels", OPT_STR, F(public_channels), 0, 0, "none",
     "comma-separated channels or globs anyone may read"},
    {"user-namespaces", OPT_STR, F(user_namespaces), 0, 0, "none",
     "comma-separated templates like user.{sub}.* a token's subject may read"},
    {"allowed-origins", OPT_STR, F(allowed_origins), 0, 0, "any",
     "comma-separated browser Origins allowed to connect; others get 403"},
    {"tls-cert", OPT_STR, F(tls_cert), 0, 0, "none",
     "PEM certificate chain: serve wss:// and https://"},
    {"tls-key", OPT_STR, F(tls_key), 0, 0, "none", "PEM private key for --tls-cert"},
    {"tls-ciphers", OPT_STR, F(tls_ciphers), 0, 0, "ECDHE with AES-GCM or ChaCha20-Poly1305",
     "TLS 1.2 cipher suites, OpenSSL syntax (TLS 1.3 has AEAD suites only)"},
    {"tls-min-version", OPT_STR, F(tls_min_version), 0, 0, "1.2",
     "oldest TLS version served: 1.2 or 1.3"},
    {"key-from-token", OPT_BOOL, F(key_from_token), 0, 1, "true",
     "a token's subject is the client's shard key (false: use ?key=)"},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* The words a boolean takes, on the command line and in --help. */
static const char *const bool_true[] = {"true", "yes", "on", "1"};
static const char *const bool_false[] = {"false", "no", "off", "0"};

/* Returns 1 or 0 for a boolean word, -1 for anything else. */
static int bool_word(const char *s)
{
    for (size_t i = 0; i < sizeof(bool_true) / sizeof(bool_true[0]); i++) {
        if (!strcmp(s, bool_true[i]))
            return 1;
        if (!strcmp(s, bool_false[i]))
            return 0;
    }
    return -1;
}

void sc_config_error(const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "shardcast: %s\n", line);
}

static const struct opt *opt_find(const char *name, size_t len, int json)
{
    for (size_t i = 0; i < NOPTS; i++) {
        const char *n = opts[i].name;
        size_t j;
        if (strlen(n) != len)
            continue;
        for (j = 0; j < len; j++) {
            char c = json && n[j] == '-' ? '_' : n[j];
            if (c != name[j])
                break;
        }
        if (j == len)
            return &opts[i];
    }
    return NULL;
}

/* Store one value given as text. Returns 0 or -EINVAL with err set. */
static int opt_set_text(struct sc_config *cfg, const struct opt *o, const char *val, char *err,
                        size_t errlen)
{
    char *p = (char *)cfg + o->off;

    if (o->type == OPT_STR) {
        char *dup = strdup(val);
        if (!dup) {
            snprintf(err, errlen, "out of memory");
            return -EINVAL;
        }
        free(*(char **)p);
        *(char **)p = dup;
        return 0;
    }
    if (o->type == OPT_BOOL) {
        int b = bool_word(val);
        if (b < 0) {
            snprintf(err, errlen,
                     "%s: expected true or false (or yes/no, on/off, 1/0), "
                     "got '%.64s'",
                     o->name, val);
            return -EINVAL;
        }
        *(long *)p = b;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end || v < o->min || v > o->max) {
        snprintf(err, errlen, "%s: expected an integer from %ld to %ld, got '%.64s'", o->name,
                 o->min, o->max, val);
        return -EINVAL;
    }
    *(long *)p = v;
    return 0;
}

void sc_config_defaults(struct sc_config *cfg)
{
    char err[16];

    memset(cfg, 0, sizeof(*cfg));
    /* String defaults are descriptions ("none", "1.2"): NULL stands for
     * them, so that "given" and "left at the default" stay apart. */
    for (size_t i = 0; i < NOPTS; i++)
        if ((opts[i].type == OPT_INT && opts[i].def[0] >= '0' && opts[i].def[0] <= '9') ||
            opts[i].type == OPT_BOOL)
            opt_set_text(cfg, &opts[i], opts[i].def, err, sizeof(err));
}

/* The option a near miss meant: the name respelled with '_' for '-' (a
 * JSON key written as a flag) or '-' for '_' (a flag written as a key).
 * NULL when there is none. */
static const struct opt *opt_respelled(const char *name, size_t len, int json)
{
    char buf[64];

    if (len >= sizeof(buf))
        return NULL;
    for (size_t j = 0; j < len; j++)
        buf[j] = json && name[j] == '-' ? '_' : !json && name[j] == '_' ? '-' : name[j];
    return memcmp(buf, name, len) ? opt_find(buf, len, json) : NULL;
}

/* JSON values may be numbers or strings of the right type; anything else
 * names the key and fails. */
static int json_set(struct sc_config *cfg, const char *key, json_t *v, char *err, size_t errlen)
{
    const struct opt *o = opt_find(key, strlen(key), 1);
    char num[32];

    if (!o) {
        char meant[64];
        if ((o = opt_respelled(key, strlen(key), 1))) {
            snprintf(meant, sizeof(meant), "%s", o->name);
            for (char *c = meant; *c; c++)
                *c = *c == '-' ? '_' : *c;
            snprintf(err, errlen, "unknown key '%.64s' (did you mean '%s'?)", key, meant);
        } else {
            snprintf(err, errlen, "unknown key '%.64s'", key);
        }
        return -EINVAL;
    }
    if (o->type == OPT_INT && json_is_integer(v)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        return opt_set_text(cfg, o, num, err, errlen);
    }
    if (o->type == OPT_STR && json_is_string(v))
        return opt_set_text(cfg, o, json_string_value(v), err, errlen);
    if (o->type == OPT_BOOL && json_is_boolean(v))
        return opt_set_text(cfg, o, json_is_true(v) ? "1" : "0", err, errlen);
    snprintf(err, errlen, "%s: expected %s", key,
             o->type == OPT_INT    ? "an integer"
             : o->type == OPT_BOOL ? "true or false"
                                   : "a string");
    return -EINVAL;
}

int sc_config_load_json(struct sc_config *cfg, const char *text, size_t len, char *err,
                        size_t errlen)
{
    json_error_t jerr;
    const char *key;
    json_t *root, *v;
    int rc = 0;

    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "line %d: %s", jerr.line, jerr.text);
        return -EINVAL;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "the top level must be a JSON object");
        rc = -EINVAL;
        goto out;
    }
    json_object_foreach(root, key, v)
    {
        if ((rc = json_set(cfg, key, v, err, errlen)) < 0)
            break;
    }
out:
    json_decref(root);
    return rc;
}

/* Read at most 1 MiB: a config file is small, and a bound keeps a wrong
 * path (a device, a huge log) from stalling start-up. */
static int config_read_file(struct sc_config *cfg, const char *path, char *err, size_t errlen)
{
    enum { MAX_FILE = 1 << 20 };
    FILE *f = fopen(path, "rb");
    char *text;
    size_t n;
    int rc;

    if (!f) {
        snprintf(err, errlen, "config %.200s: %s", path, strerror(errno));
        return -EINVAL;
    }
    text = malloc(MAX_FILE + 1);
    if (!text) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return -EINVAL;
    }
    n = fread(text, 1, MAX_FILE + 1, f);
    rc = ferror(f);
    fclose(f);
    if (rc || n > MAX_FILE) {
        snprintf(err, errlen, "config %.200s: %s", path, rc ? "read error" : "larger than 1 MiB");
        free(text);
        return -EINVAL;
    }
    char sub[200];
    rc = sc_config_load_json(cfg, text, n, sub, sizeof(sub));
    if (rc < 0)
        snprintf(err, errlen, "config %.200s: %s", path, sub);
    free(text);
    return rc;
}

/* The node keeps host, port and credentials apart from the URL text. */
static int parse_redis_url(struct sc_config *cfg, char *err, size_t errlen)
{
    struct sc_redis_url u;
    int rc = sc_redis_url_parse(cfg->redis_url, &u);

    if (rc < 0) {
        char shown[128];
        sc_redis_url_masked(cfg->redis_url, shown, sizeof(shown));
        snprintf(err, errlen, "redis: %s, got '%s'",
                 rc == -ENOMEM ? "out of memory" : "expected redis://[[user]:password@]host[:port]",
                 shown);
        return -EINVAL;
    }
    if (!(cfg->redis_host = strdup(u.host))) {
        sc_redis_url_free(&u);
        snprintf(err, errlen, "out of memory");
        return -EINVAL;
    }
    cfg->redis_port = u.port;
    cfg->redis_user = u.user; /* ownership moves to cfg */
    cfg->redis_password = u.password;
    /* One source for the password, and a user never goes without one
     * (a user alone would send no AUTH at all). */
    if (cfg->redis_password && cfg->redis_password_file) {
        snprintf(err, errlen,
                 "redis-password-file: the --redis URL holds a password "
                 "too; give it in one place");
        return -EINVAL;
    }
    if (cfg->redis_user && !cfg->redis_password && !cfg->redis_password_file) {
        snprintf(err, errlen,
                 "redis: a user needs a password: redis://user:password@host "
                 "or --redis-password-file");
        return -EINVAL;
    }
    return 0;
}

/* Shard ids and prefixes end up in Redis key names and URLs: keep them to
 * a plain alphabet. The URL must be one a browser can open, and one the
 * shard map takes (shard/sc_names.h): a URL it would refuse must stop the
 * node here, not leave it running outside the map. */
static int config_check_cluster(const struct sc_config *cfg, char *err, size_t errlen)
{
    if (cfg->shard_id && !sc_name_valid(cfg->shard_id)) {
        snprintf(err, errlen, "shard-id: 1-64 bytes of [A-Za-z0-9._:-], got '%.80s'",
                 cfg->shard_id);
        return -EINVAL;
    }
    if (!sc_name_valid(cfg->cluster_prefix)) {
        snprintf(err, errlen, "cluster-prefix: 1-64 bytes of [A-Za-z0-9._:-], got '%.80s'",
                 cfg->cluster_prefix);
        return -EINVAL;
    }
    if (cfg->advertise_url &&
        ((strncmp(cfg->advertise_url, "ws://", 5) && strncmp(cfg->advertise_url, "wss://", 6)) ||
         !sc_shard_url_valid(cfg->advertise_url))) {
        snprintf(err, errlen,
                 "advertise-url: expected ws://... or wss://..., at most 255 "
                 "bytes, got '%.80s'",
                 cfg->advertise_url);
        return -EINVAL;
    }
    return 0;
}

/* Key material itself is loaded (and checked) by sc_auth; here only what
 * the options say about each other. */
static int config_check_auth(struct sc_config *cfg, char *err, size_t errlen)
{
    const char *m = cfg->auth ? cfg->auth : "off";

    if (!strcmp(m, "off"))
        cfg->auth_mode = SC_AUTH_OFF;
    else if (!strcmp(m, "optional"))
        cfg->auth_mode = SC_AUTH_OPTIONAL;
    else if (!strcmp(m, "required"))
        cfg->auth_mode = SC_AUTH_REQUIRED;
    else {
        snprintf(err, errlen, "auth: expected off, optional or required, got '%.32s'", m);
        return -EINVAL;
    }
    if (cfg->auth_mode != SC_AUTH_OFF && !cfg->jwt_secret_file && !cfg->jwt_public_key_file &&
        !cfg->jwks_file) {
        snprintf(err, errlen,
                 "auth: %s needs --jwt-secret-file, --jwt-public-key-file or "
                 "--jwks-file",
                 m);
        return -EINVAL;
    }
    return 0;
}

/* The files and the cipher list are checked by sc_tls when the node
 * starts (they need OpenSSL); here how the options fit together. */
static int config_check_tls(struct sc_config *cfg, char *err, size_t errlen)
{
    const char *v = cfg->tls_min_version ? cfg->tls_min_version : "1.2";

    if (!cfg->tls_cert != !cfg->tls_key) {
        snprintf(err, errlen, "%s: --tls-cert and --tls-key go together",
                 cfg->tls_cert ? "tls-key" : "tls-cert");
        return -EINVAL;
    }
    /* A TLS setting on a plain-text node would be a silent no-op. */
    if (!cfg->tls_cert && (cfg->tls_ciphers || cfg->tls_min_version)) {
        snprintf(err, errlen, "%s: applies to TLS only; give --tls-cert and --tls-key too",
                 cfg->tls_ciphers ? "tls-ciphers" : "tls-min-version");
        return -EINVAL;
    }
    if (!strcmp(v, "1.2") || !strcmp(v, "1.3")) {
        cfg->tls_min_minor = v[2] - '0';
        return 0;
    }
    snprintf(err, errlen, "tls-min-version: expected 1.2 or 1.3, got '%.16s'", v);
    return -EINVAL;
}

int sc_config_finish(struct sc_config *cfg, char *err, size_t errlen)
{
    if (!cfg->redis_url && !(cfg->redis_url = strdup("redis://127.0.0.1:6379")))
        goto nomem;
    if (!cfg->log_level && !(cfg->log_level = strdup("info")))
        goto nomem;
    if (!cfg->channel_bytes && !(cfg->channel_bytes = strdup("ascii")))
        goto nomem;
    if (!cfg->cluster_prefix && !(cfg->cluster_prefix = strdup("shardcast")))
        goto nomem;
    if (config_check_cluster(cfg, err, errlen) < 0 || config_check_auth(cfg, err, errlen) < 0 ||
        config_check_tls(cfg, err, errlen) < 0)
        return -EINVAL;
    if (sc_log_level_parse(cfg->log_level) < 0) {
        snprintf(err, errlen, "log-level: expected error, warn, info or debug, got '%.32s'",
                 cfg->log_level);
        return -EINVAL;
    }
    if (strcmp(cfg->channel_bytes, "ascii") == 0)
        cfg->channel_set = SC_CHANNEL_ASCII;
    else if (strcmp(cfg->channel_bytes, "utf8") == 0)
        cfg->channel_set = SC_CHANNEL_UTF8;
    else {
        snprintf(err, errlen, "channel-bytes: expected ascii or utf8, got '%.32s'",
                 cfg->channel_bytes);
        return -EINVAL;
    }
    if (cfg->redis_backoff_max < cfg->redis_backoff_min) {
        snprintf(err, errlen, "redis-backoff-max: must be at least redis-backoff-min (%ld)",
                 cfg->redis_backoff_min);
        return -EINVAL;
    }
    if (cfg->redis_timeout <= cfg->redis_ping_interval) {
        snprintf(err, errlen, "redis-timeout: must be longer than redis-ping-interval (%ld)",
                 cfg->redis_ping_interval);
        return -EINVAL;
    }
    free(cfg->redis_host);
    free(cfg->redis_user);
    sc_redis_password_free(cfg->redis_password);
    cfg->redis_host = cfg->redis_user = cfg->redis_password = NULL;
    return parse_redis_url(cfg, err, errlen);
nomem:
    snprintf(err, errlen, "out of memory");
    return -EINVAL;
}

void sc_config_free(struct sc_config *cfg)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (opts[i].type == OPT_STR)
            free(*(char **)((char *)cfg + opts[i].off));
    free(cfg->redis_host);
    free(cfg->redis_user);
    sc_redis_password_free(cfg->redis_password);
    memset(cfg, 0, sizeof(*cfg));
}

/* The password named by --redis-password-file, read once: reconnects use
 * the copy in memory, so a changed file takes a restart like any option.
 * After sc_config_finish(), which made sure the URL holds none. */
static int config_read_secrets(struct sc_config *cfg, char *err, size_t errlen)
{
    char sub[300];

    if (!cfg->redis_password_file)
        return 0;
    if (sc_redis_password_read(cfg->redis_password_file, &cfg->redis_password, sub, sizeof(sub)) <
        0) {
        snprintf(err, errlen, "redis-password-file: %s", sub);
        return -EINVAL;
    }
    return 0;
}

static void print_help(const char *argv0)
{
    printf("Usage: %s [OPTION]...\n"
           "WebSocket fan-out of Redis Pub/Sub. Flags override --config.\n"
           "A BOOL option is on with --NAME, --NAME true or --NAME=true, off with\n"
           "--no-NAME, --NAME false or --NAME=false (yes/no, on/off, 1/0 work too).\n\n"
           "  --config FILE            JSON object of options (keys as below, '-' "
           "written '_';\n"
           "                           BOOL as true or false)\n",
           argv0);
    for (size_t i = 0; i < NOPTS; i++) {
        char flag[80];
        if (opts[i].type == OPT_BOOL)
            snprintf(flag, sizeof(flag), "--%s [BOOL], --no-%s", opts[i].name, opts[i].name);
        else
            snprintf(flag, sizeof(flag), "--%s %s", opts[i].name,
                     opts[i].type == OPT_INT ? "N" : "S");
        /* A long flag gets a line of its own; the text keeps its column. */
        if (strlen(flag) > 24)
            printf("  %s\n  %-24s %s (default %s)\n", flag, "", opts[i].help, opts[i].def);
        else
            printf("  %-24s %s (default %s)\n", flag, opts[i].help, opts[i].def);
    }
    printf("  --help                   this text\n"
           "  --version                print the version\n\n"
           "Exit status: 0 clean shutdown, 1 runtime failure, 2 bad configuration.\n");
}

/* "--no-NAME" for a boolean NAME: returns that option, else NULL. */
static const struct opt *flag_negated(const char *a, size_t nlen)
{
    const struct opt *o = nlen > 3 && !strncmp(a, "no-", 3) ? opt_find(a + 3, nlen - 3, 0) : NULL;

    return o && o->type == OPT_BOOL ? o : NULL;
}

/* An unknown flag, with the option it may have meant (JSON spelling). */
static void flag_unknown(const char *arg, const char *a, size_t nlen, char *err, size_t errlen)
{
    const struct opt *o = opt_respelled(a, nlen, 0);

    if (o)
        snprintf(err, errlen, "unknown option '%.64s' (did you mean '--%s'?)", arg, o->name);
    else
        snprintf(err, errlen, "unknown option '%.64s' (see --help)", arg);
}

/* Split "--name=value", "--name value", "--bool [BOOL]" or "--no-bool".
 * Returns the option, or NULL with err set. *val points into argv or at a
 * constant. */
static const struct opt *flag_lookup(int argc, char **argv, int *i, const char **val, char *err,
                                     size_t errlen)
{
    const char *a = argv[*i] + 2, *eq = strchr(a, '=');
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
    const struct opt *o = opt_find(a, nlen, 0);

    if (!o && (o = flag_negated(a, nlen))) {
        if (eq) {
            snprintf(err, errlen, "%s: --no-%s takes no value", o->name, o->name);
            return NULL;
        }
        *val = "false";
        return o;
    }
    if (!o) {
        flag_unknown(argv[*i], a, nlen, err, errlen);
        return NULL;
    }
    if (eq) {
        *val = eq + 1;
    } else if (o->type == OPT_BOOL) {
        /* A following boolean word is the value; anything else is the
         * next flag (no option takes positional arguments). */
        *val = *i + 1 < argc && bool_word(argv[*i + 1]) >= 0 ? argv[++*i] : "true";
    } else if (*i + 1 < argc) {
        *val = argv[++*i];
    } else {
        snprintf(err, errlen, "%s: missing value", o->name);
        return NULL;
    }
    return o;
}

enum sc_config_result sc_config_load(struct sc_config *cfg, int argc, char **argv)
{
    char err[512];
    int i;

    sc_config_defaults(cfg);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_help(argv[0]);
            return SC_CONFIG_EXIT;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("shardcast %s\n", SC_VERSION);
            return SC_CONFIG_EXIT;
        }
    }
    /* The file first, so flags override it wherever they stand. */
    for (i = 1; i < argc; i++) {
        const char *path = NULL;
        if (!strncmp(argv[i], "--config=", 9))
            path = argv[i] + 9;
        else if (!strcmp(argv[i], "--config") && i + 1 < argc)
            path = argv[++i];
        if (path && config_read_file(cfg, path, err, sizeof(err)) < 0)
            goto bad;
    }
    for (i = 1; i < argc; i++) {
        const char *val = NULL;
        const struct opt *o;
        if (strncmp(argv[i], "--", 2) != 0) {
            snprintf(err, sizeof(err), "unexpected argument '%.64s' (see --help)", argv[i]);
            goto bad;
        }
        if (!strncmp(argv[i], "--config", 8) && (argv[i][8] == 0 || argv[i][8] == '=')) {
            if (argv[i][8] == 0 && ++i >= argc) {
                snprintf(err, sizeof(err), "config: missing value");
                goto bad;
            }
            continue;
        }
        if (!(o = flag_lookup(argc, argv, &i, &val, err, sizeof(err))) ||
            opt_set_text(cfg, o, val, err, sizeof(err)) < 0)
            goto bad;
    }
    if (sc_config_finish(cfg, err, sizeof(err)) < 0 ||
        config_read_secrets(cfg, err, sizeof(err)) < 0)
        goto bad;
    return SC_CONFIG_OK;
bad:
    sc_config_error("%s", err);
    return SC_CONFIG_BAD;
}
