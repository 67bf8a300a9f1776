/* sc_run: one process's event loop and the phases of a run.
 *
 * One epoll set carries the subscriber sockets, the publisher's Redis
 * socket and (in fork mode) the control sockets, so publishing, receiving
 * and coordination never wait on each other. Phases are loops of
 * sc_run_step with an exit condition; a signal (sc_stop) ends the current
 * phase early and the run still reports what it measured. */
#include "sc_run.h"
#include "sc_proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAX_EVENTS 512
#define NUMSUB_WAIT_NS (30 * 1000000000ull)
/* Drain ends when nothing arrived for this long. */
#define DRAIN_IDLE_NS (3 * 1000000000ull)
#define SEC_NS 1000000000ull

volatile sig_atomic_t sc_stop;

/* Contract: an empty run for o with its epoll set; samples the server
 * "before" figures so connection cost can be measured from here. 0 or
 * -errno. */
int sc_run_init(struct sc_run *r, const struct sc_opts *o)
{
    memset(r, 0, sizeof(*r));
    r->o = o;
    r->pub.fd = -1;
    sc_report_init(&r->rep);
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (r->epfd < 0)
        return -errno;
    r->t0 = sc_now();
    r->last_progress = r->t0;
    if (o->nserver)
        r->rep.have_server = sc_proc_sample(o->server_pids, o->nserver, &r->rep.srv_before) > 0;
    return 0;
}

/* Contract: gives the run connections lo..hi-1 opened at rate per second
 * (0 = unbounded). 0 or -ENOMEM. */
int sc_run_add_conns(struct sc_run *r, uint32_t lo, uint32_t hi, double rate)
{
    int rc = sc_conns_init(&r->conns, r->o, &r->rep, r->epfd, lo, hi, rate);

    r->have_conns = rc == 0;
    return rc;
}

/* Contract: the counters of the progress line, local or (fork parent)
 * gathered from the children. */
void sc_run_live(struct sc_run *r, struct sc_live *live)
{
    memset(live, 0, sizeof(*live));
    if (r->live) {
        r->live(r, live);
        return;
    }
    live->attempted = r->rep.attempted;
    live->ready = r->rep.ready;
    live->failed = r->rep.failed;
    live->closed = r->rep.closed;
    live->recv = r->conns.recv_total;
}

/* Contract: at most once per second, after the first second, prints one
 * progress line on stderr (unless --quiet or this is a fork child). */
static void progress(struct sc_run *r, uint64_t now)
{
    struct sc_live l;
    double dt = (double)(now - r->last_progress) / 1e9;

    if (r->o->quiet || (!r->have_pub && !r->live) || dt < 1.0)
        return;
    sc_run_live(r, &l);
    fprintf(stderr,
            "[%6.1fs] conns %lu/%u failed %lu closed %lu | pub %lu "
            "(%.0f/s) | recv %lu (%.0f/s)\n",
            (double)(now - r->t0) / 1e9, (unsigned long)l.ready, r->o->conns,
            (unsigned long)l.failed, (unsigned long)l.closed, (unsigned long)r->pub.sent,
            (double)(r->pub.sent - r->prev_pub) / dt, (unsigned long)l.recv,
            (double)(l.recv - r->prev_recv) / dt);
    r->prev_recv = l.recv;
    r->prev_pub = r->pub.sent;
    r->last_progress = now;
}

/* Contract: waits up to timeout_ms for events, dispatches them, then lets
 * the connections open more / time out and the publisher send what is
 * due. */
void sc_run_step(struct sc_run *r, int timeout_ms)
{
    struct epoll_event ev[MAX_EVENTS];
    uint64_t now;
    int n, i;

    n = epoll_wait(r->epfd, ev, MAX_EVENTS, timeout_ms);
    for (i = 0; i < n; i++) {
        uint64_t tag = ev[i].data.u64;

        if (tag < SC_EV_CONN_LIMIT && r->have_conns)
            sc_conns_event(&r->conns, (uint32_t)tag, ev[i].events);
        else if (tag == SC_EV_PUB)
            sc_pub_event(&r->pub, ev[i].events);
        else if (tag >= SC_EV_CTL && r->on_ctl)
            r->on_ctl(r, (uint32_t)(tag - SC_EV_CTL), ev[i].events);
    }
    now = sc_now();
    if (r->have_conns)
        sc_conns_tick(&r->conns, now);
    if (r->publishing)
        sc_pub_tick(&r->pub);
    progress(r, now);
}

/* Contract: opens this process's connections and returns once each is
 * subscribed or failed (or a signal came): 0, or -ENOTCONN when none got
 * subscribed. */
int sc_run_connect(struct sc_run *r)
{
    while (!sc_stop && !sc_conns_settled(&r->conns))
        sc_run_step(r, 5);
    return r->rep.ready ? 0 : -ENOTCONN;
}

/* Contract: runs the loop for secs seconds (or until a signal). */
static void wait_for(struct sc_run *r, double secs)
{
    uint64_t end = sc_now() + (uint64_t)(secs * 1e9);

    while (!sc_stop && sc_now() < end)
        sc_run_step(r, 10);
}

/* Contract: waits until Redis shows --numsub-min subscribers on every
 * channel (the server has subscribed), 30 s at most; warns when it gives
 * up, as deliveries may then be lost for a reason that is not the server's
 * fan-out. */
static int wait_numsub(struct sc_run *r)
{
    uint64_t end = sc_now() + NUMSUB_WAIT_NS;
    int rc;

    while (!sc_stop) {
        rc = sc_pub_numsub_ok(&r->pub, r->o->numsub_min);
        if (rc < 0) {
            fprintf(stderr, "shardcast-bench: PUBSUB NUMSUB failed: %s\n", strerror(-rc));
            return rc;
        }
        if (rc == 1)
            return 0;
        if (sc_now() > end) {
            fprintf(stderr,
                    "shardcast-bench: warning: after 30 s channel %s%u "
                    "still has fewer than %u subscriber(s) in Redis; "
                    "publishing anyway\n",
                    r->o->prefix, r->pub.numsub_next, r->o->numsub_min);
            return 0;
        }
        sc_run_step(r, 50);
    }
    return 0;
}

/* Contract: samples the server into *s when there is one to read. */
static void sample_server(struct sc_run *r, struct sc_proc_sample *s)
{
    if (r->rep.have_server)
        sc_proc_sample(r->o->server_pids, r->o->nserver, s);
}

/* Contract: the publishing process's part once connections are up: wait
 * for the server's Redis subscriptions, settle, hold idle, publish. Takes
 * the server samples around each phase. 0 or -errno (Redis failed). */
int sc_run_publish_side(struct sc_run *r)
{
    struct sc_report *p = &r->rep;
    struct sc_proc_sample s, redis;
    int rc;

    sample_server(r, &s);
    p->srv_cpu_connect = s.cpu - p->srv_before.cpu;
    if (r->o->count && r->o->numsub_min && (rc = wait_numsub(r)) < 0)
        return rc;
    wait_for(r, r->o->settle);
    sample_server(r, &p->srv_connected);
    wait_for(r, r->o->hold);
    p->hold_secs = r->o->hold;
    sample_server(r, &p->srv_pub_start);
    p->srv_cpu_idle = p->srv_pub_start.cpu - p->srv_connected.cpu;
    if (r->o->nredis && sc_proc_sample(r->o->redis_pids, r->o->nredis, &redis) > 0) {
        p->have_redis = 1;
        p->redis_cpu_pub = redis.cpu; /* start value until sc_run_sample_end */
    }
    if ((rc = sc_pub_start(&r->pub, r->epfd, sc_now())) < 0)
        return rc;
    r->publishing = 1;
    while (!sc_pub_finished(&r->pub)) {
        if (sc_stop && !r->pub.gen_done) {
            r->pub.target = r->pub.sent;
            r->pub.gen_done = 1;
        }
        sc_run_step(r, 1);
    }
    r->publishing = 0;
    return r->pub.failed ? -EIO : 0;
}

/* Contract: takes the closing server and Redis samples: CPU spent from the
 * start of publishing until now (deliveries drained). */
void sc_run_sample_end(struct sc_run *r)
{
    struct sc_proc_sample redis;

    sample_server(r, &r->rep.srv_end);
    r->rep.srv_cpu_pub = r->rep.srv_end.cpu - r->rep.srv_pub_start.cpu;
    if (r->rep.have_redis && sc_proc_sample(r->o->redis_pids, r->o->nredis, &redis) > 0)
        r->rep.redis_cpu_pub = redis.cpu - r->rep.redis_cpu_pub;
}

/* Contract: after `published` messages went out (publishing ended at
 * `since`), waits until every subscription has them all, none arrived for
 * 3 s, --drain seconds passed, or a signal; then fills the delivery
 * figures. */
void sc_run_drain(struct sc_run *r, uint64_t published, uint64_t since)
{
    uint64_t want = sc_conns_expected(&r->conns, published), now = sc_now();
    uint64_t end = since + (uint64_t)(r->o->drain * 1e9), last = now, seen = 0;

    while (!sc_stop && r->conns.recv_total < want && now < end) {
        if (r->conns.recv_total != seen) {
            seen = r->conns.recv_total;
            last = now;
        }
        if (now - last > DRAIN_IDLE_NS)
            break;
        sc_run_step(r, 5);
        now = sc_now();
    }
    sc_conns_account(&r->conns, published);
}

/* Contract: releases everything the run holds. */
void sc_run_free(struct sc_run *r)
{
    if (r->have_conns)
        sc_conns_free(&r->conns);
    if (r->have_pub)
        sc_pub_free(&r->pub);
    if (r->epfd >= 0)
        close(r->epfd);
    r->epfd = -1;
}

/* Contract: a whole run in this process; *out gets the report. 0 when the
 * run completed (loss or not), -errno when it could not be carried out. */
int sc_run_single(const struct sc_opts *o, struct sc_report *out)
{
    struct sc_run *r = calloc(1, sizeof(*r));
    int rc;

    if (!r)
        return -ENOMEM;
    if ((rc = sc_run_init(r, o)) < 0)
        goto done;
    if ((rc = sc_pub_init(&r->pub, o, &r->rep)) < 0) {
        fprintf(stderr, "shardcast-bench: cannot reach Redis at %s: %s\n", o->redis.host,
                strerror(-rc));
        goto done;
    }
    r->have_pub = 1;
    if ((rc = sc_run_add_conns(r, 0, o->conns, o->connect_rate)) < 0)
        goto done;
    if ((rc = sc_run_connect(r)) < 0)
        fprintf(stderr, "shardcast-bench: no connection got subscribed\n");
    else if ((rc = sc_run_publish_side(r)) == 0)
        sc_run_drain(r, r->pub.sent, sc_now());
    sc_conns_account(&r->conns, r->pub.sent);
    sc_run_sample_end(r);
    r->rep.bench_cpu = sc_proc_self_cpu();
    *out = r->rep;
done:
    sc_run_free(r);
    free(r);
    return rc;
}
