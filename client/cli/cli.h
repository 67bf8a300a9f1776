/*
 * cli.h - what the shardcast-cli subcommands share: exit statuses, parsed
 * options, and the entry points main() dispatches to.
 */
#ifndef SC_CLI_CLI_H
#define SC_CLI_CLI_H

#include <stddef.h>
#include <stdio.h>

#define SC_CLI_NAME "shardcast-cli"

/* Process exit statuses; docs/cli.md and --help carry the same table. */
enum sc_exit {
    SC_EXIT_OK = 0,              /* done (--count reached, published) */
    SC_EXIT_FAILURE = 1,         /* connect / Redis / output failure */
    SC_EXIT_USAGE = 2,           /* bad command line */
    SC_EXIT_TIMEOUT = 3,         /* --timeout passed without a message */
    SC_EXIT_REFUSED = 4,         /* the node answered the subscribe with error */
    SC_EXIT_CLOSED = 5,          /* the node closed with a do-not-reconnect code */
    SC_EXIT_CONNECT_TIMEOUT = 6, /* no handshake / no answer in time */
    SC_EXIT_SIGNAL = 128,        /* + signal number */
};

/* --connect-timeout when none is given, in seconds. */
#define SC_CONNECT_TIMEOUT_S 10.0

struct sc_sub_opts {
    const char *url;
    const char *key; /* shard key, or NULL */
    char **channels; /* points into argv */
    size_t n_channels;
    int json;
    long count;               /* 0: no limit */
    double timeout_s;         /* 0: none */
    double connect_timeout_s; /* TCP connect + WebSocket upgrade */
    long max_retries;         /* -1: retry forever */
    int insecure;
    int quiet;
    int verbose;
    int help; /* --help was given: print it, do nothing else */
};

struct sc_pub_opts {
    const char *redis_url;
    const char *redis_password_file; /* NULL: the password, if any, is in
					  * the URL */
    const char *channel;
    const char *message;      /* "-" reads stdin */
    double connect_timeout_s; /* connect, and each reply from Redis */
    int verbose;
    int help;
};

/*
 * sc_args_sub() / sc_args_pub() - parse a subcommand's arguments (argv[0]
 * is the subcommand name).  Return 0 with *o filled (o->help set means only
 * the help was asked for), or -EINVAL after printing a message naming the
 * offending option or argument to stderr.
 */
int sc_args_sub(int argc, char **argv, struct sc_sub_opts *o);
int sc_args_pub(int argc, char **argv, struct sc_pub_opts *o);

/* Help texts: the program's, and each subcommand's. */
void sc_usage_main(FILE *f);
void sc_usage_sub(FILE *f);
void sc_usage_pub(FILE *f);

/* sc_sub_run() - run "sub" to completion; returns an enum sc_exit status. */
int sc_sub_run(const struct sc_sub_opts *o);

/* sc_pub_run() - run "pub" to completion; returns an enum sc_exit status. */
int sc_pub_run(const struct sc_pub_opts *o);

#endif /* SC_CLI_CLI_H */
