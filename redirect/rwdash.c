/* DASH MPDs, rewritten through libxml2 (no network, no DTD, no entities:
 * a document with a DOCTYPE or an entity declaration is refused before it
 * is parsed, so entity expansion attacks fail at once).
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
 *   Representation using it wants the same text; otherwise the element is
 *   copied into each Representation (which then overrides it) and
 *   rewritten there.
 *
 * At the Representation level, with no SegmentList or SegmentTemplate in
 * force (SegmentBase, the on-demand profile), the BaseURL is the media
 * itself: it is decided as a segment (and may be signed). Other BaseURLs
 * are decided as kind "base" and never signed (a token in a base's query is
 * not inherited by references resolved against it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "common/err.h"
#include "redirect/rwint.h"

#define XC(s) ((const xmlChar *)(s))

enum seg_type { SEG_BASE = 0, SEG_LIST, SEG_TEMPLATE, SEG_NTYPES };
static const char *const seg_names[SEG_NTYPES] = { "SegmentBase", "SegmentList",
						   "SegmentTemplate" };

/* A place where segment information holds a URI. */
struct slot {
	enum seg_type type;
	const char *child; /* the URI is on this child element (NULL: on the element) */
	const char *attr;  /* NULL: the SegmentURL list (media and index) */
	enum rw_kind kind;
	bool template;
};

static const struct slot slots[] = {
	{ SEG_TEMPLATE, NULL, "media", RW_K_SEGMENT, true },
	{ SEG_TEMPLATE, NULL, "initialization", RW_K_INIT, true },
	{ SEG_TEMPLATE, NULL, "index", RW_K_INDEX, true },
	{ SEG_TEMPLATE, NULL, "bitstreamSwitching", RW_K_INIT, true },
	{ SEG_TEMPLATE, "Initialization", "sourceURL", RW_K_INIT, false },
	{ SEG_TEMPLATE, "RepresentationIndex", "sourceURL", RW_K_INDEX, false },
	{ SEG_LIST, "Initialization", "sourceURL", RW_K_INIT, false },
	{ SEG_LIST, "RepresentationIndex", "sourceURL", RW_K_INDEX, false },
	{ SEG_LIST, "SegmentURL", NULL, RW_K_SEGMENT, false },
	{ SEG_BASE, "Initialization", "sourceURL", RW_K_INIT, false },
	{ SEG_BASE, "RepresentationIndex", "sourceURL", RW_K_INDEX, false },
};
#define NSLOTS (sizeof slots / sizeof slots[0])

struct level {
	const struct level *up;
	char *b0, *b1;               /* base chains (absolute) */
	xmlNodePtr seg[SEG_NTYPES];  /* segment information set at this level */
	xmlNodePtr node;
	const char *rep;             /* Representation@id */
};

/* A Representation using segment information set above it. */
struct use {
	xmlNodePtr owner, rep;
	size_t slot;
	char *out; /* what the URI(s) should become, see slot_output */
	bool done;
};

struct copy {
	xmlNodePtr owner, rep, node;
};

struct dash {
	struct rw_ctx *x;
	struct buf in;
	struct buf text, full, tmp; /* scratch */
	xmlDocPtr doc;
	xmlNsPtr ns;
	struct use *uses;
	size_t nuses, cuses;
	struct copy *copies;
	size_t ncopies, ccopies;
};

/* ---- helpers ---- */

static bool is_el(const struct dash *d, xmlNodePtr n, const char *name)
{
	if (!n || n->type != XML_ELEMENT_NODE || !xmlStrEqual(n->name, XC(name)))
		return false;
	if (n->ns == d->ns)
		return true;
	return n->ns && d->ns && xmlStrEqual(n->ns->href, d->ns->href);
}

static xmlNodePtr child_el(const struct dash *d, xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
		if (is_el(d, c, name))
			return c;
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
	if ((rc = rw_map(d->x, site, ref, len, b0, &d->text, same && !need_full ? NULL : &d->full, &m)))
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

static int set_text(xmlNodePtr n, const char *s)
{
	xmlNodePtr t = xmlNewText(XC(s));

	if (!t)
		return CDNI_ENOMEM;
	xmlNodeSetContent(n, NULL);
	if (!xmlAddChild(n, t)) {
		xmlFreeNode(t);
		return CDNI_ENOMEM;
	}
	return 0;
}

static char *trimmed(const xmlChar *s, size_t *len)
{
	const char *p = (const char *)s;
	size_t n;

	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	n = strlen(p);
	while (n && strchr(" \t\r\n", p[n - 1]))
		n--;
	*len = n;
	return strndup(p, n);
}

/* ---- BaseURL, Location, PatchLocation ---- */

/* One element whose text is a URI; b0/b1 are the chains it is resolved
 * against. With chain, the level's chains become the element's. */
static int text_uri(struct dash *d, xmlNodePtr n, const struct rw_site *site, const char *b0,
		    const char *b1, struct level *chain)
{
	xmlChar *content = xmlNodeGetContent(n);
	size_t len;
	char *ref = content ? trimmed(content, &len) : NULL;
	bool keep;
	int rc = CDNI_ENOMEM;

	xmlFree(content);
	if (!ref)
		return rc;
	if ((rc = place(d, site, ref, len, b0, b1, chain != NULL, &keep)) == 0 && !keep)
		rc = set_text(n, d->text.data);
	if (!rc && chain) {
		char *nb0, *nb1 = strdup(d->full.data);
		resolve_into(&d->tmp, b0, ref, len);
		nb0 = d->tmp.err ? NULL : strdup(d->tmp.data);
		if (!nb0 || !nb1) {
			free(nb0);
			free(nb1);
			rc = CDNI_ENOMEM;
		} else {
			free(chain->b0);
			free(chain->b1);
			chain->b0 = nb0;
			chain->b1 = nb1;
		}
	}
	free(ref);
	return rc;
}

/* True when a SegmentList or SegmentTemplate is in force at this level. */
static bool segmented(const struct level *l)
{
	for (; l; l = l->up)
		if (l->seg[SEG_LIST] || l->seg[SEG_TEMPLATE])
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
	for (xmlNodePtr c = l->node->children; c; c = c->next) {
		if (!is_el(d, c, "BaseURL"))
			continue;
		if ((rc = text_uri(d, c, &site, b0, b1, first ? l : NULL)))
			return rc;
		first = false;
	}
	return 0;
}

static int locations(struct dash *d, xmlNodePtr mpd)
{
	struct rw_site site = { .kind = RW_K_PLAYLIST, .number = -1 };
	const char *b = rw_ctx_base(d->x);
	int rc;

	for (xmlNodePtr c = mpd->children; c; c = c->next)
		if ((is_el(d, c, "Location") || is_el(d, c, "PatchLocation")) &&
		    (rc = text_uri(d, c, &site, b, b, NULL)))
			return rc;
	return 0;
}

/* ---- segment information ---- */

/* The node holding slot s's URI under el (el itself or its child), or NULL. */
static xmlNodePtr slot_host(const struct dash *d, xmlNodePtr el, const struct slot *s)
{
	xmlNodePtr h = s->child ? child_el(d, el, s->child) : el;

	if (!h)
		return NULL;
	return !s->attr || xmlHasProp(h, XC(s->attr)) ? h : NULL;
}

static long long start_number(const struct level *l)
{
	for (; l; l = l->up) {
		xmlChar *v = l->seg[SEG_LIST] ? xmlGetProp(l->seg[SEG_LIST], XC("startNumber")) : NULL;
		if (v) {
			long long n = strtoll((const char *)v, NULL, 10);
			xmlFree(v);
			return n >= 0 ? n : 1;
		}
	}
	return 1;
}

/* One attribute URI -> "K" (keep) or "W" + text, appended to out. */
static int attr_output(struct dash *d, xmlNodePtr host, const char *attr,
		       const struct rw_site *site, const struct level *r, struct buf *out)
{
	xmlChar *v = xmlGetProp(host, XC(attr));
	bool keep;
	int rc;

	if (!v) {
		buf_puts(out, "-\n");
		return out->err;
	}
	rc = place(d, site, (const char *)v, strlen((const char *)v), r->b0, r->b1, false, &keep);
	xmlFree(v);
	if (rc)
		return rc;
	if (keep)
		buf_puts(out, "K\n");
	else {
		buf_putc(out, 'W');
		buf_append(out, d->text.data, d->text.len);
		buf_putc(out, '\n');
	}
	return out->err;
}

/* What slot s's URIs under el should become for Representation r. */
static int slot_output(struct dash *d, xmlNodePtr el, const struct slot *s,
		       const struct level *r, struct buf *out)
{
	struct rw_site site = { .kind = s->kind, .number = -1, .representation = r->rep,
				.template = s->template };
	long long n;
	int rc;

	if (s->attr)
		return attr_output(d, slot_host(d, el, s), s->attr, &site, r, out);
	n = start_number(r);
	for (xmlNodePtr c = el->children; c; c = c->next) {
		if (!is_el(d, c, "SegmentURL"))
			continue;
		site.kind = RW_K_SEGMENT;
		site.number = n;
		if ((rc = attr_output(d, c, "media", &site, r, out)))
			return rc;
		site.kind = RW_K_INDEX;
		if ((rc = attr_output(d, c, "index", &site, r, out)))
			return rc;
		n++;
	}
	return 0;
}

/* Next "K"/"W..."/"-" line of an output; *len is its text's length. */
static const char *next_out(const char **p, size_t *len)
{
	const char *line = *p, *nl = strchr(line, '\n');

	if (!nl)
		return NULL;
	*p = nl + 1;
	*len = (size_t)(nl - line) - 1;
	return line;
}

static int put_attr(xmlNodePtr host, const char *attr, const char **p)
{
	size_t len;
	const char *line = next_out(p, &len);
	char *v;
	int rc = 0;

	if (!line || line[0] != 'W')
		return 0;
	if (!(v = strndup(line + 1, len)))
		return CDNI_ENOMEM;
	if (!xmlSetProp(host, XC(attr), XC(v)))
		rc = CDNI_ENOMEM;
	free(v);
	return rc;
}

/* Write an output (from slot_output) into el. */
static int apply(const struct dash *d, xmlNodePtr el, const struct slot *s, const char *out)
{
	const char *p = out;
	int rc;

	if (s->attr) {
		xmlNodePtr h = slot_host(d, el, s);
		return h ? put_attr(h, s->attr, &p) : 0;
	}
	for (xmlNodePtr c = el->children; c; c = c->next) {
		if (!is_el(d, c, "SegmentURL"))
			continue;
		if ((rc = put_attr(c, "media", &p)) || (rc = put_attr(c, "index", &p)))
			return rc;
	}
	return 0;
}

/* The level and element that supply slot s to the Representation at r. */
static xmlNodePtr slot_owner(const struct dash *d, const struct level *r, const struct slot *s,
			     const struct level **at)
{
	for (const struct level *l = r; l; l = l->up) {
		xmlNodePtr el = l->seg[s->type];
		if (!el)
			continue;
		if (s->attr ? slot_host(d, el, s) != NULL : child_el(d, el, "SegmentURL") != NULL) {
			*at = l;
			return el;
		}
	}
	return NULL;
}

static int add_use(struct dash *d, xmlNodePtr owner, xmlNodePtr rep, size_t slot, struct buf *out)
{
	if (d->nuses == d->cuses) {
		size_t n = d->cuses ? d->cuses * 2 : 16;
		struct use *u = realloc(d->uses, n * sizeof *u);
		if (!u)
			return CDNI_ENOMEM;
		d->uses = u;
		d->cuses = n;
	}
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
		xmlNodePtr owner = slot_owner(d, r, &slots[i], &at);
		if (!owner)
			continue;
		buf_reset(&out);
		if ((rc = slot_output(d, owner, &slots[i], r, &out)))
			break;
		if (at == r)
			rc = apply(d, owner, &slots[i], out.data);
		else
			rc = add_use(d, owner, r->node, i, &out);
	}
	buf_free(&out);
	return rc;
}

/* ---- inherited segment information: uniform, or copied down ---- */

static xmlNodePtr first_after_bases(const struct dash *d, xmlNodePtr rep)
{
	xmlNodePtr c = rep->children, last = NULL;

	for (; c; c = c->next)
		if (is_el(d, c, "BaseURL"))
			last = c;
	return last;
}

/* A copied element carries its own declaration of the namespace its
 * original took from an ancestor: use the ancestor's, drop the copy's. */
static void set_ns(xmlNodePtr n, xmlNsPtr from, xmlNsPtr to)
{
	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (n->ns == from)
			n->ns = to;
		set_ns(n->children, from, to);
	}
}

static void drop_ns_copy(xmlNodePtr el, xmlNsPtr ns)
{
	xmlNsPtr def = el->nsDef;

	if (!ns || !def || def->next || !xmlStrEqual(def->href, ns->href) ||
	    !xmlStrEqual(def->prefix, ns->prefix))
		return;
	el->nsDef = NULL;
	el->ns = def == el->ns ? ns : el->ns;
	set_ns(el->children, def, ns);
	xmlFreeNs(def);
}

/* Rep's own element of owner's type, holding what slot s needs. */
static xmlNodePtr own_element(struct dash *d, xmlNodePtr owner, xmlNodePtr rep, const struct slot *s)
{
	xmlNodePtr el, after;

	for (size_t i = 0; i < d->ncopies; i++)
		if (d->copies[i].owner == owner && d->copies[i].rep == rep)
			return d->copies[i].node;
	if ((el = child_el(d, rep, seg_names[s->type]))) {
		xmlNodePtr src = s->child ? child_el(d, owner, s->child) : NULL;
		if (src && !child_el(d, el, s->child) && !xmlAddChild(el, xmlCopyNode(src, 1)))
			return NULL;
		if (!s->attr && !child_el(d, el, "SegmentURL"))
			for (xmlNodePtr c = owner->children; c; c = c->next)
				if (is_el(d, c, "SegmentURL") && !xmlAddChild(el, xmlCopyNode(c, 1)))
					return NULL;
		return el;
	}
	if (d->ncopies == d->ccopies) {
		size_t n = d->ccopies ? d->ccopies * 2 : 8;
		struct copy *c = realloc(d->copies, n * sizeof *c);
		if (!c)
			return NULL;
		d->copies = c;
		d->ccopies = n;
	}
	if (!(el = xmlDocCopyNode(owner, d->doc, 1)))
		return NULL;
	after = first_after_bases(d, rep);
	if (!(after ? xmlAddNextSibling(after, el)
		    : rep->children ? xmlAddPrevSibling(rep->children, el) : xmlAddChild(rep, el))) {
		xmlFreeNode(el);
		return NULL;
	}
	drop_ns_copy(el, owner->ns);
	d->copies[d->ncopies++] = (struct copy){ owner, rep, el };
	return el;
}

static int uniform(struct dash *d, size_t i)
{
	const struct use *u = &d->uses[i];
	int rc = apply(d, u->owner, &slots[u->slot], u->out);

	for (size_t c = 0; c < d->ncopies && !rc; c++)
		if (d->copies[c].owner == u->owner)
			rc = apply(d, d->copies[c].node, &slots[u->slot], u->out);
	return rc;
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
			rc = uniform(d, i);
		for (size_t j = i; j < d->nuses && !rc; j++) {
			struct use *v = &d->uses[j];
			xmlNodePtr el;
			if (!same_group(u, v) && j != i)
				continue;
			if (!same && !keeps_all(v->out)) {
				el = own_element(d, v->owner, v->rep, &slots[v->slot]);
				rc = el ? apply(d, el, &slots[v->slot], v->out) : CDNI_ENOMEM;
			}
			if (j != i)
				v->done = true;
		}
		u->done = true;
	}
	return rc;
}

/* ---- the walk: MPD > Period > AdaptationSet > Representation ---- */

static const char *const level_names[] = { "MPD", "Period", "AdaptationSet", "Representation" };

static int walk(struct dash *d, xmlNodePtr node, const struct level *up, int depth)
{
	struct level l = { .up = up, .node = node };
	xmlChar *id = NULL;
	int rc = CDNI_ENOMEM;

	l.b0 = strdup(up ? up->b0 : rw_ctx_base(d->x));
	l.b1 = strdup(up ? up->b1 : rw_ctx_base(d->x));
	if (!l.b0 || !l.b1)
		goto done;
	if (depth == 3 && (id = xmlGetProp(node, XC("id"))))
		l.rep = (const char *)id;
	for (int t = 0; t < SEG_NTYPES; t++)
		l.seg[t] = child_el(d, node, seg_names[t]);
	if ((rc = bases(d, &l, depth == 3)))
		goto done;
	if (depth == 0 && (rc = locations(d, node)))
		goto done;
	if (depth == 3) {
		rc = representation(d, &l);
		goto done;
	}
	for (xmlNodePtr c = node->children; c && !rc; c = c->next)
		if (is_el(d, c, level_names[depth + 1]))
			rc = walk(d, c, &l, depth + 1);
done:
	xmlFree(id);
	free(l.b0);
	free(l.b1);
	return rc;
}

/* ---- parse, check, serialize ---- */

static int parse(struct dash *d, char *err, size_t errlen)
{
	xmlParserCtxtPtr ctxt;
	const char *p = d->in.data;
	size_t n = d->in.len;

	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3, n -= 3;
	while (n && strchr(" \t\r\n", *p))
		p++, n--;
	if (!n || *p != '<') {
		snprintf(err, errlen, "mpd: not an XML document (UTF-8 expected)");
		return CDNI_EPARSE;
	}
	if (memmem(d->in.data, d->in.len, "<!DOCTYPE", 9) || memmem(d->in.data, d->in.len, "<!ENTITY", 8)) {
		snprintf(err, errlen, "mpd: a DOCTYPE or entity declaration (refused: no DTDs, "
				      "no entities)");
		return CDNI_EPARSE;
	}
	if (!(ctxt = xmlNewParserCtxt()))
		return CDNI_ENOMEM;
	d->doc = xmlCtxtReadMemory(ctxt, d->in.data, (int)d->in.len, rw_ctx_base(d->x), "UTF-8",
				   XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!d->doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		snprintf(err, errlen, "mpd: invalid XML at line %d: %.*s", e ? e->line : 0,
			 e && e->message ? (int)strcspn(e->message, "\n") : 7,
			 e && e->message ? e->message : "unknown");
	}
	xmlFreeParserCtxt(ctxt);
	return d->doc ? 0 : CDNI_EPARSE;
}

static int check_root(struct dash *d, xmlNodePtr *root, char *err, size_t errlen)
{
	xmlNodePtr r = xmlDocGetRootElement(d->doc);

	if (d->doc->intSubset || d->doc->extSubset) {
		snprintf(err, errlen, "mpd: a DTD (refused)");
		return CDNI_EPARSE;
	}
	if (!r || !xmlStrEqual(r->name, XC("MPD"))) {
		snprintf(err, errlen, "mpd: the root element is not MPD");
		return CDNI_EPARSE;
	}
	d->ns = r->ns;
	*root = r;
	return 0;
}

static bool had_declaration(const struct dash *d)
{
	const char *p = d->in.data;
	size_t n = d->in.len;

	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3, n -= 3;
	return n >= 5 && memcmp(p, "<?xml", 5) == 0;
}

static int save_write(void *ctx, const char *data, int len)
{
	struct buf *out = ctx;

	buf_append(out, data, (size_t)len);
	return out->err ? -1 : len;
}

static int save_close(void *ctx)
{
	(void)ctx;
	return 0;
}

/* The document, straight into out (room for it reserved at once). */
static int serialize(struct dash *d, struct buf *out)
{
	xmlSaveCtxtPtr sc;
	long w;

	buf_reserve(out, d->in.len + d->in.len / 2 + 4096);
	sc = xmlSaveToIO(save_write, save_close, out, "UTF-8", had_declaration(d) ? 0 : XML_SAVE_NO_DECL);
	if (!sc)
		return CDNI_ENOMEM;
	w = xmlSaveDoc(sc, d->doc);
	if (xmlSaveClose(sc) < 0 || w < 0)
		return out->err ? out->err : CDNI_ENOMEM;
	return out->err;
}

static int dash_finish(void *st, struct buf *out, char *err, size_t errlen)
{
	struct dash *d = st;
	xmlNodePtr root;
	int rc;

	if ((rc = parse(d, err, errlen)) || (rc = check_root(d, &root, err, errlen)))
		return rc;
	if ((rc = walk(d, root, NULL, 0)) || (rc = settle_uses(d)))
		return rc;
	return serialize(d, out);
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
	d->x = x;
	buf_init(&d->in, rw_ctx_policy(x)->max_output);
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
	if (d->doc)
		xmlFreeDoc(d->doc);
	buf_free(&d->in);
	buf_free(&d->text);
	buf_free(&d->full);
	buf_free(&d->tmp);
	free(d);
}

const struct rw_fmt_ops rw_dash_ops = { dash_open, dash_feed, dash_finish, dash_close };
