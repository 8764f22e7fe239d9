/* cdni — OpenSSL helpers: contexts for servers and clients (mutual TLS
 * included), certificate and key loading, error-queue draining, SPKI digests.
 * Every function reports failures as a message in err, naming the file. */
#ifndef CDNI_TLS_H
#define CDNI_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Drain OpenSSL's error queue into buf ("" when empty); returns buf. */
const char *tls_errstr(char *buf, size_t len);

X509 *tls_load_cert(const char *file, char *err, size_t errlen);
EVP_PKEY *tls_load_key(const char *file, char *err, size_t errlen);

/* Server context: certificate chain and key (PEM files); when client_ca is
 * set, clients must present a certificate chaining to it. TLS 1.2 and 1.3. */
SSL_CTX *tls_server_ctx(const char *cert, const char *key, const char *client_ca,
			char *err, size_t errlen);
/* Client context verifying the peer against ca (NULL: system store), with an
 * optional client certificate and key for mutual TLS. */
SSL_CTX *tls_client_ctx(const char *ca, const char *cert, const char *key, char *err,
			size_t errlen);

/* SHA-256 of a certificate's DER SubjectPublicKeyInfo. */
int tls_spki_sha256(X509 *cert, uint8_t out[32]);
/* Subject or issuer as a one-line RFC 2253 string into buf. */
const char *tls_name_oneline(const X509_NAME *name, char *buf, size_t len);

#endif
