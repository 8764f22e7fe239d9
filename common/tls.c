#include "common/tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/err.h"

const char *tls_errstr(char *buf, size_t len)
{
	unsigned long e;
	size_t used = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		char one[256];
		ERR_error_string_n(e, one, sizeof one);
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "; " : "", one);
	}
	return buf;
}

static void set_err(char *err, size_t errlen, const char *what, const char *file)
{
	char ossl[512];
	tls_errstr(ossl, sizeof ossl);
	if (err && errlen)
		snprintf(err, errlen, "%s: %s%s%s", file ? file : "(none)", what, *ossl ? ": " : "",
			 ossl);
}

X509 *tls_load_cert(const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "r");
	X509 *x;

	if (!f) {
		if (err)
			snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		set_err(err, errlen, "no PEM certificate", file);
	return x;
}

EVP_PKEY *tls_load_key(const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "r");
	EVP_PKEY *k;

	if (!f) {
		if (err)
			snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		set_err(err, errlen, "no PEM private key", file);
	return k;
}

static SSL_CTX *ctx_new(const SSL_METHOD *m, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(m);

	if (!ctx) {
		set_err(err, errlen, "cannot create TLS context", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	return ctx;
}

SSL_CTX *tls_server_ctx(const char *cert, const char *key, const char *client_ca,
			char *err, size_t errlen)
{
	SSL_CTX *ctx = ctx_new(TLS_server_method(), err, errlen);

	if (!ctx)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		set_err(err, errlen, "cannot load certificate chain", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		set_err(err, errlen, "cannot load private key matching the certificate", key);
		goto fail;
	}
	if (client_ca) {
		if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
			set_err(err, errlen, "cannot load client CA", client_ca);
			goto fail;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_client_ctx(const char *ca, const char *cert, const char *key, char *err,
			size_t errlen)
{
	SSL_CTX *ctx = ctx_new(TLS_client_method(), err, errlen);

	if (!ctx)
		return NULL;
	if ((ca ? SSL_CTX_load_verify_locations(ctx, ca, NULL)
		: SSL_CTX_set_default_verify_paths(ctx)) != 1) {
		set_err(err, errlen, "cannot load CA", ca);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cert && SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		set_err(err, errlen, "cannot load client certificate", cert);
		goto fail;
	}
	if (key && (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1)) {
		set_err(err, errlen, "cannot load client key matching the certificate", key);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int tls_spki_sha256(X509 *cert, uint8_t out[32])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int len, rc = CDNI_ETLS;

	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	if (len > 0 && EVP_Digest(der, (size_t)len, out, &mdlen, EVP_sha256(), NULL) == 1 &&
	    mdlen == 32)
		rc = 0;
	OPENSSL_free(der);
	return rc;
}

const char *tls_name_oneline(const X509_NAME *name, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;

	buf[0] = '\0';
	if (!b)
		return buf;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(b, &data);
		snprintf(buf, len, "%.*s", (int)(n < 0 ? 0 : n), data);
	}
	BIO_free(b);
	return buf;
}
