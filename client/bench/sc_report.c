/* sc_report: the run's figures, merged across processes, printed as text
 * for people or as one JSON object for scripts.
 *
 * Rates are derived at print time from timestamps on the shared monotonic
 * clock, never summed per process, so a merged report is the same as what
 * one process would have measured. */
#include "sc_report.h"
#include "sc_opts.h"

#include <errno.h>
#include <string.h>

static const unsigned close_codes[] = SC_CLOSE_CODES;

/* Contract: an empty report: zero counters, empty histogram. */
void sc_report_init(struct sc_report *r)
{
    memset(r, 0, sizeof(*r));
    sc_hist_init(&r->lat);
    r->procs = 1;
}

/* Contract: counts one connection closed with code; codes not in
 * SC_CLOSE_CODES share the last slot. */
void sc_report_close_code(struct sc_report *r, unsigned code)
{
    unsigned i;

    for (i = 0; i < SC_NCLOSE - 1 && close_codes[i] != code; i++)
        ;
    r->close_codes[i]++;
}

static uint64_t min_nz(uint64_t a, uint64_t b)
{
    return !a ? b : !b ? a : a < b ? a : b;
}

static uint64_t max_u(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Contract: folds src (a child's report: connections, deliveries, its
 * CPU) into dst. Server samples and publisher figures stay dst's, as only
 * the publishing process takes them. */
void sc_report_merge(struct sc_report *dst, const struct sc_report *src)
{
    unsigned i;

#define ADD(f) dst->f += src->f
    ADD(attempted);
    ADD(opened);
    ADD(ready);
    ADD(failed);
    ADD(closed);
    ADD(fail_refused);
    ADD(fail_timeout);
    ADD(fail_http);
    ADD(fail_reset);
    ADD(fail_proto);
    ADD(fail_sub);
    ADD(fail_other);
    ADD(http_503);
    ADD(limit_at);
    ADD(subs);
    ADD(acks);
    ADD(err_frames);
    ADD(missed);
    ADD(other_frames);
    ADD(pings);
    ADD(foreign);
    ADD(unexpected);
    ADD(expected);
    ADD(received);
    ADD(lost);
    ADD(dup);
    ADD(bench_cpu);
    ADD(procs);
#undef ADD
    for (i = 0; i < SC_NCLOSE; i++)
        dst->close_codes[i] += src->close_codes[i];
    if (src->last_http_status)
        dst->last_http_status = src->last_http_status;
    if (!dst->limit_errno)
        dst->limit_errno = src->limit_errno;
    dst->connect_start = min_nz(dst->connect_start, src->connect_start);
    dst->connect_end = max_u(dst->connect_end, src->connect_end);
    dst->first_recv = min_nz(dst->first_recv, src->first_recv);
    dst->last_recv = max_u(dst->last_recv, src->last_recv);
    sc_hist_merge(&dst->lat, &src->lat);
}

static double secs(uint64_t from, uint64_t to)
{
    return to > from ? (double)(to - from) / 1e9 : 0.0;
}

static double per(double n, double d)
{
    return d > 0 ? n / d : 0.0;
}

/* Derived figures shared by both output forms. */
struct derived {
    double connect_s, pub_s, deliv_s, rss_per_conn;
    const char *limit;
};

static void derive(const struct sc_report *r, struct derived *d)
{
    d->connect_s = secs(r->connect_start, r->connect_end);
    d->pub_s = secs(r->pub_start, r->pub_end);
    d->deliv_s = secs(r->pub_start, r->last_recv);
    d->rss_per_conn = r->ready && r->srv_connected.rss > r->srv_before.rss
                          ? (double)(r->srv_connected.rss - r->srv_before.rss) / (double)r->ready
                          : 0.0;
    d->limit = r->limit_errno == EMFILE          ? "EMFILE"
               : r->limit_errno == ENFILE        ? "ENFILE"
               : r->limit_errno == EADDRNOTAVAIL ? "EADDRNOTAVAIL"
               : r->limit_errno == EADDRINUSE    ? "EADDRINUSE"
                                                 : NULL;
}

/* Contract: prints ns as a short human duration (us below 10 ms). */
static void put_dur(FILE *f, const char *name, uint64_t ns)
{
    if (ns < 10000000)
        fprintf(f, "  %s %.0f us", name, (double)ns / 1e3);
    else
        fprintf(f, "  %s %.1f ms", name, (double)ns / 1e6);
}

/* Contract: prints a count with an SI suffix past a million. */
static void put_rate(FILE *f, const char *fmt, double v)
{
    char buf[32];

    if (v >= 1e6)
        snprintf(buf, sizeof(buf), "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, sizeof(buf), "%.1fk", v / 1e3);
    else
        snprintf(buf, sizeof(buf), "%.0f", v);
    fprintf(f, fmt, buf);
}

static void text_connections(const struct sc_report *r, const struct sc_opts *o,
                             const struct derived *d, FILE *f)
{
    unsigned i;

    fprintf(f,
            "connections  %lu subscribed of %u (%lu upgraded), %lu failed, "
            "in %.2f s (%.0f/s)\n",
            (unsigned long)r->ready, o->conns, (unsigned long)r->opened, (unsigned long)r->failed,
            d->connect_s, per((double)r->ready, d->connect_s));
    if (r->failed)
        fprintf(f,
                "  failures   refused %lu, timeout %lu, http %lu (503: %lu, "
                "last status %d), reset %lu, protocol %lu, subscribe refused "
                "%lu, other %lu\n",
                (unsigned long)r->fail_refused, (unsigned long)r->fail_timeout,
                (unsigned long)r->fail_http, (unsigned long)r->http_503, r->last_http_status,
                (unsigned long)r->fail_reset, (unsigned long)r->fail_proto,
                (unsigned long)r->fail_sub, (unsigned long)r->fail_other);
    if (d->limit)
        fprintf(f,
                "  LIMIT      %s stopped the bench at %lu connections "
                "(see stderr)\n",
                d->limit, (unsigned long)r->ready);
    if (r->closed) {
        fprintf(f,
                "  closed     %lu after subscribing (1002/1009: by the bench, "
                "on a bad or oversized frame), codes:",
                (unsigned long)r->closed);
        for (i = 0; i < SC_NCLOSE - 1; i++)
            if (r->close_codes[i])
                fprintf(f, " %u=%lu", close_codes[i], (unsigned long)r->close_codes[i]);
        if (r->close_codes[SC_NCLOSE - 1])
            fprintf(f, " other=%lu", (unsigned long)r->close_codes[SC_NCLOSE - 1]);
        fputc('\n', f);
    }
}

static void text_server(const struct sc_report *r, const struct derived *d, FILE *f)
{
    if (r->have_server) {
        fprintf(f,
                "server       rss %.1f MiB before, %.1f MiB subscribed "
                "(%.2f KiB/conn), %.1f MiB at end\n",
                (double)r->srv_before.rss / 1048576.0, (double)r->srv_connected.rss / 1048576.0,
                d->rss_per_conn / 1024.0, (double)r->srv_end.rss / 1048576.0);
        fprintf(f,
                "             cpu %.2f s connecting, %.2f s idle over %.1f s, "
                "%.2f s publishing",
                r->srv_cpu_connect, r->srv_cpu_idle, r->hold_secs, r->srv_cpu_pub);
        put_rate(f, " (%s deliveries/cpu-s)\n", per((double)r->received, r->srv_cpu_pub));
    }
    if (r->have_redis)
        fprintf(f, "redis        cpu %.2f s publishing\n", r->redis_cpu_pub);
    fprintf(f, "bench        cpu %.2f s in %d process(es)", r->bench_cpu, r->procs);
    put_rate(f, " (%s deliveries/cpu-s)\n", per((double)r->received, r->bench_cpu));
}

/* Contract: prints the report for people. */
void sc_report_text(const struct sc_report *r, const struct sc_opts *o, FILE *f)
{
    struct derived d;

    derive(r, &d);
    fprintf(f,
            "shardcast-bench%s%s: %s, %u conns -> %s%s, %u channel(s), %u "
            "per conn, %u subs/channel\n",
            o->label ? " " : "", o->label ? o->label : "", o->resp ? "resp" : "ws", o->conns,
            o->targets[0].host, o->ntargets > 1 ? " (+more)" : "", o->nchan, o->per_conn,
            o->subs_per_chan);
    text_connections(r, o, &d, f);
    fprintf(f,
            "published    %lu msgs of %u B in %.2f s (%.0f/s), %lu errors, "
            "%.2f redis receivers/msg\n",
            (unsigned long)r->published, o->size, d.pub_s, per((double)r->published, d.pub_s),
            (unsigned long)r->pub_errors, per((double)r->pub_receivers, (double)r->pub_replies));
    fprintf(f, "deliveries   expected %lu, received %lu, lost %lu, dup %lu",
            (unsigned long)r->expected, (unsigned long)r->received, (unsigned long)r->lost,
            (unsigned long)r->dup);
    put_rate(f, " (%s/s)\n", per((double)r->received, d.deliv_s));
    if (r->foreign || r->unexpected || r->err_frames || r->missed || r->other_frames)
        fprintf(f,
                "  frames     acks %lu, errors %lu, missed %lu, other %lu, "
                "foreign %lu, unexpected channel %lu, pings %lu\n",
                (unsigned long)r->acks, (unsigned long)r->err_frames, (unsigned long)r->missed,
                (unsigned long)r->other_frames, (unsigned long)r->foreign,
                (unsigned long)r->unexpected, (unsigned long)r->pings);
    fprintf(f, "latency    ");
    put_dur(f, "p50", sc_hist_percentile(&r->lat, 50));
    put_dur(f, "p90", sc_hist_percentile(&r->lat, 90));
    put_dur(f, "p99", sc_hist_percentile(&r->lat, 99));
    put_dur(f, "p99.9", sc_hist_percentile(&r->lat, 99.9));
    put_dur(f, "max", r->lat.max * (r->lat.count > 0));
    fprintf(f, "  (%lu samples)\n", (unsigned long)r->lat.count);
    text_server(r, &d, f);
}

/* Contract: prints s as a JSON string (the few strings here are ASCII). */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

static void json_connections(const struct sc_report *r, const struct sc_opts *o,
                             const struct derived *d, FILE *f)
{
    unsigned i;

    fprintf(f,
            ",\"connections\":{\"target\":%u,\"attempted\":%lu,\"opened\":%lu,"
            "\"subscribed\":%lu,\"failed\":%lu,\"connect_secs\":%.3f,"
            "\"connect_rate\":%.1f,\"closed_after_subscribe\":%lu,\"failures\":{"
            "\"refused\":%lu,\"timeout\":%lu,\"http\":%lu,\"http_503\":%lu,"
            "\"reset\":%lu,\"protocol\":%lu,\"subscribe_refused\":%lu,"
            "\"other\":%lu},\"close_codes\":{",
            o->conns, (unsigned long)r->attempted, (unsigned long)r->opened,
            (unsigned long)r->ready, (unsigned long)r->failed, d->connect_s,
            per((double)r->ready, d->connect_s), (unsigned long)r->closed,
            (unsigned long)r->fail_refused, (unsigned long)r->fail_timeout,
            (unsigned long)r->fail_http, (unsigned long)r->http_503, (unsigned long)r->fail_reset,
            (unsigned long)r->fail_proto, (unsigned long)r->fail_sub, (unsigned long)r->fail_other);
    for (i = 0; i < SC_NCLOSE; i++) {
        if (i == SC_NCLOSE - 1)
            fprintf(f, "\"other\":%lu", (unsigned long)r->close_codes[i]);
        else
            fprintf(f, "\"%u\":%lu,", close_codes[i], (unsigned long)r->close_codes[i]);
    }
    fprintf(f, "}}");
    if (d->limit)
        fprintf(f,
                ",\"limit\":{\"reason\":\"%s\",\"reached\":%lu,\"message\":"
                "\"%s\"}",
                d->limit, (unsigned long)r->ready,
                r->limit_errno == EMFILE || r->limit_errno == ENFILE
                    ? "open files limit reached; use --fork"
                    : "no free local port; add --src addresses");
    else
        fprintf(f, ",\"limit\":null");
}

static void json_latency(const struct sc_report *r, FILE *f)
{
    fprintf(f,
            ",\"latency_us\":{\"samples\":%lu,\"p50\":%.1f,\"p90\":%.1f,"
            "\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f}",
            (unsigned long)r->lat.count, (double)sc_hist_percentile(&r->lat, 50) / 1e3,
            (double)sc_hist_percentile(&r->lat, 90) / 1e3,
            (double)sc_hist_percentile(&r->lat, 99) / 1e3,
            (double)sc_hist_percentile(&r->lat, 99.9) / 1e3,
            (double)(r->lat.count ? r->lat.max : 0) / 1e3, sc_hist_mean(&r->lat) / 1e3);
}

static void json_server(const struct sc_report *r, const struct derived *d, FILE *f)
{
    if (r->have_server)
        fprintf(f,
                ",\"server\":{\"rss_before\":%lu,\"rss_subscribed\":%lu,"
                "\"rss_end\":%lu,\"rss_per_conn\":%.1f,\"cpu_connect\":%.3f,"
                "\"cpu_idle\":%.3f,\"hold_secs\":%.3f,\"cpu_publish\":%.3f,"
                "\"deliveries_per_cpu_sec\":%.0f}",
                (unsigned long)r->srv_before.rss, (unsigned long)r->srv_connected.rss,
                (unsigned long)r->srv_end.rss, d->rss_per_conn, r->srv_cpu_connect, r->srv_cpu_idle,
                r->hold_secs, r->srv_cpu_pub, per((double)r->received, r->srv_cpu_pub));
    else
        fprintf(f, ",\"server\":null");
    if (r->have_redis)
        fprintf(f, ",\"redis\":{\"cpu_publish\":%.3f}", r->redis_cpu_pub);
    else
        fprintf(f, ",\"redis\":null");
    fprintf(f,
            ",\"bench\":{\"procs\":%d,\"cpu_secs\":%.3f,"
            "\"deliveries_per_cpu_sec\":%.0f}",
            r->procs, r->bench_cpu, per((double)r->received, r->bench_cpu));
}

/* Contract: prints the report as one JSON object and a newline. */
void sc_report_json(const struct sc_report *r, const struct sc_opts *o, FILE *f)
{
    struct derived d;
    uint32_t i;

    derive(r, &d);
    fprintf(f, "{\"label\":");
    json_str(f, o->label ? o->label : "");
    fprintf(f, ",\"mode\":\"%s\",\"targets\":[", o->resp ? "resp" : "ws");
    for (i = 0; i < o->ntargets; i++)
        fprintf(f, "%s\"%s\"", i ? "," : "", o->targets[i].host);
    fprintf(f, "],\"path\":");
    json_str(f, o->resp ? "" : o->path);
    fprintf(f,
            ",\"conns\":%u,\"channels\":%u,\"channels_per_conn\":%u,"
            "\"subs_per_channel\":%u,\"rate\":%.1f,\"size\":%u,"
            "\"order\":\"%s\"",
            o->conns, o->nchan, o->per_conn, o->subs_per_chan, o->rate, o->size,
            o->random_order ? "random" : "round-robin");
    json_connections(r, o, &d, f);
    fprintf(f,
            ",\"published\":{\"count\":%lu,\"secs\":%.3f,\"rate\":%.1f,"
            "\"errors\":%lu,\"redis_receivers_per_msg\":%.2f}",
            (unsigned long)r->published, d.pub_s, per((double)r->published, d.pub_s),
            (unsigned long)r->pub_errors, per((double)r->pub_receivers, (double)r->pub_replies));
    fprintf(f,
            ",\"deliveries\":{\"expected\":%lu,\"received\":%lu,\"lost\":%lu,"
            "\"duplicated\":%lu,\"per_sec\":%.0f,\"secs\":%.3f,"
            "\"foreign\":%lu,\"unexpected_channel\":%lu}",
            (unsigned long)r->expected, (unsigned long)r->received, (unsigned long)r->lost,
            (unsigned long)r->dup, per((double)r->received, d.deliv_s), d.deliv_s,
            (unsigned long)r->foreign, (unsigned long)r->unexpected);
    fprintf(f,
            ",\"frames\":{\"acks\":%lu,\"errors\":%lu,\"missed\":%lu,"
            "\"other\":%lu,\"pings\":%lu}",
            (unsigned long)r->acks, (unsigned long)r->err_frames, (unsigned long)r->missed,
            (unsigned long)r->other_frames, (unsigned long)r->pings);
    json_latency(r, f);
    json_server(r, &d, f);
    fprintf(f, "}\n");
}
