/* sc_resp: the RESP2 subset the bench speaks to Redis: commands out
 * (PUBLISH, SUBSCRIBE, PUBSUB NUMSUB) and flat replies/pushes in. */
#ifndef SC_BENCH_RESP_H
#define SC_BENCH_RESP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sc_resp_val {
    char type;       /* '+', '-', ':', '$', '*' */
    int64_t num;     /* ':' value, or the length of '$' / '*' (-1 = nil) */
    const char *str; /* '+', '-', '$': points into the parsed buffer */
    size_t len;
};

size_t sc_resp_cmd(char *out, size_t cap, int argc, const char *const *argv, const size_t *lens);
ssize_t sc_resp_parse(const char *buf, size_t len, struct sc_resp_val *top,
                      struct sc_resp_val *elems, size_t max_elems);

#endif
