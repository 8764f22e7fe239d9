/* cdni-dns — sockets, epoll loops, TCP framing, db swaps. */
#include "dns/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "dns/answer.h"
#include "dns/ri.h"

#define BATCH 32
#define UDP_BUF 4096
#define TCP_OUT_MAX (64u << 20) /* an AXFR of a large zone fits */
#define TICK_MS 200

struct conn {
	int fd;
	uint64_t id;
	struct sockaddr_storage peer;
	struct buf in, out;
	size_t outpos;
	long long last_us;
	struct conn *prev, *next;
};

struct worker {
	struct dns_server *s;
	size_t index;
	pthread_t thread;
	int ep, udp;
	int mbox;                        /* eventfd: queries back from the RI */
	pthread_mutex_t mlock;
	struct dns_ri_waiter *mail;      /* under mlock */
	uint64_t next_conn;
	_Atomic uint64_t seen;
	struct dns_cache cache;
	uint32_t rnd;
	struct conn *conns;
	struct mmsghdr msgs[BATCH], outs[BATCH];
	struct iovec iov[BATCH], oiov[BATCH];
	struct sockaddr_storage peers[BATCH];
	uint8_t in[BATCH][UDP_BUF], out[BATCH][UDP_BUF];
	uint8_t tcpout[DNS_MSG_MAX + 2];
};

struct dns_server {
	_Atomic(struct db *) db;
	struct worker *w;
	size_t nw;
	int tcp, stopfd;
	atomic_int nconns;
	int tcp_max;
	long long idle_us;
	struct access_log *al;
	struct dns_health *health;
	struct dns_ri *ri;
};

/* ---- helpers ------------------------------------------------------------------ */

static void client_of(const struct sockaddr_storage *ss, bool tcp, struct dns_client *c)
{
	memset(c, 0, sizeof *c);
	c->tcp = tcp;
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		c->family = 6;
		memcpy(c->addr, &s6->sin6_addr, 16);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			c->family = 4;
			memmove(c->addr, c->addr + 12, 4);
			memset(c->addr + 4, 0, 12);
		}
	} else {
		c->family = 4;
		memcpy(c->addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	}
}

static const char *peer_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port;

	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof ip);
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
		snprintf(buf, len, "[%s]:%d", ip, port);
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof ip);
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
		snprintf(buf, len, "%s:%d", ip, port);
	}
	return buf;
}

static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
				      "REFUSED" };

static void log_query(struct dns_server *s, const struct sockaddr_storage *peer,
		      const struct dns_info *info, bool tcp, long long start)
{
	struct access_entry e = { 0 };
	char p[80], uri[300], type[16], note[300];

	if (!s->al || !s->al->f)
		return;
	snprintf(type, sizeof type, "%u", info->qtype);
	snprintf(uri, sizeof uri, "%s %s", info->qname[0] ? info->qname : "-", type);
	snprintf(note, sizeof note, "%s%s%s%s%s", info->target ? "CNAME " : "",
		 info->target ? info->target : "", info->ri_note, info->truncated ? " TC" : "",
		 info->axfr ? " AXFR" : "");
	e.peer = peer_text(peer, p, sizeof p);
	e.method = tcp ? "DNS/TCP" : "DNS/UDP";
	e.host = info->qname;
	e.uri = uri;
	e.status = info->rcode;
	e.dur_us = now_us() - start;
	e.bytes = -1;
	e.location = info->target;
	e.cache = info->rcode >= 0 && info->rcode <= 5 ? rcodes[info->rcode]
						       : info->rcode == 16 ? "BADVERS" : NULL;
	e.note = note[0] ? note : NULL;
	access_log_write(s->al, &e);
}

static uint32_t next_rnd(struct worker *w)
{
	uint32_t x = w->rnd;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return w->rnd = x;
}

/* The db for this round; publishing its generation lets a swap finish. */
static const struct db *enter(struct worker *w)
{
	const struct db *db = atomic_load(&w->s->db);

	atomic_store(&w->seen, db->generation);
	return db;
}

/* ---- waiting for a dCDN's redirection interface -------------------------------- */

static int park(struct worker *w, const struct dns_info *info, uint32_t rnd, const uint8_t *msg,
		size_t len, const struct sockaddr_storage *peer, socklen_t plen, uint64_t conn,
		long long t0)
{
	struct dns_ri_waiter *wt = calloc(1, sizeof *wt + len);

	if (!wt)
		return CDNI_ENOMEM;
	wt->worker = w->index;
	wt->conn = conn;
	wt->peer = *peer;
	wt->peerlen = plen;
	wt->t0 = t0;
	wt->rnd = rnd;
	wt->excluded = info->excluded;
	wt->len = len;
	memcpy(wt->msg, msg, len);
	if (dns_ri_wait(w->s->ri, &info->wait, wt) == 0)
		return 0;
	free(wt);
	return CDNI_EOVERFLOW;
}

/* Answer, or park the query while a dCDN is asked (DNS_WAIT); when it
 * cannot wait, that dCDN is left out and the policy draws again. */
static int answer_or_park(struct worker *w, const struct db *db, struct dns_client *cl,
			  uint32_t rnd, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
			  size_t *olen, struct dns_info *info, const struct sockaddr_storage *peer,
			  socklen_t plen, uint64_t conn, long long t0)
{
	for (;;) {
		int v = dns_answer(db, &w->cache, rnd, time(NULL), msg, len, cl, out, cap, olen, info);
		if (v != DNS_WAIT || park(w, info, rnd, msg, len, peer, plen, conn, t0) == 0)
			return v;
		cl->excluded = info->excluded | 1ull << info->wait.dcdn;
		cl->given = NULL;
	}
}

/* Called by the RI's threads: hand a query back to its worker. */
static void deliver(void *cls, struct dns_ri_waiter *wt)
{
	struct dns_server *s = cls;
	struct worker *w = &s->w[wt->worker];
	uint64_t one = 1;

	pthread_mutex_lock(&w->mlock);
	wt->next = w->mail;
	w->mail = wt;
	pthread_mutex_unlock(&w->mlock);
	if (write(w->mbox, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn(NULL, "cannot wake worker %zu: %s", w->index, strerror(errno));
}

static void tcp_send(struct worker *w, struct conn *c, const uint8_t *msg, size_t len);

static struct conn *conn_find(struct worker *w, uint64_t id)
{
	struct conn *c = w->conns;

	while (c && c->id != id)
		c = c->next;
	return c;
}

static void resume(struct worker *w, const struct db *db, struct dns_ri_waiter *wt)
{
	struct dns_client cl;
	struct dns_info info;
	size_t olen = 0;
	uint8_t *out = w->tcpout + 2;
	int v;

	client_of(&wt->peer, wt->conn != 0, &cl);
	cl.given = wt;
	cl.excluded = wt->excluded | (wt->text ? 0 : 1ull << wt->dcdn);
	if (wt->gen != db->generation)
		cl.excluded = 0; /* a reload renumbered the dCDNs */
	v = answer_or_park(w, db, &cl, wt->rnd, wt->msg, wt->len, out,
			   wt->conn ? DNS_MSG_MAX : UDP_BUF, &olen, &info, &wt->peer, wt->peerlen,
			   wt->conn, wt->t0);
	if (v == DNS_RESPOND && !wt->conn) {
		if (sendto(w->udp, out, olen, MSG_DONTWAIT, (const struct sockaddr *)&wt->peer,
			   wt->peerlen) < 0)
			log_debug(NULL, "UDP answer dropped: %s", strerror(errno));
	} else if (v == DNS_RESPOND) {
		struct conn *c = conn_find(w, wt->conn);
		if (c)
			tcp_send(w, c, out, olen);
	}
	if (v != DNS_WAIT)
		log_query(w->s, &wt->peer, &info, wt->conn != 0, wt->t0);
	dns_ri_waiter_free(wt);
}

static void mail_round(struct worker *w, const struct db *db)
{
	struct dns_ri_waiter *list, *next;
	uint64_t n;

	if (read(w->mbox, &n, sizeof n) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&w->mlock);
	list = w->mail;
	w->mail = NULL;
	pthread_mutex_unlock(&w->mlock);
	for (; list; list = next) {
		next = list->next;
		resume(w, db, list);
	}
}

/* ---- UDP ---------------------------------------------------------------------- */

static void udp_round(struct worker *w, const struct db *db)
{
	struct dns_info info;
	struct dns_client cl;
	int n, m = 0;

	for (int i = 0; i < BATCH; i++) {
		w->iov[i] = (struct iovec){ w->in[i], UDP_BUF };
		w->msgs[i].msg_hdr = (struct msghdr){ .msg_name = &w->peers[i],
						      .msg_namelen = sizeof w->peers[i],
						      .msg_iov = &w->iov[i], .msg_iovlen = 1 };
	}
	n = recvmmsg(w->udp, w->msgs, BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		long long t0 = now_us();
		size_t olen = 0;
		int v;
		client_of(&w->peers[i], false, &cl);
		v = answer_or_park(w, db, &cl, next_rnd(w), w->in[i], w->msgs[i].msg_len, w->out[m],
				   UDP_BUF, &olen, &info, &w->peers[i], w->msgs[i].msg_hdr.msg_namelen,
				   0, t0);
		if (v == DNS_WAIT)
			continue; /* answered when the dCDN has */
		if (v == DNS_RESPOND) {
			w->oiov[m] = (struct iovec){ w->out[m], olen };
			w->outs[m].msg_hdr = (struct msghdr){ .msg_name = &w->peers[i],
							      .msg_namelen = w->msgs[i].msg_hdr.msg_namelen,
							      .msg_iov = &w->oiov[m], .msg_iovlen = 1 };
			m++;
		}
		log_query(w->s, &w->peers[i], &info, false, t0);
	}
	for (int sent = 0; sent < m;) {
		int k = sendmmsg(w->udp, w->outs + sent, (unsigned)(m - sent), MSG_DONTWAIT);
		if (k <= 0)
			break; /* a full socket buffer drops answers, as UDP may */
		sent += k;
	}
}

/* ---- TCP ---------------------------------------------------------------------- */

static void conn_close(struct worker *w, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
	atomic_fetch_sub(&w->s->nconns, 1);
}

static void tcp_accept(struct worker *w)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	struct epoll_event ev = { .events = EPOLLIN };
	struct conn *c;
	int fd = accept4(w->s->tcp, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (atomic_fetch_add(&w->s->nconns, 1) >= w->s->tcp_max || !(c = calloc(1, sizeof *c))) {
		atomic_fetch_sub(&w->s->nconns, 1);
		close(fd);
		return;
	}
	c->fd = fd;
	c->id = ++w->next_conn;
	c->peer = ss;
	c->last_us = now_us();
	buf_init(&c->in, DNS_MSG_MAX + 2);
	buf_init(&c->out, TCP_OUT_MAX);
	ev.data.ptr = c;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(fd);
		free(c);
		atomic_fetch_sub(&w->s->nconns, 1);
		return;
	}
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
}

/* One framed query: its answer (or transfer) appended to c->out. */
static void tcp_query(struct worker *w, const struct db *db, struct conn *c, const uint8_t *msg,
		      size_t len)
{
	struct dns_client cl;
	struct dns_info info;
	size_t olen = 0;
	long long t0 = now_us();
	int v;

	client_of(&c->peer, true, &cl);
	v = answer_or_park(w, db, &cl, next_rnd(w), msg, len, w->tcpout + 2, DNS_MSG_MAX, &olen,
			   &info, &c->peer, sizeof c->peer, c->id, t0);
	if (v == DNS_WAIT)
		return; /* answered when the dCDN has (out of order, RFC 7766 §7) */
	if (v == DNS_AXFR) {
		dns_axfr(db, msg, len, &cl, &c->out, &info);
	} else if (v == DNS_RESPOND) {
		w->tcpout[0] = (uint8_t)(olen >> 8);
		w->tcpout[1] = (uint8_t)olen;
		buf_append(&c->out, w->tcpout, olen + 2);
	}
	log_query(w->s, &c->peer, &info, true, t0);
}

static int tcp_flush(struct worker *w, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	while (c->outpos < c->out.len) {
		ssize_t k = send(c->fd, c->out.data + c->outpos, c->out.len - c->outpos, MSG_NOSIGNAL);
		if (k < 0 && errno == EAGAIN)
			break;
		if (k <= 0)
			return -1;
		c->outpos += (size_t)k;
	}
	if (c->outpos == c->out.len) {
		buf_reset(&c->out);
		c->outpos = 0;
	} else {
		ev.events = EPOLLOUT; /* stop reading until the client has taken its answers */
	}
	return epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* A late answer (the query waited for a dCDN) for connection c. */
static void tcp_send(struct worker *w, struct conn *c, const uint8_t *msg, size_t len)
{
	uint8_t pfx[2] = { (uint8_t)(len >> 8), (uint8_t)len };

	buf_append(&c->out, pfx, 2);
	buf_append(&c->out, msg, len);
	if (c->out.err || tcp_flush(w, c))
		conn_close(w, c);
}

/* Answer every complete message in c->in; keep a partial one. */
static int tcp_drain(struct worker *w, const struct db *db, struct conn *c)
{
	size_t pos = 0;

	while (c->in.len - pos >= 2) {
		const uint8_t *p = (const uint8_t *)c->in.data + pos;
		size_t mlen = (size_t)(p[0] << 8 | p[1]);
		if (c->in.len - pos - 2 < mlen)
			break;
		tcp_query(w, db, c, p + 2, mlen);
		pos += 2 + mlen;
		if (c->out.err)
			return -1;
	}
	if (pos) {
		memmove(c->in.data, c->in.data + pos, c->in.len - pos);
		c->in.len -= pos;
	}
	return 0;
}

static void tcp_event(struct worker *w, const struct db *db, struct conn *c, uint32_t events)
{
	char tmp[16384];
	ssize_t k;

	c->last_us = now_us();
	if (events & EPOLLOUT) {
		if (tcp_flush(w, c))
			conn_close(w, c);
		return;
	}
	k = recv(c->fd, tmp, sizeof tmp, 0);
	if (k < 0 && errno == EAGAIN)
		return;
	if (k <= 0) {
		conn_close(w, c);
		return;
	}
	buf_append(&c->in, tmp, (size_t)k);
	if (c->in.err || tcp_drain(w, db, c) || tcp_flush(w, c))
		conn_close(w, c); /* a frame cannot exceed 65535 bytes: anything else is garbage */
}

static void tcp_reap(struct worker *w)
{
	long long now = now_us();

	for (struct conn *c = w->conns, *next; c; c = next) {
		next = c->next;
		if (now - c->last_us > w->s->idle_us)
			conn_close(w, c);
	}
}

/* ---- the loop ------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[64];

	for (;;) {
		int n = epoll_wait(w->ep, evs, 64, TICK_MS);
		const struct db *db = enter(w);
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &w->s->stopfd)
				return NULL;
			if (p == &w->udp)
				udp_round(w, db);
			else if (p == &w->mbox)
				mail_round(w, db);
			else if (p == &w->s->tcp)
				tcp_accept(w);
			else
				tcp_event(w, db, p, evs[i].events);
		}
		tcp_reap(w);
	}
}

/* ---- sockets ------------------------------------------------------------------ */

static int sock_addr(const char *address, int port, struct sockaddr_storage *ss, socklen_t *sl)
{
	memset(ss, 0, sizeof *ss);
	if (strchr(address, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sl = sizeof *s6;
		return inet_pton(AF_INET6, address, &s6->sin6_addr) == 1 ? 0 : CDNI_EINVAL;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*sl = sizeof *s4;
	return inet_pton(AF_INET, address, &s4->sin_addr) == 1 ? 0 : CDNI_EINVAL;
}

static int sock_open(const char *address, int port, int type, int *out_port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1, fd;

	if (sock_addr(address, port, &ss, &sl))
		return -1;
	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 1024) != 0) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	*out_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						   : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* The workers' UDP sockets and the TCP listener on one port; with port 0,
 * the port UDP got is tried for TCP, and another is picked if TCP has it. */
static int bind_all(struct dns_server *s, const char *address, int port, int *bound)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		int p = port, got = 0;
		size_t i;
		for (i = 0; i < s->nw; i++) {
			s->w[i].udp = sock_open(address, p, SOCK_DGRAM, &got);
			if (s->w[i].udp < 0)
				break;
			p = got;
		}
		if (i == s->nw && (s->tcp = sock_open(address, p, SOCK_STREAM, &got)) >= 0) {
			*bound = p;
			return 0;
		}
		for (size_t k = 0; k < i; k++)
			close(s->w[k].udp);
		if (port != 0)
			return -1;
	}
	return -1;
}

static int worker_setup(struct dns_server *s, struct worker *w, uint32_t seed)
{
	struct epoll_event ev = { .events = EPOLLIN };

	w->s = s;
	w->rnd = seed | 1;
	w->cache.asker = s->ri;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	if (w->ep < 0)
		return -1;
	ev.data.ptr = &w->udp;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->udp, &ev))
		return -1;
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.ptr = &s->tcp;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, s->tcp, &ev))
		return -1;
	ev.events = EPOLLIN;
	ev.data.ptr = &w->mbox;
	w->mbox = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->mbox < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, w->mbox, &ev))
		return -1;
	ev.data.ptr = &s->stopfd;
	return epoll_ctl(w->ep, EPOLL_CTL_ADD, s->stopfd, &ev);
}

static size_t worker_count(long long threads)
{
	long n = threads > 0 ? (long)threads : sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (size_t)n : 1;
}

static int start_workers(struct dns_server *s)
{
	for (size_t i = 0; i < s->nw; i++) {
		if (worker_setup(s, &s->w[i], (uint32_t)(now_us() ^ (long long)(i * 2654435761u))))
			return CDNI_EIO;
		if (pthread_create(&s->w[i].thread, NULL, worker_main, &s->w[i]) != 0) {
			s->w[i].thread = 0;
			return CDNI_EIO;
		}
	}
	return 0;
}

int dns_server_start(const struct dns_conf *conf, struct db *db, struct access_log *al,
		     struct dns_server **out, char *ready, size_t rlen, char *err, size_t errlen)
{
	struct dns_server *s = calloc(1, sizeof *s);
	int port = 0, rc = CDNI_ENOMEM;

	if (!s)
		goto fail;
	s->nw = worker_count(conf->threads);
	s->w = calloc(s->nw, sizeof *s->w);
	s->tcp = s->stopfd = -1;
	s->tcp_max = (int)conf->tcp_max;
	s->idle_us = conf->tcp_idle_ms * 1000;
	s->al = al;
	atomic_init(&s->db, db);
	db = NULL;
	if (!s->w)
		goto fail;
	for (size_t i = 0; i < s->nw; i++) {
		s->w[i].ep = s->w[i].udp = s->w[i].mbox = -1;
		s->w[i].index = i;
		pthread_mutex_init(&s->w[i].mlock, NULL);
	}
	rc = CDNI_EIO;
	if (bind_all(s, conf->address, (int)conf->port, &port)) {
		snprintf(err, errlen, "cannot bind %s port %lld (UDP and TCP): %s", conf->address,
			 conf->port, strerror(errno));
		goto fail;
	}
	if (dns_ri_new(conf, atomic_load(&s->db)->generation, deliver, s, &s->ri, err, errlen))
		goto fail;
	s->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stopfd < 0 || start_workers(s)) {
		snprintf(err, errlen, "cannot start the workers: %s", strerror(errno));
		goto fail;
	}
	dns_health_start(conf, atomic_load(&s->db), &s->health);
	snprintf(ready, rlen, strchr(conf->address, ':') ? "udp=[%s]:%d tcp=[%s]:%d" : "udp=%s:%d tcp=%s:%d",
		 conf->address, port, conf->address, port);
	log_info(NULL, "%zu workers on %s port %d", s->nw, conf->address, port);
	*out = s;
	return 0;
fail:
	if (rc == CDNI_ENOMEM)
		snprintf(err, errlen, "out of memory");
	db_free(db);
	dns_server_stop(s);
	return rc;
}

const struct db *dns_server_db(const struct dns_server *s)
{
	return atomic_load(&((struct dns_server *)(uintptr_t)s)->db);
}

void dns_server_swap(struct dns_server *s, const struct dns_conf *conf, struct db *db)
{
	struct db *old;
	long long warn_at = now_us() + 5000000;

	dns_health_stop(s->health);
	s->health = NULL;
	if (dns_ri_reconf(s->ri, conf, db->generation))
		log_err(NULL, "out of memory: the dCDNs' redirection interfaces keep the old config");
	old = atomic_exchange(&s->db, db);
	for (size_t i = 0; i < s->nw; i++) /* quiescence: every worker has seen db */
		while (atomic_load(&s->w[i].seen) != db->generation) {
			if (warn_at && now_us() > warn_at) {
				log_warn(NULL, "worker %zu is slow to leave the old zones", i);
				warn_at = 0;
			}
			usleep(5000);
		}
	db_free(old);
	dns_health_start(conf, db, &s->health);
}

void dns_server_stop(struct dns_server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	dns_health_stop(s->health);
	if (s->stopfd >= 0 && write(s->stopfd, &one, sizeof one) < 0)
		log_warn(NULL, "cannot signal the workers: %s", strerror(errno));
	for (size_t i = 0; s->w && i < s->nw; i++)
		if (s->w[i].thread)
			pthread_join(s->w[i].thread, NULL);
	dns_ri_free(s->ri); /* its threads may still hand queries to the workers' mail */
	for (size_t i = 0; s->w && i < s->nw; i++) {
		struct worker *w = &s->w[i];
		while (w->mail) {
			struct dns_ri_waiter *next = w->mail->next;
			dns_ri_waiter_free(w->mail);
			w->mail = next;
		}
		if (w->mbox >= 0)
			close(w->mbox);
		pthread_mutex_destroy(&w->mlock);
		while (w->conns)
			conn_close(w, w->conns);
		dns_cache_free(&w->cache);
		if (w->ep >= 0)
			close(w->ep);
		if (w->udp >= 0)
			close(w->udp);
	}
	if (s->tcp >= 0)
		close(s->tcp);
	if (s->stopfd >= 0)
		close(s->stopfd);
	db_free(atomic_load(&s->db));
	free(s->w);
	free(s);
}
