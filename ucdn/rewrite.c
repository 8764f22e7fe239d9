/* cdni-ucdn — manifests and pages rewritten on their way from the origin
 * (draft §3.2, §3.2.1). A proxied request whose path is under
 * rewrite.prefixes and names a rewritten format gets a rewriter: the origin
 * is asked for the whole resource (no Range, no validators: the answer
 * differs per client), the body is rewritten as it streams in (HLS) or once
 * it is complete (DASH, HTML), and the client gets the rewritten bytes with
 * the format's type and rewrite.cache_control. A body the rewriter refuses
 * stops the fetch; the client gets 502 and the log says why. */
#include "ucdn/rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/http.h"
#include "ucdn/front.h"

int ucdn_rewrite_policy(const struct ucdn_conf *cf, struct rw_policy **out, char *err,
			size_t errlen)
{
	struct rw_conf c = cf->rewrite; /* shallow: only the signing key may change */
	const struct ucdn_sign_conf *s = &cf->uri_signing;

	*out = NULL;
	if (!rw_conf_enabled(&c) && !cf->api_path)
		return 0;
	if (!c.signing.key && s->key) {
		c.signing.key = s->key;
		c.signing.kid = s->kid;
		c.signing.issuer = c.signing.issuer ? c.signing.issuer : s->issuer;
		c.signing.audience = c.signing.audience ? c.signing.audience : s->audience;
	}
	return rw_policy_new(out, &c, err, errlen);
}

static bool header_safe(const char *s)
{
	return s && *s && http_header_value_safe(s);
}

int ucdn_rewrite_check(const struct ucdn_conf *cf, char *err, size_t errlen)
{
	struct rw_policy *p = NULL;
	int rc;

	if (cf->api_path && (cf->api_path[0] != '/' || strpbrk(cf->api_path, "?# \t%"))) {
		snprintf(err, errlen, "api_path: must be a path starting with / (no query, no escapes)");
		return CDNI_ECONFIG;
	}
	if (!header_safe(cf->cors_origin)) {
		snprintf(err, errlen, "cors_origin: must be a header value (\"*\" or an origin)");
		return CDNI_ECONFIG;
	}
	if (rw_conf_enabled(&cf->rewrite) && !cf->origin) {
		snprintf(err, errlen, "rewrite.prefixes: rewriting needs an origin (origin is not set)");
		return CDNI_ECONFIG;
	}
	rc = ucdn_rewrite_policy(cf, &p, err, errlen);
	rw_policy_free(p);
	return rc;
}

/* ---- one request ---- */

struct ucdn_rw {
	struct ucdn *u;
	enum rw_format cand, f;
	struct rw_ctx *x;
	struct rw_stream *s;
	struct buf out;
	size_t in_len, in_max;
	char err[320];
	char *base;
};

/* A Host header fit to be written into documents: host[:port] or [v6]:port. */
static bool host_ok(const char *h)
{
	if (!h || !*h || strlen(h) > 255)
		return false;
	for (; *h; h++)
		if (!((*h | 0x20) >= 'a' && (*h | 0x20) <= 'z') && !(*h >= '0' && *h <= '9') &&
		    !strchr(".-:[]_", *h))
			return false;
	return true;
}

struct ucdn_rw *ucdn_rw_begin(struct ucdn *u, const char *scheme, const char *host,
			      const char *target)
{
	size_t plen = strcspn(target, "?");
	enum rw_format f = u->rw ? rw_policy_candidate(u->rw, target, plen) : RW_FMT_NONE;
	struct ucdn_rw *w;
	struct buf b;

	if (f == RW_FMT_NONE || !(w = calloc(1, sizeof *w)))
		return NULL;
	w->u = u;
	w->cand = f;
	w->in_max = (size_t)u->cf->origin_max_body;
	buf_init(&w->out, rw_policy_max_output(u->rw));
	buf_init(&b, 0);
	/* the document's URL as the client asked for it: relative URIs resolve against it */
	buf_printf(&b, "%s://%s%s", scheme, host_ok(host) ? host : "localhost", target);
	w->base = b.err ? NULL : buf_steal(&b, NULL);
	if (!w->base || rw_ctx_new(&w->x, u->rw, w->base, u->cf->origin, (long long)time(NULL))) {
		ucdn_rw_free(w);
		return NULL;
	}
	return w;
}

bool ucdn_rw_headers(struct ucdn_rw *w, int status, const char *content_type)
{
	if (status != 200)
		return false;
	w->f = rw_policy_format(w->u->rw, content_type, w->cand);
	if (w->f != RW_FMT_NONE && rw_stream_new(&w->s, w->f, w->x)) {
		w->f = RW_FMT_NONE;
		snprintf(w->err, sizeof w->err, "out of memory");
	}
	return w->f != RW_FMT_NONE;
}

bool ucdn_rw_active(const struct ucdn_rw *w)
{
	return w && w->s;
}

int ucdn_rw_data(struct ucdn_rw *w, const void *data, size_t len)
{
	int rc;

	w->in_len += len;
	if (w->in_max && w->in_len > w->in_max)
		return CDNI_EOVERFLOW; /* the proxy says "larger than origin_max_body" */
	if ((rc = rw_stream_feed(w->s, data, len, &w->out)))
		snprintf(w->err, sizeof w->err, "%s", rw_stream_error(w->s));
	return rc == CDNI_ENOMEM || rc == CDNI_EOVERFLOW ? rc : rc ? CDNI_EPARSE : 0;
}

int ucdn_rw_finish(struct ucdn_rw *w, char **body, size_t *len)
{
	int rc = rw_stream_finish(w->s, &w->out);

	if (rc) {
		snprintf(w->err, sizeof w->err, "%s", rw_stream_error(w->s));
		return rc == CDNI_ENOMEM ? rc : CDNI_EPARSE;
	}
	*body = buf_steal(&w->out, len);
	if (!*body && !(*body = strdup(""))) /* an empty page rewrites to nothing */
		return CDNI_ENOMEM;
	return 0;
}

const char *ucdn_rw_error(const struct ucdn_rw *w)
{
	return w->err[0] ? w->err : "refused";
}

const char *ucdn_rw_type(const struct ucdn_rw *w)
{
	return rw_format_type(w->f);
}

const char *ucdn_rw_cache_control(const struct ucdn_rw *w)
{
	const char *cc = rw_policy_cache_control(w->u->rw);

	return cc && *cc ? cc : NULL;
}

void ucdn_rw_note(const struct ucdn_rw *w, char *note, size_t len)
{
	struct rw_stats st;

	rw_ctx_stats(w->x, &st);
	snprintf(note, len, "rewritten %s: %lu URIs, %lu to dCDNs, %lu tokens", rw_format_name(w->f),
		 st.uris, st.to_dcdn, st.tokens);
}

void ucdn_rw_free(struct ucdn_rw *w)
{
	if (!w)
		return;
	rw_stream_free(w->s);
	rw_ctx_free(w->x);
	buf_free(&w->out);
	free(w->base);
	free(w);
}
