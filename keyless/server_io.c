/* cdni keyless — cdni-keyserver's thread pool: connections, jobs, answers.
 * See server_int.h for the model. Lock order: connection, then queue or
 * list; never the other way (the scanner only try-locks connections). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "keyless/server_int.h"

#define READ_MAX (KS_FRAME_MAX + 16384) /* input buffered per connection */
#define OUT_LIMIT (256 * 1024)          /* unsent answers before reading pauses */
#define FLUSH_AT (64 * 1024)            /* write at once past this much */
#define HOLD_US 1000                    /* or when the oldest answer held is this old */
#define HOLD_PENDING 16                 /* hold answers only for clients this deep */
#define POLL_EVERY 16                   /* jobs between looks at the sockets */
#define AUDIT_FLUSH (32 * 1024)
#define RLX memory_order_relaxed

/* What one pool thread keeps for itself. */
struct tstate {
	struct ks_server *s;
	size_t idx;
	struct ks_keycache kc;
	struct buf audit;
	long long audit_at;
	char ts[40];
	long long ts_ms;
};

static void conn_unlock(struct ks_server *s, struct sconn *c, struct tstate *ts);

/* ---- the job queue ---- */

static void jobq_push(struct jobq *q, struct job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
}

static struct job *jobq_pop(struct jobq *q)
{
	struct job *j = q->head;

	if (!j)
		return NULL;
	q->head = j->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	return j;
}

static void wake_one(struct ks_server *s)
{
	uint64_t one = 1;

	if (!atomic_exchange(&s->wake_pending, 1) && write(s->wakefd, &one, sizeof one) < 0)
		log_warn(NULL, "eventfd write: %s", strerror(errno));
}

/* Queue a batch; wake a sleeping thread when there is more than the pushing
 * thread will take itself. */
static void queue_push(struct ks_server *s, struct jobq *batch)
{
	size_t n;

	if (!batch->head)
		return;
	pthread_mutex_lock(&s->qlock);
	if (s->q.tail)
		s->q.tail->next = batch->head;
	else
		s->q.head = batch->head;
	s->q.tail = batch->tail;
	s->q.n += batch->n;
	n = s->q.n;
	pthread_mutex_unlock(&s->qlock);
	if (n >= 2 && atomic_load(&s->idle) > 0)
		wake_one(s);
}

static struct job *queue_pop(struct ks_server *s)
{
	struct job *j;
	size_t left;

	pthread_mutex_lock(&s->qlock);
	j = jobq_pop(&s->q);
	left = s->q.n;
	pthread_mutex_unlock(&s->qlock);
	if (j && left && atomic_load(&s->idle) > 0)
		wake_one(s);
	return j;
}

static int queue_empty(struct ks_server *s)
{
	int e;

	pthread_mutex_lock(&s->qlock);
	e = !s->q.head;
	pthread_mutex_unlock(&s->qlock);
	return e;
}

static void job_free(struct job *j)
{
	struct sconn *c = j->conn;

	buf_free_secure(&j->resp);
	OPENSSL_cleanse(j->frame, j->len);
	free(j);
	atomic_fetch_sub(&c->refs, 1);
}

/* ---- connections (called with c->lock held) ---- */

static void conn_close(struct ks_server *s, struct sconn *c, const char *why)
{
	if (c->closed)
		return;
	if (c->t.established)
		log_debug(c->peer.addr, "client %s: connection closed: %s", c->peer.cn, why);
	else
		log_info(c->peer.addr, "connection closed before the handshake finished: %s", why);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->t.fd, NULL);
	ks_tconn_free(&c->t, c->t.established);
	c->closed = 1;
	atomic_fetch_sub_explicit(&s->metrics->conns_open, 1, RLX);
	pthread_mutex_lock(&s->list_lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	c->dead_epoch = atomic_fetch_add(&s->epoch, 1);
	c->prev = NULL;
	c->next = s->zombies;
	s->zombies = c;
	pthread_mutex_unlock(&s->list_lock);
}

/* After any change: close the connection when it is over. */
static void conn_settle(struct ks_server *s, struct sconn *c)
{
	if (c->closed)
		return;
	if (c->kill)
		conn_close(s, c, "out of memory");
	else if (c->close_after_flush && !c->pending && !ks_tconn_unsent(&c->t))
		conn_close(s, c, "after the last answer");
}

static void conn_flush(struct ks_server *s, struct sconn *c)
{
	size_t before = ks_tconn_unsent(&c->t);

	if (c->closed || !before)
		return;
	if (ks_tconn_flush(&c->t) < 0)
		conn_close(s, c, "write error");
	else if (ks_tconn_unsent(&c->t) < before)
		c->active_us = now_us(); /* a client that stops reading is idle too */
}

static struct job *job_new(struct ks_server *s, struct sconn *c, const uint8_t *f, size_t len,
			   long long now)
{
	struct job *j = malloc(sizeof *j + len);

	if (!j)
		return NULL;
	memset(j, 0, sizeof *j);
	memcpy(j->frame, f, len);
	j->len = len;
	j->srv = s;
	j->conn = c;
	j->t0 = now;
	buf_init(&j->resp, 0);
	atomic_fetch_add(&c->refs, 1);
	c->pending++;
	c->busy++;
	atomic_fetch_add_explicit(&s->metrics->pending, 1, RLX);
	return j;
}

/* Turn whole frames in the input into jobs, while the bounds allow. */
static int take_frames(struct ks_server *s, struct sconn *c, struct jobq *batch, long long now)
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

/* Read and queue frames until the socket is dry or a bound is hit. At the end
 * of the stream (or on an error) what is in progress is still answered. */
static void conn_pump(struct ks_server *s, struct sconn *c, long long now)
{
	struct jobq batch = { 0 };
	int rc = 0;

	c->active_us = now;
	for (;;) {
		if (take_frames(s, c, &batch, now)) {
			c->kill = 1;
			break;
		}
		if (c->paused || c->draining || rc < 0)
			break;
		/* edge-triggered: read until the socket is dry (rc 0) */
		rc = ks_tconn_read(&c->t, READ_MAX);
		if (!rc && !has_frame(&c->t) && !ks_tconn_has_buffered(&c->t))
			break;
	}
	queue_push(s, &batch);
	if (rc >= 0)
		return;
	if (rc == CDNI_ECLOSED && ks_tconn_partial(&c->t))
		log_warn(c->peer.addr, "client %s: closed in the middle of a frame (%zu bytes)",
			 c->peer.cn, ks_tconn_partial(&c->t));
	else if (rc != CDNI_ECLOSED)
		log_info(c->peer.addr, "client %s: %s", c->peer.cn, cdni_strerror(rc));
	c->draining = 1;
	c->close_after_flush = 1;
}

static int conn_handshake(struct ks_server *s, struct sconn *c, long long now)
{
	char err[512];
	int rc = ks_tconn_handshake(&c->t, err, sizeof err);

	if (rc == CDNI_EBUSY)
		return rc;
	if (rc) {
		atomic_fetch_add_explicit(&s->metrics->handshake_failures, 1, RLX);
		conn_close(s, c, err);
		return rc;
	}
	if (ks_tconn_peer(&c->t, &c->peer)) {
		conn_close(s, c, "no usable client certificate");
		return CDNI_ETLS;
	}
	c->active_us = now;
	log_debug(c->peer.addr, "client %s: connected (%s, %s)", c->peer.cn,
		  SSL_get_version(c->t.ssl), SSL_get_cipher_name(c->t.ssl));
	return 0;
}

/* Socket events (c->lock held). */
static void handle_events(struct ks_server *s, struct sconn *c, uint32_t ev)
{
	long long now = now_us();

	if (c->closed || c->kill) {
		conn_settle(s, c);
		return;
	}
	if (!c->t.established) {
		if (conn_handshake(s, c, now))
			return;
		ev |= EPOLLIN; /* requests may have come with the handshake's end */
	}
	if ((ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) || c->t.read_wants_write)
		conn_pump(s, c, now);
	if ((ev & EPOLLOUT) || c->t.write_wants_read)
		conn_flush(s, c);
	conn_settle(s, c);
}

static void conn_event(struct ks_server *s, struct sconn *c, uint32_t ev, struct tstate *ts)
{
	atomic_fetch_or(&c->evbits, ev);
	if (pthread_mutex_trylock(&c->lock) == 0)
		conn_unlock(s, c, ts); /* else the holder handles them */
}

static void accept_one(struct ks_server *s, int fd, long long now)
{
	struct sconn *c = calloc(1, sizeof *c);
	struct epoll_event e = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	int one = 1;

	if (!c || ks_tconn_init(&c->t, fd, s->ctx, 1)) {
		if (c)
			ks_tconn_free(&c->t, 0);
		else
			close(fd);
		free(c);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	ks_mutex_init(&c->lock);
	c->since_us = c->active_us = now;
	ks_tconn_peer(&c->t, &c->peer); /* the address only, before the handshake */
	pthread_mutex_lock(&s->list_lock);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	pthread_mutex_unlock(&s->list_lock);
	atomic_fetch_add_explicit(&s->metrics->conns_open, 1, RLX);
	atomic_fetch_add_explicit(&s->metrics->conns_total, 1, RLX);
	e.data.ptr = c;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e)) {
		pthread_mutex_lock(&c->lock);
		conn_close(s, c, "epoll_ctl failed");
		pthread_mutex_unlock(&c->lock); /* no job can be done yet */
	}
}

static void accept_all(struct ks_server *s, long long now)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = &s->lfd };

	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		size_t n;
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn(NULL, "accept: %s", strerror(errno));
			break;
		}
		pthread_mutex_lock(&s->list_lock);
		n = s->nconns;
		pthread_mutex_unlock(&s->list_lock);
		if (n >= (size_t)s->conf->max_connections) {
			atomic_fetch_add_explicit(&s->metrics->conns_refused, 1, RLX);
			log_warn(NULL, "connection limit (%lld) reached: connection refused",
				 s->conf->max_connections);
			close(fd);
			continue;
		}
		accept_one(s, fd, now);
	}
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->lfd, &e);
}

/* ---- answers ---- */

static void audit_ts(struct tstate *ts)
{
	long long ms = now_us() / 1000;

	if (ms != ts->ts_ms) { /* at most once a millisecond */
		ks_timestamp(ts->ts, sizeof ts->ts);
		ts->ts_ms = ms;
	}
}

static void audit_flush(struct ks_server *s, struct buf *b)
{
	if (!b->len)
		return;
	log_line(s->audit.f, "%.*s", (int)b->len - 1, b->data);
	buf_reset(b);
}

static void account(struct ks_server *s, struct job *j, struct tstate *ts, long long now)
{
	long long dur = now - j->t0;

	ks_metrics_op(s->metrics, j->res.opcode, j->res.wire_err, dur);
	if (j->res.err && j->res.wire_err != KS_ERR_KEY_NOT_FOUND)
		log_debug(j->conn->peer.addr, "client %s: request %u (%s): %s", j->conn->peer.cn,
			  j->res.id, ks_opinfo(j->res.opcode)->name, cdni_strerror(j->res.err));
	if (!s->audit_on)
		return;
	if (ts) {
		audit_ts(ts);
		ks_audit_line(&ts->audit, ts->ts, &j->conn->peer, &j->res, j->via, dur);
		return;
	}
	{
		struct buf b;
		char t[40];
		buf_init(&b, 0);
		ks_timestamp(t, sizeof t);
		ks_audit_line(&b, t, &j->conn->peer, &j->res, j->via, dur);
		audit_flush(s, &b);
		buf_free(&b);
	}
}

/* One finished job's answer onto its connection (c->lock held). */
static void answer_locked(struct ks_server *s, struct sconn *c, struct job *j,
			  struct tstate *ts, long long now)
{
	c->pending--;
	if (!j->via)
		c->busy--;
	atomic_fetch_sub_explicit(&s->metrics->pending, 1, RLX);
	if (c->closed)
		return;
	if (j->fatal) {
		conn_close(s, c, "cannot answer (out of memory)");
		return;
	}
	if (!ks_tconn_unsent(&c->t))
		c->held_since = now;
	buf_append(&c->t.out, j->resp.data, j->resp.len);
	if (j->res.close)
		c->close_after_flush = 1;
	account(s, j, ts, now);
}

/* Answer a list of finished jobs (c->lock held); they go on *freeq, to be
 * freed after the lock is released (their references keep c alive). */
static void drain(struct ks_server *s, struct sconn *c, struct job *list, struct tstate *ts,
		  struct job **freeq)
{
	struct job *fifo = NULL, *j;
	long long now = now_us();

	while ((j = list)) { /* the stack is newest first */
		list = j->next;
		j->next = fifo;
		fifo = j;
	}
	while ((j = fifo)) {
		fifo = j->next;
		answer_locked(s, c, j, ts, now);
		j->next = *freeq;
		*freeq = j;
	}
	if (c->closed)
		return;
	/* a client with few requests in flight gets each answer at once; a
	 * deeply pipelining one gets them together: by the last one in progress,
	 * or once enough are held, or once the oldest has waited HOLD_US */
	if (!c->busy || c->pending < HOLD_PENDING || ks_tconn_unsent(&c->t) >= FLUSH_AT ||
	    c->close_after_flush || now - c->held_since >= HOLD_US)
		conn_flush(s, c);
	if (c->paused && !c->closed)
		conn_pump(s, c, now);
	conn_settle(s, c);
}

/* Release c->lock, doing first whatever was left for the holder: socket
 * events and finished answers that arrived while the lock was taken. */
static void conn_unlock(struct ks_server *s, struct sconn *c, struct tstate *ts)
{
	struct job *freeq = NULL, *j;

	for (;;) {
		uint32_t ev = atomic_exchange(&c->evbits, 0);
		struct job *list = atomic_exchange(&c->done, NULL);
		if (ev)
			handle_events(s, c, ev);
		if (list)
			drain(s, c, list, ts, &freeq);
		if (ev || list)
			continue;
		pthread_mutex_unlock(&c->lock);
		if ((!atomic_load(&c->done) && !atomic_load(&c->evbits)) ||
		    pthread_mutex_trylock(&c->lock))
			break;
	}
	while ((j = freeq)) {
		freeq = j->next;
		job_free(j);
	}
}

/* A job is finished: its answer goes out now, or with the lock holder's. ts
 * is NULL outside the pool (answers from upstream). */
static void complete(struct ks_server *s, struct job *j, struct tstate *ts)
{
	struct sconn *c = j->conn;
	struct job *head = atomic_load(&c->done);

	atomic_fetch_add(&c->refs, 1); /* c must outlive this call, j may not */
	do
		j->next = head;
	while (!atomic_compare_exchange_weak(&c->done, &head, j));
	if (pthread_mutex_trylock(&c->lock) == 0)
		conn_unlock(s, c, ts);
	atomic_fetch_sub(&c->refs, 1);
}

static void forward_done(void *arg, int rc, const struct ks_reply *r)
{
	struct job *j = arg;

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
	complete(j->srv, j, NULL);
}

/* Hand a job to the upstream key servers; 0 when they have it. */
static int forward(struct ks_server *s, struct job *j)
{
	struct sconn *c = j->conn;
	struct ks_msg m = j->res.msg;

	atomic_fetch_add_explicit(&s->metrics->forwarded, 1, RLX);
	j->via = "upstream";
	pthread_mutex_lock(&c->lock);
	c->busy--; /* no longer worked on here: answers behind it need not wait */
	if (!c->busy)
		conn_flush(s, c);
	conn_unlock(s, c, NULL);
	return ks_client_submit(s->upstream, &m, (int)s->conf->upstream.timeout_ms, forward_done,
				j);
}

static void run_job(struct ks_server *s, struct job *j, struct tstate *ts)
{
	int rc = ks_core_handle_kc(s->core, &ts->kc, &j->conn->peer, j->frame, j->len, &j->resp,
				   &j->res);

	if (!rc && j->res.forward) {
		if (forward(s, j) == 0)
			return; /* forward_done completes it */
		j->res.forward = 0;
		j->res.err = CDNI_ENOMEM;
		j->res.wire_err = ks_err_to_wire(CDNI_ENOMEM);
		rc = ks_core_write_error(&j->resp, j->res.id, CDNI_ENOMEM);
	}
	j->fatal = rc != 0;
	complete(s, j, ts);
}

/* ---- housekeeping ---- */

static int timed_out(struct ks_server *s, struct sconn *c, long long now)
{
	long long idle = s->conf->idle_timeout * 1000000LL;
	long long hs = s->conf->handshake_timeout * 1000000LL;

	if (c->closed)
		return 0;
	if (!c->t.established && now - c->since_us > hs) {
		atomic_fetch_add_explicit(&s->metrics->handshake_failures, 1, RLX);
		return 1;
	}
	if (c->t.established && !c->pending && now - c->active_us > idle) {
		atomic_fetch_add_explicit(&s->metrics->idle_closed, 1, RLX);
		return 2;
	}
	return 0;
}

/* Close connections whose handshake or idle time ran out. A connection seen
 * here cannot be freed before this thread's next loop (epochs), so the list
 * lock need not be held while closing. */
static void scan_timeouts(struct ks_server *s, struct tstate *ts, long long now)
{
	struct sconn *late[256];
	int why[256];
	size_t n = 0;

	pthread_mutex_lock(&s->list_lock);
	for (struct sconn *c = s->conns; c && n < 256; c = c->next) {
		if (pthread_mutex_trylock(&c->lock))
			continue;
		why[n] = timed_out(s, c, now);
		pthread_mutex_unlock(&c->lock);
		/* work left for the holder while we held it is done below */
		if (why[n] || atomic_load(&c->done) || atomic_load(&c->evbits))
			late[n++] = c;
	}
	pthread_mutex_unlock(&s->list_lock);
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&late[i]->lock);
		if (why[i])
			conn_close(s, late[i], why[i] == 1 ? "handshake timed out" : "idle");
		conn_unlock(s, late[i], ts);
	}
}

static unsigned long long min_seen(struct ks_server *s)
{
	unsigned long long m = ~0ULL;

	for (size_t i = 0; i < s->nseen; i++) {
		unsigned long long v = atomic_load(&s->seen[i]);
		m = v < m ? v : m;
	}
	return m;
}

/* Free closed connections nothing can reach any more. */
static void reap(struct ks_server *s, int all)
{
	struct sconn **pp, *c;
	unsigned long long safe = all ? ~0ULL : min_seen(s);

	pthread_mutex_lock(&s->list_lock);
	for (pp = &s->zombies; (c = *pp);) {
		if (c->dead_epoch < safe && atomic_load(&c->refs) == 0) {
			*pp = c->next;
			pthread_mutex_destroy(&c->lock);
			free(c);
		} else {
			pp = &c->next;
		}
	}
	pthread_mutex_unlock(&s->list_lock);
}

static int due(atomic_llong *when, long long now, long long period)
{
	long long w = atomic_load(when);

	return now >= w && atomic_compare_exchange_strong(when, &w, now + period);
}

static void housekeeping(struct ks_server *s, struct tstate *ts, long long now)
{
	if (due(&s->next_scan_us, now, 1000000))
		scan_timeouts(s, ts, now);
	ks_keycache_get(s->core, &ts->kc); /* let go of a replaced key store */
	if (due(&s->next_reap_us, now, 100000))
		reap(s, 0);
	if (ts->audit.len && (ts->audit.len >= AUDIT_FLUSH || now - ts->audit_at > 200000)) {
		audit_flush(s, &ts->audit);
		ts->audit_at = now;
	}
}

/* ---- the pool ---- */

static void dispatch(struct ks_server *s, void *p, uint32_t ev, long long now,
		     struct tstate *ts)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = &s->wakefd };
	uint64_t v;

	if (p == &s->lfd) {
		accept_all(s, now);
	} else if (p == &s->wakefd) {
		if (read(s->wakefd, &v, sizeof v) < 0 && errno != EAGAIN)
			log_warn(NULL, "eventfd read: %s", strerror(errno));
		atomic_store(&s->wake_pending, 0);
		epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->wakefd, &e);
	} else if (p != &s->stopfd) {
		conn_event(s, p, ev, ts);
	}
}

static void poll_once(struct ks_server *s, struct tstate *ts, int wait)
{
	struct epoll_event evs[8];
	int n, timeout = 0;

	if (wait) {
		atomic_fetch_add(&s->idle, 1);
		if (queue_empty(s)) {
			timeout = 100;
			if (ts->audit.len)
				audit_flush(s, &ts->audit);
		}
	}
	n = epoll_wait(s->epfd, evs, 8, timeout);
	if (wait)
		atomic_fetch_sub(&s->idle, 1);
	for (int i = 0; i < n; i++)
		dispatch(s, evs[i].data.ptr, evs[i].events, now_us(), ts);
}

static void *pool_main(void *arg)
{
	struct tstate *ts = arg;
	struct ks_server *s = ts->s;
	unsigned since_poll = 0;
	sigset_t old;

	ks_sigpipe_block(&old);
	while (!atomic_load(&s->stop)) {
		struct job *j;
		atomic_store(&s->seen[ts->idx], atomic_load(&s->epoch));
		if (since_poll < POLL_EVERY && (j = queue_pop(s))) {
			run_job(s, j, ts);
			since_poll++;
			continue;
		}
		poll_once(s, ts, since_poll < POLL_EVERY);
		since_poll = 0;
		housekeeping(s, ts, now_us());
	}
	audit_flush(s, &ts->audit);
	buf_free(&ts->audit);
	ks_keycache_drop(&ts->kc);
	free(ts);
	return NULL;
}

int ks_io_start(struct ks_server *s)
{
	long n = s->conf->workers ? s->conf->workers : sysconf(_SC_NPROCESSORS_ONLN);

	n = n > 0 ? n : 1;
	s->threads = calloc((size_t)n, sizeof *s->threads);
	s->seen = calloc((size_t)n, sizeof *s->seen);
	if (!s->threads || !s->seen)
		return CDNI_ENOMEM;
	s->nseen = (size_t)n; /* before any thread looks at it */
	for (long i = 0; i < n; i++) {
		struct tstate *ts = calloc(1, sizeof *ts);
		if (!ts)
			return CDNI_ENOMEM;
		ts->s = s;
		ts->idx = (size_t)i;
		buf_init(&ts->audit, 0);
		if (pthread_create(&s->threads[i], NULL, pool_main, ts)) {
			free(ts);
			return CDNI_ENOMEM;
		}
		s->nthreads++;
	}
	return 0;
}

void ks_io_stop(struct ks_server *s)
{
	uint64_t one = 1;
	struct job *j;

	atomic_store(&s->stop, 1);
	if (s->stopfd >= 0 && write(s->stopfd, &one, sizeof one) < 0)
		log_warn(NULL, "eventfd write: %s", strerror(errno));
	for (size_t i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	s->nthreads = 0;
	ks_client_free(s->upstream); /* forwarded jobs come back as failures */
	s->upstream = NULL;
	while ((j = jobq_pop(&s->q))) {
		j->conn->pending--;
		job_free(j);
	}
	while (s->conns) {
		struct sconn *c = s->conns;
		pthread_mutex_lock(&c->lock);
		conn_close(s, c, "server stopping");
		pthread_mutex_unlock(&c->lock);
	}
	reap(s, 1);
}
