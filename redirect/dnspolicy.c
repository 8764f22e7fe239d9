/* cdni — DNS redirection policy: subnets, weights, availability. */
#include "redirect/dnspolicy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

struct dnspol *dnspol_new(void)
{
	return calloc(1, sizeof(struct dnspol));
}

void dnspol_free(struct dnspol *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->ndcdns; i++) {
		free(p->dcdns[i].name);
		free(p->dcdns[i].target);
	}
	for (size_t i = 0; i < p->nnames; i++) {
		struct dnspol_name *n = &p->names[i];
		for (size_t j = 0; j < n->nrules; j++) {
			free(n->rules[j].pfx);
			free(n->rules[j].c);
		}
		free(n->rules);
		free(n->name);
	}
	free(p->dcdns);
	free(p->names);
	free(p);
}

int dnspol_name_to_wire(const char *name, uint8_t *wire, size_t *len)
{
	size_t n = strlen(name), pos = 0, i = 0;

	if (n && name[n - 1] == '.')
		n--;
	while (i < n) {
		size_t start = i;
		while (i < n && name[i] != '.')
			i++;
		if (i == start || i - start > 63 || pos + 1 + (i - start) + 1 > DNSPOL_NAME_MAX)
			return CDNI_EINVAL;
		wire[pos++] = (uint8_t)(i - start);
		for (size_t k = start; k < i; k++) {
			unsigned char ch = (unsigned char)name[k];
			if (ch <= ' ' || ch >= 0x7f)
				return CDNI_EINVAL;
			wire[pos++] = (uint8_t)tolower(ch);
		}
		if (i < n && ++i == n)
			return CDNI_EINVAL; /* "a..": trailing empty label */
	}
	wire[pos++] = 0;
	*len = pos;
	return 0;
}

int dnspol_prefix_parse(const char *s, struct dnspol_prefix *p)
{
	char buf[64], *slash, *end;
	struct dnspol_prefix r = { 0 };
	long len;
	int max;

	if (strlen(s) >= sizeof buf)
		return CDNI_EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, r.addr) == 1)
		r.family = 4;
	else if (inet_pton(AF_INET6, buf, r.addr) == 1)
		r.family = 6;
	else
		return CDNI_EINVAL;
	max = r.family == 4 ? 32 : 128;
	len = max;
	if (slash) {
		len = strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1 || len < 0 || len > max)
			return CDNI_EINVAL;
	}
	r.len = (int)len;
	for (int b = r.len; b < max; b++) /* host bits must be zero */
		if (r.addr[b / 8] & (0x80 >> (b % 8)))
			return CDNI_EINVAL;
	*p = r;
	return 0;
}

bool dnspol_prefix_match(const struct dnspol_prefix *p, const struct dnspol_client *c)
{
	int full = p->len / 8, rest = p->len % 8;

	if (c->family != p->family)
		return false;
	if (memcmp(p->addr, c->addr, (size_t)full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((p->addr[full] & mask) != (c->addr[full] & mask))
			return false;
	}
	return true;
}

static int grow(void **v, size_t n, size_t size)
{
	void *nv = realloc(*v, (n + 1) * size);

	if (!nv)
		return CDNI_ENOMEM;
	*v = nv;
	memset((char *)nv + n * size, 0, size);
	return 0;
}

long dnspol_dcdn_find(const struct dnspol *p, const char *name)
{
	for (size_t i = 0; i < p->ndcdns; i++)
		if (strcmp(p->dcdns[i].name, name) == 0)
			return (long)i;
	return -1;
}

int dnspol_add_dcdn(struct dnspol *p, const char *name, const char *target, bool down,
		    char *err, size_t errlen)
{
	struct dnspol_dcdn *d;

	if (dnspol_dcdn_find(p, name) >= 0) {
		snprintf(err, errlen, "dCDN \"%s\" is defined twice", name);
		return CDNI_EEXIST;
	}
	if (grow((void **)&p->dcdns, p->ndcdns, sizeof *d))
		return CDNI_ENOMEM;
	d = &p->dcdns[p->ndcdns];
	if (dnspol_name_to_wire(target, d->wire, &d->wirelen)) {
		snprintf(err, errlen, "dCDN \"%s\": bad target name \"%s\"", name, target);
		return CDNI_EINVAL;
	}
	d->name = strdup(name);
	d->target = strdup(target);
	if (!d->name || !d->target) {
		free(d->name);
		free(d->target);
		return CDNI_ENOMEM;
	}
	d->down = down;
	atomic_init(&d->healthy, 1);
	p->ndcdns++;
	return 0;
}

const struct dnspol_name *dnspol_lookup(const struct dnspol *p, const uint8_t *wire, size_t len)
{
	for (size_t i = 0; i < p->nnames; i++)
		if (p->names[i].wirelen == len && memcmp(p->names[i].wire, wire, len) == 0)
			return &p->names[i];
	return NULL;
}

int dnspol_add_name(struct dnspol *p, const char *name, uint32_t ttl, size_t *index, char *err,
		    size_t errlen)
{
	struct dnspol_name *n;
	uint8_t wire[DNSPOL_NAME_MAX];
	size_t len;

	if (dnspol_name_to_wire(name, wire, &len)) {
		snprintf(err, errlen, "bad name \"%s\"", name);
		return CDNI_EINVAL;
	}
	if (dnspol_lookup(p, wire, len)) {
		snprintf(err, errlen, "name \"%s\" has two policies", name);
		return CDNI_EEXIST;
	}
	if (grow((void **)&p->names, p->nnames, sizeof *n))
		return CDNI_ENOMEM;
	n = &p->names[p->nnames];
	memcpy(n->wire, wire, len);
	n->wirelen = len;
	n->ttl = ttl;
	if (!(n->name = strdup(name)))
		return CDNI_ENOMEM;
	*index = p->nnames++;
	return 0;
}

static int rule_fill(struct dnspol *p, struct dnspol_rule *r, const char *const *subnets,
		     size_t ns, const char *const *dcdns, const unsigned *weights, size_t n,
		     char *err, size_t errlen)
{
	r->pfx = calloc(ns ? ns : 1, sizeof *r->pfx);
	r->c = calloc(n ? n : 1, sizeof *r->c);
	if (!r->pfx || !r->c)
		return CDNI_ENOMEM;
	for (size_t i = 0; i < ns; i++, r->npfx++)
		if (dnspol_prefix_parse(subnets[i], &r->pfx[i])) {
			snprintf(err, errlen, "bad subnet \"%s\" (want ADDR/LEN, host bits zero)", subnets[i]);
			return CDNI_EINVAL;
		}
	for (size_t i = 0; i < n; i++, r->nc++) {
		long d = dnspol_dcdn_find(p, dcdns[i]);
		if (d < 0) {
			snprintf(err, errlen, "unknown dCDN \"%s\"", dcdns[i]);
			return CDNI_ENOTFOUND;
		}
		if (weights[i] < 1 || weights[i] > 1000) {
			snprintf(err, errlen, "weight of \"%s\" must be 1..1000", dcdns[i]);
			return CDNI_EINVAL;
		}
		r->c[i].dcdn = (size_t)d;
		r->c[i].weight = weights[i];
	}
	return 0;
}

int dnspol_add_rule(struct dnspol *p, size_t index, const char *const *subnets, size_t nsubnets,
		    const char *const *dcdns, const unsigned *weights, size_t n, char *err,
		    size_t errlen)
{
	struct dnspol_name *nm;
	struct dnspol_rule *r;

	if (index >= p->nnames)
		return CDNI_EINVAL;
	nm = &p->names[index];
	if (n == 0) {
		snprintf(err, errlen, "a rule needs at least one dCDN");
		return CDNI_EINVAL;
	}
	if (grow((void **)&nm->rules, nm->nrules, sizeof *r))
		return CDNI_ENOMEM;
	r = &nm->rules[nm->nrules++]; /* counted now so that dnspol_free frees it */
	return rule_fill(p, r, subnets, nsubnets, dcdns, weights, n, err, errlen);
}

bool dnspol_dcdn_available(const struct dnspol_dcdn *d)
{
	return !d->down && atomic_load_explicit(&d->healthy, memory_order_relaxed);
}

static bool rule_matches(const struct dnspol_rule *r, const struct dnspol_client *c, int *len)
{
	if (r->npfx == 0) {
		*len = 0;
		return true;
	}
	for (size_t i = 0; i < r->npfx; i++)
		if (dnspol_prefix_match(&r->pfx[i], c)) {
			*len = r->pfx[i].len;
			return true;
		}
	return false;
}

/* Draw among the available choices of r by weight; -1 when none is up. */
static bool usable(const struct dnspol *p, size_t d, uint64_t excluded)
{
	return dnspol_dcdn_available(&p->dcdns[d]) && !(d < 64 && (excluded >> d & 1));
}

static long draw(const struct dnspol *p, const struct dnspol_rule *r, uint32_t rnd,
		 uint64_t excluded)
{
	unsigned long total = 0, x;

	for (size_t i = 0; i < r->nc; i++)
		if (usable(p, r->c[i].dcdn, excluded))
			total += r->c[i].weight;
	if (total == 0)
		return -1;
	x = rnd % total;
	for (size_t i = 0; i < r->nc; i++) {
		if (!usable(p, r->c[i].dcdn, excluded))
			continue;
		if (x < r->c[i].weight)
			return (long)r->c[i].dcdn;
		x -= r->c[i].weight;
	}
	return -1;
}

/* The longest subnet of c's family in n's rules: how far an answer that
 * matched no subnet holds. */
static int widest_scope(const struct dnspol_name *n, const struct dnspol_client *c)
{
	int scope = 0;

	for (size_t i = 0; i < n->nrules; i++)
		for (size_t j = 0; j < n->rules[i].npfx; j++)
			if (n->rules[i].pfx[j].family == c->family && n->rules[i].pfx[j].len > scope)
				scope = n->rules[i].pfx[j].len;
	return scope;
}

int dnspol_choose(const struct dnspol *p, const struct dnspol_name *n,
		  const struct dnspol_client *c, uint32_t rnd, struct dnspol_result *r)
{
	return dnspol_choose_excluding(p, n, c, rnd, 0, r);
}

int dnspol_choose_excluding(const struct dnspol *p, const struct dnspol_name *n,
			    const struct dnspol_client *c, uint32_t rnd, uint64_t excluded,
			    struct dnspol_result *r)
{
	struct dnspol_result res = { .dcdn = NULL, .rule = -1, .scope = widest_scope(n, c) };
	int len = 0;

	for (size_t i = 0; i < n->nrules; i++) {
		long d;
		if (!rule_matches(&n->rules[i], c, &len))
			continue;
		d = draw(p, &n->rules[i], rnd, excluded);
		if (d < 0)
			continue;
		res.dcdn = &p->dcdns[d];
		res.dcdn_index = (size_t)d;
		res.rule = (int)i;
		if (n->rules[i].npfx)
			res.scope = len;
		break;
	}
	*r = res;
	return 0;
}
