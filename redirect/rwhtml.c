/* HTML pages (draft §3.2): a bounds-checked tokenizer finds the src, href,
 * srcset and poster attributes of start tags and maps their URLs; every
 * other byte of the page is copied as it came. Comments, doctypes,
 * processing instructions, end tags and the raw text of script, style,
 * textarea, title and xmp are copied without a look inside. Attribute
 * values are entity-decoded (&amp; &lt; &gt; &quot; &apos; and numeric
 * references) before resolution and re-encoded when rewritten; an unquoted
 * value that changes is written double-quoted. The first <base href> sets
 * the base URL (and is left alone). A page holding a NUL byte is refused;
 * an unterminated tag, comment or quote at the end is copied as it is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "redirect/rwint.h"

struct html {
	struct rw_ctx *x;
	struct buf in;
	struct buf val, text; /* scratch: a decoded value, a rewritten one */
	struct buf css, url;  /* scratch: rewritten CSS, one URL */
	char *base;           /* from <base href>, or NULL */
	const char *s;
	size_t n;
	size_t copied;        /* s[0..copied) is in out */
};

struct span {
	size_t off, len;
};

struct hattr {
	struct span name, value;
	char quote; /* '"', '\'' or 0 */
	bool has_value;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool is_alpha(char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static bool span_is(const struct html *h, struct span sp, const char *word)
{
	return sp.len == strlen(word) && strncasecmp(h->s + sp.off, word, sp.len) == 0;
}

static void copy_to(struct html *h, struct buf *out, size_t end)
{
	if (end > h->copied) {
		buf_append(out, h->s + h->copied, end - h->copied);
		h->copied = end;
	}
}

/* ---- entities ---- */

void rw_put_utf8(struct buf *b, unsigned long cp)
{
	char u[4];

	if (cp < 0x80) {
		buf_putc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3f));
		buf_append(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		buf_append(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f));
		buf_append(b, u, 4);
	}
}

/* "&#NN;" / "&#xHH;" at s (n bytes): its length, or 0. */
static size_t numeric_ref(const char *s, size_t n, unsigned long *cp)
{
	size_t i = 2;
	int b = 10;
	unsigned long v = 0;

	if (n < 4 || s[1] != '#')
		return 0;
	if ((s[2] | 0x20) == 'x')
		b = 16, i = 3;
	for (size_t d = i; i < n && s[i] != ';'; i++) {
		int c = (unsigned char)s[i], dv = c >= '0' && c <= '9' ? c - '0'
			: b == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
		if (dv < 0 || i - d > 7)
			return 0;
		v = v * (unsigned long)b + (unsigned long)dv;
	}
	if (i >= n || v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return i + 1;
}

static void entity_decode(struct buf *b, const char *s, size_t n)
{
	static const struct { const char *ent; char c; } named[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
		{ "&apos;", '\'' }, { NULL, 0 }
	};
	size_t i = 0, k;
	unsigned long cp;

	while (i < n) {
		const char *amp = memchr(s + i, '&', n - i);
		if (!amp) {
			buf_append(b, s + i, n - i);
			return;
		}
		buf_append(b, s + i, (size_t)(amp - s) - i);
		i = (size_t)(amp - s);
		for (k = 0; named[k].ent; k++)
			if (n - i >= strlen(named[k].ent) &&
			    strncasecmp(s + i, named[k].ent, strlen(named[k].ent)) == 0)
				break;
		if (named[k].ent) {
			buf_putc(b, named[k].c);
			i += strlen(named[k].ent);
		} else if ((k = numeric_ref(s + i, n - i, &cp))) {
			rw_put_utf8(b, cp);
			i += k;
		} else {
			buf_putc(b, '&');
			i++;
		}
	}
}

void rw_html_escape(struct buf *b, const char *s, size_t len)
{
	size_t from = 0;

	for (size_t i = 0; i < len; i++) {
		const char *e = s[i] == '&' ? "&amp;" : s[i] == '"' ? "&quot;" : s[i] == '\'' ? "&#39;"
			      : s[i] == '<' ? "&lt;" : s[i] == '>' ? "&gt;" : NULL;
		if (!e)
			continue;
		buf_append(b, s + from, i - from);
		buf_puts(b, e);
		from = i + 1;
	}
	buf_append(b, s + from, len - from);
}

/* ---- URL values ---- */

static int map_one(struct html *h, enum rw_kind kind, const char *ref, size_t len, struct buf *out,
		   bool *changed)
{
	struct rw_site site = { .kind = kind, .number = -1 };
	struct rw_mapped m;
	int rc = rw_map(h->x, &site, ref, len, h->base, out, NULL, &m);

	*changed |= m.changed;
	return rc;
}

/* srcset: "url [descriptor], url [descriptor], ..." (URLs end at white space). */
static int map_srcset(struct html *h, const char *v, size_t n, struct buf *out, bool *changed)
{
	size_t i = 0;
	int rc;

	while (i < n) {
		size_t u = i, e;
		while (u < n && (is_space(v[u]) || v[u] == ','))
			u++;
		buf_append(out, v + i, u - i);
		if (u >= n)
			break;
		e = u;
		while (e < n && !is_space(v[e]))
			e++;
		i = e;
		while (e > u && v[e - 1] == ',')
			e--; /* trailing commas end the candidate */
		if ((rc = map_one(h, RW_K_ASSET, v + u, e - u, out, changed)))
			return rc;
		buf_append(out, v + e, i - e);
		for (int depth = 0; i < n && (v[i] != ',' || depth); i++) {
			depth += v[i] == '(' ? 1 : v[i] == ')' && depth ? -1 : 0;
			buf_putc(out, v[i]);
		}
	}
	return out->err;
}

/* ---- CSS: url() and @import strings in <style> and style="" ---- */

static bool css_ident(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '-' || c == '_' || (unsigned char)c >= 0x80;
}

/* The URL s[from..to) (quote: the quote around it, or 0) mapped into out,
 * written as CSS allows it there (an unquoted url() that needs quotes
 * gets them; a quote inside a quoted one is percent-encoded). */
static int css_url(struct html *h, const char *s, size_t from, size_t to, char quote,
		   struct buf *out, bool *changed)
{
	bool add = false;
	int rc;

	buf_reset(&h->url);
	if ((rc = map_one(h, RW_K_ASSET, s + from, to - from, &h->url, changed)))
		return rc;
	for (size_t i = 0; !quote && i < h->url.len; i++)
		if (strchr(" \t\r\n\f()'\"", h->url.data[i]))
			quote = '"', add = true;
	if (add)
		buf_putc(out, quote);
	for (size_t i = 0; i < h->url.len; i++) {
		if (quote && h->url.data[i] == quote)
			buf_puts(out, quote == '\'' ? "%27" : "%22");
		else
			buf_putc(out, h->url.data[i]);
	}
	if (add)
		buf_putc(out, quote);
	return out->err;
}

/* Where a url( ... ) at s[i] (after "url(") holds its URL: [*a, *b), its
 * quote, and where the token ends (after ')'); false when it is not a
 * plain one (escapes, a missing ')'): then it is left alone. */
static bool css_url_token(const char *s, size_t n, size_t i, size_t *a, size_t *b, char *quote,
			  size_t *end)
{
	while (i < n && is_space(s[i]))
		i++;
	*quote = i < n && (s[i] == '"' || s[i] == '\'') ? s[i] : 0;
	if (*quote) {
		const char *q = memchr(s + i + 1, *quote, n - i - 1);
		if (!q || memchr(s + i + 1, '\\', (size_t)(q - s) - i - 1))
			return false;
		*a = i + 1;
		*b = (size_t)(q - s);
		i = *b + 1;
	} else {
		*a = i;
		while (i < n && !is_space(s[i]) && s[i] != ')') {
			if (s[i] == '(' || s[i] == '"' || s[i] == '\'' || s[i] == '\\')
				return false;
			i++;
		}
		*b = i;
	}
	while (i < n && is_space(s[i]))
		i++;
	if (i >= n || s[i] != ')')
		return false;
	*end = i + 1;
	return true;
}

/* The CSS s[0..n) with its URLs mapped, into out. Comments and other
 * strings are skipped; a URL with escapes is left alone. */
static int css_rewrite(struct html *h, const char *s, size_t n, struct buf *out, bool *changed)
{
	size_t i = 0, from = 0, a, b, end;
	char q;
	int rc;

	while (i < n) {
		if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
			const char *e = memmem(s + i + 2, n - i - 2, "*/", 2);
			i = e ? (size_t)(e - s) + 2 : n;
			continue;
		}
		bool url = n - i >= 4 && strncasecmp(s + i, "url(", 4) == 0 && (i == 0 || !css_ident(s[i - 1])) &&
			   css_url_token(s, n, i + 4, &a, &b, &q, &end);
		bool imp = !url && n - i > 7 && strncasecmp(s + i, "@import", 7) == 0;
		if (imp) {
			size_t j = i + 7;
			while (j < n && is_space(s[j]))
				j++;
			const char *e = j < n && (s[j] == '"' || s[j] == '\'') ? memchr(s + j + 1, s[j], n - j - 1) : NULL;
			imp = e && !memchr(s + j + 1, '\\', (size_t)(e - s) - j - 1);
			if (imp)
				q = s[j], a = j + 1, b = (size_t)(e - s), end = b + 1;
		}
		if (!url && !imp) {
			if (s[i] == '"' || s[i] == '\'') { /* a string: not a URL */
				size_t j = i + 1;
				while (j < n && s[j] != s[i])
					j += s[j] == '\\' ? 2 : 1;
				i = j + 1;
			} else {
				i++;
			}
			continue;
		}
		buf_append(out, s + from, a - from);
		if ((rc = css_url(h, s, a, b, q, out, changed)))
			return rc;
		from = b;
		i = end;
	}
	buf_append(out, s + from, n - from);
	return out->err;
}

static bool url_attr(const struct html *h, struct span tag, struct span name, enum rw_kind *kind)
{
	*kind = RW_K_ASSET;
	if (span_is(h, name, "href")) {
		if (span_is(h, tag, "a") || span_is(h, tag, "area"))
			*kind = RW_K_LINK;
		return !span_is(h, tag, "base");
	}
	if (span_is(h, name, "src") && (span_is(h, tag, "iframe") || span_is(h, tag, "frame")))
		*kind = RW_K_LINK;
	return span_is(h, name, "src") || span_is(h, name, "srcset") || span_is(h, name, "poster");
}

/* A style="" attribute: its CSS's URLs mapped. */
static int style_attr(struct html *h, const struct hattr *a, struct buf *out)
{
	bool changed = false;
	int rc;

	buf_reset(&h->val);
	buf_reset(&h->css);
	entity_decode(&h->val, h->s + a->value.off, a->value.len);
	if (h->val.err)
		return h->val.err;
	if ((rc = css_rewrite(h, h->val.data ? h->val.data : "", h->val.len, &h->css, &changed)) || !changed)
		return rc;
	copy_to(h, out, a->value.off - (a->quote ? 1 : 0));
	buf_putc(out, a->quote ? a->quote : '"');
	rw_html_escape(out, h->css.data, h->css.len);
	buf_putc(out, a->quote ? a->quote : '"');
	h->copied = a->value.off + a->value.len + (a->quote ? 1 : 0);
	return out->err;
}

/* A <style> element's text s[from..to): its URLs mapped (left alone if the
 * result would end the element early). */
static int style_text(struct html *h, size_t from, size_t to, struct buf *out)
{
	bool changed = false;
	int rc;

	buf_reset(&h->css);
	if ((rc = css_rewrite(h, h->s + from, to - from, &h->css, &changed)) || !changed)
		return rc;
	if (h->css.err)
		return h->css.err;
	if (memmem(h->css.data, h->css.len, "</", 2))
		return 0;
	copy_to(h, out, from);
	buf_append(out, h->css.data, h->css.len);
	h->copied = to;
	return out->err;
}

/* Rewrite one attribute's value (written to out from the value's start). */
static int attr_value(struct html *h, struct span tag, const struct hattr *a, enum rw_kind kind,
		      struct buf *out)
{
	bool changed = false;
	int rc;

	buf_reset(&h->val);
	buf_reset(&h->text);
	entity_decode(&h->val, h->s + a->value.off, a->value.len);
	if (h->val.err)
		return h->val.err;
	if (span_is(h, a->name, "srcset"))
		rc = map_srcset(h, h->val.data ? h->val.data : "", h->val.len, &h->text, &changed);
	else
		rc = map_one(h, kind, h->val.data ? h->val.data : "", h->val.len, &h->text, &changed);
	(void)tag;
	if (rc || !changed)
		return rc;
	copy_to(h, out, a->value.off - (a->quote ? 1 : 0));
	buf_putc(out, a->quote ? a->quote : '"');
	rw_html_escape(out, h->text.data, h->text.len);
	buf_putc(out, a->quote ? a->quote : '"');
	h->copied = a->value.off + a->value.len + (a->quote ? 1 : 0);
	return out->err;
}

static int set_base(struct html *h, const struct hattr *a)
{
	struct rw_url b, r;
	struct buf res;

	if (h->base)
		return 0;
	buf_reset(&h->val);
	entity_decode(&h->val, h->s + a->value.off, a->value.len);
	rw_url_split(rw_ctx_base(h->x), strlen(rw_ctx_base(h->x)), &b);
	rw_url_split(h->val.data ? h->val.data : "", h->val.len, &r);
	buf_init(&res, 0);
	rw_url_resolve(&res, &b, &r);
	if (res.err)
		return res.err;
	h->base = buf_steal(&res, NULL);
	return h->base ? 0 : CDNI_ENOMEM;
}

/* ---- the tokenizer ---- */

/* Parse one attribute at *k; false when the tag runs off the end. */
static bool next_attr(const struct html *h, size_t *k, struct hattr *a)
{
	const char *s = h->s;
	size_t i = *k, n = h->n;

	memset(a, 0, sizeof *a);
	a->name.off = i;
	i++; /* the first character may be anything, even '=' */
	while (i < n && !is_space(s[i]) && s[i] != '/' && s[i] != '>' && s[i] != '=')
		i++;
	a->name.len = i - a->name.off;
	while (i < n && is_space(s[i]))
		i++;
	if (i < n && s[i] == '=') {
		i++;
		while (i < n && is_space(s[i]))
			i++;
		if (i < n && (s[i] == '"' || s[i] == '\'')) {
			const char *q = memchr(s + i + 1, s[i], n - i - 1);
			if (!q)
				return false;
			a->quote = s[i];
			a->value = (struct span){ i + 1, (size_t)(q - s) - i - 1 };
			i = (size_t)(q - s) + 1;
		} else {
			a->value.off = i;
			while (i < n && !is_space(s[i]) && s[i] != '>')
				i++;
			a->value.len = i - a->value.off;
		}
		a->has_value = true;
	}
	*k = i;
	return i < n;
}

/* A start tag at h->s[at] ('<' then a letter). Returns where it ends (after
 * '>'), or n when it runs off the end (then copied as it is). */
static int start_tag(struct html *h, size_t at, struct buf *out, size_t *end, struct span *tag)
{
	size_t k = at + 1;
	struct hattr a;
	enum rw_kind kind;
	int rc;

	while (k < h->n && !is_space(h->s[k]) && h->s[k] != '/' && h->s[k] != '>')
		k++;
	*tag = (struct span){ at + 1, k - at - 1 };
	for (;;) {
		while (k < h->n && (is_space(h->s[k]) || h->s[k] == '/'))
			k++;
		if (k >= h->n) {
			*end = h->n;
			return 0;
		}
		if (h->s[k] == '>') {
			*end = k + 1;
			return 0;
		}
		if (!next_attr(h, &k, &a)) {
			*end = h->n;
			return 0;
		}
		if (!a.has_value)
			continue;
		if (span_is(h, *tag, "base") && span_is(h, a.name, "href") && (rc = set_base(h, &a)))
			return rc;
		if (url_attr(h, *tag, a.name, &kind) && (rc = attr_value(h, *tag, &a, kind, out)))
			return rc;
		if (span_is(h, a.name, "style") && (rc = style_attr(h, &a, out)))
			return rc;
	}
}

/* Where the raw text of element tag (starting at from) ends: at its "</tag". */
static size_t raw_text_end(const struct html *h, size_t from, struct span tag)
{
	for (size_t i = from; i + 2 + tag.len <= h->n; i++) {
		const char *lt = memchr(h->s + i, '<', h->n - i);
		if (!lt)
			break;
		i = (size_t)(lt - h->s);
		if (i + 2 + tag.len <= h->n && h->s[i + 1] == '/' &&
		    strncasecmp(h->s + i + 2, h->s + tag.off, tag.len) == 0)
			return i;
	}
	return h->n;
}

static bool raw_text(const struct html *h, struct span tag)
{
	static const char *const names[] = { "script", "style", "textarea", "title", "xmp", NULL };

	for (size_t i = 0; names[i]; i++)
		if (span_is(h, tag, names[i]))
			return true;
	return false;
}

/* Markup other than a start tag at i: where it ends. */
static size_t skip_markup(const struct html *h, size_t i)
{
	const char *s = h->s, *e;
	size_t n = h->n;

	if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0)
		e = memmem(s + i + 4, n - i - 4, "-->", 3), e = e ? e + 3 : s + n;
	else if (n - i >= 2 && (s[i + 1] == '!' || s[i + 1] == '?' || s[i + 1] == '/'))
		e = memchr(s + i, '>', n - i), e = e ? e + 1 : s + n;
	else
		e = s + i + 1; /* a '<' that opens nothing */
	return (size_t)(e - s);
}

static int tokenize(struct html *h, struct buf *out)
{
	size_t i = 0, end;
	struct span tag;
	int rc;

	while (i < h->n) {
		const char *lt = memchr(h->s + i, '<', h->n - i);
		if (!lt)
			break;
		i = (size_t)(lt - h->s);
		if (i + 1 < h->n && is_alpha(h->s[i + 1])) {
			if ((rc = start_tag(h, i, out, &end, &tag)))
				return rc;
			i = end < h->n && raw_text(h, tag) ? raw_text_end(h, end, tag) : end;
			if (i > end && span_is(h, tag, "style") && (rc = style_text(h, end, i, out)))
				return rc;
		} else {
			i = skip_markup(h, i);
		}
	}
	copy_to(h, out, h->n);
	return out->err;
}

static int html_finish(void *st, struct buf *out, char *err, size_t errlen)
{
	struct html *h = st;

	h->s = h->in.data ? h->in.data : "";
	h->n = h->in.len;
	if (memchr(h->s, '\0', h->n)) {
		snprintf(err, errlen, "html: a NUL byte at offset %zu (binary data)",
			 (size_t)((const char *)memchr(h->s, '\0', h->n) - h->s));
		return CDNI_EPARSE;
	}
	return tokenize(h, out);
}

static int html_feed(void *st, const char *data, size_t len, struct buf *out, char *err,
		     size_t errlen)
{
	struct html *h = st;

	(void)out;
	buf_append(&h->in, data, len);
	if (h->in.err == CDNI_EOVERFLOW)
		snprintf(err, errlen, "html: larger than max_output");
	return h->in.err;
}

static void *html_open(struct rw_ctx *x, char *err, size_t errlen)
{
	struct html *h = calloc(1, sizeof *h);

	(void)err; (void)errlen;
	if (!h)
		return NULL;
	h->x = x;
	buf_init(&h->in, rw_ctx_policy(x)->max_output);
	buf_init(&h->val, 0);
	buf_init(&h->text, 0);
	buf_init(&h->css, 0);
	buf_init(&h->url, 0);
	return h;
}

static void html_close(void *st)
{
	struct html *h = st;

	if (!h)
		return;
	buf_free(&h->in);
	buf_free(&h->val);
	buf_free(&h->text);
	buf_free(&h->css);
	buf_free(&h->url);
	free(h->base);
	free(h);
}

const struct rw_fmt_ops rw_html_ops = { html_open, html_feed, html_finish, html_close, NULL };

/* text/css documents: the whole sheet through css_rewrite. */
static int css_finish(void *st, struct buf *out, char *err, size_t errlen)
{
	struct html *h = st;
	bool changed = false;

	h->s = h->in.data ? h->in.data : "";
	h->n = h->in.len;
	if (memchr(h->s, '\0', h->n)) {
		snprintf(err, errlen, "css: a NUL byte at offset %zu (binary data)",
			 (size_t)((const char *)memchr(h->s, '\0', h->n) - h->s));
		return CDNI_EPARSE;
	}
	return css_rewrite(h, h->s, h->n, out, &changed);
}

const struct rw_fmt_ops rw_css_ops = { html_open, html_feed, css_finish, html_close, NULL };
