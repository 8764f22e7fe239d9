/* cdni-ua — one hop on the wire: a single libcurl request (redirects not
 * followed) whose response, TLS session, address and timings are written
 * into a struct ua_hop. Internal to the ua library.
 *
 * TLS is OpenSSL under libcurl. The session installs its own hooks on each
 * connection's SSL_CTX (CURLOPT_SSL_CTX_FUNCTION): a verify callback that
 * records the peer certificate and the first chain error without changing
 * libcurl's verdict, and an info callback that records the negotiated
 * session. A DANE check belongs in the same place (fetch.c, ssl_ctx_setup). */
#ifndef CDNI_UA_FETCH_H
#define CDNI_UA_FETCH_H

#include <stdbool.h>
#include <stdio.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "dane/dane.h"
#include "ua/ua.h"

struct ua_session {
	CURL *curl;
	const struct ua_opts *o;
	struct curl_slist *resolve;
	char errbuf[CURL_ERROR_SIZE];
	/* per hop */
	struct ua_hop *hop;
	struct curl_slist *req_headers;
	EVP_MD_CTX *md;
	bool body_decided, body_to_output;
	char *chain_error;   /* first certificate-chain error the verify callback saw */
	int cb_err;          /* failure inside a callback (CDNI_ENOMEM, CDNI_EIO) */
	char cb_why[256];
	/* the final body (-o) */
	FILE *out;
	/* DNS path (ua/dns.c) */
	struct dane_vr *vr;
	struct curl_slist *hop_resolve;    /* --resolve plus this hop's DNS answer */
	struct dane_tlsa_set *dane;        /* usable TLSA records for this hop, or NULL */
	char *dane_base, *dane_alt;        /* the original and the CNAME-expanded name */
	char dane_matched[320];            /* the record that authenticated the peer */
	char dane_err[256];
};

/* DNS for hop h before it is fetched (ua/dns.c): resolve and validate its
 * host, record h->dns, pin the addresses for libcurl, find TLSA records
 * (--dane). Returns 0 to fetch, 1 when the hop must not be fetched (the
 * reason is in err: bogus data, no address), or CDNI_ENOMEM. */
int ua_dns_prepare(struct ua_session *s, struct ua_trace *t, struct ua_hop *h, char *err,
		   size_t errlen);
/* After the fetch: the "dane hop N" check. */
int ua_dns_conclude(struct ua_session *s, struct ua_trace *t, struct ua_hop *h);
void ua_dns_cleanup(struct ua_session *s);

int ua_session_init(struct ua_session *s, const struct ua_opts *o, char *err, size_t errlen);
/* Closes the output file; CDNI_EIO when writing it failed. */
int ua_session_cleanup(struct ua_session *s);

/* Fetch hop->url with hop->method. start_url decides which extra headers
 * are credentials that stay on the first origin. Returns 0 when a whole
 * response arrived (any status), or a negative code with the reason in err. */
int ua_fetch_hop(struct ua_session *s, struct ua_hop *hop, const char *start_url, char *err,
		 size_t errlen);

/* Open the output file for the final response, even when its body is empty. */
int ua_session_output_open(struct ua_session *s);

#endif
