/* URI references for the rewriters: split (RFC 3986 §3), resolve against a
 * base (§5.2, with remove_dot_segments of §5.2.4), compare authorities.
 * Spans only: nothing is decoded, so "%05d" in a DASH template or any
 * other escape stays exactly as written. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "redirect/rwint.h"

static bool scheme_char(unsigned char c, bool first)
{
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
		return true;
	return !first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

static size_t scheme_length(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && scheme_char((unsigned char)s[i], i == 0))
		i++;
	return i > 0 && i < len && s[i] == ':' ? i : 0;
}

/* Stop classes for the split: bit 1 ends an authority, 2 a path, 4 a query. */
enum { END_AUTH = 1, END_PATH = 2, END_QUERY = 4 };
static const unsigned char stop_class[256] = {
	['/'] = END_AUTH, ['?'] = END_AUTH | END_PATH, ['#'] = END_AUTH | END_PATH | END_QUERY,
};

static size_t span_until(const char *s, size_t from, size_t len, unsigned stops)
{
	size_t i = from;

	while (i < len && !(stop_class[(unsigned char)s[i]] & stops))
		i++;
	return i;
}

void rw_url_split(const char *s, size_t len, struct rw_url *u)
{
	size_t p, e;

	memset(u, 0, sizeof *u);
	u->s = s;
	u->len = len;
	u->scheme_len = scheme_length(s, len);
	p = u->scheme_len ? u->scheme_len + 1 : 0;
	if (len - p >= 2 && s[p] == '/' && s[p + 1] == '/') {
		u->has_auth = true;
		u->auth_off = p + 2;
		e = span_until(s, p + 2, len, END_AUTH);
		u->auth_len = e - u->auth_off;
		p = e;
	}
	e = span_until(s, p, len, END_PATH);
	u->path_off = p;
	u->path_len = e - p;
	p = e;
	if (p < len && s[p] == '?') {
		e = span_until(s, p + 1, len, END_QUERY);
		u->has_query = true;
		u->query_off = p + 1;
		u->query_len = e - p - 1;
		p = e;
	}
	if (p < len && s[p] == '#') {
		u->has_frag = true;
		u->frag_off = p + 1;
		u->frag_len = len - p - 1;
	}
}

/* Drop the last segment written since start (with its leading '/'). */
static void pop_segment(struct buf *out, size_t start)
{
	size_t i = out->len;

	while (i > start && out->data[i - 1] != '/')
		i--;
	if (i > start)
		i--;
	out->len = i;
	if (out->data)
		out->data[i] = '\0';
}

/* RFC 3986 §5.2.4, appending to out. */
static void remove_dots_slow(struct buf *out, const char *in, size_t n)
{
	size_t start = out->len, i = 0, j;

	while (i < n && !out->err) {
		size_t r = n - i;
		const char *p = in + i;
		if (r >= 3 && memcmp(p, "../", 3) == 0) { i += 3; continue; }
		if (r >= 2 && memcmp(p, "./", 2) == 0) { i += 2; continue; }
		if (r >= 3 && memcmp(p, "/./", 3) == 0) { i += 2; continue; }
		if (r == 2 && memcmp(p, "/.", 2) == 0) { buf_putc(out, '/'); break; }
		if (r >= 4 && memcmp(p, "/../", 4) == 0) { i += 3; pop_segment(out, start); continue; }
		if (r == 3 && memcmp(p, "/..", 3) == 0) {
			pop_segment(out, start);
			buf_putc(out, '/');
			break;
		}
		if ((r == 1 && p[0] == '.') || (r == 2 && memcmp(p, "..", 2) == 0))
			break;
		j = i + (in[i] == '/');
		while (j < n && in[j] != '/')
			j++;
		buf_append(out, p, j - i);
		i = j;
	}
}

/* A '.' that may start a dot segment (at the start or after a '/'). */
static bool has_dots(const char *s, size_t n)
{
	const char *p = s, *end = s + n;

	while ((p = memchr(p, '.', (size_t)(end - p))) != NULL) {
		if (p == s || p[-1] == '/')
			return true;
		p++;
	}
	return false;
}

/* Append base directory + rel, dot segments removed. */
static void merge(struct buf *out, const struct rw_url *b, const struct rw_url *r)
{
	const char *bp = b->s + b->path_off, *rp = r->s + r->path_off;
	size_t dir = b->path_len, at;
	char *tmp;

	while (dir > 0 && bp[dir - 1] != '/')
		dir--;
	if (b->has_auth && b->path_len == 0)
		buf_putc(out, '/');
	if (!has_dots(bp, dir) && !has_dots(rp, r->path_len) && (dir || b->has_auth)) {
		buf_append(out, bp, dir);
		buf_append(out, rp, r->path_len);
		return;
	}
	at = out->len;
	buf_append(out, bp, dir);
	buf_append(out, rp, r->path_len);
	if (out->err || !(tmp = malloc(out->len - at + 1))) {
		out->err = out->err ? out->err : CDNI_ENOMEM;
		return;
	}
	memcpy(tmp, out->data + at, out->len - at);
	at = out->len - at;
	out->len -= at;
	remove_dots_slow(out, tmp, at);
	free(tmp);
}

static void put_path(struct buf *out, const char *p, size_t n)
{
	if (!has_dots(p, n))
		buf_append(out, p, n);
	else
		remove_dots_slow(out, p, n);
}

static void put_part(struct buf *out, char lead, const struct rw_url *u, bool has, size_t off,
		     size_t n)
{
	if (!has)
		return;
	buf_putc(out, lead);
	buf_append(out, u->s + off, n);
}

void rw_url_resolve(struct buf *out, const struct rw_url *b, const struct rw_url *r)
{
	const struct rw_url *q = r; /* whose query */

	if (r->scheme_len) {
		buf_append(out, r->s, r->scheme_len + 1);
		if (r->has_auth) {
			buf_append(out, "//", 2);
			buf_append(out, r->s + r->auth_off, r->auth_len);
		}
		put_path(out, r->s + r->path_off, r->path_len);
	} else {
		buf_append(out, b->s, b->scheme_len + 1);
		if (r->has_auth || b->has_auth) {
			const struct rw_url *a = r->has_auth ? r : b;
			buf_append(out, "//", 2);
			buf_append(out, a->s + a->auth_off, a->auth_len);
		}
		if (r->has_auth || (r->path_len && r->s[r->path_off] == '/')) {
			put_path(out, r->s + r->path_off, r->path_len);
		} else if (r->path_len == 0) {
			buf_append(out, b->s + b->path_off, b->path_len);
			if (!r->has_query)
				q = b;
		} else {
			merge(out, b, r);
		}
	}
	put_part(out, '?', q, q->has_query, q->query_off, q->query_len);
	put_part(out, '#', r, r->has_frag, r->frag_off, r->frag_len);
}

bool rw_url_is_http(const struct rw_url *u)
{
	return (u->scheme_len == 4 && strncasecmp(u->s, "http", 4) == 0) ||
	       (u->scheme_len == 5 && strncasecmp(u->s, "https", 5) == 0);
}

bool rw_url_host(const struct rw_url *u, struct rw_host *h)
{
	const char *a = u->s + u->auth_off, *colon;
	size_t n = u->auth_len;
	long port = 0;

	if (!u->has_auth || n == 0 || memchr(a, '@', n))
		return false;
	if (a[0] == '[') {
		const char *rb = memchr(a, ']', n);
		if (!rb)
			return false;
		colon = rb + 1 < a + n && rb[1] == ':' ? rb + 1 : NULL;
		if (!colon && rb + 1 != a + n)
			return false;
	} else {
		colon = memchr(a, ':', n);
	}
	h->host = a;
	h->host_len = colon ? (size_t)(colon - a) : n;
	if (colon && colon + 1 < a + n) {
		for (const char *p = colon + 1; p < a + n; p++) {
			if (*p < '0' || *p > '9' || port > 65535)
				return false;
			port = port * 10 + (*p - '0');
		}
		if (port > 65535)
			return false;
	} else {
		port = u->scheme_len == 5 ? 443 : 80;
	}
	h->port = port;
	return h->host_len > 0;
}

bool rw_host_eq(const struct rw_host *a, const struct rw_host *b)
{
	size_t al = a->host_len, bl = b->host_len;

	if (al && a->host[al - 1] == '.')
		al--;
	if (bl && b->host[bl - 1] == '.')
		bl--;
	return a->port == b->port && al == bl && strncasecmp(a->host, b->host, al) == 0;
}

/* RFC 3986 characters: unreserved, gen-delims, sub-delims, and '%'. */
static const unsigned char uri_ok[256] = {
	['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['0' ... '9'] = 1,
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1,
	[':'] = 1, ['/'] = 1, ['?'] = 1, ['#'] = 1, ['['] = 1, [']'] = 1, ['@'] = 1,
	['!'] = 1, ['$'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1,
	['*'] = 1, ['+'] = 1, [','] = 1, [';'] = 1, ['='] = 1, ['%'] = 1,
};

bool rw_uri_clean(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!uri_ok[(unsigned char)s[i]])
			return false;
	return true;
}
