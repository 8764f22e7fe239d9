/* cdni — access log: one JSON object per line per request, so that people
 * (jq) and the scenario runner (sequence diagrams) read the same record.
 *   {"ts":"2026-11-22T07:30:00.123Z","prog":"cdni-dcdn","peer":"127.0.0.1:5555",
 *    "method":"GET","host":"edge.dcdn.test","uri":"/v/a.ts","status":200,
 *    "bytes":1024,"dur_us":412,"cache":"MISS","uri_signing":"200",...}
 * Fields whose value is NULL (strings) or negative (numbers) are left out.
 *
 * A signed URI in a log is a key to the content until the token expires, so
 * uri, location, upstream and note are logged with the signature of every
 * URI Signing Package (RFC 9246) cut off: a parameter value that is a JWS
 * in compact form keeps its header and claims, for people and
 * `cdni-urisign inspect`, and its signature becomes "REDACTED" (redact.h;
 * the daemons' stderr lines get the same). */
#ifndef CDNI_ACCESSLOG_H
#define CDNI_ACCESSLOG_H

#include <stdio.h>

struct access_entry {
	const char *peer;     /* "ip:port" */
	const char *method;
	const char *host;     /* Host header */
	const char *uri;      /* request target as received (path?query) */
	int status;
	long long bytes;      /* body bytes sent */
	long long dur_us;     /* request start to completion */
	const char *cache;    /* "HIT" / "MISS" / ... */
	const char *location; /* Location sent */
	const char *upstream; /* URL fetched upstream, if any */
	const char *tls;      /* TLS version of the client connection */
	const char *note;     /* anything else worth a field (reason for a refusal) */
	/* RFC 9246 §4.5 / RFC 7937: s-uri-signing, the 3-digit URI Signing log
	 * code ("200", "404", "000"), and s-uri-signing-deny-reason; written as
	 * "uri_signing" and "uri_signing_reason". NULL: no URI signing applied. */
	const char *urisigning;
	const char *urisigning_reason;
};

struct access_log {
	FILE *f;
	int owned;
};

/* path NULL or "-": stdout; "off": no access log. Returns 0 or CDNI_EIO. */
int access_log_open(struct access_log *al, const char *path);
void access_log_close(struct access_log *al);
void access_log_write(struct access_log *al, const struct access_entry *e);

#endif
