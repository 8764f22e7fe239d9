/* HLS playlists (RFC 8216, and the LL-HLS tags of its second edition),
 * rewritten line by line as they stream in. Every URI a playlist can carry
 * goes through rw_map; every other byte (tags, byte ranges, comments, blank
 * lines, CRLF or LF line ends) is copied as it came.
 *
 * Refused (the caller answers 502, never a half-rewritten playlist): no
 * #EXTM3U first line, control bytes or invalid UTF-8 (binary data), a line
 * over max_line, a malformed attribute list in a tag that carries a URI (an
 * unterminated quoted string, a missing '=', a URI that is not a quoted
 * string, the attribute twice), EXT-X-STREAM-INF without its URI line, a
 * bad EXT-X-MEDIA-SEQUENCE, and a last line without its line end (RFC 8216
 * §4.1: every line ends with LF or CRLF; a playlist cut short ends
 * mid-line). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "redirect/rwint.h"

struct hls {
	struct rw_ctx *x;
	size_t max_line;
	struct buf carry; /* a line not complete yet */
	size_t lineno;
	bool started;     /* #EXTM3U seen */
	bool want_variant;/* EXT-X-STREAM-INF seen, its URI line not yet */
	bool seq_set;
	long long seq;    /* EXT-X-MEDIA-SEQUENCE */
	long long count;  /* segments so far, skipped ones included */
};

static int bad(struct hls *h, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int bad(struct hls *h, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "hls line %zu: ", h->lineno);

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return CDNI_EPARSE;
}

/* True when none of the 8 bytes is a control byte, DEL or above 0x7f
 * (printable ASCII only: the common case, checked a word at a time). */
static bool plain8(const unsigned char *s)
{
	uint64_t x;

	memcpy(&x, s, 8);
	/* high bit set, or below 0x20 (x - 0x20 borrows into the high bit), or 0x7f (x + 1) */
	return !((x | (x - 0x2020202020202020ull) | (x + 0x0101010101010101ull)) & 0x8080808080808080ull);
}

/* Text check: no control byte but TAB, valid UTF-8. Returns the offset of
 * the first bad byte, or n. */
static size_t text_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i + 8 <= n && plain8(s + i))
		i += 8;
	while (i < n) {
		unsigned c = s[i];
		size_t k;
		if (c >= 0x20 && c < 0x7f) {
			i++;
			continue;
		}
		if (c < 0x80) {
			if (c != '\t')
				return i;
			i++;
			continue;
		}
		k = c >= 0xf5 ? 0 : c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : 0;
		if (!k || i + k >= n)
			return i;
		for (size_t j = 1; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return i;
		if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0) ||
		    (c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90))
			return i;
		i += k + 1;
	}
	return n;
}

/* ---- attribute lists (RFC 8216 §4.2) ---- */

struct attr {
	const char *name;
	bool found, quoted;
	size_t off, len; /* the value, inside the quotes */
};

static bool name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* Parse s[0..n) as an attribute list, recording the wanted attributes.
 * Returns NULL or what is wrong. */
static const char *attr_parse(const char *s, size_t n, struct attr *want, size_t nwant)
{
	size_t i = 0;

	while (i < n) {
		size_t name = i, vo, vl;
		bool quoted = false;
		while (i < n && name_char(s[i]))
			i++;
		if (i == name || i >= n || s[i] != '=')
			return "malformed attribute list (expected NAME=VALUE)";
		size_t nl = i - name;
		i++;
		if (i < n && s[i] == '"') {
			const char *q = memchr(s + i + 1, '"', n - i - 1);
			if (!q)
				return "unterminated quoted string in attribute list";
			vo = i + 1;
			vl = (size_t)(q - s) - vo;
			i = (size_t)(q - s) + 1;
			quoted = true;
		} else {
			vo = i;
			while (i < n && s[i] != ',')
				i++;
			vl = i - vo;
		}
		for (size_t w = 0; w < nwant; w++) {
			if (strlen(want[w].name) != nl || memcmp(want[w].name, s + name, nl))
				continue;
			if (want[w].found)
				return "attribute given twice";
			want[w] = (struct attr){ want[w].name, true, quoted, vo, vl };
		}
		if (i < n && s[i] != ',')
			return "malformed attribute list (text after a quoted string)";
		if (i < n && ++i == n)
			return "malformed attribute list (ends with a comma)";
	}
	return NULL;
}

/* ---- tags ---- */

struct tag {
	const char *name;
	enum rw_kind kind;
	const char *attr;  /* the URI attribute */
	enum rw_kind kind2;
	const char *attr2; /* a second one, or NULL */
};

static const struct tag uri_tags[] = {
	{ "EXT-X-KEY", RW_K_KEY, "URI", 0, NULL },
	{ "EXT-X-SESSION-KEY", RW_K_KEY, "URI", 0, NULL },
	{ "EXT-X-MAP", RW_K_INIT, "URI", 0, NULL },
	{ "EXT-X-MEDIA", RW_K_PLAYLIST, "URI", 0, NULL },
	{ "EXT-X-I-FRAME-STREAM-INF", RW_K_PLAYLIST, "URI", 0, NULL },
	{ "EXT-X-SESSION-DATA", RW_K_DATA, "URI", 0, NULL },
	{ "EXT-X-PART", RW_K_PART, "URI", 0, NULL },
	{ "EXT-X-PRELOAD-HINT", RW_K_PART, "URI", 0, NULL },
	{ "EXT-X-RENDITION-REPORT", RW_K_PLAYLIST, "URI", 0, NULL },
	{ "EXT-X-CONTENT-STEERING", RW_K_STEERING, "SERVER-URI", 0, NULL },
	/* HLS interstitials (RFC 8216bis appendix D): the asset's playlist, or
	 * a JSON asset list; other X- client attributes are left alone */
	{ "EXT-X-DATERANGE", RW_K_PLAYLIST, "X-ASSET-URI", RW_K_DATA, "X-ASSET-LIST" },
	{ NULL, 0, NULL, 0, NULL }
};

static bool tag_is(const char *s, size_t n, const char *name)
{
	size_t l = strlen(name);

	return n == l && memcmp(s, name, l) == 0;
}

/* A tag with URI attributes: write the line with the URIs mapped. */
static int uri_tag(struct hls *h, const struct tag *t, const char *line, size_t n, size_t full,
		   size_t vstart, struct buf *out, char *err, size_t errlen)
{
	struct attr a[3] = { { .name = t->attr }, { .name = "TYPE" }, { .name = t->attr2 } };
	struct rw_site site[3] = { { .kind = t->kind, .number = -1 }, { 0 },
				   { .kind = t->kind2, .number = -1 } };
	const char *v = line + vstart, *why = attr_parse(v, n - vstart, a, t->attr2 ? 3 : 2);
	size_t done = 0;
	int rc;

	if (why)
		return bad(h, err, errlen, "%.*s: %s", (int)(vstart - 2), line + 1, why);
	for (int i = 0; i < 3; i += 2)
		if (a[i].found && !a[i].quoted)
			return bad(h, err, errlen, "%s is not a quoted string", a[i].name);
	if (t->kind == RW_K_PART)
		site[0].number = h->seq + h->count;
	if (a[1].found && tag_is(v + a[1].off, a[1].len, "MAP") && !strcmp(t->name, "EXT-X-PRELOAD-HINT"))
		site[0] = (struct rw_site){ .kind = RW_K_INIT, .number = -1 };
	for (int k = 0; k < 2; k++) { /* the URIs in the order they are written */
		int i = a[0].found && (!a[2].found || a[0].off < a[2].off) ? (k ? 2 : 0) : (k ? 0 : 2);
		struct rw_mapped m;
		if (!a[i].found)
			continue;
		buf_append(out, line + done, vstart + a[i].off - done);
		if ((rc = rw_map(h->x, &site[i], v + a[i].off, a[i].len, NULL, out, NULL, &m)))
			return rc;
		done = vstart + a[i].off + a[i].len;
	}
	buf_append(out, line + done, full - done);
	return 0;
}

static int media_sequence(struct hls *h, const char *v, size_t n, char *err, size_t errlen)
{
	long long s = 0;

	if (n == 0 || n > 18)
		return bad(h, err, errlen, "bad EXT-X-MEDIA-SEQUENCE");
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return bad(h, err, errlen, "bad EXT-X-MEDIA-SEQUENCE");
		s = s * 10 + (v[i] - '0');
	}
	if (!h->seq_set && h->count == 0)
		h->seq = s;
	h->seq_set = true;
	return 0;
}

static int skip_tag(struct hls *h, const char *v, size_t n, char *err, size_t errlen)
{
	struct attr a = { .name = "SKIPPED-SEGMENTS" };
	const char *why = attr_parse(v, n, &a, 1);
	long long k = 0;

	if (why || !a.found || a.quoted || a.len == 0 || a.len > 12)
		return bad(h, err, errlen, "EXT-X-SKIP: %s", why ? why : "bad SKIPPED-SEGMENTS");
	for (size_t i = 0; i < a.len; i++) {
		if (v[a.off + i] < '0' || v[a.off + i] > '9')
			return bad(h, err, errlen, "EXT-X-SKIP: bad SKIPPED-SEGMENTS");
		k = k * 10 + (v[a.off + i] - '0');
	}
	h->count += k;
	return 0;
}

/* "#EXT..." line of n content bytes; line[n..full) is its line end. */
static int tag_line(struct hls *h, const char *line, size_t n, size_t full, struct buf *out,
		    char *err, size_t errlen)
{
	const char *colon = memchr(line, ':', n);
	size_t nl = colon ? (size_t)(colon - line) - 1 : n - 1, vstart = colon ? nl + 2 : n;
	const char *name = line + 1;
	struct attr none[1] = { { .name = "" } };
	const char *why;

	for (const struct tag *t = uri_tags; t->name; t++)
		if (tag_is(name, nl, t->name))
			return uri_tag(h, t, line, n, full, vstart, out, err, errlen);
	if (tag_is(name, nl, "EXT-X-STREAM-INF")) {
		if ((why = attr_parse(line + vstart, n - vstart, none, 0)))
			return bad(h, err, errlen, "EXT-X-STREAM-INF: %s", why);
		h->want_variant = true;
	} else if (tag_is(name, nl, "EXT-X-MEDIA-SEQUENCE")) {
		if (media_sequence(h, line + vstart, n - vstart, err, errlen))
			return CDNI_EPARSE;
	} else if (tag_is(name, nl, "EXT-X-SKIP")) {
		if (skip_tag(h, line + vstart, n - vstart, err, errlen))
			return CDNI_EPARSE;
	}
	buf_append(out, line, full);
	return 0;
}

static int uri_line(struct hls *h, const char *line, size_t n, size_t full, struct buf *out)
{
	struct rw_site site = { .kind = RW_K_SEGMENT, .number = -1 };
	struct rw_mapped m;
	size_t u = n;
	int rc;

	while (u > 0 && (line[u - 1] == ' ' || line[u - 1] == '\t'))
		u--;
	if (h->want_variant) {
		site.kind = RW_K_PLAYLIST;
		h->want_variant = false;
	} else {
		site.number = h->seq + h->count++;
	}
	if ((rc = rw_map(h->x, &site, line, u, NULL, out, NULL, &m)))
		return rc;
	buf_append(out, line + u, full - u);
	return 0;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

static int first_line(struct hls *h, const char *line, size_t n, char *err, size_t errlen)
{
	if (n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) { /* a UTF-8 BOM, tolerated */
		line += 3;
		n -= 3;
	}
	if (n < 7 || memcmp(line, "#EXTM3U", 7) != 0 || !blank(line + 7, n - 7))
		return bad(h, err, errlen, "not an HLS playlist (the first line is not #EXTM3U)");
	h->started = true;
	return 0;
}

/* One whole line, its line end included (full bytes). */
static int line_in(struct hls *h, const char *line, size_t full, struct buf *out, char *err,
		   size_t errlen)
{
	size_t n = full - 1, bad_at;

	h->lineno++;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n > h->max_line)
		return bad(h, err, errlen, "line longer than max_line (%zu bytes)", h->max_line);
	if ((bad_at = text_ok((const unsigned char *)line, n)) < n)
		return bad(h, err, errlen, "byte 0x%02x at column %zu: binary data or invalid UTF-8",
			   (unsigned char)line[bad_at], bad_at + 1);
	if (!h->started) {
		if (first_line(h, line, n, err, errlen))
			return CDNI_EPARSE;
		buf_append(out, line, full);
		return 0;
	}
	if (n >= 4 && memcmp(line, "#EXT", 4) == 0)
		return tag_line(h, line, n, full, out, err, errlen);
	if (blank(line, n) || line[0] == '#') {
		buf_append(out, line, full);
		return 0;
	}
	return uri_line(h, line, n, full, out);
}

static int hls_feed(void *st, const char *p, size_t len, struct buf *out, char *err, size_t errlen)
{
	struct hls *h = st;
	const char *end = p + len, *nl;
	int rc;

	if (h->carry.len) {
		if (!(nl = memchr(p, '\n', len))) {
			buf_append(&h->carry, p, len);
			if (h->carry.len > h->max_line + 2)
				return h->lineno++, bad(h, err, errlen, "line longer than max_line (%zu bytes)",
							h->max_line);
			return h->carry.err;
		}
		buf_append(&h->carry, p, (size_t)(nl - p) + 1);
		if (h->carry.err)
			return h->carry.err;
		if ((rc = line_in(h, h->carry.data, h->carry.len, out, err, errlen)))
			return rc;
		buf_reset(&h->carry);
		p = nl + 1;
	}
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		if ((rc = line_in(h, p, (size_t)(nl - p) + 1, out, err, errlen)))
			return rc;
		p = nl + 1;
	}
	if ((size_t)(end - p) > h->max_line + 2)
		return h->lineno++, bad(h, err, errlen, "line longer than max_line (%zu bytes)", h->max_line);
	buf_append(&h->carry, p, (size_t)(end - p));
	return h->carry.err ? h->carry.err : out->err;
}

static int hls_finish(void *st, struct buf *out, char *err, size_t errlen)
{
	struct hls *h = st;

	(void)out;
	h->lineno++;
	if (h->carry.len)
		return bad(h, err, errlen, "the last line has no line end (truncated playlist?)");
	if (!h->started)
		return bad(h, err, errlen, "empty body: not an HLS playlist");
	if (h->want_variant)
		return bad(h, err, errlen, "EXT-X-STREAM-INF without its URI line");
	return 0;
}

static void *hls_open(struct rw_ctx *x, char *err, size_t errlen)
{
	struct hls *h = calloc(1, sizeof *h);

	(void)err; (void)errlen;
	if (!h)
		return NULL;
	h->x = x;
	h->max_line = rw_ctx_policy(x)->max_line;
	buf_init(&h->carry, 0);
	return h;
}

static void hls_close(void *st)
{
	struct hls *h = st;

	if (!h)
		return;
	buf_free(&h->carry);
	free(h);
}

const struct rw_fmt_ops rw_hls_ops = { hls_open, hls_feed, hls_finish, hls_close, NULL };
