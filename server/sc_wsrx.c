/* sc_wsrx: the checker of raw client bytes (see sc_wsrx.h). */
#include "sc_wsrx.h"

#include <string.h>

/* flags */
#define F_MSG 0x01          /* inside a fragmented message */
#define F_UPGRADE 0x02      /* head: "Upgrade: websocket" */
#define F_CLEN 0x04         /* head: one valid Content-Length so far */
#define F_UNKNOWN_BODY 0x08 /* head: a body this checker cannot follow */

/* st in a head: the current line */
#define H_BEGUN 0x01    /* the line has a byte other than CR */
#define H_COLON 0x02    /* past the header name */
#define H_REQLINE 0x04  /* the request line is behind us (kept across lines) */
#define H_VAL_UPG 0x08  /* the value of Upgrade */
#define H_VAL_CLEN 0x10 /* the value of Content-Length */
#define H_VAL_SEEN 0x20 /* the value has begun */
#define H_VAL_END 0x40  /* whitespace after the value */
#define H_VAL_BAD 0x80  /* the value is not what we follow */

/* st in frames */
enum { FR_B0, FR_B1, FR_LEN, FR_KEY, FR_PAYLOAD };

/* Header names the head checker follows; b0 is a bitmask of candidates. */
static const char *const names[] = {"upgrade", "content-length", "transfer-encoding"};
#define NAME_ALL 0x07
enum { NAME_UPGRADE, NAME_CLEN, NAME_TE };

/* UTF-8 decoder state: 0 between characters, else the continuation bytes
 * still due (low 2 bits) and the range the next one must be in (above). */
enum { U_ANY = 0, U_E0 = 1, U_ED = 2, U_F0 = 3, U_F4 = 4 };
#define UTF8_BAD 0xff

static uint8_t utf8_step(uint8_t s, uint8_t c)
{
    static const uint8_t lo[] = {0x80, 0xa0, 0x80, 0x90, 0x80};
    static const uint8_t hi[] = {0xbf, 0xbf, 0x9f, 0xbf, 0x8f};
    unsigned need = s & 3, range = s >> 2;

    if (!need) {
        if (c < 0x80)
            return 0;
        if (c >= 0xc2 && c <= 0xdf)
            return 1;
        if (c >= 0xe0 && c <= 0xef)
            return (uint8_t)(2 | (c == 0xe0 ? U_E0 : c == 0xed ? U_ED : U_ANY) << 2);
        if (c >= 0xf0 && c <= 0xf4)
            return (uint8_t)(3 | (c == 0xf0 ? U_F0 : c == 0xf4 ? U_F4 : U_ANY) << 2);
        return UTF8_BAD;
    }
    if (c < lo[range] || c > hi[range])
        return UTF8_BAD;
    return (uint8_t)(need - 1);
}

/* RFC 6455 7.4: what a peer may put in a close frame. 1012-1014 are
 * registered since (IANA), so accepted; 1004-1006 and 1015 never go on
 * the wire, the rest of 1000-2999 is reserved, 5000 and up undefined. */
static int close_code_ok(uint16_t code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

static int fail(struct sc_wsrx *rx, int code)
{
    rx->mode = SC_WSRX_FAILED;
    rx->code = (uint16_t)code;
    return code;
}

void sc_wsrx_fail(struct sc_wsrx *rx, uint16_t code)
{
    fail(rx, code);
}

static void frames_start(struct sc_wsrx *rx)
{
    rx->mode = SC_WSRX_FRAMES;
    rx->st = FR_B0;
    rx->n = rx->msg = 0;
    rx->flags = 0;
    rx->code = 0;
}

static void head_start(struct sc_wsrx *rx)
{
    memset(rx, 0, sizeof(*rx));
    rx->mode = SC_WSRX_HEAD;
    rx->b0 = NAME_ALL;
}

void sc_wsrx_init(struct sc_wsrx *rx)
{
    head_start(rx);
}

void sc_wsrx_upgraded(struct sc_wsrx *rx)
{
    /* From a head or a body, frames would now be read as HTTP; from past a
     * body of unknown length, not read at all. Neither may go on. */
    if (rx->mode == SC_WSRX_HEAD || rx->mode == SC_WSRX_BODY || rx->mode == SC_WSRX_PASS)
        fail(rx, 1002);
}

void sc_wsrx_served_http(struct sc_wsrx *rx)
{
    if (rx->mode == SC_WSRX_FRAMES)
        head_start(rx);
}

uint16_t sc_wsrx_close_code(const struct sc_wsrx *rx)
{
    return rx->mode == SC_WSRX_CLOSED ? rx->code : 0;
}

/* A header name is complete (its colon came): note the ones we follow. */
static void head_name_done(struct sc_wsrx *rx)
{
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(rx->b0 & (1u << i)) || rx->aux != strlen(names[i]))
            continue;
        if (i == NAME_UPGRADE)
            rx->st |= H_VAL_UPG;
        else if (i == NAME_TE || (rx->flags & F_CLEN))
            rx->flags |= F_UNKNOWN_BODY; /* chunked, or two lengths */
        else {
            rx->st |= H_VAL_CLEN;
            rx->msg = 0;
        }
    }
    rx->aux = 0;
}

static void head_name_char(struct sc_wsrx *rx, uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        c = (uint8_t)(c + 'a' - 'A');
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (rx->aux >= strlen(names[i]) || (uint8_t)names[i][rx->aux] != c)
            rx->b0 &= (uint8_t) ~(1u << i);
    if (rx->aux < 255)
        rx->aux++;
}

/* A byte of an Upgrade or Content-Length value, optional whitespace
 * around it. */
static void head_value_char(struct sc_wsrx *rx, uint8_t c)
{
    if (c == ' ' || c == '\t' || c == '\r') {
        if (rx->st & H_VAL_SEEN)
            rx->st |= H_VAL_END;
        return;
    }
    if (rx->st & H_VAL_END) {
        rx->st |= H_VAL_BAD;
        return;
    }
    rx->st |= H_VAL_SEEN;
    if (rx->st & H_VAL_UPG) {
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c + 'a' - 'A');
        if (rx->aux < 9 && c == (uint8_t) "websocket"[rx->aux])
            rx->aux++;
        else
            rx->st |= H_VAL_BAD;
    } else if (c >= '0' && c <= '9' && rx->msg <= (UINT32_MAX - 9) / 10) {
        rx->msg = rx->msg * 10 + (uint32_t)(c - '0');
    } else {
        rx->st |= H_VAL_BAD;
    }
}

/* The blank line: what follows the head. */
static int head_end(struct sc_wsrx *rx)
{
    uint32_t body = rx->msg;
    uint8_t flags = rx->flags;

    if (flags & F_UPGRADE) {
        frames_start(rx); /* lws may still refuse: sc_wsrx_served_http() */
        return SC_WSRX_OK;
    }
    if (flags & F_UNKNOWN_BODY) {
        rx->mode = SC_WSRX_PASS;
        return SC_WSRX_OK;
    }
    head_start(rx);
    if ((flags & F_CLEN) && body) {
        rx->mode = SC_WSRX_BODY;
        rx->n = body;
    }
    return SC_WSRX_OK;
}

/* A line ended (its LF). */
static int head_line_end(struct sc_wsrx *rx)
{
    uint8_t st = rx->st;

    if (!(st & H_BEGUN)) {
        /* RFC 9112 2.2: empty lines before the request line are ignored */
        return (st & H_REQLINE) ? head_end(rx) : SC_WSRX_OK;
    }
    if ((st & H_REQLINE) && !(st & H_COLON))
        return fail(rx, 400);
    if (st & H_VAL_UPG && (st & (H_VAL_SEEN | H_VAL_BAD)) == H_VAL_SEEN && rx->aux == 9)
        rx->flags |= F_UPGRADE;
    if (st & H_VAL_CLEN) {
        if ((st & (H_VAL_SEEN | H_VAL_BAD)) == H_VAL_SEEN)
            rx->flags |= F_CLEN;
        else
            rx->flags |= F_UNKNOWN_BODY;
    }
    rx->st = H_REQLINE;
    rx->b0 = NAME_ALL;
    rx->aux = 0;
    return SC_WSRX_OK;
}

static int head_byte(struct sc_wsrx *rx, uint8_t c)
{
    if (++rx->n > SC_WSRX_HEAD_MAX)
        return fail(rx, 431);
    if (c == '\n')
        return head_line_end(rx);
    if (c != '\r')
        rx->st |= H_BEGUN;
    if (!(rx->st & H_REQLINE))
        return SC_WSRX_OK; /* the request line is lws's (and sc_http's) */
    if (!(rx->st & H_COLON)) {
        if (c == ':') {
            rx->st |= H_COLON;
            head_name_done(rx);
        } else {
            head_name_char(rx, c);
        }
        return SC_WSRX_OK;
    }
    if (rx->st & (H_VAL_UPG | H_VAL_CLEN))
        head_value_char(rx, c);
    return SC_WSRX_OK;
}

/* The first header byte: FIN, RSV, opcode (RFC 6455 5.2, 5.4, 5.5). */
static int frame_b0(struct sc_wsrx *rx, uint8_t c)
{
    unsigned op = c & 0x0f, fin = c & 0x80;

    if (c & 0x70)
        return fail(rx, 1002); /* no extension was negotiated */
    if (op >= 8) {
        if (op > 10 || !fin)
            return fail(rx, 1002); /* reserved, or a fragmented control */
    } else if (op == 0) {
        if (!(rx->flags & F_MSG))
            return fail(rx, 1002); /* nothing to continue */
    } else if (op <= 2) {
        if (rx->flags & F_MSG)
            return fail(rx, 1002); /* a new message inside another */
        rx->msg = 0;
        rx->flags |= F_MSG;
    } else {
        return fail(rx, 1002);
    }
    rx->b0 = c;
    rx->st = FR_B1;
    return SC_WSRX_OK;
}

/* The length is known: the message limit (10.4), before any payload. */
static int frame_sized(struct sc_wsrx *rx, uint32_t max)
{
    if ((rx->b0 & 0x0f) < 8) {
        if ((uint64_t)rx->msg + rx->n > max)
            return fail(rx, 1009);
        rx->msg += rx->n;
        if (rx->b0 & 0x80) {
            rx->flags &= (uint8_t)~F_MSG;
            rx->msg = 0;
        }
    }
    rx->st = FR_KEY;
    rx->aux = 0;
    return SC_WSRX_OK;
}

static int frame_b1(struct sc_wsrx *rx, uint32_t max, uint8_t c)
{
    unsigned len = c & 0x7f, op = rx->b0 & 0x0f;

    if (!(c & 0x80))
        return fail(rx, 1002); /* 5.1: a client masks every frame */
    if (op >= 8 && len > 125)
        return fail(rx, 1002); /* 5.5: control payloads are 0-125 bytes */
    if (op == 8 && len == 1)
        return fail(rx, 1002); /* 5.5.1: a code is two bytes */
    rx->n = 0;
    if (len >= 126) {
        rx->aux = len == 126 ? 2 : 8;
        rx->st = FR_LEN;
        return SC_WSRX_OK;
    }
    rx->n = len;
    return frame_sized(rx, max);
}

static int frame_len(struct sc_wsrx *rx, uint32_t max, uint8_t c)
{
    if (rx->aux == 8 && (c & 0x80))
        return fail(rx, 1002); /* 5.2: the top bit must be 0 */
    if (rx->aux > 4) {
        if (c)
            return fail(rx, 1009); /* 4 GiB or more: past any limit */
    } else {
        rx->n = rx->n << 8 | c;
    }
    if (--rx->aux)
        return SC_WSRX_OK;
    return frame_sized(rx, max);
}

/* A close frame's payload byte (5.5.1, 7.4, 8.1). */
static int close_byte(struct sc_wsrx *rx, uint8_t c)
{
    uint8_t u = c ^ rx->mask[rx->aux & 3];

    if (rx->aux < 2) {
        rx->code = (uint16_t)(rx->code << 8 | u);
        if (rx->aux == 1 && !close_code_ok(rx->code))
            return fail(rx, 1002);
    } else if ((rx->utf8 = utf8_step(rx->utf8, u)) == UTF8_BAD) {
        return fail(rx, 1007);
    }
    rx->aux++;
    if (--rx->n == 0 && rx->utf8)
        return fail(rx, 1007); /* the reason ends inside a character */
    return SC_WSRX_OK;
}

/* The frame is complete. */
static int frame_end(struct sc_wsrx *rx)
{
    rx->st = FR_B0;
    if ((rx->b0 & 0x0f) != 8)
        return SC_WSRX_OK;
    rx->mode = SC_WSRX_CLOSED;
    return SC_WSRX_END;
}

/* One step of the frame reader at p[*i]: a header byte, a close payload
 * byte, or as much other payload as there is. Returns with *i past what
 * it took, or on the byte that showed a failure. */
static int frame_step(struct sc_wsrx *rx, uint32_t max, const unsigned char *p, size_t len,
                      size_t *i)
{
    uint8_t c = p[*i];
    size_t k;
    int r;

    switch (rx->st) {
    case FR_B0: r = frame_b0(rx, c); break;
    case FR_B1: r = frame_b1(rx, max, c); break;
    case FR_LEN: r = frame_len(rx, max, c); break;
    case FR_KEY:
        rx->mask[rx->aux++] = c;
        if (rx->aux == 4) {
            rx->st = FR_PAYLOAD;
            rx->aux = 0;
            rx->code = 0;
            rx->utf8 = 0;
        }
        r = SC_WSRX_OK;
        break;
    default: /* FR_PAYLOAD */
        if ((rx->b0 & 0x0f) == 8) {
            r = close_byte(rx, c);
            break;
        }
        /* Skipped, not copied: lws reads the payload itself. */
        k = len - *i < rx->n ? len - *i : rx->n;
        rx->n -= (uint32_t)k;
        *i += k;
        return SC_WSRX_OK;
    }
    if (r == SC_WSRX_OK)
        (*i)++;
    return r;
}

static int frames_feed(struct sc_wsrx *rx, uint32_t max, const unsigned char *p, size_t len,
                       size_t *i)
{
    while (*i < len) {
        int r = frame_step(rx, max, p, len, i);
        if (r != SC_WSRX_OK)
            return r;
        if (rx->st == FR_PAYLOAD && rx->n == 0 && (r = frame_end(rx)) != SC_WSRX_OK)
            return r;
    }
    return SC_WSRX_OK;
}

int sc_wsrx_feed(struct sc_wsrx *rx, uint32_t max_message, const unsigned char *p, size_t len,
                 size_t *ok)
{
    size_t i = 0;
    int r = SC_WSRX_OK;

    while (i < len && r == SC_WSRX_OK) {
        switch (rx->mode) {
        case SC_WSRX_HEAD:
            r = head_byte(rx, p[i]);
            if (r == SC_WSRX_OK)
                i++;
            break;
        case SC_WSRX_BODY: {
            size_t k = len - i < rx->n ? len - i : rx->n;
            i += k;
            if ((rx->n -= (uint32_t)k) == 0)
                head_start(rx);
            break;
        }
        case SC_WSRX_FRAMES: r = frames_feed(rx, max_message, p, len, &i); break;
        case SC_WSRX_PASS: i = len; break;
        case SC_WSRX_CLOSED: *ok = 0; return SC_WSRX_END;
        default: /* SC_WSRX_FAILED */ *ok = 0; return rx->code;
        }
    }
    *ok = r == SC_WSRX_OK ? len : i;
    return r;
}
