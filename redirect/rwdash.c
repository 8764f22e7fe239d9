/* DASH MPDs, rewritten by splicing: libxml2 reads the document through its
 * SAX2 callbacks (no tree is built), the callbacks note where each URI the
 * rewriter cares about sits in the input, and the output is the input's
 * own bytes with only those URI values replaced. Formatting, comments,
 * CDATA sections, namespace prefixes and attribute quoting stay as they
 * came. Every located value is checked against what libxml2 read; a value
 * that cannot be located exactly refuses the document (never a half-
 * rewritten MPD).
 *
 * Refused: no network, no DTD, no entities (a DOCTYPE or an entity
 * declaration is refused before parsing, and a DTD met by the parser
 * stops it), invalid XML, a root that is not MPD, a document that is not
 * UTF-8, a BaseURL (Location, PatchLocation) holding an element, more than
 * max_output bytes.
 *
 * The URIs: BaseURL at every level, Location, PatchLocation, SegmentTemplate
 * media/initialization/index/bitstreamSwitching, SegmentList SegmentURL
 * media/index, Initialization and RepresentationIndex sourceURL (under
 * SegmentBase, SegmentList and SegmentTemplate), and xlink:href on any
 * element (remote elements, kind "playlist", resolved against the BaseURL
 * chain of the level holding the element; urn:mpeg:dash:resolve-to-zero
 * is not a URL and is left alone).
 *
 * URL resolution in an MPD goes MPD URL -> MPD BaseURL -> Period BaseURL ->
 * AdaptationSet BaseURL -> Representation BaseURL -> the segment URL, and
 * segment information (SegmentTemplate, SegmentList, SegmentBase) set at a
 * Period or AdaptationSet is inherited, attribute by attribute, by every
 * Representation below, whose own BaseURLs it is resolved against. So:
 *
 * - two base chains are kept per level: b0, the chain of the document as it
 *   came, which says what each URI means, and b1, the chain after the
 *   BaseURLs above were rewritten, against which the written text will be
 *   resolved by the player;
 * - each URI is decided once per Representation that uses it; the text is
 *   kept when it already resolves (under b1) to what the policy wants,
 *   else written relative (a signed uCDN reference) or absolute;
 * - inherited segment information is rewritten where it is set when every
 *   Representation using it wants the same text; otherwise the element's
 *   bytes are copied into each Representation (which then overrides it)
 *   and rewritten there (into a Representation's own element of that type:
 *   the missing attribute or child is added to it).
 *
 * At the Representation level, with no SegmentList or SegmentTemplate in
 * force (SegmentBase, the on-demand profile), the BaseURL is the media
 * itself: it is decided as a segment (and may be signed). Other BaseURLs
 * are decided as kind "base" and never signed (a token in a base's query is
 * not inherited by references resolved against it). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "common/err.h"
#include "redirect/rwint.h"

#define NONE UINT32_MAX
#define MAXDEPTH 512
#define XLINK_NS "http://www.w3.org/1999/xlink"

/* The elements the rewriter looks at (a "node" each); N_SEGURL elements
 * are not nodes: their values hang on their SegmentList. */
enum ntype {
	N_MPD, N_PERIOD, N_AS, N_REP, N_BASEURL, N_LOCATION, N_PATCHLOC,
	N_SEGBASE, N_SEGLIST, N_SEGTEMPLATE, N_INIT, N_REPINDEX, N_SEGURL, N_OTHER
};
static const char *const type_names[N_OTHER] = {
	"MPD", "Period", "AdaptationSet", "Representation", "BaseURL", "Location",
	"PatchLocation", "SegmentBase", "SegmentList", "SegmentTemplate", "Initialization",
	"RepresentationIndex", "SegmentURL"
};
#define B(t) (1u << (t))
#define SEGS (B(N_SEGBASE) | B(N_SEGLIST) | B(N_SEGTEMPLATE))
/* which children each type has that matter */
static const unsigned kids[N_OTHER] = {
	[N_MPD] = B(N_PERIOD) | B(N_BASEURL) | B(N_LOCATION) | B(N_PATCHLOC),
	[N_PERIOD] = B(N_AS) | B(N_BASEURL) | SEGS,
	[N_AS] = B(N_REP) | B(N_BASEURL) | SEGS,
	[N_REP] = B(N_BASEURL) | SEGS,
	[N_SEGBASE] = B(N_INIT) | B(N_REPINDEX),
	[N_SEGTEMPLATE] = B(N_INIT) | B(N_REPINDEX),
	[N_SEGLIST] = B(N_INIT) | B(N_REPINDEX) | B(N_SEGURL),
};
#define TEXT_NODES (B(N_BASEURL) | B(N_LOCATION) | B(N_PATCHLOC))
#define LEVELS (B(N_MPD) | B(N_PERIOD) | B(N_AS) | B(N_REP))

enum aname { A_MEDIA, A_INITIALIZATION, A_INDEX, A_BSS, A_SOURCEURL, A_ID, A_STARTNUMBER,
	     A_HREF, A_NAMES };
static const char *const attr_names[A_NAMES] = {
	"media", "initialization", "index", "bitstreamSwitching", "sourceURL", "id",
	"startNumber", "href"
};
/* which attributes of each type matter (xlink:href: on every element) */
static const unsigned attrs_of[N_OTHER] = {
	[N_REP] = B(A_ID),
	[N_SEGTEMPLATE] = B(A_MEDIA) | B(A_INITIALIZATION) | B(A_INDEX) | B(A_BSS),
	[N_SEGLIST] = B(A_STARTNUMBER),
	[N_INIT] = B(A_SOURCEURL),
	[N_REPINDEX] = B(A_SOURCEURL),
	[N_SEGURL] = B(A_MEDIA) | B(A_INDEX),
};

enum seg_type { SEG_BASE = 0, SEG_LIST, SEG_TEMPLATE, SEG_NTYPES };

/* A place where segment information holds a URI. */
struct slot {
	enum seg_type type;
	int child;  /* the URI is on this child (N_INIT, N_REPINDEX; N_SEGURL: the list) or 0 */
	int attr;   /* enum aname */
	enum rw_kind kind;
	bool template;
};

static const struct slot slots[] = {
	{ SEG_TEMPLATE, 0, A_MEDIA, RW_K_SEGMENT, true },
	{ SEG_TEMPLATE, 0, A_INITIALIZATION, RW_K_INIT, true },
	{ SEG_TEMPLATE, 0, A_INDEX, RW_K_INDEX, true },
	{ SEG_TEMPLATE, 0, A_BSS, RW_K_INIT, true },
	{ SEG_TEMPLATE, N_INIT, A_SOURCEURL, RW_K_INIT, false },
	{ SEG_TEMPLATE, N_REPINDEX, A_SOURCEURL, RW_K_INDEX, false },
	{ SEG_LIST, N_INIT, A_SOURCEURL, RW_K_INIT, false },
	{ SEG_LIST, N_REPINDEX, A_SOURCEURL, RW_K_INDEX, false },
	{ SEG_LIST, N_SEGURL, A_MEDIA, RW_K_SEGMENT, false },
	{ SEG_BASE, N_INIT, A_SOURCEURL, RW_K_INIT, false },
	{ SEG_BASE, N_REPINDEX, A_SOURCEURL, RW_K_INDEX, false },
};
#define NSLOTS (sizeof slots / sizeof slots[0])

/* An attribute value found in the input. */
struct val {
	uint32_t off, len; /* its bytes in the input, inside the quotes */
	uint32_t node;     /* the element's node (a SegmentURL's: its SegmentList); NONE */
	uint32_t ord;      /* a SegmentURL's position in its list; xlink:href: the level */
	uint32_t dec;      /* the value as read, when its bytes differ (entities): arena */
	uint32_t dlen;
	uint8_t name;      /* enum aname */
	char quote;
};

struct node {
	uint32_t parent, first, last, next; /* the tree of nodes, in document order */
	uint32_t start;  /* '<' */
	uint32_t gt;     /* the start tag's '>', or the '/' of "/>" */
	uint32_t end;    /* after the element */
	uint32_t cend;   /* the end tag's '<' (the content is gt + 1 .. cend) */
	uint32_t v0, v1; /* its own values: vals[v0 .. v1) */
	uint32_t s0, s1; /* a SegmentList's SegmentURL values: vals[s0 .. s1) */
	uint32_t nseg;   /* its SegmentURLs */
	uint32_t sstart, send; /* their bytes, first '<' to the last one's end */
	uint32_t text, tlen;   /* a text element's content as read (arena) */
	uint32_t id;     /* Representation@id (arena), or NONE */
	uint16_t qlen;   /* the qualified name's length */
	uint8_t type;
	bool empty, raw; /* raw: the content's bytes are the text */
};

/* An output edit: input bytes [off, off + len) become something else. */
enum ekind { E_TEXT, E_COPY, E_OPEN, E_CLOSE };
struct edit {
	uint32_t off, len;
	uint32_t rep;   /* NONE: the document (and every copy); else only copies made for rep */
	uint32_t seq;
	uint8_t kind, order;
	uint32_t a, b;  /* E_TEXT: arena offset, length; E_COPY: input range; E_CLOSE: node */
	uint32_t crep;  /* E_COPY: the Representation the copy is made for */
};

struct level {
	const struct level *up;
	char *b0, *b1;              /* base chains (absolute) */
	uint32_t seg[SEG_NTYPES];   /* segment information set at this level */
	uint32_t node;
	const char *rep;            /* Representation@id */
};

/* A Representation using segment information set above it. */
struct use {
	uint32_t owner, rep;
	size_t slot;
	char *out; /* what the URI(s) should become, see slot_output */
	bool done;
};

/* An element copied into a Representation. */
struct copy {
	uint32_t rep, owner;
	enum seg_type type;
};

struct dash {
	struct rw_ctx *x;
	struct buf in;              /* fed input */
	const char *s;              /* the document */
	size_t n;
	xmlParserCtxtPtr ctxt;
	const xmlChar *ns;          /* the MPD's namespace */
	struct node *nodes;
	size_t nnodes, cnodes;
	struct val *vals;
	size_t nvals, cvals;
	struct edit *edits;
	size_t nedits, cedits;
	uint32_t *xlinks;           /* vals holding xlink:href */
	size_t nxlinks, cxlinks;
	struct buf arena;           /* strings the nodes and edits point to */
	struct buf text, full, tmp; /* scratch */
	struct { uint32_t node; uint8_t type; uint32_t level; } stack[MAXDEPTH];
	unsigned depth;
	struct use *uses;
	size_t nuses, cuses;
	struct copy *copies;
	size_t ncopies, ccopies;
	size_t count;               /* output bytes (dry run) */
	int rc;
	char err[256];
};

/* ---- bookkeeping ---- */

static int fail(struct dash *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the first error and stop the parser. */
static int fail(struct dash *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->rc) {
		va_start(ap, fmt);
		vsnprintf(d->err, sizeof d->err, fmt, ap);
		va_end(ap);
		d->rc = CDNI_EPARSE;
	}
	if (d->ctxt)
		xmlStopParser(d->ctxt);
	return d->rc;
}

static int nomem(struct dash *d)
{
	if (!d->rc) {
		snprintf(d->err, sizeof d->err, "mpd: out of memory");
		d->rc = CDNI_ENOMEM;
	}
	if (d->ctxt)
		xmlStopParser(d->ctxt);
	return d->rc;
}

/* Room for one more element in *arr (prefaulted when large). */
static bool grow(void **arr, size_t n, size_t *cap, size_t size)
{
	size_t c = *cap ? *cap * 2 : 64;
	void *p;

	if (n < *cap)
		return true;
	if (c > UINT32_MAX / 2 || !(p = realloc(*arr, c * size)))
		return false;
	rw_prefault((char *)p + n * size, (c - n) * size);
	*arr = p;
	*cap = c;
	return true;
}

/* s[0..len) into the arena, NUL-terminated: its offset, or NONE. */
static uint32_t keep_str(struct dash *d, const char *s, size_t len)
{
	size_t at = d->arena.len;

	buf_append(&d->arena, s, len);
	buf_putc(&d->arena, '\0');
	return d->arena.err || at > UINT32_MAX / 2 ? NONE : (uint32_t)at;
}

static const char *arena_at(const struct dash *d, uint32_t at)
{
	return d->arena.data + at;
}

static struct node *N(const struct dash *d, uint32_t i)
{
	return &d->nodes[i];
}

/* A value's text as read (not NUL-terminated when straight from the input). */
static const char *val_str(const struct dash *d, const struct val *v, size_t *len)
{
	if (v->dec != NONE) {
		*len = v->dlen;
		return arena_at(d, v->dec);
	}
	*len = v->len;
	return d->s + v->off;
}

/* ---- locating things in the input ---- */

/* The parser's position as an input offset (NONE outside the input). */
static uint32_t here(const struct dash *d, const xmlChar *p)
{
	xmlParserInputPtr in = d->ctxt->input;
	size_t off;

	if (!in || !p || p < in->base || p > in->end)
		return NONE;
	off = (size_t)(p - in->base) + (size_t)in->consumed;
	return off <= d->n ? (uint32_t)off : NONE;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Does the input hold the qualified name prefix:local at off, ended there? */
static bool qname_at(const struct dash *d, size_t off, const xmlChar *prefix,
		     const xmlChar *local, size_t *qlen)
{
	size_t pl = prefix ? strlen((const char *)prefix) : 0, ll = strlen((const char *)local);
	size_t q = pl ? pl + 1 + ll : ll;
	const char *s = d->s + off;

	if (off + q >= d->n || (pl && (memcmp(s, prefix, pl) || s[pl] != ':')) ||
	    memcmp(s + (pl ? pl + 1 : 0), local, ll))
		return false;
	*qlen = q;
	return is_space(s[q]) || s[q] == '>' || s[q] == '/' || s[q] == '=';
}

/* The start tag the parser just read: '<' at *start, '>' or "/>" at *gt. */
static int locate_tag(struct dash *d, const xmlChar *prefix, const xmlChar *local,
		      uint32_t *start, uint32_t *gt, size_t *qlen, bool *empty)
{
	uint32_t g = here(d, d->ctxt->input->cur);
	const char *lt;

	if (g == NONE || g >= d->n ||
	    !(d->s[g] == '>' || (d->s[g] == '/' && g + 1 < d->n && d->s[g + 1] == '>')))
		return fail(d, "mpd: cannot locate the start tag of <%s> (line %d)", local,
			    xmlSAX2GetLineNumber(d->ctxt));
	/* no '<' inside a start tag: attribute values may not hold one */
	if (!(lt = memrchr(d->s, '<', g)) || !qname_at(d, (size_t)(lt - d->s) + 1, prefix, local, qlen))
		return fail(d, "mpd: cannot locate the start tag of <%s> (line %d)", local,
			    xmlSAX2GetLineNumber(d->ctxt));
	*start = (uint32_t)(lt - d->s);
	*gt = g;
	*empty = d->s[g] == '/';
	return 0;
}

/* Attribute-value normalization (XML 1.0 §3.3.3) of raw[0..n) compared with
 * the value the parser read: predefined and character references, white
 * space to spaces. */
static bool same_value(const char *raw, size_t n, const char *v, size_t vl)
{
	static const struct { const char *ent; char c; } named[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' }
	};
	struct buf b;
	bool same;

	buf_init(&b, 0);
	for (size_t i = 0; i < n;) {
		size_t k = 0;
		if (raw[i] == '&') {
			for (size_t e = 0; e < 5 && !k; e++)
				if (n - i >= strlen(named[e].ent) && !memcmp(raw + i, named[e].ent, strlen(named[e].ent)))
					k = strlen(named[e].ent), buf_putc(&b, named[e].c);
			if (!k && n - i > 3 && raw[i + 1] == '#') {
				char *end;
				bool hex = raw[i + 2] == 'x';
				unsigned long cp = strtoul(raw + i + 2 + hex, &end, hex ? 16 : 10);
				const char *semi = memchr(raw + i, ';', n - i);
				if (!semi || end != semi || cp == 0 || cp > 0x10ffff)
					break;
				rw_put_utf8(&b, cp);
				k = (size_t)(semi - raw) - i + 1;
			}
			if (!k)
				break;
		} else if (raw[i] == '\r' && i + 1 < n && raw[i + 1] == '\n') {
			buf_putc(&b, ' '), k = 2;
		} else {
			buf_putc(&b, is_space(raw[i]) ? ' ' : raw[i]), k = 1;
		}
		i += k;
		if (i == n)
			break;
	}
	same = !b.err && b.len == vl && (vl == 0 || memcmp(b.data, v, vl) == 0);
	buf_free(&b);
	return same;
}

/* Find attribute prefix:local's value in the start tag [start, gt) by its
 * bytes (for values the parser had to decode). */
static bool scan_attr(const struct dash *d, uint32_t start, uint32_t gt, size_t qlen,
		      const xmlChar *prefix, const xmlChar *local, uint32_t *off, uint32_t *len)
{
	size_t i = start + 1 + qlen, nl;

	while (i < gt) {
		while (i < gt && is_space(d->s[i]))
			i++;
		if (i >= gt)
			break;
		bool match = qname_at(d, i, prefix, local, &nl);
		while (i < gt && d->s[i] != '=')
			i++;
		i++;
		while (i < gt && is_space(d->s[i]))
			i++;
		if (i >= gt || (d->s[i] != '"' && d->s[i] != '\''))
			return false;
		const char *q = memchr(d->s + i + 1, d->s[i], gt - i - 1);
		if (!q)
			return false;
		if (match) {
			*off = (uint32_t)i + 1;
			*len = (uint32_t)((size_t)(q - d->s) - i - 1);
			return true;
		}
		i = (size_t)(q - d->s) + 1;
	}
	return false;
}

/* ---- the SAX2 callbacks ---- */

static struct dash *D(void *ctx)
{
	return ((xmlParserCtxtPtr)ctx)->_private;
}

static bool in_ns(const struct dash *d, const xmlChar *uri)
{
	return uri == d->ns || (uri && d->ns && xmlStrEqual(uri, d->ns));
}

/* What an element is, from its parent and name. */
static int classify(struct dash *d, const xmlChar *local, const xmlChar *uri)
{
	int parent = d->depth ? d->stack[d->depth - 1].type : -1;

	if (parent < 0) {
		if (!xmlStrEqual(local, (const xmlChar *)"MPD"))
			return fail(d, "mpd: the root element is not MPD"), N_OTHER;
		d->ns = uri;
		return N_MPD;
	}
	if (parent == N_OTHER || !kids[parent] || !in_ns(d, uri)) {
		if (B(parent) & TEXT_NODES)
			fail(d, "mpd: <%s> holds an element (line %d)", type_names[parent],
			     xmlSAX2GetLineNumber(d->ctxt));
		return N_OTHER;
	}
	for (int t = 0; t < N_OTHER; t++)
		if ((kids[parent] & B(t)) && xmlStrEqual(local, (const xmlChar *)type_names[t]))
			return t;
	return N_OTHER;
}

/* The value v..e as meant, in d->tmp: without entity substitution the
 * parser hands a '&' on as "&#38;" (the only reference it leaves). */
static const char *amp_value(struct dash *d, const xmlChar *v, const xmlChar *e)
{
	const char *p = (const char *)v, *end = (const char *)e, *amp;

	buf_reset(&d->tmp);
	while ((amp = memmem(p, (size_t)(end - p), "&#38;", 5))) {
		buf_append(&d->tmp, p, (size_t)(amp - p));
		buf_putc(&d->tmp, '&');
		p = amp + 5;
	}
	buf_append(&d->tmp, p, (size_t)(end - p));
	buf_putc(&d->tmp, '\0');
	d->tmp.len--;
	return d->tmp.err ? NULL : d->tmp.data;
}

/* One attribute value that matters: find its bytes, check them, keep it. */
static int add_val(struct dash *d, const xmlChar **a, uint32_t start, uint32_t gt, size_t qlen,
		   int name, uint32_t node, uint32_t ord)
{
	const xmlChar *v = a[3], *e = a[4];
	uint32_t off = here(d, v), len = (uint32_t)(e - v);
	struct val *r;

	if (off != NONE && here(d, e) != NONE && off > start && off + len < gt &&
	    memcmp(d->s + off, v, len) == 0 && (d->s[off - 1] == '"' || d->s[off - 1] == '\'') &&
	    d->s[off + len] == d->s[off - 1]) {
		v = NULL; /* its bytes are its value */
	} else if (!amp_value(d, v, e) || !scan_attr(d, start, gt, qlen, a[1], a[0], &off, &len) ||
		   !same_value(d->s + off, len, d->tmp.data, d->tmp.len)) {
		return fail(d, "mpd: cannot locate the value of %s (line %d)", a[0],
			    xmlSAX2GetLineNumber(d->ctxt));
	}
	if (!grow((void **)&d->vals, d->nvals, &d->cvals, sizeof *d->vals))
		return nomem(d);
	r = &d->vals[d->nvals];
	*r = (struct val){ off, len, node, ord, NONE, 0, (uint8_t)name, d->s[off - 1] };
	if (v && (r->dec = keep_str(d, d->tmp.data, d->tmp.len)) == NONE)
		return nomem(d);
	r->dlen = v ? (uint32_t)d->tmp.len : 0;
	if (name == A_HREF) {
		if (!grow((void **)&d->xlinks, d->nxlinks, &d->cxlinks, sizeof *d->xlinks))
			return nomem(d);
		d->xlinks[d->nxlinks++] = (uint32_t)d->nvals;
	}
	d->nvals++;
	return 0;
}

static int attr_name(int type, const xmlChar **a)
{
	if (a[2] && xmlStrEqual(a[2], (const xmlChar *)XLINK_NS))
		return xmlStrEqual(a[0], (const xmlChar *)"href") ? A_HREF : -1;
	if (type == N_OTHER || a[2])
		return -1;
	for (int i = 0; i < A_NAMES; i++)
		if ((attrs_of[type] & B(i)) && xmlStrEqual(a[0], (const xmlChar *)attr_names[i]))
			return i;
	return -1;
}

static uint32_t new_node(struct dash *d, int type, uint32_t start, uint32_t gt, size_t qlen,
			 bool empty)
{
	uint32_t i = (uint32_t)d->nnodes, parent = d->depth ? d->stack[d->depth - 1].node : NONE;

	if (!grow((void **)&d->nodes, d->nnodes, &d->cnodes, sizeof *d->nodes))
		return nomem(d), NONE;
	d->nodes[i] = (struct node){ .parent = parent, .first = NONE, .last = NONE, .next = NONE,
				     .start = start, .gt = gt, .end = NONE, .cend = NONE,
				     .v0 = (uint32_t)d->nvals, .s0 = NONE, .s1 = NONE, .sstart = NONE,
				     .text = NONE, .id = NONE, .qlen = (uint16_t)qlen,
				     .type = (uint8_t)type, .empty = empty };
	if (parent != NONE) {
		if (N(d, parent)->last == NONE)
			N(d, parent)->first = i;
		else
			N(d, N(d, parent)->last)->next = i;
		N(d, parent)->last = i;
	}
	d->nnodes++;
	return i;
}

/* After an element's values: where they end, a Representation's id. */
static int values_done(struct dash *d, int type, uint32_t node, uint32_t owner)
{
	if (type == N_SEGURL)
		N(d, owner)->s1 = (uint32_t)d->nvals;
	if (node == NONE)
		return 0;
	N(d, node)->v1 = (uint32_t)d->nvals;
	for (uint32_t v = N(d, node)->v0; type == N_REP && v < N(d, node)->v1; v++) {
		size_t n;
		const char *s;
		if (d->vals[v].name != A_ID)
			continue;
		s = val_str(d, &d->vals[v], &n);
		if ((N(d, node)->id = keep_str(d, s, n)) == NONE)
			return nomem(d);
	}
	return 0;
}

static void on_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
		     int nns, const xmlChar **nss, int nattr, int ndefaulted, const xmlChar **attrs)
{
	struct dash *d = D(ctx);
	uint32_t start = 0, gt = 0, node = NONE, owner, level;
	size_t qlen = 0;
	bool empty = false;
	int type;

	(void)nns; (void)nss; (void)ndefaulted;
	if (d->rc)
		return;
	if (d->depth == MAXDEPTH) {
		fail(d, "mpd: elements nested too deep");
		return;
	}
	if (d->ctxt->input->buf && d->ctxt->input->buf->encoder) {
		fail(d, "mpd: not UTF-8");
		return;
	}
	type = classify(d, local, uri);
	if (d->rc || locate_tag(d, prefix, local, &start, &gt, &qlen, &empty))
		return;
	level = d->depth ? d->stack[d->depth - 1].level : NONE;
	owner = d->depth ? d->stack[d->depth - 1].node : NONE;
	if (type != N_OTHER && type != N_SEGURL &&
	    (node = new_node(d, type, start, gt, qlen, empty)) == NONE)
		return;
	if (type == N_SEGURL) {
		struct node *l = N(d, owner);
		if (l->sstart == NONE)
			l->sstart = start, l->s0 = (uint32_t)d->nvals;
		l->nseg++;
	}
	for (int i = 0; i < nattr && !d->rc; i++) {
		const xmlChar **a = attrs + 5 * i;
		int name = attr_name(type, a);
		if (name == A_HREF)
			add_val(d, a, start, gt, qlen, name, node, level);
		else if (name >= 0 && type == N_SEGURL)
			add_val(d, a, start, gt, qlen, name, owner, N(d, owner)->nseg - 1);
		else if (name >= 0)
			add_val(d, a, start, gt, qlen, name, node, 0);
	}
	if (d->rc || values_done(d, type, node, owner))
		return;
	buf_reset(&d->text);
	d->stack[d->depth].node = type == N_SEGURL ? owner : node;
	d->stack[d->depth].type = (uint8_t)type;
	d->stack[d->depth].level = (B(type) & LEVELS) ? node : level;
	d->depth++;
}

/* The end of a text element: is the content's every byte its text? */
static int text_done(struct dash *d, struct node *n)
{
	size_t cl = n->empty ? 0 : n->cend - n->gt - 1;

	n->raw = cl == d->text.len && (cl == 0 || memcmp(d->s + n->gt + 1, d->text.data, cl) == 0);
	n->tlen = (uint32_t)d->text.len;
	n->text = keep_str(d, d->text.len ? d->text.data : "", d->text.len);
	return n->text == NONE ? nomem(d) : 0;
}

static void on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
	struct dash *d = D(ctx);
	uint32_t end = here(d, d->ctxt->input->cur), node;
	int type;
	size_t q;

	(void)uri;
	if (d->rc || !d->depth)
		return;
	d->depth--;
	type = d->stack[d->depth].type;
	node = d->stack[d->depth].node;
	if (type == N_OTHER)
		return;
	if (end == NONE || end < 2 || d->s[end - 1] != '>')
		return (void)fail(d, "mpd: cannot locate the end of <%s>", local);
	if (type == N_SEGURL) {
		N(d, node)->send = end;
		return;
	}
	N(d, node)->end = end;
	if (!N(d, node)->empty) {
		const char *lt = memrchr(d->s, '<', end);
		if (!lt || lt[1] != '/' || !qname_at(d, (size_t)(lt - d->s) + 2, prefix, local, &q))
			return (void)fail(d, "mpd: cannot locate the end tag of <%s>", local);
		N(d, node)->cend = (uint32_t)(lt - d->s);
	}
	if (B(type) & TEXT_NODES)
		text_done(d, N(d, node));
}

static void on_text(void *ctx, const xmlChar *ch, int len)
{
	struct dash *d = D(ctx);

	if (!d->rc && d->depth && (B(d->stack[d->depth - 1].type) & TEXT_NODES))
		buf_append(&d->text, ch, (size_t)len);
}

static void on_dtd(void *ctx, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
	(void)name; (void)eid; (void)sid;
	fail(D(ctx), "mpd: a DTD (refused)");
}

static void on_entity(void *ctx, const xmlChar *name, int type, const xmlChar *pid,
		      const xmlChar *sid, xmlChar *content)
{
	(void)type; (void)pid; (void)sid; (void)content;
	fail(D(ctx), "mpd: an entity declaration (%s, refused)", name);
}

/* ---- edits ---- */

static int add_edit(struct dash *d, struct edit e)
{
	if (!grow((void **)&d->edits, d->nedits, &d->cedits, sizeof *d->edits))
		return CDNI_ENOMEM;
	e.seq = (uint32_t)d->nedits;
	d->edits[d->nedits++] = e;
	return 0;
}

static const bool special[256] = { ['&'] = true, ['<'] = true, ['>'] = true, ['"'] = true,
				   ['\''] = true };

/* s escaped for XML: as an attribute value in quote (0: as text). */
static uint32_t escaped(struct dash *d, const char *s, size_t len, char quote, size_t *out_len)
{
	size_t at = d->arena.len, from = 0;

	/* the usual URI has none of them: five vectorized scans, one copy */
	if (!memchr(s, '&', len) && !memchr(s, '<', len) && !memchr(s, '>', len) &&
	    !memchr(s, '"', len) && !memchr(s, '\'', len))
		from = len, buf_append(&d->arena, s, len);
	for (size_t i = from; i < len; i++) {
		const char *e;
		if (!special[(unsigned char)s[i]])
			continue;
		e = s[i] == '&' ? "&amp;" : s[i] == '<' ? "&lt;"
		  : s[i] == '>' && !quote ? "&gt;" : s[i] == '"' && quote == '"' ? "&quot;"
		  : s[i] == '\'' && quote == '\'' ? "&apos;" : NULL;
		if (!e)
			continue;
		buf_append(&d->arena, s + from, i - from);
		buf_puts(&d->arena, e);
		from = i + 1;
	}
	buf_append(&d->arena, s + from, len - from);
	*out_len = d->arena.len - at;
	return d->arena.err ? NONE : (uint32_t)at;
}

/* Replace input [off, off + len) with s (escaped), for rep (NONE: the document). */
static int replace(struct dash *d, uint32_t off, uint32_t len, const char *s, size_t slen,
		   char quote, uint32_t rep, uint8_t order)
{
	size_t el;
	uint32_t at = escaped(d, s, slen, quote, &el);

	if (at == NONE)
		return CDNI_ENOMEM;
	return add_edit(d, (struct edit){ .off = off, .len = len, .rep = rep, .kind = E_TEXT,
					  .order = order, .a = at, .b = (uint32_t)el });
}

/* A new attribute name="s" in node's start tag. */
static int insert_attr(struct dash *d, uint32_t node, int name, const char *s, size_t len,
		       uint32_t rep)
{
	size_t at = d->arena.len, el;

	buf_printf(&d->arena, " %s=\"", attr_names[name]);
	if (d->arena.err || escaped(d, s, len, '"', &el) == NONE)
		return CDNI_ENOMEM;
	buf_putc(&d->arena, '"');
	return d->arena.err ? CDNI_ENOMEM
			    : add_edit(d, (struct edit){ .off = N(d, node)->gt, .rep = rep,
							 .kind = E_TEXT, .order = 0, .a = (uint32_t)at,
							 .b = (uint32_t)(d->arena.len - at) });
}

/* Copy input [a, b) as rendered for crep into node's content at off
 * (NONE: at its end); an empty element ("/>") is opened and closed. */
static int insert_copy(struct dash *d, uint32_t node, uint32_t off, uint32_t a, uint32_t b,
		       uint32_t crep, uint32_t rep)
{
	const struct node *n = N(d, node);
	bool opened = false;
	int rc;

	if (n->empty) {
		for (size_t i = 0; i < d->nedits && !opened; i++)
			opened = d->edits[i].kind == E_CLOSE && d->edits[i].off == n->gt &&
				 d->edits[i].rep == rep;
		if (!opened &&
		    ((rc = add_edit(d, (struct edit){ .off = n->gt, .rep = rep, .kind = E_OPEN, .order = 1 })) ||
		     (rc = add_edit(d, (struct edit){ .off = n->gt, .len = 2, .rep = rep, .kind = E_CLOSE,
						      .order = 3, .a = node }))))
			return rc;
		off = n->gt;
	} else if (off == NONE) {
		off = n->cend;
	}
	return add_edit(d, (struct edit){ .off = off, .rep = rep, .kind = E_COPY, .order = 2, .a = a,
					  .b = b, .crep = crep });
}

static int edit_cmp(const void *pa, const void *pb)
{
	const struct edit *a = pa, *b = pb;

	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void emit(struct dash *d, struct buf *out, const char *p, size_t n)
{
	if (out)
		buf_append(out, p, n);
	else
		d->count += n;
}

/* Does a later edit for rep replace the same bytes as edits[i]? */
static bool overridden(const struct dash *d, size_t i, uint32_t rep)
{
	const struct edit *e = &d->edits[i];

	for (size_t j = i + 1; j < d->nedits; j++) {
		const struct edit *f = &d->edits[j];
		if (f->off != e->off || f->len != e->len || f->order != e->order)
			return false;
		if (f->rep == rep)
			return true;
	}
	return false;
}

static int render(struct dash *d, struct buf *out, uint32_t start, uint32_t end, uint32_t rep,
		  int depth);

static int render_edit(struct dash *d, struct buf *out, const struct edit *e, int depth)
{
	const struct node *n;

	switch (e->kind) {
	case E_TEXT:
		emit(d, out, arena_at(d, e->a), e->b);
		return 0;
	case E_COPY:
		return render(d, out, e->a, e->b, e->crep, depth + 1);
	case E_OPEN:
		emit(d, out, ">", 1);
		return 0;
	default:
		n = N(d, e->a);
		emit(d, out, "</", 2);
		emit(d, out, d->s + n->start + 1, n->qlen);
		emit(d, out, ">", 1);
		return 0;
	}
}

/* The input [start, end) with the edits for rep (and the document's). */
static int render(struct dash *d, struct buf *out, uint32_t start, uint32_t end, uint32_t rep,
		  int depth)
{
	size_t lo = 0, hi = d->nedits;
	uint32_t pos = start;
	int rc;

	if (depth > 2)
		return CDNI_EPARSE;
	while (lo < hi) { /* the first edit at or after start */
		size_t mid = (lo + hi) / 2;
		if (d->edits[mid].off < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < d->nedits && d->edits[i].off < end; i++) {
		const struct edit *e = &d->edits[i];
		if ((e->rep != NONE && e->rep != rep) || (e->rep == NONE && rep != NONE && overridden(d, i, rep)))
			continue;
		if (e->off < pos || e->off + e->len > end)
			return CDNI_EPARSE; /* overlapping edits: never half-rewritten */
		emit(d, out, d->s + pos, e->off - pos);
		if ((rc = render_edit(d, out, e, depth)))
			return rc;
		pos = e->off + e->len;
	}
	emit(d, out, d->s + pos, end - pos);
	return 0;
}

/* ---- deciding ---- */

static uint32_t child(const struct dash *d, uint32_t node, int type)
{
	for (uint32_t c = node == NONE ? NONE : N(d, node)->first; c != NONE; c = N(d, c)->next)
		if (N(d, c)->type == type)
			return c;
	return NONE;
}

static const struct val *attr(const struct dash *d, uint32_t node, int name)
{
	if (node == NONE)
		return NULL;
	for (uint32_t v = N(d, node)->v0; v < N(d, node)->v1; v++)
		if (d->vals[v].name == name && d->vals[v].node == node)
			return &d->vals[v];
	return NULL;
}

/* base + ref -> out (reset first). */
static void resolve_into(struct buf *out, const char *base, const char *ref, size_t rlen)
{
	struct rw_url b, r;

	buf_reset(out);
	rw_url_split(base, strlen(base), &b);
	rw_url_split(ref, rlen, &r);
	rw_url_resolve(out, &b, &r);
}

/* Decide ref (written in a document whose base chain was b0 and will be
 * b1). Sets *keep, or the text to write in d->text. With need_full (or
 * when the chains differ), d->full gets the absolute URL the player should
 * fetch (token included). */
static int place(struct dash *d, const struct rw_site *site, const char *ref, size_t len,
		 const char *b0, const char *b1, bool need_full, bool *keep)
{
	const struct rw_policy *p = rw_ctx_policy(d->x);
	bool same = strcmp(b0, b1) == 0;
	struct rw_mapped m;
	int rc;

	buf_reset(&d->text);
	buf_reset(&d->full);
	/* the document's own URL (NULL): rw_map has it split already */
	if ((rc = rw_map(d->x, site, ref, len, strcmp(b0, rw_ctx_base(d->x)) ? b0 : NULL, &d->text,
			 same && !need_full ? NULL : &d->full, &m)))
		return rc;
	*keep = !m.changed;
	if (same && !need_full)
		return d->text.err;
	if (m.foreign)
		resolve_into(&d->full, b0, ref, len);
	else if (m.token)
		buf_printf(&d->full, "%c%s=%s", strchr(d->full.data, '?') ? '&' : '?', p->attr,
			   m.token);
	if (d->full.err || d->text.err)
		return CDNI_ENOMEM;
	if (same || m.foreign)
		return 0;
	resolve_into(&d->tmp, b1, ref, len);
	if (d->tmp.err)
		return CDNI_ENOMEM;
	if (strcmp(d->tmp.data, d->full.data) == 0) {
		*keep = true;
		return 0;
	}
	*keep = false;
	resolve_into(&d->tmp, b1, d->text.data, d->text.len);
	if (d->tmp.err || strcmp(d->tmp.data, d->full.data) != 0) {
		buf_reset(&d->text);
		buf_append(&d->text, d->full.data, d->full.len);
	}
	return d->text.err;
}

/* ---- BaseURL, Location, PatchLocation, xlink:href ---- */

/* A text element's content becomes d->text. */
static int set_text(struct dash *d, const struct node *n, size_t lead, size_t len)
{
	size_t at = d->arena.len, el;

	if (n->raw && !n->empty)
		return replace(d, n->gt + 1 + (uint32_t)lead, (uint32_t)len, d->text.data, d->text.len, 0,
			       NONE, 0);
	if (!n->empty) /* entities, CDATA or comments inside: the whole content is rewritten */
		return replace(d, n->gt + 1, n->cend - n->gt - 1, d->text.data, d->text.len, 0, NONE, 0);
	buf_putc(&d->arena, '>'); /* <BaseURL/> -> <BaseURL>text</BaseURL> */
	if (escaped(d, d->text.data, d->text.len, 0, &el) == NONE)
		return CDNI_ENOMEM;
	buf_printf(&d->arena, "</%.*s>", (int)n->qlen, d->s + n->start + 1);
	return d->arena.err ? CDNI_ENOMEM
			    : add_edit(d, (struct edit){ .off = n->gt, .len = 2, .rep = NONE, .kind = E_TEXT,
							 .a = (uint32_t)at, .b = (uint32_t)(d->arena.len - at) });
}

static char *dup_str(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* One element whose text is a URI; b0/b1 are the chains it is resolved
 * against. With chain, the level's chains become the element's. */
static int text_uri(struct dash *d, uint32_t node, const struct rw_site *site, const char *b0,
		    const char *b1, struct level *chain)
{
	const struct node *n = N(d, node);
	const char *t = arena_at(d, n->text);
	size_t lead = 0, len = n->tlen;
	bool keep;
	int rc;

	while (lead < len && is_space(t[lead]))
		lead++;
	while (len > lead && is_space(t[len - 1]))
		len--;
	len -= lead;
	t += lead;
	if ((rc = place(d, site, t, len, b0, b1, chain != NULL, &keep)))
		return rc;
	if (chain) { /* before set_text, which may move the arena t is in */
		char *nb0, *nb1 = strdup(d->full.data);
		resolve_into(&d->tmp, b0, t, len);
		nb0 = d->tmp.err ? NULL : dup_str(d->tmp.data, d->tmp.len);
		if (!nb0 || !nb1) {
			free(nb0);
			free(nb1);
			return CDNI_ENOMEM;
		}
		free(chain->b0);
		free(chain->b1);
		chain->b0 = nb0;
		chain->b1 = nb1;
	}
	return keep ? 0 : set_text(d, n, lead, len);
}

/* True when a SegmentList or SegmentTemplate is in force at this level. */
static bool segmented(const struct level *l)
{
	for (; l; l = l->up)
		if (l->seg[SEG_LIST] != NONE || l->seg[SEG_TEMPLATE] != NONE)
			return true;
	return false;
}

static int bases(struct dash *d, struct level *l, bool is_rep)
{
	struct rw_site site = { .kind = RW_K_BASE, .number = -1, .representation = l->rep };
	const char *b0 = l->up ? l->up->b0 : rw_ctx_base(d->x);
	const char *b1 = l->up ? l->up->b1 : rw_ctx_base(d->x);
	bool first = true;
	int rc;

	if (is_rep && !segmented(l))
		site.kind = RW_K_SEGMENT; /* SegmentBase: the BaseURL is the media */
	for (uint32_t c = N(d, l->node)->first; c != NONE; c = N(d, c)->next) {
		if (N(d, c)->type != N_BASEURL)
			continue;
		if ((rc = text_uri(d, c, &site, b0, b1, first ? l : NULL)))
			return rc;
		first = false;
	}
	return 0;
}

static int locations(struct dash *d, uint32_t mpd)
{
	struct rw_site site = { .kind = RW_K_PLAYLIST, .number = -1 };
	const char *b = rw_ctx_base(d->x);
	int rc;

	for (uint32_t c = N(d, mpd)->first; c != NONE; c = N(d, c)->next)
		if ((N(d, c)->type == N_LOCATION || N(d, c)->type == N_PATCHLOC) &&
		    (rc = text_uri(d, c, &site, b, b, NULL)))
			return rc;
	return 0;
}

/* A value's text becomes s, for rep (NONE: the document). */
static int put_val(struct dash *d, const struct val *v, const char *s, size_t len, uint32_t rep)
{
	return replace(d, v->off, v->len, s, len, v->quote, rep, 0);
}

/* xlink:href of the elements whose innermost level is l. */
static int xlinks(struct dash *d, const struct level *l)
{
	struct rw_site site = { .kind = RW_K_PLAYLIST, .number = -1, .representation = l->rep };
	bool keep;
	int rc;

	for (size_t i = 0; i < d->nxlinks; i++) {
		const struct val *v = &d->vals[d->xlinks[i]];
		size_t len;
		const char *s = val_str(d, v, &len);
		if (v->ord != l->node)
			continue;
		if ((rc = place(d, &site, s, len, l->b0, l->b1, false, &keep)))
			return rc;
		if (!keep && (rc = put_val(d, v, d->text.data, d->text.len, NONE)))
			return rc;
	}
	return 0;
}

/* ---- segment information ---- */

/* The node holding slot s's URI under el (el itself or its child), or NONE. */
static uint32_t slot_host(const struct dash *d, uint32_t el, const struct slot *s)
{
	uint32_t h = s->child && s->child != N_SEGURL ? child(d, el, s->child) : el;

	if (h == NONE)
		return NONE;
	if (s->child == N_SEGURL)
		return N(d, h)->nseg ? h : NONE;
	return attr(d, h, s->attr) ? h : NONE;
}

static long long start_number(const struct dash *d, const struct level *l)
{
	for (; l; l = l->up) {
		const struct val *v = l->seg[SEG_LIST] != NONE ? attr(d, l->seg[SEG_LIST], A_STARTNUMBER) : NULL;
		if (v) {
			char num[24];
			size_t n;
			const char *s = val_str(d, v, &n);
			long long k;
			snprintf(num, sizeof num, "%.*s", (int)(n < 23 ? n : 23), s);
			k = strtoll(num, NULL, 10);
			return k >= 0 ? k : 1;
		}
	}
	return 1;
}

/* One attribute URI -> "K" (keep) or "W" + text, appended to out; "-" when
 * there is none. Without out, the new text is written into the document
 * at once (segment information set at the Representation itself). */
static int attr_output(struct dash *d, const struct val *v, const struct rw_site *site,
		       const struct level *r, struct buf *out)
{
	size_t len;
	const char *s;
	bool keep;
	int rc;

	if (!v) {
		if (out)
			buf_puts(out, "-\n");
		return out ? out->err : 0;
	}
	s = val_str(d, v, &len);
	if ((rc = place(d, site, s, len, r->b0, r->b1, false, &keep)))
		return rc;
	if (!out)
		return keep ? 0 : put_val(d, v, d->text.data, d->text.len, NONE);
	if (keep)
		buf_puts(out, "K\n");
	else {
		buf_putc(out, 'W');
		buf_append(out, d->text.data, d->text.len);
		buf_putc(out, '\n');
	}
	return out->err;
}

/* A SegmentList's SegmentURLs in order: the media and index values of the
 * k-th (NULL: absent), from the cursor *v. */
static void seg_url(const struct dash *d, uint32_t list, uint32_t k, uint32_t *v,
		    const struct val **media, const struct val **index)
{
	const struct node *l = N(d, list);

	*media = *index = NULL;
	for (; *v < l->s1; (*v)++) {
		const struct val *x = &d->vals[*v];
		if (x->node != list || x->name == A_HREF)
			continue;
		if (x->ord != k)
			break;
		if (x->name == A_MEDIA)
			*media = x;
		else
			*index = x;
	}
}

/* What slot s's URIs under el should become for Representation r (out
 * NULL: written into the document at once). */
static int slot_output(struct dash *d, uint32_t el, const struct slot *s, const struct level *r,
		       struct buf *out)
{
	struct rw_site site = { .kind = s->kind, .number = -1, .representation = r->rep,
				.template = s->template };
	const struct val *media, *index;
	uint32_t v;
	long long n;
	int rc;

	if (s->child != N_SEGURL)
		return attr_output(d, attr(d, slot_host(d, el, s), s->attr), &site, r, out);
	n = start_number(d, r);
	v = N(d, el)->s0;
	for (uint32_t k = 0; k < N(d, el)->nseg; k++, n++) {
		seg_url(d, el, k, &v, &media, &index);
		site.kind = RW_K_SEGMENT;
		site.number = n;
		if ((rc = attr_output(d, media, &site, r, out)))
			return rc;
		site.kind = RW_K_INDEX;
		if ((rc = attr_output(d, index, &site, r, out)))
			return rc;
	}
	return 0;
}

/* Next "K"/"W..."/"-" line of an output: its letter; *text, *len: the W's text. */
static char next_out(const char **p, const char **text, size_t *len)
{
	const char *line = *p, *nl = strchr(line, '\n');

	if (!nl)
		return 0;
	*p = nl + 1;
	*text = line + 1;
	*len = (size_t)(nl - line) - 1;
	return line[0];
}

static int put_line(struct dash *d, const struct val *v, const char **p, uint32_t rep)
{
	const char *t;
	size_t len;

	if (next_out(p, &t, &len) != 'W' || !v)
		return 0;
	return put_val(d, v, t, len, rep);
}

/* Write an output (from slot_output) into el's values, for rep (NONE: the
 * document). */
static int apply(struct dash *d, uint32_t el, const struct slot *s, const char *out, uint32_t rep)
{
	const struct val *media, *index;
	const char *p = out;
	uint32_t v;
	int rc;

	if (s->child != N_SEGURL)
		return put_line(d, attr(d, slot_host(d, el, s), s->attr), &p, rep);
	v = N(d, el)->s0;
	for (uint32_t k = 0; k < N(d, el)->nseg; k++) {
		seg_url(d, el, k, &v, &media, &index);
		if ((rc = put_line(d, media, &p, rep)) || (rc = put_line(d, index, &p, rep)))
			return rc;
	}
	return 0;
}

/* The level and element that supply slot s to the Representation at r. */
static uint32_t slot_owner(const struct dash *d, const struct level *r, const struct slot *s,
			   const struct level **at)
{
	for (const struct level *l = r; l; l = l->up) {
		uint32_t el = l->seg[s->type];
		if (el != NONE && slot_host(d, el, s) != NONE) {
			*at = l;
			return el;
		}
	}
	return NONE;
}

static int add_use(struct dash *d, uint32_t owner, uint32_t rep, size_t slot, struct buf *out)
{
	if (!grow((void **)&d->uses, d->nuses, &d->cuses, sizeof *d->uses))
		return CDNI_ENOMEM;
	d->uses[d->nuses] = (struct use){ owner, rep, slot, strdup(out->data ? out->data : ""), false };
	if (!d->uses[d->nuses].out)
		return CDNI_ENOMEM;
	d->nuses++;
	return 0;
}

static int representation(struct dash *d, const struct level *r)
{
	struct buf out;
	int rc = 0;

	buf_init(&out, 0);
	for (size_t i = 0; i < NSLOTS && !rc; i++) {
		const struct level *at = NULL;
		uint32_t owner = slot_owner(d, r, &slots[i], &at);
		if (owner == NONE)
			continue;
		buf_reset(&out);
		if (at == r) /* its own: no one else to agree with */
			rc = slot_output(d, owner, &slots[i], r, NULL);
		else if (!(rc = slot_output(d, owner, &slots[i], r, &out)))
			rc = add_use(d, owner, r->node, i, &out);
	}
	buf_free(&out);
	return rc;
}

/* ---- inherited segment information: uniform, or copied down ---- */

static uint32_t find_copy(const struct dash *d, uint32_t rep, enum seg_type type)
{
	for (size_t i = 0; i < d->ncopies; i++)
		if (d->copies[i].rep == rep && d->copies[i].type == type)
			return d->copies[i].owner;
	return NONE;
}

/* Slot s's URIs from owner, as out says, into target: a Representation's
 * own element of owner's type (tag NONE: it is in the document) or the
 * copy made for rep of another element of that type (tag rep). The missing
 * attribute is added, or the missing child copied in. */
static int into(struct dash *d, uint32_t owner, uint32_t target, const struct slot *s,
		const char *out, uint32_t rep, uint32_t tag)
{
	const char *p = out, *t;
	const struct val *v;
	uint32_t c, h;
	size_t len;
	int rc;

	if (s->child == N_SEGURL) { /* (a target with SegmentURLs of its own would own them) */
		if (N(d, target)->nseg)
			return 0;
		if ((rc = apply(d, owner, s, out, rep)))
			return rc;
		return insert_copy(d, target, NONE, N(d, owner)->sstart, N(d, owner)->send, rep, tag);
	}
	c = s->child ? child(d, target, s->child) : target;
	if (c != NONE) {
		if (next_out(&p, &t, &len) != 'W')
			return 0;
		v = attr(d, c, s->attr);
		return v ? put_val(d, v, t, len, tag) : insert_attr(d, c, s->attr, t, len, tag);
	}
	h = slot_host(d, owner, s);
	if ((rc = apply(d, owner, s, out, rep)))
		return rc;
	return insert_copy(d, target, NONE, N(d, h)->start, N(d, h)->end, rep, tag);
}

/* A copy of owner into Representation rep, after its BaseURLs. */
static int new_copy(struct dash *d, uint32_t owner, uint32_t rep, enum seg_type type)
{
	uint32_t last = NONE, off;

	if (!grow((void **)&d->copies, d->ncopies, &d->ccopies, sizeof *d->copies))
		return CDNI_ENOMEM;
	d->copies[d->ncopies++] = (struct copy){ rep, owner, type };
	for (uint32_t c = N(d, rep)->first; c != NONE; c = N(d, c)->next)
		if (N(d, c)->type == N_BASEURL)
			last = c;
	off = last != NONE ? N(d, last)->end : N(d, rep)->gt + 1;
	return insert_copy(d, rep, off, N(d, owner)->start, N(d, owner)->end, rep, NONE);
}

static int copy_down(struct dash *d, const struct use *u)
{
	const struct slot *s = &slots[u->slot];
	uint32_t own = child(d, u->rep, N_SEGBASE + (int)s->type), c;
	int rc;

	if (own != NONE)
		return into(d, u->owner, own, s, u->out, u->rep, NONE);
	if ((c = find_copy(d, u->rep, s->type)) == NONE) {
		if ((rc = new_copy(d, u->owner, u->rep, s->type)))
			return rc;
		c = u->owner;
	}
	if (c == u->owner)
		return apply(d, u->owner, s, u->out, u->rep);
	return into(d, u->owner, c, s, u->out, u->rep, u->rep);
}

/* Nothing to write: every URI keeps its text (the owner keeps it too). */
static bool keeps_all(const char *out)
{
	for (const char *p = out; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != 0))
		if (*p == 'W')
			return false;
	return true;
}

static bool same_group(const struct use *a, const struct use *b)
{
	return !b->done && a->owner == b->owner && a->slot == b->slot;
}

/* Each group of uses (one owner, one slot): written where it is set when
 * every Representation wants the same, else in each Representation. */
static int settle_uses(struct dash *d)
{
	int rc = 0;

	for (size_t i = 0; i < d->nuses && !rc; i++) {
		struct use *u = &d->uses[i];
		bool same = true;
		if (u->done)
			continue;
		for (size_t j = i + 1; j < d->nuses && same; j++)
			if (same_group(u, &d->uses[j]))
				same = strcmp(d->uses[j].out, u->out) == 0;
		if (same)
			rc = apply(d, u->owner, &slots[u->slot], u->out, NONE);
		for (size_t j = i; j < d->nuses && !rc; j++) {
			struct use *v = &d->uses[j];
			if (!same_group(u, v) && j != i)
				continue;
			if (!same && !keeps_all(v->out))
				rc = copy_down(d, v);
			if (j != i)
				v->done = true;
		}
		u->done = true;
	}
	return rc;
}

/* ---- the walk: MPD > Period > AdaptationSet > Representation ---- */

static int walk(struct dash *d, uint32_t node, const struct level *up, int depth)
{
	struct level l = { .up = up, .node = node };
	char *rep_id = NULL;
	int rc = CDNI_ENOMEM;

	l.b0 = strdup(up ? up->b0 : rw_ctx_base(d->x));
	l.b1 = strdup(up ? up->b1 : rw_ctx_base(d->x));
	if (!l.b0 || !l.b1)
		goto done;
	if (depth == 3 && N(d, node)->id != NONE && !(l.rep = rep_id = strdup(arena_at(d, N(d, node)->id))))
		goto done;
	for (int t = 0; t < SEG_NTYPES; t++)
		l.seg[t] = child(d, node, N_SEGBASE + t);
	if ((rc = bases(d, &l, depth == 3)) || (rc = xlinks(d, &l)))
		goto done;
	if (depth == 0 && (rc = locations(d, node)))
		goto done;
	if (depth == 3) {
		rc = representation(d, &l);
		goto done;
	}
	for (uint32_t c = N(d, node)->first; c != NONE && !rc; c = N(d, c)->next)
		if (N(d, c)->type == N_MPD + depth + 1)
			rc = walk(d, c, &l, depth + 1);
done:
	free(rep_id);
	free(l.b0);
	free(l.b1);
	return rc;
}

/* ---- parse, decide, splice ---- */

static int precheck(struct dash *d, char *err, size_t errlen)
{
	const char *p = d->s;
	size_t n = d->n;

	if (n > rw_ctx_policy(d->x)->max_output || n >= UINT32_MAX / 2) {
		snprintf(err, errlen, "mpd: larger than max_output");
		return CDNI_EOVERFLOW;
	}
	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3, n -= 3;
	while (n && is_space(*p))
		p++, n--;
	if (!n || *p != '<') {
		snprintf(err, errlen, "mpd: not an XML document (UTF-8 expected)");
		return CDNI_EPARSE;
	}
	if (memmem(d->s, d->n, "<!DOCTYPE", 9) || memmem(d->s, d->n, "<!ENTITY", 8)) {
		snprintf(err, errlen, "mpd: a DOCTYPE or entity declaration (refused: no DTDs, "
				      "no entities)");
		return CDNI_EPARSE;
	}
	return 0;
}

static int parse(struct dash *d, char *err, size_t errlen)
{
	xmlSAXHandler sax;
	size_t at = 0;
	int rc;

	memset(&sax, 0, sizeof sax);
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = on_start;
	sax.endElementNs = on_end;
	sax.characters = on_text;
	sax.cdataBlock = on_text;
	sax.internalSubset = on_dtd;
	sax.externalSubset = on_dtd;
	sax.entityDecl = on_entity;
	/* pushed in pieces: the parser's buffer stays small (it drops what it
	 * has read) and the callbacks' pointers map back to input offsets */
	if (!(d->ctxt = xmlCreatePushParserCtxt(&sax, NULL, NULL, 0, rw_ctx_base(d->x))))
		return CDNI_ENOMEM;
	d->ctxt->_private = d;
	/* no encoding conversion (the input's own bytes are spliced), no
	 * network, no entity substitution, no DTD loading */
	xmlCtxtUseOptions(d->ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
				   XML_PARSE_IGNORE_ENC);
	do {
		size_t k = d->n - at < 16384 ? d->n - at : 16384;
		xmlParseChunk(d->ctxt, d->s + at, (int)k, at + k == d->n);
		at += k;
	} while (at < d->n && !d->rc && d->ctxt->wellFormed);
	if (d->rc) {
		snprintf(err, errlen, "%s", d->err);
		rc = d->rc;
	} else if (!d->ctxt->wellFormed || !d->nnodes || d->depth) {
		xmlErrorPtr e = xmlCtxtGetLastError(d->ctxt);
		snprintf(err, errlen, "mpd: invalid XML at line %d: %.*s", e ? e->line : 0,
			 e && e->message ? (int)strcspn(e->message, "\n") : 7,
			 e && e->message ? e->message : "unknown");
		rc = CDNI_EPARSE;
	} else {
		rc = 0;
	}
	if (d->ctxt->myDoc)
		xmlFreeDoc(d->ctxt->myDoc);
	xmlFreeParserCtxt(d->ctxt);
	d->ctxt = NULL;
	return rc;
}

/* The input with its edits, into out (exactly sized, prefaulted). */
static int splice(struct dash *d, struct buf *out)
{
	int rc;

	for (size_t i = 1; i < d->nedits; i++) /* usually made in order already */
		if (edit_cmp(&d->edits[i - 1], &d->edits[i]) > 0) {
			qsort(d->edits, d->nedits, sizeof *d->edits, edit_cmp);
			break;
		}
	d->count = 0;
	if ((rc = render(d, NULL, 0, (uint32_t)d->n, NONE, 0)))
		return rc;
	if (buf_reserve(out, d->count + 1))
		return out->err;
	rw_prefault(out->data + out->len, d->count);
	return render(d, out, 0, (uint32_t)d->n, NONE, 0) ? CDNI_EPARSE : out->err;
}

/* Room for what a document of this size usually needs (a URI value every
 * 40 bytes, as much new text as half again the input: a SegmentList line
 * is about 40 bytes), prefaulted in one call each: first touches one page
 * at a time are what a short run pays most for. More grows as needed. */
static int reserve(struct dash *d)
{
	size_t k = d->n / 40 + 64, a = d->n + d->n / 2 + 4096;

	if (!(d->vals = malloc(k * sizeof *d->vals)) || !(d->edits = malloc(k * sizeof *d->edits)) ||
	    buf_reserve(&d->arena, a))
		return CDNI_ENOMEM;
	d->cvals = d->cedits = k;
	rw_prefault(d->vals, k * sizeof *d->vals);
	rw_prefault(d->edits, k * sizeof *d->edits);
	rw_prefault(d->arena.data, a);
	return 0;
}

static int dash_whole(void *st, const char *data, size_t len, struct buf *out, char *err,
		      size_t errlen)
{
	struct dash *d = st;
	int rc;

	d->s = data ? data : "";
	d->n = len;
	if ((rc = precheck(d, err, errlen)) || (rc = reserve(d)) || (rc = parse(d, err, errlen)))
		return rc;
	if ((rc = walk(d, 0, NULL, 0)) || (rc = settle_uses(d)))
		return rc;
	if (d->arena.err)
		return d->arena.err;
	if ((rc = splice(d, out)) == CDNI_EPARSE)
		snprintf(err, errlen, "mpd: overlapping rewrites (refused)");
	return rc;
}

static int dash_finish(void *st, struct buf *out, char *err, size_t errlen)
{
	struct dash *d = st;

	return dash_whole(st, d->in.data, d->in.len, out, err, errlen);
}

static int dash_feed(void *st, const char *data, size_t len, struct buf *out, char *err,
		     size_t errlen)
{
	struct dash *d = st;

	(void)out;
	buf_append(&d->in, data, len);
	if (d->in.err == CDNI_EOVERFLOW)
		snprintf(err, errlen, "mpd: larger than max_output");
	return d->in.err;
}

static void *dash_open(struct rw_ctx *x, char *err, size_t errlen)
{
	struct dash *d = calloc(1, sizeof *d);

	(void)err; (void)errlen;
	if (!d)
		return NULL;
	xmlInitParser(); /* once; later calls return at once */
	d->x = x;
	buf_init(&d->in, rw_ctx_policy(x)->max_output);
	buf_init(&d->arena, 0);
	buf_init(&d->text, 0);
	buf_init(&d->full, 0);
	buf_init(&d->tmp, 0);
	return d;
}

static void dash_close(void *st)
{
	struct dash *d = st;

	if (!d)
		return;
	for (size_t i = 0; i < d->nuses; i++)
		free(d->uses[i].out);
	free(d->uses);
	free(d->copies);
	free(d->nodes);
	free(d->vals);
	free(d->edits);
	free(d->xlinks);
	buf_free(&d->in);
	buf_free(&d->arena);
	buf_free(&d->text);
	buf_free(&d->full);
	buf_free(&d->tmp);
	free(d);
}

const struct rw_fmt_ops rw_dash_ops = { dash_open, dash_feed, dash_finish, dash_close, dash_whole };
