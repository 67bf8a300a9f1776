/* sc_pub: publishing through Redis.
 *
 * Commands are generated on schedule (rate x elapsed) and written in
 * batches; at most --pipeline may await a reply, so a Redis that falls
 * behind slows the publisher down instead of growing a buffer without end.
 * Each payload is stamped when its command is built, so latency includes
 * any time a message waited in this queue: the figure a user would see. */
#include "sc_pub.h"
#include "sc_delivery.h"
#include "sc_proc.h"
#include "sc_resp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Stop generating while this much is still unsent: Redis is not keeping up
 * and more would only queue here. */
#define OUT_HIGH (1u << 20)
#define NUMSUB_BATCH 256
#define IO_TIMEOUT_MS 5000

/* Contract: connects to Redis (blocking, loopback, 5 s at most) and leaves
 * the socket non-blocking. 0 or -errno, with nothing held on failure. */
int sc_pub_init(struct sc_pub *p, const struct sc_opts *o, struct sc_report *rep)
{
    struct pollfd pfd;
    int err = 0;
    socklen_t el = sizeof(err);

    memset(p, 0, sizeof(*p));
    p->fd = -1;
    p->o = o;
    p->rep = rep;
    p->payload = malloc(o->size);
    if (!p->payload)
        return -ENOMEM;
    memset(p->payload, 'x', o->size);
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0) {
        err = errno;
        goto fail;
    }
    if (connect(p->fd, (const struct sockaddr *)&o->redis.addr, sizeof(o->redis.addr)) < 0 &&
        errno != EINPROGRESS) {
        err = errno;
        goto fail_fd;
    }
    pfd.fd = p->fd;
    pfd.events = POLLOUT;
    if (poll(&pfd, 1, IO_TIMEOUT_MS) != 1) {
        err = ETIMEDOUT;
        goto fail_fd;
    }
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err)
        goto fail_fd;
    return 0;

fail_fd:
    close(p->fd);
fail:
    free(p->payload);
    memset(p, 0, sizeof(*p));
    p->fd = -1;
    return -(err ? err : EIO);
}

/* Contract: writes len bytes with poll()-bounded waits; 0 or -errno. Used
 * before publishing starts, when blocking the loop briefly is fine. */
static int write_all(int fd, const char *buf, size_t len)
{
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    ssize_t n;

    while (len) {
        n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) {
            if (poll(&pfd, 1, IO_TIMEOUT_MS) != 1)
                return -ETIMEDOUT;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Contract: reads one whole reply into p->in (elems describe an array's
 * first max elements) and returns its length in p->in, or -errno. */
static ssize_t read_reply(struct sc_pub *p, struct sc_resp_val *top, struct sc_resp_val *elems,
                          size_t max)
{
    struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
    ssize_t r, n;
    char *nb;

    for (;;) {
        r = sc_resp_parse(p->in, p->in_len, top, elems, max);
        if (r != 0)
            return r;
        if (p->in_len == p->in_cap) {
            nb = realloc(p->in, p->in_cap ? p->in_cap * 2 : 65536);
            if (!nb)
                return -ENOMEM;
            p->in = nb;
            p->in_cap = p->in_cap ? p->in_cap * 2 : 65536;
        }
        n = recv(p->fd, p->in + p->in_len, p->in_cap - p->in_len, 0);
        if (n < 0 && errno == EAGAIN) {
            if (poll(&pfd, 1, IO_TIMEOUT_MS) != 1)
                return -ETIMEDOUT;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0 ? -ECONNRESET : -errno;
        p->in_len += (size_t)n;
    }
}

/* Contract: asks PUBSUB NUMSUB for channels [first, first+n) and returns
 * the index of the first with fewer than need subscribers (first + n if
 * none), or -errno. */
static int64_t numsub_batch(struct sc_pub *p, uint32_t first, uint32_t n, uint32_t need)
{
    struct sc_resp_val el[2 * NUMSUB_BATCH];
    const char *argv[2 + NUMSUB_BATCH];
    size_t lens[2 + NUMSUB_BATCH], off = 0, cap = 2 + NUMSUB_BATCH * 100;
    char names[NUMSUB_BATCH * 80], cmd[2 + NUMSUB_BATCH * 100];
    struct sc_resp_val top;
    ssize_t r;
    uint32_t i;

    argv[0] = "PUBSUB";
    lens[0] = 6;
    argv[1] = "NUMSUB";
    lens[1] = 6;
    for (i = 0; i < n; i++) {
        lens[2 + i] = sc_opts_channel_name(p->o, first + i, names + off, 80);
        argv[2 + i] = names + off;
        off += 80;
    }
    off = sc_resp_cmd(cmd, cap, (int)n + 2, argv, lens);
    if (!off || (r = write_all(p->fd, cmd, off)) < 0)
        return off ? r : -ENOSPC;
    r = read_reply(p, &top, el, 2 * NUMSUB_BATCH);
    if (r < 0)
        return r;
    memmove(p->in, p->in + r, p->in_len - (size_t)r);
    p->in_len -= (size_t)r;
    if (top.type != '*' || top.num != 2 * (int64_t)n)
        return -EPROTO;
    for (i = 0; i < n; i++)
        if (el[2 * i + 1].type != ':' || el[2 * i + 1].num < need)
            return first + i;
    return first + n;
}

/* Contract: 1 when every channel has at least need subscribers in Redis,
 * 0 when some has not yet, -errno when Redis could not be asked. Channels
 * found ready are not asked again. */
int sc_pub_numsub_ok(struct sc_pub *p, uint32_t need)
{
    uint32_t nchan = p->o->nchan, first, n;
    int64_t r;

    while (p->numsub_next < nchan) {
        first = p->numsub_next;
        n = nchan - first < NUMSUB_BATCH ? nchan - first : NUMSUB_BATCH;
        r = numsub_batch(p, first, n, need);
        if (r < 0)
            return (int)r;
        p->numsub_next = (uint32_t)r;
        if (r < (int64_t)first + n)
            return 0;
    }
    return 1;
}

/* Contract: begins the publishing phase at now: registers the socket with
 * epfd and sets the target and time limit. 0 or -errno. */
int sc_pub_start(struct sc_pub *p, int epfd, uint64_t now)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u64 = SC_EV_PUB};

    if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd, &ev) < 0)
        return -errno;
    p->start = now;
    p->target = p->o->count;
    p->deadline = p->o->time_limit > 0 ? now + (uint64_t)(p->o->time_limit * 1e9) : 0;
    p->gen_done = p->target == 0;
    p->rep->pub_start = now;
    return 0;
}

/* Contract: sends what is queued until the kernel pushes back; 0 or
 * -errno when the connection broke. */
static int flush_out(struct sc_pub *p)
{
    ssize_t n;

    while (p->out_off < p->out_len) {
        n = send(p->fd, p->out + p->out_off, p->out_len - p->out_off, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        p->out_off += (size_t)n;
    }
    p->out_off = p->out_len = 0;
    return 0;
}

/* Contract: appends PUBLISH number k (channel sc_opts_pub_chan(k), k mod
 * nchan unless --random; sequence k / nchan + 1) stamped with ts; -ENOMEM when the buffer cannot grow. */
static int append_publish(struct sc_pub *p, uint64_t k, uint64_t ts)
{
    struct sc_stamp st = {.tag = p->o->tag, .ts = ts};
    const char *argv[3] = {"PUBLISH", NULL, p->payload};
    size_t lens[3] = {7, 0, p->o->size}, need = p->o->size + 160, n;
    char name[96];
    char *nb;

    st.chan = sc_opts_pub_chan(p->o, k);
    st.seq = (uint32_t)(k / p->o->nchan + 1);
    sc_payload_write(p->payload, SC_PAYLOAD_MIN, &st);
    lens[1] = sc_opts_channel_name(p->o, st.chan, name, sizeof(name));
    argv[1] = name;
    if (p->out_cap - p->out_len < need) {
        size_t cap = p->out_cap ? p->out_cap : 65536;

        while (cap - p->out_len < need)
            cap *= 2;
        if (!(nb = realloc(p->out, cap)))
            return -ENOMEM;
        p->out = nb;
        p->out_cap = cap;
    }
    n = sc_resp_cmd(p->out + p->out_len, p->out_cap - p->out_len, 3, argv, lens);
    p->out_len += n;
    return n ? 0 : -ENOSPC;
}

/* Contract: generates the messages due by now within the pipeline window
 * and sends them; marks generation done at the target or time limit.
 * 0 or -errno (Redis connection broken). */
int sc_pub_tick(struct sc_pub *p)
{
    uint64_t now = sc_now(), due = p->target;
    int rc;

    if (p->failed || p->gen_done)
        return p->failed ? -EIO : flush_out(p);
    if (p->deadline && now >= p->deadline) {
        p->target = p->sent;
        p->gen_done = 1;
        return flush_out(p);
    }
    if (p->o->rate > 0) {
        due = (uint64_t)((double)(now - p->start) * p->o->rate / 1e9) + 1;
        if (due > p->target)
            due = p->target;
    }
    while (p->sent < due && p->sent - p->replied < p->o->pipeline &&
           p->out_len - p->out_off < OUT_HIGH) {
        if ((rc = append_publish(p, p->sent, now)) < 0)
            return rc;
        p->sent++;
        p->rep->published = p->sent;
        p->rep->pub_end = now;
    }
    if (p->sent == p->target)
        p->gen_done = 1;
    return flush_out(p);
}

/* Contract: counts the replies in p->in (integers: receivers; errors), and
 * keeps an unfinished tail. -EPROTO for anything else. */
static int eat_replies(struct sc_pub *p)
{
    struct sc_resp_val v;
    size_t off = 0;
    ssize_t r;

    while ((r = sc_resp_parse(p->in + off, p->in_len - off, &v, NULL, 0)) > 0) {
        if (v.type == ':')
            p->rep->pub_receivers += (uint64_t)v.num;
        else if (v.type == '-')
            p->rep->pub_errors++;
        else
            return -EPROTO;
        p->replied++;
        p->rep->pub_replies = p->replied;
        off += (size_t)r;
    }
    if (r < 0)
        return (int)r;
    memmove(p->in, p->in + off, p->in_len - off);
    p->in_len -= off;
    return 0;
}

/* Contract: handles epoll events on the Redis socket: reads replies until
 * drained and flushes pending output. 0, or -errno after which the
 * publisher is failed (and says so on stderr). */
int sc_pub_event(struct sc_pub *p, uint32_t events)
{
    ssize_t n;
    int rc = 0;

    while (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        if (p->in_cap - p->in_len < 16384) {
            char *nb = realloc(p->in, p->in_cap + 65536);

            if (!nb) {
                rc = -ENOMEM;
                break;
            }
            p->in = nb;
            p->in_cap += 65536;
        }
        n = recv(p->fd, p->in + p->in_len, p->in_cap - p->in_len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n <= 0) {
            rc = n == 0 ? -ECONNRESET : -errno;
            break;
        }
        p->in_len += (size_t)n;
        if ((rc = eat_replies(p)) < 0)
            break;
    }
    if (rc == 0 && (events & EPOLLOUT))
        rc = flush_out(p);
    if (rc < 0 && !p->failed) {
        p->failed = 1;
        fprintf(stderr, "shardcast-bench: redis publisher connection: %s\n", strerror(-rc));
    }
    return rc;
}

/* Contract: true when every message was generated and answered by Redis,
 * or the publisher failed (nothing more will happen). */
int sc_pub_finished(const struct sc_pub *p)
{
    return p->failed || (p->gen_done && p->replied >= p->sent && p->out_off == p->out_len);
}

/* Contract: closes the connection and frees the buffers. */
void sc_pub_free(struct sc_pub *p)
{
    if (p->fd >= 0)
        close(p->fd);
    free(p->out);
    free(p->in);
    free(p->payload);
    memset(p, 0, sizeof(*p));
    p->fd = -1;
}
