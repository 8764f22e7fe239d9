/* cdni — RFC 7975 redirection interface client (see rri_client.h). */
#include "redirect/rri_client.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/http.h"
#include "common/upstream.h"

const struct conf_item rri_client_conf_table[] = {
	CONF_STR("url", struct rri_client_conf, url, NULL, 0,
		 "RI URI of the dCDN, http(s)://HOST:PORT/cdni/rri"),
	CONF_STR("ca", struct rri_client_conf, ca, NULL, 0, "PEM CA file for an https url"),
	CONF_STR("cert", struct rri_client_conf, cert, NULL, 0,
		 "PEM client certificate (mutual TLS)"),
	CONF_STR("key", struct rri_client_conf, key, NULL, 0, "PEM key of cert"),
	CONF_STR("resolve", struct rri_client_conf, resolve, NULL, 0,
		 "pin the url's host to an address, HOST:PORT:ADDR (as curl --resolve)"),
	CONF_INT("connect_timeout_ms", struct rri_client_conf, connect_timeout_ms, 1, 60000, 500,
		 "deadline to connect to the dCDN (ms)"),
	CONF_INT("timeout_ms", struct rri_client_conf, timeout_ms, 1, 60000, 1000,
		 "deadline for the dCDN's whole answer (ms)"),
	CONF_END
};

struct rri_client rri_client_from_conf(const struct rri_client_conf *cf)
{
	return (struct rri_client){
		.url = cf->url, .ca_file = cf->ca, .cert_file = cf->cert, .key_file = cf->key,
		.resolve = cf->resolve, .connect_timeout_ms = (long)cf->connect_timeout_ms,
		.timeout_ms = (long)cf->timeout_ms,
	};
}

struct answer {
	int status;
	long long max_age;
	bool media_ok;
	struct buf body;
};

static int on_headers(void *cls, int status, const struct upstream_header *h, size_t n)
{
	struct answer *a = cls;
	const char *cc = upstream_header_get(h, n, "Cache-Control");
	struct http_cache_control c;

	a->status = status;
	a->media_ok = rri_media_type_is(upstream_header_get(h, n, "Content-Type"),
					RRI_PTYPE_RESPONSE);
	a->max_age = -1;
	if (cc) {
		http_cache_control_parse(cc, &c);
		if (!c.no_store && !c.no_cache)
			a->max_age = c.s_maxage >= 0 ? c.s_maxage : c.max_age;
	}
	return 0;
}

static int on_data(void *cls, const void *data, size_t len)
{
	struct answer *a = cls;

	buf_append(&a->body, data, len);
	return a->body.err ? CDNI_EOVERFLOW : 0;
}

static int post(const struct rri_client *c, const struct buf *body, struct answer *a, char *err,
		size_t errlen)
{
	static const char *const hdrs[] = { "Content-Type: " RRI_MEDIA_REQUEST,
					    "Accept: " RRI_MEDIA_RESPONSE, NULL };
	struct upstream_request r = {
		.url = c->url, .method = "POST", .headers = hdrs, .ca_file = c->ca_file,
		.resolve = c->resolve, .cancel = c->cancel, .body = body->data,
		.body_len = body->len, .cert_file = c->cert_file, .key_file = c->key_file,
		.connect_timeout_ms = c->connect_timeout_ms ? c->connect_timeout_ms : 1000,
		.timeout_ms = c->timeout_ms ? c->timeout_ms : 2000,
	};
	struct upstream_callbacks cb = { on_headers, on_data, a };
	int rc = upstream_fetch(&r, &cb, err, errlen);

	if (rc == CDNI_EOVERFLOW) {
		snprintf(err, errlen, "answer body over %d bytes", RRI_MAX_BODY);
		return CDNI_EUPSTREAM;
	}
	return rc == CDNI_ETIMEDOUT || rc == CDNI_ECLOSED ? rc : rc ? CDNI_EUPSTREAM : 0;
}

int rri_client_ask(const struct rri_client *c, const struct rri_request *rq,
		   struct rri_reply *out, char *err, size_t errlen)
{
	struct answer a = { 0 };
	struct buf req;
	char why[256];
	int rc;

	buf_init(&req, RRI_MAX_BODY);
	buf_init(&a.body, RRI_MAX_BODY);
	rc = rri_request_encode(rq, &req, err, errlen);
	if (!rc)
		rc = post(c, &req, &a, err, errlen);
	if (rc)
		goto out;
	rc = CDNI_EUPSTREAM;
	if (!a.media_ok) {
		snprintf(err, errlen, "HTTP %d without Content-Type %s", a.status,
			 RRI_MEDIA_RESPONSE);
		goto out;
	}
	if (rri_response_decode(a.body.data ? a.body.data : "", a.body.len, &out->rs, why,
				sizeof why)) {
		snprintf(err, errlen, "HTTP %d, not an RI response: %s", a.status, why);
		goto out;
	}
	out->status = a.status;
	out->max_age = a.status == 200 ? a.max_age : -1;
	rc = 0;
out:
	buf_free(&req);
	buf_free(&a.body);
	return rc;
}

void rri_reply_clear(struct rri_reply *r)
{
	rri_response_clear(&r->rs);
	r->status = 0;
	r->max_age = -1;
}
