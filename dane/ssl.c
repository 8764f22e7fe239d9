/* cdni — DANE with OpenSSL (RFC 7671): TLSA records into an SSL before its
 * handshake, the matched record after it. */
#include "dane/dane.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/tls.h"

int dane_ssl_setup(SSL *ssl, const char *base_name, const char *alt_name,
		   const struct dane_tlsa_set *t, char *err, size_t errlen)
{
	char e[256];
	int usable = 0;

	if (t && t->expanded && alt_name) { /* RFC 7671 §7: the expanded name leads */
		const char *tmp = base_name;
		base_name = alt_name;
		alt_name = tmp;
		SSL_set_tlsext_host_name(ssl, base_name);
	}
	if (SSL_dane_enable(ssl, base_name) <= 0) {
		snprintf(err, errlen, "SSL_dane_enable: %s", tls_errstr(e, sizeof e));
		return CDNI_ETLS;
	}
	/* RFC 7671 §5.1: DANE-EE(3) binds the key to the name by the DNS alone. */
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	/* RFC 7671 §7: the CNAME-expanded name is a reference identifier too. */
	if (alt_name && strcasecmp(alt_name, base_name) != 0 && SSL_add1_host(ssl, alt_name) != 1) {
		snprintf(err, errlen, "SSL_add1_host %s: %s", alt_name, tls_errstr(e, sizeof e));
		return CDNI_ETLS;
	}
	for (size_t i = 0; t && i < t->n; i++) {
		const struct dane_tlsa_rec *r = &t->r[i];
		int rc = SSL_dane_tlsa_add(ssl, r->usage, r->selector, r->mtype, r->data, r->len);
		if (rc < 0) {
			snprintf(err, errlen, "SSL_dane_tlsa_add: %s", tls_errstr(e, sizeof e));
			return CDNI_ETLS;
		}
		usable += rc > 0;
	}
	ERR_clear_error(); /* unusable records leave errors behind */
	return usable;
}

int dane_ssl_matched(SSL *ssl, char *buf, size_t len)
{
	uint8_t usage = 0, selector = 0, mtype = 0;
	unsigned const char *data = NULL;
	size_t dlen = 0, w;
	int depth = SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, &data, &dlen);

	if (depth < 0 || !data)
		return CDNI_ENOTFOUND;
	w = (size_t)snprintf(buf, len, "%u %u %u ", usage, selector, mtype);
	for (size_t i = 0; i < dlen && w + 3 < len; i++, w += 2)
		snprintf(buf + w, len - w, "%02x", data[i]);
	if (w < len)
		snprintf(buf + w, len - w, " (depth %d)", depth);
	return 0;
}
