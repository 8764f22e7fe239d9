#include "linkemu/linkq.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#define LINKQ_DEFAULT_LIMIT 1000

struct pkt {
	long long depart;
	size_t len;
	unsigned char data[];
};

struct linkq {
	struct linkq_params p;
	struct pkt **ring; /* limit slots */
	size_t head, n;
	long long wire_free; /* when the wire finishes the last packet */
	uint64_t rng;
	struct linkq_stats st;
};

struct linkq *linkq_new(const struct linkq_params *p, uint64_t seed)
{
	struct linkq *q = calloc(1, sizeof *q);

	if (!q)
		return NULL;
	q->p = *p;
	if (q->p.limit == 0)
		q->p.limit = LINKQ_DEFAULT_LIMIT;
	q->ring = calloc(q->p.limit, sizeof *q->ring);
	if (!q->ring) {
		free(q);
		return NULL;
	}
	q->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
	return q;
}

void linkq_free(struct linkq *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n; i++)
		free(q->ring[(q->head + i) % q->p.limit]);
	free(q->ring);
	free(q);
}

/* xorshift64*: uniform in [0, 10^6). */
static uint32_t draw_ppm(struct linkq *q)
{
	q->rng ^= q->rng >> 12;
	q->rng ^= q->rng << 25;
	q->rng ^= q->rng >> 27;
	return (uint32_t)(((q->rng * 0x2545f4914f6cdd1dull) >> 11) % 1000000u);
}

/* Microseconds the wire needs for len bytes (rounded up). */
static long long serialization_us(const struct linkq *q, size_t len)
{
	if (q->p.rate_bps <= 0)
		return 0;
	return ((long long)len * 8 * 1000000 + q->p.rate_bps - 1) / q->p.rate_bps;
}

int linkq_push(struct linkq *q, long long now_us, const void *pkt, size_t len)
{
	struct pkt *k;
	long long start;

	if (len == 0)
		return CDNI_EINVAL;
	q->st.in++;
	if (q->p.loss_ppm && draw_ppm(q) < q->p.loss_ppm) {
		q->st.lost++;
		return LINKQ_LOST;
	}
	if (q->n == q->p.limit) {
		q->st.dropped++;
		return LINKQ_DROPPED;
	}
	k = malloc(sizeof *k + len);
	if (!k)
		return CDNI_ENOMEM;
	start = q->wire_free > now_us ? q->wire_free : now_us;
	if (start - now_us > q->st.max_wait_us)
		q->st.max_wait_us = start - now_us;
	q->wire_free = start + serialization_us(q, len);
	k->depart = q->wire_free + q->p.delay_us;
	k->len = len;
	memcpy(k->data, pkt, len);
	q->ring[(q->head + q->n) % q->p.limit] = k;
	q->n++;
	return LINKQ_QUEUED;
}

long long linkq_next(const struct linkq *q)
{
	return q->n ? q->ring[q->head]->depart : -1;
}

size_t linkq_pop(struct linkq *q, long long now_us, void *buf, size_t cap)
{
	struct pkt *k;
	size_t len;

	if (!q->n || q->ring[q->head]->depart > now_us)
		return 0;
	k = q->ring[q->head];
	q->ring[q->head] = NULL;
	q->head = (q->head + 1) % q->p.limit;
	q->n--;
	len = k->len < cap ? k->len : cap;
	memcpy(buf, k->data, len);
	q->st.out++;
	q->st.bytes_out += k->len;
	free(k);
	return len;
}

size_t linkq_len(const struct linkq *q)
{
	return q->n;
}

void linkq_stats(const struct linkq *q, struct linkq_stats *out)
{
	*out = q->st;
}
