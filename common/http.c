#include "common/http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A decoded segment of "." or ".." (or empty after a leading slash) */
static bool bad_segment(const char *seg, size_t len)
{
	return (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.');
}

int http_path_decode(const char *raw, char *out, size_t outlen)
{
	size_t o = 0, seg = 0;

	if (!raw || raw[0] != '/')
		return CDNI_EINVAL;
	for (const char *p = raw; *p; p++) {
		int c = (unsigned char)*p;
		if (c == '%') {
			int hi = hexval((unsigned char)p[1]);
			int lo = hi < 0 ? -1 : hexval((unsigned char)p[2]);
			if (hi < 0 || lo < 0)
				return CDNI_EINVAL;
			c = hi * 16 + lo;
			p += 2;
			if (c == '/') /* an encoded slash hides a segment boundary */
				return CDNI_EINVAL;
		}
		if (c == 0 || c == '\r' || c == '\n' || c == '\\')
			return CDNI_EINVAL;
		if (o + 1 >= outlen)
			return CDNI_EOVERFLOW;
		if (c == '/') {
			if (bad_segment(out + seg, o - seg))
				return CDNI_EINVAL;
			seg = o + 1;
		}
		out[o++] = (char)c;
	}
	if (bad_segment(out + seg, o - seg))
		return CDNI_EINVAL;
	out[o] = '\0';
	return 0;
}

static bool parse_u64(const char **pp, uint64_t *v)
{
	const char *p = *pp;
	uint64_t x = 0;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		if (x > (UINT64_MAX - 9) / 10)
			return false;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	*v = x;
	*pp = p;
	return true;
}

int http_range_parse(const char *hdr, uint64_t size, uint64_t *first, uint64_t *last)
{
	const char *p = hdr;
	uint64_t a = 0, b = 0;
	bool has_a, has_b;

	if (!p || strncasecmp(p, "bytes=", 6) != 0)
		return CDNI_ENOTFOUND;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	has_a = parse_u64(&p, &a);
	if (*p++ != '-')
		return CDNI_ENOTFOUND;
	has_b = parse_u64(&p, &b);
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0' || (!has_a && !has_b) || (has_a && has_b && b < a))
		return CDNI_ENOTFOUND; /* several ranges, junk, or invalid: ignore */
	if (!has_a) { /* suffix: the last b bytes */
		if (b == 0 || size == 0)
			return CDNI_EOVERFLOW;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 0;
	}
	if (a >= size)
		return CDNI_EOVERFLOW;
	*first = a;
	*last = (!has_b || b >= size) ? size - 1 : b;
	return 0;
}

/* Compare one entity-tag (possibly W/) with etag, weakly. */
static bool tag_equal(const char *t, size_t tlen, const char *etag)
{
	if (tlen >= 2 && strncmp(t, "W/", 2) == 0) {
		t += 2;
		tlen -= 2;
	}
	if (strncmp(etag, "W/", 2) == 0)
		etag += 2;
	return strlen(etag) == tlen && memcmp(t, etag, tlen) == 0;
}

bool http_etag_match(const char *inm, const char *etag)
{
	const char *p = inm;

	if (!p || !etag)
		return false;
	while (*p) {
		const char *s, *e;
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		s = p;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p != '"')
			return false;
		e = strchr(p + 1, '"');
		if (!e)
			return false;
		if (tag_equal(s, (size_t)(e + 1 - s), etag))
			return true;
		p = e + 1;
	}
	return false;
}

static const char *const wkday[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const month[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

void http_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", wkday[tm.tm_wday], tm.tm_mday,
		 month[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

time_t http_date_parse(const char *s)
{
	char wd[4], mon[4];
	int d, y, h, mi, sec, n = 0;
	struct tm tm;

	/* IMF-fixdate only: "Sun, 06 Nov 1994 08:49:37 GMT" */
	if (!s || sscanf(s, "%3[A-Za-z], %d %3s %d %d:%d:%d GMT%n", wd, &d, mon, &y, &h, &mi, &sec,
			 &n) != 7 || n == 0 || s[n] != '\0')
		return (time_t)-1;
	memset(&tm, 0, sizeof tm);
	tm.tm_mon = -1;
	for (int i = 0; i < 12; i++)
		if (strcmp(mon, month[i]) == 0)
			tm.tm_mon = i;
	if (tm.tm_mon < 0 || d < 1 || d > 31 || y < 1970 || h > 23 || mi > 59 || sec > 60 ||
	    h < 0 || mi < 0 || sec < 0)
		return (time_t)-1;
	tm.tm_mday = d;
	tm.tm_year = y - 1900;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return timegm(&tm);
}

static long long directive_value(const char *p, size_t len)
{
	long long v = 0;
	size_t i = 0;

	if (i < len && p[i] == '"')
		i++;
	if (i >= len || !isdigit((unsigned char)p[i]))
		return -1;
	for (; i < len && isdigit((unsigned char)p[i]); i++)
		v = v > 100000000000LL ? v : v * 10 + (p[i] - '0');
	return v;
}

static bool directive_is(const char *p, size_t len, const char *name)
{
	size_t n = strlen(name);
	return len == n && strncasecmp(p, name, n) == 0;
}

void http_cache_control_parse(const char *hdr, struct http_cache_control *cc)
{
	const char *p = hdr;

	memset(cc, 0, sizeof *cc);
	cc->max_age = cc->s_maxage = -1;
	while (p && *p) {
		size_t tok, len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		while (*p == ' ' || *p == '\t')
			p++, len = len ? len - 1 : 0;
		tok = eq ? (size_t)(eq - p) : len;
		while (tok && (p[tok - 1] == ' ' || p[tok - 1] == '\t'))
			tok--;
		if (directive_is(p, tok, "no-store"))
			cc->no_store = true;
		else if (directive_is(p, tok, "no-cache"))
			cc->no_cache = true;
		else if (directive_is(p, tok, "private"))
			cc->private_ = true;
		else if (directive_is(p, tok, "must-revalidate"))
			cc->must_revalidate = true;
		else if (eq && directive_is(p, tok, "max-age"))
			cc->max_age = directive_value(eq + 1, len - (size_t)(eq + 1 - p));
		else if (eq && directive_is(p, tok, "s-maxage"))
			cc->s_maxage = directive_value(eq + 1, len - (size_t)(eq + 1 - p));
		p += len;
		if (*p == ',')
			p++;
	}
}

static const struct { const char *ext, *type; } types[] = {
	{ "m3u8", "application/vnd.apple.mpegurl" },
	{ "mpd", "application/dash+xml" },
	{ "ts", "video/mp2t" },
	{ "m4s", "video/iso.segment" },
	{ "mp4", "video/mp4" },
	{ "m4v", "video/mp4" },
	{ "m4a", "audio/mp4" },
	{ "aac", "audio/aac" },
	{ "vtt", "text/vtt" },
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "json", "application/json" },
	{ "js", "text/javascript" },
	{ "css", "text/css" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "xml", "application/xml" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "key", "application/octet-stream" },
};

const char *http_content_type(const char *path)
{
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');

	if (dot && (!slash || dot > slash))
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (strcasecmp(dot + 1, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

static bool uri_char(int c)
{
	return isalnum(c) || strchr("-._~:/?#[]@!$&'()*+,;=", c) != NULL;
}

void http_uri_escape(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (c == '%' && i + 2 < len && hexval((unsigned char)s[i + 1]) >= 0 &&
		    hexval((unsigned char)s[i + 2]) >= 0) {
			buf_append(b, s + i, 3);
			i += 2;
		} else if (c != 0 && c != '%' && uri_char(c)) {
			buf_putc(b, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			buf_append(b, e, 3);
		}
	}
}

bool http_header_value_safe(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 412: return "Precondition Failed";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}
