/* cdni — the user agent of the draft's figures (cdni-ua).
 *
 * A run fetches one URL and follows redirects itself, one request per hop, so
 * that every hop is recorded: the URL, the address connected to, the TLS
 * session and its verification, the status, the Location, the response
 * headers, a digest of the body and the timings. Policy verdicts are named
 * checks ("tls-verified hop 1", "no-downgrade hop 3"); later additions
 * (DNSSEC, DANE, manifest playing) add hops and checks to the same trace.
 *
 *   struct ua_opts o;  ua_opts_init(&o);  o.url = "https://www.csp.test/v/a.bin";
 *   struct ua_trace *t;
 *   if (ua_run(&o, &t) == 0) { ua_trace_write(t, stdout); rc = ua_trace_exit(t); }
 *   ua_trace_free(t);
 *
 * The pieces without sockets (Location resolution, the redirect rules, the
 * trace model and its JSON) are separate functions that unit tests call. */
#ifndef CDNI_UA_H
#define CDNI_UA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define UA_MAX_REDIRS_DEFAULT 10
#define UA_TIMEOUT_MS_DEFAULT 10000L
#define UA_URL_MAX 8192 /* longest URL or Location accepted */
#define UA_MAX_HEADERS 1000 /* distinct response header names kept per hop */

/* ---- options ---------------------------------------------------------- */

struct ua_opts {
	const char *url;             /* start URL (http or https) */
	const char *method;          /* "GET" (default) or "HEAD" */
	const char *const *headers;  /* extra request headers "Name: value" */
	size_t nheaders;
	const char *range;           /* "a-b", "a-" or "-b"; NULL: none */
	const char *const *resolve;  /* "host:port:addr" like curl --resolve */
	size_t nresolve;
	const char *cacert;          /* trust anchors (PEM); NULL: system store */
	long timeout_ms;             /* deadline for each hop */
	int max_redirs;              /* redirects followed at most */
	bool allow_downgrade;        /* https -> http passes the no-downgrade check */
	const char *output;          /* write the final body here; NULL: discard */
	/* DNS (docs/cdni-ua.md "DNS, DNSSEC and DANE"): resolve each hop's host
	 * through this resolver ("IP@PORT"; NULL with the DNS path on: resolv.conf),
	 * validating from the trust anchors in anchor (DS/DNSKEY records) or, with
	 * trust_ad, by the resolver's AD bit; with dane, check https hops per
	 * RFC 7671 against secure TLSA records. */
	const char *resolver;
	const char *anchor;
	bool trust_ad;
	bool dane;
};

/* Is the DNS path on (any of resolver, anchor, trust_ad, dane)? */
bool ua_dns_enabled(const struct ua_opts *o);

void ua_opts_init(struct ua_opts *o);

/* Argument checks for the command line (0 or CDNI_EINVAL, with a reason in
 * why). */
int ua_method_check(const char *m, char *why, size_t whylen);
int ua_header_check(const char *h, char *why, size_t whylen);
int ua_range_check(const char *r, char *why, size_t whylen);
int ua_resolve_check(const char *r, char *why, size_t whylen);
/* "IP" or "IP@PORT" (IPv4 or IPv6, port 1..65535). */
int ua_resolver_check(const char *r, char *why, size_t whylen);
/* The start URL: absolute, http or https, with a host. */
int ua_url_check(const char *url, char *why, size_t whylen);
/* "10", "0.5": seconds, > 0 and at most a day, into milliseconds. */
int ua_timeout_parse(const char *s, long *ms);
/* Non-negative integer, at most 1000. */
int ua_max_redirs_parse(const char *s, int *n);

/* ---- redirect rules (no sockets) -------------------------------------- */

/* 301, 302, 303, 307 and 308: the statuses the UA follows. */
bool ua_is_redirect(long status);

/* May the UA follow one more redirect, having followed `followed` already?
 * 0 when yes; CDNI_EOVERFLOW when that would exceed max_redirs. */
int ua_redirect_allowed(int followed, int max_redirs);

/* Resolve a Location header value against the URL that answered (RFC 3986
 * §5). The value is refused (CDNI_EINVAL, reason in why) when empty, longer
 * than UA_URL_MAX, holding CR, LF or any other control byte, or naming a
 * scheme other than http and https. Bytes that may not stand in a URI
 * (space, quotes, non-ASCII, ...) are percent-encoded; existing %XX escapes,
 * %0D%0A included, stay escaped. On success *out is a new absolute URL. */
int ua_location_resolve(const char *base, const char *location, char **out, char *why,
			size_t whylen);

/* True when from is https and to is http. */
bool ua_is_downgrade(const char *from, const char *to);
/* True when a and b share scheme, host and port. */
bool ua_same_origin(const char *a, const char *b);

/* ---- the trace model -------------------------------------------------- */

struct ua_tls {
	char *version;       /* "TLSv1.3" */
	char *cipher;        /* "TLS_AES_256_GCM_SHA384" */
	char *subject;       /* peer certificate, RFC 2253 */
	char *issuer;
	char **sans;         /* "DNS:www.csp.test", "IP:127.0.0.1" */
	size_t nsans;
	bool verified;
	char *verify_error;  /* NULL when verified */
};

struct ua_timing { /* milliseconds; see docs/cdni-ua.md for each phase */
	double dns, connect, tls, first_byte, total;
};

struct ua_header {
	char *name; /* lowercase */
	char *value;
};

struct ua_hop {
	int n;               /* 1-based */
	char *method;
	char *url;
	char *host;          /* from url */
	char *address;       /* "ip:port" connected to, or NULL */
	long status;         /* 0: no response */
	char *location;      /* the resolved redirect target, or NULL */
	char *http_version;  /* "1.1", "2", or NULL */
	struct ua_tls *tls;  /* NULL for http, or https without a session */
	json_t *dns;         /* the DNS resolution of host (DNS path on), or NULL */
	struct ua_timing timing;
	struct ua_header *headers; /* the response's, last value of a name wins */
	size_t nheaders, capheaders;
	bool has_body;       /* false: no response, or HEAD */
	uint64_t body_size;
	char body_sha256[65];
};

struct ua_check {
	char *name;
	bool ok;
	char *detail;
};

struct ua_trace {
	char *url;
	bool ok;             /* set by ua_trace_finish */
	long final_status;   /* 0: none */
	char *error;         /* first error of the run, or NULL */
	struct ua_hop **hops;
	size_t nhops, caphops;
	struct ua_check *checks;
	size_t nchecks, capchecks;
};

struct ua_trace *ua_trace_new(const char *url);
void ua_trace_free(struct ua_trace *t);

/* Append hop n = nhops + 1 (host taken from url). NULL on ENOMEM. */
struct ua_hop *ua_trace_add_hop(struct ua_trace *t, const char *method, const char *url);
int ua_trace_check(struct ua_trace *t, const char *name, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Record the run's error; the first one wins. */
int ua_trace_fail(struct ua_trace *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Set final_status and ok: no error, the last hop answered 2xx, every
 * check passed. */
void ua_trace_finish(struct ua_trace *t);
/* 0 when ok, 1 otherwise (the program's exit status). */
int ua_trace_exit(const struct ua_trace *t);

/* Set a response header (name lowercased, value trimmed of OWS); replaces an
 * earlier value of the same name. CDNI_EOVERFLOW past UA_MAX_HEADERS names. */
int ua_hop_set_header(struct ua_hop *h, const char *name, size_t nlen, const char *value,
		      size_t vlen);
const char *ua_hop_header(const struct ua_hop *h, const char *name);
void ua_hop_clear_headers(struct ua_hop *h);

struct ua_tls *ua_tls_new(void);
void ua_tls_free(struct ua_tls *tls);

/* The trace as JSON (docs/cdni-ua.md), NULL on ENOMEM. */
json_t *ua_trace_json(const struct ua_trace *t);
/* Write it, indented, with a final newline. */
int ua_trace_write(const struct ua_trace *t, FILE *f);

/* ---- running ---------------------------------------------------------- */

/* Fetch o->url, following redirects. Returns 0 with a trace in *out (which
 * may record a failed run: see ok and error), or a negative CDNI_E* code
 * when no trace could be made (out of memory, libcurl unusable).
 * curl_global_init must have been called. */
int ua_run(const struct ua_opts *o, struct ua_trace **out);

#endif
