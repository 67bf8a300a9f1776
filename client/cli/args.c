/*
 * args.c - command lines and help texts of shardcast-cli and its
 * subcommands.
 *
 * Every rejection names the option or argument at fault and ends in exit
 * status 2, so a script calling us can tell "you called me wrong" from
 * "the network failed".
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sc_names.h"

#define SC_TIMEOUT_MAX_S (7.0 * 24 * 3600)

static const char sc_exit_table[] =
    "Exit status:\n"
    "  0      done: --count messages received, or message published\n"
    "  1      runtime failure: cannot connect, reconnects exhausted\n"
    "         (--max-retries), Redis error, stdout closed\n"
    "  2      usage error (bad option or argument)\n"
    "  3      --timeout seconds passed without a message\n"
    "  4      the node refused the subscription (its reason on stderr)\n"
    "  5      the node closed the connection with a do-not-reconnect code\n"
    "         (4000-4099, or 1000/1002/1003/1007/1008/1009)\n"
    "  6      --connect-timeout passed: sub: no WebSocket handshake on the\n"
    "         first connection; pub: no connection to Redis, or no answer\n"
    "         from it\n"
    "  128+N  killed by signal N (130 for Ctrl-C, 143 for SIGTERM)\n";

void sc_usage_main(FILE *f)
{
    fprintf(f,
            "Usage: " SC_CLI_NAME " COMMAND [OPTIONS] ARGS...\n"
            "       " SC_CLI_NAME " --help | --version\n"
            "\n"
            "Command-line client for shardcast, a WebSocket pub/sub node "
            "fed by Redis.\n"
            "\n"
            "Commands:\n"
            "  sub   subscribe to channels on a node and print messages\n"
            "  pub   publish one message to a channel through Redis\n"
            "  help [COMMAND]  show help\n"
            "\n"
            "Run '" SC_CLI_NAME " COMMAND --help' for a command's options.\n"
            "\n%s",
            sc_exit_table);
}

void sc_usage_sub(FILE *f)
{
    fprintf(f,
            "Usage: " SC_CLI_NAME " sub [OPTIONS] URL CHANNEL...\n"
            "\n"
            "Connect to a shardcast node, subscribe to each CHANNEL (a name "
            "or a Redis\nglob pattern such as 'chat.*') and print every "
            "message as it arrives.\n"
            "\n"
            "  URL  ws://HOST[:PORT][/PATH] or wss://...; PATH defaults to "
            "/ws\n"
            "\n"
            "Options:\n"
            "  -k, --key K          shard key; sent as ?key=K on the URL and "
            "on redirects\n"
            "  -j, --json           print each frame as one line of JSON, "
            "not just the data\n"
            "  -n, --count N        exit 0 after N messages\n"
            "  -t, --timeout S      exit 3 when no message arrives for S "
            "seconds once\n"
            "                       connected (S may be fractional; the "
            "clock starts at\n"
            "                       the first handshake and runs across "
            "reconnects)\n"
            "      --connect-timeout S\n"
            "                       seconds for TCP connect + WebSocket "
            "upgrade (default\n"
            "                       10); the first connection exits 6 "
            "past it, later\n"
            "                       ones count as a failed reconnect\n"
            "      --max-retries N  exit 1 after N reconnect attempts in a "
            "row fail\n"
            "                       (default: keep trying)\n"
            "      --insecure       accept any TLS certificate (wss:// only)\n"
            "  -q, --quiet          no notices about reconnects or the node's "
            "Redis on stderr\n"
            "  -v, --verbose        connection details on stderr; -vv adds "
            "libwebsockets logs\n"
            "  -h, --help           show this help\n"
            "\n"
            "Output: the message data, one message per line, decoded from "
            "base64 when the\nnode had to encode it (so binary payloads come "
            "out as the bytes published).\nWith --json, each message and "
            "'missed' frame as received.  'missed' events\nare reported on "
            "stderr in both modes, and so is the node losing Redis\n(and "
            "getting it back), unless -q.\n"
            "\n"
            "Reconnects: a lost connection (network error, close 1001, "
            "1011, 4100-4199)\nis retried with exponential backoff and full "
            "jitter (0.5 s doubling, up to\n30 s), then the channels are "
            "subscribed again and a 'missed' event with\nreason "
            "\"client_reconnect\" is reported.  A redirect or move (close "
            "4200-4299)\nis followed at once.  The first connection is not "
            "retried: it exits 1,\nor 6 past --connect-timeout.\n"
            "\n%s",
            sc_exit_table);
}

void sc_usage_pub(FILE *f)
{
    fprintf(f,
            "Usage: " SC_CLI_NAME " pub [OPTIONS] CHANNEL MESSAGE\n"
            "\n"
            "Publish MESSAGE on CHANNEL with Redis PUBLISH and print the "
            "number of\nreceivers Redis reported (shardcast nodes and other "
            "Redis subscribers, not\nWebSocket clients).  MESSAGE '-' reads "
            "the message from stdin, byte for byte.\nUse '--' before a "
            "MESSAGE that starts with '-'.\n"
            "\n"
            "Options:\n"
            "  -r, --redis URL   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]\n"
            "                    (default redis://127.0.0.1:6379)\n"
            "      --redis-password-file FILE\n"
            "                    the Redis password from FILE (one trailing "
            "newline\n"
            "                    dropped), where ps cannot see it; the URL "
            "then holds\n"
            "                    none: redis://HOST[:PORT], or "
            "redis://USER@HOST[:PORT]\n"
            "      --connect-timeout S\n"
            "                    seconds allowed for the connection to Redis "
            "and for each\n"
            "                    of its answers (default 10); past it, exit 6\n"
            "  -v, --verbose     report what was sent on stderr\n"
            "  -h, --help        show this help\n"
            "\n%s",
            sc_exit_table);
}

/*
 * Report the option getopt_long() stopped at (rc is '?' or ':') and return
 * -EINVAL.  getopt leaves optopt at 0 for an unknown long option and sets it
 * to the option's value otherwise, so the text shown is taken from argv when
 * the option was a long one: that is what the user typed.
 */
static int sc_bad_option(const char *cmd, int rc, char **argv)
{
    const char *arg = argv[optind - 1];
    int is_long = !strncmp(arg, "--", 2);

    if (rc == ':' && is_long)
        fprintf(stderr, SC_CLI_NAME " %s: option '%s' needs a value\n", cmd, arg);
    else if (rc == ':')
        fprintf(stderr, SC_CLI_NAME " %s: option '-%c' needs a value\n", cmd, optopt);
    else if (optopt && is_long && strchr(arg, '='))
        fprintf(stderr, SC_CLI_NAME " %s: option '%.*s' takes no value\n", cmd,
                (int)strcspn(arg, "="), arg);
    else if (optopt)
        fprintf(stderr, SC_CLI_NAME " %s: unknown option '-%c'\n", cmd, optopt);
    else
        fprintf(stderr, SC_CLI_NAME " %s: unknown option '%s'\n", cmd, arg);
    fprintf(stderr, "Try '" SC_CLI_NAME " %s --help'.\n", cmd);
    return -EINVAL;
}

/* Report a bad value for an option and return -EINVAL. */
static int sc_bad_value(const char *cmd, const char *opt, const char *val, const char *why)
{
    fprintf(stderr, SC_CLI_NAME " %s: bad value '%s' for %s: %s\n", cmd, val, opt, why);
    return -EINVAL;
}

/*
 * Parse a whole decimal integer >= min.  Returns 0 and sets *out, or
 * -EINVAL on anything else (including overflow and trailing bytes).
 */
static int sc_parse_long(const char *s, long min, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min)
        return -EINVAL;
    *out = v;
    return 0;
}

/* Parse seconds: a finite number in (0, one week].  0 or -EINVAL. */
static int sc_parse_seconds(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || v <= 0 || v > SC_TIMEOUT_MAX_S)
        return -EINVAL;
    *out = v;
    return 0;
}

enum {
    SC_OPT_MAX_RETRIES = 256,
    SC_OPT_INSECURE,
    SC_OPT_CONNECT_TIMEOUT,
    SC_OPT_REDIS_PASSWORD_FILE,
};

/* Apply --connect-timeout for cmd.  Returns 0 or -EINVAL (reported). */
static int sc_connect_timeout_option(const char *cmd, double *out)
{
    if (sc_parse_seconds(optarg, out))
        return sc_bad_value(cmd, "--connect-timeout", optarg, "want seconds > 0, at most a week");
    return 0;
}

/* Apply one parsed "sub" option.  Returns 0 or -EINVAL (reported). */
static int sc_sub_option(int c, struct sc_sub_opts *o)
{
    switch (c) {
    case 'k':
        /* The node's rule (shard/sc_names.h): refuse here what it
		 * would refuse at every connect. */
        if (!sc_key_valid(optarg, strlen(optarg)))
            return sc_bad_value("sub", "--key", optarg,
                                "want 1-128 "
                                "printable ASCII characters, no "
                                "spaces");
        o->key = optarg;
        return 0;
    case 'j': o->json = 1; return 0;
    case 'n':
        if (sc_parse_long(optarg, 1, &o->count))
            return sc_bad_value("sub", "--count", optarg, "want a whole number >= 1");
        return 0;
    case 't':
        if (sc_parse_seconds(optarg, &o->timeout_s))
            return sc_bad_value("sub", "--timeout", optarg, "want seconds > 0, at most a week");
        return 0;
    case SC_OPT_MAX_RETRIES:
        if (sc_parse_long(optarg, 0, &o->max_retries))
            return sc_bad_value("sub", "--max-retries", optarg, "want a whole number >= 0");
        return 0;
    case SC_OPT_INSECURE: o->insecure = 1; return 0;
    case SC_OPT_CONNECT_TIMEOUT: return sc_connect_timeout_option("sub", &o->connect_timeout_s);
    case 'q': o->quiet = 1; return 0;
    case 'v': o->verbose++; return 0;
    case 'h': o->help = 1; return 0;
    }
    return -EINVAL;
}

int sc_args_sub(int argc, char **argv, struct sc_sub_opts *o)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'j'},
        {"count", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 't'},
        {"max-retries", required_argument, NULL, SC_OPT_MAX_RETRIES},
        {"insecure", no_argument, NULL, SC_OPT_INSECURE},
        {"connect-timeout", required_argument, NULL, SC_OPT_CONNECT_TIMEOUT},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(o, 0, sizeof(*o));
    o->max_retries = -1;
    o->connect_timeout_s = SC_CONNECT_TIMEOUT_S;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":k:jn:t:qvh", longopts, NULL)) != -1) {
        if (c == '?' || c == ':')
            return sc_bad_option("sub", c, argv);
        if (sc_sub_option(c, o))
            return -EINVAL;
    }
    if (o->help)
        return 0;
    if (argc - optind < 2) {
        fprintf(stderr, SC_CLI_NAME " sub: missing %s\nTry '" SC_CLI_NAME " sub --help'.\n",
                argc == optind ? "URL and CHANNEL" : "CHANNEL");
        return -EINVAL;
    }
    o->url = argv[optind];
    o->channels = argv + optind + 1;
    o->n_channels = (size_t)(argc - optind - 1);
    return 0;
}

int sc_args_pub(int argc, char **argv, struct sc_pub_opts *o)
{
    static const struct option longopts[] = {
        {"redis", required_argument, NULL, 'r'},
        {"redis-password-file", required_argument, NULL, SC_OPT_REDIS_PASSWORD_FILE},
        {"connect-timeout", required_argument, NULL, SC_OPT_CONNECT_TIMEOUT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(o, 0, sizeof(*o));
    o->redis_url = "redis://127.0.0.1:6379";
    o->connect_timeout_s = SC_CONNECT_TIMEOUT_S;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":r:vh", longopts, NULL)) != -1) {
        if (c == '?' || c == ':')
            return sc_bad_option("pub", c, argv);
        switch (c) {
        case 'r': o->redis_url = optarg; break;
        case SC_OPT_REDIS_PASSWORD_FILE:
            /* Read by sc_pub_run(), next to the URL it completes. */
            o->redis_password_file = optarg;
            break;
        case SC_OPT_CONNECT_TIMEOUT:
            if (sc_connect_timeout_option("pub", &o->connect_timeout_s))
                return -EINVAL;
            break;
        case 'v': o->verbose++; break;
        default: o->help = 1;
        }
    }
    if (o->help)
        return 0;
    if (argc - optind != 2) {
        fprintf(stderr, SC_CLI_NAME " pub: %s\nTry '" SC_CLI_NAME " pub --help'.\n",
                argc - optind < 2 ? "missing CHANNEL or MESSAGE"
                                  : "too many arguments (quote the MESSAGE)");
        return -EINVAL;
    }
    o->channel = argv[optind];
    o->message = argv[optind + 1];
    return 0;
}
