#include "dcdn/req.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/http.h"

static bool target_ok(const char *t)
{
	if (t[0] != '/')
		return false;
	for (const unsigned char *p = (const unsigned char *)t; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '#')
			return false;
	return true;
}

/* Lowercase a Host value into out; false when it is no host[:port]. */
static bool host_copy(char *out, size_t outlen, const char *h)
{
	size_t i = 0;

	for (; h[i]; i++) {
		unsigned char ch = (unsigned char)h[i];
		if (i + 1 >= outlen)
			return false;
		if (!isalnum(ch) && !strchr("-._:[]", ch))
			return false;
		out[i] = (char)tolower(ch);
	}
	out[i] = '\0';
	return true;
}

/* The length of host without a ":port" suffix ("[::1]:80" -> "[::1]"). */
static size_t host_sans_port(const char *h)
{
	const char *colon = strrchr(h, ':');

	if (!colon || (h[0] == '[' && colon < strchr(h, ']')))
		return strlen(h);
	for (const char *p = colon + 1; *p; p++)
		if (!isdigit((unsigned char)*p))
			return strlen(h);
	return (size_t)(colon - h);
}

/* Absolute-form ("http://host/path"): the authority replaces Host (RFC 9112
 * §3.2.2). Splits target into *host (copied to hbuf) and the origin-form. */
static const char *absolute_form(const char *target, const char **host, char *hbuf, size_t hlen)
{
	size_t skip = strncasecmp(target, "http://", 7) == 0 ? 7
		      : strncasecmp(target, "https://", 8) == 0 ? 8 : 0;
	size_t alen;

	if (!skip)
		return target;
	target += skip;
	alen = strcspn(target, "/?");
	if (alen == 0 || alen >= hlen)
		return NULL;
	memcpy(hbuf, target, alen);
	hbuf[alen] = '\0';
	*host = hbuf;
	return target + alen;
}

int req_parse(struct req_info *ri, const struct req_in *in, const char **reason)
{
	const char *target = in->target, *host = in->host;
	char abs_host[REQ_HOST_MAX];
	size_t tlen;

	ri->method = in->method;
	ri->head = strcmp(in->method, "HEAD") == 0;
	if (!ri->head && strcmp(in->method, "GET") != 0) {
		*reason = "only GET and HEAD";
		return 405;
	}
	if (in->hosts > 1 || (in->hosts == 0 && in->version && strcmp(in->version, "HTTP/1.0") != 0)) {
		*reason = in->hosts ? "more than one Host" : "HTTP/1.1 request without Host";
		return 400;
	}
	target = absolute_form(target, &host, abs_host, sizeof abs_host);
	if (target && target[0] == '?') { /* "http://h?q": the path is "/" */
		snprintf(ri->target, sizeof ri->target, "/%s", target);
		target = ri->target;
	}
	tlen = target ? strlen(target) : 0;
	if (tlen >= REQ_TARGET_MAX) {
		*reason = "request target too long";
		return 414;
	}
	if (!target || !target_ok(target)) {
		*reason = "bad request target";
		return 400;
	}
	if (!host_copy(ri->host, sizeof ri->host, host ? host : "")) {
		*reason = "bad Host";
		return 400;
	}
	memmove(ri->target, target, tlen + 1);
	memcpy(ri->fetch_target, target, tlen + 1);
	snprintf(ri->key, sizeof ri->key, "%.*s%s", (int)host_sans_port(ri->host), ri->host,
		 ri->target);
	return 0;
}

void req_init(struct req_info *ri)
{
	ri->usign_code[0] = '\0';
	ri->usign_reason[0] = '\0';
	ri->note[0] = '\0';
	ri->set_cookie = NULL;
	ri->location_param = NULL;
	ri->usign_vd = NULL;
	ri->location = NULL;
}

void req_reset(struct req_info *ri)
{
	free(ri->set_cookie);
	free(ri->location_param);
	if (ri->usign_vd)
		us_verdict_clear(ri->usign_vd);
	free(ri->usign_vd);
	free(ri->location);
	req_init(ri);
}

int req_location_param(const char *location, const char *param, struct buf *b)
{
	size_t frag = strcspn(location, "#");
	const char *q = memchr(location, '?', frag);

	buf_append(b, location, frag);
	if (!q)
		buf_putc(b, '?');
	else if (location[frag - 1] != '?' && location[frag - 1] != '&')
		buf_putc(b, '&');
	buf_puts(b, param);
	buf_puts(b, location + frag);
	return b->err;
}

int req_policy(const struct req_hook *hooks, size_t n, struct req_info *ri, struct req_verdict *v)
{
	for (size_t i = 0; i < n; i++) {
		memset(v, 0, sizeof *v);
		if (hooks[i].fn(hooks[i].cls, ri, v))
			return 1;
	}
	return 0;
}

/* If-Range (RFC 9110 §13.1.5): a strong ETag equal to ours, or our exact
 * Last-Modified date. */
static bool if_range_holds(const struct cache_meta *m, const char *ir)
{
	if (!ir)
		return true;
	if (ir[0] == '"')
		return m->etag && m->etag[0] == '"' && strcmp(ir, m->etag) == 0;
	return m->last_modified && strcmp(ir, m->last_modified) == 0;
}

static bool not_modified(const struct cache_meta *m, const struct req_cond *rc)
{
	time_t ims, lm;

	if (rc->if_none_match)
		return http_etag_match(rc->if_none_match, m->etag);
	if (!rc->if_modified_since || !m->last_modified)
		return false;
	ims = http_date_parse(rc->if_modified_since);
	lm = http_date_parse(m->last_modified);
	return ims != (time_t)-1 && lm != (time_t)-1 && lm <= ims;
}

static void plan_range(const struct cache_meta *m, const struct req_cond *rc, struct req_plan *p)
{
	uint64_t first, last;
	int rc2;

	if (!rc->range || m->length == CACHE_SIZE_UNKNOWN || !if_range_holds(m, rc->if_range))
		return;
	rc2 = http_range_parse(rc->range, m->length, &first, &last);
	if (rc2 == 0) {
		p->status = 206;
		p->first = first;
		p->len = last - first + 1;
		snprintf(p->content_range, sizeof p->content_range, "bytes %llu-%llu/%llu",
			 (unsigned long long)first, (unsigned long long)last,
			 (unsigned long long)m->length);
	} else if (rc2 == CDNI_EOVERFLOW) {
		p->status = 416;
		p->body = false;
		p->len = 0;
		snprintf(p->content_range, sizeof p->content_range, "bytes */%llu",
			 (unsigned long long)m->length);
	}
}

void req_plan(const struct cache_meta *m, const struct req_cond *rc, bool head, struct req_plan *p)
{
	memset(p, 0, sizeof *p);
	p->status = m->status;
	p->body = !head;
	p->len = m->length;
	if (m->status != 200)
		return;
	if (not_modified(m, rc)) {
		p->status = 304;
		p->body = false;
		p->len = 0;
		return;
	}
	if (!head)
		plan_range(m, rc, p);
}

int req_error_status(int err)
{
	if (err == CDNI_ETIMEDOUT)
		return 504;
	if (err == CDNI_ECLOSED)
		return 503;
	return 502;
}
