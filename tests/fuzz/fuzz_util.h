/* Helpers shared by the fuzz targets.
 *
 * The reference functions here are written from the rules in
 * docs/protocol.md and RFC 3629 / RFC 4648, deliberately not from the code
 * under test, so a target compares two independent codings of one rule
 * instead of checking the code against itself. They favour plainness over
 * speed. No dependency on server/ or shard/: every target links this. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* assert() disappears under NDEBUG, and the replay tests run in
 * RelWithDebInfo builds; this check never does. Abort is what libFuzzer
 * and ctest both report as a failure. */
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))

_Noreturn void fuzz_fail(const char *file, int line, const char *what);

/* Call first in every LLVMFuzzerTestOneInput: pins jansson's hash seed,
 * which it otherwise reads from /dev/urandom, so one input always takes the
 * same path (libFuzzer's coverage feedback needs that). */
void fuzz_init(void);

/* Length of the well-formed UTF-8 sequence at p (at most avail bytes), with
 * its code point in *cp; 0 if the bytes there are not one. */
size_t ref_utf8_seq(const unsigned char *p, size_t avail, uint32_t *cp);

/* 1 if p[0..len) is well-formed UTF-8. */
int ref_utf8_valid(const unsigned char *p, size_t len);

/* p[0..len) with each byte that does not start a well-formed sequence
 * replaced by U+FFFD (the documented treatment of channel names). Returns
 * a malloc'd buffer of *outlen bytes (never NULL: aborts on OOM). */
unsigned char *ref_utf8_replace(const unsigned char *p, size_t len, size_t *outlen);

/* Strict RFC 4648 base64 (alphabet A-Za-z0-9+/, '=' padding, unused bits
 * zero). Returns a malloc'd buffer of *outlen bytes, or NULL if s is not the
 * canonical encoding of anything. Deliberately a second implementation of
 * shard/sc_base64.c's decoder, kept apart from it: the json, delivery and
 * base64 targets compare the shared code against it (differential
 * fuzzing), which a call into the code under test could not do. */
unsigned char *ref_base64_decode(const char *s, size_t len, size_t *outlen);

/* docs/protocol.md "Channels": 1..maxlen bytes; ascii mode allows 0x21-0x7E
 * but ','; utf8 mode allows well-formed UTF-8 without controls (C0, DEL,
 * C1) or ','. */
int ref_channel_ok(const unsigned char *p, size_t len, size_t maxlen, int utf8);

#endif
