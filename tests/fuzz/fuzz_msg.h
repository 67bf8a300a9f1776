/* Checking frames built by server/sc_msg.c (request and delivery targets). */
#ifndef FUZZ_MSG_H
#define FUZZ_MSG_H

#include <jansson.h>

#include "sc_msg.h"

/* Checks that m holds one reference and is one unmasked FIN text frame
 * whose header is the minimal RFC 6455 length form of its body. Returns the
 * body, of *len bytes. */
const char *fuzz_msg_frame(const struct sc_msg *m, size_t *len);

/* fuzz_msg_frame(), then checks that the body is one JSON object and
 * returns it (decoded with JSON_ALLOW_NUL; the caller decrefs). */
json_t *fuzz_msg_json(const struct sc_msg *m);

/* The string member key of obj as bytes; aborts if missing or not a string. */
const char *fuzz_json_str(const json_t *obj, const char *key, size_t *len);

#endif
