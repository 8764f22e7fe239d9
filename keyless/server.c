/* cdni keyless — cdni-keyserver: setup and teardown, the metrics listener,
 * key reloads. The connections and the thread pool are in server_io.c. */
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
#include "keyless/server_int.h"
#include "keyless/tconn.h"

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
	s->lfd = s->epfd = s->wakefd = s->stopfd = -1;
	s->max_pending = (unsigned)conf->max_pending;
	ks_mutex_init(&s->qlock);
	ks_mutex_init(&s->list_lock);
	pthread_mutex_init(&s->audit_lock, NULL);
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
	if (httpd_start(&s->httpd, &lc, &o, err, errlen))
		return CDNI_ECONFIG;
	s->httpd_on = 1;
	snprintf(bound, blen, "%s=%s", s->httpd.name, s->httpd.bound);
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

static int make_epoll(struct ks_server *s, char *err, size_t errlen)
{
	struct epoll_event el = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = &s->lfd };
	struct epoll_event ew = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = &s->wakefd };
	struct epoll_event es = { .events = EPOLLIN, .data.ptr = &s->stopfd };

	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->epfd < 0 || s->wakefd < 0 || s->stopfd < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &el) ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wakefd, &ew) ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stopfd, &es)) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		return CDNI_EIO;
	}
	return 0;
}

int ks_server_start(struct ks_server *s, char *ready, size_t rlen, char *err, size_t errlen)
{
	char kb[96], mb[128];
	int rc;

	if ((rc = open_audit(s, err, errlen)) ||
	    (rc = bind_listener(s, kb, sizeof kb, err, errlen)) ||
	    (rc = make_epoll(s, err, errlen)) || (rc = start_metrics(s, mb, sizeof mb, err, errlen)))
		return rc;
	if ((rc = ks_io_start(s))) {
		snprintf(err, errlen, "cannot start threads");
		return rc;
	}
	snprintf(ready, rlen, "keyless=%s %s", kb, mb);
	log_info(NULL, "serving %zu keys with %zu threads%s%s", ks_server_key_count(s),
		 s->nthreads, s->upstream ? "; proxy to " : "",
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

void ks_server_free(struct ks_server *s)
{
	sigset_t old;

	if (!s)
		return;
	ks_sigpipe_block(&old);
	if (s->httpd_on)
		httpd_stop(&s->httpd);
	ks_io_stop(s);
	if (s->audit_on)
		access_log_close(&s->audit);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->wakefd >= 0)
		close(s->wakefd);
	if (s->stopfd >= 0)
		close(s->stopfd);
	free(s->threads);
	free(s->seen);
	ks_core_free(s->core);
	ks_policy_free(s->policy);
	SSL_CTX_free(s->ctx);
	pthread_mutex_destroy(&s->qlock);
	pthread_mutex_destroy(&s->list_lock);
	pthread_mutex_destroy(&s->audit_lock);
	free(s->metrics);
	free(s);
	ks_sigpipe_restore(&old);
}
