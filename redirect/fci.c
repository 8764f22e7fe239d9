/* cdni — footprints and capabilities, RFC 8008 subset (see fci.h). */
#include "redirect/fci.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "redirect/rri.h"

static const char *const protocol_names[] = { "http/1.1", "https/1.1", NULL };
static const char *const mode_names[] = { "DNS-I", "DNS-R", "HTTP-I", "HTTP-R", NULL };
static const char *const cap_names[] = { NULL, "FCI.DeliveryProtocol", "FCI.RedirectionMode",
					 "FCI.Metadata" };
#define URISIGN_NAME "MI.UriSigning"

static unsigned bit_of(const char *const *names, const char *name)
{
	for (unsigned i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return 1u << i;
	return 0;
}

unsigned fci_protocol_bit(const char *name) { return bit_of(protocol_names, name); }
unsigned fci_mode_bit(const char *name) { return bit_of(mode_names, name); }

/* ---- prefixes, geo, clients ---- */

int fci_prefix_parse(const char *s, struct fci_prefix *p)
{
	struct fci_prefix r = { 0 };
	int fam = rri_cidr_parse(s, r.addr, &r.bits);

	if (!fam)
		return CDNI_EINVAL;
	r.family = fam;
	for (int b = r.bits; b < (fam == 4 ? 32 : 128); b++)
		if (r.addr[b / 8] & (0x80 >> (b % 8)))
			return CDNI_EINVAL; /* host bits set */
	*p = r;
	return 0;
}

bool fci_prefix_covers(const struct fci_prefix *p, int family, const uint8_t *addr)
{
	int full = p->bits / 8, rest = p->bits % 8;

	if (p->family != family)
		return false;
	if (memcmp(p->addr, addr, (size_t)full) != 0)
		return false;
	return rest == 0 || ((p->addr[full] ^ addr[full]) & (0xff00 >> rest)) == 0;
}

static bool cc_valid(const char *s)
{
	return strlen(s) == 2 && islower((unsigned char)s[0]) && islower((unsigned char)s[1]);
}

int fci_geo_add(struct fci_geo *g, const char *prefix, const char *country)
{
	struct fci_prefix p;
	struct fci_prefix *np;
	char (*nc)[3];

	if (fci_prefix_parse(prefix, &p) || !cc_valid(country))
		return CDNI_EINVAL;
	np = realloc(g->pfx, (g->n + 1) * sizeof *np);
	if (!np)
		return CDNI_ENOMEM;
	g->pfx = np;
	nc = realloc(g->cc, (g->n + 1) * sizeof *nc);
	if (!nc)
		return CDNI_ENOMEM;
	g->cc = nc;
	g->pfx[g->n] = p;
	memcpy(g->cc[g->n++], country, 3);
	return 0;
}

void fci_geo_clear(struct fci_geo *g)
{
	free(g->pfx);
	free(g->cc);
	memset(g, 0, sizeof *g);
}

int fci_client_make(struct fci_client *c, const char *ip, const struct fci_geo *g)
{
	struct fci_client r = { 0 };
	struct fci_prefix p;
	int best = -1;

	if (!ip || fci_prefix_parse(ip, &p) || p.bits != (p.family == 4 ? 32 : 128))
		return CDNI_EINVAL;
	r.family = p.family;
	memcpy(r.addr, p.addr, sizeof r.addr);
	for (size_t i = 0; g && i < g->n; i++)
		if (g->pfx[i].bits > best && fci_prefix_covers(&g->pfx[i], r.family, r.addr)) {
			best = g->pfx[i].bits;
			memcpy(r.cc, g->cc[i], 3);
		}
	*c = r;
	return 0;
}

bool fci_footprint_covers(const struct fci_footprint *f, const struct fci_client *c)
{
	if (f->everywhere)
		return true;
	for (size_t i = 0; c->family && i < f->npfx; i++)
		if (fci_prefix_covers(&f->pfx[i], c->family, c->addr))
			return true;
	for (size_t i = 0; c->cc[0] && i < f->ncc; i++)
		if (strcmp(f->cc[i], c->cc) == 0)
			return true;
	return false;
}

/* ---- matching ---- */

const char *fci_check_reason(int code)
{
	switch (code) {
	case 0: return "served";
	case RRI_E_DCDN: return "client out of footprint";
	case RRI_E_DELIVERY: return "delivery protocol not supported for this client";
	case RRI_E_REDIRECTION: return "redirection mode not supported for this client";
	case RRI_E_NO_METADATA: return "URI signing not supported for this client";
	case RRI_E_CAPACITY: return "out of capacity";
	default: return rri_error_reason(code);
	}
}

/* What the capabilities covering c offer. */
static void offered(const struct fci_adv *a, const struct fci_client *c, unsigned *protos,
		    unsigned *modes, bool *urisign, bool *covered)
{
	for (size_t i = 0; i < a->ncaps; i++) {
		const struct fci_cap *k = &a->caps[i];
		if (!fci_footprint_covers(&k->fp, c))
			continue;
		if (k->type == FCI_CAP_DELIVERY) {
			*covered = true; /* the footprint is where content is delivered */
			*protos |= k->bits;
		}
		else if (k->type == FCI_CAP_REDIRECTION)
			*modes |= k->bits;
		else if (k->type == FCI_CAP_METADATA && k->urisign)
			*urisign = true;
	}
}

int fci_check(const struct fci_adv *a, const struct fci_client *c, const struct fci_need *n)
{
	unsigned protos = 0, modes = 0;
	bool urisign = false, covered = false;

	offered(a, c, &protos, &modes, &urisign, &covered);
	if (!covered)
		return RRI_E_DCDN;
	if (n->protocol ? !(protos & n->protocol) : !protos)
		return RRI_E_DELIVERY;
	if (n->mode ? !(modes & n->mode) : !modes)
		return RRI_E_REDIRECTION;
	if (n->urisign && !urisign)
		return RRI_E_NO_METADATA;
	return 0;
}

/* Which refusal says most: a specific capability beats out of footprint. */
static int rank(int code)
{
	return code == RRI_E_CAPACITY ? 4 : code == RRI_E_DCDN ? 1 : code ? 2 : 0;
}

int fci_choose(const struct fci_candidate *cands, size_t n, const struct fci_client *c,
	       const struct fci_need *need, size_t *chosen)
{
	int best = RRI_E_DCDN;

	for (size_t i = 0; i < n; i++) {
		int code = cands[i].adv ? fci_check(cands[i].adv, c, need) : RRI_E_DCDN;
		if (code == 0 && cands[i].available) {
			*chosen = i;
			return 0;
		}
		if (code == 0)
			code = RRI_E_CAPACITY;
		if (rank(code) > rank(best))
			best = code;
	}
	return best;
}

/* ---- decoding ---- */

struct fdec {
	char *err;
	size_t errlen;
};

static int ffail(struct fdec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int ffail(struct fdec *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, d->errlen, fmt, ap);
	va_end(ap);
	return CDNI_EINVAL;
}

static int add_prefix(struct fci_footprint *f, const struct fci_prefix *p)
{
	struct fci_prefix *np = realloc(f->pfx, (f->npfx + 1) * sizeof *np);

	if (!np)
		return CDNI_ENOMEM;
	f->pfx = np;
	f->pfx[f->npfx++] = *p;
	return 0;
}

static int add_cc(struct fci_footprint *f, const char *cc)
{
	char (*nc)[3] = realloc(f->cc, (f->ncc + 1) * sizeof *nc);

	if (!nc)
		return CDNI_ENOMEM;
	f->cc = nc;
	memcpy(f->cc[f->ncc++], cc, 3);
	return 0;
}

/* One footprint-value element of a known type (4, 6, or 'c' for a country). */
static int fp_value(struct fdec *d, struct fci_footprint *f, int kind, const char *v,
		    const char *path)
{
	struct fci_prefix p;

	if (kind == 'c') {
		if (!cc_valid(v))
			return ffail(d, "%s: '%.16s' is not a lowercase ISO 3166-1 alpha-2 code", path, v);
		return add_cc(f, v);
	}
	if (fci_prefix_parse(v, &p) || p.family != kind)
		return ffail(d, "%s: '%.64s' is not an IPv%d prefix (host bits zero)", path, v, kind);
	return add_prefix(f, &p);
}

static int fp_object(struct fdec *d, struct fci_footprint *f, const json_t *o, const char *path)
{
	const json_t *t = json_object_get(o, "footprint-type"), *v, *e;
	const char *ts;
	char p[160];
	size_t i;
	int kind, rc;

	if (!json_is_object(o) || !json_is_string(t))
		return ffail(d, "%s: needs a string footprint-type", path);
	ts = json_string_value(t);
	kind = !strcmp(ts, "ipv4cidr") ? 4 : !strcmp(ts, "ipv6cidr") ? 6
		: !strcmp(ts, "countrycode") ? 'c' : 0;
	v = json_object_get(o, "footprint-value");
	if (!json_is_array(v))
		return ffail(d, "%s.footprint-value: not a list", path);
	if (json_array_size(v) > FCI_MAX_VALUES)
		return ffail(d, "%s.footprint-value: more than %d values", path, FCI_MAX_VALUES);
	if (!kind)
		return 0; /* asn, subdivisioncode, ...: not understood, ignored */
	json_array_foreach(v, i, e) {
		snprintf(p, sizeof p, "%s.footprint-value[%zu]", path, i);
		if (!json_is_string(e))
			return ffail(d, "%s: not a string", p);
		if ((rc = fp_value(d, f, kind, json_string_value(e), p)))
			return rc;
	}
	return 0;
}

static int footprints(struct fdec *d, struct fci_footprint *f, const json_t *a, const char *path)
{
	const json_t *e;
	char p[128];
	size_t i;
	int rc;

	if (!a || (json_is_array(a) && json_array_size(a) == 0)) {
		f->everywhere = true;
		return 0;
	}
	if (!json_is_array(a))
		return ffail(d, "%s.footprints: not a list", path);
	json_array_foreach(a, i, e) {
		snprintf(p, sizeof p, "%s.footprints[%zu]", path, i);
		if ((rc = fp_object(d, f, e, p)))
			return rc;
	}
	return 0;
}

/* The names of list key in the capability value, as bits (or urisign). */
static int cap_value(struct fdec *d, struct fci_cap *c, const json_t *val, const char *path)
{
	static const char *const keys[] = { NULL, "delivery-protocols", "redirection-modes",
					     "metadata" };
	const json_t *l = json_object_get(val, keys[c->type]), *e;
	size_t i;

	if (!json_is_array(l))
		return ffail(d, "%s.capability-value.%s: not a list", path, keys[c->type]);
	json_array_foreach(l, i, e) {
		const char *s = json_string_value(e);
		if (!s)
			return ffail(d, "%s.capability-value.%s[%zu]: not a string", path,
				     keys[c->type], i);
		if (c->type == FCI_CAP_DELIVERY)
			c->bits |= fci_protocol_bit(s);
		else if (c->type == FCI_CAP_REDIRECTION)
			c->bits |= fci_mode_bit(s);
		else if (!strcmp(s, URISIGN_NAME))
			c->urisign = true;
	}
	return 0;
}

static void cap_clear(struct fci_cap *c)
{
	free(c->fp.pfx);
	free(c->fp.cc);
}

/* One capability object; *known false for a type not understood. */
static int capability(struct fdec *d, const json_t *o, const char *path, struct fci_cap *c,
		      bool *known)
{
	const json_t *t = json_object_get(o, "capability-type");
	const json_t *v = json_object_get(o, "capability-value");
	int rc;

	memset(c, 0, sizeof *c);
	if (!json_is_object(o))
		return ffail(d, "%s: not an object", path);
	if (!json_is_string(t))
		return ffail(d, "%s.capability-type: missing or not a string", path);
	if (!json_is_object(v))
		return ffail(d, "%s.capability-value: missing or not an object", path);
	for (int k = FCI_CAP_DELIVERY; k <= FCI_CAP_METADATA; k++)
		if (!strcmp(json_string_value(t), cap_names[k]))
			c->type = (enum fci_cap_type)k;
	*known = c->type != 0;
	if (!*known)
		return 0;
	rc = cap_value(d, c, v, path);
	if (!rc)
		rc = footprints(d, &c->fp, json_object_get(o, "footprints"), path);
	if (rc)
		cap_clear(c);
	return rc;
}

static int adv_load(struct fdec *d, const json_t *doc, const char *pre, struct fci_adv *a)
{
	const json_t *caps = json_object_get(doc, "capabilities"), *e;
	char p[96];
	size_t i;
	bool known = false;
	int rc;

	if (!json_is_object(doc) || !json_is_array(caps))
		return ffail(d, "%s%scapabilities: missing or not a list", pre, *pre ? "." : "");
	if (json_array_size(caps) > FCI_MAX_CAPS)
		return ffail(d, "%s%scapabilities: more than %d", pre, *pre ? "." : "", FCI_MAX_CAPS);
	a->caps = calloc(json_array_size(caps) + 1, sizeof *a->caps);
	if (!a->caps)
		return CDNI_ENOMEM;
	json_array_foreach(caps, i, e) {
		snprintf(p, sizeof p, "%s%scapabilities[%zu]", pre, *pre ? "." : "", i);
		if ((rc = capability(d, e, p, &a->caps[a->ncaps], &known)))
			return rc;
		if (known)
			a->ncaps++;
	}
	return 0;
}

int fci_adv_from_json(const json_t *doc, const char *path, struct fci_adv **out, char *err,
		      size_t errlen)
{
	struct fdec d = { err, errlen };
	struct fci_adv *a = calloc(1, sizeof *a);
	int rc;

	if (!a)
		return CDNI_ENOMEM;
	rc = adv_load(&d, doc, path ? path : "", a);
	if (rc) {
		fci_adv_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

int fci_adv_decode(const char *text, size_t len, struct fci_adv **out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j;
	int rc;

	if (len > FCI_MAX_BODY || !rri_json_depth_ok(text, len, RRI_MAX_DEPTH)) {
		snprintf(err, errlen, "capabilities: over %d bytes or nested deeper than %d",
			 FCI_MAX_BODY, RRI_MAX_DEPTH);
		return CDNI_EOVERFLOW;
	}
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		snprintf(err, errlen, "capabilities: not I-JSON: %s", je.text);
		return CDNI_EPARSE;
	}
	rc = fci_adv_from_json(j, "", out, err, errlen);
	json_decref(j);
	return rc;
}

void fci_adv_free(struct fci_adv *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->ncaps; i++)
		cap_clear(&a->caps[i]);
	free(a->caps);
	free(a);
}

/* ---- encoding ---- */

static json_t *names_of(const char *const *names, unsigned bits)
{
	json_t *l = json_array();

	for (unsigned i = 0; l && names[i]; i++)
		if (bits & (1u << i))
			json_array_append_new(l, json_string(names[i]));
	return l;
}

static json_t *fp_list(const char *type, json_t *values)
{
	return json_pack("{s:s, s:o}", "footprint-type", type, "footprint-value", values);
}

static json_t *fp_encode(const struct fci_footprint *f)
{
	json_t *out = json_array(), *v4 = json_array(), *v6 = json_array(), *cc = json_array();
	char a[64], s[80];

	for (size_t i = 0; i < f->npfx; i++) {
		inet_ntop(f->pfx[i].family == 4 ? AF_INET : AF_INET6, f->pfx[i].addr, a, sizeof a);
		snprintf(s, sizeof s, "%s/%d", a, f->pfx[i].bits);
		json_array_append_new(f->pfx[i].family == 4 ? v4 : v6, json_string(s));
	}
	for (size_t i = 0; i < f->ncc; i++)
		json_array_append_new(cc, json_string(f->cc[i]));
	if (json_array_size(v4))
		json_array_append_new(out, fp_list("ipv4cidr", json_incref(v4)));
	if (json_array_size(v6))
		json_array_append_new(out, fp_list("ipv6cidr", json_incref(v6)));
	if (json_array_size(cc))
		json_array_append_new(out, fp_list("countrycode", json_incref(cc)));
	json_decref(v4);
	json_decref(v6);
	json_decref(cc);
	return out;
}

static json_t *cap_encode(const struct fci_cap *c)
{
	json_t *val;

	if (c->type == FCI_CAP_DELIVERY)
		val = json_pack("{s:o}", "delivery-protocols", names_of(protocol_names, c->bits));
	else if (c->type == FCI_CAP_REDIRECTION)
		val = json_pack("{s:o}", "redirection-modes", names_of(mode_names, c->bits));
	else
		val = json_pack("{s:[]}", "metadata");
	if (val && c->type == FCI_CAP_METADATA && c->urisign)
		json_array_append_new(json_object_get(val, "metadata"), json_string(URISIGN_NAME));
	if (c->fp.everywhere)
		return json_pack("{s:s, s:o}", "capability-type", cap_names[c->type],
				 "capability-value", val);
	return json_pack("{s:s, s:o, s:o}", "capability-type", cap_names[c->type],
			 "capability-value", val, "footprints", fp_encode(&c->fp));
}

int fci_adv_encode(const struct fci_adv *a, struct buf *out)
{
	json_t *caps = json_array(), *doc;
	char *text;

	for (size_t i = 0; caps && i < a->ncaps; i++)
		json_array_append_new(caps, cap_encode(&a->caps[i]));
	doc = json_pack("{s:o}", "capabilities", caps);
	text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	if (!text)
		return CDNI_ENOMEM;
	buf_puts(out, text);
	free(text);
	return out->err;
}
