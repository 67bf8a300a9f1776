/* sc_tls: TLS profile and start-up check (see sc_tls.h). */
#include "sc_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The file opens and reads: a plain errno message for the common mistakes
 * (wrong path, wrong owner or mode, a directory) before OpenSSL's parse,
 * whose message would only say it found no PEM. */
static int file_readable(const char *opt, const char *path, char *err, size_t errlen)
{
    char c;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, &c, 1);
    int e = errno;

    if (fd >= 0)
        close(fd);
    if (n >= 0)
        return 0;
    snprintf(err, errlen, "%s: cannot read %.200s: %s", opt, path, strerror(e));
    return -EINVAL;
}

/* Message for a failed OpenSSL step, with OpenSSL's reason; clears its
 * error queue. Returns -EINVAL. */
static int tls_failed(const char *opt, const char *path, const char *what, char *err, size_t errlen)
{
    unsigned long e = ERR_peek_error();
    const char *why = e ? ERR_reason_error_string(e) : NULL;

    snprintf(err, errlen, "%s: %.200s: %s (%s)", opt, path, what, why ? why : "no reason given");
    ERR_clear_error();
    return -EINVAL;
}

/* No terminal prompt for an encrypted key: lws has no passphrase to give
 * either, so such a key is refused here. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

int sc_tls_check(const struct sc_config *cfg, char *err, size_t errlen)
{
    const char *ciphers = cfg->tls_ciphers ? cfg->tls_ciphers : SC_TLS_DEFAULT_CIPHERS;
    SSL_CTX *ctx;
    int rc;

    if (!cfg->tls_cert)
        return 0;
    if (file_readable("tls-cert", cfg->tls_cert, err, errlen) < 0 ||
        file_readable("tls-key", cfg->tls_key, err, errlen) < 0)
        return -EINVAL;
    if (!(ctx = SSL_CTX_new(TLS_server_method()))) {
        ERR_clear_error();
        snprintf(err, errlen, "tls-cert: out of memory setting up TLS");
        return -EINVAL;
    }
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1)
        rc = tls_failed("tls-cert", cfg->tls_cert, "no usable PEM certificate", err, errlen);
    else if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1)
        rc = tls_failed("tls-key", cfg->tls_key,
                        "no usable PEM private key for the "
                        "certificate",
                        err, errlen);
    else if (SSL_CTX_check_private_key(ctx) != 1)
        rc = tls_failed("tls-key", cfg->tls_key, "does not match the certificate", err, errlen);
    /* OpenSSL skips names it does not know and fails only when nothing
     * for TLS 1.2 is left; that is the mistake worth stopping for. */
    else if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1)
        rc = tls_failed("tls-ciphers", ciphers, "selects no TLS 1.2 cipher suite", err, errlen);
    else
        rc = 0;
    SSL_CTX_free(ctx);
    return rc;
}

void sc_tls_apply(const struct sc_config *cfg, struct lws_context_creation_info *info)
{
    if (!cfg->tls_cert)
        return;
    info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info->ssl_cert_filepath = cfg->tls_cert;
    info->ssl_private_key_filepath = cfg->tls_key;
    info->ssl_cipher_list = cfg->tls_ciphers ? cfg->tls_ciphers : SC_TLS_DEFAULT_CIPHERS;
    info->tls1_3_plus_cipher_list = SC_TLS13_CIPHERSUITES;
    /* lws 4.1 turns off SSLv2 and SSLv3 only (lib/tls/openssl/
     * openssl-server.c) and applies these after its own options. */
    info->ssl_options_set = (long)(SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                                   (cfg->tls_min_minor >= 3 ? SSL_OP_NO_TLSv1_2 : 0));
}
