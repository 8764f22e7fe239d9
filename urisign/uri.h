/* cdni — where an RFC 9246 token travels, and the URI form it is checked
 * against (socket-free).
 *
 * Carriage (RFC 9246 §2): the URI Signing Package attribute (default
 * "URISigningPackage") as a form-style query parameter ("?a=1&NAME=TOKEN",
 * after "?", "&" or ";" in the query), as a path-style parameter
 * ("/dir/file;NAME=TOKEN", after ";" in the path), or as a cookie (RFC 6265
 * Cookie header, for Signed Token Renewal, §3.3). The token's value runs to
 * the next reserved character (RFC 3986 §2.2) or the end.
 *
 * Token removal (§2.1.15): when the token is followed by a sub-delimiter,
 * the attribute name through that sub-delimiter is removed; otherwise the
 * reserved character before the attribute through the token's last
 * character is removed:
 *   /a?URISigningPackage=T&b=1 -> /a?b=1      /a?b=1&URISigningPackage=T -> /a?b=1
 *   /a;URISigningPackage=T/b   -> /a/b        /a;URISigningPackage=T?q   -> /a?q
 *
 * Normalization (§2.1.15: RFC 7230 §2.7.3, RFC 3986 §6.2.2, §6.2.3): scheme
 * and host in lower case; percent-encodings in upper-case hex, those of
 * unreserved characters decoded; printable characters that may not appear
 * in a URI and bytes above 0x7e percent-encoded; dot segments removed; the
 * default port (80 for http, 443 for https) and an empty port removed; an
 * empty path becomes "/"; the fragment (never sent in a request) dropped.
 * Control characters and spaces make the URI malformed. */
#ifndef CDNI_URISIGN_URI_H
#define CDNI_URISIGN_URI_H

#include <stddef.h>

#define US_DEFAULT_ATTR "URISigningPackage"

enum us_where { US_IN_NONE = 0, US_IN_QUERY, US_IN_PATH, US_IN_COOKIE };

const char *us_where_name(enum us_where w); /* "none", "query", "path", "cookie" */

struct us_pkg {
	enum us_where where; /* US_IN_QUERY or US_IN_PATH */
	size_t tok, tok_len; /* the token: offset and length in the URI */
	size_t cut, cut_len; /* the bytes §2.1.15 removes */
};

/* Find the package in uri (absolute, or a request target starting with
 * "/"). 0 with *out; CDNI_ENOTFOUND when absent; CDNI_EEXIST when the
 * attribute occurs more than once (RFC 9246 §2 leaves that undefined: it is
 * refused). */
int us_uri_find(const char *uri, const char *attr, struct us_pkg *out);
/* uri without the package found at pkg (a copy when pkg is NULL). */
int us_uri_remove(const char *uri, const struct us_pkg *pkg, char **out);
/* uri without the package (a copy when there is none). CDNI_EEXIST as above. */
int us_uri_strip(const char *uri, const char *attr, char **out);
/* Normalize an absolute URI. CDNI_EPARSE when malformed. */
int us_uri_normalize(const char *uri, char **out);
/* uri with token added as a query parameter (US_IN_QUERY: "&" or "?"
 * before it) or path parameter (US_IN_PATH: ";NAME=TOKEN" at the end of the
 * path), before any fragment. */
int us_uri_add_token(const char *uri, const char *attr, const char *token,
		     enum us_where style, char **out);
/* uri with the token found at pkg replaced by token. */
int us_uri_replace_token(const char *uri, const struct us_pkg *pkg, const char *token,
			 char **out);
/* The first depth segments of uri's path ("/seg1/seg2"; "/" for depth 0),
 * for a cookie Path (§2.1.14). CDNI_ENOTFOUND when the path has fewer
 * segments. */
int us_uri_path_prefix(const char *uri, long long depth, char **out);

/* Look up cookie name in a Cookie header ("a=1; b=2"; several headers
 * joined with "; "). Quoted values lose their quotes. 0 with val and len
 * pointing into header; CDNI_ENOTFOUND; CDNI_EEXIST when the name occurs
 * again with a different value. */
int us_cookie_find(const char *header, const char *name, const char **val, size_t *len);

#endif
