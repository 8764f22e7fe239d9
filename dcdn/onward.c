/* cdni-dcdn — delegating onwards with re-signed tokens (see onward.h). */
#include "dcdn/onward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/tls.h"
#include "redirect/fci.h"
#include "urisign/jose.h"
#include "urisign/urisign.h"

static const char *const containers[] = { "hash", "regex", NULL };
static const char *const carriages[] = { "query", "path", NULL };

const struct conf_item dcdn_onward_table[] = {
	CONF_STR("to", struct dcdn_onward_conf, to, NULL, 0,
		 "the next dCDN's edge, http(s)://HOST[:PORT][/PREFIX]; none: nothing is delegated"),
	CONF_INT("status", struct dcdn_onward_conf, status, 301, 308, 302,
		 "redirect status: 301, 302, 303, 307 or 308"),
	CONF_STRS("clients", struct dcdn_onward_conf, clients, 0,
		  "client subnets delegated (CIDR); none: every client"),
	CONF_STRS("hosts", struct dcdn_onward_conf, hosts, 0,
		  "Host names delegated (no port); none: every host"),
	CONF_STR("key", struct dcdn_onward_conf, key, NULL, 0,
		 "private JWK or JWK set signing the next hop's tokens (RFC 9246 §4); none: "
		 "Locations carry no token"),
	CONF_STR("kid", struct dcdn_onward_conf, kid, NULL, 0, "picks the key of a set"),
	CONF_STR("alg", struct dcdn_onward_conf, alg, NULL, 0, "JWS algorithm; none: the key's"),
	CONF_STR("issuer", struct dcdn_onward_conf, issuer, NULL, 0,
		 "iss of the tokens made (this dCDN); required with key"),
	CONF_STR("audience", struct dcdn_onward_conf, audience, NULL, 0,
		 "aud of the tokens made (the next dCDN); none: aud kept as received"),
	CONF_BOOL("iat", struct dcdn_onward_conf, iat, true,
		  "add iat (the re-signing time) when the token had none"),
	CONF_ENUM("container", struct dcdn_onward_conf, container, containers, ONWARD_HASH,
		  "cdniuc of the tokens made: hash of the URI, or regex of its directory"),
	CONF_ENUM("carriage", struct dcdn_onward_conf, carriage, carriages, ONWARD_QUERY,
		  "where the token goes: query parameter or path parameter"),
	CONF_STR("package_attribute", struct dcdn_onward_conf, package_attribute, US_DEFAULT_ATTR,
		 0, "the token's name in the Locations made"),
	CONF_STR("target_cert", struct dcdn_onward_conf, target_cert, NULL, 0,
		 "PEM certificate of the next dCDN's edge: bind the tokens to its key (cdnicb)"),
	CONF_END
};

struct onward {
	const struct dcdn_onward_conf *c;
	size_t tolen;                 /* of c->to without a trailing '/' */
	bool to_http;
	struct fci_prefix *clients;
	size_t nclients;
	struct jose_key *key;
	struct us_signer signer;
	uint8_t spki[32];
	bool bound;
};

static int load_clients(struct onward *o, char *err, size_t errlen)
{
	const struct conf_strlist *l = &o->c->clients;
	char path[64];

	if (!(o->clients = calloc(l->n + 1, sizeof *o->clients)))
		return CDNI_ENOMEM;
	for (size_t i = 0; i < l->n; i++, o->nclients++) {
		snprintf(path, sizeof path, "onward.clients[%zu]", i);
		if (fci_prefix_parse(l->v[i], &o->clients[i]))
			return cdni_fail(err, errlen, CDNI_ECONFIG, "%s: \"%s\" is not an IPv4 or IPv6 CIDR", path, l->v[i]);
	}
	return 0;
}

static int load_signing(struct onward *o, char *err, size_t errlen)
{
	const struct dcdn_onward_conf *c = o->c;
	char why[512] = "";
	X509 *x;

	if (!c->key)
		return c->target_cert ? cdni_fail(err, errlen, CDNI_ECONFIG, "onward.target_cert: needs onward.key "
					      "(tokens bound to a certificate are signed)")
				      : 0;
	if (us_signer_load(c->key, c->kid, c->alg, &o->key, &o->signer, why, sizeof why))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "onward.%s", why);
	if (!c->issuer)
		return cdni_fail(err, errlen, CDNI_ECONFIG, "onward.issuer: required with onward.key (RFC 9246 "
			     "§2.1.1: the next hop's token names this CDN)");
	o->signer.issuer = c->issuer;
	if (!c->target_cert)
		return 0;
	if (!(x = tls_load_cert(c->target_cert, why, sizeof why)))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "onward.target_cert: %s", why);
	o->bound = tls_spki_sha256(x, o->spki) == 0;
	X509_free(x);
	return o->bound ? 0 : cdni_fail(err, errlen, CDNI_ECONFIG, "onward.target_cert: %s: no public key digest",
				    c->target_cert);
}

int onward_new(const struct dcdn_onward_conf *c, struct onward **out, char *err, size_t errlen)
{
	struct onward *o;
	int rc;

	*out = NULL;
	if (!c->to)
		return 0;
	if (strncasecmp(c->to, "http://", 7) != 0 && strncasecmp(c->to, "https://", 8) != 0)
		return cdni_fail(err, errlen, CDNI_ECONFIG, "onward.to: \"%s\" is not an http(s) URL", c->to);
	if (c->status == 304 || c->status == 305 || c->status == 306)
		return cdni_fail(err, errlen, CDNI_ECONFIG, "onward.status: 301, 302, 303, 307 or 308");
	if (!(o = calloc(1, sizeof *o)))
		return CDNI_ENOMEM;
	o->c = c;
	o->tolen = strlen(c->to);
	while (o->tolen > 8 && c->to[o->tolen - 1] == '/')
		o->tolen--;
	o->to_http = strncasecmp(c->to, "http://", 7) == 0;
	if ((rc = load_clients(o, err, errlen)) || (rc = load_signing(o, err, errlen))) {
		if (rc == CDNI_ENOMEM)
			snprintf(err, errlen, "out of memory");
		onward_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

void onward_free(struct onward *o)
{
	if (!o)
		return;
	jose_key_free(o->key);
	free(o->clients);
	free(o);
}

/* ---- requests ---- */

static bool host_delegated(const struct onward *o, const char *host)
{
	size_t n = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":");

	if (!o->c->hosts.n)
		return true;
	for (size_t i = 0; i < o->c->hosts.n; i++)
		if (strlen(o->c->hosts.v[i]) == n && strncasecmp(o->c->hosts.v[i], host, n) == 0)
			return true;
	return false;
}

static bool client_delegated(const struct onward *o, const char *ip)
{
	struct fci_prefix c;

	if (!o->nclients)
		return true;
	if (!ip[0] || fci_prefix_parse(ip, &c))
		return false;
	for (size_t i = 0; i < o->nclients; i++)
		if (fci_prefix_covers(&o->clients[i], c.family, c.addr))
			return true;
	return false;
}

/* path?query of the request without the accepted token. */
static const char *plain_target(const struct req_info *ri)
{
	const char *u = ri->usign_vd ? ri->usign_vd->stripped_uri : NULL, *p;

	if (!u || !(p = strstr(u, "://")))
		return ri->target;
	p += 3;
	p += strcspn(p, "/?");
	return *p ? p : "/";
}

static int resign(struct onward *o, const struct req_info *ri, const char *next, char **loc)
{
	struct us_resign_opts opts = {
		.next_uri = next, .attr = o->c->package_attribute,
		.style = o->c->carriage == ONWARD_PATH ? US_IN_PATH : US_IN_QUERY,
		.audience = o->c->audience, .add_iat = o->c->iat,
		.next_spki_sha256 = o->bound ? o->spki : NULL,
	};
	char *re = NULL;
	int rc = o->c->container == ONWARD_REGEX ? us_container_regex(next, &re) : 0;

	if (rc)
		return rc;
	opts.cdniuc = re;
	rc = us_resign(ri->usign_vd, &o->signer, &opts, ri->now, NULL, loc);
	free(re);
	return rc;
}

static int refuse(struct req_info *ri, struct req_verdict *v, const char *why, int rc)
{
	snprintf(ri->note, sizeof ri->note, "onward: %s%s%s", why, rc ? ": " : "",
		 rc ? cdni_strerror(rc) : "");
	log_warn("onward", "%s%s: %s", ri->host, ri->target, ri->note);
	v->status = 500;
	v->reason = ri->note;
	v->location = NULL;
	return 1;
}

int onward_hook(void *cls, struct req_info *ri, struct req_verdict *v)
{
	struct onward *o = cls;
	bool https = ri->scheme && strcmp(ri->scheme, "https") == 0;
	struct buf next;
	int rc = 0;

	if (!host_delegated(o, ri->host) || !client_delegated(o, ri->client_ip))
		return 0;
	if (https && o->to_http)
		return refuse(ri, v, "an https request is not redirected to an http Location "
			      "(RFC 9246 §1.3)", 0);
	buf_init(&next, 0);
	buf_printf(&next, "%.*s%s", (int)o->tolen, o->c->to, plain_target(ri));
	if (next.err)
		rc = CDNI_ENOMEM;
	else if (ri->usign_vd && o->key)
		rc = resign(o, ri, next.data, &ri->location);
	else
		ri->location = buf_steal(&next, NULL);
	buf_free(&next);
	if (rc || !ri->location)
		return refuse(ri, v, "cannot sign the Location", rc ? rc : CDNI_ENOMEM);
	snprintf(ri->note, sizeof ri->note, "delegated to %.*s", (int)o->tolen, o->c->to);
	v->status = (int)o->c->status;
	v->reason = ri->note;
	v->location = ri->location;
	return 1;
}
