/* sc_delivery: payload stamp, delivery frame recognition, channel layout.
 *
 * Fixed-width hex fields let the receiver decode a stamp at fixed offsets
 * without scanning, which matters because the bench must spend far less
 * CPU per delivery than the server it measures. */
#include "sc_delivery.h"

#include <errno.h>
#include <string.h>

static const char hexdig[] = "0123456789abcdef";

/* Contract: writes v as exactly n lowercase hex digits at out. */
static void put_hex(char *out, uint64_t v, int n)
{
    int i;

    for (i = n - 1; i >= 0; i--, v >>= 4)
        out[i] = hexdig[v & 15];
}

/* Contract: reads exactly n hex digits at p into *v; -EINVAL on any other
 * character. */
static int get_hex(const char *p, int n, uint64_t *v)
{
    uint64_t r = 0;
    int i, c, d;

    for (i = 0; i < n; i++) {
        c = (unsigned char)p[i];
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return -EINVAL;
        r = (r << 4) | (uint64_t)d;
    }
    *v = r;
    return 0;
}

/* Contract: fills out[0..size) with the stamp and padding; size must be at
 * least SC_PAYLOAD_MIN (options enforce it). Not NUL-terminated. */
void sc_payload_write(char *out, size_t size, const struct sc_stamp *st)
{
    out[0] = 's';
    out[1] = 'c';
    put_hex(out + 2, st->tag, 8);
    put_hex(out + 10, st->seq, 8);
    put_hex(out + 18, st->chan, 8);
    put_hex(out + 26, st->ts, 16);
    if (size > SC_PAYLOAD_MIN)
        memset(out + SC_PAYLOAD_MIN, 'x', size - SC_PAYLOAD_MIN);
}

/* Contract: decodes the stamp at the start of p; -EINVAL when p is shorter
 * than a stamp or is not one (someone else's message). */
int sc_payload_read(const char *p, size_t len, struct sc_stamp *st)
{
    uint64_t tag, seq, chan, ts;

    if (len < SC_PAYLOAD_MIN || p[0] != 's' || p[1] != 'c')
        return -EINVAL;
    if (get_hex(p + 2, 8, &tag) || get_hex(p + 10, 8, &seq) || get_hex(p + 18, 8, &chan) ||
        get_hex(p + 26, 16, &ts))
        return -EINVAL;
    st->tag = (uint32_t)tag;
    st->seq = (uint32_t)seq;
    st->chan = (uint32_t)chan;
    st->ts = ts;
    return 0;
}

/* Contract: finds JSON member `name` whose value is a string and returns a
 * pointer to the first byte of that string (after the quote), with *rest the
 * bytes left in the frame; NULL if absent or not a string. Tolerates the
 * whitespace other servers' encoders put around ':'. */
static const char *string_member(const char *f, size_t len, const char *name, size_t nlen,
                                 size_t *rest)
{
    const char *p = memmem(f, len, name, nlen), *end = f + len;

    if (!p)
        return NULL;
    p += nlen;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    if (p >= end || *p++ != ':')
        return NULL;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    if (p >= end || *p++ != '"')
        return NULL;
    *rest = (size_t)(end - p);
    return p;
}

#define LIT(s) s, sizeof(s) - 1

/* Contract: classifies a server text frame by its "op" and, for a delivery,
 * points *data at the start of the "data" string (*dlen = bytes to the end
 * of the frame, enough to read a stamp; the closing quote is not searched
 * for, as only the fixed-size stamp at its start is read). A frame with no
 * "op" but a "data" string counts as a delivery, for servers of other
 * shapes. */
enum sc_frame_kind sc_frame_classify(const char *f, size_t len, const char **data, size_t *dlen)
{
    size_t rest;
    const char *op = string_member(f, len, LIT("\"op\""), &rest);

    if (op && !(rest >= 8 && memcmp(op, "message\"", 8) == 0)) {
        if (rest >= 3 && memcmp(op, "ok\"", 3) == 0)
            return SC_FRAME_OK;
        if (rest >= 6 && memcmp(op, "error\"", 6) == 0)
            return SC_FRAME_ERROR;
        if (rest >= 7 && memcmp(op, "missed\"", 7) == 0)
            return SC_FRAME_MISSED;
        return SC_FRAME_OTHER;
    }
    *data = string_member(f, len, LIT("\"data\""), dlen);
    return *data ? SC_FRAME_MESSAGE : SC_FRAME_OTHER;
}

/* Contract: the channel index of subscription j of connection conn. Slots
 * are numbered j-major (slot = j * nconns + conn) and cut into runs of
 * subs_per_chan, so with subs_per_chan <= nconns one connection's channels
 * are all distinct and every channel but the last has exactly
 * subs_per_chan subscribers. */
uint32_t sc_chan_of(uint32_t conn, uint32_t j, uint32_t nconns, uint32_t subs_per_chan)
{
    return (uint32_t)(((uint64_t)j * nconns + conn) / subs_per_chan);
}

/* Contract: how many of `total` round-robin publishes (publish k goes to
 * channel k % nchan with sequence k / nchan + 1) landed on chan. */
uint64_t sc_published_on(uint64_t total, uint32_t nchan, uint32_t chan)
{
    return total / nchan + (chan < total % nchan ? 1 : 0);
}
