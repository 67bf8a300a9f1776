/*
 * sc_names.h - which names the cluster accepts: shard ids and cluster
 * prefixes (one alphabet), the URL a shard advertises, and client keys
 * (what a client routes by).
 *
 * The node (--shard-id, --cluster-prefix, ?key=, GET /route), the shard map
 * (stored ids), shardctl and shardcast-cli all ask these functions, so a
 * name one of them accepts is never refused by another. The browser copies
 * of the rules, in client/web/, name this file.
 *
 * Pure C11, no allocation, no global state.
 */
#ifndef SC_NAMES_H
#define SC_NAMES_H

#include <stddef.h>

/* Longest shard id or cluster prefix, in bytes. It is part of the shard
 * map's stored form (SC_SHARD_ID_MAX). */
#define SC_NAME_MAX 64
/* Longest URL a shard advertises, in bytes; also part of the stored form. */
#define SC_SHARD_URL_MAX 255
/* Longest client key, in bytes. */
#define SC_KEY_MAX 128

/*
 * sc_name_valid() - 1 if the string s is a valid shard id or cluster
 * prefix: 1..SC_NAME_MAX bytes of [A-Za-z0-9._:-]. Such names go into Redis
 * key names, channel names, URLs and JSON without quoting or escaping.
 * Else 0, also for NULL. Reads at most SC_NAME_MAX + 1 bytes of s.
 */
int sc_name_valid(const char *s);

/*
 * sc_shard_url_valid() - 1 if the string url may stand in the shard map as
 * a shard's URL: 1..SC_SHARD_URL_MAX bytes of printable ASCII other than
 * space, '"' and '\\' (never legal in a URL anyway; without them the
 * stored form needs no escapes). Else 0, also for NULL. The scheme is the
 * node's to check (--advertise-url). Reads at most SC_SHARD_URL_MAX + 1
 * bytes of url.
 */
int sc_shard_url_valid(const char *url);

/*
 * sc_key_valid() - 1 if key[0..len) is a valid client key: 1..SC_KEY_MAX
 * bytes of printable ASCII other than space (0x21..0x7E). The node refuses
 * an upgrade (and GET /route answers 400) for any other key. Else 0.
 * key may be NULL only when len is 0.
 */
int sc_key_valid(const char *key, size_t len);

#endif /* SC_NAMES_H */
