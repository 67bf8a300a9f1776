/*
 * policy.h - what to do when a connection ends, and how long to wait.
 */
#ifndef SC_CLI_POLICY_H
#define SC_CLI_POLICY_H

#include <stdint.h>

/* Close code recorded when the connection ended without a close frame. */
#define SC_CLOSE_ABNORMAL 1006

enum sc_close_action {
    SC_RECONNECT_BACKOFF, /* drop, shutdown, 41xx: wait, then retry */
    SC_RECONNECT_NOW,     /* 42xx: the node sent us elsewhere */
    SC_STOP,              /* 40xx and client-fault codes: retrying cannot help */
};

/*
 * sc_close_action() - classify a close code (SC_CLOSE_ABNORMAL when there
 * was no close frame).  Codes nobody documented reconnect with backoff:
 * that is the safe reading of a code from a newer node.
 */
enum sc_close_action sc_close_action(int code);

/*
 * sc_close_describe() - a short human meaning for a close code, from the
 * protocol's table; "" for codes it does not name.
 */
const char *sc_close_describe(int code);

/*
 * sc_backoff_ms() - "full jitter" exponential backoff: a delay drawn
 * uniformly from [0, min(cap_ms, base_ms * 2^attempt)] using the random
 * value rnd.  Spreading reconnects over the whole window is what keeps a
 * node restart from turning into a synchronized stampede of its clients.
 */
uint32_t sc_backoff_ms(unsigned int attempt, uint32_t base_ms, uint32_t cap_ms, uint32_t rnd);

#endif /* SC_CLI_POLICY_H */
