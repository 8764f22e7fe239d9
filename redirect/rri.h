/* cdni — RFC 7975 Request Routing Redirection interface (RI) codec,
 * socket-free: JSON bodies in, C structs out, and back.
 *
 * A uCDN POSTs a redirection request (media type RRI_MEDIA_REQUEST) to a
 * dCDN's RI URI; the dCDN answers a redirection response (RRI_MEDIA_RESPONSE).
 * Both carry either a "dns" or an "http" dictionary (never both), the
 * request a "cdn-path" (mandatory) and "max-hops"; the response optionally a
 * "scope", a "cdn-path" and an "error" dictionary.
 *
 * Decoding is strict where the RFC says MUST and tolerant where it says so:
 *  - I-JSON (RFC 7493): duplicate keys, invalid UTF-8, NUL in strings,
 *    integers outside +-(2^53-1) and fractions where an integer is due are
 *    refused;
 *  - unknown keys are ignored (§4.2), keys are matched lowercase only;
 *  - mandatory keys are enforced, every value is type- and syntax-checked
 *    (IP addresses, CIDR prefixes, qtype A/AAAA, absolute http(s) cs-uri,
 *    header names and values without CR/LF, CDN Provider IDs "AS<n>:<q>");
 *  - hostile bodies are bounded: RRI_MAX_BODY bytes, RRI_MAX_DEPTH levels of
 *    nesting (checked by a pre-scan before jansson sees the text),
 *    RRI_MAX_ARRAY elements per list, RRI_MAX_PATH cdn-path entries,
 *    RRI_MAX_HEADERS cs-(...)/sc-(...) keys, RRI_MAX_STR bytes per string.
 * A refusal returns a negative CDNI_E* code and writes a message naming the
 * key ("http.c-ip: missing", "cdn-path[2]: not a string") into err.
 *
 * Encoding writes canonical JSON: compact, keys sorted, lowercase, IP
 * addresses in RFC 5952 form; what it writes always decodes again.
 *
 *   struct rri_request rq = {0};
 *   char err[256];
 *   if (rri_request_decode(body, len, &rq, err, sizeof err) < 0)
 *       ... answer rri_error RRI_E_BAD_REQUEST (400) with reason err ...
 *   struct rri_response rs = {0};
 *   rs.kind = RRI_HTTP; rs.http.sc_status = 302; ...
 *   struct buf out; buf_init(&out, 0);
 *   rri_response_encode(&rs, &out);
 *   rri_request_clear(&rq); rri_response_clear(&rs); buf_free(&out);
 *
 * All strings in the structs are owned (malloc'd) by the struct and freed by
 * the *_clear functions; rri_strs_push / rri_headers_set copy their input.
 * The client side (one POST with a deadline) is in redirect/rri_client.h. */
#ifndef CDNI_RRI_H
#define CDNI_RRI_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

#define RRI_MEDIA_REQUEST "application/cdni; ptype=redirection-request"
#define RRI_MEDIA_RESPONSE "application/cdni; ptype=redirection-response"
#define RRI_PTYPE_REQUEST "redirection-request"
#define RRI_PTYPE_RESPONSE "redirection-response"

#define RRI_MAX_BODY 65536  /* bytes of a request or response body */
#define RRI_MAX_DEPTH 8     /* nesting of objects and arrays */
#define RRI_MAX_ARRAY 64    /* elements of a list (a, aaaa, cname, iprange) */
#define RRI_MAX_PATH 32     /* entries of cdn-path */
#define RRI_MAX_HEADERS 64  /* cs-(...) or sc-(...) keys */
#define RRI_MAX_STR 8192    /* bytes of one string value */
#define RRI_MAX_HOPS 1000   /* largest max-hops accepted */

/* §4.7 Table 8: RI error codes. */
enum rri_error_code {
	RRI_E_INFO = 100,          /* informational, with a successful answer */
	RRI_E_BAD_REQUEST = 400,   /* generic uCDN error */
	RRI_E_DCDN = 500,          /* generic dCDN error */
	RRI_E_NO_METADATA = 501,   /* unable to retrieve metadata */
	RRI_E_LOOP = 502,          /* loop detected */
	RRI_E_MAX_HOPS = 503,      /* maximum hops exceeded */
	RRI_E_CAPACITY = 504,      /* out of capacity */
	RRI_E_DELIVERY = 505,      /* delivery protocol not supported */
	RRI_E_REDIRECTION = 506,   /* redirection protocol not supported */
};

enum rri_kind { RRI_NONE = 0, RRI_DNS, RRI_HTTP };

struct rri_strs {
	char **v;
	size_t n;
};

/* A cs-(name) or sc-(name) key: name lowercase, without the prefix. */
struct rri_header {
	char *name;
	char *value;
};

struct rri_headers {
	struct rri_header *v;
	size_t n;
};

/* §4.4.1 Table 2 */
struct rri_dns_request {
	char *resolver_ip; /* mandatory */
	char *qtype;       /* mandatory: "A" or "AAAA" */
	char *qclass;      /* mandatory: "IN", ... (uppercase) */
	char *qname;       /* mandatory: A-labels, no trailing dot needed */
	char *c_subnet;    /* optional CIDR, NULL when absent */
	bool dns_only;     /* default false */
};

/* §4.5.1 Table 4 */
struct rri_http_request {
	char *c_ip;       /* mandatory */
	char *cs_uri;     /* mandatory: absolute http or https URI */
	char *cs_method;  /* mandatory */
	char *cs_version; /* mandatory: "HTTP/1.1" */
	struct rri_headers headers; /* cs-(<headername>) */
};

struct rri_request {
	enum rri_kind kind;
	struct rri_dns_request dns;
	struct rri_http_request http;
	struct rri_strs cdn_path; /* mandatory (may be empty) */
	long long max_hops;       /* -1: absent, no limit */
};

/* §4.7 Table 7 (+ "cdn", an extension: the Provider ID of the CDN that
 * produced the error, so a uCDN learns where in a cascade it arose). */
struct rri_error {
	int code;     /* 0: no error dictionary */
	char *reason; /* optional */
	char *cdn;    /* optional */
};

/* §4.4.2 Table 3 */
struct rri_dns_response {
	long long rcode;         /* mandatory */
	char *name;              /* mandatory */
	struct rri_strs a;       /* at least one of a, aaaa, cname; */
	struct rri_strs aaaa;    /* cname excludes a and aaaa */
	struct rri_strs cname;
	long long ttl;           /* default 0 */
};

/* §4.5.2 Table 5 */
struct rri_http_response {
	long long sc_status; /* mandatory (3xx usually 302) */
	char *sc_version;    /* mandatory */
	char *sc_reason;     /* mandatory */
	char *cs_uri;        /* mandatory */
	char *location;      /* sc-(location), mandatory */
	struct rri_headers headers; /* the other sc-(<headername>) keys */
};

struct rri_response {
	enum rri_kind kind; /* RRI_NONE: an error-only response */
	struct rri_dns_response dns;
	struct rri_http_response http;
	struct rri_strs scope;    /* scope.iprange, CIDR strings */
	bool has_scope;
	struct rri_strs cdn_path;
	bool has_cdn_path;
	struct rri_error error;
};

/* Decode a request body. Returns 0, or CDNI_EOVERFLOW (a limit), CDNI_EPARSE
 * (not I-JSON / not an object) or CDNI_EINVAL (a key missing or wrong); err
 * names the key. rq is cleared first and left empty on failure. */
int rri_request_decode(const char *body, size_t len, struct rri_request *rq, char *err,
		       size_t errlen);
/* Decode a response body; a response needs dns, http or error. */
int rri_response_decode(const char *body, size_t len, struct rri_response *rs, char *err,
			size_t errlen);
/* Encode; the struct is checked as the decoder would check it (CDNI_EINVAL
 * with err naming the key for an invalid one). out is appended to. */
int rri_request_encode(const struct rri_request *rq, struct buf *out, char *err, size_t errlen);
int rri_response_encode(const struct rri_response *rs, struct buf *out, char *err,
			size_t errlen);
/* The same without the check (about a third of the cost of an answer), for
 * a response made only of checked parts: decoded ones, or values a config
 * check accepted. CDNI_EINVAL only when a string is not UTF-8. */
int rri_response_encode_trusted(const struct rri_response *rs, struct buf *out);

void rri_request_clear(struct rri_request *rq);
void rri_response_clear(struct rri_response *rs);

int rri_strs_push(struct rri_strs *s, const char *v);
void rri_strs_clear(struct rri_strs *s);
bool rri_strs_has(const struct rri_strs *s, const char *v);
/* Some Provider ID appears twice (a loop upstream of us). */
bool rri_path_has_duplicate(const struct rri_strs *p);
/* Copy all of src after what dst holds. */
int rri_strs_append(struct rri_strs *dst, const struct rri_strs *src);
/* Set (replace) header name (lowercased) to value. */
int rri_headers_set(struct rri_headers *h, const char *name, const char *value);
const char *rri_headers_get(const struct rri_headers *h, const char *name);
void rri_headers_clear(struct rri_headers *h);

/* Set rs->error (replacing one); reason NULL: the registered reason. */
int rri_response_set_error(struct rri_response *rs, int code, const char *reason,
			   const char *cdn);

/* The registered reason of a §4.7 code ("Loop detected"), or a class name. */
const char *rri_error_reason(int code);
/* The HTTP status the dCDN answers an RI error with: 200 for 1xx (an
 * informational error beside an answer), 400 for 4xx, 500 for 5xx (as the
 * RFC's example of a 504 does), 500 otherwise. */
int rri_error_http_status(int code);

/* Content-Type value has type application/cdni and ptype (case-insensitive
 * type and parameter name, optional quotes and spaces). */
bool rri_media_type_is(const char *content_type, const char *ptype);

/* JSON text nested at most max_depth levels of objects and arrays (counted
 * outside strings, without parsing): a guard to run before a parser. */
bool rri_json_depth_ok(const char *s, size_t len, int max_depth);

/* A domain name in A-labels as qname, name and cname take it. */
bool rri_domain_valid(const char *name);

/* A CDN Provider ID, §4.8: "AS" digits ":" qualifier (1..64 printable
 * characters, no spaces or quotes). */
bool rri_provider_id_valid(const char *id);
/* IPv4 or IPv6 address text; canon (may be NULL, >= 46 bytes) gets the
 * RFC 5952 form. Returns 4, 6 or 0 (not an address). */
int rri_ip_parse(const char *s, char *canon);
/* "addr/len" CIDR (or a bare address); host bits need not be zero. Returns
 * 4, 6 or 0. */
int rri_cidr_parse(const char *s, unsigned char addr[16], int *bits);

#endif
