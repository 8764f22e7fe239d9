/* cdni-ua — one hop on the wire with libcurl (OpenSSL backend). */
#include "ua/fetch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/err.h"
#include "common/tls.h"

#define UA_USER_AGENT "cdni-ua/1"

/* ---- TLS: what the handshake showed ------------------------------------ */

static int ssl_ctx_index = -1, ssl_dane_index = -1;
static pthread_once_t ssl_ctx_once = PTHREAD_ONCE_INIT;

static void ssl_ctx_index_init(void)
{
	ssl_ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	ssl_dane_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL); /* DANE set up once */
}

static struct ua_session *session_of(const SSL *ssl)
{
	SSL_CTX *ctx = ssl ? SSL_get_SSL_CTX(ssl) : NULL;

	return ctx && ssl_ctx_index >= 0 ? SSL_CTX_get_ex_data(ctx, ssl_ctx_index) : NULL;
}

static struct ua_tls *hop_tls(struct ua_session *s)
{
	if (!s->hop)
		return NULL;
	if (!s->hop->tls)
		s->hop->tls = ua_tls_new();
	if (!s->hop->tls)
		s->cb_err = CDNI_ENOMEM;
	return s->hop->tls;
}

static void replace(char **dst, const char *src, struct ua_session *s)
{
	free(*dst);
	*dst = src ? strdup(src) : NULL;
	if (src && !*dst)
		s->cb_err = CDNI_ENOMEM;
}

static void tls_add_san(struct ua_tls *tls, const GENERAL_NAME *gn, struct ua_session *s)
{
	char buf[300] = "";
	char **v;

	if (gn->type == GEN_DNS) {
		const ASN1_IA5STRING *d = gn->d.dNSName;
		snprintf(buf, sizeof buf, "DNS:%.*s", d->length > 255 ? 255 : d->length,
			 (const char *)d->data);
	} else if (gn->type == GEN_IPADD) {
		const ASN1_OCTET_STRING *o = gn->d.iPAddress;
		char ip[INET6_ADDRSTRLEN] = "";
		if (o->length == 4 || o->length == 16)
			inet_ntop(o->length == 4 ? AF_INET : AF_INET6, o->data, ip, sizeof ip);
		if (ip[0])
			snprintf(buf, sizeof buf, "IP:%s", ip);
	}
	if (!buf[0])
		return;
	v = realloc(tls->sans, (tls->nsans + 1) * sizeof *v);
	if (!v || !(v[tls->nsans] = strdup(buf))) {
		if (v)
			tls->sans = v;
		s->cb_err = CDNI_ENOMEM;
		return;
	}
	tls->sans = v;
	tls->nsans++;
}

static void tls_fill_cert(struct ua_tls *tls, X509 *cert, struct ua_session *s)
{
	char name[512];
	GENERAL_NAMES *gens;

	replace(&tls->subject, tls_name_oneline(X509_get_subject_name(cert), name, sizeof name), s);
	replace(&tls->issuer, tls_name_oneline(X509_get_issuer_name(cert), name, sizeof name), s);
	for (size_t i = 0; i < tls->nsans; i++)
		free(tls->sans[i]);
	tls->nsans = 0;
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++)
		tls_add_san(tls, sk_GENERAL_NAME_value(gens, i), s);
	GENERAL_NAMES_free(gens);
}

static void tls_fill_session(struct ua_tls *tls, const SSL *ssl, struct ua_session *s)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);

	replace(&tls->version, SSL_get_version(ssl), s);
	replace(&tls->cipher, c ? SSL_CIPHER_get_name(c) : NULL, s);
}

/* Records the leaf and the first chain error, and returns libcurl's verdict
 * unchanged: verification stays libcurl's and OpenSSL's. */
static int verify_cb(int preverify_ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct ua_session *s = session_of(ssl);
	struct ua_tls *tls = s ? hop_tls(s) : NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(x);
	char msg[300];

	if (!tls)
		return preverify_ok;
	if (leaf && !tls->subject)
		tls_fill_cert(tls, leaf, s);
	if (!tls->version)
		tls_fill_session(tls, ssl, s);
	if (!preverify_ok && !s->chain_error) {
		int e = X509_STORE_CTX_get_error(x);
		snprintf(msg, sizeof msg, "certificate chain: %s (depth %d)",
			 X509_verify_cert_error_string(e), X509_STORE_CTX_get_error_depth(x));
		replace(&s->chain_error, msg, s);
	}
	return preverify_ok;
}

static void tls_capture(struct ua_session *s, const SSL *ssl)
{
	struct ua_tls *tls = hop_tls(s);
	X509 *peer = SSL_get0_peer_certificate(ssl);

	if (!tls)
		return;
	tls_fill_session(tls, ssl, s);
	if (peer)
		tls_fill_cert(tls, peer, s);
	tls->verified = SSL_get_verify_result(ssl) == X509_V_OK;
	if (s->dane && !s->dane_matched[0])
		dane_ssl_matched((SSL *)(uintptr_t)ssl, s->dane_matched, sizeof s->dane_matched);
}

/* Before the ClientHello: hand this hop's TLSA records to OpenSSL (RFC 7671:
 * DANE-EE without name checks, the CNAME-expanded name accepted too). When
 * no record is usable, the host name check is OpenSSL's instead of
 * libcurl's (which is off for DANE hops). */
static void dane_start(struct ua_session *s, SSL *ssl)
{
	int n;

	if (ssl_dane_index < 0 || SSL_get_ex_data(ssl, ssl_dane_index))
		return; /* a renegotiation: DANE is already on */
	SSL_set_ex_data(ssl, ssl_dane_index, s);
	n = dane_ssl_setup(ssl, s->dane_base, s->dane_alt, s->dane, s->dane_err, sizeof s->dane_err);
	if (n > 0)
		return;
	if (n == 0)
		snprintf(s->dane_err, sizeof s->dane_err, "no usable TLSA record");
	SSL_set1_host(ssl, s->dane_base);
}

static void info_cb(const SSL *ssl, int where, int ret)
{
	struct ua_session *s = session_of(ssl);

	(void)ret;
	if (s && s->dane && (where & SSL_CB_HANDSHAKE_START))
		dane_start(s, (SSL *)(uintptr_t)ssl);
	if (s && (where & SSL_CB_HANDSHAKE_DONE))
		tls_capture(s, ssl);
}

/* libcurl calls this for each new TLS connection, after its own set-up and
 * before the handshake: the place for the UA's own TLS hooks. */
static CURLcode ssl_ctx_setup(CURL *curl, void *sslctx, void *arg)
{
	SSL_CTX *ctx = sslctx;

	(void)curl;
	if (ssl_ctx_index < 0 || !SSL_CTX_set_ex_data(ctx, ssl_ctx_index, arg))
		return CURLE_SSL_CONNECT_ERROR;
	SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), verify_cb);
	SSL_CTX_set_info_callback(ctx, info_cb);
	if (((struct ua_session *)arg)->dane && SSL_CTX_dane_enable(ctx) <= 0)
		return CURLE_SSL_CONNECT_ERROR;
	return CURLE_OK;
}

/* A reused connection has no handshake: read the session libcurl holds. */
static void tls_from_connection(struct ua_session *s)
{
	struct curl_tlssessioninfo *info = NULL;

	if (curl_easy_getinfo(s->curl, CURLINFO_TLS_SSL_PTR, &info) == CURLE_OK && info &&
	    info->backend == CURLSSLBACKEND_OPENSSL && info->internals)
		tls_capture(s, info->internals);
}

/* ---- the response -------------------------------------------------------- */

static bool is_https(const char *url)
{
	return strncasecmp(url, "https:", 6) == 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct ua_session *s = arg;
	size_t total = size * n, len = total;
	const char *colon;

	if (len && data[len - 1] == '\n')
		len--;
	if (len && data[len - 1] == '\r')
		len--;
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* a new status line: an interim 1xx response's headers are dropped */
		ua_hop_clear_headers(s->hop);
		if (!s->hop->tls && is_https(s->hop->url))
			tls_from_connection(s);
		return total;
	}
	colon = memchr(data, ':', len);
	if (!colon || colon == data)
		return total; /* the blank line, or a line that is not a field */
	s->cb_err = ua_hop_set_header(s->hop, data, (size_t)(colon - data), colon + 1,
				      len - (size_t)(colon + 1 - data));
	if (s->cb_err == CDNI_EOVERFLOW)
		snprintf(s->cb_why, sizeof s->cb_why, "more than %d response header fields",
			 UA_MAX_HEADERS);
	return s->cb_err ? 0 : total;
}

int ua_session_output_open(struct ua_session *s)
{
	if (!s->o->output || s->out)
		return 0;
	s->out = strcmp(s->o->output, "-") == 0 ? stdout : fopen(s->o->output, "wb");
	if (s->out)
		return 0;
	snprintf(s->cb_why, sizeof s->cb_why, "cannot open %s: %s", s->o->output, strerror(errno));
	s->cb_err = CDNI_EIO;
	return CDNI_EIO;
}

/* Is this response the one whose body -o wants (not a redirect to follow)? */
static void body_decide(struct ua_session *s)
{
	long status = 0;

	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	s->body_to_output = s->o->output &&
			    !(ua_is_redirect(status) && ua_hop_header(s->hop, "location"));
	s->body_decided = true;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct ua_session *s = arg;
	size_t len = size * n;

	if (!s->body_decided)
		body_decide(s);
	if (EVP_DigestUpdate(s->md, data, len) != 1) {
		s->cb_err = CDNI_ENOMEM;
		return 0;
	}
	s->hop->body_size += len;
	if (!s->body_to_output || len == 0)
		return len;
	if (ua_session_output_open(s))
		return 0;
	if (fwrite(data, 1, len, s->out) != len) {
		snprintf(s->cb_why, sizeof s->cb_why, "writing %s: %s", s->o->output,
			 strerror(errno));
		s->cb_err = CDNI_EIO;
		return 0;
	}
	return len;
}

/* ---- one hop --------------------------------------------------------------- */

static bool is_credential(const char *h)
{
	static const char *const names[] = { "authorization:", "cookie:",
					     "proxy-authorization:" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strncasecmp(h, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

static int set_request(struct ua_session *s, const struct ua_hop *hop, const char *start_url)
{
	bool same = ua_same_origin(start_url, hop->url);
	struct curl_slist *l;

	curl_slist_free_all(s->req_headers);
	s->req_headers = NULL;
	for (size_t i = 0; i < s->o->nheaders; i++) {
		if (!same && is_credential(s->o->headers[i]))
			continue; /* credentials stay with the origin they were given for */
		l = curl_slist_append(s->req_headers, s->o->headers[i]);
		if (!l)
			return CDNI_ENOMEM;
		s->req_headers = l;
	}
	if (curl_easy_setopt(s->curl, CURLOPT_URL, hop->url) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->req_headers) != CURLE_OK)
		return CDNI_ENOMEM;
	if (strcmp(hop->method, "HEAD") == 0)
		curl_easy_setopt(s->curl, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(s->curl, CURLOPT_HTTPGET, 1L);
	return 0;
}

static double ms_between(curl_off_t from_us, curl_off_t to_us)
{
	return to_us > from_us ? (double)(to_us - from_us) / 1000.0 : 0.0;
}

static void collect_timing(struct ua_session *s, struct ua_timing *tm)
{
	curl_off_t dns = 0, conn = 0, app = 0, pre = 0, start = 0, total = 0;

	curl_easy_getinfo(s->curl, CURLINFO_NAMELOOKUP_TIME_T, &dns);
	curl_easy_getinfo(s->curl, CURLINFO_CONNECT_TIME_T, &conn);
	curl_easy_getinfo(s->curl, CURLINFO_APPCONNECT_TIME_T, &app);
	curl_easy_getinfo(s->curl, CURLINFO_PRETRANSFER_TIME_T, &pre);
	curl_easy_getinfo(s->curl, CURLINFO_STARTTRANSFER_TIME_T, &start);
	curl_easy_getinfo(s->curl, CURLINFO_TOTAL_TIME_T, &total);
	tm->dns = ms_between(0, dns);
	tm->connect = ms_between(dns, conn);
	tm->tls = app ? ms_between(conn, app) : 0.0;
	tm->first_byte = start ? ms_between(pre, start) : 0.0;
	tm->total = ms_between(0, total);
}

static const char *version_name(long v)
{
	switch (v) {
	case CURL_HTTP_VERSION_1_0: return "1.0";
	case CURL_HTTP_VERSION_1_1: return "1.1";
	case CURL_HTTP_VERSION_2_0: return "2";
	case CURL_HTTP_VERSION_3: return "3";
	default: return NULL;
	}
}

static void collect(struct ua_session *s, struct ua_hop *hop)
{
	long status = 0, version = 0, port = 0;
	char *ip = NULL, addr[INET6_ADDRSTRLEN + 16];

	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(s->curl, CURLINFO_HTTP_VERSION, &version);
	curl_easy_getinfo(s->curl, CURLINFO_PRIMARY_IP, &ip);
	curl_easy_getinfo(s->curl, CURLINFO_PRIMARY_PORT, &port);
	hop->status = status;
	replace(&hop->http_version, status ? version_name(version) : NULL, s);
	if (ip && *ip) {
		snprintf(addr, sizeof addr, strchr(ip, ':') ? "[%s]:%ld" : "%s:%ld", ip, port);
		replace(&hop->address, addr, s);
	}
	collect_timing(s, &hop->timing);
}

static void body_conclude(struct ua_session *s, struct ua_hop *hop)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_DigestFinal_ex(s->md, md, &len) != 1 || len != 32)
		return;
	for (unsigned i = 0; i < 32; i++) {
		hop->body_sha256[2 * i] = hex[md[i] >> 4];
		hop->body_sha256[2 * i + 1] = hex[md[i] & 15];
	}
	hop->body_sha256[64] = '\0';
	hop->has_body = hop->status != 0 && strcmp(hop->method, "HEAD") != 0;
}

/* Combine what the handshake showed with libcurl's verdict (which includes
 * the host-name check made after the handshake). */
static void tls_conclude(struct ua_session *s, struct ua_hop *hop, CURLcode rc)
{
	struct ua_tls *tls = hop->tls;
	const char *why = s->chain_error ? s->chain_error
			  : s->errbuf[0]  ? s->errbuf
					  : curl_easy_strerror(rc);

	if (!is_https(hop->url))
		return;
	if (rc == CURLE_PEER_FAILED_VERIFICATION) {
		tls = hop_tls(s);
		if (!tls)
			return;
		tls->verified = false;
		replace(&tls->verify_error, why, s);
	} else if (tls && !tls->verified && !tls->verify_error) {
		replace(&tls->verify_error, rc ? why : "certificate not verified", s);
	}
}

static int hop_result(struct ua_session *s, CURLcode rc, char *err, size_t errlen)
{
	if (s->cb_err) {
		snprintf(err, errlen, "%s", s->cb_why[0] ? s->cb_why : cdni_strerror(s->cb_err));
		return s->cb_err;
	}
	if (rc == CURLE_OK)
		return 0;
	snprintf(err, errlen, "%s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT: return CDNI_ETIMEDOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR: return CDNI_ETLS;
	case CURLE_OUT_OF_MEMORY: return CDNI_ENOMEM;
	default: return CDNI_EUPSTREAM;
	}
}

static int hop_begin(struct ua_session *s, struct ua_hop *hop)
{
	s->hop = hop;
	s->body_decided = s->body_to_output = false;
	s->cb_err = 0;
	s->cb_why[0] = s->errbuf[0] = '\0';
	free(s->chain_error);
	s->chain_error = NULL;
	return EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) == 1 ? 0 : CDNI_ENOMEM;
}

int ua_fetch_hop(struct ua_session *s, struct ua_hop *hop, const char *start_url, char *err,
		 size_t errlen)
{
	CURLcode rc;
	int ret;

	ret = hop_begin(s, hop);
	if (ret == 0)
		ret = set_request(s, hop, start_url);
	if (ret) {
		snprintf(err, errlen, "%s", cdni_strerror(ret));
		goto done;
	}
	rc = curl_easy_perform(s->curl);
	collect(s, hop);
	tls_conclude(s, hop, rc);
	body_conclude(s, hop);
	ret = hop_result(s, rc, err, errlen);
done:
	s->hop = NULL;
	return ret;
}

/* ---- the session ------------------------------------------------------------ */

static bool backend_is_openssl(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	return v && v->ssl_version && strncmp(v->ssl_version, "OpenSSL", 7) == 0;
}

static int session_setopts(struct ua_session *s)
{
	const struct ua_opts *o = s->o;
	CURL *c = s->curl;
	int bad = 0;

#define SET(opt, val) bad |= curl_easy_setopt(c, opt, val) != CURLE_OK
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_FOLLOWLOCATION, 0L); /* each hop is our own request */
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_PROXY, ""); /* no proxy from the environment */
	SET(CURLOPT_USERAGENT, UA_USER_AGENT);
	SET(CURLOPT_ERRORBUFFER, s->errbuf);
	SET(CURLOPT_TIMEOUT_MS, o->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, o->timeout_ms);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_setup);
	SET(CURLOPT_SSL_CTX_DATA, s);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, s);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, s);
	if (o->cacert) {
		SET(CURLOPT_CAINFO, o->cacert);
		SET(CURLOPT_CAPATH, NULL); /* only the given anchors */
	}
	if (o->range)
		SET(CURLOPT_RANGE, o->range);
	if (s->resolve)
		SET(CURLOPT_RESOLVE, s->resolve);
#undef SET
	return bad ? CDNI_EUNSUPP : 0;
}

int ua_session_init(struct ua_session *s, const struct ua_opts *o, char *err, size_t errlen)
{
	int rc = CDNI_ENOMEM;

	memset(s, 0, sizeof *s);
	s->o = o;
	pthread_once(&ssl_ctx_once, ssl_ctx_index_init);
	if (!backend_is_openssl() || ssl_ctx_index < 0) {
		snprintf(err, errlen, "libcurl is not built with OpenSSL");
		return CDNI_EUNSUPP;
	}
	s->curl = curl_easy_init();
	s->md = EVP_MD_CTX_new();
	if (!s->curl || !s->md)
		goto fail;
	for (size_t i = 0; i < o->nresolve; i++) {
		struct curl_slist *l = curl_slist_append(s->resolve, o->resolve[i]);
		if (!l)
			goto fail;
		s->resolve = l;
	}
	rc = session_setopts(s);
	if (rc == 0)
		return 0;
fail:
	snprintf(err, errlen, "cannot set up libcurl: %s", cdni_strerror(rc));
	ua_session_cleanup(s);
	return rc;
}

int ua_session_cleanup(struct ua_session *s)
{
	int rc = 0;

	if (s->curl)
		curl_easy_cleanup(s->curl);
	curl_slist_free_all(s->resolve);
	curl_slist_free_all(s->req_headers);
	EVP_MD_CTX_free(s->md);
	free(s->chain_error);
	ua_dns_cleanup(s);
	if (s->out == stdout)
		rc = fflush(stdout) == 0 ? 0 : CDNI_EIO;
	else if (s->out)
		rc = fclose(s->out) == 0 ? 0 : CDNI_EIO;
	memset(s, 0, sizeof *s);
	return rc;
}
