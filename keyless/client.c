/* cdni keyless — client library: persistent multiplexed mutual-TLS
 * connections to an ordered list of key servers, from one I/O thread. */
#include "keyless/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509v3.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "common/tls.h"
#include "keyless/tconn.h"

#define T struct ks_client_conf
const struct conf_item ks_client_conf_table[] = {
	CONF_STRS("servers", T, servers, 0, "key servers \"host:port\", in failover order"),
	CONF_STR("ca", T, ca, NULL, 0, "CA certificate(s) the key servers' certificates chain to"),
	CONF_STR("cert", T, cert, NULL, 0, "this client's certificate chain (PEM)"),
	CONF_STR("key", T, key, NULL, 0, "this client's private key (PEM)"),
	CONF_STR("server_name", T, server_name, NULL, 0,
		 "name the servers' certificates must carry (default: each server's host)"),
	CONF_INT("connections", T, connections, 1, 64, 1, "connections per key server"),
	CONF_INT("max_inflight", T, max_inflight, 1, 65536, 1024,
		 "requests in flight per connection"),
	CONF_INT("timeout_ms", T, timeout_ms, 1, 600000, 5000, "deadline of an operation"),
	CONF_INT("connect_timeout_ms", T, connect_timeout_ms, 1, 600000, 3000,
		 "deadline of a TCP connect plus TLS handshake, and of a health ping"),
	CONF_INT("ping_interval_ms", T, ping_interval_ms, 0, 3600000, 5000,
		 "ping a connection idle this long (0: never)"),
	CONF_INT("backoff_min_ms", T, backoff_min_ms, 1, 600000, 100,
		 "first reconnect delay; doubles per failure"),
	CONF_INT("backoff_max_ms", T, backoff_max_ms, 1, 3600000, 5000, "largest reconnect delay"),
	CONF_STR("tls_max", T, tls_max, "1.3", 0, "highest TLS version: 1.2 or 1.3"),
	CONF_END
};
#undef T

void ks_client_conf_defaults(struct ks_client_conf *conf)
{
	for (const struct conf_item *it = ks_client_conf_table; it->key; it++)
		if (it->type == CONF_T_INT)
			*(long long *)(void *)((char *)conf + it->offset) = it->def_int;
}

enum cstate { C_DOWN, C_CONNECTING, C_HANDSHAKE, C_READY };

struct creq {
	struct creq *next;
	uint8_t *frame;
	size_t len;
	long long deadline_us, sent_us;
	ks_client_cb cb;
	void *arg;
	uint32_t id;
	int tries;
	int last_server; /* where it was last sent (a retry goes elsewhere if it can) */
	int is_ping;
};

struct cconn {
	struct ks_client *cl;
	int server;
	enum cstate state;
	struct ks_tconn t;
	long long since_us, retry_at_us, backoff_ms, last_rx_us;
	struct creq **slots;
	uint32_t nslots, inflight, next_id;
	struct creq *ping;
	uint32_t ev;
};

struct kserver {
	char *host, *port;
	int down; /* its last connection attempt failed */
};

struct creq_list {
	struct creq *head, *tail;
	size_t n;
};

struct ks_client {
	long long timeout_ms, connect_timeout_ms, ping_interval_ms, backoff_min_ms,
		backoff_max_ms;
	uint32_t max_inflight;
	char *server_name;
	SSL_CTX *ctx;
	struct kserver *srv;
	size_t nsrv;
	struct cconn *conns;
	size_t nconns;
	int epfd, evfd;
	pthread_t io;
	int io_started;
	pthread_mutex_t lock; /* guards sub and stop */
	struct creq_list sub;
	int stop;
	struct creq_list wait; /* I/O thread only */
	long long next_scan_us;
	atomic_uint connected;
	atomic_ullong connects, connect_failures, retries, timeouts, pings_lost;
};

/* ---- request lists ---- */

static void list_push(struct creq_list *l, struct creq *r)
{
	r->next = NULL;
	if (l->tail)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	l->n++;
}

static void list_push_front(struct creq_list *l, struct creq *r)
{
	r->next = l->head;
	l->head = r;
	if (!l->tail)
		l->tail = r;
	l->n++;
}

static struct creq *list_pop(struct creq_list *l)
{
	struct creq *r = l->head;

	if (!r)
		return NULL;
	l->head = r->next;
	if (!l->head)
		l->tail = NULL;
	l->n--;
	r->next = NULL;
	return r;
}

static void creq_free(struct creq *r)
{
	if (!r)
		return;
	OPENSSL_clear_free(r->frame, r->len);
	free(r);
}

/* Complete a request with an error (or a reply) and free it. */
static void creq_done(struct creq *r, int rc, const struct ks_reply *reply)
{
	if (r->cb && !r->is_ping)
		r->cb(r->arg, rc, reply);
	creq_free(r);
}

/* ---- connections ---- */

static void conn_set_events(struct cconn *cn, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = cn };

	if (cn->t.fd < 0 || ev == cn->ev)
		return;
	if (epoll_ctl(cn->cl->epfd, cn->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, cn->t.fd, &e) == 0)
		cn->ev = ev;
}

static void conn_update_events(struct cconn *cn)
{
	if (cn->state == C_CONNECTING)
		conn_set_events(cn, EPOLLOUT);
	else if (cn->state != C_DOWN)
		conn_set_events(cn, ks_tconn_events(&cn->t, 1));
}

/* Take every request off the connection: retried when its deadline and its
 * tries allow, failed otherwise. */
static void conn_requeue(struct cconn *cn, long long now)
{
	struct ks_client *cl = cn->cl;

	for (uint32_t i = 0; i < cn->nslots; i++) {
		struct creq *r = cn->slots[i];
		if (!r)
			continue;
		cn->slots[i] = NULL;
		if (r->is_ping) {
			creq_free(r);
		} else if (now < r->deadline_us && (size_t)r->tries <= cl->nsrv) {
			atomic_fetch_add(&cl->retries, 1);
			list_push_front(&cl->wait, r);
		} else {
			creq_done(r, CDNI_EUPSTREAM, NULL);
		}
	}
	cn->inflight = 0;
	cn->ping = NULL;
}

static void conn_close(struct cconn *cn)
{
	if (cn->t.fd >= 0 && cn->ev)
		epoll_ctl(cn->cl->epfd, EPOLL_CTL_DEL, cn->t.fd, NULL);
	cn->ev = 0;
	if (cn->state == C_READY)
		atomic_fetch_sub(&cn->cl->connected, 1);
	ks_tconn_free(&cn->t, cn->state == C_READY);
}

/* The connection failed (attempt = while connecting): close, retry its
 * requests elsewhere, schedule a reconnect with back-off. */
static void conn_fail(struct cconn *cn, long long now, const char *why)
{
	struct ks_client *cl = cn->cl;
	struct kserver *s = &cl->srv[cn->server];
	int attempt = cn->state != C_READY;

	log_warn(NULL, "key server %s:%s: %s%s", s->host, s->port, why,
		 attempt ? "" : " (connection dropped)");
	conn_close(cn);
	conn_requeue(cn, now);
	if (attempt) {
		s->down = 1;
		atomic_fetch_add(&cl->connect_failures, 1);
		cn->retry_at_us = now + cn->backoff_ms * 1000;
		cn->backoff_ms = cn->backoff_ms * 2 > cl->backoff_max_ms ? cl->backoff_max_ms
									 : cn->backoff_ms * 2;
	} else {
		cn->retry_at_us = now; /* a dropped connection is replaced at once */
	}
	cn->state = C_DOWN;
	cn->since_us = now;
}

static int set_peer_name(SSL *ssl, const char *name)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
	unsigned char tmp[16];

	if (inet_pton(AF_INET, name, tmp) == 1 || inet_pton(AF_INET6, name, tmp) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(vp, name) == 1 ? 0 : CDNI_ETLS;
	if (SSL_set_tlsext_host_name(ssl, name) != 1 || SSL_set1_host(ssl, name) != 1)
		return CDNI_ETLS;
	return 0;
}

static int open_socket(const struct kserver *s, int *fdp)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	int fd, one = 1;

	if (getaddrinfo(s->host, s->port, &hints, &ai) != 0 || !ai)
		return CDNI_ENOTFOUND;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)) {
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return CDNI_EIO;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	freeaddrinfo(ai);
	*fdp = fd;
	return 0;
}

static void conn_start(struct cconn *cn, long long now)
{
	struct ks_client *cl = cn->cl;
	struct kserver *s = &cl->srv[cn->server];
	int fd = -1;

	cn->state = C_CONNECTING;
	cn->since_us = now;
	atomic_fetch_add(&cl->connects, 1);
	if (open_socket(s, &fd)) {
		conn_fail(cn, now, "cannot connect");
		return;
	}
	if (ks_tconn_init(&cn->t, fd, cl->ctx, 0) ||
	    set_peer_name(cn->t.ssl, cl->server_name ? cl->server_name : s->host)) {
		conn_fail(cn, now, "cannot set up TLS");
		return;
	}
	conn_set_events(cn, EPOLLOUT);
}

static void conn_handshake(struct cconn *cn, long long now)
{
	char err[512];
	int rc = ks_tconn_handshake(&cn->t, err, sizeof err);

	if (rc == CDNI_EBUSY)
		return;
	if (rc) {
		conn_fail(cn, now, err);
		return;
	}
	cn->state = C_READY;
	cn->since_us = cn->last_rx_us = now;
	cn->backoff_ms = cn->cl->backoff_min_ms;
	cn->cl->srv[cn->server].down = 0;
	atomic_fetch_add(&cn->cl->connected, 1);
	log_debug(NULL, "key server %s:%s: connected (%s)", cn->cl->srv[cn->server].host,
		  cn->cl->srv[cn->server].port, SSL_get_version(cn->t.ssl));
}

static void conn_connected(struct cconn *cn, long long now)
{
	int soerr = 0;
	socklen_t sl = sizeof soerr;

	if (getsockopt(cn->t.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
		char why[128];
		snprintf(why, sizeof why, "cannot connect: %s", strerror(soerr ? soerr : errno));
		conn_fail(cn, now, why);
		return;
	}
	cn->state = C_HANDSHAKE;
	conn_handshake(cn, now);
}

/* ---- sending and receiving ---- */

static void conn_send(struct cconn *cn, struct creq *r, long long now)
{
	uint32_t id = cn->next_id;

	while (cn->slots[id & (cn->nslots - 1)])
		id++;
	cn->next_id = id + 1;
	cn->slots[id & (cn->nslots - 1)] = r;
	cn->inflight++;
	r->id = id;
	r->tries++;
	r->last_server = cn->server;
	r->sent_us = now;
	r->frame[4] = (uint8_t)(id >> 24);
	r->frame[5] = (uint8_t)(id >> 16);
	r->frame[6] = (uint8_t)(id >> 8);
	r->frame[7] = (uint8_t)id;
	buf_append(&cn->t.out, r->frame, r->len);
}

static void conn_answer(struct cconn *cn, uint32_t id, const struct ks_msg *m, long long now)
{
	uint32_t slot = id & (cn->nslots - 1);
	struct creq *r = cn->slots[slot];
	struct ks_reply reply;

	if (!r || r->id != id)
		return; /* answered after its deadline: dropped */
	cn->slots[slot] = NULL;
	cn->inflight--;
	if (r == cn->ping)
		cn->ping = NULL;
	reply.opcode = m->opcode;
	reply.payload = m->payload.p;
	reply.len = m->payload.len;
	reply.server = cn->server;
	reply.rtt_us = now - r->sent_us;
	creq_done(r, 0, &reply);
}

/* Take every whole frame off the input; 0 or an error that kills the conn. */
static int conn_frames(struct cconn *cn, long long now)
{
	const uint8_t *f;
	size_t len;

	while (ks_tconn_frame(&cn->t, &f, &len)) {
		struct ks_header h;
		struct ks_msg m;
		if (ks_header_parse(f, len, &h) || ks_header_check(&h) ||
		    ks_msg_parse(f + KS_HEADER_LEN, len - KS_HEADER_LEN, &m) ||
		    !KS_HAS(&m, KS_F_OPCODE))
			return CDNI_EPARSE;
		conn_answer(cn, h.id, &m, now);
		ks_tconn_consume(&cn->t, len);
	}
	return 0;
}

static void conn_readable(struct cconn *cn, long long now)
{
	int rc;

	cn->last_rx_us = now;
	do {
		rc = ks_tconn_read(&cn->t, 256 * 1024);
		if ((rc >= 0 || rc == CDNI_ECLOSED) && conn_frames(cn, now)) {
			conn_fail(cn, now, "malformed response");
			return;
		}
	} while (rc > 0 || (!rc && ks_tconn_has_buffered(&cn->t)));
	if (rc < 0)
		conn_fail(cn, now, rc == CDNI_ECLOSED ? "closed by the server" : "read error");
}

static void conn_event(struct cconn *cn, uint32_t ev, long long now)
{
	switch (cn->state) {
	case C_CONNECTING:
		conn_connected(cn, now);
		break;
	case C_HANDSHAKE:
		conn_handshake(cn, now);
		break;
	case C_READY:
		if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP) || cn->t.read_wants_write)
			conn_readable(cn, now);
		if (cn->state == C_READY && (ev & EPOLLOUT) && ks_tconn_flush(&cn->t) < 0 &&
		    cn->state == C_READY)
			conn_fail(cn, now, "write error");
		break;
	default:
		break;
	}
}

/* ---- scheduling ---- */

/* The connection a request goes to: the least loaded ready connection of
 * the first server that is not known to be down (a retry skips the server it
 * failed on, when there is another); NULL when that server is saturated or
 * still connecting (the request waits). *none_up is set when no connection
 * at all is ready. */
static struct cconn *pick_conn(struct ks_client *cl, const struct creq *r, int *none_up)
{
	*none_up = 1;
	for (size_t s = 0; s < cl->nsrv; s++) {
		struct cconn *best = NULL;
		int any = 0;
		if (r->tries && (size_t)r->last_server == s && cl->nsrv > 1)
			continue;
		for (size_t i = 0; i < cl->nconns; i++) {
			struct cconn *cn = &cl->conns[i];
			if ((size_t)cn->server != s || cn->state != C_READY)
				continue;
			any = 1;
			if (cn->inflight < cl->max_inflight && (!best || cn->inflight < best->inflight))
				best = cn;
		}
		if (any) {
			*none_up = 0;
			return best;
		}
		if (!cl->srv[s].down)
			return NULL; /* not up yet, not failed either: wait for it */
	}
	return NULL;
}

static bool all_down(const struct ks_client *cl)
{
	for (size_t s = 0; s < cl->nsrv; s++)
		if (!cl->srv[s].down)
			return false;
	return true;
}

static void dispatch_waiting(struct ks_client *cl, long long now)
{
	int none_up;
	struct cconn *cn;

	while (cl->wait.head) {
		cn = pick_conn(cl, cl->wait.head, &none_up);
		if (!cn) {
			if (none_up && all_down(cl))
				while (cl->wait.head)
					creq_done(list_pop(&cl->wait), CDNI_EUPSTREAM, NULL);
			return;
		}
		conn_send(cn, list_pop(&cl->wait), now);
	}
}

static void expire_inflight(struct ks_client *cl, struct cconn *cn, long long now)
{
	for (uint32_t i = 0; i < cn->nslots && cn->inflight; i++) {
		struct creq *r = cn->slots[i];
		if (!r || r->is_ping || r->deadline_us > now)
			continue;
		cn->slots[i] = NULL;
		cn->inflight--;
		atomic_fetch_add(&cl->timeouts, 1);
		creq_done(r, CDNI_ETIMEDOUT, NULL);
	}
}

static void expire_waiting(struct ks_client *cl, long long now)
{
	struct creq_list keep = { 0 };
	struct creq *r;

	while ((r = list_pop(&cl->wait))) {
		if (r->deadline_us > now) {
			list_push(&keep, r);
			continue;
		}
		atomic_fetch_add(&cl->timeouts, 1);
		creq_done(r, CDNI_ETIMEDOUT, NULL);
	}
	cl->wait = keep;
}

static struct creq *ping_new(long long deadline)
{
	struct creq *r = calloc(1, sizeof *r);
	struct ks_msg m;

	if (!r || !(r->frame = malloc(KS_PAD_TO + 16))) {
		free(r);
		return NULL;
	}
	ks_msg_init(&m, KS_OP_PING);
	if (ks_msg_write(0, &m, r->frame, KS_PAD_TO + 16, &r->len)) {
		creq_free(r);
		return NULL;
	}
	r->is_ping = 1;
	r->deadline_us = deadline;
	return r;
}

static void conn_timers(struct ks_client *cl, struct cconn *cn, long long now)
{
	long long ct = cl->connect_timeout_ms * 1000;

	switch (cn->state) {
	case C_DOWN:
		if (now >= cn->retry_at_us)
			conn_start(cn, now);
		break;
	case C_CONNECTING:
	case C_HANDSHAKE:
		if (now - cn->since_us > ct)
			conn_fail(cn, now, "connect/handshake timed out");
		break;
	case C_READY:
		if (cn->ping && now > cn->ping->deadline_us) {
			atomic_fetch_add(&cl->pings_lost, 1);
			conn_fail(cn, now, "health ping unanswered");
		} else if (!cn->ping && cl->ping_interval_ms &&
			   now - cn->last_rx_us >= cl->ping_interval_ms * 1000 &&
			   cn->inflight < cl->max_inflight && (cn->ping = ping_new(now + ct))) {
			conn_send(cn, cn->ping, now);
		}
		break;
	}
}

static void timers(struct ks_client *cl, long long now)
{
	int scan = now >= cl->next_scan_us;

	for (size_t i = 0; i < cl->nconns; i++) {
		conn_timers(cl, &cl->conns[i], now);
		if (scan && cl->conns[i].inflight)
			expire_inflight(cl, &cl->conns[i], now);
	}
	if (scan) {
		expire_waiting(cl, now);
		cl->next_scan_us = now + 5000;
	}
}

static void take_submissions(struct ks_client *cl)
{
	struct creq_list got;
	uint64_t v;

	if (read(cl->evfd, &v, sizeof v) < 0 && errno != EAGAIN)
		log_warn(NULL, "key-server client: eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&cl->lock);
	got = cl->sub;
	memset(&cl->sub, 0, sizeof cl->sub);
	pthread_mutex_unlock(&cl->lock);
	if (!got.head)
		return;
	if (cl->wait.tail)
		cl->wait.tail->next = got.head;
	else
		cl->wait.head = got.head;
	cl->wait.tail = got.tail;
	cl->wait.n += got.n;
}

static void flush_all(struct ks_client *cl, long long now)
{
	for (size_t i = 0; i < cl->nconns; i++) {
		struct cconn *cn = &cl->conns[i];
		if (cn->state == C_READY && ks_tconn_unsent(&cn->t) && ks_tconn_flush(&cn->t) < 0)
			conn_fail(cn, now, "write error");
		conn_update_events(cn);
	}
}

static int busy(const struct ks_client *cl)
{
	if (cl->wait.head)
		return 1;
	for (size_t i = 0; i < cl->nconns; i++)
		if (cl->conns[i].inflight || cl->conns[i].state == C_CONNECTING ||
		    cl->conns[i].state == C_HANDSHAKE)
			return 1;
	return 0;
}

static void *io_main(void *arg)
{
	struct ks_client *cl = arg;
	struct epoll_event evs[64];
	sigset_t old;
	int stop = 0;

	ks_sigpipe_block(&old);
	while (!stop) {
		int n = epoll_wait(cl->epfd, evs, 64, busy(cl) ? 5 : 50);
		long long now = now_us();
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr)
				conn_event(evs[i].data.ptr, evs[i].events, now);
			else
				take_submissions(cl);
		}
		timers(cl, now);
		dispatch_waiting(cl, now);
		flush_all(cl, now);
		pthread_mutex_lock(&cl->lock);
		stop = cl->stop;
		pthread_mutex_unlock(&cl->lock);
	}
	return NULL;
}

/* ---- setup ---- */

static int split_hostport(const char *s, char **host, char **port)
{
	const char *colon = strrchr(s, ':');
	const char *h = s, *he;

	if (!colon || !colon[1] || colon == s)
		return CDNI_EINVAL;
	he = colon;
	if (s[0] == '[') {
		h = s + 1;
		if (colon[-1] != ']')
			return CDNI_EINVAL;
		he = colon - 1;
	}
	*host = strndup(h, (size_t)(he - h));
	*port = strdup(colon + 1);
	return *host && *port ? 0 : CDNI_ENOMEM;
}

static int make_ctx(struct ks_client *cl, const struct ks_client_conf *conf, char *err,
		    size_t errlen)
{
	int maxv = ks_tls_version(conf->tls_max ? conf->tls_max : "1.3");

	if (!maxv) {
		snprintf(err, errlen, "tls_max: '%s' is not 1.2 or 1.3", conf->tls_max);
		return CDNI_ECONFIG;
	}
	if (!conf->ca || !conf->cert || !conf->key) {
		snprintf(err, errlen, "ca, cert and key are required");
		return CDNI_ECONFIG;
	}
	cl->ctx = tls_client_ctx(conf->ca, conf->cert, conf->key, err, errlen);
	if (!cl->ctx)
		return CDNI_ECONFIG;
	SSL_CTX_set_max_proto_version(cl->ctx, maxv);
	return 0;
}

static int make_servers(struct ks_client *cl, const struct ks_client_conf *conf, char *err,
			size_t errlen)
{
	size_t per = conf->connections > 0 ? (size_t)conf->connections : 1;
	uint32_t slots = 1;

	if (!conf->servers.n) {
		snprintf(err, errlen, "servers: at least one key server is needed");
		return CDNI_ECONFIG;
	}
	cl->srv = calloc(conf->servers.n, sizeof *cl->srv);
	cl->conns = calloc(conf->servers.n * per, sizeof *cl->conns);
	if (!cl->srv || !cl->conns)
		return CDNI_ENOMEM;
	cl->nsrv = conf->servers.n;
	for (size_t i = 0; i < cl->nsrv; i++)
		if (split_hostport(conf->servers.v[i], &cl->srv[i].host, &cl->srv[i].port)) {
			snprintf(err, errlen, "servers[%zu]: '%s' is not host:port", i,
				 conf->servers.v[i]);
			return CDNI_ECONFIG;
		}
	while (slots < cl->max_inflight + 1)
		slots <<= 1;
	cl->nconns = cl->nsrv * per;
	for (size_t i = 0; i < cl->nconns; i++) {
		struct cconn *cn = &cl->conns[i];
		cn->cl = cl;
		cn->server = (int)(i / per);
		cn->t.fd = -1;
		cn->backoff_ms = cl->backoff_min_ms;
		cn->nslots = slots;
		if (!(cn->slots = calloc(slots, sizeof *cn->slots)))
			return CDNI_ENOMEM;
	}
	return 0;
}

static void copy_numbers(struct ks_client *cl, const struct ks_client_conf *conf)
{
	struct ks_client_conf d = { 0 };

	ks_client_conf_defaults(&d);
#define NUM(f) (conf->f > 0 ? conf->f : d.f)
	cl->timeout_ms = NUM(timeout_ms);
	cl->connect_timeout_ms = NUM(connect_timeout_ms);
	cl->ping_interval_ms = conf->ping_interval_ms >= 0 ? conf->ping_interval_ms : 0;
	cl->backoff_min_ms = NUM(backoff_min_ms);
	cl->backoff_max_ms = NUM(backoff_max_ms);
	cl->max_inflight = (uint32_t)NUM(max_inflight);
#undef NUM
}

int ks_client_new(const struct ks_client_conf *conf, struct ks_client **out, char *err,
		  size_t errlen)
{
	struct ks_client *cl = calloc(1, sizeof *cl);
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
	int rc = CDNI_ENOMEM;

	if (!cl)
		goto fail;
	cl->epfd = cl->evfd = -1;
	pthread_mutex_init(&cl->lock, NULL);
	copy_numbers(cl, conf);
	if (conf->server_name && !(cl->server_name = strdup(conf->server_name)))
		goto fail;
	if ((rc = make_ctx(cl, conf, err, errlen)) || (rc = make_servers(cl, conf, err, errlen)))
		goto fail;
	rc = CDNI_EIO;
	cl->epfd = epoll_create1(EPOLL_CLOEXEC);
	cl->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (cl->epfd < 0 || cl->evfd < 0 || epoll_ctl(cl->epfd, EPOLL_CTL_ADD, cl->evfd, &e))
		goto fail;
	if (pthread_create(&cl->io, NULL, io_main, cl))
		goto fail;
	cl->io_started = 1;
	*out = cl;
	return 0;
fail:
	if (rc == CDNI_ENOMEM || rc == CDNI_EIO)
		snprintf(err, errlen, "key-server client: %s", cdni_strerror(rc));
	ks_client_free(cl);
	return rc;
}

static void fail_all(struct ks_client *cl)
{
	struct creq *r;

	while ((r = list_pop(&cl->sub)))
		creq_done(r, CDNI_ECLOSED, NULL);
	while ((r = list_pop(&cl->wait)))
		creq_done(r, CDNI_ECLOSED, NULL);
	for (size_t i = 0; i < cl->nconns; i++) {
		struct cconn *cn = &cl->conns[i];
		for (uint32_t j = 0; cn->slots && j < cn->nslots; j++)
			if ((r = cn->slots[j]))
				creq_done(r, CDNI_ECLOSED, NULL);
		if (cn->state != C_DOWN)
			conn_close(cn);
		free(cn->slots);
	}
}

void ks_client_free(struct ks_client *cl)
{
	uint64_t one = 1;
	sigset_t old;

	if (!cl)
		return;
	ks_sigpipe_block(&old);
	if (cl->io_started) {
		pthread_mutex_lock(&cl->lock);
		cl->stop = 1;
		pthread_mutex_unlock(&cl->lock);
		if (write(cl->evfd, &one, sizeof one) < 0)
			log_warn(NULL, "key-server client: eventfd write: %s", strerror(errno));
		pthread_join(cl->io, NULL);
	}
	fail_all(cl);
	for (size_t i = 0; i < cl->nsrv; i++) {
		free(cl->srv[i].host);
		free(cl->srv[i].port);
	}
	free(cl->srv);
	free(cl->conns);
	if (cl->epfd >= 0)
		close(cl->epfd);
	if (cl->evfd >= 0)
		close(cl->evfd);
	SSL_CTX_free(cl->ctx);
	free(cl->server_name);
	pthread_mutex_destroy(&cl->lock);
	free(cl);
	ks_sigpipe_restore(&old);
}

/* ---- submitting ---- */

int ks_client_submit(struct ks_client *cl, const struct ks_msg *m, int timeout_ms,
		     ks_client_cb cb, void *arg)
{
	struct creq *r = calloc(1, sizeof *r);
	size_t size = ks_msg_wire_size(m);
	uint64_t one = 1;
	int was_empty, stopped;

	if (!r || !size || !(r->frame = malloc(size))) {
		free(r);
		return size ? CDNI_ENOMEM : CDNI_EOVERFLOW;
	}
	if (ks_msg_write(0, m, r->frame, size, &r->len)) {
		creq_free(r);
		return CDNI_EOVERFLOW;
	}
	r->cb = cb;
	r->arg = arg;
	r->deadline_us = now_us() + 1000LL * (timeout_ms > 0 ? timeout_ms : cl->timeout_ms);
	if (cl->io_started && pthread_equal(pthread_self(), cl->io)) {
		list_push(&cl->wait, r); /* from a callback: the loop dispatches it */
		return 0;
	}
	pthread_mutex_lock(&cl->lock);
	stopped = cl->stop;
	was_empty = !cl->sub.head;
	if (!stopped)
		list_push(&cl->sub, r);
	pthread_mutex_unlock(&cl->lock);
	if (stopped) {
		creq_free(r);
		return CDNI_ECLOSED;
	}
	if (was_empty && write(cl->evfd, &one, sizeof one) < 0)
		log_warn(NULL, "key-server client: eventfd write: %s", strerror(errno));
	return 0;
}

struct waiter {
	pthread_mutex_t m;
	pthread_cond_t cv;
	int done, rc, overflow;
	uint8_t opcode;
	uint8_t *out;
	size_t cap, len;
};

static void waiter_cb(void *arg, int rc, const struct ks_reply *reply)
{
	struct waiter *w = arg;

	pthread_mutex_lock(&w->m);
	w->rc = rc;
	if (!rc) {
		w->opcode = reply->opcode;
		if (reply->len > w->cap)
			w->overflow = 1;
		else if (reply->len)
			memcpy(w->out, reply->payload, reply->len);
		w->len = reply->len;
	}
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->m);
}

int ks_client_call(struct ks_client *cl, const struct ks_msg *m, int timeout_ms,
		   uint8_t *out, size_t *outlen, uint8_t *reply_opcode)
{
	struct waiter w = { .out = out, .cap = *outlen };
	int rc;

	pthread_mutex_init(&w.m, NULL);
	pthread_cond_init(&w.cv, NULL);
	rc = ks_client_submit(cl, m, timeout_ms, waiter_cb, &w);
	if (!rc) {
		pthread_mutex_lock(&w.m);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.m);
		pthread_mutex_unlock(&w.m);
		rc = w.rc ? w.rc : w.overflow ? CDNI_EOVERFLOW : 0;
	}
	if (!rc) {
		*outlen = w.len;
		*reply_opcode = w.opcode;
	}
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.m);
	return rc;
}

/* A reply's opcode and payload as a CDNI_E* code. */
static int reply_status(uint8_t opcode, const uint8_t *p, size_t len, uint8_t want)
{
	if (opcode == want)
		return 0;
	if (opcode == KS_OP_ERROR && len == 1)
		return ks_err_from_wire(p[0]);
	return CDNI_EUPSTREAM;
}

static int keyed_call(struct ks_client *cl, const uint8_t *ski, uint8_t opcode,
		      const uint8_t *in, size_t len, uint8_t *out, size_t *outlen, int timeout_ms)
{
	uint8_t buf[4096];
	size_t n = sizeof buf;
	uint8_t op = 0;
	struct ks_msg m;
	int rc;

	ks_msg_init(&m, opcode);
	ks_msg_set_ski(&m, ski);
	ks_msg_set_payload(&m, in, len);
	if ((rc = ks_client_call(cl, &m, timeout_ms, buf, &n, &op)))
		return rc;
	if ((rc = reply_status(op, buf, n, KS_OP_RESPONSE)))
		return rc;
	if (n > *outlen)
		rc = CDNI_EOVERFLOW;
	else {
		memcpy(out, buf, n);
		*outlen = n;
	}
	OPENSSL_cleanse(buf, n);
	return rc;
}

int ks_client_sign(struct ks_client *cl, const uint8_t ski[KS_SKI_LEN], uint8_t opcode,
		   const uint8_t *digest, size_t len, uint8_t *out, size_t *outlen,
		   int timeout_ms)
{
	return keyed_call(cl, ski, opcode, digest, len, out, outlen, timeout_ms);
}

int ks_client_decrypt(struct ks_client *cl, const uint8_t ski[KS_SKI_LEN], uint8_t opcode,
		      const uint8_t *in, size_t len, uint8_t *out, size_t *outlen,
		      int timeout_ms)
{
	if (opcode != KS_OP_RSA_DECRYPT && opcode != KS_OP_RSA_DECRYPT_RAW)
		return CDNI_EINVAL;
	return keyed_call(cl, ski, opcode, in, len, out, outlen, timeout_ms);
}

int ks_client_ping(struct ks_client *cl, int timeout_ms, long long *rtt_us)
{
	uint8_t buf[64], op = 0;
	size_t n = sizeof buf;
	long long t0 = now_us();
	struct ks_msg m;
	int rc;

	ks_msg_init(&m, KS_OP_PING);
	ks_msg_set_payload(&m, "cdni", 4);
	if ((rc = ks_client_call(cl, &m, timeout_ms, buf, &n, &op)))
		return rc;
	if ((rc = reply_status(op, buf, n, KS_OP_PONG)))
		return rc;
	if (n != 4 || memcmp(buf, "cdni", 4) != 0)
		return CDNI_EUPSTREAM;
	if (rtt_us)
		*rtt_us = now_us() - t0;
	return 0;
}

void ks_client_stats(struct ks_client *cl, struct ks_client_stats *st)
{
	st->connected = atomic_load(&cl->connected);
	st->connects = atomic_load(&cl->connects);
	st->connect_failures = atomic_load(&cl->connect_failures);
	st->retries = atomic_load(&cl->retries);
	st->timeouts = atomic_load(&cl->timeouts);
	st->pings_lost = atomic_load(&cl->pings_lost);
}
