/* cdni keyless — cdni-keyserver: I/O thread, worker pool, proxy glue,
 * metrics listener. */
#include "keyless/server.h"

#include <arpa/inet.h>
#include <errno.h>
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
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/accesslog.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "common/tls.h"
#include "keyless/core.h"
#include "keyless/metrics.h"
#include "keyless/tconn.h"

#define READ_MAX (KS_FRAME_MAX + 16384) /* input buffered per connection */
#define OUT_LIMIT (256 * 1024)          /* unsent answers before reading pauses */
#define RLX memory_order_relaxed

struct sconn;

struct job {
	struct job *next;
	struct ks_server *srv;
	struct sconn *conn;
	uint8_t *frame;
	size_t len;
	long long t0;
	struct buf resp;
	struct ks_result res;
	const char *via;
	int fatal; /* no answer could be made: close the connection */
};

struct jobq {
	struct job *head, *tail;
};

struct sconn {
	struct sconn *prev, *next; /* open connections */
	struct sconn *dirty_next;
	struct ks_tconn t;
	struct ks_peer peer;
	int refs;                  /* the loop's, plus one per job (I/O thread only) */
	int closed, dirty, paused, draining, close_after_flush;
	unsigned pending;
	long long since_us, active_us;
	uint32_t ev;
};

struct ks_server {
	const struct ks_server_conf *conf;
	SSL_CTX *ctx;
	struct ks_policy *policy;
	struct ks_core *core;
	struct ks_client *upstream;
	struct ks_metrics *metrics;
	struct access_log audit;
	int audit_on;
	struct httpd httpd;
	int httpd_on;
	int lfd, epfd, evfd;
	pthread_t io;
	int io_started;
	pthread_t *workers;
	size_t nworkers;
	pthread_mutex_t qlock;
	pthread_cond_t qcv;
	struct jobq q;
	int qstop;
	pthread_mutex_t dlock;
	struct jobq done;
	atomic_int stop;
	/* I/O thread only */
	struct sconn *conns, *dirty;
	size_t nconns;
	struct buf audit_buf;
	long long next_scan_us;
	unsigned max_pending;
};

static void jobq_push(struct jobq *q, struct job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

static void jobq_append(struct jobq *q, struct jobq *more)
{
	if (!more->head)
		return;
	if (q->tail)
		q->tail->next = more->head;
	else
		q->head = more->head;
	q->tail = more->tail;
	more->head = more->tail = NULL;
}

static void job_free(struct job *j)
{
	if (j->frame)
		OPENSSL_clear_free(j->frame, j->len);
	buf_free_secure(&j->resp);
	free(j);
}

/* ---- connections (I/O thread) ---- */

static void conn_unref(struct sconn *c)
{
	if (--c->refs > 0)
		return;
	ks_tconn_free(&c->t, 0);
	free(c);
}

static void conn_close(struct ks_server *s, struct sconn *c, const char *why)
{
	if (c->closed)
		return;
	if (c->t.established)
		log_debug(c->peer.addr, "client %s: connection closed: %s", c->peer.cn, why);
	else
		log_info(c->peer.addr, "connection closed before the handshake finished: %s", why);
	if (c->ev)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->t.fd, NULL);
	ks_tconn_free(&c->t, c->t.established);
	c->closed = 1;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	atomic_fetch_sub_explicit(&s->metrics->conns_open, 1, RLX);
	conn_unref(c);
}

static void conn_set_events(struct ks_server *s, struct sconn *c)
{
	int want_read = !c->paused && !c->draining;
	uint32_t ev = c->t.established ? ks_tconn_events(&c->t, want_read)
				       : ks_tconn_events(&c->t, 1);
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (ev != c->ev && epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->t.fd, &e) == 0)
		c->ev = ev;
}

static void mark_dirty(struct ks_server *s, struct sconn *c)
{
	if (c->dirty || c->closed)
		return;
	c->dirty = 1;
	c->dirty_next = s->dirty;
	s->dirty = c;
}

static struct job *job_new(struct ks_server *s, struct sconn *c, const uint8_t *f,
			   size_t len, long long now)
{
	struct job *j = calloc(1, sizeof *j);

	if (!j || !(j->frame = malloc(len))) {
		free(j);
		return NULL;
	}
	memcpy(j->frame, f, len);
	j->len = len;
	j->srv = s;
	j->conn = c;
	j->t0 = now;
	buf_init(&j->resp, 0);
	c->refs++;
	c->pending++;
	atomic_fetch_add_explicit(&s->metrics->pending, 1, RLX);
	return j;
}

/* Turn whole frames in the input into jobs, while the bounds allow. */
static int conn_take_frames(struct ks_server *s, struct sconn *c, struct jobq *batch,
			    long long now)
{
	const uint8_t *f;
	size_t len;

	while (!c->draining && c->pending < s->max_pending &&
	       ks_tconn_unsent(&c->t) < OUT_LIMIT && ks_tconn_frame(&c->t, &f, &len)) {
		struct job *j = job_new(s, c, f, len, now);
		if (!j)
			return CDNI_ENOMEM;
		if (f[0] != KS_VERSION_MAJOR)
			c->draining = 1; /* framing of other versions is unknown: answer, then close */
		jobq_push(batch, j);
		ks_tconn_consume(&c->t, len);
	}
	c->paused = !c->draining && (c->pending >= s->max_pending ||
				     ks_tconn_unsent(&c->t) >= OUT_LIMIT);
	return 0;
}

static int has_frame(struct ks_tconn *t)
{
	const uint8_t *f;
	size_t len;

	return ks_tconn_frame(t, &f, &len);
}

/* Read and take frames until the socket is dry or a bound is hit. At the end
 * of the stream (or on an error) what is in progress is still answered. */
static void conn_pump(struct ks_server *s, struct sconn *c, struct jobq *batch, long long now)
{
	int rc = 0;

	c->active_us = now;
	for (;;) {
		if (conn_take_frames(s, c, batch, now)) {
			conn_close(s, c, "out of memory");
			return;
		}
		if (c->paused || c->draining || rc)
			break;
		rc = ks_tconn_read(&c->t, READ_MAX);
		if (!rc && !has_frame(&c->t) && !ks_tconn_has_buffered(&c->t))
			break;
	}
	if (!rc)
		return;
	if (rc == CDNI_ECLOSED && ks_tconn_partial(&c->t))
		log_warn(c->peer.addr, "client %s: closed in the middle of a frame (%zu bytes)",
			 c->peer.cn, ks_tconn_partial(&c->t));
	else if (rc != CDNI_ECLOSED)
		log_info(c->peer.addr, "client %s: %s", c->peer.cn, cdni_strerror(rc));
	c->draining = 1;
	c->close_after_flush = 1;
	mark_dirty(s, c);
}

static void conn_established(struct ks_server *s, struct sconn *c, long long now)
{
	if (ks_tconn_peer(&c->t, &c->peer)) {
		conn_close(s, c, "no usable client certificate");
		return;
	}
	c->active_us = now;
	log_debug(c->peer.addr, "client %s: connected (%s, %s)", c->peer.cn,
		  SSL_get_version(c->t.ssl), SSL_get_cipher_name(c->t.ssl));
}

static void conn_event(struct ks_server *s, struct sconn *c, uint32_t ev, struct jobq *batch,
		       long long now)
{
	char err[512];
	int rc;

	if (!c->t.established) {
		rc = ks_tconn_handshake(&c->t, err, sizeof err);
		if (rc == CDNI_EBUSY)
			return mark_dirty(s, c);
		if (rc) {
			atomic_fetch_add_explicit(&s->metrics->handshake_failures, 1, RLX);
			return conn_close(s, c, err);
		}
		conn_established(s, c, now);
		if (c->closed)
			return;
	}
	if ((ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) || c->t.read_wants_write)
		conn_pump(s, c, batch, now);
	if (!c->closed)
		mark_dirty(s, c);
}

static void accept_one(struct ks_server *s, int fd, long long now)
{
	struct sconn *c = calloc(1, sizeof *c);
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
	int one = 1;

	if (!c || ks_tconn_init(&c->t, fd, s->ctx, 1)) {
		if (c && c->t.fd >= 0)
			ks_tconn_free(&c->t, 0);
		else
			close(fd);
		free(c);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	e.data.ptr = c;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e)) {
		ks_tconn_free(&c->t, 0);
		free(c);
		return;
	}
	c->ev = EPOLLIN;
	c->refs = 1;
	c->since_us = c->active_us = now;
	ks_tconn_peer(&c->t, &c->peer); /* address only, before the handshake */
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	atomic_fetch_add_explicit(&s->metrics->conns_open, 1, RLX);
	atomic_fetch_add_explicit(&s->metrics->conns_total, 1, RLX);
}

static void accept_all(struct ks_server *s, long long now)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn(NULL, "accept: %s", strerror(errno));
			return;
		}
		if (s->nconns >= (size_t)s->conf->max_connections) {
			atomic_fetch_add_explicit(&s->metrics->conns_refused, 1, RLX);
			log_warn(NULL, "connection limit (%lld) reached: connection refused",
				 s->conf->max_connections);
			close(fd);
			continue;
		}
		accept_one(s, fd, now);
	}
}

/* ---- answers (I/O thread) ---- */

static void audit_job(struct ks_server *s, struct job *j, const char *ts, long long now)
{
	long long dur = now - j->t0;

	ks_metrics_op(s->metrics, j->res.opcode, j->res.wire_err, dur);
	if (s->audit_on)
		ks_audit_line(&s->audit_buf, ts, &j->conn->peer, &j->res, j->via, dur);
	if (j->res.err && j->res.wire_err != KS_ERR_KEY_NOT_FOUND)
		log_debug(j->conn->peer.addr, "client %s: request %u (%s): %s", j->conn->peer.cn,
			  j->res.id, ks_opinfo(j->res.opcode)->name, cdni_strerror(j->res.err));
}

static void answer(struct ks_server *s, struct job *j, const char *ts, long long now,
		   struct jobq *batch)
{
	struct sconn *c = j->conn;

	c->pending--;
	atomic_fetch_sub_explicit(&s->metrics->pending, 1, RLX);
	if (!c->closed) {
		if (j->fatal) {
			conn_close(s, c, "cannot answer (out of memory)");
		} else {
			buf_append(&c->t.out, j->resp.data, j->resp.len);
			if (j->res.close)
				c->close_after_flush = 1;
			audit_job(s, j, ts, now);
			if (c->paused)
				conn_pump(s, c, batch, now);
			mark_dirty(s, c);
		}
	}
	conn_unref(c);
	job_free(j);
}

static void take_done(struct ks_server *s, struct jobq *batch, long long now)
{
	struct jobq got;
	struct job *j;
	uint64_t v;
	char ts[40];

	if (read(s->evfd, &v, sizeof v) < 0 && errno != EAGAIN)
		log_warn(NULL, "eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&s->dlock);
	got = s->done;
	s->done.head = s->done.tail = NULL;
	pthread_mutex_unlock(&s->dlock);
	if (!got.head)
		return;
	ks_timestamp(ts, sizeof ts);
	while ((j = got.head)) {
		got.head = j->next;
		answer(s, j, ts, now, batch);
	}
}

static void flush_dirty(struct ks_server *s)
{
	struct sconn *c, *next;

	for (c = s->dirty, s->dirty = NULL; c; c = next) {
		next = c->dirty_next;
		c->dirty = 0;
		if (c->closed)
			continue;
		if (c->t.established && ks_tconn_unsent(&c->t) && ks_tconn_flush(&c->t) < 0) {
			conn_close(s, c, "write error");
			continue;
		}
		if (c->close_after_flush && !c->pending && !ks_tconn_unsent(&c->t)) {
			conn_close(s, c, "after the last answer");
			continue;
		}
		conn_set_events(s, c);
	}
}

static void scan_timeouts(struct ks_server *s, long long now)
{
	long long idle = s->conf->idle_timeout * 1000000LL;
	long long hs = s->conf->handshake_timeout * 1000000LL;
	struct sconn *c, *next;

	for (c = s->conns; c; c = next) {
		next = c->next;
		if (!c->t.established && now - c->since_us > hs) {
			atomic_fetch_add_explicit(&s->metrics->handshake_failures, 1, RLX);
			conn_close(s, c, "handshake timed out");
		} else if (c->t.established && !c->pending && !ks_tconn_unsent(&c->t) &&
			   now - c->active_us > idle) {
			atomic_fetch_add_explicit(&s->metrics->idle_closed, 1, RLX);
			conn_close(s, c, ks_tconn_partial(&c->t) ? "idle with a partial frame"
								  : "idle");
		}
	}
}

/* Hand a batch of new jobs to the workers. */
static void submit_jobs(struct ks_server *s, struct jobq *batch)
{
	if (!batch->head)
		return;
	pthread_mutex_lock(&s->qlock);
	jobq_append(&s->q, batch);
	pthread_cond_broadcast(&s->qcv);
	pthread_mutex_unlock(&s->qlock);
}

static void *io_main(void *arg)
{
	struct ks_server *s = arg;
	struct epoll_event evs[128];
	sigset_t old;

	ks_sigpipe_block(&old);
	while (!atomic_load(&s->stop)) {
		struct jobq batch = { 0 };
		int n = epoll_wait(s->epfd, evs, 128, 250);
		long long now = now_us();
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &s->lfd)
				accept_all(s, now);
			else if (p == &s->evfd)
				take_done(s, &batch, now);
			else
				conn_event(s, p, evs[i].events, &batch, now);
		}
		submit_jobs(s, &batch);
		flush_dirty(s);
		if (s->audit_buf.len) {
			log_line(s->audit.f, "%.*s", (int)s->audit_buf.len - 1, s->audit_buf.data);
			buf_reset(&s->audit_buf);
		}
		if (now >= s->next_scan_us) {
			scan_timeouts(s, now);
			s->next_scan_us = now + 1000000;
		}
	}
	return NULL;
}

/* ---- workers ---- */

static void done_push(struct ks_server *s, struct job *j)
{
	uint64_t one = 1;
	int was_empty;

	pthread_mutex_lock(&s->dlock);
	was_empty = !s->done.head;
	jobq_push(&s->done, j);
	pthread_mutex_unlock(&s->dlock);
	if (was_empty && write(s->evfd, &one, sizeof one) < 0)
		log_warn(NULL, "eventfd write: %s", strerror(errno));
}

static void forward_done(void *arg, int rc, const struct ks_reply *r)
{
	struct job *j = arg;

	j->via = "upstream";
	if (!rc && r->opcode != KS_OP_RESPONSE && r->opcode != KS_OP_ERROR)
		rc = CDNI_EUPSTREAM;
	if (rc) {
		j->res.err = rc;
		j->res.wire_err = ks_err_to_wire(rc);
		j->fatal = ks_core_write_error(&j->resp, j->res.id, rc) != 0;
	} else {
		if (r->opcode == KS_OP_ERROR) {
			j->res.wire_err = r->len == 1 ? r->payload[0] : KS_ERR_INTERNAL;
			j->res.err = ks_err_from_wire(j->res.wire_err);
		}
		j->fatal = ks_core_write_response(&j->resp, j->res.id, r->opcode, r->payload,
						  r->len) != 0;
	}
	done_push(j->srv, j);
}

static void run_job(struct ks_server *s, struct job *j)
{
	int rc = ks_core_handle(s->core, &j->conn->peer, j->frame, j->len, &j->resp, &j->res);

	if (!rc && j->res.forward) {
		struct ks_msg m = j->res.msg;
		atomic_fetch_add_explicit(&s->metrics->forwarded, 1, RLX);
		if (ks_client_submit(s->upstream, &m, (int)s->conf->upstream.timeout_ms,
				     forward_done, j) == 0)
			return; /* forward_done finishes it */
		j->res.forward = 0;
		j->res.err = CDNI_ENOMEM;
		j->res.wire_err = ks_err_to_wire(CDNI_ENOMEM);
		rc = ks_core_write_error(&j->resp, j->res.id, CDNI_ENOMEM);
	}
	j->fatal = rc != 0;
	done_push(s, j);
}

static void *worker_main(void *arg)
{
	struct ks_server *s = arg;
	struct job *j;

	for (;;) {
		pthread_mutex_lock(&s->qlock);
		while (!s->q.head && !s->qstop)
			pthread_cond_wait(&s->qcv, &s->qlock);
		j = s->q.head;
		if (j) {
			s->q.head = j->next;
			if (!s->q.head)
				s->q.tail = NULL;
		}
		pthread_mutex_unlock(&s->qlock);
		if (!j)
			return NULL;
		run_job(s, j);
	}
}

/* ---- metrics listener ---- */

static enum MHD_Result metrics_handler(void *cls, struct MHD_Connection *mc, const char *url,
				       const char *method, const char *version,
				       const char *upload, size_t *upload_len, void **state)
{
	struct ks_server *s = cls;
	struct MHD_Response *r;
	struct buf b;
	enum MHD_Result ret;

	(void)version, (void)upload, (void)upload_len, (void)state;
	if (strcmp(url, "/metrics") != 0)
		return httpd_respond_text(mc, MHD_HTTP_NOT_FOUND, "not found: try /metrics");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return httpd_respond_text(mc, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics");
	buf_init(&b, 0);
	ks_metrics_render(s->metrics, &b);
	if (b.err) {
		buf_free(&b);
		return httpd_respond_text(mc, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	r = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		buf_free(&b);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(mc, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- setup and teardown ---- */

static int make_tls(struct ks_server *s, char *err, size_t errlen)
{
	const struct ks_tls_conf *t = &s->conf->tls;
	static const unsigned char sid[] = "cdni-keyserver";

	s->ctx = tls_server_ctx(t->cert, t->key, t->client_ca, err, errlen);
	if (!s->ctx)
		return CDNI_ECONFIG;
	SSL_CTX_set_min_proto_version(s->ctx, ks_tls_version(t->min_version));
	SSL_CTX_set_max_proto_version(s->ctx, ks_tls_version(t->max_version));
	SSL_CTX_set_session_id_context(s->ctx, sid, sizeof sid - 1);
	return 0;
}

static int load_keys(struct ks_server *s, char *err, size_t errlen)
{
	struct ks_keystore *ks;
	int rc;

	if (!s->conf->keys_dir) {
		ks_core_set_keys(s->core, ks_keystore_new());
		return 0;
	}
	if ((rc = ks_keystore_load_dir(s->conf->keys_dir, &ks, err, errlen)))
		return rc;
	atomic_store(&s->metrics->keys, (long long)ks_keystore_count(ks));
	ks_core_set_keys(s->core, ks);
	return 0;
}

int ks_server_new(const struct ks_server_conf *conf, struct ks_server **out, char *err,
		  size_t errlen)
{
	struct ks_server *s = calloc(1, sizeof *s);
	struct ks_policy_hook hook;
	int rc = CDNI_ENOMEM;

	if (!s || !(s->metrics = calloc(1, sizeof *s->metrics)))
		goto nomem;
	s->conf = conf;
	s->lfd = s->epfd = s->evfd = -1;
	s->max_pending = (unsigned)conf->max_pending;
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcv, NULL);
	pthread_mutex_init(&s->dlock, NULL);
	buf_init(&s->audit_buf, 0);
	if ((rc = ks_policy_new(conf->policy.v, conf->policy.n, "policy", &s->policy, err, errlen)))
		goto fail;
	hook = ks_policy_hook_of(s->policy);
	if (!(s->core = ks_core_new(&hook, conf->upstream.servers.n > 0)))
		goto nomem;
	if ((rc = make_tls(s, err, errlen)) || (rc = load_keys(s, err, errlen)))
		goto fail;
	if (conf->upstream.servers.n &&
	    (rc = ks_client_new(&conf->upstream, &s->upstream, err, errlen)))
		goto fail;
	*out = s;
	return 0;
nomem:
	rc = CDNI_ENOMEM;
	snprintf(err, errlen, "out of memory");
fail:
	ks_server_free(s);
	return rc;
}

static int bind_listener(struct ks_server *s, char *bound, size_t blen, char *err,
			 size_t errlen)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	const char *a = s->conf->listen.address;
	socklen_t sl;
	int one = 1, v6 = strchr(a, ':') != NULL;
	char ip[INET6_ADDRSTRLEN];

	s4->sin_family = v6 ? AF_INET6 : AF_INET;
	if (v6 ? inet_pton(AF_INET6, a, &s6->sin6_addr) != 1 : inet_pton(AF_INET, a, &s4->sin_addr) != 1)
		goto bad;
	if (v6)
		s6->sin6_port = htons((uint16_t)s->conf->listen.port);
	else
		s4->sin_port = htons((uint16_t)s->conf->listen.port);
	sl = v6 ? sizeof *s6 : sizeof *s4;
	s->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		goto bad;
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s->lfd, (struct sockaddr *)&ss, sl) || listen(s->lfd, 1024) ||
	    getsockname(s->lfd, (struct sockaddr *)&ss, &sl))
		goto bad;
	inet_ntop(ss.ss_family, v6 ? (void *)&s6->sin6_addr : (void *)&s4->sin_addr, ip, sizeof ip);
	snprintf(bound, blen, v6 ? "[%s]:%u" : "%s:%u", ip,
		 ntohs(v6 ? s6->sin6_port : s4->sin_port));
	return 0;
bad:
	snprintf(err, errlen, "listen: cannot listen on %s port %lld: %s", a,
		 s->conf->listen.port, strerror(errno));
	return CDNI_ECONFIG;
}

static int start_metrics(struct ks_server *s, char *bound, size_t blen, char *err,
			 size_t errlen)
{
	struct listen_conf lc = s->conf->metrics;
	struct httpd_opts o = { .handler = metrics_handler, .handler_cls = s, .threads = 0,
				.timeout_s = 10 };

	lc.name = lc.name ? lc.name : (char *)(uintptr_t)"metrics";
	lc.tls = false;
	if (httpd_start(&s->httpd, &lc, &o, err, errlen))
		return CDNI_ECONFIG;
	s->httpd_on = 1;
	snprintf(bound, blen, "%s=%s", s->httpd.name, s->httpd.bound);
	return 0;
}

static int start_threads(struct ks_server *s)
{
	long n = s->conf->workers ? s->conf->workers : sysconf(_SC_NPROCESSORS_ONLN);

	s->workers = calloc((size_t)(n > 0 ? n : 1), sizeof *s->workers);
	if (!s->workers)
		return CDNI_ENOMEM;
	for (long i = 0; i < (n > 0 ? n : 1); i++) {
		if (pthread_create(&s->workers[i], NULL, worker_main, s))
			return CDNI_ENOMEM;
		s->nworkers++;
	}
	if (pthread_create(&s->io, NULL, io_main, s))
		return CDNI_ENOMEM;
	s->io_started = 1;
	return 0;
}

static int open_audit(struct ks_server *s, char *err, size_t errlen)
{
	const char *path = s->conf->access_log;

	if (path && !*path)
		return 0;
	if (access_log_open(&s->audit, path)) {
		snprintf(err, errlen, "access_log: cannot open %s: %s", path, strerror(errno));
		return CDNI_ECONFIG;
	}
	s->audit_on = 1;
	return 0;
}

int ks_server_start(struct ks_server *s, char *ready, size_t rlen, char *err, size_t errlen)
{
	struct epoll_event el = { .events = EPOLLIN, .data.ptr = &s->lfd };
	struct epoll_event ee = { .events = EPOLLIN, .data.ptr = &s->evfd };
	char kb[96], mb[128];
	int rc;

	if ((rc = open_audit(s, err, errlen)) || (rc = bind_listener(s, kb, sizeof kb, err, errlen)))
		return rc;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->epfd < 0 || s->evfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &el) ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->evfd, &ee)) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		return CDNI_EIO;
	}
	if ((rc = start_metrics(s, mb, sizeof mb, err, errlen)))
		return rc;
	if ((rc = start_threads(s))) {
		snprintf(err, errlen, "cannot start threads");
		return rc;
	}
	snprintf(ready, rlen, "keyless=%s %s", kb, mb);
	log_info(NULL, "serving %zu keys with %zu workers%s%s", ks_server_key_count(s),
		 s->nworkers, s->upstream ? "; proxy to " : "",
		 s->upstream ? s->conf->upstream.servers.v[0] : "");
	return 0;
}

size_t ks_server_key_count(struct ks_server *s)
{
	struct ks_keystore *ks = ks_core_keys(s->core);
	size_t n = ks_keystore_count(ks);

	ks_keystore_unref(ks);
	return n;
}

int ks_server_reload(struct ks_server *s, char *err, size_t errlen)
{
	int rc;

	if (!s->conf->keys_dir)
		return 0;
	rc = load_keys(s, err, errlen);
	atomic_fetch_add(rc ? &s->metrics->reload_failures : &s->metrics->reloads, 1);
	if (!rc)
		log_info(NULL, "keys reloaded from %s: %zu keys", s->conf->keys_dir,
			 ks_server_key_count(s));
	return rc;
}

static void stop_threads(struct ks_server *s)
{
	uint64_t one = 1;

	if (s->io_started) {
		atomic_store(&s->stop, 1);
		if (write(s->evfd, &one, sizeof one) < 0)
			log_warn(NULL, "eventfd write: %s", strerror(errno));
		pthread_join(s->io, NULL);
	}
	/* workers finish the queue (forwarding included), then exit */
	pthread_mutex_lock(&s->qlock);
	s->qstop = 1;
	pthread_cond_broadcast(&s->qcv);
	pthread_mutex_unlock(&s->qlock);
	for (size_t i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	ks_client_free(s->upstream); /* forwarded jobs come back as failures */
	s->upstream = NULL;
}

static void drop_jobs(struct jobq *q)
{
	struct job *j;

	while ((j = q->head)) {
		q->head = j->next;
		conn_unref(j->conn);
		job_free(j);
	}
	q->tail = NULL;
}

void ks_server_free(struct ks_server *s)
{
	sigset_t old;

	if (!s)
		return;
	ks_sigpipe_block(&old);
	if (s->httpd_on)
		httpd_stop(&s->httpd);
	stop_threads(s);
	drop_jobs(&s->q);
	drop_jobs(&s->done);
	while (s->conns)
		conn_close(s, s->conns, "server stopping");
	if (s->audit_buf.len && s->audit_on)
		log_line(s->audit.f, "%.*s", (int)s->audit_buf.len - 1, s->audit_buf.data);
	buf_free(&s->audit_buf);
	if (s->audit_on)
		access_log_close(&s->audit);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->evfd >= 0)
		close(s->evfd);
	free(s->workers);
	ks_core_free(s->core);
	ks_policy_free(s->policy);
	SSL_CTX_free(s->ctx);
	pthread_mutex_destroy(&s->qlock);
	pthread_cond_destroy(&s->qcv);
	pthread_mutex_destroy(&s->dlock);
	free(s->metrics);
	free(s);
	ks_sigpipe_restore(&old);
}
