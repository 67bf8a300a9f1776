/* shardcast-bench: load generator for WebSocket pub/sub fan-out servers.
 *
 * main only wires things up: options, signals, limits and the checks that
 * warn about them before connecting, the run, and the report. */
#include "sc_fork.h"
#include "sc_opts.h"
#include "sc_proc.h"
#include "sc_report.h"
#include "sc_run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Descriptors a process needs besides its connections (epoll, Redis,
 * control sockets, stdio), with room to spare. */
#define FD_RESERVE 64

static void on_signal(int sig)
{
    (void)sig;
    sc_stop = 1;
}

/* Contract: installs the handlers: SIGINT/SIGTERM end the current phase
 * and the run still reports; SIGPIPE is ignored (sends use MSG_NOSIGNAL,
 * this covers everything else). */
static void setup_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Contract: raises the fd limit to the hard limit and warns (stderr) when
 * the fd limit or the ephemeral ports cannot hold the requested
 * connections, naming the option that fixes it. The run still goes ahead
 * and reports where it stopped. */
static void check_limits(const struct sc_opts *o)
{
    uint64_t limit = 0, per_proc = (o->conns + o->forks - 1) / o->forks;
    uint64_t nsrc = o->src_first ? o->src_last - o->src_first + 1 : 1, ports;
    unsigned lo, hi;
    int rc = sc_proc_raise_nofile(&limit);

    if (rc < 0)
        fprintf(stderr, "shardcast-bench: cannot raise RLIMIT_NOFILE: %s\n", strerror(-rc));
    else if (per_proc + FD_RESERVE > limit)
        fprintf(stderr,
                "shardcast-bench: warning: %lu connections per process "
                "but the open files limit is %lu: expect EMFILE at about %lu; "
                "use --fork %lu\n",
                (unsigned long)per_proc, (unsigned long)limit, (unsigned long)(limit - FD_RESERVE),
                (unsigned long)((o->conns + limit - FD_RESERVE - 1) / (limit - FD_RESERVE)));
    sc_proc_port_range(&lo, &hi);
    ports = (uint64_t)(hi - lo + 1) * nsrc * o->ntargets;
    if (o->conns > ports)
        fprintf(stderr,
                "shardcast-bench: warning: %u connections but only about "
                "%lu local ports for %lu source address(es) x %u target(s): "
                "expect EADDRNOTAVAIL; widen --src\n",
                o->conns, (unsigned long)ports, (unsigned long)nsrc, o->ntargets);
}

int main(int argc, char **argv)
{
    struct sc_opts o;
    struct sc_report *rep;
    int rc;

    rc = sc_opts_parse(&o, argc, argv);
    if (rc != 0) {
        sc_opts_free(&o);
        return rc == 1 ? 0 : rc == -EINVAL ? 2 : 1;
    }
    setup_signals();
    check_limits(&o);
    rep = calloc(1, sizeof(*rep));
    if (!rep) {
        sc_opts_free(&o);
        return 1;
    }
    sc_report_init(rep);
    rc = o.forks > 1 ? sc_fork_run(&o, rep) : sc_run_single(&o, rep);
    /* A run cut short still prints what it measured, unless nothing ran. */
    if (rc == 0 || rc == -ECHILD || rc == -ENOTCONN || rc == -EIO) {
        if (o.json)
            sc_report_json(rep, &o, stdout);
        else
            sc_report_text(rep, &o, stdout);
    }
    if (rc < 0 && rc != -ENOTCONN) /* that one was explained already */
        fprintf(stderr, "shardcast-bench: run failed: %s\n", strerror(-rc));
    free(rep);
    sc_opts_free(&o);
    return rc < 0 ? 1 : 0;
}
