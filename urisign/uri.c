/* Token carriage, token removal and URI normalization (RFC 9246 §2,
 * §2.1.15; RFC 3986 §5.2.4, §6.2; RFC 6265 §5.4). */
#include "urisign/uri.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/err.h"

#define URI_MAX (64 * 1024)

const char *us_where_name(enum us_where w)
{
	static const char *const n[] = { "none", "query", "path", "cookie" };
	return w <= US_IN_COOKIE ? n[w] : "none";
}

/* RFC 3986 §2.2 character classes: 1 gen-delims, 2 sub-delims. */
static const unsigned char delim[256] = {
	[':'] = 1, ['/'] = 1, ['?'] = 1, ['#'] = 1, ['['] = 1, [']'] = 1, ['@'] = 1,
	['!'] = 2, ['$'] = 2, ['&'] = 2, ['\''] = 2, ['('] = 2, [')'] = 2, ['*'] = 2,
	['+'] = 2, [','] = 2, [';'] = 2, ['='] = 2,
};

static bool is_reserved(char c)
{
	return delim[(unsigned char)c] != 0;
}

static bool is_sub_delim(char c)
{
	return delim[(unsigned char)c] == 2;
}

static bool is_unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Offset where the path starts: after "scheme://authority", or 0. */
static size_t path_start(const char *uri)
{
	const char *p = strstr(uri, "://");
	const char *q = strpbrk(uri, "/?#");

	if (!p || (q && q < p))
		return 0;
	p += 3;
	return (size_t)(p - uri) + strcspn(p, "/?#");
}

/* ---- finding the package ---- */

static void fill_pkg(const char *uri, size_t name_at, size_t attr_len, enum us_where w,
		     struct us_pkg *pk)
{
	size_t v = name_at + attr_len + 1, e = v;

	while (uri[e] && !is_reserved(uri[e]))
		e++;
	pk->where = w;
	pk->tok = v;
	pk->tok_len = e - v;
	if (is_sub_delim(uri[e])) {
		pk->cut = name_at;
		pk->cut_len = e + 1 - name_at;
	} else {
		pk->cut = name_at - 1;
		pk->cut_len = e - (name_at - 1);
	}
}

static bool attr_at(const char *uri, size_t i, const char *attr, size_t alen)
{
	return strncmp(uri + i, attr, alen) == 0 && uri[i + alen] == '=';
}

int us_uri_find(const char *uri, const char *attr, struct us_pkg *out)
{
	size_t alen = strlen(attr), ps = path_start(uri), qs, fs, found = 0;
	struct us_pkg pk = { 0 };

	if (!alen)
		return CDNI_EINVAL;
	qs = ps + strcspn(uri + ps, "?#");
	fs = qs + strcspn(uri + qs, "#");
	for (size_t i = ps; i < qs; i++)
		if (uri[i] == ';' && attr_at(uri, i + 1, attr, alen) && found++ == 0)
			fill_pkg(uri, i + 1, alen, US_IN_PATH, &pk);
	for (size_t i = qs; i < fs; i++)
		if ((uri[i] == '?' || uri[i] == '&' || uri[i] == ';') &&
		    attr_at(uri, i + 1, attr, alen) && found++ == 0)
			fill_pkg(uri, i + 1, alen, US_IN_QUERY, &pk);
	if (found == 0)
		return CDNI_ENOTFOUND;
	if (found > 1)
		return CDNI_EEXIST;
	*out = pk;
	return 0;
}

static char *splice(const char *uri, size_t at, size_t cut, const char *ins)
{
	size_t n = strlen(uri), il = ins ? strlen(ins) : 0;
	char *s = malloc(n - cut + il + 1);

	if (!s)
		return NULL;
	memcpy(s, uri, at);
	if (il)
		memcpy(s + at, ins, il);
	memcpy(s + at + il, uri + at + cut, n - at - cut + 1);
	return s;
}

int us_uri_remove(const char *uri, const struct us_pkg *pkg, char **out)
{
	char *s = pkg ? splice(uri, pkg->cut, pkg->cut_len, NULL) : strdup(uri);

	if (!s)
		return CDNI_ENOMEM;
	*out = s;
	return 0;
}

int us_uri_strip(const char *uri, const char *attr, char **out)
{
	struct us_pkg pk;
	int rc = us_uri_find(uri, attr, &pk);

	if (rc && rc != CDNI_ENOTFOUND)
		return rc;
	return us_uri_remove(uri, rc ? NULL : &pk, out);
}

int us_uri_replace_token(const char *uri, const struct us_pkg *pkg, const char *token, char **out)
{
	char *s = splice(uri, pkg->tok, pkg->tok_len, token);

	if (!s)
		return CDNI_ENOMEM;
	*out = s;
	return 0;
}

int us_uri_add_token(const char *uri, const char *attr, const char *token, enum us_where style,
		     char **out)
{
	size_t ps = path_start(uri), qs = ps + strcspn(uri + ps, "?#");
	size_t fs = qs + strcspn(uri + qs, "#"), at;
	struct buf b;

	buf_init(&b, 0);
	if (style == US_IN_PATH) {
		at = qs;
		buf_putc(&b, ';');
	} else {
		at = fs;
		bool has_q = uri[qs] == '?';
		buf_puts(&b, !has_q ? "?" : fs == qs + 1 ? "" : "&");
	}
	buf_puts(&b, attr);
	buf_putc(&b, '=');
	buf_puts(&b, token);
	if (b.err)
		return buf_free(&b), CDNI_ENOMEM;
	*out = splice(uri, at, 0, b.data);
	buf_free(&b);
	return *out ? 0 : CDNI_ENOMEM;
}

/* ---- normalization ---- */

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Characters a URI may hold as they are (RFC 3986 §2). */
static bool uri_char(unsigned char c)
{
	return is_unreserved(c) || is_reserved((char)c);
}

/* Percent-encoding normalization of s[0..n) appended to b. */
static int pct_norm(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return CDNI_EPARSE;
			if ((h = hexval((unsigned char)s[i + 1])) < 0 ||
			    (l = hexval((unsigned char)s[i + 2])) < 0)
				return CDNI_EPARSE;
			c = (unsigned char)(h << 4 | l);
			if (is_unreserved(c))
				buf_putc(b, (char)c);
			else
				buf_printf(b, "%%%02X", c);
			i += 2;
		} else if (c <= 0x20 || c == 0x7f) {
			return CDNI_EPARSE;
		} else if (uri_char(c)) {
			buf_putc(b, (char)c);
		} else {
			buf_printf(b, "%%%02X", c);
		}
	}
	return 0;
}

/* Lower-case letters from offset from, leaving %XX triplets alone. */
static void lower_from(struct buf *b, size_t from)
{
	for (size_t i = from; i < b->len; i++) {
		if (b->data[i] == '%')
			i += 2;
		else
			b->data[i] = (char)tolower((unsigned char)b->data[i]);
	}
}

static void pop_segment(char *out, size_t *olen)
{
	while (*olen > 0 && out[*olen - 1] != '/')
		(*olen)--;
	if (*olen > 0)
		(*olen)--;
}

/* RFC 3986 §5.2.4 on in[0..n) (modified in place), into out (n + 1 bytes). */
static size_t remove_dots(char *in, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		const char *p = in + i;
		size_t r = n - i;
		if (r >= 3 && memcmp(p, "../", 3) == 0)
			i += 3;
		else if (r >= 2 && memcmp(p, "./", 2) == 0)
			i += 2;
		else if (r >= 3 && memcmp(p, "/./", 3) == 0)
			i += 2;
		else if (r == 2 && memcmp(p, "/.", 2) == 0)
			in[++i] = '/';
		else if (r >= 4 && memcmp(p, "/../", 4) == 0)
			i += 3, pop_segment(out, &o);
		else if (r == 3 && memcmp(p, "/..", 3) == 0)
			i += 2, in[i] = '/', pop_segment(out, &o);
		else if ((r == 1 && p[0] == '.') || (r == 2 && memcmp(p, "..", 2) == 0))
			i = n;
		else {
			size_t j = i + (p[0] == '/');
			while (j < n && in[j] != '/')
				j++;
			memcpy(out + o, in + i, j - i);
			o += j - i;
			i = j;
		}
	}
	return o;
}

struct parts {
	const char *scheme, *auth, *path, *query;
	size_t scheme_n, auth_n, path_n, query_n;
	bool has_query;
};

static int split_uri(const char *u, struct parts *p)
{
	size_t i = 0;

	memset(p, 0, sizeof *p);
	if (!isalpha((unsigned char)u[0]))
		return CDNI_EPARSE;
	while (isalnum((unsigned char)u[i]) || u[i] == '+' || u[i] == '-' || u[i] == '.')
		i++;
	if (u[i] != ':' || u[i + 1] != '/' || u[i + 2] != '/')
		return CDNI_EPARSE;
	p->scheme = u;
	p->scheme_n = i;
	p->auth = u + i + 3;
	p->auth_n = strcspn(p->auth, "/?#");
	p->path = p->auth + p->auth_n;
	p->path_n = strcspn(p->path, "?#");
	if (p->path[p->path_n] == '?') {
		p->has_query = true;
		p->query = p->path + p->path_n + 1;
		p->query_n = strcspn(p->query, "#");
	}
	return 0;
}

/* Port digits to a number; -1 when empty, -2 when malformed. */
static long port_value(const char *s, size_t n)
{
	long v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]) || (v = v * 10 + (s[i] - '0')) > 65535)
			return -2;
	}
	return v;
}

static int norm_authority(struct buf *b, const struct parts *p)
{
	const char *a = p->auth, *at = NULL, *host, *colon = NULL;
	size_t n = p->auth_n, hn;
	long port;

	for (size_t i = 0; i < n; i++)
		if (a[i] == '@')
			at = a + i;
	if (at && pct_norm(b, a, (size_t)(at - a) + 1))
		return CDNI_EPARSE;
	host = at ? at + 1 : a;
	hn = n - (size_t)(host - a);
	if (hn && host[0] == '[') {
		const char *rb = memchr(host, ']', hn);
		if (!rb)
			return CDNI_EPARSE;
		colon = rb + 1 < host + hn ? rb + 1 : NULL;
		if (colon && *colon != ':')
			return CDNI_EPARSE;
	} else {
		colon = memchr(host, ':', hn);
	}
	size_t start = b->len, hlen = colon ? (size_t)(colon - host) : hn;
	if (hlen == 0 || pct_norm(b, host, hlen))
		return CDNI_EPARSE;
	lower_from(b, start);
	port = colon ? port_value(colon + 1, hn - hlen - 1) : -1;
	if (port == -2)
		return CDNI_EPARSE;
	bool http = p->scheme_n == 4 && strncasecmp(p->scheme, "http", 4) == 0;
	bool https = p->scheme_n == 5 && strncasecmp(p->scheme, "https", 5) == 0;
	bool dflt = (http && port == 80) || (https && port == 443);
	if (port >= 0 && !dflt)
		buf_printf(b, ":%ld", port);
	return 0;
}

static int norm_path(struct buf *b, const struct parts *p)
{
	struct buf t;
	char *out;
	int rc;

	buf_init(&t, 0);
	rc = pct_norm(&t, p->path, p->path_n);
	if (rc || t.err) {
		buf_free(&t);
		return rc ? rc : t.err;
	}
	if (t.len == 0) {
		buf_free(&t);
		buf_putc(b, '/');
		return 0;
	}
	if (!(out = malloc(t.len + 1))) {
		buf_free(&t);
		return CDNI_ENOMEM;
	}
	buf_append(b, out, remove_dots(t.data, t.len, out));
	free(out);
	buf_free(&t);
	return 0;
}

int us_uri_normalize(const char *uri, char **out)
{
	struct parts p;
	struct buf b;
	int rc;

	if (strlen(uri) > URI_MAX || split_uri(uri, &p))
		return CDNI_EPARSE;
	buf_init(&b, 0);
	buf_append(&b, p.scheme, p.scheme_n);
	lower_from(&b, 0);
	buf_puts(&b, "://");
	rc = norm_authority(&b, &p);
	if (!rc)
		rc = norm_path(&b, &p);
	if (!rc && p.has_query) {
		buf_putc(&b, '?');
		rc = pct_norm(&b, p.query, p.query_n);
	}
	if (!rc && b.err)
		rc = b.err;
	if (rc) {
		buf_free(&b);
		return rc;
	}
	*out = buf_steal(&b, NULL);
	return 0;
}

/* ---- cookie Path from cdnistd ---- */

int us_uri_path_prefix(const char *uri, long long depth, char **out)
{
	size_t ps = path_start(uri), pe = ps + strcspn(uri + ps, "?#"), i = ps;
	long long seen = 0;

	if (depth < 0)
		return CDNI_EINVAL;
	if (depth == 0) {
		*out = strdup("/");
		return *out ? 0 : CDNI_ENOMEM;
	}
	if (uri[ps] != '/')
		return CDNI_ENOTFOUND;
	while (i < pe && seen < depth) {
		i++;
		while (i < pe && uri[i] != '/')
			i++;
		seen++;
	}
	if (seen < depth)
		return CDNI_ENOTFOUND;
	*out = strndup(uri + ps, i - ps);
	return *out ? 0 : CDNI_ENOMEM;
}

/* ---- cookies ---- */

static const char *trim(const char *s, const char *e, const char **end)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*end = e;
	return s;
}

int us_cookie_find(const char *header, const char *name, const char **val, size_t *len)
{
	const char *p = header, *fv = NULL;
	size_t nl = strlen(name), fl = 0;

	while (p && *p) {
		const char *semi = strchr(p, ';'), *e = semi ? semi : p + strlen(p), *eq, *ne, *ve;
		const char *s = trim(p, e, &e);
		p = semi ? semi + 1 : NULL;
		size_t sl = e > s ? (size_t)(e - s) : 0;
		if (!sl || !(eq = memchr(s, '=', sl)))
			continue;
		const char *n0 = trim(s, eq, &ne), *v = trim(eq + 1, e, &ve);
		if ((size_t)(ne - n0) != nl || memcmp(n0, name, nl) != 0)
			continue;
		if (ve - v >= 2 && v[0] == '"' && ve[-1] == '"')
			v++, ve--;
		if (fv && ((size_t)(ve - v) != fl || memcmp(fv, v, fl) != 0))
			return CDNI_EEXIST;
		fv = v;
		fl = (size_t)(ve - v);
	}
	if (!fv)
		return CDNI_ENOTFOUND;
	*val = fv;
	*len = fl;
	return 0;
}
