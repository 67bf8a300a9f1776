/*
 * sub_frames.c - what "sub" does with each frame the node sends: print
 * messages, report gaps and Redis outages, check the subscribe reply,
 * remember redirects.
 *
 * Connection handling lives in sub.c; this side never touches lws, so the
 * only way it ends a connection is by returning -1 after sc_sub_finish().
 */
#include "msg.h"
#include "out.h"
#include "sub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A human reason for a sc_frame_parse() failure. */
static const char *sc_parse_error(int rc)
{
    switch (rc) {
    case -EBADMSG: return "not a JSON object with an op";
    case -EPROTO: return "missing or mistyped member";
    case -ENOTSUP: return "unknown payload encoding";
    default: return strerror(-rc);
    }
}

/*
 * Write one output line; on failure end the run with status 1 (quietly
 * for EPIPE: the reader went away, which is how "| head" ends).
 * Returns 0 or -1.
 */
static int sc_emit(struct sc_sub *s, const void *buf, size_t len)
{
    int rc = sc_out_line(buf, len);

    if (!rc)
        return 0;
    if (rc != -EPIPE)
        sc_err("cannot write to stdout: %s", strerror(-rc));
    sc_sub_finish(s, SC_EXIT_FAILURE);
    return -1;
}

/*
 * Print the frame itself for --json.  A valid JSON text can only break
 * lines between tokens, so a frame with a raw line break is re-encoded
 * compactly to keep one frame per line; any other frame goes out byte for
 * byte as the node sent it.  Returns 0 or -1 (run over).
 */
static int sc_emit_frame(struct sc_sub *s, const struct sc_frame *f)
{
    char *compact;
    int rc;

    if (!memchr(s->rx, '\n', s->rx_len) && !memchr(s->rx, '\r', s->rx_len))
        return sc_emit(s, s->rx, s->rx_len);
    compact = sc_frame_compact(f);
    if (!compact) {
        sc_err("out of memory");
        sc_sub_finish(s, SC_EXIT_FAILURE);
        return -1;
    }
    rc = sc_emit(s, compact, strlen(compact));
    free(compact);
    return rc;
}

/* A "message": print it and count it.  Returns 0 or -1 (run over). */
static int sc_on_message(struct sc_sub *s, const struct sc_frame *f)
{
    int rc = s->o->json ? sc_emit_frame(s, f) : sc_emit(s, f->data, f->data_len);

    if (rc)
        return rc;
    s->received++;
    s->last_msg_us = sc_sub_now_us();
    if (s->o->count && s->received >= s->o->count) {
        sc_sub_finish(s, SC_EXIT_OK);
        return -1;
    }
    return 0;
}

/*
 * A "missed" event from the node: always on stderr, since a gap in the
 * data matters even to someone who only reads stdout; also on stdout for
 * --json consumers.  Returns 0 or -1 (run over).
 */
static int sc_on_missed(struct sc_sub *s, const struct sc_frame *f)
{
    char list[512];

    sc_channels_join(f->channels, list, sizeof(list));
    sc_err("missed messages on %s (%s)", list[0] ? list : "?",
           f->reason ? f->reason : "no reason given");
    return s->o->json ? sc_emit_frame(s, f) : 0;
}

/*
 * Our own reconnect lost messages just like a node's Redis reconnect does,
 * so it is reported the same way, with reason "client_reconnect".
 * Returns 0 or -1 (run over).
 */
static int sc_report_gap(struct sc_sub *s)
{
    char *ev;
    int rc;

    sc_err("resubscribed after a reconnect; messages published in between "
           "were missed");
    if (!s->o->json)
        return 0;
    if (sc_missed_event(s->o->channels, s->o->n_channels, "client_reconnect", &ev)) {
        sc_err("out of memory");
        sc_sub_finish(s, SC_EXIT_FAILURE);
        return -1;
    }
    rc = sc_emit(s, ev, strlen(ev));
    free(ev);
    return rc;
}

/*
 * An "ok": if it answers this connection's subscribe, the subscription is
 * live, which is the point where reconnect bookkeeping starts afresh.
 * Returns 0 or -1 (run over).
 */
static int sc_on_ok(struct sc_sub *s, const struct sc_frame *f)
{
    if (!f->has_id || f->id != s->sub_id || s->subscribed)
        return 0;
    s->subscribed = 1;
    s->failures = 0;
    s->rapid = 0;
    sc_debug("subscribed to %zu channel(s)", s->o->n_channels);
    if (!s->gap)
        return 0;
    s->gap = 0;
    return sc_report_gap(s);
}

/*
 * An "error": the only request we send is the subscribe, and the node
 * keeps a failed request's effects nil, so retrying would fail the same
 * way.  Returns -1 (run over) for our request, 0 for anything else.
 */
static int sc_on_error(struct sc_sub *s, const struct sc_frame *f)
{
    if (s->subscribed || (f->has_id && f->id != s->sub_id)) {
        sc_note("the node reported an error: %s: %s", f->code ? f->code : "?",
                f->message ? f->message : "");
        return 0;
    }
    sc_err("subscription refused: %s%s%s", f->code ? f->code : "error", f->message ? ": " : "",
           f->message ? f->message : "");
    sc_sub_finish(s, SC_EXIT_REFUSED);
    return -1;
}

/*
 * Is this redirect older than the one we last followed for the same shard?
 * Epochs only compare within one shard; without both, nothing is stale.
 */
static int sc_redirect_stale(const struct sc_sub *s, const struct sc_frame *f)
{
    return f->shard && f->has_epoch && s->shard && s->has_epoch && !strcmp(f->shard, s->shard) &&
           f->epoch < s->epoch;
}

/*
 * A "redirect" or "move": remember where to go; sub.c follows it when the
 * close (4200 / 4201) arrives.  A URL we cannot use, or a stale epoch, is
 * ignored, and the close then just reconnects to where we were.
 */
static void sc_on_redirect(struct sc_sub *s, const struct sc_frame *f)
{
    const char *what = f->op == SC_OP_MOVE ? "move" : "redirect";
    struct sc_ws_url u;
    char *shard = NULL;

    if (sc_ws_url_parse(f->url, &u)) {
        sc_note("ignoring a %s to an unusable URL '%s'", what, f->url);
        return;
    }
    if (sc_redirect_stale(s, f)) {
        sc_debug("ignoring a stale %s to %s (shard %s, epoch %lld)", what, f->url, f->shard,
                 f->epoch);
        sc_ws_url_free(&u);
        return;
    }
    if ((f->shard && !(shard = strdup(f->shard))) ||
        (s->o->key && sc_ws_url_add_key(&u, s->o->key) == -ENOMEM)) {
        sc_note("ignoring a %s: out of memory", what);
        free(shard);
        sc_ws_url_free(&u);
        return;
    }
    sc_debug("%s to %s (shard %s, epoch %lld)", what, f->url, f->shard ? f->shard : "-", f->epoch);
    sc_ws_url_free(&s->next);
    s->next = u;
    s->has_next = 1;
    free(s->shard);
    s->shard = shard;
    s->epoch = f->epoch;
    s->has_epoch = f->has_epoch;
}

/* A "hello": nothing to do but say who answered, with -v. */
static void sc_on_hello(const struct sc_frame *f)
{
    char shards[64] = "";

    if (f->n_shards >= 0)
        snprintf(shards, sizeof(shards), ", %ld shard(s) in the map", f->n_shards);
    sc_debug("the node's greeting: shard %s, key %s, epoch %lld%s", f->shard ? f->shard : "-",
             f->key ? f->key : "-", f->has_epoch ? f->epoch : -1LL, shards);
}

/*
 * A "status": the node lost Redis, or has it back.  The connection is fine
 * either way, so this is a notice; the gap itself is reported by the
 * "missed" event that follows the node's recovery.
 */
static void sc_on_status(const struct sc_frame *f)
{
    if (!strcmp(f->redis, "down"))
        sc_note("the node lost Redis: no message can arrive until it "
                "is back");
    else if (!strcmp(f->redis, "up"))
        sc_note("the node has Redis again");
    else
        sc_debug("ignoring a status this client does not know: "
                 "redis %s",
                 f->redis);
}

int sc_sub_frame(struct sc_sub *s)
{
    struct sc_frame f;
    int rc = sc_frame_parse((const char *)s->rx, s->rx_len, &f);

    if (rc) {
        sc_note("ignoring a frame from the node: %s", sc_parse_error(rc));
        return 0;
    }
    switch (f.op) {
    case SC_OP_MESSAGE: rc = sc_on_message(s, &f); break;
    case SC_OP_MISSED: rc = sc_on_missed(s, &f); break;
    case SC_OP_OK: rc = sc_on_ok(s, &f); break;
    case SC_OP_ERROR: rc = sc_on_error(s, &f); break;
    case SC_OP_REDIRECT:
    case SC_OP_MOVE: sc_on_redirect(s, &f); break;
    case SC_OP_HELLO: sc_on_hello(&f); break;
    case SC_OP_STATUS: sc_on_status(&f); break;
    case SC_OP_UNKNOWN: sc_debug("ignoring a frame with an op this client does not know"); break;
    }
    sc_frame_clear(&f);
    return rc;
}
