/* cdni-ua — the run: one hop after another until a response that is not a
 * redirect to follow, with the per-hop checks recorded in the trace. */
#include "ua/ua.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/log.h"
#include "ua/fetch.h"

/* The checks one hop earns: an https hop must have verified TLS. */
static int hop_checks(struct ua_trace *t, const struct ua_hop *h, const char *err)
{
	const struct ua_tls *tls = h->tls;
	char name[64];

	if (strncasecmp(h->url, "https:", 6) != 0)
		return 0;
	snprintf(name, sizeof name, "tls-verified hop %d", h->n);
	if (tls && tls->verified)
		return ua_trace_check(t, name, true, "%s, issued by %s", tls->subject ? tls->subject : "?",
				      tls->issuer ? tls->issuer : "?");
	if (tls && tls->verify_error)
		return ua_trace_check(t, name, false, "%s", tls->verify_error);
	return ua_trace_check(t, name, false, "no TLS session: %s", err[0] ? err : "none");
}

static int downgrade_check(struct ua_trace *t, const struct ua_opts *o, const struct ua_hop *h,
			   const char *next)
{
	char name[64];

	if (!ua_is_downgrade(h->url, next))
		return 0;
	snprintf(name, sizeof name, "no-downgrade hop %d", h->n + 1);
	return ua_trace_check(t, name, o->allow_downgrade, "hop %d redirects from https to %s%s",
			      h->n, next, o->allow_downgrade ? " (allowed by --allow-downgrade)" : "");
}

static void log_hop(const struct ua_hop *h, const char *err)
{
	const char *loc = ua_hop_header(h, "location");
	char ctx[32];

	snprintf(ctx, sizeof ctx, "hop=%d", h->n);
	if (err[0])
		log_info(ctx, "%s %s failed: %s", h->method, h->url, err);
	else
		log_info(ctx, "%s %s -> %ld%s%s (%s, %.1f ms)", h->method, h->url, h->status,
			 loc ? " Location: " : "", loc ? loc : "", h->address ? h->address : "?",
			 h->timing.total);
}

/* After hop h answered: decide whether to follow. Returns 1 with *next set
 * to follow, 0 to stop (the run's error recorded if any), or CDNI_ENOMEM. */
static int next_hop(struct ua_trace *t, const struct ua_opts *o, struct ua_hop *h, int followed,
		    const char **next)
{
	const char *loc = ua_hop_header(h, "location");
	char why[256];
	int rc;

	if (!ua_is_redirect(h->status))
		return 0;
	if (!loc)
		return ua_trace_fail(t, "hop %d: %ld without a Location", h->n, h->status);
	rc = ua_location_resolve(h->url, loc, &h->location, why, sizeof why);
	if (rc == CDNI_ENOMEM)
		return rc;
	if (rc)
		return ua_trace_fail(t, "hop %d: Location refused: %s", h->n, why);
	if (ua_redirect_allowed(followed, o->max_redirs))
		return ua_trace_fail(t, "hop %d: too many redirects (more than %d)", h->n,
				     o->max_redirs);
	rc = downgrade_check(t, o, h, h->location);
	if (rc)
		return rc;
	*next = h->location;
	return 1;
}

/* The loop; returns 0 or CDNI_ENOMEM (everything else is in the trace). */
static int run_hops(struct ua_session *s, struct ua_trace *t, const struct ua_opts *o)
{
	const char *url = o->url;
	char err[CURL_ERROR_SIZE + 64];
	struct ua_hop *h;
	int rc;

	for (int followed = 0;; followed++) {
		h = ua_trace_add_hop(t, o->method, url);
		if (!h)
			return CDNI_ENOMEM;
		err[0] = '\0';
		rc = ua_dns_prepare(s, t, h, err, sizeof err);
		if (rc == CDNI_ENOMEM)
			return rc;
		if (rc) {
			log_hop(h, err);
			return ua_trace_fail(t, "hop %d: %s", h->n, err);
		}
		rc = ua_fetch_hop(s, h, o->url, err, sizeof err);
		log_hop(h, err);
		if (rc == CDNI_ENOMEM || hop_checks(t, h, err) || ua_dns_conclude(s, t, h))
			return CDNI_ENOMEM;
		if (rc)
			return ua_trace_fail(t, "hop %d: %s", h->n, err);
		rc = next_hop(t, o, h, followed, &url);
		if (rc <= 0)
			return rc;
	}
}

/* -o gets the final response's body, an empty file when it had none. */
static int output_final(struct ua_session *s, struct ua_trace *t)
{
	const struct ua_hop *last = t->nhops ? t->hops[t->nhops - 1] : NULL;

	if (!last || !last->status || t->error)
		return 0;
	if (ua_session_output_open(s))
		return ua_trace_fail(t, "%s", s->cb_why);
	return 0;
}

int ua_run(const struct ua_opts *o, struct ua_trace **out)
{
	struct ua_session s;
	struct ua_trace *t = ua_trace_new(o->url);
	char err[256];
	int rc = CDNI_ENOMEM;

	if (!t)
		return rc;
	rc = ua_session_init(&s, o, err, sizeof err);
	if (rc) {
		log_err(NULL, "%s", err);
		goto fail;
	}
	rc = run_hops(&s, t, o);
	if (rc == 0)
		rc = output_final(&s, t);
	if (ua_session_cleanup(&s) && rc == 0)
		rc = ua_trace_fail(t, "writing %s failed", o->output);
	if (rc)
		goto fail;
	ua_trace_finish(t);
	*out = t;
	return 0;
fail:
	ua_trace_free(t);
	return rc;
}
