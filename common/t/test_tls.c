/* tls.h: loading, contexts, mutual TLS over a socketpair, SPKI digests
 * (checked against the openssl command line, a peer we did not write). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <pthread.h>
#include <unistd.h>

#include <openssl/err.h>

#include "common/tls.h"
#include "common/tap.h"

static char pki[512];

static const char *p(const char *name)
{
	static char bufs[8][700];
	static int i;
	i = (i + 1) % 8;
	snprintf(bufs[i], sizeof bufs[i], "%s/%s", pki, name);
	return bufs[i];
}

static void spki_matches_openssl(void)
{
	char cmd[2048], hex[65] = "", err[256];
	uint8_t md[32];
	X509 *x = tls_load_cert(p("dcdn-ec.pem"), err, sizeof err);
	FILE *f;

	ok(x != NULL, "certificate loads");
	snprintf(cmd, sizeof cmd,
		 "openssl x509 -in '%s' -noout -pubkey | openssl pkey -pubin -outform DER | "
		 "openssl dgst -sha256 -hex | sed 's/.*= //'", p("dcdn-ec.pem"));
	f = popen(cmd, "r");
	if (f) {
		if (!fgets(hex, sizeof hex, f))
			hex[0] = '\0';
		pclose(f);
	}
	if (x && tls_spki_sha256(x, md) == 0) {
		char mine[65];
		for (int i = 0; i < 32; i++)
			snprintf(mine + 2 * i, 3, "%02x", md[i]);
		is_str(mine, hex, "SPKI SHA-256 equals openssl's");
	} else {
		ok(0, "SPKI SHA-256 computed");
	}
	X509_free(x);
}

static void load_errors(void)
{
	char err[512];

	ok(tls_load_cert(p("nonexistent.pem"), err, sizeof err) == NULL &&
	   strstr(err, "nonexistent.pem: cannot open"), "missing certificate file named");
	ok(tls_load_cert(p("ca.key"), err, sizeof err) == NULL && strstr(err, "no PEM certificate"),
	   "a key is not a certificate");
	ok(tls_server_ctx(p("dcdn-ec.pem"), p("csp-ec.key"), NULL, err, sizeof err) == NULL &&
	   strstr(err, "csp-ec.key") && strstr(err, "matching"), "mismatched key refused, file named");
	ok(tls_client_ctx(p("nope.pem"), NULL, NULL, err, sizeof err) == NULL && strstr(err, "nope.pem"),
	   "missing CA named");
}

struct side {
	SSL *ssl;
	int rc;
};

static void *accept_side(void *arg)
{
	struct side *s = arg;
	s->rc = SSL_accept(s->ssl);
	if (s->rc != 1 && getenv("TLS_DEBUG")) {
		char e[512];
		diag("server: %s (verify: %s)", tls_errstr(e, sizeof e), X509_verify_cert_error_string(SSL_get_verify_result(s->ssl)));
	}
	return NULL;
}

/* Handshake server(cert, client CA) with client(ca, client cert); 1 on success. */
static int handshake(const char *cert, const char *key, const char *client_ca, const char *ca,
		     const char *ccert, const char *ckey, const char *sni)
{
	char err[512];
	SSL_CTX *sc = tls_server_ctx(cert, key, client_ca, err, sizeof err);
	SSL_CTX *cc = tls_client_ctx(ca, ccert, ckey, err, sizeof err);
	struct side srv = { 0 };
	pthread_t th;
	int fds[2], crc = -1;
	SSL *c = NULL;

	if (!sc || !cc || socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
		diag("setup failed: %s", err);
		SSL_CTX_free(sc);
		SSL_CTX_free(cc);
		return 0;
	}
	srv.ssl = SSL_new(sc);
	c = SSL_new(cc);
	SSL_set_fd(srv.ssl, fds[0]);
	SSL_set_fd(c, fds[1]);
	SSL_set_tlsext_host_name(c, sni);
	SSL_set1_host(c, sni);
	pthread_create(&th, NULL, accept_side, &srv);
	crc = SSL_connect(c);
	if (crc != 1)
		shutdown(fds[1], SHUT_RDWR); /* let the server side finish */
	pthread_join(th, NULL);
	if (getenv("TLS_DEBUG")) {
		char e[512];
		diag("client %d server %d: %s", crc, srv.rc, tls_errstr(e, sizeof e));
	}
	ERR_clear_error();
	SSL_free(srv.ssl);
	SSL_free(c);
	close(fds[0]);
	close(fds[1]);
	SSL_CTX_free(sc);
	SSL_CTX_free(cc);
	return crc == 1 && srv.rc == 1;
}

int main(void)
{
	const char *env = getenv("CDNI_PKI");

	snprintf(pki, sizeof pki, "%s", env ? env : "build/pki");
	spki_matches_openssl();
	load_errors();
	ok(handshake(p("dcdn-ec.chain.pem"), p("dcdn-ec.key"), NULL, p("ca.pem"), NULL, NULL,
		     "edge.dcdn.test"), "server-auth handshake verifies the name");
	ok(!handshake(p("dcdn-ec.chain.pem"), p("dcdn-ec.key"), NULL, p("ca.pem"), NULL, NULL,
		      "www.csp.test"), "wrong name fails verification");
	ok(!handshake(p("rogue-csp.chain.pem"), p("rogue-csp.key"), NULL, p("ca.pem"), NULL, NULL,
		      "www.csp.test"), "untrusted CA fails verification");
	ok(handshake(p("ks-server.chain.pem"), p("ks-server.key"), p("ks-ca.pem"), p("ks-ca.pem"),
		     p("ks-client.chain.pem"), p("ks-client.key"), "keyserver.test"),
	   "mutual TLS with a client certificate");
	ok(!handshake(p("ks-server.chain.pem"), p("ks-server.key"), p("ks-ca.pem"), p("ks-ca.pem"),
		      NULL, NULL, "keyserver.test"), "mutual TLS refuses a client without certificate");
	ok(!handshake(p("ks-server.chain.pem"), p("ks-server.key"), p("ks-ca.pem"), p("ks-ca.pem"),
		      p("dcdn-ec.chain.pem"), p("dcdn-ec.key"), "keyserver.test"),
	   "mutual TLS refuses a client certificate from another CA");
	return done_testing();
}
