/* cdni-dcdn — configuration: the conf table and the checks beyond types. */
#ifndef CDNI_DCDN_CONFIG_H
#define CDNI_DCDN_CONFIG_H

#include <stddef.h>

#include "common/conf.h"
#include "dcdn/onward.h"
#include "dcdn/ri.h"
#include "dcdn/tlsedge.h"
#include "dcdn/usign.h"

struct dcdn_conf {
	struct conf_list listen; /* struct listen_conf */
	char *upstream;          /* "http://host:port[/prefix]" or https */
	char *upstream_ca;       /* CA file for an https upstream; NULL: system store */
	char *upstream_host;     /* Host header sent upstream; NULL: the upstream URL's */
	long long upstream_connect_timeout_ms;
	long long upstream_timeout_ms;
	long long upstream_concurrency; /* fetches at once (fill threads) */
	long long cache_size;
	long long max_object_size; /* 0: cache_size / 8 */
	long long default_ttl;     /* seconds, for 200s that state no freshness */
	long long threads;         /* 0: a thread per connection */
	long long connection_limit;
	long long timeout;         /* client idle timeout, seconds */
	char *access_log;
	struct dcdn_usign_conf uri_signing; /* RFC 9246 enforcement; on when keys is set */
	struct dcdn_onward_conf onward;     /* redirect onwards (onward.h); on when onward.to is set */
	bool cors;                 /* CORS headers on every answer, preflight answers */
	char *cors_origin;         /* Access-Control-Allow-Origin */
	struct dcdn_ri_conf rri;   /* RFC 7975 redirection interface (ri.h); on with rri.listen */
	struct kledge_conf keyless; /* keyless TLS (tlsedge.h); on with keyless.certs */
	char *ticket_key;          /* 64-byte TLS session ticket key file, shared by instances */
};

extern const struct conf_item dcdn_conf_table[];

/* Load and check a config file; messages start with the file name and name
 * the key path. */
int dcdn_conf_load(const char *file, struct dcdn_conf *c, char *err, size_t errlen);
/* Same from a string (tests); name stands for the file name in messages. */
int dcdn_conf_load_string(const char *text, const char *name, struct dcdn_conf *c, char *err,
			  size_t errlen);
/* The checks beyond types: listeners, upstream URL, sizes, readable files. */
int dcdn_conf_check(const struct dcdn_conf *c, char *err, size_t errlen);
void dcdn_conf_free(struct dcdn_conf *c);
/* max_object_size with its default applied. */
size_t dcdn_conf_max_object(const struct dcdn_conf *c);

#endif
