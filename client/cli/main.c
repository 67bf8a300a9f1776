/*
 * main.c - shardcast-cli entry point: picks the subcommand.
 */
#include "cli.h"

#include <signal.h>
#include <string.h>

#ifndef SC_CLI_VERSION
#define SC_CLI_VERSION "unknown"
#endif

/*
 * "help [COMMAND]": print the help asked for.  Returns an exit status:
 * 0, or 2 for a command we do not have.
 */
static int sc_help(const char *cmd)
{
    if (!cmd)
        sc_usage_main(stdout);
    else if (!strcmp(cmd, "sub"))
        sc_usage_sub(stdout);
    else if (!strcmp(cmd, "pub"))
        sc_usage_pub(stdout);
    else {
        fprintf(stderr, SC_CLI_NAME ": unknown command '%s'\n", cmd);
        return SC_EXIT_USAGE;
    }
    return SC_EXIT_OK;
}

/* Parse and run "sub".  Returns an exit status. */
static int sc_main_sub(int argc, char **argv)
{
    struct sc_sub_opts o;

    if (sc_args_sub(argc, argv, &o))
        return SC_EXIT_USAGE;
    if (o.help) {
        sc_usage_sub(stdout);
        return SC_EXIT_OK;
    }
    return sc_sub_run(&o);
}

/* Parse and run "pub".  Returns an exit status. */
static int sc_main_pub(int argc, char **argv)
{
    struct sc_pub_opts o;

    if (sc_args_pub(argc, argv, &o))
        return SC_EXIT_USAGE;
    if (o.help) {
        sc_usage_pub(stdout);
        return SC_EXIT_OK;
    }
    return sc_pub_run(&o);
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    /*
	 * Writes to a closed socket or pipe must come back as EPIPE, not kill
	 * us: OpenSSL and hiredis write without MSG_NOSIGNAL.
	 */
    signal(SIGPIPE, SIG_IGN);
    if (!cmd) {
        sc_usage_main(stderr);
        return SC_EXIT_USAGE;
    }
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help"))
        return sc_help(NULL);
    if (!strcmp(cmd, "help"))
        return sc_help(argc > 2 ? argv[2] : NULL);
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf(SC_CLI_NAME " " SC_CLI_VERSION "\n");
        return SC_EXIT_OK;
    }
    if (!strcmp(cmd, "sub"))
        return sc_main_sub(argc - 1, argv + 1);
    if (!strcmp(cmd, "pub"))
        return sc_main_pub(argc - 1, argv + 1);
    fprintf(stderr, SC_CLI_NAME ": %s '%s'\nTry '" SC_CLI_NAME " --help'.\n",
            cmd[0] == '-' ? "unknown option" : "unknown command", cmd);
    return SC_EXIT_USAGE;
}
