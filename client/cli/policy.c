/*
 * policy.c - reconnect policy: close code classes and backoff delays.
 *
 * Ranges follow the protocol (Pusher's convention): 4000-4099 do not
 * reconnect, 4100-4199 reconnect with backoff, 4200-4299 reconnect at once.
 * Standard codes that mean "the client itself is at fault" stop too, since
 * the same client sending the same request again would be closed the same
 * way, forever.
 */
#include "policy.h"

enum sc_close_action sc_close_action(int code)
{
    if (code >= 4000 && code <= 4099)
        return SC_STOP;
    if (code >= 4200 && code <= 4299)
        return SC_RECONNECT_NOW;
    switch (code) {
    case 1000: /* the node ended the session on purpose */
    case 1002: /* our framing was bad */
    case 1003: /* we sent binary */
    case 1007: /* we sent invalid UTF-8 */
    case 1008: /* policy violation */
    case 1009: /* our request was too large (too many channels) */ return SC_STOP;
    default: return SC_RECONNECT_BACKOFF;
    }
}

const char *sc_close_describe(int code)
{
    switch (code) {
    case 1000: return "normal closure";
    case 1001: return "node shutting down";
    case 1002: return "protocol error";
    case 1003: return "binary frame not accepted";
    case 1006: return "connection lost";
    case 1007: return "invalid UTF-8";
    case 1008: return "policy violation";
    case 1009: return "message too large";
    case 1011: return "internal error on the node";
    case 4100: return "slow consumer";
    case 4101: return "ping timeout";
    case 4200: return "redirect";
    case 4201: return "shard moved";
    default: return "";
    }
}

uint32_t sc_backoff_ms(unsigned int attempt, uint32_t base_ms, uint32_t cap_ms, uint32_t rnd)
{
    uint64_t ceil = base_ms;

    /* Doubling stops at the cap, which also keeps the shift in range. */
    while (attempt-- && ceil < cap_ms)
        ceil <<= 1;
    if (ceil > cap_ms)
        ceil = cap_ms;
    return (uint32_t)(rnd % (ceil + 1));
}
