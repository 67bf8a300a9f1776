/* sc_config: every setting of a node, from defaults, a JSON file and flags.
 *
 * Each option has one entry in a table that drives the flag parser, the
 * JSON loader and --help alike, so the three can never disagree. */
#ifndef SC_CONFIG_H
#define SC_CONFIG_H

#include <stddef.h>

enum sc_channel_bytes { SC_CHANNEL_ASCII = 0, SC_CHANNEL_UTF8 = 1 };

struct sc_config {
    char *host; /* listen address, NULL = all */
    long port;
    char *redis_url;
    char *redis_password_file; /* read at start-up into redis_password */
    char *web_root;            /* NULL = installed or source copy */
    char *log_level;

    long max_connections;
    long max_message_size;        /* bytes, one incoming message */
    long max_channels;            /* subscriptions per connection */
    long max_channel_length;      /* bytes */
    char *channel_bytes;          /* "ascii" or "utf8" */
    long max_queue_bytes;         /* send queue bound per connection */
    long handshake_timeout;       /* s */
    long max_handshakes;          /* connections in their handshake at once */
    long max_requests_per_second; /* per connection */
    long ping_interval;           /* s */
    long pong_timeout;            /* s */
    long shutdown_timeout;        /* s */

    long redis_ping_interval; /* ms */
    long redis_timeout;       /* ms */
    long redis_backoff_min;   /* ms */
    long redis_backoff_max;   /* ms */
    long redis_batch;         /* channels per (P)SUBSCRIBE command */

    /* Cluster membership; shard_id NULL means a standalone node. */
    char *shard_id;
    char *advertise_url; /* NULL: ws://HOST:PORT/ws */
    long weight;
    char *cluster_prefix; /* Redis key and channel prefix */
    long heartbeat_ttl;   /* ms */
    long move_rate;       /* clients moved per second, 0 = auto */
    long drain;           /* 1: SIGTERM drains instead of closing */

    /* Authentication, permissions, TLS (see docs/security.md). */
    char *auth; /* "off", "optional" or "required" */
    char *jwt_secret_file;
    char *jwt_public_key_file;
    char *jwks_file;
    char *jwt_audience;
    char *jwt_issuer;
    long jwt_leeway;       /* s */
    char *public_channels; /* comma-separated names or globs */
    char *user_namespaces; /* comma-separated templates with {sub} */
    char *allowed_origins; /* comma-separated; NULL = any */
    char *tls_cert;
    char *tls_key;
    char *tls_ciphers;     /* TLS 1.2 suites, OpenSSL syntax; NULL = default */
    char *tls_min_version; /* "1.2" or "1.3"; NULL = "1.2" */
    long key_from_token;   /* 1: a token's sub is the shard key */

    /* Derived by sc_config_finish(), not set directly. */
    char *redis_host;
    long redis_port;
    char *redis_user;
    char *redis_password; /* from the URL, or the file once loaded */
    enum sc_channel_bytes channel_set;
    int tls_min_minor; /* 2 or 3: TLS 1.2 or 1.3 at least */
    int auth_mode;     /* SC_AUTH_OFF / _OPTIONAL / _REQUIRED */
};

enum sc_auth_mode { SC_AUTH_OFF = 0, SC_AUTH_OPTIONAL, SC_AUTH_REQUIRED };

enum sc_config_result {
    SC_CONFIG_OK = 0,   /* run the node */
    SC_CONFIG_EXIT = 1, /* --help or --version printed; exit 0 */
    SC_CONFIG_BAD = 2,  /* error printed to stderr; exit 2 */
};

/* Fill cfg from defaults, then --config FILE (if given), then the other
 * flags, validate, and read the secrets named by *-file options (the
 * Redis password). Messages go to stderr through sc_config_error() and
 * name the option, never a secret. On SC_CONFIG_BAD or SC_CONFIG_EXIT the
 * caller still owns cfg and must call sc_config_free(). */
enum sc_config_result sc_config_load(struct sc_config *cfg, int argc, char **argv);

/* Load only a JSON document (used by tests and the fuzzer). Returns 0, or
 * -EINVAL with a message naming the key in err. */
int sc_config_load_json(struct sc_config *cfg, const char *text, size_t len, char *err,
                        size_t errlen);

void sc_config_defaults(struct sc_config *cfg);
/* Validate and derive fields; touches no file. Returns 0 or -EINVAL with a
 * message in err. */
int sc_config_finish(struct sc_config *cfg, char *err, size_t errlen);
/* Frees every string, wiping the Redis password first. */
void sc_config_free(struct sc_config *cfg);

/* Report a configuration error the way every one is reported: one line
 * "shardcast: MESSAGE" on stderr, no timestamp (the caller exits 2). */
void sc_config_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
