/* sc_fork: a run split over several processes (--fork N).
 *
 * A process can hold only RLIMIT_NOFILE sockets (20,000 here), so more
 * connections need more processes. Children each open a contiguous slice
 * of the connection indexes (so channel layout and source addresses are
 * those of a single-process run) and report over a SOCK_SEQPACKET
 * socketpair, which keeps message boundaries without any framing code.
 * The parent publishes, so there is exactly one sequence per channel and
 * every child can compute what it should have received from the published
 * count alone. */
#include "sc_fork.h"
#include "sc_proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MSG_READY = 1, MSG_STAT, MSG_REPORT, MSG_END };

#define STAT_NS (500 * 1000000ull)

struct msg_live {
    uint32_t type;
    uint32_t pad;
    struct sc_live live;
};

struct msg_end {
    uint32_t type;
    uint32_t pad;
    uint64_t published;
    uint64_t since;
};

struct msg_report {
    uint32_t type;
    uint32_t pad;
    struct sc_report rep;
};

struct kid {
    pid_t pid;
    int fd;
    int ready;
    int reported;
    int gone;
    struct sc_live live;
};

/* Parent state, reached through sc_run.ctx. */
struct family {
    struct kid *kids;
    int n;
    int nready;
    int ndone; /* reported or gone */
};

/* Child state, reached through sc_run.ctx. */
struct child {
    int fd;
    int ended;  /* END received */
    int orphan; /* parent went away */
    struct msg_end end;
    uint64_t last_stat;
};

/* Contract: sends the child's progress counters as a READY or STAT
 * message; a failure means the parent is gone, which the control socket
 * reports anyway. */
static void child_send_live(struct sc_run *r, struct child *ch, uint32_t type)
{
    struct msg_live m = {.type = type};

    sc_run_live(r, &m.live);
    (void)send(ch->fd, &m, sizeof(m), MSG_NOSIGNAL);
    ch->last_stat = sc_now();
}

/* Contract: sc_ctl_fn of a child: takes END from the parent, or notes
 * that the parent is gone. */
static void child_ctl(struct sc_run *r, uint32_t idx, uint32_t events)
{
    struct child *ch = r->ctx;
    struct msg_end m;
    ssize_t n;

    (void)idx;
    (void)events;
    n = recv(ch->fd, &m, sizeof(m), MSG_DONTWAIT);
    if (n == (ssize_t)sizeof(m) && m.type == MSG_END) {
        ch->end = m;
        ch->ended = 1;
    } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        ch->orphan = 1;
    }
}

/* Contract: steps the loop and sends a STAT every 500 ms. */
static void child_step(struct sc_run *r, struct child *ch)
{
    sc_run_step(r, 10);
    if (sc_now() - ch->last_stat >= STAT_NS)
        child_send_live(r, ch, MSG_STAT);
}

/* Contract: the whole life of child process: connections lo..hi-1, READY,
 * wait for END, drain, REPORT. Returns the exit status. */
static int child_main(const struct sc_opts *o, int fd, uint32_t lo, uint32_t hi, double rate)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = SC_EV_CTL};
    struct child ch = {.fd = fd};
    struct msg_report *m;
    struct sc_run *r = calloc(1, sizeof(*r));
    int rc = 1;

    if (!r || sc_run_init(r, o) < 0 || sc_run_add_conns(r, lo, hi, rate) < 0)
        goto out;
    r->ctx = &ch;
    r->on_ctl = child_ctl;
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        goto out;
    while (!ch.orphan && !sc_conns_settled(&r->conns))
        child_step(r, &ch);
    child_send_live(r, &ch, MSG_READY);
    while (!ch.orphan && !ch.ended)
        child_step(r, &ch);
    if (ch.orphan)
        goto out;
    sc_run_drain(r, ch.end.published, ch.end.since);
    r->rep.bench_cpu = sc_proc_self_cpu();
    if (!(m = calloc(1, sizeof(*m))))
        goto out;
    m->type = MSG_REPORT;
    m->rep = r->rep;
    rc = send(fd, m, sizeof(*m), MSG_NOSIGNAL) == (ssize_t)sizeof(*m) ? 0 : 1;
    free(m);
out:
    if (r) {
        sc_run_free(r);
        free(r);
    }
    return rc;
}

/* Contract: sc_ctl_fn of the parent: READY/STAT update a child's counters,
 * REPORT is merged into the run's report, EOF before a report marks the
 * child gone (its figures are then missing, which the caller reports). */
static void parent_ctl(struct sc_run *r, uint32_t idx, uint32_t events)
{
    struct family *fam = r->ctx;
    struct kid *k = &fam->kids[idx];
    static struct msg_report m; /* 20 KB: too large for every stack frame */
    ssize_t n;

    (void)events;
    if (k->gone || k->reported)
        return;
    n = recv(k->fd, &m, sizeof(m), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n >= (ssize_t)sizeof(struct msg_live) && (m.type == MSG_READY || m.type == MSG_STAT)) {
        struct msg_live lm;

        memcpy(&lm, &m, sizeof(lm));
        k->live = lm.live;
        if (m.type == MSG_READY && !k->ready)
            k->ready = 1, fam->nready++;
    } else if (n == (ssize_t)sizeof(m) && m.type == MSG_REPORT) {
        sc_report_merge(&r->rep, &m.rep);
        k->reported = 1;
        fam->ndone++;
    } else {
        fprintf(stderr,
                "shardcast-bench: child %d (pid %d) ended without a "
                "report\n",
                (int)idx, (int)k->pid);
        k->gone = 1;
        fam->ndone++;
        fam->nready += !k->ready;
        k->ready = 1;
    }
}

/* Contract: sc_live_fn of the parent: the children's counters summed. */
static void parent_live(struct sc_run *r, struct sc_live *l)
{
    struct family *fam = r->ctx;
    int i;

    for (i = 0; i < fam->n; i++) {
        l->attempted += fam->kids[i].live.attempted;
        l->ready += fam->kids[i].live.ready;
        l->failed += fam->kids[i].live.failed;
        l->closed += fam->kids[i].live.closed;
        l->recv += fam->kids[i].live.recv;
    }
}

/* Contract: starts child i of n with its slice of connections and
 * registers its control socket. 0 or -errno. */
static int spawn(struct sc_run *r, struct family *fam, int i)
{
    const struct sc_opts *o = r->o;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = SC_EV_CTL + (uint64_t)i};
    uint32_t lo = (uint32_t)((uint64_t)o->conns * (uint64_t)i / (uint64_t)fam->n);
    uint32_t hi = (uint32_t)((uint64_t)o->conns * (uint64_t)(i + 1) / (uint64_t)fam->n);
    int sv[2], j;
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    fflush(NULL); /* or the child would flush the parent's buffers again */
    pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return -errno;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGINT, SIG_IGN); /* the parent decides when to stop */
        close(sv[0]);
        close(r->epfd);
        close(r->pub.fd);
        for (j = 0; j < i; j++)
            close(fam->kids[j].fd);
        _exit(child_main(o, sv[1], lo, hi, o->connect_rate / fam->n));
    }
    close(sv[1]);
    fam->kids[i].pid = pid;
    fam->kids[i].fd = sv[0];
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, sv[0], &ev) < 0)
        return -errno;
    return 0;
}

/* Contract: tells every child that is still there how many messages were
 * published, which starts their drain. */
static void send_end(struct family *fam, uint64_t published)
{
    struct msg_end m = {.type = MSG_END, .published = published, .since = sc_now()};
    int i;

    for (i = 0; i < fam->n; i++)
        if (!fam->kids[i].gone)
            (void)send(fam->kids[i].fd, &m, sizeof(m), MSG_NOSIGNAL);
}

/* Contract: a run over o->forks children coordinated by this process,
 * which publishes; *out gets the merged report. 0 when every child
 * reported, -ECHILD when one did not (the report then lacks its part),
 * other -errno when the run could not be carried out. */
int sc_fork_run(const struct sc_opts *o, struct sc_report *out)
{
    struct family fam = {.n = (int)o->forks};
    struct sc_run *r = calloc(1, sizeof(*r));
    int rc = -ENOMEM, i, gone = 0;

    if (!r || !(fam.kids = calloc(o->forks, sizeof(*fam.kids))))
        goto free_run;
    if ((rc = sc_run_init(r, o)) < 0)
        goto free_run;
    if ((rc = sc_pub_init(&r->pub, o, &r->rep)) < 0) {
        fprintf(stderr, "shardcast-bench: cannot reach Redis at %s: %s\n", o->redis.host,
                strerror(-rc));
        goto free_run;
    }
    r->have_pub = 1;
    r->ctx = &fam;
    r->on_ctl = parent_ctl;
    r->live = parent_live;
    for (i = 0; i < fam.n; i++)
        if ((rc = spawn(r, &fam, i)) < 0)
            goto reap;
    while (!sc_stop && fam.nready < fam.n)
        sc_run_step(r, 10);
    rc = sc_run_publish_side(r);
    send_end(&fam, r->pub.sent);
    while (fam.ndone < fam.n)
        sc_run_step(r, 10);
    sc_run_sample_end(r);
    r->rep.bench_cpu += sc_proc_self_cpu();
    *out = r->rep;
reap:
    for (i = 0; i < fam.n; i++) {
        if (fam.kids[i].pid <= 0)
            continue;
        if (rc < 0)
            kill(fam.kids[i].pid, SIGKILL);
        waitpid(fam.kids[i].pid, NULL, 0);
        close(fam.kids[i].fd);
        gone += fam.kids[i].gone;
    }
    if (rc == 0 && gone)
        rc = -ECHILD;
free_run:
    if (r) {
        sc_run_free(r);
        free(r);
    }
    free(fam.kids);
    return rc;
}
