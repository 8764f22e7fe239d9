/* cdni — TLSA association data and records (RFC 6698 §2.1, RFC 7218). */
#include "dane/dane.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/err.h"
#include "common/tls.h"

/* DER of the whole certificate (selector 0) or of its SPKI (selector 1). */
static int selected_der(X509 *cert, int selector, unsigned char **der, int *len)
{
	*der = NULL;
	if (selector == 0)
		*len = i2d_X509(cert, der);
	else if (selector == 1)
		*len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), der);
	else
		return CDNI_EINVAL;
	return *len > 0 ? 0 : CDNI_ETLS;
}

int dane_tlsa_data(X509 *cert, int selector, int mtype, uint8_t *out, size_t cap, size_t *len)
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int dlen = 0, rc;

	if (mtype < 0 || mtype > 2)
		return CDNI_EINVAL;
	rc = selected_der(cert, selector, &der, &dlen);
	if (rc)
		goto done;
	if (mtype == 0) {
		*len = (size_t)dlen;
		rc = (size_t)dlen <= cap ? 0 : CDNI_EOVERFLOW;
		if (rc == 0)
			memcpy(out, der, (size_t)dlen);
		goto done;
	}
	if (cap < (mtype == 1 ? 32u : 64u)) {
		rc = CDNI_EOVERFLOW;
		goto done;
	}
	if (EVP_Digest(der, (size_t)dlen, out, &mdlen, mtype == 1 ? EVP_sha256() : EVP_sha512(),
		       NULL) != 1)
		rc = CDNI_ETLS;
	else
		*len = mdlen;
done:
	OPENSSL_free(der);
	return rc;
}

int dane_tlsa_owner(const char *name, int port, char *buf, size_t len)
{
	size_t n = strlen(name);
	int w;

	if (port < 1 || port > 65535 || n == 0 || n > 240)
		return CDNI_EINVAL;
	w = snprintf(buf, len, "_%d._tcp.%s%s", port, name, name[n - 1] == '.' ? "" : ".");
	return w > 0 && (size_t)w < len ? 0 : CDNI_EOVERFLOW;
}

static int tlsa_build(X509 *cert, int usage, int selector, int mtype, const char *owner,
		      uint32_t ttl, ldns_rr **out)
{
	uint8_t *data = NULL;
	size_t cap = 16384, len = 0;
	char *hex = NULL, *text = NULL;
	ldns_rr *rr = NULL;
	int rc = CDNI_ENOMEM;

	if (!(data = malloc(cap)) || !(hex = malloc(2 * cap + 1)))
		goto done;
	rc = dane_tlsa_data(cert, selector, mtype, data, cap, &len);
	if (rc)
		goto done;
	for (size_t i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", data[i]);
	hex[2 * len] = '\0';
	rc = CDNI_ENOMEM;
	if (asprintf(&text, "%s %u IN TLSA %d %d %d %s", owner, ttl, usage, selector, mtype, hex) < 0)
		goto done;
	rc = ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) == LDNS_STATUS_OK ? 0 : CDNI_EPARSE;
	if (rc == 0)
		*out = rr;
done:
	free(data);
	free(hex);
	free(text);
	return rc;
}

int dane_tlsa_rr(const char *certfile, int usage, int selector, int mtype, const char *name,
		 int port, uint32_t ttl, ldns_rr **out, char *err, size_t errlen)
{
	char owner[300];
	X509 *cert = NULL;
	int rc = CDNI_EINVAL;

	if (usage < 0 || usage > 3 || selector < 0 || selector > 1 || mtype < 0 || mtype > 2) {
		snprintf(err, errlen, "TLSA %d %d %d: usage 0..3, selector 0..1, mtype 0..2", usage,
			 selector, mtype);
		return rc;
	}
	if (dane_tlsa_owner(name, port, owner, sizeof owner)) {
		snprintf(err, errlen, "bad TLSA name or port: %s %d", name, port);
		return rc;
	}
	cert = tls_load_cert(certfile, err, errlen);
	if (!cert)
		return CDNI_EIO;
	rc = tlsa_build(cert, usage, selector, mtype, owner, ttl, out);
	if (rc)
		snprintf(err, errlen, "%s: cannot make a TLSA record: %s", certfile, cdni_strerror(rc));
	X509_free(cert);
	return rc;
}

char *dane_tlsa_text(const ldns_rr *tlsa)
{
	char *s = NULL;
	size_t n = ldns_rr_rd_count(tlsa);
	struct buf_s { char *p; size_t len; } b = { NULL, 0 };
	FILE *f;

	if (ldns_rr_get_type(tlsa) != LDNS_RR_TYPE_TLSA || n != 4)
		return NULL;
	f = open_memstream(&b.p, &b.len);
	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char *r = ldns_rdf2str(ldns_rr_rdf(tlsa, i));
		if (r)
			fprintf(f, "%s%s", i ? " " : "", r);
		free(r);
	}
	if (fclose(f) == 0)
		s = b.p;
	else
		free(b.p);
	return s;
}
