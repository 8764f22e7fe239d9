/* cdni keyless — cdni-keyserver's configuration table and checks. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "keyless/policy.h"
#include "keyless/server.h"
#include "keyless/tconn.h"

static const struct conf_item listen_table[] = {
	CONF_STR("address", struct ks_listen_conf, address, "127.0.0.1", 0,
		 "numeric IPv4 or IPv6 address"),
	CONF_INT("port", struct ks_listen_conf, port, 0, 65535, 2407, "TCP port; 0 picks one"),
	CONF_END
};

static const struct conf_item tls_table[] = {
	CONF_STR("cert", struct ks_tls_conf, cert, NULL, CONF_REQUIRED,
		 "the key server's certificate chain (PEM)"),
	CONF_STR("key", struct ks_tls_conf, key, NULL, CONF_REQUIRED,
		 "the key server's private key (PEM)"),
	CONF_STR("client_ca", struct ks_tls_conf, client_ca, NULL, CONF_REQUIRED,
		 "CA(s) client certificates must chain to (mutual TLS is always on)"),
	CONF_STR("min_version", struct ks_tls_conf, min_version, "1.2", 0, "1.2 or 1.3"),
	CONF_STR("max_version", struct ks_tls_conf, max_version, "1.3", 0, "1.2 or 1.3"),
	CONF_END
};

#define T struct ks_server_conf
const struct conf_item ks_server_conf_table[] = {
	CONF_OBJ("listen", T, listen, listen_table, 0,
		 "the key-server listener {address, port} (default 127.0.0.1:2407)"),
	CONF_OBJ("metrics", T, metrics, listen_conf_table, 0,
		 "HTTP listener for /metrics {address, port} (default 127.0.0.1, port 0)"),
	CONF_OBJ("tls", T, tls, tls_table, CONF_REQUIRED,
		 "{cert, key, client_ca, min_version, max_version}"),
	CONF_STR("keys_dir", T, keys_dir, NULL, 0,
		 "directory of PEM private keys (*.key, *.pem); required unless upstream is set"),
	CONF_LIST("policy", T, policy, ks_policy_rule_table, struct ks_policy_rule_conf, 0,
		  "per-client rules [{client_cn | client_spki_sha256, keys, ops}]; "
		  "empty: every client may sign with every key, nobody may decrypt"),
	CONF_INT("workers", T, workers, 0, 256, 0,
		 "threads, each doing I/O and private-key operations (0: one per CPU)"),
	CONF_INT("max_pending", T, max_pending, 1, 65536, 1024,
		 "requests in progress per connection before the server stops reading it"),
	CONF_INT("idle_timeout", T, idle_timeout, 1, 86400, 30,
		 "seconds before an idle connection is closed"),
	CONF_INT("handshake_timeout", T, handshake_timeout, 1, 600, 10,
		 "seconds a TLS handshake may take"),
	CONF_INT("max_connections", T, max_connections, 1, 1000000, 10000,
		 "connections served at once; more are closed at accept"),
	CONF_STR("access_log", T, access_log, "-", 0,
		 "audit log, one JSON line per operation: a path, \"-\" for stdout, \"\" for none"),
	CONF_OBJ("upstream", T, upstream, ks_client_conf_table, 0,
		 "proxy mode: key servers to forward to (client library settings)"),
	CONF_END
};
#undef T

static int check_tls(const struct ks_tls_conf *t, char *err, size_t errlen)
{
	int lo = ks_tls_version(t->min_version), hi = ks_tls_version(t->max_version);

	if (!lo || !hi || lo > hi) {
		snprintf(err, errlen, "tls.min_version/max_version: must be \"1.2\" or \"1.3\", "
			 "min <= max (got %s, %s)", t->min_version, t->max_version);
		return CDNI_ECONFIG;
	}
	return 0;
}

static int check_semantics(const struct ks_server_conf *c, char *err, size_t errlen)
{
	struct ks_policy *p = NULL;
	unsigned char a[16];
	int rc;

	if ((rc = check_tls(&c->tls, err, errlen)))
		return rc;
	if (inet_pton(AF_INET, c->listen.address, a) != 1 &&
	    inet_pton(AF_INET6, c->listen.address, a) != 1) {
		snprintf(err, errlen, "listen.address: '%s' is not a numeric IPv4 or IPv6 address",
			 c->listen.address);
		return CDNI_ECONFIG;
	}
	if (!c->keys_dir && !c->upstream.servers.n) {
		snprintf(err, errlen, "keys_dir: required (unless upstream.servers is set)");
		return CDNI_ECONFIG;
	}
	if (c->upstream.servers.n && (!c->upstream.ca || !c->upstream.cert || !c->upstream.key)) {
		snprintf(err, errlen, "upstream: ca, cert and key are required with servers");
		return CDNI_ECONFIG;
	}
	if (c->upstream.servers.n && !ks_tls_version(c->upstream.tls_max)) {
		snprintf(err, errlen, "upstream.tls_max: must be \"1.2\" or \"1.3\"");
		return CDNI_ECONFIG;
	}
	rc = ks_policy_new(c->policy.v, c->policy.n, "policy", &p, err, errlen);
	ks_policy_free(p);
	return rc ? CDNI_ECONFIG : 0;
}

int ks_server_conf_load(const char *file, struct ks_server_conf *conf, char *err,
			size_t errlen)
{
	char msg[512];
	int rc;

	memset(conf, 0, sizeof *conf);
	if ((rc = conf_load_file(ks_server_conf_table, conf, file, err, errlen)))
		return rc;
	if ((rc = listen_conf_check(&conf->metrics, "metrics", msg, sizeof msg)) ||
	    (rc = check_semantics(conf, msg, sizeof msg))) {
		snprintf(err, errlen, "%s: %s", file, msg);
		ks_server_conf_free(conf);
		return CDNI_ECONFIG;
	}
	return 0;
}

void ks_server_conf_free(struct ks_server_conf *conf)
{
	conf_free(ks_server_conf_table, conf);
}
