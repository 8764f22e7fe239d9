/* cdni-dns — asking dCDNs over the redirection interface (see ri.h). */
#include "dns/ri.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/upstream.h"
#include "redirect/fci.h"
#include "redirect/rri.h"
#include "redirect/rri_cache.h"
#include "redirect/rri_client.h"

#define MAX_DCDNS 64
#define DNS_RI_KEY_MAX 2048
#define STATUS_OK 0
#define STATUS_DECLINED 1

/* The dCDNs of one config generation: copies, so a reload can free its
 * config while calls with the old one are under way. */
struct ri_set {
	atomic_int refs;
	uint64_t gen;
	char *cdn_id;
	long long max_hops, hold_s;
	size_t n;
	struct rri_client_conf d[MAX_DCDNS];
	char *name[MAX_DCDNS];
	_Atomic long long failed_until[MAX_DCDNS];
};

struct job {
	struct job *next;
	struct ri_set *set;
	struct dns_ri_ask k;
	bool started;
	struct dns_ri_waiter *waiters;
};

struct dns_ri {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ri_set *set;      /* current; under lock */
	struct job *jobs;        /* queued and under way */
	size_t waiting, max_waiting;
	bool stop;
	pthread_t *threads;
	size_t nthreads;
	struct rri_cache *cache;
	dns_ri_deliver_fn deliver;
	void *cls;
	_Atomic uint64_t calls;
};

/* ---- the dCDN sets ---- */

static void set_unref(struct ri_set *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	for (size_t i = 0; i < s->n; i++) {
		conf_free(rri_client_conf_table, &s->d[i]);
		free(s->name[i]);
	}
	free(s->cdn_id);
	free(s);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int copy_client(struct rri_client_conf *to, const struct rri_client_conf *from)
{
	*to = *from;
	to->url = dup_or_null(from->url);
	to->ca = dup_or_null(from->ca);
	to->cert = dup_or_null(from->cert);
	to->key = dup_or_null(from->key);
	to->resolve = dup_or_null(from->resolve);
	if ((from->url && !to->url) || (from->ca && !to->ca) || (from->cert && !to->cert) ||
	    (from->key && !to->key) || (from->resolve && !to->resolve))
		return CDNI_ENOMEM;
	return 0;
}

static int set_new(const struct dns_conf *c, uint64_t gen, struct ri_set **out)
{
	const struct dns_dcdn_conf *d = c->dcdns.v;
	struct ri_set *s = calloc(1, sizeof *s);
	int rc = 0;

	if (!s)
		return CDNI_ENOMEM;
	atomic_init(&s->refs, 1);
	s->gen = gen;
	s->max_hops = c->ri.max_hops;
	s->hold_s = c->ri.hold_failed_s;
	s->n = c->dcdns.n < MAX_DCDNS ? c->dcdns.n : MAX_DCDNS;
	s->cdn_id = dup_or_null(c->ri.cdn_id);
	if (c->ri.cdn_id && !s->cdn_id)
		rc = CDNI_ENOMEM;
	for (size_t i = 0; rc == 0 && i < s->n; i++) {
		rc = copy_client(&s->d[i], &d[i].rri);
		if (rc == 0 && !(s->name[i] = strdup(d[i].name)))
			rc = CDNI_ENOMEM;
	}
	if (rc) {
		set_unref(s);
		return rc;
	}
	*out = s;
	return 0;
}

/* ---- one call ---- */

/* By the dCDN's name and URL, not its index: answers outlive a reload that
 * leaves the dCDN as it was. s is k's generation's set. */
static void cache_key(const struct ri_set *s, const struct dns_ri_ask *k, char *out, size_t len)
{
	snprintf(out, len, "%s|%s|%u|%s", s->name[k->dcdn], s->d[k->dcdn].url, k->qtype, k->qname);
}

static int request_of(const struct ri_set *s, const struct dns_ri_ask *k, struct rri_request *rq)
{
	memset(rq, 0, sizeof *rq);
	rq->kind = RRI_DNS;
	rq->max_hops = s->max_hops;
	rq->dns.resolver_ip = strdup(k->resolver);
	rq->dns.qtype = strdup(k->qtype == 28 ? "AAAA" : "A");
	rq->dns.qclass = strdup("IN");
	rq->dns.qname = strdup(k->qname);
	rq->dns.c_subnet = k->subnet[0] ? strdup(k->subnet) : NULL;
	if (!rq->dns.resolver_ip || !rq->dns.qtype || !rq->dns.qclass || !rq->dns.qname ||
	    (k->subnet[0] && !rq->dns.c_subnet) || rri_strs_push(&rq->cdn_path, s->cdn_id))
		return CDNI_ENOMEM;
	return 0;
}

/* The records the dCDN gave, as "CNAME 30 edge.dcdn.test" or "A 30 ip ip". */
static int answer_text(const struct rri_dns_response *d, uint16_t qtype, struct buf *b)
{
	const struct rri_strs *v = d->cname.n ? &d->cname : qtype == 28 ? &d->aaaa : &d->a;

	if (!v->n)
		return CDNI_ENOTFOUND;
	buf_printf(b, "%s %lld", d->cname.n ? "CNAME" : qtype == 28 ? "AAAA" : "A",
		   d->ttl < 0 ? 0LL : d->ttl > 86400 ? 86400LL : d->ttl);
	for (size_t i = 0; i < v->n && i < (d->cname.n ? 1 : v->n); i++)
		buf_printf(b, " %s", v->v[i]);
	return b->err;
}

/* Call the dCDN; the answer (or the reason it failed) into text. Returns
 * STATUS_OK, STATUS_DECLINED (an answer without usable records), or a
 * negative code (unreachable, deadline, garbage). */
static int call(struct dns_ri *r, struct ri_set *s, const struct dns_ri_ask *k, struct buf *text,
		struct rri_reply *rep)
{
	struct rri_client cl = rri_client_from_conf(&s->d[k->dcdn]);
	struct rri_request rq;
	char err[256] = "";
	int rc = request_of(s, k, &rq);

	atomic_fetch_add(&r->calls, 1);
	if (rc == 0)
		rc = rri_client_ask(&cl, &rq, rep, err, sizeof err);
	rri_request_clear(&rq);
	if (rc) {
		buf_printf(text, "%s", err[0] ? err : cdni_strerror(rc));
		return rc;
	}
	if (rep->rs.kind == RRI_DNS && rep->rs.error.code < 400 && rep->rs.dns.rcode == 0 &&
	    answer_text(&rep->rs.dns, k->qtype, text) == 0)
		return STATUS_OK;
	buf_reset(text);
	if (rep->rs.error.code)
		buf_printf(text, "error %d %s", rep->rs.error.code,
			   rep->rs.error.reason ? rep->rs.error.reason
						: rri_error_reason(rep->rs.error.code));
	else
		buf_printf(text, "no %s records", k->qtype == 28 ? "AAAA" : "A");
	return STATUS_DECLINED;
}

/* Remember the outcome: an answer for its lifetime and scope; a decline for
 * this client, and an unreachable dCDN for everyone, for hold_s. */
static void remember(struct dns_ri *r, struct ri_set *s, const struct dns_ri_ask *k, int st,
		     const char *text, const struct rri_reply *rep)
{
	char key[DNS_RI_KEY_MAX];
	long long now = time(NULL);

	cache_key(s, k, key, sizeof key);
	if (st == STATUS_OK)
		rri_cache_put(r->cache, key, k->client, rep->rs.scope.v, rep->rs.scope.n, now,
			      rep->max_age, text, STATUS_OK, (int)k->dcdn);
	else if (st == STATUS_DECLINED)
		rri_cache_put(r->cache, key, k->client, NULL, 0, now, s->hold_s, text,
			      STATUS_DECLINED, (int)k->dcdn);
	else
		atomic_store(&s->failed_until[k->dcdn], now + s->hold_s);
	if (st != STATUS_OK)
		log_warn("rri", "dCDN %s for %s %s (client %s): %s%s", s->name[k->dcdn],
			 k->qname, k->qtype == 28 ? "AAAA" : "A", k->client, text,
			 st < 0 ? ", skipped for a while" : "");
}

/* The length of the answer's scope prefix covering client; -1 when none
 * does (the answer holds for the client as asked). */
static int scope_bits(const struct rri_response *rs, const char *client)
{
	struct fci_prefix c, p;

	if (fci_prefix_parse(client, &c))
		return -1;
	for (size_t i = 0; i < rs->scope.n; i++)
		if (fci_prefix_parse(rs->scope.v[i], &p) == 0 && p.bits <= c.bits &&
		    fci_prefix_covers(&p, c.family, c.addr))
			return p.bits;
	return -1;
}

static void finish(struct dns_ri *r, struct job *j, int st, const struct buf *text,
		   const struct rri_reply *rep)
{
	struct dns_ri_waiter *w, *next;
	int bits = st == STATUS_OK ? scope_bits(&rep->rs, j->k.client) : -1;

	for (w = j->waiters; w; w = next) {
		next = w->next;
		w->next = NULL;
		w->bits = bits;
		w->text = st == STATUS_OK ? strdup(text->data) : NULL;
		r->deliver(r->cls, w);
	}
}

static void run(struct dns_ri *r, struct job *j)
{
	struct rri_reply rep = { 0 };
	struct buf text;
	int st;

	buf_init(&text, 0);
	st = call(r, j->set, &j->k, &text, &rep);
	if (text.err)
		st = CDNI_ENOMEM;
	remember(r, j->set, &j->k, st, text.data ? text.data : "out of memory", &rep);
	pthread_mutex_lock(&r->lock);
	for (struct job **p = &r->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	for (struct dns_ri_waiter *w = j->waiters; w; w = w->next)
		r->waiting--;
	pthread_mutex_unlock(&r->lock);
	finish(r, j, st, &text, &rep);
	rri_reply_clear(&rep);
	buf_free(&text);
	set_unref(j->set);
	free(j);
}

static void *asker_main(void *arg)
{
	struct dns_ri *r = arg;

	for (;;) {
		struct job *j = NULL;
		pthread_mutex_lock(&r->lock);
		while (!r->stop) {
			for (j = r->jobs; j && j->started; j = j->next)
				;
			if (j)
				break;
			pthread_cond_wait(&r->cond, &r->lock);
		}
		if (j)
			j->started = true;
		pthread_mutex_unlock(&r->lock);
		if (!j)
			break;
		run(r, j);
	}
	return NULL; /* the thread's curl handle goes with it (upstream.c) */
}

/* ---- the engine's side ---- */

int dns_ri_get(struct dns_ri *r, const struct dns_ri_ask *k, time_t now, struct buf *text,
	       int *bits)
{
	struct rri_cache_val v;
	char key[DNS_RI_KEY_MAX];
	bool down, known;

	pthread_mutex_lock(&r->lock);
	known = k->gen == r->set->gen && k->dcdn < r->set->n;
	if (known)
		cache_key(r->set, k, key, sizeof key);
	down = known && atomic_load(&r->set->failed_until[k->dcdn]) > (long long)now;
	pthread_mutex_unlock(&r->lock);
	if (!known)
		return DNS_RI_MISS; /* a query of a db being replaced: not parked either */
	if (rri_cache_get(r->cache, key, k->client, now, &v, text)) { /* even from a dCDN now down */
		*bits = v.bits;
		return v.status == STATUS_OK ? DNS_RI_HIT : DNS_RI_FAILED;
	}
	return down ? DNS_RI_FAILED : DNS_RI_MISS;
}

static bool same_ask(const struct dns_ri_ask *a, const struct dns_ri_ask *b)
{
	return a->gen == b->gen && a->dcdn == b->dcdn && a->qtype == b->qtype &&
	       strcmp(a->qname, b->qname) == 0 && strcmp(a->client, b->client) == 0 &&
	       strcmp(a->resolver, b->resolver) == 0;
}

int dns_ri_wait(struct dns_ri *r, const struct dns_ri_ask *k, struct dns_ri_waiter *w)
{
	struct job *j, **tail = &r->jobs;
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	for (j = r->jobs; j && !same_ask(&j->k, k); j = j->next)
		tail = &j->next;
	if (r->waiting >= r->max_waiting || r->stop || k->gen != r->set->gen ||
	    k->dcdn >= r->set->n) {
		rc = CDNI_EOVERFLOW;
	} else if (!j) {
		if (!(j = calloc(1, sizeof *j))) {
			rc = CDNI_ENOMEM;
		} else {
			j->k = *k;
			j->set = r->set;
			atomic_fetch_add(&j->set->refs, 1);
			*tail = j; /* first come, first asked */
			pthread_cond_signal(&r->cond);
		}
	}
	if (rc == 0) {
		w->dcdn = k->dcdn;
		w->gen = k->gen;
		w->next = j->waiters;
		j->waiters = w;
		r->waiting++;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void dns_ri_waiter_free(struct dns_ri_waiter *w)
{
	if (w)
		free(w->text);
	free(w);
}

uint64_t dns_ri_calls(const struct dns_ri *r)
{
	return atomic_load(&((struct dns_ri *)(uintptr_t)r)->calls);
}

/* ---- life ---- */

int dns_ri_reconf(struct dns_ri *r, const struct dns_conf *conf, uint64_t gen)
{
	struct ri_set *s, *old;
	int rc = set_new(conf, gen, &s);

	if (rc)
		return rc;
	pthread_mutex_lock(&r->lock);
	old = r->set;
	r->set = s;
	pthread_mutex_unlock(&r->lock);
	set_unref(old);
	return 0;
}

int dns_ri_new(const struct dns_conf *conf, uint64_t gen, dns_ri_deliver_fn deliver, void *cls,
	       struct dns_ri **out, char *err, size_t errlen)
{
	struct dns_ri *r = calloc(1, sizeof *r);

	if (!r || upstream_global_init() || set_new(conf, gen, &r->set) ||
	    rri_cache_new((size_t)conf->ri.cache_entries, &r->cache) ||
	    !(r->threads = calloc((size_t)conf->ri.threads, sizeof *r->threads))) {
		snprintf(err, errlen, "rri: cannot start (out of memory)");
		if (r) {
			set_unref(r->set);
			rri_cache_free(r->cache);
		}
		free(r);
		return CDNI_ENOMEM;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->max_waiting = (size_t)conf->ri.max_waiting;
	r->deliver = deliver;
	r->cls = cls;
	for (; r->nthreads < (size_t)conf->ri.threads; r->nthreads++)
		if (pthread_create(&r->threads[r->nthreads], NULL, asker_main, r) != 0)
			break;
	if (!r->nthreads) {
		snprintf(err, errlen, "rri: cannot start a thread");
		dns_ri_free(r);
		return CDNI_EIO;
	}
	*out = r;
	return 0;
}

void dns_ri_free(struct dns_ri *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	for (size_t i = 0; i < r->nthreads; i++)
		pthread_join(r->threads[i], NULL);
	while (r->jobs) {
		struct job *j = r->jobs;
		r->jobs = j->next;
		for (struct dns_ri_waiter *w = j->waiters, *n; w; w = n) {
			n = w->next;
			dns_ri_waiter_free(w);
		}
		set_unref(j->set);
		free(j);
	}
	set_unref(r->set);
	rri_cache_free(r->cache);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->threads);
	free(r);
	upstream_global_cleanup();
}
