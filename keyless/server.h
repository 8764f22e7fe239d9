/* cdni keyless — cdni-keyserver: the key server over mutual TLS.
 *
 * A pool of threads (one per CPU) shares the work: accepting connections,
 * TLS handshakes, reading frames, the core's private-key operations, writing
 * answers (see server_int.h). Answers go back in whatever order they finish.
 * Each connection has a bound on requests in progress (beyond it the server
 * stops reading from that connection, so TCP pushes back) and an idle
 * timeout. Keys are reloaded on request (SIGHUP) without touching the
 * connections. In proxy mode, requests for keys the server does not hold are
 * forwarded to upstream key servers through the client library. A plain
 * HTTP listener serves Prometheus metrics on /metrics. */
#ifndef CDNI_KEYLESS_SERVER_H
#define CDNI_KEYLESS_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/conf.h"
#include "common/httpd.h"
#include "keyless/client.h"

struct ks_listen_conf {
	char *address;
	long long port;
};

struct ks_tls_conf {
	char *cert, *key, *client_ca;
	char *min_version, *max_version;
};

struct ks_server_conf {
	struct ks_listen_conf listen;
	struct listen_conf metrics;
	struct ks_tls_conf tls;
	char *keys_dir;
	struct conf_list policy; /* of struct ks_policy_rule_conf */
	long long workers, max_pending, idle_timeout, handshake_timeout, max_connections;
	char *access_log;
	struct ks_client_conf upstream; /* proxy mode when upstream.servers is not empty */
};
extern const struct conf_item ks_server_conf_table[];

/* Load and check a config file (values, policy rules, TLS versions). */
int ks_server_conf_load(const char *file, struct ks_server_conf *conf, char *err,
			size_t errlen);
void ks_server_conf_free(struct ks_server_conf *conf);

struct ks_server;

/* Build everything that needs no socket: TLS context, policy, keys, the
 * upstream client (proxy). conf must outlive the server. */
int ks_server_new(const struct ks_server_conf *conf, struct ks_server **out, char *err,
		  size_t errlen);
/* Bind the listeners and start the threads; ready gets
 * "keyless=ADDR:PORT metrics=ADDR:PORT". */
int ks_server_start(struct ks_server *s, char *ready, size_t rlen, char *err, size_t errlen);
/* Reload the key directory; on failure the old keys stay. */
int ks_server_reload(struct ks_server *s, char *err, size_t errlen);
size_t ks_server_key_count(struct ks_server *s);
void ks_server_free(struct ks_server *s);

#endif
