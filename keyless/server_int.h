/* cdni keyless — cdni-keyserver internals shared by server.c (setup,
 * metrics listener, reload) and server_io.c (the thread pool).
 *
 * Threads: a pool of N identical threads. Each one takes a job from the
 * shared queue and runs it (the private-key operation), or, when there is
 * none (and at least every few jobs), waits on the shared epoll set and
 * handles what comes: new connections, TLS handshakes, reading frames into
 * jobs. Connection sockets are registered once, edge-triggered; each
 * connection has a mutex, and a thread that finds it taken (an event, or a
 * finished answer) leaves its work on the connection for the holder, which
 * does it before letting go: nobody waits for a connection, and no epoll
 * registration changes while a connection lives.
 * Under load no thread sleeps between operations: reading, crypto and
 * writing happen in the same threads with no hand-off.
 *
 * A closed connection is freed only when no job refers to it and every pool
 * thread has started a new loop iteration since (epoch-based reclamation),
 * so an event that raced with the close never touches freed memory. */
#ifndef CDNI_KEYLESS_SERVER_INT_H
#define CDNI_KEYLESS_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "common/accesslog.h"
#include "common/buf.h"
#include "common/httpd.h"
#include "keyless/client.h"
#include "keyless/core.h"
#include "keyless/metrics.h"
#include "keyless/server.h"
#include "keyless/tconn.h"

struct sconn;

struct job {
	struct job *next;
	struct ks_server *srv;
	struct sconn *conn;
	long long t0;
	struct buf resp;
	struct ks_result res;
	const char *via;
	int fatal;   /* no answer could be made: close the connection */
	size_t len;
	uint8_t frame[];
};

struct jobq {
	struct job *head, *tail;
	size_t n;
};

struct sconn {
	pthread_mutex_t lock;
	atomic_int refs;            /* jobs (and completers) referring to it */
	_Atomic(struct job *) done; /* answers waiting for whoever holds the lock */
	atomic_uint evbits;         /* socket events waiting for whoever holds the lock */
	struct sconn *prev, *next;  /* open list, then zombie list */
	unsigned long long dead_epoch;
	struct ks_tconn t;
	struct ks_peer peer;
	int closed, paused, draining, close_after_flush, kill;
	unsigned pending;           /* requests read and not yet answered */
	unsigned busy;              /* of those, being worked on here (not upstream) */
	long long since_us, active_us;
	long long held_since;       /* oldest answer written to out but not sent */
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
	unsigned max_pending;
	int lfd, epfd, wakefd, stopfd;
	/* the pool */
	pthread_t *threads;
	size_t nthreads;     /* started */
	size_t nseen;        /* entries of seen (all the pool's threads) */
	atomic_ullong *seen; /* per thread: the epoch at its last loop start */
	atomic_ullong epoch;
	atomic_int stop, idle, wake_pending;
	atomic_llong next_scan_us, next_reap_us;
	pthread_mutex_t qlock;
	struct jobq q;
	pthread_mutex_t list_lock;
	struct sconn *conns, *zombies;
	size_t nconns;
	pthread_mutex_t audit_lock; /* for answers written outside the pool */
};

/* server_io.c */
int ks_io_start(struct ks_server *s);
/* Stop the pool, finish or drop every job, close and free every connection. */
void ks_io_stop(struct ks_server *s);

#endif
