#include "common/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"

#define PEM_MAX (1 << 20)

const struct conf_item listen_conf_table[] = {
	CONF_STR("name", struct listen_conf, name, NULL, 0, "label in the readiness line"),
	CONF_STR("address", struct listen_conf, address, "127.0.0.1", 0, "numeric IPv4/IPv6 address"),
	CONF_INT("port", struct listen_conf, port, 0, 65535, 0, "TCP port; 0 picks a free one"),
	CONF_BOOL("tls", struct listen_conf, tls, false, "serve HTTPS"),
	CONF_STR("cert", struct listen_conf, cert, NULL, 0, "PEM certificate chain (tls)"),
	CONF_STR("key", struct listen_conf, key, NULL, 0, "PEM private key (tls)"),
	CONF_END
};

static int parse_addr(const char *address, unsigned short port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, address, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof *s4;
		return 0;
	}
	if (inet_pton(AF_INET6, address, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof *s6;
		return 0;
	}
	return CDNI_EINVAL;
}

int listen_conf_check(const struct listen_conf *lc, const char *path, char *err, size_t errlen)
{
	return listen_conf_check_ext(lc, path, false, err, errlen);
}

int listen_conf_check_ext(const struct listen_conf *lc, const char *path, bool external_key,
			  char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (parse_addr(lc->address, 0, &ss, &len)) {
		snprintf(err, errlen, "%s.address: '%s' is not a numeric IPv4 or IPv6 address", path,
			 lc->address);
		return CDNI_ECONFIG;
	}
	if (lc->tls && (!lc->cert || (!lc->key && !external_key))) {
		snprintf(err, errlen, "%s: tls needs both cert and key", path);
		return CDNI_ECONFIG;
	}
	return 0;
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char ctx[48];

	snprintf(ctx, sizeof ctx, "httpd=%s", (const char *)cls);
	if (LOG_WARN <= log_threshold)
		log_vmsg(LOG_WARN, ctx, fmt, ap);
}

static void describe_bound(struct httpd *h, const struct listen_conf *lc)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);

	h->port = di ? di->port : (unsigned short)lc->port;
	if (strchr(lc->address, ':'))
		snprintf(h->bound, sizeof h->bound, "[%s]:%u", lc->address, h->port);
	else
		snprintf(h->bound, sizeof h->bound, "%s:%u", lc->address, h->port);
}

static int load_pems(struct httpd *h, const struct listen_conf *lc, char *err, size_t errlen)
{
	if (file_read_all(lc->cert, PEM_MAX, &h->cert_pem, NULL)) {
		snprintf(err, errlen, "%s: cannot read certificate file", lc->cert);
		return CDNI_ECONFIG;
	}
	if (file_read_all(lc->key, PEM_MAX, &h->key_pem, NULL)) {
		snprintf(err, errlen, "%s: cannot read key file", lc->key);
		return CDNI_ECONFIG;
	}
	return 0;
}

static void wipe_pems(struct httpd *h)
{
	if (h->key_pem)
		OPENSSL_cleanse(h->key_pem, strlen(h->key_pem));
	free(h->key_pem);
	free(h->cert_pem);
	h->key_pem = h->cert_pem = NULL;
}

#define OPT(o, v, p) ((struct MHD_OptionItem){ (o), (intptr_t)(v), (p) })

/* Gather the libmicrohttpd options for one listener into opts (16 slots). */
static void build_options(struct MHD_OptionItem *opts, struct httpd *h,
			  const struct sockaddr_storage *ss, const struct httpd_opts *o)
{
	size_t n = 0;

	opts[n++] = OPT(MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, h->name);
	opts[n++] = OPT(MHD_OPTION_SOCK_ADDR, 0, (void *)(uintptr_t)ss);
	opts[n++] = OPT(MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s ? o->timeout_s : 30, NULL);
	opts[n++] = OPT(MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL);
	if (o->completed)
		opts[n++] = OPT(MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)o->completed, o->completed_cls);
	if (o->threads)
		opts[n++] = OPT(MHD_OPTION_THREAD_POOL_SIZE, o->threads, NULL);
	if (o->connection_limit)
		opts[n++] = OPT(MHD_OPTION_CONNECTION_LIMIT, o->connection_limit, NULL);
	if (h->tls && !h->key_pem) {
		void *cb;

		memcpy(&cb, &o->cert_callback, sizeof cb); /* a function as libmicrohttpd's pointer */
		opts[n++] = OPT(MHD_OPTION_HTTPS_CERT_CALLBACK2, 0, cb);
	} else if (h->tls) {
		opts[n++] = OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, h->cert_pem);
		opts[n++] = OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, h->key_pem);
	}
	if (h->tls) {
		opts[n++] = OPT(MHD_OPTION_HTTPS_PRIORITIES, 0,
				(void *)(uintptr_t)"NORMAL:-VERS-TLS1.0:-VERS-TLS1.1");
	}
	if (o->extra)
		opts[n++] = OPT(MHD_OPTION_ARRAY, 0, (void *)(uintptr_t)o->extra);
	opts[n] = OPT(MHD_OPTION_END, 0, NULL);
}

/* Accepted sockets inherit TCP_NODELAY from the listener (Linux). Without it
 * the TLS handshake pays Nagle's wait: GnuTLS writes a server flight in
 * several sends before libmicrohttpd sets TCP_NODELAY for the response, so
 * the later records wait for the first one's ACK (one more round trip per
 * flight: 2 RTT for a TLS 1.3 handshake instead of 1, measured on an
 * emulated link by scenarios/cases/keyless-ttfb.json). */
static void nodelay_listener(struct httpd *h)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_LISTEN_FD);
	int one = 1;

	if (info && setsockopt(info->listen_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
		log_warn(h->name, "TCP_NODELAY on the listener: %s", strerror(errno));
}

int httpd_start(struct httpd *h, const struct listen_conf *lc, const struct httpd_opts *o,
		char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct MHD_OptionItem opts[16];
	socklen_t sslen;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	memset(h, 0, sizeof *h);
	h->tls = lc->tls;
	snprintf(h->name, sizeof h->name, "%s", lc->name ? lc->name : lc->tls ? "https" : "http");
	if (parse_addr(lc->address, (unsigned short)lc->port, &ss, &sslen)) {
		snprintf(err, errlen, "listener %s: bad address '%s'", h->name, lc->address);
		return CDNI_ECONFIG;
	}
	if (lc->tls && !lc->key && !o->cert_callback) {
		snprintf(err, errlen, "listener %s: tls without a key needs an external key", h->name);
		return CDNI_ECONFIG;
	}
	if (lc->tls && lc->key && load_pems(h, lc, err, errlen))
		goto fail;
	flags |= o->threads ? MHD_USE_EPOLL : MHD_USE_THREAD_PER_CONNECTION;
	flags |= o->flags;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (lc->tls)
		flags |= MHD_USE_TLS;
	build_options(opts, h, &ss, o);
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, o->handler, o->handler_cls,
				MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen,
			 "listener %s: cannot listen on %s port %lld (in use, or bad TLS files?)",
			 h->name, lc->address, lc->port);
		goto fail;
	}
	nodelay_listener(h);
	describe_bound(h, lc);
	return 0;
fail:
	wipe_pems(h);
	return CDNI_ECONFIG;
}

void httpd_stop(struct httpd *h)
{
	if (h->d)
		MHD_stop_daemon(h->d);
	h->d = NULL;
	wipe_pems(h);
}

int httpd_start_all(struct httpd **out, const struct listen_conf *lcs, size_t n,
		    const struct httpd_opts *o, char *ready_line, size_t rlen, char *err,
		    size_t errlen)
{
	struct httpd *hs = calloc(n ? n : 1, sizeof *hs);
	size_t used = strlen(ready_line);

	if (!hs)
		return CDNI_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (httpd_start(&hs[i], &lcs[i], o, err, errlen)) {
			httpd_stop_all(hs, i);
			return CDNI_ECONFIG;
		}
		if (used < rlen)
			used += (size_t)snprintf(ready_line + used, rlen - used, "%s%s=%s",
						 used ? " " : "", hs[i].name, hs[i].bound);
	}
	*out = hs;
	return 0;
}

void httpd_stop_all(struct httpd *hs, size_t n)
{
	for (size_t i = 0; hs && i < n; i++)
		httpd_stop(&hs[i]);
	free(hs);
}

const char *httpd_peer(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
			inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
			port = ntohs(s4->sin_port);
		} else if (sa->sa_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
			port = ntohs(s6->sin6_port);
		}
	}
	snprintf(buf, len, "%s:%u", ip, port);
	return buf;
}

enum MHD_Result httpd_respond_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	char body[512];
	struct MHD_Response *r;
	enum MHD_Result ret;
	int n = snprintf(body, sizeof body, "%s\n", text);

	if (n < 0 || (size_t)n >= sizeof body)
		n = (int)sizeof body - 1;
	r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}
