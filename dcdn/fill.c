#include "dcdn/fill.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "common/upstream.h"

struct fill_job {
	struct fill_job *next, *prev;
	struct cache_obj *o;
	long long deadline_us; /* for waiting on a streamed-through window */
	char url[];
};

struct fillpool {
	struct fill_conf conf;
	char *host_hdr; /* "Host: ..." */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct fill_job *queue, *queue_tail; /* waiting */
	struct fill_job *active;             /* being fetched */
	pthread_t *threads;
	unsigned nthreads, idle;
	bool stopping;
	atomic_int cancel;
};

static int on_headers(void *cls, int status, const struct upstream_header *uh, size_t n)
{
	struct fill_job *j = cls;
	struct cache_hdr h[UPSTREAM_MAX_HEADERS];

	for (size_t i = 0; i < n && i < UPSTREAM_MAX_HEADERS; i++) {
		h[i].name = uh[i].name;
		h[i].value = uh[i].value;
	}
	return cache_obj_begin(j->o, status, h, n, now_us(), time(NULL));
}

static int on_data(void *cls, const void *data, size_t len)
{
	struct fill_job *j = cls;

	return cache_obj_append(j->o, data, len, j->deadline_us);
}

static void run_job(struct fillpool *p, struct fill_job *j)
{
	const char *hdrs[2] = { p->host_hdr, NULL };
	struct upstream_request r = {
		.url = j->url, .method = "GET", .headers = p->host_hdr ? hdrs : NULL,
		.ca_file = p->conf.ca_file, .connect_timeout_ms = p->conf.connect_timeout_ms,
		.timeout_ms = p->conf.timeout_ms, .cancel = &p->cancel,
	};
	struct upstream_callbacks cb = { on_headers, on_data, j };
	char err[256] = "";
	int rc;

	j->deadline_us = now_us() + p->conf.timeout_ms * 1000LL;
	rc = upstream_fetch(&r, &cb, err, sizeof err);
	if (rc == 0 && (rc = cache_obj_finish(j->o, now_us())) != 0)
		snprintf(err, sizeof err, "body shorter than Content-Length");
	/* log before failing the object: its waiters answer as soon as it fails */
	if (rc && rc != CDNI_ECLOSED)
		log_warn("fill", "%s: %s (%s)", j->url, cdni_strerror(rc), err);
	else
		log_debug("fill", "%s: %s", j->url, rc ? "abandoned" : "done");
	if (rc)
		cache_obj_fail(j->o, rc);
}

static void unlink_job(struct fill_job **head, struct fill_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		*head = j->next;
	if (j->next)
		j->next->prev = j->prev;
	j->next = j->prev = NULL;
}

static void push_front(struct fill_job **head, struct fill_job *j)
{
	j->prev = NULL;
	j->next = *head;
	if (*head)
		(*head)->prev = j;
	*head = j;
}

/* p->lock held: the next queued job, or NULL when stopping. */
static struct fill_job *next_job(struct fillpool *p)
{
	struct fill_job *j;

	p->idle++;
	while (!p->queue && !p->stopping)
		pthread_cond_wait(&p->cond, &p->lock);
	p->idle--;
	j = p->queue;
	if (!j)
		return NULL;
	p->queue = j->next;
	if (!p->queue)
		p->queue_tail = NULL;
	j->next = NULL;
	push_front(&p->active, j);
	return j;
}

static void *worker(void *arg)
{
	struct fillpool *p = arg;
	struct fill_job *j;

	pthread_mutex_lock(&p->lock);
	while ((j = next_job(p))) {
		pthread_mutex_unlock(&p->lock);
		run_job(p, j);
		pthread_mutex_lock(&p->lock);
		unlink_job(&p->active, j);
		cache_obj_unref(j->o);
		free(j);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int fillpool_new(const struct fill_conf *fc, struct fillpool **out)
{
	struct fillpool *p = calloc(1, sizeof *p);
	size_t hlen;

	if (!p)
		return CDNI_ENOMEM;
	p->conf = *fc;
	if (!p->conf.max_threads)
		p->conf.max_threads = 1;
	p->threads = calloc(p->conf.max_threads, sizeof *p->threads);
	if (fc->host && (hlen = strlen(fc->host) + 7) && (p->host_hdr = malloc(hlen)))
		snprintf(p->host_hdr, hlen, "Host: %s", fc->host);
	if (!p->threads || (fc->host && !p->host_hdr)) {
		free(p->threads);
		free(p->host_hdr);
		free(p);
		return CDNI_ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	atomic_init(&p->cancel, 0);
	*out = p;
	return 0;
}

/* p->lock held: add a worker when none is idle and the pool may grow. A
 * failure to start one is fine while another runs (the job waits). */
static int maybe_grow(struct fillpool *p)
{
	if (p->idle > 0 || p->nthreads >= p->conf.max_threads)
		return 0;
	if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) != 0)
		return p->nthreads ? 0 : CDNI_ENOMEM;
	p->nthreads++;
	return 0;
}

int fillpool_submit(struct fillpool *p, struct cache_obj *o, const char *url)
{
	size_t ulen = strlen(url);
	struct fill_job *j = calloc(1, sizeof *j + ulen + 1);
	int rc;

	if (!j)
		return CDNI_ENOMEM;
	memcpy(j->url, url, ulen + 1);
	j->o = o;
	pthread_mutex_lock(&p->lock);
	rc = p->stopping ? CDNI_ECLOSED : maybe_grow(p);
	if (rc == 0) {
		cache_obj_ref(o);
		if (p->queue_tail)
			p->queue_tail->next = j;
		else
			p->queue = j;
		p->queue_tail = j;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	if (rc)
		free(j);
	return rc;
}

void fillpool_stop(struct fillpool *p)
{
	struct fill_job *j, *next;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	atomic_store(&p->cancel, 1);
	for (j = p->queue; j; j = next) { /* never started */
		next = j->next;
		cache_obj_fail(j->o, CDNI_ECLOSED);
		cache_obj_unref(j->o);
		free(j);
	}
	p->queue = p->queue_tail = NULL;
	for (j = p->active; j; j = j->next) /* running: wake their readers now */
		cache_obj_fail(j->o, CDNI_ECLOSED);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	p->nthreads = 0;
}

void fillpool_free(struct fillpool *p)
{
	if (!p)
		return;
	fillpool_stop(p);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->threads);
	free(p->host_hdr);
	free(p);
}
