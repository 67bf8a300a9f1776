/* sc_tls: the node's TLS profile and the start-up check of its files.
 *
 * The default follows Mozilla's "intermediate" server profile (v5.7):
 * TLS 1.2 and 1.3 only, and for TLS 1.2 only ECDHE suites with AEAD
 * ciphers (AES-GCM, ChaCha20-Poly1305), so no CBC suite (LUCKY13) and no
 * static-RSA key exchange. Mozilla also lists DHE-RSA-AES-GCM; it is left
 * out because libwebsockets 4.1 sets no DH parameters, so OpenSSL could
 * not negotiate it anyway. TLS 1.3 suites are all AEAD; the three OpenSSL
 * offers are named explicitly so a system-wide OpenSSL setting cannot add
 * others. --tls-ciphers replaces the TLS 1.2 list, --tls-min-version 1.3
 * turns TLS 1.2 off. See docs/security.md. */
#ifndef SC_TLS_H
#define SC_TLS_H

#include <libwebsockets.h>
#include <stddef.h>

#include "sc_config.h"

#define SC_TLS_DEFAULT_CIPHERS                                   \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define SC_TLS13_CIPHERSUITES \
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* Everything lws would load for cfg's TLS, loaded once into a throwaway
 * OpenSSL context: the certificate chain and key files can be read and
 * parsed, the key matches the certificate, and the cipher list selects at
 * least one TLS 1.2 suite. lws would report a failure of any of these as
 * log lines and a vhost that cannot be created; here it is a
 * configuration error. Returns 0 (also when TLS is off) or -EINVAL with a
 * message naming the option in err. */
int sc_tls_check(const struct sc_config *cfg, char *err, size_t errlen);

/* Put cfg's TLS settings (files, suites, oldest version) into the context
 * creation info of the node's vhost. Nothing when TLS is off. The strings
 * stay cfg's. */
void sc_tls_apply(const struct sc_config *cfg, struct lws_context_creation_info *info);

#endif
