/* cdni-ucdn — the libmicrohttpd glue: per-connection state, the raw request
 * target, routing decisions turned into responses, the access log.
 *
 * libmicrohttpd hands the access handler a percent-decoded path and a parsed
 * query; a Location must carry what the client sent, re-escaped. The URI log
 * callback sees the request target before decoding, so it copies it into the
 * connection's state, which it returns as the request's context. */
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/http.h"
#include "common/log.h"
#include "ucdn/front.h"

static const char *status_body(int status)
{
	switch (status) {
	case 301: return "301 Moved Permanently\n";
	case 302: return "302 Found\n";
	case 307: return "307 Temporary Redirect\n";
	case 308: return "308 Permanent Redirect\n";
	default: return "\n";
	}
}

enum MHD_Result front_respond(struct MHD_Connection *c, int status, const char *body,
			      const char *const *headers)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	for (size_t i = 0; headers && headers[i]; i += 2)
		if (headers[i + 1])
			MHD_add_response_header(r, headers[i], headers[i + 1]);
	ret = ucdn_queue(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_redirect(struct MHD_Connection *c, const struct route_decision *d,
					const char *method, struct outcome *o)
{
	const char *h[] = { MHD_HTTP_HEADER_LOCATION, d->location,
			    MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8",
			    MHD_HTTP_HEADER_CACHE_CONTROL, d->cache_control, NULL };
	const char *body = status_body(d->status);

	o->status = d->status;
	o->location = d->location;
	o->bytes = strcmp(method, "HEAD") ? (long long)strlen(body) : 0;
	return front_respond(c, d->status, body, h);
}

/* 4xx with "STATUS Reason: why" as the body (built on the stack; MHD copies
 * it), Allow for 405. */
static enum MHD_Result respond_refuse(struct MHD_Connection *c, const struct route_decision *d,
				      const char *method, struct outcome *o)
{
	const char *h[] = { MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8",
			    MHD_HTTP_HEADER_ALLOW, d->allow,
			    MHD_HTTP_HEADER_CACHE_CONTROL, d->cache_control, NULL };
	struct MHD_Response *r;
	enum MHD_Result ret;
	char body[384];
	int n = snprintf(body, sizeof body, "%d %s: %s\n", d->status, http_reason(d->status),
			 d->reason ? d->reason : "refused");

	n = n < (int)sizeof body ? n : (int)sizeof body - 1;
	o->status = d->status;
	o->note = d->reason;
	o->bytes = strcmp(method, "HEAD") ? n : 0;
	r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	for (size_t i = 0; h[i]; i += 2)
		if (h[i + 1])
			MHD_add_response_header(r, h[i], h[i + 1]);
	ret = ucdn_queue(c, (unsigned)d->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_options(struct MHD_Connection *c, const struct route_decision *d,
				       struct outcome *o)
{
	const char *h[] = { MHD_HTTP_HEADER_ALLOW, d->allow, NULL };

	o->status = d->status;
	return front_respond(c, d->status, "", h);
}

/* "ip" of "ip:port" (an IPv6 peer is "::1:port"). */
static const char *peer_ip(const char *peer, char *ip, size_t len)
{
	const char *colon = strrchr(peer, ':');

	snprintf(ip, len, "%.*s", (int)(colon ? (size_t)(colon - peer) : strlen(peer)), peer);
	return ip;
}

/* RFC 9246 (ucdn/sign.c): verify the incoming token, sign the Location or
 * strip the token from the origin target; a refusal answers at once. */
static enum MHD_Result handle_signed(struct ucdn *u, struct conn *k, struct MHD_Connection *c,
				     const char *method, const char *host,
				     struct route_decision *d, struct outcome *o)
{
	char ip[64];
	struct ucdn_sign_req rq = {
		.scheme = k->scheme, .host = host, .target = k->raw,
		.client_ip = peer_ip(k->peer, ip, sizeof ip), .now = (long long)time(NULL),
		.cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE),
	};
	int rc;

	rc = d->kind == ROUTE_REDIRECT
		     ? ucdn_sign_redirect(u->sign, &rq, d->rule, d->location, &k->sres)
		     : ucdn_sign_origin(u->sign, &rq, d->location, &k->sres);
	if (rc) {
		o->status = 500;
		o->note = "out of memory";
		return httpd_respond_text(c, 500, "500 Internal Server Error: out of memory");
	}
	if (k->sres.status) {
		d->status = k->sres.status;
		d->reason = k->sres.note;
		d->allow = NULL;
		return respond_refuse(c, d, method, o);
	}
	if (d->kind == ROUTE_ORIGIN)
		return proxy_serve(u, k, c, method, k->sres.target ? k->sres.target : d->location, o);
	if (k->sres.location)
		d->location = k->sres.location;
	return respond_redirect(c, d, method, o);
}

/* A rule with "ask": the dCDNs' answer replaces the Location; without one
 * the rule's own target stays, or the origin serves ("fallback"). */
static void ask_redirect(struct ucdn *u, struct conn *k, const struct route_request *rq,
			 struct route_decision *d, struct outcome *o)
{
	const struct route_rule_conf *rules = u->cf->route.rules.v;
	char ip[64];
	struct ask_req ar = { .scheme = k->scheme, .host = rq->host, .target = k->raw,
			      .target_len = k->raw_len, .method = rq->method,
			      .version = rq->version, .client_ip = peer_ip(k->peer, ip, sizeof ip),
			      .now = (long long)time(NULL) };
	struct ask_answer ans;

	if (!u->ask || d->rule < 0 || !rules[d->rule].ask)
		return;
	if (ask_location(u->ask, &ar, &k->out, &ans) == 0) {
		d->location = k->out.data;
		d->location_len = k->out.len;
		d->status = ans.status;
		snprintf(k->asknote, sizeof k->asknote, "rri %s %s", ans.dcdn,
			 ans.cached ? "cached" : "asked");
	} else if (ask_fallback(u->ask) == ASK_FALLBACK_ORIGIN) {
		buf_reset(&k->out);
		route_escape_target(&k->out, rq->path, rq->path_len, rq->query, rq->query_len);
		d->kind = ROUTE_ORIGIN;
		d->location = k->out.data;
		d->status = 0;
		snprintf(k->asknote, sizeof k->asknote, "rri: no dCDN answered, origin serves");
	} else {
		snprintf(k->asknote, sizeof k->asknote, "rri: no dCDN answered, rule target");
	}
	o->note = k->asknote;
}

static enum MHD_Result handle(struct ucdn *u, struct conn *k, struct MHD_Connection *c,
			      const char *method, const char *version, const char *host,
			      struct outcome *o)
{
	struct route_request rq = { .method = method, .version = version, .scheme = k->scheme,
				    .host = host, .host_len = host ? strlen(host) : 0,
				    .client = k->peer };
	struct route_decision d = { .kind = ROUTE_REFUSE, .status = 414,
				    .reason = "request target too long" };

	if (!k->raw_long && ucdn_api_match(u, k->raw, k->raw_len))
		return ucdn_api_serve(u, k, c, method, host, o); /* API mode (ucdn/api.c) */
	route_request_target(&rq, k->raw, k->raw_len);
	if (!k->raw_long && route_decide(u->policy, &rq, &k->out, &d)) {
		o->status = 500;
		o->note = "out of memory";
		return httpd_respond_text(c, 500, "500 Internal Server Error: out of memory");
	}
	if (d.kind == ROUTE_REDIRECT)
		ask_redirect(u, k, &rq, &d, o);
	if (u->sign && (d.kind == ROUTE_REDIRECT || d.kind == ROUTE_ORIGIN))
		return handle_signed(u, k, c, method, host, &d, o);
	switch (d.kind) {
	case ROUTE_REDIRECT: return respond_redirect(c, &d, method, o);
	case ROUTE_OPTIONS: return respond_options(c, &d, o);
	case ROUTE_ORIGIN: return proxy_serve(u, k, c, method, d.location, o);
	default: return respond_refuse(c, &d, method, o);
	}
}

static void log_access(struct ucdn *u, const struct conn *k, const char *method,
		       const char *host, const struct outcome *o)
{
	struct access_entry e = {
		.peer = k->peer, .method = method, .host = host, .uri = k->raw,
		.status = o->status, .bytes = o->bytes, .dur_us = now_us() - k->t0,
		.location = o->location, .upstream = o->upstream, .tls = k->tls, .note = o->note,
		.urisigning = k->sres.code[0] ? k->sres.code : NULL,
		.urisigning_reason = k->sres.reason[0] ? k->sres.reason : NULL,
	};
	char ctx[96];

	if (LOG_DEBUG <= log_threshold) {
		snprintf(ctx, sizeof ctx, "req=%lu peer=%s", k->id, k->peer);
		log_debug(ctx, "%s %s -> %d%s%s", method, k->raw, o->status,
			  o->location ? " " : "", o->location ? o->location : "");
	}
	if (u->log_on)
		access_log_write(&u->log, &e);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **req_cls)
{
	struct ucdn *u = cls;
	struct conn *k = *req_cls;
	struct outcome o = { .bytes = -1 };
	const char *host;
	enum MHD_Result ret;

	(void)url; (void)data;
	if (!k)
		return MHD_NO; /* no connection state (out of memory): close */
	if (k->job) { /* resumed after an origin fetch */
		ret = proxy_finish(k, c, &o);
		log_access(u, k, method, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host"), &o);
		return ret;
	}
	/* libmicrohttpd 0.9.75 closes the connection after a response queued
	 * in the first call; answering from the second (after any request body,
	 * which is discarded) keeps it alive. */
	if (!k->headers_seen || *size) {
		k->headers_seen = true;
		*size = 0;
		return MHD_YES;
	}
	host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	ret = handle(u, k, c, method, version, host, &o);
	if (!o.pending)
		log_access(u, k, method, host, &o);
	return ret;
}

static void set_scheme(struct conn *k, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_PROTOCOL);

	k->scheme = ci ? "https" : "http";
	if (ci)
		k->tls = ci->protocol == GNUTLS_TLS1_3 ? "TLSv1.3"
			 : ci->protocol == GNUTLS_TLS1_2 ? "TLSv1.2" : "TLS";
}

/* Called with the request target as received, before libmicrohttpd decodes
 * it; what it returns becomes the request's context (*req_cls). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct ucdn *u = cls;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *k = ci ? ci->socket_context : NULL;
	size_t len = strlen(uri);

	if (!k)
		return NULL;
	k->t0 = now_us();
	k->id = atomic_fetch_add(&u->next_id, 1) + 1;
	ucdn_sign_res_clear(&k->sres);
	k->rwnote[0] = '\0';
	k->headers_seen = false;
	k->raw_long = len > sizeof k->raw - 1;
	k->raw_len = k->raw_long ? sizeof k->raw - 1 : len;
	memcpy(k->raw, uri, k->raw_len);
	k->raw[k->raw_len] = '\0';
	if (!k->scheme)
		set_scheme(k, c);
	return k;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct conn *k = *socket_ctx;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		k = malloc(sizeof *k);
		if (k) {
			memset(k, 0, offsetof(struct conn, raw)); /* all but raw */
			k->u = cls;
			k->raw[0] = '\0';
			httpd_peer(c, k->peer, sizeof k->peer);
		}
		*socket_ctx = k;
		return;
	}
	if (k) {
		proxy_job_free(k->job);
		ucdn_sign_res_clear(&k->sres);
		buf_free(&k->out);
		buf_free(&k->up);
		free(k);
	}
	*socket_ctx = NULL;
}

int ucdn_new(struct ucdn **out, const struct ucdn_conf *cf, struct route_policy *policy,
	     char *err, size_t errlen)
{
	struct ucdn *u = calloc(1, sizeof *u);

	if (!u) {
		route_policy_free(policy);
		snprintf(err, errlen, "out of memory");
		return CDNI_ENOMEM;
	}
	u->cf = cf;
	u->policy = policy;
	if (ucdn_sign_new(&cf->uri_signing, &cf->route, &u->sign, err, errlen) ||
	    ucdn_rewrite_policy(cf, &u->rw, err, errlen) ||
	    (ask_enabled(&cf->rri) && ask_new(&cf->rri, &u->ask, err, errlen))) {
		ucdn_free(u);
		return CDNI_ECONFIG;
	}
	atomic_init(&u->next_id, 0);
	u->log_on = strcmp(cf->access_log, "off") != 0;
	atomic_init(&u->cancel, 0);
	atomic_init(&u->jobs, 0);
	if (u->log_on && access_log_open(&u->log, cf->access_log)) {
		snprintf(err, errlen, "access_log: cannot open %s", cf->access_log);
		u->log_on = false;
		ucdn_free(u);
		return CDNI_EIO;
	}
	if (cf->threads && (route_policy_uses_origin(policy) || cf->origin) &&
	    proxy_pool_new(&u->pool, (size_t)cf->origin_workers)) {
		snprintf(err, errlen, "cannot start %lld origin workers", cf->origin_workers);
		ucdn_free(u);
		return CDNI_ENOMEM;
	}
	*out = u;
	return 0;
}

#define OPT(o, v, p) ((struct MHD_OptionItem){ (o), (intptr_t)(v), (p) })

int ucdn_start(struct ucdn *u, char *ready, size_t rlen, char *err, size_t errlen)
{
	struct MHD_OptionItem extra[] = {
		OPT(MHD_OPTION_URI_LOG_CALLBACK, on_uri, u),
		OPT(MHD_OPTION_NOTIFY_CONNECTION, on_connection, u),
		OPT(MHD_OPTION_END, 0, NULL),
	};
	struct httpd_opts o = {
		.handler = on_request, .handler_cls = u,
		.threads = (unsigned)u->cf->threads, .extra = extra,
		.flags = u->pool ? MHD_ALLOW_SUSPEND_RESUME : 0,
	};

	if (rlen)
		ready[0] = '\0';
	if (httpd_start_all(&u->hs, u->cf->listen.v, u->cf->listen.n, &o, ready, rlen, err,
			    errlen))
		return CDNI_ECONFIG;
	u->nh = u->cf->listen.n;
	return 0;
}

void ucdn_stop(struct ucdn *u)
{
	struct timespec ms = { 0, 1000000 };

	atomic_store(&u->cancel, 1);
	proxy_pool_stop(u->pool); /* resumes every suspended connection */
	/* let resumed connections send their answer (503) before closing them */
	for (int i = 0; i < 1000 && atomic_load(&u->jobs) > 0; i++)
		nanosleep(&ms, NULL);
	httpd_stop_all(u->hs, u->nh);
	u->hs = NULL;
	u->nh = 0;
}

void ucdn_free(struct ucdn *u)
{
	if (!u)
		return;
	ucdn_stop(u);
	if (u->log_on)
		access_log_close(&u->log);
	proxy_pool_free(u->pool);
	route_policy_free(u->policy);
	ucdn_sign_free(u->sign);
	ask_free(u->ask);
	rw_policy_free(u->rw);
	free(u);
}
