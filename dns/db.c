/* cdni-dns — compiling zones into the answer database, and lookups. */
#include "dns/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "common/err.h"

/* ---- names and hashes ---------------------------------------------------- */

uint32_t db_name_hash(const uint8_t *name, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ name[i]) * 16777619u;
	return h;
}

const struct db_node *db_node_find(const struct db_zone *z, const uint8_t *name, size_t len)
{
	uint32_t h = db_name_hash(name, len);

	for (const struct db_node *n = z->tab[h & z->tabmask]; n; n = n->next)
		if (n->hash == h && n->namelen == len && memcmp(n->name, name, len) == 0)
			return n;
	return NULL;
}

const struct db_rrset *db_rrset_find(const struct db_node *n, uint16_t type)
{
	for (size_t i = 0; i < n->nrrsets; i++)
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
	return NULL;
}

const struct db_zone *db_zone_find(const struct db *db, const uint8_t *name, size_t len)
{
	const struct db_zone *best = NULL;

	for (size_t i = 0; i < db->nzones; i++) {
		const struct db_zone *z = &db->zones[i];
		if ((!best || z->apexlen > best->apexlen) && dns_name_under(name, len, z->apex, z->apexlen))
			best = z;
	}
	return best;
}

const struct db_node *db_nsec_cover(const struct db_zone *z, const uint8_t *name)
{
	size_t lo = 0, hi = z->nnsec;

	if (z->nnsec == 0)
		return NULL;
	while (lo < hi) { /* first owner > name */
		size_t mid = lo + (hi - lo) / 2;
		if (dns_name_cmp(z->nsec[mid]->name, name) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return z->nsec[lo ? lo - 1 : z->nnsec - 1];
}

static void nsec3_hash(const struct db_zone *z, const uint8_t *name, size_t len, uint8_t out[20])
{
	uint8_t buf[DNS_NAME_MAX + 255];

	memcpy(buf, name, len);
	memcpy(buf + len, z->n3_salt, z->n3_saltlen);
	SHA1(buf, len + z->n3_saltlen, out);
	for (unsigned i = 0; i < z->n3_iter; i++) {
		memcpy(buf, out, 20);
		memcpy(buf + 20, z->n3_salt, z->n3_saltlen);
		SHA1(buf, 20u + z->n3_saltlen, out);
	}
}

const struct db_node *db_nsec3_find(const struct db_zone *z, const uint8_t *name, size_t len,
				    bool *exact)
{
	uint8_t h[20];
	size_t lo = 0, hi = z->nnsec3, i;

	*exact = false;
	if (z->nnsec3 == 0)
		return NULL;
	nsec3_hash(z, name, len, h);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(z->nsec3[mid].hash, h, 20) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	i = lo ? lo - 1 : z->nnsec3 - 1;
	*exact = memcmp(z->nsec3[i].hash, h, 20) == 0;
	return z->nsec3[i].node;
}

/* ---- compiling --------------------------------------------------------------- */

struct flat {
	const uint8_t *owner;
	size_t olen;
	uint16_t type; /* covered type for an RRSIG */
	uint8_t sig;
	ldns_rr *rr;
};

static int flat_cmp(const void *a, const void *b)
{
	const struct flat *x = a, *y = b;
	int c = dns_name_cmp(x->owner, y->owner);

	if (c)
		return c;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return (int)x->sig - (int)y->sig;
}

static uint16_t covered_type(const ldns_rr *rr)
{
	const ldns_rdf *t = ldns_rr_rrsig_typecovered(rr);

	return t ? (uint16_t)ldns_rdf2rr_type(t) : 0;
}

static struct flat *flat_make(const ldns_rr_list *l, size_t *n)
{
	size_t count = ldns_rr_list_rr_count(l);
	struct flat *f = calloc(count ? count : 1, sizeof *f);

	if (!f)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		ldns_dname2canonical(ldns_rr_owner(rr));
		f[i].rr = rr;
		f[i].owner = ldns_rdf_data(ldns_rr_owner(rr));
		f[i].olen = ldns_rdf_size(ldns_rr_owner(rr));
		f[i].sig = ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG;
		f[i].type = f[i].sig ? covered_type(rr) : (uint16_t)ldns_rr_get_type(rr);
	}
	qsort(f, count, sizeof *f, flat_cmp);
	*n = count;
	return f;
}

struct compile {
	struct db_zone *z;
	ldns_buffer *buf;
	size_t capnsec, capnsec3;
};

/* One record without its owner: TYPE CLASS TTL RDLEN RDATA. */
static int render_with(ldns_buffer *buf, const ldns_rr *rr, uint8_t **dst, uint32_t *len,
		       uint32_t *cap)
{
	size_t rdlen;
	uint8_t *p;

	ldns_buffer_clear(buf);
	if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK)
		return CDNI_EINVAL;
	rdlen = ldns_buffer_position(buf);
	if (rdlen > 65535)
		return CDNI_EOVERFLOW;
	if (*len + 10 + rdlen > *cap) {
		uint32_t ncap = (*cap ? *cap * 2 : 256) + (uint32_t)rdlen + 10;
		p = realloc(*dst, ncap);
		if (!p)
			return CDNI_ENOMEM;
		*dst = p;
		*cap = ncap;
	}
	p = *dst + *len;
	p[0] = (uint8_t)(ldns_rr_get_type(rr) >> 8);
	p[1] = (uint8_t)ldns_rr_get_type(rr);
	p[2] = 0;
	p[3] = 1;
	p[4] = (uint8_t)(ldns_rr_ttl(rr) >> 24);
	p[5] = (uint8_t)(ldns_rr_ttl(rr) >> 16);
	p[6] = (uint8_t)(ldns_rr_ttl(rr) >> 8);
	p[7] = (uint8_t)ldns_rr_ttl(rr);
	p[8] = (uint8_t)(rdlen >> 8);
	p[9] = (uint8_t)rdlen;
	memcpy(p + 10, ldns_buffer_begin(buf), rdlen);
	*len += 10u + (uint32_t)rdlen;
	return 0;
}

int db_render_rr(const ldns_rr *rr, uint8_t **dst, uint32_t *len, uint32_t *cap)
{
	ldns_buffer *buf = ldns_buffer_new(4096);
	int rc;

	if (!buf)
		return CDNI_ENOMEM;
	rc = render_with(buf, rr, dst, len, cap);
	ldns_buffer_free(buf);
	return rc;
}

static void note_expiration(struct db_zone *z, const ldns_rr *sig)
{
	const ldns_rdf *e = ldns_rr_rrsig_expiration(sig);
	uint32_t t = e ? ldns_rdf2native_int32(e) : 0;

	if (t && (!z->sig_expire_min || t < z->sig_expire_min))
		z->sig_expire_min = t;
}

/* The RRset of f[a..b): records first, then RRSIGs. */
static int render_set(struct compile *c, struct db_rrset *s, const struct flat *f, size_t a, size_t b)
{
	uint32_t len = 0, cap = 0;
	int rc = 0;

	s->type = f[a].type;
	for (int pass = 0; pass < 2 && rc == 0; pass++)
		for (size_t i = a; i < b && rc == 0; i++) {
			if (f[i].sig != pass)
				continue;
			rc = render_with(c->buf, f[i].rr, &s->wire, &len, &cap);
			if (pass == 0) {
				s->nrr++;
				s->rrlen = len;
			} else {
				s->nsig++;
				note_expiration(c->z, f[i].rr);
			}
		}
	s->siglen = len - s->rrlen;
	return rc;
}

static void node_insert(struct db_zone *z, struct db_node *n)
{
	n->hash = db_name_hash(n->name, n->namelen);
	n->next = z->tab[n->hash & z->tabmask];
	z->tab[n->hash & z->tabmask] = n;
	z->nnodes++;
}

static struct db_node *node_new(const uint8_t *name, size_t len, size_t nsets)
{
	struct db_node *n = calloc(1, sizeof *n + len);

	if (!n)
		return NULL;
	memcpy(n->name, name, len);
	n->namelen = (uint8_t)len;
	n->nrrsets = (uint16_t)nsets;
	if (nsets && !(n->rrsets = calloc(nsets, sizeof *n->rrsets))) {
		free(n);
		return NULL;
	}
	return n;
}

static int nsec3_push(struct compile *c, const struct db_node *n)
{
	struct db_zone *z = c->z;
	char label[64];
	uint8_t h[40];

	if (n->name[0] != 32)
		return CDNI_EINVAL; /* base32hex of a SHA-1 hash */
	memcpy(label, n->name + 1, 32);
	label[32] = '\0';
	if (ldns_b32_pton_extended_hex(label, 32, h, sizeof h) != 20)
		return CDNI_EINVAL;
	if (z->nnsec3 == c->capnsec3) {
		size_t ncap = c->capnsec3 ? c->capnsec3 * 2 : 64;
		struct db_nsec3 *v = realloc(z->nsec3, ncap * sizeof *v);
		if (!v)
			return CDNI_ENOMEM;
		z->nsec3 = v;
		c->capnsec3 = ncap;
	}
	memcpy(z->nsec3[z->nnsec3].hash, h, 20);
	z->nsec3[z->nnsec3++].node = n;
	return 0;
}

static int nsec_push(struct compile *c, const struct db_node *n)
{
	struct db_zone *z = c->z;

	if (z->nnsec == c->capnsec) {
		size_t ncap = c->capnsec ? c->capnsec * 2 : 64;
		const struct db_node **v = realloc(z->nsec, ncap * sizeof *v);
		if (!v)
			return CDNI_ENOMEM;
		z->nsec = v;
		c->capnsec = ncap;
	}
	z->nsec[z->nnsec++] = n;
	return 0;
}

/* Owner group f[a..b) into a node. */
static int node_make(struct compile *c, const struct flat *f, size_t a, size_t b)
{
	size_t nsets = 0, k = 0;
	bool only_nsec3 = true;
	struct db_node *n;
	int rc = 0;

	for (size_t i = a; i < b; i++)
		if (i == a || f[i].type != f[i - 1].type)
			nsets++;
	n = node_new(f[a].owner, f[a].olen, nsets);
	if (!n)
		return CDNI_ENOMEM;
	for (size_t i = a; i < b && rc == 0; k++) {
		size_t j = i;
		while (j < b && f[j].type == f[i].type)
			j++;
		rc = render_set(c, &n->rrsets[k], f, i, j);
		only_nsec3 = only_nsec3 && f[i].type == T_NSEC3;
		i = j;
	}
	n->flags = only_nsec3 ? NODE_NSEC3 : NODE_DATA;
	node_insert(c->z, n); /* inserted even on failure, so db_free frees it */
	if (rc == 0 && db_rrset_find(n, T_NSEC))
		rc = nsec_push(c, n);
	if (rc == 0 && db_rrset_find(n, T_NSEC3))
		rc = nsec3_push(c, n);
	return rc;
}

/* Empty non-terminals: every ancestor of a name, down to the apex, exists. */
static int add_ents(struct db_zone *z, const uint8_t *name, size_t len)
{
	size_t p = 0;

	while (len - p > z->apexlen) {
		p += 1u + name[p];
		if (len - p <= z->apexlen || db_node_find(z, name + p, len - p))
			return 0;
		struct db_node *n = node_new(name + p, len - p, 0);
		if (!n)
			return CDNI_ENOMEM;
		n->flags = NODE_ENT;
		node_insert(z, n);
	}
	return 0;
}

static int nsec3_cmp(const void *a, const void *b)
{
	return memcmp(((const struct db_nsec3 *)a)->hash, ((const struct db_nsec3 *)b)->hash, 20);
}

static void denial_setup(struct db_zone *z)
{
	const struct db_rrset *p = db_rrset_find(z->apex_node, T_NSEC3PARAM);

	if (p && p->nrr && p->rrlen >= 15) {
		const uint8_t *rd = p->wire + 10; /* alg, flags, iterations, salt length, salt */
		z->denial = DENIAL_NSEC3;
		z->n3_iter = (uint16_t)(rd[2] << 8 | rd[3]);
		z->n3_saltlen = rd[4];
		if (15u + z->n3_saltlen <= p->rrlen)
			memcpy(z->n3_salt, rd + 5, z->n3_saltlen);
		else
			z->n3_saltlen = 0;
		qsort(z->nsec3, z->nnsec3, sizeof *z->nsec3, nsec3_cmp);
	} else if (z->nnsec) {
		z->denial = DENIAL_NSEC;
	}
}

static size_t table_size(size_t n)
{
	size_t s = 64;

	while (s < 2 * n)
		s *= 2;
	return s;
}

static int compile_nodes(struct compile *c, const struct flat *f, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0;) {
		size_t j = i + 1;
		while (j < n && f[j].olen == f[i].olen && memcmp(f[j].owner, f[i].owner, f[i].olen) == 0)
			j++;
		rc = node_make(c, f, i, j);
		i = j;
	}
	return rc;
}

int db_zone_compile(struct db_zone *z, const ldns_rr_list *rrs, char *err, size_t errlen)
{
	struct compile c = { .z = z };
	struct flat *f;
	size_t n = 0;
	int rc = CDNI_ENOMEM;

	f = flat_make(rrs, &n);
	c.buf = ldns_buffer_new(65536);
	z->tabmask = table_size(n) - 1;
	z->tab = calloc(z->tabmask + 1, sizeof *z->tab);
	if (!f || !c.buf || !z->tab)
		goto done;
	rc = compile_nodes(&c, f, n);
	for (size_t i = 0; i < n && rc == 0; i++)
		if (!i || dns_name_cmp(f[i].owner, f[i - 1].owner) != 0)
			rc = add_ents(z, f[i].owner, f[i].olen);
	if (rc)
		goto done;
	z->apex_node = db_node_find(z, z->apex, z->apexlen);
	z->soa = z->apex_node ? db_rrset_find(z->apex_node, T_SOA) : NULL;
	rc = z->soa ? 0 : CDNI_EINVAL;
	if (rc == 0)
		denial_setup(z);
done:
	if (rc)
		snprintf(err, errlen, "zone %s: cannot compile: %s", z->name, cdni_strerror(rc));
	free(f);
	if (c.buf)
		ldns_buffer_free(c.buf);
	return rc;
}

void db_zone_clear(struct db_zone *z)
{
	for (size_t i = 0; z->tab && i <= z->tabmask; i++) {
		struct db_node *n = z->tab[i], *next;
		for (; n; n = next) {
			next = n->next;
			for (size_t k = 0; k < n->nrrsets; k++)
				free(n->rrsets[k].wire);
			free(n->rrsets);
			free(n);
		}
	}
	free(z->tab);
	free(z->nsec);
	free(z->nsec3);
	free(z->axfr);
	free(z->name);
	if (z->online)
		dane_keys_free(&z->keys);
	memset(z, 0, sizeof *z);
}
