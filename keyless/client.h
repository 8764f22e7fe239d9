/* cdni keyless — the client library edges (and the proxy) use to reach key
 * servers.
 *
 * A client keeps persistent mutual-TLS connections to every key server of an
 * ordered list ("connections" per server) from one I/O thread. Many requests
 * are in flight on each connection; responses are matched by id in whatever
 * order they come. Every operation has a deadline. A request goes to the
 * first server in the list that has a connection up, so the list is a
 * failover order; a connection that fails has its requests retried on
 * another one (within their deadlines) and is re-established with
 * exponential back-off. Idle connections are checked with pings; one whose
 * ping goes unanswered is replaced.
 *
 * Results: 0 when a server answered; CDNI_ETIMEDOUT when the deadline passed
 * first; CDNI_EUPSTREAM when no server can be reached (every server's last
 * connection attempt failed) or a request failed on every try. The blocking
 * calls map an error response to a CDNI_E* code with ks_err_from_wire().
 *
 * The blocking API may be called from any number of threads at once. */
#ifndef CDNI_KEYLESS_CLIENT_H
#define CDNI_KEYLESS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/conf.h"
#include "keyless/proto.h"

struct ks_client_conf {
	struct conf_strlist servers; /* "host:port", "[v6]:port", in preference order */
	char *ca;                    /* CA that signs the key servers' certificates */
	char *cert, *key;            /* this client's certificate and key */
	char *server_name;           /* name to verify (default: each server's host) */
	long long connections;       /* per server */
	long long max_inflight;      /* per connection */
	long long timeout_ms;        /* deadline when a call passes 0 */
	long long connect_timeout_ms;
	long long ping_interval_ms;  /* 0: no health pings */
	long long backoff_min_ms, backoff_max_ms;
	char *tls_max;               /* "1.2" or "1.3" (default) */
};
/* Config table (cdni-keyserver's "upstream" object uses it). */
extern const struct conf_item ks_client_conf_table[];
/* Fill the defaults of the table into a zeroed conf (for programs that set
 * fields by hand); strings stay NULL. */
void ks_client_conf_defaults(struct ks_client_conf *conf);

struct ks_client;

struct ks_reply {
	uint8_t opcode;         /* KS_OP_RESPONSE, KS_OP_PONG or KS_OP_ERROR */
	const uint8_t *payload; /* valid during the callback only */
	size_t len;
	int server;             /* index of the server that answered */
	long long rtt_us;       /* send to answer */
};

/* Called exactly once per submitted request, from the client's I/O thread
 * (or from ks_client_free): rc 0 with reply, or a CDNI_E* code and NULL. */
typedef void (*ks_client_cb)(void *arg, int rc, const struct ks_reply *reply);

int ks_client_new(const struct ks_client_conf *conf, struct ks_client **out, char *err,
		  size_t errlen);
/* Stop the I/O thread; requests still pending complete with CDNI_ECLOSED. */
void ks_client_free(struct ks_client *c);

/* Queue a request (m is serialized at once); timeout_ms 0 means the
 * configured default. The callback is not called when this fails. */
int ks_client_submit(struct ks_client *c, const struct ks_msg *m, int timeout_ms,
		     ks_client_cb cb, void *arg);

/* Blocking calls. out gets the result (*outlen: capacity in, length out). */
int ks_client_call(struct ks_client *c, const struct ks_msg *m, int timeout_ms,
		   uint8_t *out, size_t *outlen, uint8_t *reply_opcode);
int ks_client_sign(struct ks_client *c, const uint8_t ski[KS_SKI_LEN], uint8_t opcode,
		   const uint8_t *digest, size_t len, uint8_t *out, size_t *outlen,
		   int timeout_ms);
/* opcode KS_OP_RSA_DECRYPT or KS_OP_RSA_DECRYPT_RAW. */
int ks_client_decrypt(struct ks_client *c, const uint8_t ski[KS_SKI_LEN], uint8_t opcode,
		      const uint8_t *in, size_t len, uint8_t *out, size_t *outlen,
		      int timeout_ms);
int ks_client_ping(struct ks_client *c, int timeout_ms, long long *rtt_us);

struct ks_client_stats {
	unsigned connected;        /* connections up now */
	unsigned long long connects, connect_failures, retries, timeouts, pings_lost;
};
void ks_client_stats(struct ks_client *c, struct ks_client_stats *st);

#endif
