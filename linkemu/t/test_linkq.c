/* linkq: departure times (delay, serialization, FIFO), loss rate and
 * repeatability, tail drop, bad input, counters. */
#include <string.h>

#include "common/err.h"
#include "common/tap.h"
#include "linkemu/linkq.h"

static void test_delay(void)
{
	struct linkq_params p = { 20000, 0, 0, 0 };
	struct linkq *q = linkq_new(&p, 1);
	unsigned char buf[64];

	is_int(linkq_next(q), -1, "empty: no departure");
	is_int(linkq_push(q, 1000, "abc", 3), LINKQ_QUEUED, "queued");
	is_int(linkq_push(q, 1500, "defg", 4), LINKQ_QUEUED, "queued a second");
	is_int(linkq_next(q), 21000, "departs delay after arrival");
	is_int((long long)linkq_pop(q, 20999, buf, sizeof buf), 0, "not before it is due");
	is_int((long long)linkq_pop(q, 21000, buf, sizeof buf), 3, "due at its time");
	is_mem(buf, 3, "abc", 3, "the bytes");
	is_int(linkq_next(q), 21500, "the second keeps its own delay");
	is_int((long long)linkq_pop(q, 30000, buf, 2), 2, "truncated to the buffer");
	is_int((long long)linkq_len(q), 0, "empty again");
	is_int(linkq_push(q, 0, "", 0), CDNI_EINVAL, "an empty packet is refused");
	linkq_free(q);
}

static void test_rate(void)
{
	/* 1 Mbit/s: 1250 bytes take 10 ms on the wire. */
	struct linkq_params p = { 5000, 1000000, 0, 0 };
	struct linkq *q = linkq_new(&p, 1);
	static unsigned char pkt[1250], buf[2000];
	struct linkq_stats st;

	for (int i = 0; i < 3; i++)
		linkq_push(q, 0, pkt, sizeof pkt);
	is_int(linkq_next(q), 15000, "first: serialization 10 ms + delay 5 ms");
	linkq_pop(q, 15000, buf, sizeof buf);
	is_int(linkq_next(q), 25000, "second waits for the first on the wire");
	linkq_pop(q, 25000, buf, sizeof buf);
	is_int(linkq_next(q), 35000, "third after both");
	linkq_push(q, 100000, pkt, sizeof pkt);
	linkq_pop(q, 35000, buf, sizeof buf);
	is_int(linkq_next(q), 115000, "an idle wire starts at once");
	linkq_stats(q, &st);
	is_int(st.max_wait_us, 20000, "longest queueing wait 20 ms");
	linkq_free(q);
}

static int lost_of(uint32_t ppm, uint64_t seed, int n)
{
	struct linkq_params p = { 0, 0, ppm, 100000 };
	struct linkq *q = linkq_new(&p, seed);
	int lost = 0;

	for (int i = 0; i < n; i++)
		lost += linkq_push(q, i, "x", 1) == LINKQ_LOST;
	linkq_free(q);
	return lost;
}

static void test_loss(void)
{
	int l10 = lost_of(100000, 7, 20000);

	ok(l10 > 1800 && l10 < 2200, "10%% loss: %d of 20000 lost", l10);
	is_int(lost_of(100000, 7, 20000), l10, "the same seed loses the same packets");
	is_int(lost_of(0, 7, 1000), 0, "no loss configured: none lost");
	is_int(lost_of(1000000, 7, 1000), 1000, "100%%: all lost");
	ok(lost_of(10000, 3, 50000) > 350 && lost_of(10000, 3, 50000) < 650, "1%% loss roughly");
}

static void test_limit(void)
{
	struct linkq_params p = { 1000, 0, 0, 3 };
	struct linkq *q = linkq_new(&p, 1);
	struct linkq_stats st;
	unsigned char buf[8];

	for (int i = 0; i < 5; i++)
		linkq_push(q, 0, "abcd", 4);
	linkq_stats(q, &st);
	is_int((long long)st.dropped, 2, "tail drop beyond the limit");
	is_int((long long)st.in, 5, "every offer counted");
	while (linkq_pop(q, 1000, buf, sizeof buf))
		;
	linkq_stats(q, &st);
	is_int((long long)st.out, 3, "three out");
	is_int((long long)st.bytes_out, 12, "their bytes");
	is_int(linkq_push(q, 2000, "z", 1), LINKQ_QUEUED, "room again after the ring wrapped");
	linkq_free(q);
	linkq_free(NULL);
}

int main(void)
{
	test_delay();
	test_rate();
	test_loss();
	test_limit();
	return done_testing();
}
