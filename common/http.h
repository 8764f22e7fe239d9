/* cdni — socket-free HTTP helpers shared by the servers (RFC 9110).
 * Path decoding with traversal refusal, Range parsing, validators, dates,
 * Cache-Control, content types, and escaping of bytes placed in headers. */
#ifndef CDNI_HTTP_H
#define CDNI_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"

/* Percent-decode a request path (no query) into out. Refuses (CDNI_EINVAL)
 * bytes that have no business in a file path: NUL, CR, LF, backslash, a
 * malformed %XX, and any "." or ".." segment, whether written plainly or
 * encoded (%2e%2e, %2f). Refuses with CDNI_EOVERFLOW when out is too small. */
int http_path_decode(const char *raw, char *out, size_t outlen);

/* Parse a Range header for a representation of size bytes.
 *   0             single satisfiable range: *first..*last (inclusive)
 *   CDNI_ENOTFOUND  header absent, not a bytes range, several ranges or
 *                   malformed: ignore it and answer 200 (RFC 9110 §14.2)
 *   CDNI_EOVERFLOW  unsatisfiable: answer 416 with Content-Range: bytes STAR/size */
int http_range_parse(const char *hdr, uint64_t size, uint64_t *first, uint64_t *last);

/* If-None-Match: true when one of the listed entity-tags matches etag by weak
 * comparison, or the list is "*". */
bool http_etag_match(const char *if_none_match, const char *etag);

/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); buf needs 30 bytes. */
void http_date(time_t t, char *buf, size_t len);
/* Parse an IMF-fixdate; returns (time_t)-1 when malformed. */
time_t http_date_parse(const char *s);

struct http_cache_control {
	bool no_store, no_cache, private_, must_revalidate;
	long long max_age;  /* -1: absent */
	long long s_maxage; /* -1: absent */
};
void http_cache_control_parse(const char *hdr, struct http_cache_control *cc);

/* Content type by file extension (m3u8, mpd, ts, m4s, mp4, html, json, ...). */
const char *http_content_type(const char *path);

/* Append s to b with every byte outside the URI characters of RFC 3986
 * (unreserved, reserved, and an existing valid %XX) percent-encoded. CR, LF,
 * controls, space, quotes, backslash and non-ASCII never pass through. */
void http_uri_escape(struct buf *b, const char *s, size_t len);

/* True when s has no byte that may not appear in a header value (CTL other
 * than HTAB, DEL). */
bool http_header_value_safe(const char *s);

/* Reason phrase for a status code. */
const char *http_reason(int status);

#endif
