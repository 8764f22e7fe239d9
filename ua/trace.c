/* cdni-ua — the trace model (hops, checks) and its JSON form. */
#include "ua/ua.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "common/err.h"

static char *vdup(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static char *vdup(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

static char *url_host(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *copy = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		copy = strdup(host);
	curl_free(host);
	curl_url_cleanup(u);
	return copy;
}

struct ua_trace *ua_trace_new(const char *url)
{
	struct ua_trace *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->url = strdup(url ? url : "");
	if (!t->url) {
		free(t);
		return NULL;
	}
	return t;
}

struct ua_tls *ua_tls_new(void)
{
	return calloc(1, sizeof(struct ua_tls));
}

void ua_tls_free(struct ua_tls *tls)
{
	if (!tls)
		return;
	free(tls->version);
	free(tls->cipher);
	free(tls->subject);
	free(tls->issuer);
	for (size_t i = 0; i < tls->nsans; i++)
		free(tls->sans[i]);
	free(tls->sans);
	free(tls->verify_error);
	free(tls);
}

void ua_hop_clear_headers(struct ua_hop *h)
{
	for (size_t i = 0; i < h->nheaders; i++) {
		free(h->headers[i].name);
		free(h->headers[i].value);
	}
	h->nheaders = 0;
}

static void hop_free(struct ua_hop *h)
{
	if (!h)
		return;
	free(h->method);
	free(h->url);
	free(h->host);
	free(h->address);
	free(h->location);
	free(h->http_version);
	ua_tls_free(h->tls);
	json_decref(h->dns);
	ua_hop_clear_headers(h);
	free(h->headers);
	free(h);
}

void ua_trace_free(struct ua_trace *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nhops; i++)
		hop_free(t->hops[i]);
	free(t->hops);
	for (size_t i = 0; i < t->nchecks; i++) {
		free(t->checks[i].name);
		free(t->checks[i].detail);
	}
	free(t->checks);
	free(t->url);
	free(t->error);
	free(t);
}

/* Make room for one more element of size sz in *arr (count n, capacity *cap). */
static int grow(void *arr, size_t n, size_t *cap, size_t sz)
{
	void **p = arr;
	size_t ncap;
	void *q;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	q = realloc(*p, ncap * sz);
	if (!q)
		return CDNI_ENOMEM;
	*p = q;
	*cap = ncap;
	return 0;
}

struct ua_hop *ua_trace_add_hop(struct ua_trace *t, const char *method, const char *url)
{
	struct ua_hop *h;

	if (grow(&t->hops, t->nhops, &t->caphops, sizeof *t->hops))
		return NULL;
	h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->method = strdup(method);
	h->url = strdup(url);
	h->host = url_host(url);
	if (!h->method || !h->url) {
		hop_free(h);
		return NULL;
	}
	h->n = (int)t->nhops + 1;
	t->hops[t->nhops++] = h;
	return h;
}

int ua_trace_check(struct ua_trace *t, const char *name, bool ok, const char *fmt, ...)
{
	struct ua_check *c;
	va_list ap;

	if (grow(&t->checks, t->nchecks, &t->capchecks, sizeof *t->checks))
		return CDNI_ENOMEM;
	c = &t->checks[t->nchecks];
	va_start(ap, fmt);
	c->detail = vdup(fmt, ap);
	va_end(ap);
	c->name = strdup(name);
	if (!c->name || !c->detail) {
		free(c->name);
		free(c->detail);
		return CDNI_ENOMEM;
	}
	c->ok = ok;
	t->nchecks++;
	return 0;
}

int ua_trace_fail(struct ua_trace *t, const char *fmt, ...)
{
	va_list ap;

	if (t->error)
		return 0;
	va_start(ap, fmt);
	t->error = vdup(fmt, ap);
	va_end(ap);
	return t->error ? 0 : CDNI_ENOMEM;
}

void ua_trace_finish(struct ua_trace *t)
{
	const struct ua_hop *last = t->nhops ? t->hops[t->nhops - 1] : NULL;

	t->final_status = last ? last->status : 0;
	t->ok = !t->error && t->final_status >= 200 && t->final_status < 300;
	for (size_t i = 0; i < t->nchecks; i++)
		if (!t->checks[i].ok)
			t->ok = false;
}

int ua_trace_exit(const struct ua_trace *t)
{
	return t->ok ? 0 : 1;
}

static char *trim_dup(const char *s, size_t len, bool lower)
{
	char *d;

	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	d = strndup(s, len);
	if (d && lower)
		for (char *p = d; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return d;
}

int ua_hop_set_header(struct ua_hop *h, const char *name, size_t nlen, const char *value,
		      size_t vlen)
{
	char *n = trim_dup(name, nlen, true), *v = trim_dup(value, vlen, false);
	size_t i;

	if (!n || !v)
		goto fail;
	for (i = 0; i < h->nheaders; i++)
		if (strcmp(h->headers[i].name, n) == 0)
			break;
	if (i == h->nheaders) {
		if (h->nheaders >= UA_MAX_HEADERS) {
			free(n);
			free(v);
			return CDNI_EOVERFLOW;
		}
		if (grow(&h->headers, h->nheaders, &h->capheaders, sizeof *h->headers))
			goto fail;
		h->headers[h->nheaders++].name = n;
	} else {
		free(n);
		free(h->headers[i].value);
	}
	h->headers[i].value = v;
	return 0;
fail:
	free(n);
	free(v);
	return CDNI_ENOMEM;
}

const char *ua_hop_header(const struct ua_hop *h, const char *name)
{
	for (size_t i = 0; i < h->nheaders; i++)
		if (strcasecmp(h->headers[i].name, name) == 0)
			return h->headers[i].value;
	return NULL;
}

/* ---- JSON ------------------------------------------------------------- */

/* A JSON string from bytes a peer sent: when they are not UTF-8, the bytes
 * at or above 0x80 are shown as %XX so the trace stays valid JSON. */
static json_t *jstr(const char *s)
{
	json_t *j;
	struct buf b;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	buf_init(&b, 0);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p >= 0x80)
			buf_printf(&b, "%%%02X", *p);
		else
			buf_putc(&b, (char)*p);
	j = b.err ? NULL : json_string(b.data);
	buf_free(&b);
	return j;
}

/* json_object_set_new that remembers a failure instead of returning it. */
static void jset(json_t *o, const char *key, json_t *v, int *err)
{
	if (!v || json_object_set_new(o, key, v))
		*err = CDNI_ENOMEM;
}

static json_t *tls_json(const struct ua_tls *tls)
{
	json_t *o, *sans;
	int err = 0;

	if (!tls)
		return json_null();
	o = json_object();
	sans = json_array();
	if (!o || !sans)
		goto fail;
	for (size_t i = 0; i < tls->nsans; i++)
		if (json_array_append_new(sans, jstr(tls->sans[i])))
			goto fail;
	jset(o, "version", jstr(tls->version), &err);
	jset(o, "cipher", jstr(tls->cipher), &err);
	jset(o, "subject", jstr(tls->subject), &err);
	jset(o, "issuer", jstr(tls->issuer), &err);
	jset(o, "sans", sans, &err);
	sans = NULL;
	jset(o, "verified", json_boolean(tls->verified), &err);
	jset(o, "verify_error", jstr(tls->verify_error), &err);
	if (err)
		goto fail;
	return o;
fail:
	json_decref(sans);
	json_decref(o);
	return NULL;
}

static json_t *timing_json(const struct ua_timing *tm)
{
	return json_pack("{s:f, s:f, s:f, s:f, s:f}", "dns", tm->dns, "connect", tm->connect,
			 "tls", tm->tls, "first_byte", tm->first_byte, "total", tm->total);
}

static json_t *headers_json(const struct ua_hop *h)
{
	json_t *o = json_object();
	int err = 0;

	if (!o)
		return NULL;
	for (size_t i = 0; i < h->nheaders; i++)
		jset(o, h->headers[i].name, jstr(h->headers[i].value), &err);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *body_json(const struct ua_hop *h)
{
	if (!h->has_body)
		return json_null();
	return json_pack("{s:I, s:s}", "size", (json_int_t)h->body_size, "sha256",
			 h->body_sha256);
}

static json_t *hop_json(const struct ua_hop *h)
{
	json_t *o = json_object();
	int err = 0;

	if (!o)
		return NULL;
	jset(o, "n", json_integer(h->n), &err);
	jset(o, "method", jstr(h->method), &err);
	jset(o, "url", jstr(h->url), &err);
	jset(o, "host", jstr(h->host), &err);
	jset(o, "address", jstr(h->address), &err);
	jset(o, "status", h->status ? json_integer(h->status) : json_null(), &err);
	jset(o, "location", jstr(h->location), &err);
	jset(o, "http_version", jstr(h->http_version), &err);
	jset(o, "tls", tls_json(h->tls), &err);
	if (h->dns)
		jset(o, "dns", json_incref(h->dns), &err);
	jset(o, "timing_ms", timing_json(&h->timing), &err);
	jset(o, "headers", headers_json(h), &err);
	jset(o, "body", body_json(h), &err);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *checks_json(const struct ua_trace *t)
{
	json_t *a = json_array();

	if (!a)
		return NULL;
	for (size_t i = 0; i < t->nchecks; i++) {
		const struct ua_check *c = &t->checks[i];
		if (json_array_append_new(a, json_pack("{s:o, s:b, s:o}", "name", jstr(c->name),
						       "ok", c->ok, "detail", jstr(c->detail)))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *ua_trace_json(const struct ua_trace *t)
{
	json_t *o = json_object(), *hops = json_array();
	int err = 0;

	if (!o || !hops)
		goto fail;
	for (size_t i = 0; i < t->nhops; i++)
		if (json_array_append_new(hops, hop_json(t->hops[i])))
			goto fail;
	jset(o, "url", jstr(t->url), &err);
	jset(o, "ok", json_boolean(t->ok), &err);
	jset(o, "final_status", t->final_status ? json_integer(t->final_status) : json_null(),
	     &err);
	jset(o, "error", jstr(t->error), &err);
	jset(o, "hops", hops, &err);
	hops = NULL;
	jset(o, "checks", checks_json(t), &err);
	if (err)
		goto fail;
	return o;
fail:
	json_decref(hops);
	json_decref(o);
	return NULL;
}

int ua_trace_write(const struct ua_trace *t, FILE *f)
{
	json_t *j = ua_trace_json(t);
	int rc = CDNI_ENOMEM;

	if (!j)
		return rc;
	rc = json_dumpf(j, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) == 0 &&
			     fputc('\n', f) != EOF && fflush(f) == 0
		     ? 0
		     : CDNI_EIO;
	json_decref(j);
	return rc;
}
