/* sc_config: the JSON loader, redis URL parsing in sc_config_finish, and
 * the command line (flags, --config FILE, precedence, --help). Messages
 * must name the offending key or option, so the tests capture them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sc_config.h"

/* Every option: flag name, JSON key, and whether it takes an integer. */
static const struct {
    const char *flag, *key;
    int is_int;
} options[] = {
    {"host", "host", 0},
    {"port", "port", 1},
    {"redis", "redis", 0},
    {"redis-password-file", "redis_password_file", 0},
    {"web-root", "web_root", 0},
    {"log-level", "log_level", 0},
    {"max-connections", "max_connections", 1},
    {"max-message-size", "max_message_size", 1},
    {"max-channels", "max_channels", 1},
    {"max-channel-length", "max_channel_length", 1},
    {"channel-bytes", "channel_bytes", 0},
    {"max-queue-bytes", "max_queue_bytes", 1},
    {"handshake-timeout", "handshake_timeout", 1},
    {"ping-interval", "ping_interval", 1},
    {"pong-timeout", "pong_timeout", 1},
    {"shutdown-timeout", "shutdown_timeout", 1},
    {"redis-ping-interval", "redis_ping_interval", 1},
    {"redis-timeout", "redis_timeout", 1},
    {"redis-backoff-min", "redis_backoff_min", 1},
    {"redis-backoff-max", "redis_backoff_max", 1},
    {"redis-batch", "redis_batch", 1},
    {"shard-id", "shard_id", 0},
    {"advertise-url", "advertise_url", 0},
    {"weight", "weight", 1},
    {"cluster-prefix", "cluster_prefix", 0},
    {"heartbeat-ttl", "heartbeat_ttl", 1},
    {"move-rate", "move_rate", 1},
    {"tls-ciphers", "tls_ciphers", 0},
    {"tls-min-version", "tls_min_version", 0},
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static char err[512];

/* sc_config_load_json on defaults; the caller frees cfg. */
static int load_json(struct sc_config *cfg, const char *text)
{
    sc_config_defaults(cfg);
    err[0] = 0;
    return sc_config_load_json(cfg, text, strlen(text), err, sizeof(err));
}

/* The message must name the key; out-of-range integers may name it in
 * its flag spelling (with '-'), which identifies the same option. */
static void assert_err_names(const char *key)
{
    char dashed[64];

    snprintf(dashed, sizeof(dashed), "%s", key);
    for (char *p = dashed; *p; p++)
        if (*p == '_')
            *p = '-';
    if (!strstr(err, key) && !strstr(err, dashed))
        fail_msg("message \"%s\" does not name %s", err, key);
}

/* The JSON must be refused with a message naming key. */
static void assert_json_rejected(const char *text, const char *key)
{
    struct sc_config cfg;

    if (load_json(&cfg, text) != -EINVAL)
        fail_msg("accepted: %s", text);
    assert_err_names(key);
    sc_config_free(&cfg);
}

/* Run sc_config_load on a NULL-terminated argument list, with stdout and
 * stderr captured into out (what the user would see). */
static char out[16384];

static enum sc_config_result load_args(struct sc_config *cfg, ...)
{
    char *argv[64];
    int argc = 0, saved_out, saved_err;
    va_list ap;
    FILE *cap = tmpfile();
    enum sc_config_result r;
    size_t n;

    assert_non_null(cap);
    argv[argc++] = "shardcast";
    va_start(ap, cfg);
    while ((argv[argc] = va_arg(ap, char *)) != NULL)
        assert_true(++argc < 63);
    va_end(ap);
    fflush(stdout);
    fflush(stderr);
    saved_out = dup(1);
    saved_err = dup(2);
    dup2(fileno(cap), 1);
    dup2(fileno(cap), 2);
    r = sc_config_load(cfg, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    rewind(cap);
    n = fread(out, 1, sizeof(out) - 1, cap);
    out[n] = 0;
    fclose(cap);
    return r;
}

/* A temporary config file holding text; returns its path (static). */
static char cfg_path[64];

static const char *write_config(const char *text)
{
    int fd;

    snprintf(cfg_path, sizeof(cfg_path), "/tmp/sc_test_config_XXXXXX");
    fd = mkstemp(cfg_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return cfg_path;
}

/* ---- defaults ----------------------------------------------------------- */

/* The defaults that docs/protocol.md and --help promise. */
static void test_defaults_are_the_documented_ones(void **state)
{
    struct sc_config cfg;

    (void)state;
    sc_config_defaults(&cfg);
    assert_int_equal(cfg.port, 8080);
    assert_int_equal(cfg.max_connections, 0);
    assert_int_equal(cfg.max_message_size, 16384);
    assert_int_equal(cfg.max_channels, 64);
    assert_int_equal(cfg.max_channel_length, 128);
    assert_int_equal(cfg.max_queue_bytes, 1048576);
    assert_int_equal(cfg.handshake_timeout, 10);
    assert_int_equal(cfg.ping_interval, 25);
    assert_int_equal(cfg.pong_timeout, 10);
    assert_int_equal(cfg.shutdown_timeout, 5);
    assert_int_equal(cfg.redis_ping_interval, 1000);
    assert_int_equal(cfg.redis_timeout, 3000);
    assert_int_equal(cfg.redis_backoff_min, 100);
    assert_int_equal(cfg.redis_backoff_max, 10000);
    assert_int_equal(cfg.redis_batch, 1000);
    assert_null(cfg.host);
    assert_null(cfg.web_root);
    assert_int_equal(sc_config_finish(&cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.redis_url, "redis://127.0.0.1:6379");
    assert_string_equal(cfg.redis_host, "127.0.0.1");
    assert_int_equal(cfg.redis_port, 6379);
    assert_null(cfg.redis_user);
    assert_null(cfg.redis_password);
    assert_string_equal(cfg.log_level, "info");
    assert_string_equal(cfg.channel_bytes, "ascii");
    assert_int_equal(cfg.channel_set, SC_CHANNEL_ASCII);
    sc_config_free(&cfg);
}

/* ---- sc_config_load_json ------------------------------------------------ */

static void test_json_accepts_every_documented_key(void **state)
{
    struct sc_config cfg;
    const char *text =
        "{\"host\":\"127.0.0.2\",\"port\":1234,\"redis\":\"redis://r:1\","
        "\"web_root\":\"/srv/web\",\"log_level\":\"debug\",\"max_connections\":77,"
        "\"max_message_size\":65536,\"max_channels\":9,\"max_channel_length\":33,"
        "\"channel_bytes\":\"utf8\",\"max_queue_bytes\":4096,\"handshake_timeout\":3,"
        "\"ping_interval\":4,\"pong_timeout\":6,\"shutdown_timeout\":7,"
        "\"redis_ping_interval\":250,\"redis_timeout\":900,\"redis_backoff_min\":11,"
        "\"redis_backoff_max\":12,\"redis_batch\":13}";

    (void)state;
    if (load_json(&cfg, text) != 0)
        fail_msg("rejected: %s", err);
    assert_string_equal(cfg.host, "127.0.0.2");
    assert_int_equal(cfg.port, 1234);
    assert_string_equal(cfg.redis_url, "redis://r:1");
    assert_string_equal(cfg.web_root, "/srv/web");
    assert_string_equal(cfg.log_level, "debug");
    assert_int_equal(cfg.max_connections, 77);
    assert_int_equal(cfg.max_message_size, 65536);
    assert_int_equal(cfg.max_channels, 9);
    assert_int_equal(cfg.max_channel_length, 33);
    assert_string_equal(cfg.channel_bytes, "utf8");
    assert_int_equal(cfg.max_queue_bytes, 4096);
    assert_int_equal(cfg.handshake_timeout, 3);
    assert_int_equal(cfg.ping_interval, 4);
    assert_int_equal(cfg.pong_timeout, 6);
    assert_int_equal(cfg.shutdown_timeout, 7);
    assert_int_equal(cfg.redis_ping_interval, 250);
    assert_int_equal(cfg.redis_timeout, 900);
    assert_int_equal(cfg.redis_backoff_min, 11);
    assert_int_equal(cfg.redis_backoff_max, 12);
    assert_int_equal(cfg.redis_batch, 13);
    assert_int_equal(sc_config_finish(&cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg.channel_set, SC_CHANNEL_UTF8);
    assert_string_equal(cfg.redis_host, "r");
    sc_config_free(&cfg);
}

/* A string given twice replaces the old value (no leak: ASan). */
static void test_json_string_value_replaces_previous(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_int_equal(load_json(&cfg, "{\"host\":\"a\"}"), 0);
    assert_int_equal(sc_config_load_json(&cfg, "{\"host\":\"b\"}", 12, err, sizeof(err)), 0);
    assert_string_equal(cfg.host, "b");
    sc_config_free(&cfg);
}

static void test_json_empty_object_changes_nothing(void **state)
{
    struct sc_config cfg, def;

    (void)state;
    assert_int_equal(load_json(&cfg, " { } "), 0);
    sc_config_defaults(&def);
    assert_memory_equal(&cfg, &def, sizeof(cfg));
    sc_config_free(&cfg);
}

/* Keys are the flag names with '_' for '-'; anything else is unknown,
 * including the flag spelling itself and a near miss. */
static void test_json_rejects_unknown_keys(void **state)
{
    (void)state;
    assert_json_rejected("{\"prot\":1}", "prot");
    assert_json_rejected("{\"web-root\":\"/x\"}", "web-root");
    assert_json_rejected("{\"Port\":1}", "Port");
    assert_json_rejected("{\"port_\":1}", "port_");
    assert_json_rejected("{\"config\":\"/etc/x.json\"}", "config");
    assert_json_rejected("{\"port\":1,\"bogus\":2}", "bogus");
}

/* A NUL in a key must not let "port\u0000x" pass as "port". */
static void test_json_rejects_nul_inside_key(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_int_equal(load_json(&cfg, "{\"port\\u0000x\":1}"), -EINVAL);
    assert_int_equal(cfg.port, 8080);
    sc_config_free(&cfg);
}

/* Every integer key refuses strings, reals, booleans, null, arrays and
 * objects; every string key refuses numbers and the rest. */
static void test_json_rejects_wrong_types_for_every_key(void **state)
{
    static const char *const not_int[] = {"\"8080\"", "80.0", "1e3", "true", "null", "[1]", "{}"};
    static const char *const not_str[] = {"1", "1.5", "false", "null", "[\"a\"]", "{\"a\":1}"};
    char text[256];

    (void)state;
    for (size_t i = 0; i < NOPTIONS; i++) {
        const char *const *bad = options[i].is_int ? not_int : not_str;
        size_t nbad = options[i].is_int ? sizeof(not_int) / sizeof(not_int[0])
                                        : sizeof(not_str) / sizeof(not_str[0]);
        for (size_t k = 0; k < nbad; k++) {
            snprintf(text, sizeof(text), "{\"%s\":%s}", options[i].key, bad[k]);
            assert_json_rejected(text, options[i].key);
        }
    }
}

/* Negative and absurdly large integers are out of range for every
 * integer key. */
static void test_json_rejects_out_of_range_for_every_int_key(void **state)
{
    static const char *const bad[] = {"-1", "1099511627776", "-9223372036854775808",
                                      "9223372036854775807"};
    char text[256];

    (void)state;
    for (size_t i = 0; i < NOPTIONS; i++) {
        if (!options[i].is_int)
            continue;
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            snprintf(text, sizeof(text), "{\"%s\":%s}", options[i].key, bad[k]);
            assert_json_rejected(text, options[i].key);
        }
    }
}

/* Ports are 1..65535. */
static void test_json_port_bounds(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_json_rejected("{\"port\":0}", "port");
    assert_json_rejected("{\"port\":65536}", "port");
    assert_int_equal(load_json(&cfg, "{\"port\":1}"), 0);
    assert_int_equal(cfg.port, 1);
    sc_config_free(&cfg);
    assert_int_equal(load_json(&cfg, "{\"port\":65535}"), 0);
    assert_int_equal(cfg.port, 65535);
    sc_config_free(&cfg);
}

static void test_json_rejects_other_out_of_range_values(void **state)
{
    (void)state;
    assert_json_rejected("{\"max_channels\":0}", "max_channels");
    assert_json_rejected("{\"max_channel_length\":0}", "max_channel_length");
    assert_json_rejected("{\"max_queue_bytes\":1}", "max_queue_bytes");
    assert_json_rejected("{\"ping_interval\":0}", "ping_interval");
    assert_json_rejected("{\"redis_batch\":0}", "redis_batch");
}

/* The top level must be one JSON object. */
static void test_json_rejects_non_object_documents(void **state)
{
    static const char *const texts[] = {"",
                                        " ",
                                        "[]",
                                        "[{\"port\":1}]",
                                        "1",
                                        "\"port\"",
                                        "null",
                                        "{",
                                        "{\"port\":1",
                                        "{\"port\":1}{}",
                                        "{\"port\":1,}",
                                        "{port:1}"};
    struct sc_config cfg;

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        if (load_json(&cfg, texts[i]) != -EINVAL)
            fail_msg("accepted: %s", texts[i]);
        assert_true(err[0] != 0);
        sc_config_free(&cfg);
    }
}

static void test_json_rejects_duplicate_keys(void **state)
{
    (void)state;
    assert_json_rejected("{\"port\":1,\"port\":2}", "port");
    assert_json_rejected("{\"host\":\"a\",\"port\":1,\"host\":\"a\"}", "host");
}

/* ---- sc_config_finish: redis URLs ---------------------------------------- */

static int finish_url(struct sc_config *cfg, const char *url)
{
    sc_config_defaults(cfg);
    cfg->redis_url = strdup(url);
    assert_non_null(cfg->redis_url);
    err[0] = 0;
    return sc_config_finish(cfg, err, sizeof(err));
}

static void test_finish_parses_redis_urls(void **state)
{
    static const struct {
        const char *url, *host, *user, *password;
        long port;
    } cases[] = {
        {"redis://h", "h", NULL, NULL, 6379},
        {"redis://h:1", "h", NULL, NULL, 1},
        {"redis://:pw@h:2", "h", NULL, "pw", 2},
        {"redis://user:pw@h:3/0", "h", "user", "pw", 3},
        {"redis://redis.example.com:65535", "redis.example.com", NULL, NULL, 65535},
        {"redis://10.0.0.1/", "10.0.0.1", NULL, NULL, 6379},
        {"redis://:@h", "h", NULL, "", 6379},
        /* The grammar shardctl and shardcast-cli share (shard/sc_redis_url.h):
         * percent-decoded credentials, IPv6 literals, any scheme case. */
        {"redis://us%65r:p%40ss%2Fw@h", "h", "user", "p@ss/w", 6379},
        {"redis://:p@ss@h:4", "h", NULL, "p@ss", 4},
        {"redis://[::1]:5/1", "::1", NULL, NULL, 5},
        {"REDIS://h", "h", NULL, NULL, 6379},
    };
    struct sc_config cfg;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (finish_url(&cfg, cases[i].url) != 0)
            fail_msg("%s rejected: %s", cases[i].url, err);
        assert_string_equal(cfg.redis_host, cases[i].host);
        assert_int_equal(cfg.redis_port, cases[i].port);
        if (cases[i].user)
            assert_string_equal(cfg.redis_user, cases[i].user);
        else
            assert_null(cfg.redis_user);
        if (cases[i].password)
            assert_string_equal(cfg.redis_password, cases[i].password);
        else
            assert_null(cfg.redis_password);
        sc_config_free(&cfg);
    }
}

static void test_finish_rejects_bad_redis_urls(void **state)
{
    static const char *const bad[] = {
        "http://x",
        "redis://",
        "redis://h:0",
        "redis://h:70000",
        "redis://h:12x",
        "redis://h:65536",
        "redis://h:",
        "redis://h:-1",
        "redis://:6379",
        "redis:/h",
        "",
        "redis://user@h",
        "rediss",
        "redis://:pw@",
        "redis://:pw@:1",
        "redis://h/x",
        "redis://h?db=1",
        "redis://h#x",
        "redis://h h",
        "redis://:%zz@h",
    };
    struct sc_config cfg;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (finish_url(&cfg, bad[i]) != -EINVAL)
            fail_msg("%s accepted", bad[i]);
        if (!strstr(err, "redis"))
            fail_msg("%s: message \"%s\" does not name redis", bad[i], err);
        sc_config_free(&cfg);
    }
}

/* finish may run again (after more settings): the derived fields of the
 * first run are replaced, not leaked (LeakSanitizer checks). */
static void test_finish_twice_replaces_derived_fields(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_int_equal(finish_url(&cfg, "redis://u:p@first:1"), 0);
    free(cfg.redis_url);
    cfg.redis_url = strdup("redis://second:2");
    assert_int_equal(sc_config_finish(&cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.redis_host, "second");
    assert_int_equal(cfg.redis_port, 2);
    assert_null(cfg.redis_user);
    assert_null(cfg.redis_password);
    sc_config_free(&cfg);
}

static void test_finish_checks_log_level_and_channel_bytes(void **state)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    struct sc_config cfg;

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(load_json(&cfg, "{}"), 0);
        cfg.log_level = strdup(levels[i]);
        assert_int_equal(sc_config_finish(&cfg, err, sizeof(err)), 0);
        sc_config_free(&cfg);
    }
    assert_int_equal(load_json(&cfg, "{\"log_level\":\"loud\"}"), 0);
    assert_int_equal(sc_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    assert_err_names("log_level");
    sc_config_free(&cfg);
    assert_int_equal(load_json(&cfg, "{\"channel_bytes\":\"latin1\"}"), 0);
    assert_int_equal(sc_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    assert_err_names("channel_bytes");
    sc_config_free(&cfg);
}

/* Cross-field rules: backoff max >= min, Redis timeout > ping interval. */
static void test_finish_checks_redis_timing_relations(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_int_equal(load_json(&cfg, "{\"redis_backoff_min\":500,\"redis_backoff_max\":499}"), 0);
    assert_int_equal(sc_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    assert_err_names("redis_backoff_max");
    sc_config_free(&cfg);
    assert_int_equal(load_json(&cfg, "{\"redis_backoff_min\":500,\"redis_backoff_max\":500}"), 0);
    assert_int_equal(sc_config_finish(&cfg, err, sizeof(err)), 0);
    sc_config_free(&cfg);
    assert_int_equal(load_json(&cfg, "{\"redis_ping_interval\":2000,\"redis_timeout\":2000}"), 0);
    assert_int_equal(sc_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    assert_err_names("redis_timeout");
    sc_config_free(&cfg);
}

/* ---- sc_config_load: the command line ------------------------------------ */

static void test_load_without_arguments_uses_defaults(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_int_equal(load_args(&cfg, NULL), SC_CONFIG_OK);
    assert_int_equal(cfg.port, 8080);
    assert_string_equal(cfg.redis_host, "127.0.0.1");
    sc_config_free(&cfg);
}

static void test_load_flag_with_separate_value(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_int_equal(load_args(&cfg, "--port", "1", NULL), SC_CONFIG_OK);
    assert_int_equal(cfg.port, 1);
    sc_config_free(&cfg);
}

static void test_load_flag_with_equals_value(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_int_equal(load_args(&cfg, "--port=1", "--host=::1", NULL), SC_CONFIG_OK);
    assert_int_equal(cfg.port, 1);
    assert_string_equal(cfg.host, "::1");
    sc_config_free(&cfg);
}

/* Every option is reachable as a flag (same table as the JSON keys). */
static void test_load_accepts_every_flag(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_int_equal(
        load_args(&cfg, "--host", "h", "--port", "2", "--redis", "redis://r:3", "--web-root", "/w",
                  "--log-level", "warn", "--max-connections", "4", "--max-message-size", "100",
                  "--max-channels", "5", "--max-channel-length", "6", "--channel-bytes", "utf8",
                  "--max-queue-bytes", "2048", "--handshake-timeout", "7", "--ping-interval", "8",
                  "--pong-timeout", "9", "--shutdown-timeout", "10", "--redis-ping-interval", "100",
                  "--redis-timeout", "200", "--redis-backoff-min", "11", "--redis-backoff-max",
                  "12", "--redis-batch", "13", NULL),
        SC_CONFIG_OK);
    assert_string_equal(cfg.host, "h");
    assert_int_equal(cfg.port, 2);
    assert_string_equal(cfg.redis_host, "r");
    assert_int_equal(cfg.redis_port, 3);
    assert_string_equal(cfg.web_root, "/w");
    assert_string_equal(cfg.log_level, "warn");
    assert_int_equal(cfg.max_connections, 4);
    assert_int_equal(cfg.max_message_size, 100);
    assert_int_equal(cfg.max_channels, 5);
    assert_int_equal(cfg.max_channel_length, 6);
    assert_int_equal(cfg.channel_set, SC_CHANNEL_UTF8);
    assert_int_equal(cfg.max_queue_bytes, 2048);
    assert_int_equal(cfg.handshake_timeout, 7);
    assert_int_equal(cfg.ping_interval, 8);
    assert_int_equal(cfg.pong_timeout, 9);
    assert_int_equal(cfg.shutdown_timeout, 10);
    assert_int_equal(cfg.redis_ping_interval, 100);
    assert_int_equal(cfg.redis_timeout, 200);
    assert_int_equal(cfg.redis_backoff_min, 11);
    assert_int_equal(cfg.redis_backoff_max, 12);
    assert_int_equal(cfg.redis_batch, 13);
    sc_config_free(&cfg);
}

/* The last of a repeated flag wins. */
static void test_load_repeated_flag_last_wins(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_int_equal(load_args(&cfg, "--port", "1", "--port=2", "--host", "a", "--host", "b", NULL),
                     SC_CONFIG_OK);
    assert_int_equal(cfg.port, 2);
    assert_string_equal(cfg.host, "b");
    sc_config_free(&cfg);
}

static void test_load_unknown_flag_is_bad_and_named(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_int_equal(load_args(&cfg, "--prot", "1", NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "--prot"));
    sc_config_free(&cfg);
    /* Flags are spelled with '-', not the JSON '_'. */
    assert_int_equal(load_args(&cfg, "--web_root", "/w", NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "--web_root"));
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "--portx=1", NULL), SC_CONFIG_BAD);
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "--configx", "f", NULL), SC_CONFIG_BAD);
    sc_config_free(&cfg);
}

static void test_load_positional_argument_is_bad(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_int_equal(load_args(&cfg, "8080", NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "8080"));
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "-p", "1", NULL), SC_CONFIG_BAD);
    sc_config_free(&cfg);
}

static void test_load_missing_value_is_bad_and_named(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_int_equal(load_args(&cfg, "--port", NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "port"));
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "--host", "h", "--redis", NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "redis"));
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "--config", NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "config"));
    sc_config_free(&cfg);
}

static void test_load_bad_values_are_bad_and_named(void **state)
{
    static const char *const bad[][2] = {
        {"--port", "0"},         {"--port", "65536"},      {"--port", "abc"},
        {"--port", "1x"},        {"--port", ""},           {"--port", "-5"},
        {"--max-channels", "0"}, {"--redis", "http://x"},  {"--redis", "redis://h:0"},
        {"--log-level", "loud"}, {"--channel-bytes", "x"}, {"--port", "99999999999999999999"},
    };
    struct sc_config cfg;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (load_args(&cfg, bad[i][0], bad[i][1], NULL) != SC_CONFIG_BAD)
            fail_msg("%s '%s' accepted", bad[i][0], bad[i][1]);
        if (!strstr(out, bad[i][0] + 2))
            fail_msg("%s '%s': message \"%s\" does not name it", bad[i][0], bad[i][1], out);
        sc_config_free(&cfg);
    }
    /* The --name=value form is checked the same way. */
    assert_int_equal(load_args(&cfg, "--port=", NULL), SC_CONFIG_BAD);
    sc_config_free(&cfg);
}

static void test_load_reads_config_file(void **state)
{
    struct sc_config cfg;
    const char *path = write_config("{\"port\": 1234, \"max_channels\": 7,\n"
                                    " \"redis\": \"redis://:s3cret@cache:6380/2\"}\n");

    (void)state;
    assert_int_equal(load_args(&cfg, "--config", path, NULL), SC_CONFIG_OK);
    assert_int_equal(cfg.port, 1234);
    assert_int_equal(cfg.max_channels, 7);
    assert_string_equal(cfg.redis_host, "cache");
    assert_int_equal(cfg.redis_port, 6380);
    assert_string_equal(cfg.redis_password, "s3cret");
    assert_int_equal(cfg.max_channel_length, 128); /* untouched keys keep defaults */
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "--config=/dev/null", NULL), SC_CONFIG_BAD);
    sc_config_free(&cfg);
    unlink(path);
}

/* "Flags override --config" wherever they stand on the line. */
static void test_load_flags_override_file_regardless_of_order(void **state)
{
    struct sc_config cfg;
    const char *path = write_config("{\"port\": 1234, \"host\": \"file\", \"max_channels\": 7}");
    char eq[128];

    (void)state;
    snprintf(eq, sizeof(eq), "--config=%s", path);
    assert_int_equal(load_args(&cfg, "--port", "99", "--config", path, "--host", "flag", NULL),
                     SC_CONFIG_OK);
    assert_int_equal(cfg.port, 99);
    assert_string_equal(cfg.host, "flag");
    assert_int_equal(cfg.max_channels, 7);
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "--config", path, "--port", "99", NULL), SC_CONFIG_OK);
    assert_int_equal(cfg.port, 99);
    assert_string_equal(cfg.host, "file");
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "--port=98", eq, NULL), SC_CONFIG_OK);
    assert_int_equal(cfg.port, 98);
    sc_config_free(&cfg);
    unlink(path);
}

static void test_load_bad_config_file_is_bad_and_named(void **state)
{
    struct sc_config cfg;
    const char *path = write_config("{\"port\": 1234, \"colour\": \"blue\"}");

    (void)state;
    assert_int_equal(load_args(&cfg, "--config", path, NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "colour"));
    assert_non_null(strstr(out, path));
    sc_config_free(&cfg);
    unlink(path);
    path = write_config("{\"port\": ");
    assert_int_equal(load_args(&cfg, "--config", path, NULL), SC_CONFIG_BAD);
    sc_config_free(&cfg);
    unlink(path);
    assert_int_equal(load_args(&cfg, "--config", "/nonexistent/sc.json", NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "/nonexistent/sc.json"));
    sc_config_free(&cfg);
}

/* --help lists every flag and exits, even beside bad arguments. */
static void test_load_help_lists_every_flag_and_exits(void **state)
{
    struct sc_config cfg;
    char flag[64];

    (void)state;
    assert_int_equal(load_args(&cfg, "--help", NULL), SC_CONFIG_EXIT);
    for (size_t i = 0; i < NOPTIONS; i++) {
        snprintf(flag, sizeof(flag), "--%s ", options[i].flag);
        if (!strstr(out, flag))
            fail_msg("--help does not mention %s", flag);
    }
    assert_non_null(strstr(out, "--config"));
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "--port", "0", "-h", NULL), SC_CONFIG_EXIT);
    sc_config_free(&cfg);
}

/* --drain is a switch: bare flag, =true/=false, or a JSON boolean. */
static void test_drain_is_a_boolean(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_int_equal(load_args(&cfg, "--drain", NULL), SC_CONFIG_OK);
    assert_int_equal(cfg.drain, 1);
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "--drain=false", NULL), SC_CONFIG_OK);
    assert_int_equal(cfg.drain, 0);
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "--drain=maybe", NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "drain"));
    sc_config_free(&cfg);
    assert_int_equal(load_json(&cfg, "{\"drain\":true}"), 0);
    assert_int_equal(cfg.drain, 1);
    sc_config_free(&cfg);
    assert_json_rejected("{\"drain\":1}", "drain");
}

/* Shard ids, prefixes and advertised URLs end up in Redis keys and in
 * what clients are told: only a plain alphabet and real ws URLs pass. */
static void test_cluster_values_are_checked(void **state)
{
    struct sc_config cfg;
    static const char *const bad[][2] = {
        {"--shard-id", "a b"},
        {"--shard-id", "x/y"},
        {"--shard-id", ""},
        {"--cluster-prefix", "p*"},
        {"--advertise-url", "http://x/ws"},
        {"--advertise-url", "ws://a b/ws"},
        {"--weight", "0"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(load_args(&cfg, bad[i][0], bad[i][1], NULL), SC_CONFIG_BAD);
        if (!strstr(out, bad[i][0] + 2))
            fail_msg("%s %s: message does not name the option: %s", bad[i][0], bad[i][1], out);
        sc_config_free(&cfg);
    }
    assert_int_equal(load_args(&cfg, "--shard-id", "eu-1.a:b_c", "--advertise-url",
                               "wss://n1.example.com/ws", "--weight", "3", NULL),
                     SC_CONFIG_OK);
    assert_string_equal(cfg.shard_id, "eu-1.a:b_c");
    assert_int_equal(cfg.weight, 3);
    assert_string_equal(cfg.cluster_prefix, "shardcast");
    sc_config_free(&cfg);
}

/* ---- booleans, key spellings (issue 13) ----------------------------------- */

static const struct {
    const char *flag;
    size_t off;
} bool_flags[] = {
    {"drain", offsetof(struct sc_config, drain)},
    {"key-from-token", offsetof(struct sc_config, key_from_token)},
};

static long bool_field(const struct sc_config *cfg, size_t i)
{
    return *(const long *)((const char *)cfg + bool_flags[i].off);
}

/* Every boolean flag: --X, --X WORD, --X=WORD and --no-X, whatever its
 * default; a word that is no boolean is refused naming the option. */
static void test_every_boolean_flag_takes_every_form(void **state)
{
    static const struct {
        const char *word;
        long value;
    } words[] = {{"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0},
                 {"on", 1},   {"off", 0},   {"1", 1},   {"0", 0}};
    struct sc_config cfg;
    char flag[48], eq[96], no[48];

    (void)state;
    for (size_t i = 0; i < sizeof(bool_flags) / sizeof(bool_flags[0]); i++) {
        snprintf(flag, sizeof(flag), "--%s", bool_flags[i].flag);
        snprintf(no, sizeof(no), "--no-%s", bool_flags[i].flag);
        for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
            if (load_args(&cfg, flag, words[w].word, "--port", "1", NULL) != SC_CONFIG_OK)
                fail_msg("%s %s refused: %s", flag, words[w].word, out);
            assert_int_equal(bool_field(&cfg, i), words[w].value);
            assert_int_equal(cfg.port, 1);
            sc_config_free(&cfg);
            snprintf(eq, sizeof(eq), "%s=%s", flag, words[w].word);
            if (load_args(&cfg, eq, NULL) != SC_CONFIG_OK)
                fail_msg("%s refused: %s", eq, out);
            assert_int_equal(bool_field(&cfg, i), words[w].value);
            sc_config_free(&cfg);
        }
        /* Bare: on, also before another flag and as the last argument. */
        assert_int_equal(load_args(&cfg, no, flag, "--port", "2", NULL), SC_CONFIG_OK);
        assert_int_equal(bool_field(&cfg, i), 1);
        assert_int_equal(cfg.port, 2);
        sc_config_free(&cfg);
        assert_int_equal(load_args(&cfg, flag, no, NULL), SC_CONFIG_OK);
        assert_int_equal(bool_field(&cfg, i), 0);
        sc_config_free(&cfg);
        snprintf(eq, sizeof(eq), "%s=true", no);
        assert_int_equal(load_args(&cfg, eq, NULL), SC_CONFIG_BAD);
        assert_non_null(strstr(out, bool_flags[i].flag));
        sc_config_free(&cfg);
        snprintf(eq, sizeof(eq), "%s=maybe", flag);
        assert_int_equal(load_args(&cfg, eq, NULL), SC_CONFIG_BAD);
        assert_non_null(strstr(out, bool_flags[i].flag));
        sc_config_free(&cfg);
        /* Not a boolean word: not taken as the value, so it is a stray
         * argument. */
        assert_int_equal(load_args(&cfg, flag, "maybe", NULL), SC_CONFIG_BAD);
        assert_non_null(strstr(out, "maybe"));
        sc_config_free(&cfg);
    }
    /* --no- is for booleans only. */
    assert_int_equal(load_args(&cfg, "--no-port", NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "--no-port"));
    sc_config_free(&cfg);
}

/* The documented defaults: drain off, key-from-token on. */
static void test_boolean_defaults(void **state)
{
    struct sc_config cfg;

    (void)state;
    sc_config_defaults(&cfg);
    assert_int_equal(cfg.drain, 0);
    assert_int_equal(cfg.key_from_token, 1);
    sc_config_free(&cfg);
}

/* --help shows how booleans are written, with --no-X beside each. */
static void test_help_shows_boolean_forms(void **state)
{
    struct sc_config cfg;
    char line[128];

    (void)state;
    assert_int_equal(load_args(&cfg, "--help", NULL), SC_CONFIG_EXIT);
    for (size_t i = 0; i < sizeof(bool_flags) / sizeof(bool_flags[0]); i++) {
        snprintf(line, sizeof(line), "--%s [BOOL], --no-%s", bool_flags[i].flag,
                 bool_flags[i].flag);
        if (!strstr(out, line))
            fail_msg("--help lacks \"%s\"", line);
    }
    assert_non_null(strstr(out, "--NAME false"));
    assert_non_null(strstr(out, "(default false)"));
    sc_config_free(&cfg);
}

/* A JSON key written with '-' (the flag spelling) names the key it meant;
 * so does a flag written with '_'. */
static void test_misspelled_keys_and_flags_get_a_hint(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_json_rejected("{\"key-from-token\":false}", "key-from-token");
    assert_non_null(strstr(err, "did you mean 'key_from_token'"));
    assert_json_rejected("{\"max-connections\":5}", "max-connections");
    assert_non_null(strstr(err, "did you mean 'max_connections'"));
    assert_json_rejected("{\"colour\":1}", "colour");
    assert_null(strstr(err, "did you mean"));
    assert_int_equal(load_args(&cfg, "--key_from_token", NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "did you mean '--key-from-token'"));
    sc_config_free(&cfg);
}

/* ---- secrets from files (issue 15) --------------------------------------- */

/* A file holding exactly text; returns its path (static, one at a time). */
static const char *write_secret(const char *text, size_t len)
{
    int fd;

    snprintf(cfg_path, sizeof(cfg_path), "/tmp/sc_test_secret_XXXXXX");
    fd = mkstemp(cfg_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return cfg_path;
}

static void test_redis_password_file_is_read_once_at_load(void **state)
{
    static const struct {
        const char *text, *password;
    } cases[] = {
        {"s3cret\n", "s3cret"},           {"s3cret", "s3cret"},
        {"s3cret\r\n", "s3cret"},         {"s3cret\n\n", "s3cret\n"},
        {" spaced pw \n", " spaced pw "},
    };
    struct sc_config cfg;
    const char *path;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        path = write_secret(cases[i].text, strlen(cases[i].text));
        if (load_args(&cfg, "--redis", "redis://cache:6380", "--redis-password-file", path, NULL) !=
            SC_CONFIG_OK)
            fail_msg("refused: %s", out);
        assert_string_equal(cfg.redis_password, cases[i].password);
        assert_null(cfg.redis_user);
        assert_string_equal(cfg.redis_host, "cache");
        sc_config_free(&cfg);
        unlink(path);
    }
    /* With an ACL user in the URL, and from the config file's key. */
    path = write_secret("pw\n", 3);
    char json[160];
    snprintf(json, sizeof(json), "{\"redis\":\"redis://app@cache\",\"redis_password_file\":\"%s\"}",
             path);
    char secret_path[64];
    snprintf(secret_path, sizeof(secret_path), "%s", path);
    const char *conf = write_config(json);
    assert_int_equal(load_args(&cfg, "--config", conf, NULL), SC_CONFIG_OK);
    assert_string_equal(cfg.redis_user, "app");
    assert_string_equal(cfg.redis_password, "pw");
    sc_config_free(&cfg);
    unlink(conf);
    unlink(secret_path);
}

/* Refused with exit 2 and a message naming the option and the file, never
 * the secret: missing, a directory, empty, a NUL byte, too large. */
static void test_redis_password_file_refusals(void **state)
{
    static char big[5000];
    struct sc_config cfg;
    const char *path;

    (void)state;
    assert_int_equal(load_args(&cfg, "--redis-password-file", "/nonexistent/pw", NULL),
                     SC_CONFIG_BAD);
    assert_non_null(strstr(out, "redis-password-file: /nonexistent/pw: No such file"));
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "--redis-password-file", "/tmp", NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "redis-password-file: /tmp:"));
    sc_config_free(&cfg);
    static const struct {
        const char *text;
        size_t len;
        const char *why;
    } bad[] = {{"", 0, "empty"},
               {"\n", 1, "empty"},
               {"\r\n", 2, "empty"},
               {"ab\0cd-secret-1\n", 15, "NUL"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        path = write_secret(bad[i].text, bad[i].len);
        assert_int_equal(load_args(&cfg, "--redis-password-file", path, NULL), SC_CONFIG_BAD);
        assert_non_null(strstr(out, "redis-password-file"));
        assert_non_null(strstr(out, path));
        assert_non_null(strstr(out, bad[i].why));
        assert_null(strstr(out, "secret-1"));
        sc_config_free(&cfg);
        unlink(path);
    }
    memset(big, 'x', sizeof(big));
    path = write_secret(big, sizeof(big));
    assert_int_equal(load_args(&cfg, "--redis-password-file", path, NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "larger than"));
    assert_null(strstr(out, "xxxx"));
    sc_config_free(&cfg);
    unlink(path);
}

/* One place for the password; a user never without one; a URL in a
 * message never shows its password. */
static void test_redis_password_sources_are_exclusive(void **state)
{
    struct sc_config cfg;
    const char *path = write_secret("pw-from-file\n", 13);
    char keep[64];

    (void)state;
    snprintf(keep, sizeof(keep), "%s", path);
    assert_int_equal(
        load_args(&cfg, "--redis", "redis://:pw-in-url@h", "--redis-password-file", keep, NULL),
        SC_CONFIG_BAD);
    assert_non_null(strstr(out, "redis-password-file"));
    assert_null(strstr(out, "pw-in-url"));
    assert_null(strstr(out, "pw-from-file"));
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "--redis", "redis://app@h", NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "--redis-password-file"));
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "--redis", "redis://u:hunter2@h:99999", NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "redis"));
    assert_non_null(strstr(out, "redis://***@h:99999"));
    assert_null(strstr(out, "hunter2"));
    sc_config_free(&cfg);
    unlink(keep);
}

/* ---- TLS options (issue 15) ---------------------------------------------- */

static void test_tls_min_version_and_ciphers(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_int_equal(load_args(&cfg, "--tls-cert", "c", "--tls-key", "k", NULL), SC_CONFIG_OK);
    assert_int_equal(cfg.tls_min_minor, 2);
    assert_null(cfg.tls_ciphers);
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "--tls-cert", "c", "--tls-key", "k", "--tls-min-version",
                               "1.3", "--tls-ciphers", "ECDHE-RSA-AES128-GCM-SHA256", NULL),
                     SC_CONFIG_OK);
    assert_int_equal(cfg.tls_min_minor, 3);
    assert_string_equal(cfg.tls_ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
    sc_config_free(&cfg);
    static const char *const bad_versions[] = {"1.1", "1.0", "1.4", "1", "", "1.2 "};
    for (size_t i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++) {
        assert_int_equal(load_args(&cfg, "--tls-cert", "c", "--tls-key", "k", "--tls-min-version",
                                   bad_versions[i], NULL),
                         SC_CONFIG_BAD);
        assert_non_null(strstr(out, "tls-min-version"));
        sc_config_free(&cfg);
    }
    /* On a plain-text node they would silently do nothing. */
    assert_int_equal(load_args(&cfg, "--tls-min-version", "1.3", NULL), SC_CONFIG_BAD);
    assert_non_null(strstr(out, "tls-min-version"));
    sc_config_free(&cfg);
    assert_int_equal(load_args(&cfg, "--tls-ciphers", "ECDHE-RSA-AES128-GCM-SHA256", NULL),
                     SC_CONFIG_BAD);
    assert_non_null(strstr(out, "tls-ciphers"));
    sc_config_free(&cfg);
}

static void test_load_version_exits(void **state)
{
    struct sc_config cfg;

    (void)state;
    assert_int_equal(load_args(&cfg, "--version", NULL), SC_CONFIG_EXIT);
    assert_non_null(strstr(out, "shardcast"));
    sc_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_the_documented_ones),
        cmocka_unit_test(test_json_accepts_every_documented_key),
        cmocka_unit_test(test_json_string_value_replaces_previous),
        cmocka_unit_test(test_json_empty_object_changes_nothing),
        cmocka_unit_test(test_json_rejects_unknown_keys),
        cmocka_unit_test(test_json_rejects_nul_inside_key),
        cmocka_unit_test(test_json_rejects_wrong_types_for_every_key),
        cmocka_unit_test(test_json_rejects_out_of_range_for_every_int_key),
        cmocka_unit_test(test_json_port_bounds),
        cmocka_unit_test(test_json_rejects_other_out_of_range_values),
        cmocka_unit_test(test_json_rejects_non_object_documents),
        cmocka_unit_test(test_json_rejects_duplicate_keys),
        cmocka_unit_test(test_finish_parses_redis_urls),
        cmocka_unit_test(test_finish_rejects_bad_redis_urls),
        cmocka_unit_test(test_finish_twice_replaces_derived_fields),
        cmocka_unit_test(test_finish_checks_log_level_and_channel_bytes),
        cmocka_unit_test(test_finish_checks_redis_timing_relations),
        cmocka_unit_test(test_load_without_arguments_uses_defaults),
        cmocka_unit_test(test_load_flag_with_separate_value),
        cmocka_unit_test(test_load_flag_with_equals_value),
        cmocka_unit_test(test_load_accepts_every_flag),
        cmocka_unit_test(test_load_repeated_flag_last_wins),
        cmocka_unit_test(test_load_unknown_flag_is_bad_and_named),
        cmocka_unit_test(test_load_positional_argument_is_bad),
        cmocka_unit_test(test_load_missing_value_is_bad_and_named),
        cmocka_unit_test(test_load_bad_values_are_bad_and_named),
        cmocka_unit_test(test_load_reads_config_file),
        cmocka_unit_test(test_load_flags_override_file_regardless_of_order),
        cmocka_unit_test(test_load_bad_config_file_is_bad_and_named),
        cmocka_unit_test(test_load_help_lists_every_flag_and_exits),
        cmocka_unit_test(test_load_version_exits),
        cmocka_unit_test(test_drain_is_a_boolean),
        cmocka_unit_test(test_cluster_values_are_checked),
        cmocka_unit_test(test_every_boolean_flag_takes_every_form),
        cmocka_unit_test(test_boolean_defaults),
        cmocka_unit_test(test_help_shows_boolean_forms),
        cmocka_unit_test(test_misspelled_keys_and_flags_get_a_hint),
        cmocka_unit_test(test_redis_password_file_is_read_once_at_load),
        cmocka_unit_test(test_redis_password_file_refusals),
        cmocka_unit_test(test_redis_password_sources_are_exclusive),
        cmocka_unit_test(test_tls_min_version_and_ciphers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
