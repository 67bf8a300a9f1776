/* sc_access: who may subscribe to what, checked the same way at the
 * upgrade (?channels=, sc_http.c) and for a connection's requests
 * (sc_conn.c). */
#ifndef SC_ACCESS_H
#define SC_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#include "sc_hub.h"

/* Verify a token, as sc_auth_verify(), and count it in
 * shardcast_token_verifications_total: every verification goes through
 * here, so the count shows each token is verified once per connection. */
int sc_access_verify(struct sc_hub *hub, const char *token, size_t len, struct sc_jwt_claims **out,
                     const char **code);

/* The upgrade of wsi was admitted with these verified claims (NULL: no
 * token). The connection wsi becomes takes them at ESTABLISHED, which
 * lws runs within the same call as the upgrade check, instead of
 * verifying the token a second time. Takes ownership of claims; a
 * handover nobody took is freed by the next one or by sc_hub_free(). */
void sc_access_handover(struct sc_hub *hub, struct lws *wsi, struct sc_jwt_claims *claims);

/* Take what the upgrade check handed over for wsi. Returns 1 (claims in
 * *cl, NULL for no token; the caller owns them) or 0 when wsi's upgrade
 * was not checked. */
int sc_access_take(struct sc_hub *hub, struct lws *wsi, struct sc_jwt_claims **cl);

/* May a client with these claims (NULL: anonymous) subscribe to name?
 * SC_PERR_NONE, or SC_PERR_FORBIDDEN with the reason in msg when its
 * permissions do not allow it (auth on; budget as sc_auth_may_read) or
 * when it is reserved for the node: names under "<cluster-prefix>:" and
 * SC_PUBSUB_PROBE_PREFIX, and patterns that could match one of them. */
int sc_access_may_subscribe(struct sc_hub *hub, const struct sc_jwt_claims *claims,
                            const char *name, size_t len, uint64_t *budget, char *msg,
                            size_t msglen);

/* Room for one URL argument: lws keeps a request's whole head in a
 * 4096-byte buffer (max_http_header_data), so none is longer. */
#define SC_URL_ARG_MAX 8192

/* ?channels= of wsi (an upgrade being checked, or a connection just
 * established), read into buf[0..buflen) and split and checked by
 * sc_channel_list_parse(); absent means no names. Returns as that does:
 * free *names after use, and keep buf while they are used. */
int sc_access_url_channels(struct lws *wsi, const struct sc_proto_limits *lim, char *buf,
                           size_t buflen, struct sc_name **names, size_t *count, char *msg,
                           size_t msglen);

#endif
