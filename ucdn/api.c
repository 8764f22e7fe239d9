/* cdni-ucdn — the API mode (draft §3.3) and CORS.
 *
 * API: GET API_PATH?url=URL[&kind=KIND][&callback=NAME] answers a script
 * with the URL to fetch (on the dCDN the rewriting policy chooses, with its
 * token) as JSON, or as JSONP with callback. Cross-origin scripts call it,
 * so its answers always carry CORS headers and OPTIONS gets a preflight
 * answer.
 *
 * CORS (the cors key): every answer of the front door — redirects
 * included, players follow them cross-origin — carries
 * Access-Control-Allow-Origin; OPTIONS answers carry the preflight headers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/err.h"
#include "common/http.h"
#include "common/log.h"
#include "ucdn/front.h"

#define CORS_ALLOW_HEADERS "Range, If-None-Match, If-Modified-Since, If-Range"
#define CORS_EXPOSE_HEADERS "Content-Length, Content-Range, ETag, Last-Modified, Accept-Ranges"
#define API_MAX_URL 4096

static void add_cors(struct MHD_Response *r, const char *origin, bool preflight)
{
	if (MHD_get_response_header(r, "Access-Control-Allow-Origin"))
		return;
	MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
	MHD_add_response_header(r, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
	if (!preflight)
		return;
	MHD_add_response_header(r, "Access-Control-Allow-Methods", ROUTE_ALLOW);
	MHD_add_response_header(r, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
	MHD_add_response_header(r, "Access-Control-Max-Age", "86400");
}

enum MHD_Result ucdn_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	const struct conn *k = ci ? ci->socket_context : NULL;

	/* the front door's only 204 with Allow is its OPTIONS answer */
	if (k && k->u->cf->cors)
		add_cors(r, k->u->cf->cors_origin,
			 status == 204 && MHD_get_response_header(r, MHD_HTTP_HEADER_ALLOW));
	return MHD_queue_response(c, status, r);
}

bool ucdn_api_match(const struct ucdn *u, const char *raw, size_t len)
{
	size_t n = u->cf->api_path ? strlen(u->cf->api_path) : 0;

	return n && u->rw && len >= n && memcmp(raw, u->cf->api_path, n) == 0 &&
	       (len == n || raw[n] == '?');
}

static enum MHD_Result api_answer(struct ucdn *u, struct MHD_Connection *c, unsigned status,
				  const char *type, char *body, const char *method,
				  struct outcome *o)
{
	size_t len = strlen(body);
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == 405)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, ROUTE_ALLOW);
	add_cors(r, u->cf->cors_origin, strcmp(method, "OPTIONS") == 0);
	o->status = (int)status;
	o->bytes = strcmp(method, "HEAD") ? (long long)len : 0;
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result api_error(struct ucdn *u, struct MHD_Connection *c, unsigned status,
				 const char *why, const char *method, struct outcome *o)
{
	json_t *j = json_pack("{s:i,s:s}", "status", (int)status, "error", why);
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	o->note = why;
	if (!body)
		return MHD_NO;
	return api_answer(u, c, status, "application/json", body, method, o);
}

static bool callback_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') && !(*s >= '0' && *s <= '9') &&
		    !strchr("_$.", *s))
			return false;
	return true;
}

static bool text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* The JSON (or JSONP) body of an answer. */
static char *answer_body(const struct rw_answer *a, const char *callback)
{
	json_t *j = json_pack("{s:s,s:s,s:o,s:o}", "url", a->url, "cdn", a->cdn, "token",
			      a->token ? json_string(a->token) : json_null(), "expires",
			      a->expires ? json_integer(a->expires) : json_null());
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL, *out = NULL;
	struct buf b;

	json_decref(j);
	if (!s || !callback)
		return s;
	buf_init(&b, 0);
	buf_printf(&b, "/**/%s(%s);", callback, s);
	free(s);
	if (!b.err)
		out = buf_steal(&b, NULL);
	buf_free(&b);
	return out;
}

static enum MHD_Result api_decide(struct ucdn *u, struct conn *k, struct MHD_Connection *c,
				  const char *method, const char *host, struct outcome *o)
{
	const char *url = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "url");
	const char *kind = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "kind");
	const char *cb = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "callback");
	int kd = kind ? rw_kind_parse(kind) : RW_K_API;
	struct rw_ctx *x = NULL;
	struct rw_answer a = { 0 };
	char base[512];
	char *body;

	if (!url || !*url || strlen(url) > API_MAX_URL || !text_ok(url))
		return api_error(u, c, 400, "url: a path or an absolute URL is required", method, o);
	if (kd < 0)
		return api_error(u, c, 400, "kind: unknown", method, o);
	if (cb && !callback_ok(cb))
		return api_error(u, c, 400, "callback: not a JavaScript name", method, o);
	snprintf(base, sizeof base, "%s://%s%s", k->scheme, host && *host && strlen(host) < 256 &&
		 strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]_") ==
		 strlen(host) ? host : "localhost", u->cf->api_path);
	if (rw_ctx_new(&x, u->rw, base, u->cf->origin, (long long)time(NULL)) ||
	    rw_ctx_answer(x, url, (enum rw_kind)kd, &a)) {
		rw_ctx_free(x);
		return api_error(u, c, 500, "out of memory", method, o);
	}
	rw_ctx_free(x);
	if (!a.cdn) {
		rw_answer_clear(&a);
		return api_error(u, c, 400, "url: not a URL of this content provider", method, o);
	}
	body = answer_body(&a, cb);
	o->note = a.cdn; /* static, or the policy's */
	rw_answer_clear(&a);
	if (!body)
		return api_error(u, c, 500, "out of memory", method, o);
	return api_answer(u, c, 200, cb ? "application/javascript" : "application/json", body,
			  method, o);
}

enum MHD_Result ucdn_api_serve(struct ucdn *u, struct conn *k, struct MHD_Connection *c,
			       const char *method, const char *host, struct outcome *o)
{
	if (strcmp(method, "OPTIONS") == 0) {
		char *empty = strdup("");
		o->note = "api preflight";
		return empty ? api_answer(u, c, 204, "text/plain", empty, method, o) : MHD_NO;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return api_error(u, c, 405, "method not allowed", method, o);
	return api_decide(u, k, c, method, host, o);
}
