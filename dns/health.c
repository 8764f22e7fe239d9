/* cdni-dns — health checks: a TCP connect to each dCDN that names a health
 * address, every interval, within a deadline. A failed or late connect
 * marks the dCDN unavailable to the policy until a connect succeeds. */
#include "dns/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"

struct probe {
	struct dnspol_dcdn *dcdn;
	struct sockaddr_storage ss;
	socklen_t sl;
	long long interval_us, timeout_ms, due_us;
};

struct dns_health {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct probe *p;
	size_t n;
};

static bool probe_connect(const struct probe *p)
{
	int fd = socket(p->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err = 0;
	socklen_t el = sizeof err;
	struct pollfd pfd;
	bool ok = false;

	if (fd < 0)
		return false;
	if (connect(fd, (const struct sockaddr *)&p->ss, p->sl) == 0) {
		ok = true;
	} else if (errno == EINPROGRESS) {
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		ok = poll(&pfd, 1, (int)p->timeout_ms) == 1 &&
		     getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0;
	}
	close(fd);
	return ok;
}

static void probe_run(struct probe *p, long long now)
{
	bool up = probe_connect(p);
	int was = atomic_exchange(&p->dcdn->healthy, up ? 1 : 0);

	if (was != (int)up)
		log_warn(p->dcdn->name, "health check: %s is now %s", p->dcdn->target,
			 up ? "up" : "down (the policy skips it)");
	p->due_us = now + p->interval_us;
}

static void *health_main(void *arg)
{
	struct dns_health *h = arg;

	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		long long now = now_us(), next = now + 1000000;
		struct timespec ts;
		for (size_t i = 0; i < h->n; i++) {
			if (h->p[i].due_us <= now) {
				pthread_mutex_unlock(&h->mu);
				probe_run(&h->p[i], now);
				pthread_mutex_lock(&h->mu);
				if (h->stop)
					break;
			}
			if (h->p[i].due_us < next)
				next = h->p[i].due_us;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		long long wait_us = next - now_us();
		if (wait_us > 0) {
			ts.tv_sec += wait_us / 1000000;
			ts.tv_nsec += (wait_us % 1000000) * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&h->cv, &h->mu, &ts);
		}
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static int probe_fill(struct probe *p, const struct dns_health_conf *hc, struct dnspol_dcdn *d)
{
	memset(p, 0, sizeof *p);
	p->dcdn = d;
	p->interval_us = hc->interval_ms * 1000;
	p->timeout_ms = hc->timeout_ms;
	if (strchr(hc->address, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&p->ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)hc->port);
		p->sl = sizeof *s6;
		return inet_pton(AF_INET6, hc->address, &s6->sin6_addr) == 1 ? 0 : CDNI_EINVAL;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)&p->ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)hc->port);
	p->sl = sizeof *s4;
	return inet_pton(AF_INET, hc->address, &s4->sin_addr) == 1 ? 0 : CDNI_EINVAL;
}

int dns_health_start(const struct dns_conf *conf, struct db *db, struct dns_health **out)
{
	const struct dns_dcdn_conf *d = conf->dcdns.v;
	struct dns_health *h;

	*out = NULL;
	h = calloc(1, sizeof *h);
	if (!h || !(h->p = calloc(conf->dcdns.n + 1, sizeof *h->p))) {
		free(h);
		return CDNI_ENOMEM;
	}
	for (size_t i = 0; i < conf->dcdns.n; i++) {
		long idx = dnspol_dcdn_find(db->pol, d[i].name);
		if (d[i].health.address && idx >= 0 &&
		    probe_fill(&h->p[h->n], &d[i].health, &db->pol->dcdns[idx]) == 0)
			h->n++;
	}
	if (h->n == 0 || pthread_mutex_init(&h->mu, NULL) || pthread_cond_init(&h->cv, NULL) ||
	    pthread_create(&h->thread, NULL, health_main, h)) {
		free(h->p);
		free(h);
		return 0; /* nothing to check */
	}
	*out = h;
	return 0;
}

void dns_health_stop(struct dns_health *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h->p);
	free(h);
}
