/* cdni-ua — the redirect rules: which statuses are followed, how many, and
 * how a Location value becomes the next URL (RFC 9110 §10.2.2, RFC 3986 §5). */
#include "ua/ua.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http.h"

bool ua_is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 ||
	       status == 308;
}

int ua_redirect_allowed(int followed, int max_redirs)
{
	return followed < max_redirs ? 0 : CDNI_EOVERFLOW;
}

static int refuse(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return CDNI_EINVAL;
}

/* Length of a leading "scheme:" (RFC 3986 §3.1), 0 when there is none. */
static size_t scheme_len(const char *s)
{
	size_t i = 0;

	if (!isalpha((unsigned char)s[0]))
		return 0;
	while (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')
		i++;
	return s[i] == ':' ? i : 0;
}

static bool http_scheme(const char *s, size_t len)
{
	return (len == 4 && strncasecmp(s, "http", 4) == 0) ||
	       (len == 5 && strncasecmp(s, "https", 5) == 0);
}

/* Refuse what must never become a URL; percent-encode what may not stand in one. */
static int location_prepare(const char *loc, struct buf *b, char *why, size_t whylen)
{
	size_t len = strlen(loc), slen;

	if (len == 0)
		return refuse(why, whylen, "empty Location");
	if (len > UA_URL_MAX)
		return refuse(why, whylen, "Location longer than %d bytes", UA_URL_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)loc[i];
		if (c < 0x20 || c == 0x7f)
			return refuse(why, whylen, "Location holds control byte 0x%02X at %zu", c, i);
	}
	slen = scheme_len(loc);
	if (slen && !http_scheme(loc, slen))
		return refuse(why, whylen, "Location scheme \"%.*s\" is not http or https",
			      (int)(slen > 20 ? 20 : slen), loc);
	http_uri_escape(b, loc, len);
	return b->err ? CDNI_ENOMEM : 0;
}

static int resolve_with_curl(const char *base, const char *rel, char **out, char *why,
			     size_t whylen)
{
	CURLU *u = curl_url();
	char *url = NULL, *scheme = NULL, *host = NULL;
	CURLUcode uc;
	int rc = CDNI_ENOMEM;

	if (!u)
		goto fail;
	rc = CDNI_EINVAL;
	if ((uc = curl_url_set(u, CURLUPART_URL, base, 0)) != CURLUE_OK) {
		refuse(why, whylen, "URL does not parse: %s", curl_url_strerror(uc));
		goto fail;
	}
	if ((uc = curl_url_set(u, CURLUPART_URL, rel, 0)) != CURLUE_OK ||
	    (uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0)) != CURLUE_OK ||
	    (uc = curl_url_get(u, CURLUPART_HOST, &host, 0)) != CURLUE_OK ||
	    (uc = curl_url_get(u, CURLUPART_URL, &url, 0)) != CURLUE_OK) {
		refuse(why, whylen, "Location does not resolve: %s", curl_url_strerror(uc));
		goto fail;
	}
	if (!http_scheme(scheme, strlen(scheme)) || !*host) {
		refuse(why, whylen, "Location resolves to a URL that is not http(s)");
		goto fail;
	}
	rc = CDNI_ENOMEM;
	*out = strdup(url);
	if (*out)
		rc = 0;
fail:
	curl_free(url);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

int ua_location_resolve(const char *base, const char *location, char **out, char *why,
			size_t whylen)
{
	struct buf b;
	char *url = NULL;
	int rc;

	buf_init(&b, 0);
	rc = location_prepare(location, &b, why, whylen);
	if (rc == 0)
		rc = resolve_with_curl(base, b.data, &url, why, whylen);
	if (rc == 0 && strlen(url) > UA_URL_MAX) {
		rc = refuse(why, whylen, "resolved URL longer than %d bytes", UA_URL_MAX);
		free(url);
	}
	buf_free(&b);
	if (rc == 0)
		*out = url;
	else if (rc == CDNI_ENOMEM)
		snprintf(why, whylen, "out of memory");
	return rc;
}

bool ua_is_downgrade(const char *from, const char *to)
{
	return strncasecmp(from, "https:", 6) == 0 && strncasecmp(to, "http:", 5) == 0;
}

/* scheme, host and port (default port filled in) of url, or -1. */
static int origin_of(const char *url, char **scheme, char **host, char **port)
{
	CURLU *u = curl_url();
	int rc = -1;

	*scheme = *host = *port = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		rc = 0;
	curl_url_cleanup(u);
	return rc;
}

bool ua_same_origin(const char *a, const char *b)
{
	char *s[2] = { 0 }, *h[2] = { 0 }, *p[2] = { 0 };
	bool same;

	same = origin_of(a, &s[0], &h[0], &p[0]) == 0 && origin_of(b, &s[1], &h[1], &p[1]) == 0 &&
	       strcasecmp(s[0], s[1]) == 0 && strcasecmp(h[0], h[1]) == 0 &&
	       strcmp(p[0], p[1]) == 0;
	for (int i = 0; i < 2; i++) {
		curl_free(s[i]);
		curl_free(h[i]);
		curl_free(p[i]);
	}
	return same;
}

int ua_url_check(const char *url, char *why, size_t whylen)
{
	size_t slen = scheme_len(url);
	char *out = NULL;
	int rc;

	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return refuse(why, whylen, "URL holds a space or control byte");
	if (strlen(url) > UA_URL_MAX)
		return refuse(why, whylen, "URL longer than %d bytes", UA_URL_MAX);
	if (!slen || !http_scheme(url, slen))
		return refuse(why, whylen, "URL must start with http:// or https://");
	rc = resolve_with_curl(url, url, &out, why, whylen);
	free(out);
	return rc;
}
