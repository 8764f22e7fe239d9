/* replay.c: the jti store keeps its memory bound and forgets by expiry. */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/tap.h"
#include "urisign/replay.h"

static int use(struct us_replay *r, int id, long long exp, long long now)
{
	char key[32];
	snprintf(key, sizeof key, "jti-%d", id);
	return us_replay_use(r, key, strlen(key), exp, now);
}

int main(void)
{
	struct us_replay *r = NULL;
	struct us_replay_stats st;
	int replays = 0, fresh = 0;

	is_int(us_replay_new(0, 0, &r), CDNI_EINVAL, "a default lifetime is required");
	is_int(us_replay_new((size_t)1 << 30, 60, &r), CDNI_EINVAL, "absurd sizes are refused");
	ok(us_replay_new(5, 60, &r) == 0, "a store of 5 slots (rounded up to one bucket of 8)");
	us_replay_stats(r, 0, &st);
	is_int((long long)st.slots, 8, "8 slots");
	is_int(use(r, 1, 100, 10), 0, "first use");
	is_int(use(r, 1, 100, 20), CDNI_EEXIST, "second use before exp is a replay");
	is_int(use(r, 1, 100, 100), 0, "at exp the entry is forgotten (the token is expired anyway)");
	us_replay_free(r);

	us_replay_new(8, 60, &r);
	for (int i = 0; i < 8; i++)
		use(r, i, 1000 + i, 0);
	us_replay_stats(r, 0, &st);
	is_int((long long)st.live, 8, "8 live entries fill the store");
	is_int(use(r, 100, 2000, 1), 0, "a ninth entry is taken...");
	us_replay_stats(r, 1, &st);
	is_int((long long)st.live, 8, "...memory stays bound (8 live entries)");
	is_int((long long)st.evictions, 1, "...by evicting one entry");
	is_int(use(r, 0, 1000, 2), 0, "the evicted one (the one expiring first) can be used again");
	is_int(use(r, 7, 1007, 3), CDNI_EEXIST, "the others are still replays");
	is_int(use(r, 100, 2000, 4), CDNI_EEXIST, "the new entry is a replay too");
	us_replay_free(r);

	us_replay_new(1024, 60, &r);
	for (int i = 0; i < 100000; i++)
		use(r, i, 1000000, 5);
	us_replay_stats(r, 5, &st);
	is_int((long long)st.live, 1024, "100000 uses of a 1024-slot store keep 1024 entries");
	for (int i = 99000; i < 100000; i++)
		replays += use(r, i, 1000000, 6) == CDNI_EEXIST;
	ok(replays > 500, "most recent entries are still caught (%d of 1000)", replays);
	is_int(use(r, 123456, 0, 10), 0, "a token without exp...");
	is_int(use(r, 123456, 0, 69), CDNI_EEXIST, "...is remembered for the default lifetime");
	for (int i = 0; i < 2000; i++)
		fresh += use(r, i + 200000, 0, 2000000) == 0;
	is_int(fresh, 2000, "expired entries are free slots");
	us_replay_free(r);
	return done_testing();
}
