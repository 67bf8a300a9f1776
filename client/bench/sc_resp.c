/* sc_resp: a non-allocating RESP2 writer and parser.
 *
 * The parser works on a contiguous buffer and either consumes one whole
 * top-level value or nothing, so callers keep unparsed tail bytes and retry
 * after the next read. Only flat arrays are accepted: every reply or push the
 * bench asks for (integers, subscribe confirmations, messages, NUMSUB) is
 * one level deep, and refusing nesting keeps the parser free of recursion. */
#include "sc_resp.h"

#include <errno.h>
#include <string.h>

/* Contract: writes the decimal form of v at out (no NUL); returns its length.
 * Hand-rolled because this runs once per argument of every PUBLISH. */
static size_t put_uint(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0, i;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Contract: encodes argv as one RESP command (array of bulk strings) into
 * out; returns its size, or 0 when it does not fit in cap. */
size_t sc_resp_cmd(char *out, size_t cap, int argc, const char *const *argv, const size_t *lens)
{
    size_t need = 1 + 20 + 2, o = 0;
    int i;

    for (i = 0; i < argc; i++)
        need += 1 + 20 + 2 + lens[i] + 2;
    if (need > cap)
        return 0;
    out[o++] = '*';
    o += put_uint(out + o, (uint64_t)argc);
    out[o++] = '\r';
    out[o++] = '\n';
    for (i = 0; i < argc; i++) {
        out[o++] = '$';
        o += put_uint(out + o, lens[i]);
        out[o++] = '\r';
        out[o++] = '\n';
        memcpy(out + o, argv[i], lens[i]);
        o += lens[i];
        out[o++] = '\r';
        out[o++] = '\n';
    }
    return o;
}

/* Contract: parses the integer line at buf[*pos] (after the type byte) up to
 * CRLF into *v and advances *pos past it; 0 when done, 1 when the line is
 * incomplete, -EPROTO when it is not an integer. */
static int parse_int_line(const char *buf, size_t len, size_t *pos, int64_t *v)
{
    size_t i = *pos;
    int neg = 0, digits = 0;
    int64_t n = 0;

    if (i < len && buf[i] == '-')
        neg = 1, i++;
    for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++, digits++) {
        if (n > (INT64_MAX - 9) / 10)
            return -EPROTO;
        n = n * 10 + (buf[i] - '0');
    }
    if (i + 1 >= len)
        return 1;
    if (!digits || buf[i] != '\r' || buf[i + 1] != '\n')
        return -EPROTO;
    *v = neg ? -n : n;
    *pos = i + 2;
    return 0;
}

/* Contract: parses one non-array value at buf[*pos] into *v, advancing *pos;
 * 0 done, 1 incomplete, -EPROTO malformed (including a nested array). */
static int parse_scalar(const char *buf, size_t len, size_t *pos, struct sc_resp_val *v)
{
    size_t i = *pos + 1;
    const char *eol;
    int rc;

    if (*pos >= len)
        return 1;
    v->type = buf[*pos];
    v->str = NULL;
    v->len = 0;
    v->num = 0;
    switch (v->type) {
    case '+':
    case '-':
        eol = memchr(buf + i, '\r', len - i);
        if (!eol || (size_t)(eol - buf) + 1 >= len)
            return 1;
        v->str = buf + i;
        v->len = (size_t)(eol - v->str);
        *pos = (size_t)(eol - buf) + 2;
        return 0;
    case ':': rc = parse_int_line(buf, len, &i, &v->num); break;
    case '$':
        rc = parse_int_line(buf, len, &i, &v->num);
        if (rc || v->num < 0)
            break;
        if (len - i < (uint64_t)v->num + 2)
            return 1;
        v->str = buf + i;
        v->len = (size_t)v->num;
        i += v->len + 2;
        break;
    default: return -EPROTO;
    }
    if (rc == 0)
        *pos = i;
    return rc;
}

/* Contract: parses one whole top-level value from buf into *top. For an
 * array, its first max_elems elements go to elems (strings point into buf)
 * and top->num holds the element count. Returns the bytes consumed, 0 when
 * buf holds only part of a value, -EPROTO when it is not RESP. */
ssize_t sc_resp_parse(const char *buf, size_t len, struct sc_resp_val *top,
                      struct sc_resp_val *elems, size_t max_elems)
{
    struct sc_resp_val skip;
    size_t pos = 1;
    int64_t i;
    int rc;

    if (len == 0)
        return 0;
    if (buf[0] != '*') {
        pos = 0;
        rc = parse_scalar(buf, len, &pos, top);
        return rc < 0 ? rc : rc ? 0 : (ssize_t)pos;
    }
    top->type = '*';
    top->str = NULL;
    top->len = 0;
    rc = parse_int_line(buf, len, &pos, &top->num);
    if (rc)
        return rc < 0 ? rc : 0;
    for (i = 0; i < top->num; i++) {
        if (pos < len && buf[pos] == '*')
            return -EPROTO;
        rc = parse_scalar(buf, len, &pos, (size_t)i < max_elems ? &elems[i] : &skip);
        if (rc)
            return rc < 0 ? rc : 0;
    }
    return (ssize_t)pos;
}
