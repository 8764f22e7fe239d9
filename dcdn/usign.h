/* cdni-dcdn — RFC 9246 URI signing enforcement, a policy hook of the
 * request pipeline (socket-free):
 *
 *   verify  the token of every request (URI query or path parameter, or
 *           cookie) against the configured issuers' keys (RFC 9246 §4.4
 *           MI.UriSigning: enforce, issuers, package attribute); a
 *           rejected request is answered 403 with its §6.4 log code;
 *   strip   the token from the cache key, and from the target fetched
 *           upstream (the origin never sees tokens unless forward_token);
 *   renew   an accepted token asking for Signed Token Renewal (§3): cdnistt
 *           1 gives a Set-Cookie (Path from cdnistd), cdnistt 2 a token for
 *           the query of a Location the answer carries;
 *   log     the s-uri-signing code (and the deny reason) of each request.
 *
 *   struct usign *u;   // NULL when uri_signing.keys is not set
 *   usign_new(&conf->uri_signing, &u, err, sizeof err);
 *   edge_add_hook(e, &(struct req_hook){ "uri_signing", usign_hook, u }); */
#ifndef CDNI_DCDN_USIGN_H
#define CDNI_DCDN_USIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/conf.h"
#include "dcdn/req.h"
#include "urisign/urisign.h"

struct dcdn_usign_conf {
	struct us_conf us;   /* enforce, issuers, package_attribute, jwt_header, keys, ... */
	char *renew_key;     /* private JWK (or set) that signs renewed tokens */
	char *renew_kid;     /* picks the key of a set */
	char *renew_issuer;  /* iss of renewed tokens; NULL: kept */
	bool forward_token;  /* send the token upstream too */
};

extern const struct conf_item dcdn_usign_table[];

struct usign;

/* *out is NULL when URI signing is not configured (no keys). The renewal
 * key's public part is trusted for its issuer (renew_issuer, or the keys
 * bound to no issuer), so renewed tokens verify here. Messages name the key
 * path ("uri_signing.keys: k.json: cannot read: ..."). */
int usign_new(const struct dcdn_usign_conf *c, struct usign **out, char *err, size_t errlen);
void usign_free(struct usign *u);

/* The policy hook (req_hook_fn): needs ri's scheme, host, target,
 * client_ip, cookie, spki_sha256 and now. */
int usign_hook(void *cls, struct req_info *ri, struct req_verdict *v);

#endif
