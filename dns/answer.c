/* cdni-dns — answers. */
#include "dns/answer.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/wire.h"

#define CHASE_MAX 8
#define OPT_RESERVE 48 /* room kept for the OPT record (and ECS) */
#define F_QR 0x8000
#define F_AA 0x0400
#define F_TC 0x0200
#define F_RD 0x0100
#define F_CD 0x0010

struct msg {
	struct wire w;
	const struct dnsq *q;
	const struct db *db;
	struct dns_cache *cache;
	const struct dns_client *cl;
	uint32_t rnd;
	time_t now;
	uint16_t an, ns, ar;
	bool dnssec, aa;
	int rcode, scope;
	struct dns_info *info;
	bool wait, given_used;
};

/* ---- writing --------------------------------------------------------------- */

static void put_owner(struct msg *m, const uint8_t *name, size_t len)
{
	if (len == m->q->qname_len && memcmp(name, m->q->qname, len) == 0)
		wire_put_u16(&m->w, 0xc000 | DNS_HDR); /* the question's name */
	else
		wire_write(&m->w, name, len);
}

/* n records of wire p (owner-less): returns the bytes used. */
static size_t put_records(struct msg *m, const uint8_t *owner, size_t olen, const uint8_t *p,
			  unsigned n, uint16_t *count)
{
	size_t used = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t body = 10u + (size_t)(p[used + 8] << 8 | p[used + 9]);
		put_owner(m, owner, olen);
		wire_write(&m->w, p + used, body);
		used += body;
		(*count)++;
	}
	return used;
}

static void put_rrset(struct msg *m, const uint8_t *owner, size_t olen, const struct db_rrset *s,
		      uint16_t *count)
{
	put_records(m, owner, olen, s->wire, s->nrr, count);
	if (m->dnssec && s->nsig)
		put_records(m, owner, olen, s->wire + s->rrlen, s->nsig, count);
}

static void put_soa(struct msg *m, const struct db_zone *z)
{
	put_rrset(m, z->apex, z->apexlen, z->soa, &m->ns);
}

/* ---- denial ------------------------------------------------------------------- */

static void put_nsec_of(struct msg *m, const struct db_node *n, uint16_t type,
			const struct db_node **done, size_t *ndone)
{
	const struct db_rrset *s = n ? db_rrset_find(n, type) : NULL;

	if (!s)
		return;
	for (size_t i = 0; i < *ndone; i++)
		if (done[i] == n)
			return;
	done[(*ndone)++] = n;
	put_rrset(m, n->name, n->namelen, s, &m->ns);
}

static bool node_exists(const struct db_node *n)
{
	return n && (n->flags & (NODE_DATA | NODE_ENT));
}

/* Closest encloser of a name that does not exist: its offset in name. */
static size_t closest_encloser(const struct db_zone *z, const uint8_t *name, size_t len)
{
	size_t p = 0;

	while (len - p > z->apexlen) {
		p += 1u + name[p];
		if (node_exists(db_node_find(z, name + p, len - p)))
			return p;
	}
	return len - z->apexlen;
}

static void nxdomain_proof(struct msg *m, const struct db_zone *z, const uint8_t *name, size_t len)
{
	const struct db_node *done[3];
	size_t nd = 0, ce = closest_encloser(z, name, len), nc = 0;
	uint8_t wild[DNS_NAME_MAX + 2] = { 1, '*' };
	bool exact;

	memcpy(wild + 2, name + ce, len - ce);
	if (z->denial == DENIAL_NSEC) {
		put_nsec_of(m, db_nsec_cover(z, name), T_NSEC, done, &nd);
		put_nsec_of(m, db_nsec_cover(z, wild), T_NSEC, done, &nd);
		return;
	}
	while (nc + 1u + name[nc] < ce) /* next closer: one label more than ce */
		nc += 1u + name[nc];
	put_nsec_of(m, db_nsec3_find(z, name + ce, len - ce, &exact), T_NSEC3, done, &nd);
	put_nsec_of(m, db_nsec3_find(z, name + nc, len - nc, &exact), T_NSEC3, done, &nd);
	put_nsec_of(m, db_nsec3_find(z, wild, len - ce + 2, &exact), T_NSEC3, done, &nd);
}

static void nodata_proof(struct msg *m, const struct db_zone *z, const struct db_node *n)
{
	const struct db_node *done[1];
	size_t nd = 0;
	bool exact;

	if (z->denial == DENIAL_NSEC)
		put_nsec_of(m, db_rrset_find(n, T_NSEC) ? n : db_nsec_cover(z, n->name), T_NSEC, done, &nd);
	else
		put_nsec_of(m, db_nsec3_find(z, n->name, n->namelen, &exact), T_NSEC3, done, &nd);
}

static void negative(struct msg *m, const struct db_zone *z, const uint8_t *name, size_t len,
		     const struct db_node *n)
{
	put_soa(m, z);
	if (!m->dnssec || z->denial == DENIAL_NONE)
		return;
	if (n)
		nodata_proof(m, z, n);
	else
		nxdomain_proof(m, z, name, len);
}

/* ---- policy: CNAME to a dCDN, signed online ----------------------------------------- */

static void centry_clear(struct dns_centry *e)
{
	free(e->wire);
	memset(e, 0, sizeof *e);
}

static void rientry_clear(struct dns_rientry *e)
{
	free(e->text);
	centry_clear(&e->e);
	memset(e, 0, sizeof *e);
}

static void cache_clear(struct dns_cache *c)
{
	for (size_t i = 0; c->e && i < c->n; i++)
		centry_clear(&c->e[i]);
	for (size_t i = 0; i < DNS_RI_SLOTS; i++)
		rientry_clear(&c->ri[i]);
	free(c->e);
	c->e = NULL;
	c->n = 0;
}

void dns_cache_free(struct dns_cache *c)
{
	struct dns_ri *asker = c->asker;

	cache_clear(c);
	memset(c, 0, sizeof *c);
	c->asker = asker; /* not the cache's */
}

static int cache_ready(struct dns_cache *c, const struct db *db)
{
	size_t n = db->pol->nnames * db->pol->ndcdns;

	if (c->e && c->gen == db->generation)
		return 0;
	cache_clear(c);
	c->e = calloc(n ? n : 1, sizeof *c->e);
	if (!c->e)
		return CDNI_ENOMEM;
	c->n = n;
	c->gen = db->generation;
	return 0;
}

static ldns_rr *cname_rr(const struct dnspol_name *pn, const struct dnspol_dcdn *d)
{
	ldns_rr *rr = ldns_rr_new_frm_type(LDNS_RR_TYPE_CNAME);
	ldns_rdf *owner = ldns_dname_new_frm_str(pn->name), *target = ldns_dname_new_frm_str(d->target);

	if (!rr || !owner || !target) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(owner);
		ldns_rdf_deep_free(target);
		return NULL;
	}
	ldns_dname2canonical(owner);
	ldns_dname2canonical(target);
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_ttl(rr, pn->ttl);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_rdf(rr, target, 0);
	return rr;
}

/* Render an RRset (taken over) and its RRSIGs, made online, into e. */
static int centry_render(struct dns_centry *e, const struct db_zone *z, ldns_rr_list *set,
			 time_t now, uint64_t *signs)
{
	ldns_rr_list *sigs = NULL;
	uint32_t len = 0, cap = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < ldns_rr_list_rr_count(set); i++)
		rc = db_render_rr(ldns_rr_list_rr(set, i), &e->wire, &len, &cap);
	e->rrlen = len;
	e->valid_until = (time_t)1 << 62;
	if (rc == 0 && z->online) {
		rc = dane_rrset_sign(set, &z->keys, (uint32_t)(now - z->inception_offset),
				     (uint32_t)(now + z->validity), &sigs);
		for (size_t i = 0; rc == 0 && i < ldns_rr_list_rr_count(sigs); i++, e->nsig++)
			rc = db_render_rr(ldns_rr_list_rr(sigs, i), &e->wire, &len, &cap);
		e->valid_until = now + z->validity - z->refresh;
		(*signs)++;
	}
	e->len = len;
	ldns_rr_list_deep_free(set);
	ldns_rr_list_deep_free(sigs);
	return rc;
}

/* Render CNAME + RRSIG for (name, dCDN) into e. */
static int centry_make(struct dns_centry *e, const struct db_zone *z, const struct dnspol_name *pn,
		       const struct dnspol_dcdn *d, time_t now, uint64_t *signs)
{
	ldns_rr *rr = cname_rr(pn, d);
	ldns_rr_list *set = ldns_rr_list_new();

	if (!rr || !set || !ldns_rr_list_push_rr(set, rr)) {
		ldns_rr_free(rr);
		ldns_rr_list_deep_free(set);
		return CDNI_ENOMEM;
	}
	return centry_render(e, z, set, now, signs);
}

static const struct dns_centry *cname_entry(struct msg *m, const struct db_zone *z,
					    const struct dnspol_name *pn, const struct dnspol_result *r)
{
	const struct dnspol *pol = m->db->pol;
	struct dns_centry *e;

	if (cache_ready(m->cache, m->db))
		return NULL;
	e = &m->cache->e[(size_t)(pn - pol->names) * pol->ndcdns + r->dcdn_index];
	if (e->wire && m->now < e->valid_until)
		return e;
	centry_clear(e);
	if (centry_make(e, z, pn, r->dcdn, m->now, &m->cache->signs)) {
		centry_clear(e);
		return NULL;
	}
	return e;
}

static void policy_client(const struct msg *m, struct dnspol_client *c)
{
	const struct dnsq *q = m->q;

	memset(c, 0, sizeof *c);
	if (q->has_ecs) {
		if (q->ecs.source == 0)
			return; /* RFC 7871 §7.1.2: the client asked not to be located */
		c->family = q->ecs.family == 1 ? 4 : 6;
		memcpy(c->addr, q->ecs.addr, sizeof c->addr);
		c->bits = q->ecs.source;
		return;
	}
	c->family = m->cl->family;
	memcpy(c->addr, m->cl->addr, sizeof c->addr);
	c->bits = c->family == 4 ? 32 : 128;
}

static void answer_name(struct msg *m, const struct db_zone *z, const uint8_t *name, size_t len,
			int depth);

static void chase(struct msg *m, const uint8_t *target, size_t tlen, int depth)
{
	const struct db_zone *tz;

	if (m->q->qtype == T_CNAME || depth >= CHASE_MAX)
		return;
	tz = db_zone_find(m->db, target, tlen);
	if (tz)
		answer_name(m, tz, target, tlen, depth + 1);
}

/* The policy's static CNAME to dCDN r. */
static void static_answer(struct msg *m, const struct db_zone *z, const struct dnspol_name *pn,
			  const struct dnspol_result *r, int depth)
{
	const struct dns_centry *e = cname_entry(m, z, pn, r);

	if (!e) {
		m->rcode = RC_SERVFAIL;
		return;
	}
	put_records(m, pn->wire, pn->wirelen, e->wire, 1, &m->an);
	if (m->dnssec)
		put_records(m, pn->wire, pn->wirelen, e->wire + e->rrlen, e->nsig, &m->an);
	if (depth == 0)
		m->info->target = r->dcdn->target;
	chase(m, r->dcdn->wire, r->dcdn->wirelen, depth);
}

/* ---- policy: answers from a dCDN's redirection interface (dns/ri.h) ---------------------- */

enum { RI_SERVED, RI_WAIT, RI_SKIP };

static bool asks(const struct msg *m, const struct dnspol_result *r, int depth)
{
	return r->dcdn->ask && m->cache->asker && depth == 0 && r->dcdn_index < 64 &&
	       (m->q->qtype == T_A || m->q->qtype == T_AAAA);
}

static void ri_ask_fill(const struct msg *m, const struct dnspol_name *pn, size_t dcdn,
			struct dns_ri_ask *k)
{
	const struct dnsq *q = m->q;
	uint8_t a[16] = { 0 };
	char ip[INET6_ADDRSTRLEN] = "";
	size_t n;

	memset(k, 0, sizeof *k);
	k->gen = m->db->generation;
	k->dcdn = dcdn;
	k->qtype = q->qtype;
	dns_name_text(pn->wire, k->qname, sizeof k->qname);
	n = strlen(k->qname);
	if (n > 1 && k->qname[n - 1] == '.')
		k->qname[n - 1] = '\0';
	inet_ntop(m->cl->family == 4 ? AF_INET : AF_INET6, m->cl->addr, k->resolver,
		  sizeof k->resolver);
	snprintf(k->client, sizeof k->client, "%s", k->resolver);
	if (q->has_ecs && q->ecs.source) { /* host bits beyond the source length cleared */
		memcpy(a, q->ecs.addr, (q->ecs.source + 7u) / 8u);
		if (q->ecs.source % 8)
			a[q->ecs.source / 8] &= (uint8_t)(0xff00 >> (q->ecs.source % 8));
		inet_ntop(q->ecs.family == 1 ? AF_INET : AF_INET6, a, ip, sizeof ip);
		snprintf(k->subnet, sizeof k->subnet, "%s/%u", ip, q->ecs.source);
		snprintf(k->client, sizeof k->client, "%s", k->subnet);
	}
}

static size_t ri_slot(size_t name, const char *text)
{
	uint64_t h = 1469598103934665603ULL ^ name; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)(h % DNS_RI_SLOTS);
}

/* ldns records for "KIND TTL RDATA RDATA..." at owner. */
static int ri_records(const char *owner, const char *text, ldns_rr_list *set)
{
	char kind[8], line[DNS_NAME_MAX * 4 + 64];
	long long ttl;
	int off = 0;

	if (sscanf(text, "%7s %lld %n", kind, &ttl, &off) < 2 || !off)
		return CDNI_EPARSE;
	for (const char *p = text + off; *p;) {
		size_t n = strcspn(p, " ");
		ldns_rr *rr = NULL;
		bool dot = strcmp(kind, "CNAME") == 0 && p[n - 1] != '.';
		if (n > DNS_NAME_MAX * 3)
			return CDNI_EPARSE;
		snprintf(line, sizeof line, "%s %lld IN %s %.*s%s", owner, ttl, kind, (int)n, p,
			 dot ? "." : "");
		if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) != LDNS_STATUS_OK)
			return CDNI_EPARSE;
		if (!ldns_rr_list_push_rr(set, rr)) {
			ldns_rr_free(rr);
			return CDNI_ENOMEM;
		}
		p += n;
		p += strspn(p, " ");
	}
	return ldns_rr_list_rr_count(set) ? 0 : CDNI_EPARSE;
}

/* The rendered, signed records of an answer for name pn (a worker's slot). */
static const struct dns_rientry *ri_entry(struct msg *m, const struct db_zone *z,
					  const struct dnspol_name *pn, const char *text)
{
	size_t name = (size_t)(pn - m->db->pol->names);
	struct dns_rientry *e;
	ldns_rr_list *set;
	char owner[DNS_NAME_MAX * 4 + 8];

	if (cache_ready(m->cache, m->db))
		return NULL;
	e = &m->cache->ri[ri_slot(name, text)];
	if (e->text && e->name == name && strcmp(e->text, text) == 0 && m->now < e->e.valid_until)
		return e;
	rientry_clear(e);
	dns_name_text(pn->wire, owner, sizeof owner);
	if (!(set = ldns_rr_list_new()) || ri_records(owner, text, set)) {
		ldns_rr_list_deep_free(set);
		return NULL;
	}
	e->nrr = (uint16_t)ldns_rr_list_rr_count(set);
	if (centry_render(&e->e, z, set, m->now, &m->cache->signs) || !(e->text = strdup(text))) {
		rientry_clear(e);
		return NULL;
	}
	e->name = name;
	return e;
}

/* Put the answer's records; follow a CNAME into our own zones. */
static int ri_put(struct msg *m, const struct db_zone *z, const struct dnspol_name *pn,
		  const char *text)
{
	const struct dns_rientry *e = ri_entry(m, z, pn, text);
	uint8_t tw[DNS_NAME_MAX];
	size_t tl;
	const char *target = text + strcspn(text, " ");

	if (!e)
		return CDNI_EPARSE;
	put_records(m, pn->wire, pn->wirelen, e->e.wire, e->nrr, &m->an);
	if (m->dnssec)
		put_records(m, pn->wire, pn->wirelen, e->e.wire + e->e.rrlen, e->e.nsig, &m->an);
	target += strspn(target, " ");
	target += strcspn(target, " ");
	target += strspn(target, " ");
	if (strncmp(text, "CNAME ", 6) == 0 && dnspol_name_to_wire(target, tw, &tl) == 0)
		chase(m, tw, tl, 0);
	return 0;
}

/* The dCDN's outcome for this query: given back after waiting, or cached. */
static int ri_outcome(struct msg *m, const struct dns_ri_ask *k, struct buf *text, int *bits)
{
	const struct dns_ri_waiter *g = m->cl->given;

	if (g && g->dcdn == k->dcdn && g->gen == k->gen && !m->given_used) {
		m->given_used = true;
		*bits = g->bits;
		if (!g->text)
			return DNS_RI_FAILED;
		buf_puts(text, g->text);
		return text->err ? DNS_RI_FAILED : DNS_RI_HIT;
	}
	return dns_ri_get(m->cache->asker, k, m->now, text, bits);
}

static int ri_answer(struct msg *m, const struct db_zone *z, const struct dnspol_name *pn,
		     const struct dnspol_result *r, const struct dnspol_client *c)
{
	struct dns_ri_ask k;
	struct buf text;
	int bits = -1, st, ret = RI_SKIP;

	ri_ask_fill(m, pn, r->dcdn_index, &k);
	buf_init(&text, 0);
	st = ri_outcome(m, &k, &text, &bits);
	if (st == DNS_RI_MISS) {
		m->info->wait = k;
		m->wait = true;
		ret = RI_WAIT;
	} else if (st == DNS_RI_HIT && ri_put(m, z, pn, text.data) == 0) {
		m->scope = m->q->has_ecs && m->q->ecs.source ? (bits >= 0 ? bits : c->bits) : 0;
		snprintf(m->info->ri_note, sizeof m->info->ri_note, "RI %s: %s", r->dcdn->name,
			 text.data);
		ret = RI_SERVED;
	} else {
		snprintf(m->info->ri_note, sizeof m->info->ri_note, "RI %s skipped", r->dcdn->name);
	}
	buf_free(&text);
	return ret;
}

/* 1 when the policy answered (or the query must wait), 0 to serve the name
 * directly. A dCDN whose redirection interface failed is left out and the
 * policy draws again. */
static int policy_answer(struct msg *m, const struct db_zone *z, const struct dnspol_name *pn,
			 int depth)
{
	struct dnspol_client c;
	struct dnspol_result r;
	uint64_t excluded = depth == 0 ? m->cl->excluded : 0;

	policy_client(m, &c);
	for (;;) {
		dnspol_choose_excluding(m->db->pol, pn, &c, m->rnd, excluded, &r);
		if (depth == 0)
			m->scope = m->q->has_ecs && m->q->ecs.source ? r.scope : 0;
		if (!r.dcdn)
			return 0;
		if (!asks(m, &r, depth)) {
			static_answer(m, z, pn, &r, depth);
			return 1;
		}
		switch (ri_answer(m, z, pn, &r, &c)) {
		case RI_SERVED:
			return 1;
		case RI_WAIT:
			m->info->excluded = excluded;
			return 1;
		default:
			excluded |= 1ull << r.dcdn_index;
		}
	}
}

/* Follow a static CNAME: its rdata is an uncompressed name (ldns wrote it). */
static void chase_rdata(struct msg *m, const uint8_t *rd, size_t rdlen, int depth)
{
	size_t tl = 0;

	while (tl < rdlen && rd[tl])
		tl += 1u + rd[tl];
	if (tl >= rdlen || tl + 1 > DNS_NAME_MAX)
		return;
	chase(m, rd, tl + 1, depth);
}

static void answer_any(struct msg *m, const struct db_node *n)
{
	for (size_t i = 0; i < n->nrrsets; i++) {
		if (n->rrsets[i].type == T_RRSIG || !n->rrsets[i].nrr)
			continue;
		put_rrset(m, n->name, n->namelen, &n->rrsets[i], &m->an);
		if (m->db->minimal_any)
			return;
	}
}

static void answer_node(struct msg *m, const struct db_zone *z, const struct db_node *n, int depth)
{
	const struct db_rrset *s;

	if (m->q->qtype == T_ANY && n->nrrsets) {
		answer_any(m, n);
	} else if ((s = db_rrset_find(n, m->q->qtype)) && s->nrr) {
		put_rrset(m, n->name, n->namelen, s, &m->an);
	} else if ((s = db_rrset_find(n, T_CNAME)) && s->nrr) {
		put_rrset(m, n->name, n->namelen, s, &m->an);
		chase_rdata(m, s->wire + 10, (size_t)(s->wire[8] << 8 | s->wire[9]), depth);
	} else if (depth == 0) {
		negative(m, z, n->name, n->namelen, n);
	}
}

static void answer_name(struct msg *m, const struct db_zone *z, const uint8_t *name, size_t len,
			int depth)
{
	const struct dnspol_name *pn = dnspol_lookup(m->db->pol, name, len);
	const struct db_node *n;

	if (pn && m->q->qtype != T_DS && policy_answer(m, z, pn, depth))
		return;
	n = db_node_find(z, name, len);
	if (node_exists(n)) {
		answer_node(m, z, n, depth);
	} else if (depth == 0) {
		m->rcode = RC_NXDOMAIN;
		negative(m, z, name, len, NULL);
	}
}

/* ---- the message ----------------------------------------------------------------------- */

static void put_opt(struct msg *m)
{
	const struct dnsq *q = m->q;
	size_t alen = q->has_ecs ? (q->ecs.source + 7u) / 8u : 0;

	if (!q->edns)
		return;
	wire_put_u8(&m->w, 0);
	wire_put_u16(&m->w, T_OPT);
	wire_put_u16(&m->w, (uint16_t)m->db->udp_payload);
	wire_put_u8(&m->w, (uint8_t)(m->rcode >> 4));
	wire_put_u8(&m->w, 0);
	wire_put_u16(&m->w, q->do_bit ? 0x8000 : 0);
	wire_put_u16(&m->w, (uint16_t)(q->has_ecs ? 8 + alen : 0));
	if (q->has_ecs) {
		wire_put_u16(&m->w, 8);
		wire_put_u16(&m->w, (uint16_t)(4 + alen));
		wire_put_u16(&m->w, q->ecs.family);
		wire_put_u8(&m->w, q->ecs.source);
		wire_put_u8(&m->w, (uint8_t)m->scope);
		wire_write(&m->w, q->ecs.addr, alen);
	}
	m->ar++;
}

static void put_header(struct msg *m, bool tc)
{
	uint16_t f = F_QR | (m->q->flags & (0x7800 | F_RD | F_CD)) | (m->rcode & 0xf);

	if (m->aa)
		f |= F_AA;
	if (tc)
		f |= F_TC;
	m->w.wstart[2] = (uint8_t)(f >> 8);
	m->w.wstart[3] = (uint8_t)f;
	m->w.wstart[6] = (uint8_t)(m->an >> 8);
	m->w.wstart[7] = (uint8_t)m->an;
	m->w.wstart[8] = (uint8_t)(m->ns >> 8);
	m->w.wstart[9] = (uint8_t)m->ns;
	m->w.wstart[10] = (uint8_t)(m->ar >> 8);
	m->w.wstart[11] = (uint8_t)m->ar;
}

/* Header and question (as the client sent it). */
static void put_start(struct msg *m, const uint8_t *msg, bool question)
{
	wire_put_u16(&m->w, m->q->id);
	wire_put_zeros(&m->w, 2);
	wire_put_u16(&m->w, question ? 1 : 0);
	wire_put_zeros(&m->w, 6);
	if (question)
		wire_write(&m->w, msg + DNS_HDR, m->q->qend - DNS_HDR);
}

static void answer_query(struct msg *m)
{
	const struct dnsq *q = m->q;
	const struct db_zone *z = db_zone_find(m->db, q->qname, q->qname_len);

	if (!z || (q->qclass != C_IN && q->qclass != T_ANY) || q->qtype == T_AXFR ||
	    q->qtype == T_IXFR) {
		m->rcode = RC_REFUSED;
		return;
	}
	m->aa = true;
	answer_name(m, z, q->qname, q->qname_len, 0);
	if (m->rcode == RC_SERVFAIL) { /* nothing half-done goes out */
		m->an = m->ns = 0;
		m->aa = false;
	}
}

static size_t size_limit(const struct dnsq *q, const struct db *db, const struct dns_client *cl,
			 size_t cap)
{
	size_t lim = cl->tcp ? DNS_MSG_MAX : !q->edns ? 512
				 : q->payload < db->udp_payload ? q->payload : db->udp_payload;

	return lim < cap ? lim : cap;
}

static void info_fill(struct dns_info *info, const struct dnsq *q, int rcode)
{
	info->rcode = rcode;
	info->qtype = q->qtype;
	if (q->qname_len)
		dns_name_text(q->qname, info->qname, sizeof info->qname);
}

/* An answer with no records: FORMERR, NOTIMP, BADVERS, or a truncated one. */
static size_t bare(struct msg *m, const uint8_t *msg, bool question, bool tc)
{
	m->an = m->ns = m->ar = 0;
	m->w.pos = 0;
	m->w.err = 0;
	put_start(m, msg, question);
	put_opt(m);
	put_header(m, tc);
	return m->w.err ? 0 : m->w.pos;
}

int dns_answer(const struct db *db, struct dns_cache *cache, uint32_t rnd, time_t now,
	       const uint8_t *msg, size_t len, const struct dns_client *cl, uint8_t *out,
	       size_t cap, size_t *outlen, struct dns_info *info)
{
	struct dnsq q;
	enum dnsq_verdict v = dnsq_parse(msg, len, &q);
	struct msg m = { .q = &q, .db = db, .cache = cache, .cl = cl, .rnd = rnd, .now = now,
			 .info = info };
	size_t lim;

	memset(info, 0, sizeof *info);
	info->ecs_scope = -1;
	info_fill(info, &q, -1);
	if (v == DNSQ_DROP || cap < 512)
		return DNS_DROP;
	m.w = wire_writer(out, cap);
	if (v != DNSQ_OK) {
		m.rcode = v == DNSQ_NOTIMP ? RC_NOTIMP : v == DNSQ_BADVERS ? RC_BADVERS : RC_FORMERR;
		if (v != DNSQ_BADVERS)
			q.edns = q.has_ecs = false;
		info->rcode = m.rcode;
		*outlen = bare(&m, msg, false, false);
		return *outlen ? DNS_RESPOND : DNS_DROP;
	}
	if (q.qtype == T_AXFR && cl->tcp && db_zone_find(db, q.qname, q.qname_len))
		return DNS_AXFR;
	m.dnssec = q.edns && q.do_bit;
	lim = size_limit(&q, db, cl, cap);
	m.w.len = lim - OPT_RESERVE;
	put_start(&m, msg, true);
	answer_query(&m);
	if (m.wait)
		return DNS_WAIT;
	if (m.w.err) { /* did not fit: TC, the client retries over TCP */
		m.w.len = lim;
		*outlen = bare(&m, msg, true, true);
		info->truncated = true;
	} else {
		m.w.len = lim;
		put_opt(&m);
		put_header(&m, false);
		*outlen = m.w.err ? 0 : m.w.pos;
	}
	info->rcode = m.rcode;
	info->ecs_scope = q.has_ecs ? m.scope : -1;
	return *outlen ? DNS_RESPOND : DNS_DROP;
}

/* ---- AXFR -------------------------------------------------------------------------------- */

struct axfr {
	struct buf *out;
	size_t start; /* offset of the current message's length prefix */
	uint16_t an;
	const struct dnsq *q;
	const uint8_t *msg;
};

static void axfr_close(struct axfr *x)
{
	uint8_t *p;
	size_t mlen;

	if (x->out->err)
		return;
	p = (uint8_t *)x->out->data + x->start;
	mlen = x->out->len - x->start - 2;
	p[0] = (uint8_t)(mlen >> 8);
	p[1] = (uint8_t)mlen;
	p[2 + 6] = (uint8_t)(x->an >> 8);
	p[2 + 7] = (uint8_t)x->an;
}

static void axfr_open(struct axfr *x, bool question)
{
	uint8_t h[14] = { 0, 0, (uint8_t)(x->q->id >> 8), (uint8_t)x->q->id, 0x84, 0, 0,
			  question ? 1 : 0 };

	x->start = x->out->len;
	x->an = 0;
	buf_append(x->out, h, sizeof h);
	if (question)
		buf_append(x->out, x->msg + DNS_HDR, x->q->qend - DNS_HDR);
}

static void axfr_records(struct axfr *x, const uint8_t *owner, size_t olen, const uint8_t *p,
			 unsigned n)
{
	size_t used = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t body = 10u + (size_t)(p[used + 8] << 8 | p[used + 9]);
		if (x->out->len - x->start + olen + body > 16000) {
			axfr_close(x);
			axfr_open(x, false);
		}
		buf_append(x->out, owner, olen);
		buf_append(x->out, p + used, body);
		used += body;
		x->an++;
	}
}

static void axfr_node(struct axfr *x, const struct db_node *n, bool skip_soa)
{
	for (size_t i = 0; i < n->nrrsets; i++) {
		const struct db_rrset *s = &n->rrsets[i];
		if (skip_soa && s->type == T_SOA) {
			axfr_records(x, n->name, n->namelen, s->wire + s->rrlen, s->nsig);
			continue;
		}
		axfr_records(x, n->name, n->namelen, s->wire, s->nrr);
		axfr_records(x, n->name, n->namelen, s->wire + s->rrlen, s->nsig);
	}
}

static bool axfr_allowed(const struct db_zone *z, const struct dns_client *cl)
{
	struct dnspol_client c = { .family = cl->family, .bits = cl->family == 4 ? 32 : 128 };

	memcpy(c.addr, cl->addr, sizeof c.addr);
	for (size_t i = 0; i < z->naxfr; i++)
		if (dnspol_prefix_match(&z->axfr[i], &c))
			return true;
	return false;
}

int dns_axfr(const struct db *db, const uint8_t *msg, size_t len, const struct dns_client *cl,
	     struct buf *out, struct dns_info *info)
{
	struct dnsq q;
	const struct db_zone *z;
	struct axfr x = { .out = out, .q = &q, .msg = msg };

	memset(info, 0, sizeof *info);
	info->ecs_scope = -1;
	info->axfr = true;
	if (dnsq_parse(msg, len, &q) != DNSQ_OK)
		return CDNI_EINVAL;
	info_fill(info, &q, RC_NOERROR);
	z = db_zone_find(db, q.qname, q.qname_len);
	axfr_open(&x, true);
	if (!z || z->apexlen != q.qname_len || !axfr_allowed(z, cl)) {
		if (!out->err)
			((uint8_t *)out->data)[x.start + 5] = RC_REFUSED;
		info->rcode = RC_REFUSED;
		axfr_close(&x);
		return out->err;
	}
	axfr_records(&x, z->apex, z->apexlen, z->soa->wire, 1);
	axfr_node(&x, z->apex_node, true);
	for (size_t i = 0; i <= z->tabmask; i++)
		for (const struct db_node *n = z->tab[i]; n; n = n->next)
			if (n != z->apex_node)
				axfr_node(&x, n, false);
	axfr_records(&x, z->apex, z->apexlen, z->soa->wire, 1);
	axfr_close(&x);
	return out->err;
}
