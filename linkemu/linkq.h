/* cdni-linkemu — one direction of an emulated link, without sockets: a
 * FIFO of packets, each given a departure time when it arrives.
 *
 * A packet that arrives at time t (microseconds, any monotonic clock) is
 * first lost with probability loss_ppm / 10^6; else, when the queue holds
 * limit packets already, dropped (tail drop, like a router's queue); else it
 * waits for the wire: its serialization starts when the previous packet's
 * ends (or at t), lasts len * 8 / rate seconds (rate_bps 0: no limit), and
 * the packet leaves delay_us after its last bit. Departure times never
 * decrease, so a FIFO is exact and the earliest packet is always the head.
 * Loss draws come from a seeded xorshift generator: a run is repeatable. */
#ifndef CDNI_LINKQ_H
#define CDNI_LINKQ_H

#include <stddef.h>
#include <stdint.h>

struct linkq_params {
	long long delay_us;   /* one-way propagation delay, >= 0 */
	long long rate_bps;   /* bits per second; 0: unlimited */
	uint32_t loss_ppm;    /* random loss, parts per million (0..1000000) */
	size_t limit;         /* queue capacity in packets; 0: 1000 */
};

struct linkq_stats {
	unsigned long long in, out, lost, dropped; /* packets */
	unsigned long long bytes_out;
	long long max_wait_us; /* longest queueing wait before serialization */
};

enum linkq_verdict { LINKQ_QUEUED = 0, LINKQ_LOST = 1, LINKQ_DROPPED = 2 };

struct linkq;

/* A new, empty queue; NULL on allocation failure. */
struct linkq *linkq_new(const struct linkq_params *p, uint64_t seed);
void linkq_free(struct linkq *q);

/* Offer a packet (copied) that arrived at now_us: LINKQ_QUEUED, LINKQ_LOST
 * or LINKQ_DROPPED; a negative CDNI_E* code when out of memory. */
int linkq_push(struct linkq *q, long long now_us, const void *pkt, size_t len);
/* The head's departure time, or -1 when the queue is empty. */
long long linkq_next(const struct linkq *q);
/* When the head is due at now_us, copy it into buf (truncated to cap),
 * remove it and return its length; else return 0 (nothing due). */
size_t linkq_pop(struct linkq *q, long long now_us, void *buf, size_t cap);
/* Packets waiting. */
size_t linkq_len(const struct linkq *q);
void linkq_stats(const struct linkq *q, struct linkq_stats *out);

#endif
