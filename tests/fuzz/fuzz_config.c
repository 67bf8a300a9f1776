/* Fuzz target: the config file loader (server/sc_config.h).
 *
 * Input: the bytes of a --config file. It goes through the same calls the
 * node makes (defaults, load_json, finish, free), which must never crash or
 * leak (LeakSanitizer runs at the end of every libFuzzer input).
 *
 * Also checked: a text jansson does not read as one object never loads; a
 * document that loads puts each member's value in its field and loads
 * again (replacing the strings it set) with the same result; finish is
 * repeatable (it rebuilds the derived fields); and a finished config holds
 * the relations sc_config_finish() promises. One of them crosses modules:
 * a shard identity (shard_id, advertise_url, weight) that the config
 * accepts must be one the shard map accepts, or the node starts and then
 * can never join its cluster (server/sc_cluster.c adds exactly these).
 * Numeric ranges are left to tests/unit/server/test_config.c, so this file
 * needs no copy of them. */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fuzz_util.h"
#include "sc_config.h"
#include "sc_shard.h"

/* JSON keys of the documented options (README, --help) and their fields.
 * An option missing here is only not checked by check_loaded(). */
enum kind { K_STR, K_INT, K_BOOL };
#define INT_KEY(k)                               \
    {                                            \
#k, offsetof(struct sc_config, k), K_INT \
    }
#define STR_KEY(k, f)                           \
    {                                           \
        k, offsetof(struct sc_config, f), K_STR \
    }
static const struct {
    const char *key;
    size_t off;
    enum kind kind;
} keys[] = {
    STR_KEY("host", host),
    INT_KEY(port),
    STR_KEY("redis", redis_url),
    STR_KEY("redis_password_file", redis_password_file),
    STR_KEY("web_root", web_root),
    STR_KEY("log_level", log_level),
    INT_KEY(max_connections),
    INT_KEY(max_message_size),
    INT_KEY(max_channels),
    INT_KEY(max_channel_length),
    STR_KEY("channel_bytes", channel_bytes),
    INT_KEY(max_queue_bytes),
    INT_KEY(handshake_timeout),
    INT_KEY(ping_interval),
    INT_KEY(pong_timeout),
    INT_KEY(shutdown_timeout),
    INT_KEY(redis_ping_interval),
    INT_KEY(redis_timeout),
    INT_KEY(redis_backoff_min),
    INT_KEY(redis_backoff_max),
    INT_KEY(redis_batch),
    STR_KEY("shard_id", shard_id),
    STR_KEY("advertise_url", advertise_url),
    INT_KEY(weight),
    STR_KEY("cluster_prefix", cluster_prefix),
    INT_KEY(heartbeat_ttl),
    INT_KEY(move_rate),
    {"drain", offsetof(struct sc_config, drain), K_BOOL},
    STR_KEY("auth", auth),
    STR_KEY("jwt_secret_file", jwt_secret_file),
    STR_KEY("jwt_public_key_file", jwt_public_key_file),
    STR_KEY("jwks_file", jwks_file),
    STR_KEY("jwt_audience", jwt_audience),
    STR_KEY("jwt_issuer", jwt_issuer),
    INT_KEY(jwt_leeway),
    STR_KEY("public_channels", public_channels),
    STR_KEY("user_namespaces", user_namespaces),
    STR_KEY("allowed_origins", allowed_origins),
    STR_KEY("tls_cert", tls_cert),
    STR_KEY("tls_key", tls_key),
    STR_KEY("tls_ciphers", tls_ciphers),
    STR_KEY("tls_min_version", tls_min_version),
    {"key_from_token", offsetof(struct sc_config, key_from_token), K_BOOL},
};

/* Every member of a loaded document is in its field. Unknown keys must
 * fail the load, but that is test_config.c's to check: skipping keys this
 * table lacks keeps a new option from failing the fuzzer. */
static void check_loaded(const struct sc_config *cfg, json_t *root)
{
    const char *key;
    json_t *v;

    json_object_foreach(root, key, v)
    {
        size_t i, n = sizeof(keys) / sizeof(keys[0]);
        for (i = 0; i < n && strcmp(keys[i].key, key); i++)
            ;
        if (i == n)
            continue;
        const char *field = (const char *)cfg + keys[i].off;
        if (keys[i].kind == K_INT) {
            FUZZ_CHECK(json_is_integer(v));
            FUZZ_CHECK(*(const long *)field == json_integer_value(v));
        } else if (keys[i].kind == K_BOOL) {
            FUZZ_CHECK(json_is_boolean(v));
            FUZZ_CHECK(*(const long *)field == json_is_true(v));
        } else {
            const char *s = *(char *const *)field;
            FUZZ_CHECK(json_is_string(v) && s != NULL);
            FUZZ_CHECK(!strcmp(s, json_string_value(v)));
        }
    }
}

/* The shard identity a finished config gives sc_cluster_start() must pass
 * sc_shardmap_add(): an id or URL the map refuses would make every join
 * attempt fail at run time instead of stopping the node at start-up with
 * a message naming the option (README: bad values exit with status 2).
 * The URL derived from --host when advertise-url is absent is left out:
 * a bad host already fails the listen. */
static void check_shard_identity(const struct sc_config *cfg)
{
    sc_shardmap *map = NULL;
    int rc;

    if (!cfg->shard_id)
        return;
    FUZZ_CHECK(sc_shardmap_new(&map, 0) == 0);
    rc = sc_shardmap_add(map, cfg->shard_id,
                         cfg->advertise_url ? cfg->advertise_url : "ws://127.0.0.1:8080/ws",
                         (uint32_t)cfg->weight);
    if (rc)
        fprintf(stderr,
                "config accepted shard '%s' url '%s' weight %ld, "
                "the shard map refuses it (%d)\n",
                cfg->shard_id, cfg->advertise_url ? cfg->advertise_url : "(default)", cfg->weight,
                rc);
    FUZZ_CHECK(rc == 0);
    sc_shardmap_free(map);
}

static void check_finished(const struct sc_config *cfg)
{
    FUZZ_CHECK(cfg->redis_url && cfg->log_level && cfg->channel_bytes);
    FUZZ_CHECK(!strcmp(cfg->log_level, "error") || !strcmp(cfg->log_level, "warn") ||
               !strcmp(cfg->log_level, "info") || !strcmp(cfg->log_level, "debug"));
    if (cfg->channel_set == SC_CHANNEL_UTF8)
        FUZZ_CHECK(!strcmp(cfg->channel_bytes, "utf8"));
    else
        FUZZ_CHECK(cfg->channel_set == SC_CHANNEL_ASCII && !strcmp(cfg->channel_bytes, "ascii"));
    FUZZ_CHECK(cfg->redis_backoff_max >= cfg->redis_backoff_min);
    FUZZ_CHECK(cfg->redis_timeout > cfg->redis_ping_interval);
    /* The scheme in any case (RFC 3986, shard/sc_redis_url.h). */
    FUZZ_CHECK(!strncasecmp(cfg->redis_url, "redis://", 8));
    FUZZ_CHECK(cfg->redis_host && cfg->redis_host[0]);
    FUZZ_CHECK(cfg->redis_port >= 1 && cfg->redis_port <= 65535);
    /* A user comes only with "user:password@" or a password file, never
     * alone; and the password comes from one place. finish() reads no file,
     * so with one the password is still unset here. */
    FUZZ_CHECK(!cfg->redis_user || cfg->redis_password || cfg->redis_password_file);
    FUZZ_CHECK(!cfg->redis_password_file || !cfg->redis_password);
    FUZZ_CHECK(cfg->cluster_prefix && cfg->cluster_prefix[0]);
    check_shard_identity(cfg);
    /* docs/security.md: tokens need a key source; TLS needs both files. */
    const char *mode = cfg->auth ? cfg->auth : "off";
    FUZZ_CHECK((cfg->auth_mode == SC_AUTH_OFF && !strcmp(mode, "off")) ||
               (cfg->auth_mode == SC_AUTH_OPTIONAL && !strcmp(mode, "optional")) ||
               (cfg->auth_mode == SC_AUTH_REQUIRED && !strcmp(mode, "required")));
    FUZZ_CHECK(cfg->auth_mode == SC_AUTH_OFF || cfg->jwt_secret_file || cfg->jwt_public_key_file ||
               cfg->jwks_file);
    FUZZ_CHECK(!cfg->tls_cert == !cfg->tls_key);
    /* TLS settings only beside a certificate; the oldest version is 1.2 or
     * 1.3, never lower. */
    FUZZ_CHECK(cfg->tls_cert || (!cfg->tls_ciphers && !cfg->tls_min_version));
    FUZZ_CHECK(cfg->tls_min_minor == 2 || cfg->tls_min_minor == 3);
    FUZZ_CHECK(!cfg->tls_min_version ||
               !strcmp(cfg->tls_min_version, cfg->tls_min_minor == 3 ? "1.3" : "1.2"));
}

static void check_err(const char *err, size_t len)
{
    FUZZ_CHECK(memchr(err, 0, len) != NULL && err[0] != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct sc_config cfg;
    char err[512]; /* what sc_config_load() passes */
    json_error_t jerr;
    json_t *root;
    int rc, frc;

    fuzz_init();
    root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
    sc_config_defaults(&cfg);
    memset(err, 0x7E, sizeof(err));
    rc = sc_config_load_json(&cfg, text, size, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == -EINVAL);
    if (rc) {
        check_err(err, sizeof(err));
    } else {
        FUZZ_CHECK(json_is_object(root));
        check_loaded(&cfg, root);
        FUZZ_CHECK(sc_config_load_json(&cfg, text, size, err, sizeof(err)) == 0);
        check_loaded(&cfg, root);
    }
    json_decref(root);

    /* Finish even after a failed load: whatever the struct holds must be
     * validated, not trusted. */
    memset(err, 0x7E, sizeof(err));
    frc = sc_config_finish(&cfg, err, sizeof(err));
    FUZZ_CHECK(frc == 0 || frc == -EINVAL);
    if (frc)
        check_err(err, sizeof(err));
    else
        check_finished(&cfg);
    FUZZ_CHECK(sc_config_finish(&cfg, err, sizeof(err)) == frc);
    if (frc == 0)
        check_finished(&cfg);
    sc_config_free(&cfg);
    return 0;
}
