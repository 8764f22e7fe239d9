#include "linkemu/emu.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "linkemu/linkq.h"

#define PKT_MAX 65536
#define READ_BURST 64

static const struct conf_item end_table[] = {
	CONF_STR("netns", struct emu_end, netns, NULL, 0,
		 "network namespace file (/var/run/netns/NAME); absent: the emulator's own"),
	CONF_STR("dev", struct emu_end, dev, NULL, CONF_REQUIRED, "TUN device name (1..15 bytes)"),
	CONF_END
};

static const struct conf_item link_table[] = {
	CONF_STR("name", struct emu_link, name, NULL, CONF_REQUIRED, "link name, in logs"),
	CONF_OBJ("a", struct emu_link, a, end_table, CONF_REQUIRED, "one end"),
	CONF_OBJ("b", struct emu_link, b, end_table, CONF_REQUIRED, "the other end"),
	CONF_INT("delay_us", struct emu_link, delay_us, 0, 60000000, 0,
		 "one-way delay in microseconds (each direction)"),
	CONF_INT("rate_kbit", struct emu_link, rate_kbit, 0, 100000000, 0,
		 "rate in kbit/s (each direction); 0: unlimited"),
	CONF_INT("loss_ppm", struct emu_link, loss_ppm, 0, 1000000, 0,
		 "random loss in parts per million (each direction)"),
	CONF_INT("limit", struct emu_link, limit, 1, 100000, 1000, "queue capacity in packets"),
	CONF_INT("seed", struct emu_link, seed, 0, 0x7fffffffffffffffLL, 0,
		 "seed of the loss draws; 0: derived from the name"),
	CONF_END
};

const struct conf_item emu_conf_table[] = {
	CONF_LIST("links", struct emu_conf, links, link_table, struct emu_link, CONF_REQUIRED,
		  "the links"),
	CONF_INT("mtu", struct emu_conf, mtu, 576, 65535, 1500, "largest packet read from a device"),
	CONF_END
};

int emu_conf_check(const struct emu_conf *c, char *err, size_t errlen)
{
	const struct emu_link *l = c->links.v;

	if (c->links.n == 0) {
		snprintf(err, errlen, "links: at least one link");
		return CDNI_ECONFIG;
	}
	for (size_t i = 0; i < c->links.n; i++) {
		const char *devs[2] = { l[i].a.dev, l[i].b.dev };

		for (int k = 0; k < 2; k++)
			if (!*devs[k] || strlen(devs[k]) >= IFNAMSIZ || strchr(devs[k], '/')) {
				snprintf(err, errlen, "links[%zu].%c.dev: 1 to %d bytes, no '/': \"%s\"", i,
					 "ab"[k], IFNAMSIZ - 1, devs[k]);
				return CDNI_ECONFIG;
			}
	}
	return 0;
}

/* ---- runtime ---------------------------------------------------------- */

struct dir {            /* one direction of a link: from end in, to end out */
	struct linkq *q;
	int in_fd, out_fd;
	const char *link, *from, *to;
};

struct emu {
	struct dir *dirs;   /* 2 per link: a->b, b->a */
	int *fds;           /* 2 per link: a, b */
	size_t nlinks;
	int ep, tfd, stopfd;
	pthread_t thread;
	bool started;
	unsigned char buf[PKT_MAX];
	size_t mtu;
};

/* Open a TUN device named dev inside the namespace at netns (or here). */
static int tun_open_in(const char *netns, const char *dev, int *out, char *err, size_t errlen)
{
	int self = -1, ns = -1, fd = -1, rc = CDNI_EIO;
	struct ifreq ifr;

	if (netns && ((self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0 ||
		      (ns = open(netns, O_RDONLY | O_CLOEXEC)) < 0 || setns(ns, CLONE_NEWNET))) {
		snprintf(err, errlen, "namespace %s: %s", netns, strerror(errno));
		goto out;
	}
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", dev);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "TUN device %s%s%s: %s", dev, netns ? " in " : "",
			 netns ? netns : "", strerror(errno));
		goto out;
	}
	*out = fd;
	fd = -1;
	rc = 0;
out:
	if (self >= 0 && setns(self, CLONE_NEWNET) && rc == 0) {
		snprintf(err, errlen, "cannot return to the emulator's namespace: %s", strerror(errno));
		close(*out);
		rc = CDNI_EIO;
	}
	if (fd >= 0)
		close(fd);
	if (ns >= 0)
		close(ns);
	if (self >= 0)
		close(self);
	return rc;
}

static uint64_t name_seed(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int dirs_make(struct emu *e, const struct emu_link *l, size_t i)
{
	struct linkq_params p = { l->delay_us, l->rate_kbit * 1000, (uint32_t)l->loss_ppm,
				  (size_t)l->limit };
	uint64_t seed = l->seed ? (uint64_t)l->seed : name_seed(l->name);

	e->dirs[2 * i] = (struct dir){ linkq_new(&p, seed), e->fds[2 * i], e->fds[2 * i + 1],
				       l->name, l->a.dev, l->b.dev };
	e->dirs[2 * i + 1] = (struct dir){ linkq_new(&p, seed ^ 0x5bd1e995u), e->fds[2 * i + 1],
					   e->fds[2 * i], l->name, l->b.dev, l->a.dev };
	return e->dirs[2 * i].q && e->dirs[2 * i + 1].q ? 0 : CDNI_ENOMEM;
}

static int ep_add(struct emu *e, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(e->ep, EPOLL_CTL_ADD, fd, &ev) ? CDNI_EIO : 0;
}

static int links_open(struct emu *e, const struct emu_conf *c, char *err, size_t errlen)
{
	const struct emu_link *l = c->links.v;

	for (size_t i = 0; i < e->nlinks; i++) {
		if (tun_open_in(l[i].a.netns, l[i].a.dev, &e->fds[2 * i], err, errlen) ||
		    tun_open_in(l[i].b.netns, l[i].b.dev, &e->fds[2 * i + 1], err, errlen))
			return CDNI_EIO;
		if (dirs_make(e, &l[i], i) || ep_add(e, e->fds[2 * i], 2 * i) ||
		    ep_add(e, e->fds[2 * i + 1], 2 * i + 1)) {
			snprintf(err, errlen, "links[%zu]: %s", i, strerror(errno));
			return CDNI_EIO;
		}
	}
	return 0;
}

/* ---- the loop --------------------------------------------------------- */

/* Read what the kernel sent into end k; queue it towards the other end. */
static void end_read(struct emu *e, size_t k, long long now)
{
	struct dir *d = &e->dirs[k];

	for (int i = 0; i < READ_BURST; i++) {
		ssize_t n = read(d->in_fd, e->buf, e->mtu);

		if (n <= 0)
			return;
		if (linkq_push(d->q, now, e->buf, (size_t)n) < 0)
			log_warn(d->link, "out of memory: a packet from %s dropped", d->from);
	}
}

/* Write every due packet; return the earliest departure left (-1: none). */
static long long dirs_flush(struct emu *e, long long now)
{
	long long next = -1, t;
	size_t n;

	for (size_t k = 0; k < 2 * e->nlinks; k++) {
		struct dir *d = &e->dirs[k];

		while ((n = linkq_pop(d->q, now, e->buf, sizeof e->buf)) > 0)
			if (write(d->out_fd, e->buf, n) < 0 && errno != EAGAIN && errno != EIO)
				log_debug(d->link, "write to %s: %s", d->to, strerror(errno));
		t = linkq_next(d->q);
		if (t >= 0 && (next < 0 || t < next))
			next = t;
	}
	return next;
}

static void timer_arm(struct emu *e, long long at_us)
{
	struct itimerspec its;

	memset(&its, 0, sizeof its);
	if (at_us >= 0) {
		its.it_value.tv_sec = at_us / 1000000;
		its.it_value.tv_nsec = (at_us % 1000000) * 1000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(e->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void *emu_loop(void *arg)
{
	struct emu *e = arg;
	struct epoll_event ev[32];
	uint64_t ticks;

	prctl(PR_SET_TIMERSLACK, 1UL); /* the default 50 us slack would show in the delays */
	for (;;) {
		int n = epoll_wait(e->ep, ev, 32, -1);

		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u64 == UINT64_MAX - 1)
				return NULL;
			if (ev[i].data.u64 == UINT64_MAX) {
				if (read(e->tfd, &ticks, sizeof ticks) < 0)
					ticks = 0;
				continue;
			}
			end_read(e, (size_t)ev[i].data.u64, now_us());
		}
		timer_arm(e, dirs_flush(e, now_us()));
	}
	return NULL;
}

/* ---- start and stop --------------------------------------------------- */

static int emu_alloc(struct emu *e, const struct emu_conf *c)
{
	e->nlinks = c->links.n;
	e->mtu = (size_t)c->mtu;
	e->dirs = calloc(2 * e->nlinks, sizeof *e->dirs);
	e->fds = malloc(2 * e->nlinks * sizeof *e->fds);
	e->ep = epoll_create1(EPOLL_CLOEXEC);
	e->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	e->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!e->dirs || !e->fds)
		return CDNI_ENOMEM;
	for (size_t i = 0; i < 2 * e->nlinks; i++)
		e->fds[i] = -1;
	if (e->ep < 0 || e->tfd < 0 || e->stopfd < 0 || ep_add(e, e->tfd, UINT64_MAX) ||
	    ep_add(e, e->stopfd, UINT64_MAX - 1))
		return CDNI_EIO;
	return 0;
}

int emu_start(const struct emu_conf *c, struct emu **out, char *err, size_t errlen)
{
	struct emu *e = calloc(1, sizeof *e);
	int rc = CDNI_ENOMEM;

	if (!e)
		goto fail;
	e->ep = e->tfd = e->stopfd = -1;
	rc = emu_alloc(e, c);
	if (rc) {
		snprintf(err, errlen, "cannot set up the loop: %s", strerror(errno));
		goto fail;
	}
	rc = links_open(e, c, err, errlen);
	if (rc)
		goto fail;
	if (pthread_create(&e->thread, NULL, emu_loop, e)) {
		snprintf(err, errlen, "cannot start the thread");
		rc = CDNI_EIO;
		goto fail;
	}
	e->started = true;
	*out = e;
	return 0;
fail:
	emu_stop(e);
	return rc;
}

static void dir_report(const struct dir *d)
{
	struct linkq_stats st;

	linkq_stats(d->q, &st);
	log_info(d->link, "%s -> %s: %llu packets in, %llu out (%llu bytes), %llu lost, "
		 "%llu dropped (queue full), %zu left, longest queueing %lld us",
		 d->from, d->to, st.in, st.out, st.bytes_out, st.lost, st.dropped, linkq_len(d->q),
		 st.max_wait_us);
}

void emu_stop(struct emu *e)
{
	uint64_t one = 1;

	if (!e)
		return;
	if (e->started) {
		if (write(e->stopfd, &one, sizeof one) < 0)
			log_err("linkemu", "cannot stop the loop: %s", strerror(errno));
		pthread_join(e->thread, NULL);
	}
	for (size_t k = 0; e->dirs && k < 2 * e->nlinks; k++) {
		if (e->started)
			dir_report(&e->dirs[k]);
		linkq_free(e->dirs[k].q);
	}
	for (size_t k = 0; e->fds && k < 2 * e->nlinks; k++)
		if (e->fds[k] >= 0)
			close(e->fds[k]);
	free(e->dirs);
	free(e->fds);
	if (e->ep >= 0)
		close(e->ep);
	if (e->tfd >= 0)
		close(e->tfd);
	if (e->stopfd >= 0)
		close(e->stopfd);
	free(e);
}
