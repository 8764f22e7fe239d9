/* keyless/client: the client library against an in-process cdni-keyserver
 * and against a scripted fake key server (a TLS thread in this test) that
 * answers in reverse order, never answers, or drops the connection:
 * out-of-order matching, deadlines, health pings, failover order, fail-fast
 * when every server is down, retry of a dropped request, reconnect with
 * back-off, many threads at once, and shutdown with requests in flight.
 * Needs the test PKI (make pki; $CDNI_PKI). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "common/tap.h"
#include "common/tls.h"
#include "keyless/client.h"
#include "keyless/keys.h"
#include "keyless/server.h"

static char pki[512], tmpdir[64];

static const char *pki_file(const char *name)
{
	static char bufs[8][600];
	static int i;
	char *b = bufs[i++ % 8];

	snprintf(b, sizeof bufs[0], "%s/%s", pki, name);
	return b;
}

/* ---- a scripted fake key server ---- */

enum fmode { F_REVERSE, F_SILENT, F_CLOSE_AFTER_ONE };

struct fake {
	int lfd, port, batch;
	enum fmode mode;
	SSL_CTX *ctx;
	pthread_t th;
	atomic_int stop, conns;
};

static int listen_any(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &sl))
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

/* A port nothing listens on. */
static int dead_port(void)
{
	int port = 0, fd = listen_any(&port);

	close(fd);
	return port;
}

/* Read exactly n bytes; -1 on EOF, error, or stop. */
static int read_n(struct fake *f, SSL *s, uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n && !atomic_load(&f->stop)) {
		int r = SSL_read(s, p + got, (int)(n - got));
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		int e = SSL_get_error(s, r);
		if (e != SSL_ERROR_WANT_READ && !(e == SSL_ERROR_SYSCALL && errno == EAGAIN))
			return -1;
		ERR_clear_error();
	}
	return got == n ? 0 : -1;
}

static int read_frame(struct fake *f, SSL *s, uint8_t *frame, size_t *len)
{
	if (read_n(f, s, frame, 8))
		return -1;
	*len = 8 + ((size_t)frame[2] << 8 | frame[3]);
	return read_n(f, s, frame + 8, *len - 8);
}

/* Answer a request frame: echo its payload (ping -> pong, else response). */
static void answer(SSL *s, const uint8_t *req, size_t len)
{
	struct ks_header h;
	struct ks_msg m;
	uint8_t out[2048];
	size_t n = 0;

	if (ks_header_parse(req, len, &h) || ks_msg_parse(req + 8, len - 8, &m))
		return;
	if (!ks_write_response(h.id, m.opcode == KS_OP_PING ? KS_OP_PONG : KS_OP_RESPONSE,
			       m.payload.p, m.payload.len, out, sizeof out, &n))
		SSL_write(s, out, (int)n);
}

static void serve_reverse(struct fake *f, SSL *s)
{
	static uint8_t frames[16][2048];
	size_t lens[16];

	for (;;) {
		for (int i = 0; i < f->batch; i++)
			if (read_frame(f, s, frames[i], &lens[i]))
				return;
		for (int i = f->batch - 1; i >= 0; i--)
			answer(s, frames[i], lens[i]);
	}
}

static void serve_conn(struct fake *f, SSL *s)
{
	uint8_t frame[2048];
	size_t len;

	switch (f->mode) {
	case F_REVERSE:
		serve_reverse(f, s);
		break;
	case F_SILENT:
		while (!read_frame(f, s, frame, &len))
			;
		break;
	case F_CLOSE_AFTER_ONE:
		read_frame(f, s, frame, &len);
		break;
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	struct timeval tv = { 0, 50000 };

	while (!atomic_load(&f->stop)) {
		struct pollfd p = { .fd = f->lfd, .events = POLLIN };
		int fd;
		SSL *s;
		if (poll(&p, 1, 50) != 1 || (fd = accept(f->lfd, NULL, NULL)) < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		s = SSL_new(f->ctx);
		SSL_set_fd(s, fd);
		atomic_fetch_add(&f->conns, 1);
		if (SSL_accept(s) == 1)
			serve_conn(f, s);
		SSL_free(s);
		close(fd);
		ERR_clear_error();
	}
	return NULL;
}

static void fake_start(struct fake *f, enum fmode mode, int batch)
{
	char err[256];

	memset(f, 0, sizeof *f);
	f->mode = mode;
	f->batch = batch;
	f->ctx = tls_server_ctx(pki_file("ks-server.pem"), pki_file("ks-server.key"),
				pki_file("ks-ca.pem"), err, sizeof err);
	f->lfd = listen_any(&f->port);
	if (!f->ctx || f->lfd < 0 || pthread_create(&f->th, NULL, fake_main, f))
		diag("fake server: %s", err);
}

static void fake_stop(struct fake *f)
{
	atomic_store(&f->stop, 1);
	pthread_join(f->th, NULL);
	close(f->lfd);
	SSL_CTX_free(f->ctx);
}

/* ---- a real in-process key server ---- */

static struct ks_server_conf sconf;

static struct ks_server *server_start(int port, int *bound)
{
	char path[128], json[2048], err[512], ready[256];
	struct ks_server *s = NULL;
	FILE *f;

	snprintf(path, sizeof path, "%s/ks.json", tmpdir);
	snprintf(json, sizeof json,
		 "{\"listen\":{\"address\":\"127.0.0.1\",\"port\":%d},"
		 "\"tls\":{\"cert\":\"%s\",\"key\":\"%s\",\"client_ca\":\"%s\"},"
		 "\"keys_dir\":\"%s/keys\",\"access_log\":\"\",\"workers\":2}",
		 port, pki_file("ks-server.pem"), pki_file("ks-server.key"), pki_file("ks-ca.pem"),
		 tmpdir);
	if (!(f = fopen(path, "w")) || fputs(json, f) < 0 || fclose(f) ||
	    ks_server_conf_load(path, &sconf, err, sizeof err) ||
	    ks_server_new(&sconf, &s, err, sizeof err) ||
	    ks_server_start(s, ready, sizeof ready, err, sizeof err)) {
		diag("server: %s", err);
		return NULL;
	}
	if (sscanf(ready, "keyless=%*[^:]:%d", bound) != 1)
		diag("ready line: %s", ready);
	return s;
}

static void server_stop(struct ks_server *s)
{
	ks_server_free(s);
	ks_server_conf_free(&sconf);
}

/* ---- clients ---- */

static struct ks_client *client(const int *ports, size_t n, long long ping_ms)
{
	static char names[4][32];
	static char *v[4];
	struct ks_client_conf c = { 0 };
	struct ks_client *cl = NULL;
	char err[512];

	ks_client_conf_defaults(&c);
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof names[i], "127.0.0.1:%d", ports[i]);
		v[i] = names[i];
	}
	c.servers.v = v;
	c.servers.n = n;
	c.ca = (char *)(uintptr_t)pki_file("ks-ca.pem");
	c.cert = (char *)(uintptr_t)pki_file("ks-client.pem");
	c.key = (char *)(uintptr_t)pki_file("ks-client.key");
	c.ping_interval_ms = ping_ms;
	c.connect_timeout_ms = 500;
	c.backoff_min_ms = 50;
	c.backoff_max_ms = 200;
	if (ks_client_new(&c, &cl, err, sizeof err))
		diag("client: %s", err);
	return cl;
}

struct pinger {
	struct ks_client *cl;
	char tag[8];
	int rc;
	uint8_t got[16];
	size_t len;
};

static void *ping_thread(void *arg)
{
	struct pinger *p = arg;
	struct ks_msg m;
	uint8_t op = 0;

	p->len = sizeof p->got;
	ks_msg_init(&m, KS_OP_PING);
	ks_msg_set_payload(&m, p->tag, strlen(p->tag));
	p->rc = ks_client_call(p->cl, &m, 3000, p->got, &p->len, &op);
	if (!p->rc && op != KS_OP_PONG)
		p->rc = -100;
	return NULL;
}

static void test_out_of_order(void)
{
	struct fake f;
	struct pinger p[3];
	pthread_t th[3];
	struct ks_client *cl;
	int good = 1;

	fake_start(&f, F_REVERSE, 3);
	cl = client(&f.port, 1, 0);
	for (int i = 0; i < 3; i++) {
		p[i] = (struct pinger){ .cl = cl };
		snprintf(p[i].tag, sizeof p[i].tag, "req-%c", 'A' + i);
		pthread_create(&th[i], NULL, ping_thread, &p[i]);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		good &= p[i].rc == 0 && p[i].len == 5 && !memcmp(p[i].got, p[i].tag, 5);
	}
	ok(good, "three requests in flight on one connection, answered in reverse order: "
		 "each caller gets its own answer");
	is_int(atomic_load(&f.conns), 1, "over a single connection");
	ks_client_free(cl);
	fake_stop(&f);
}

static void test_deadline_and_pings(void)
{
	struct fake f;
	struct ks_client *cl;
	struct ks_client_stats st;
	uint8_t ski[20] = { 0 }, out[512];
	size_t outlen = sizeof out;
	long long t0;
	int rc;

	fake_start(&f, F_SILENT, 1);
	cl = client(&f.port, 1, 100);
	t0 = now_us();
	rc = ks_client_sign(cl, ski, KS_OP_ECDSA_SIGN_SHA256, ski, 20, out, &outlen, 300);
	t0 = now_us() - t0;
	is_int(rc, CDNI_ETIMEDOUT, "a server that never answers: CDNI_ETIMEDOUT");
	ok(t0 >= 290000 && t0 < 1500000, "at the deadline (300 ms; took %lld ms)", t0 / 1000);
	for (int i = 0; i < 100; i++) {
		ks_client_stats(cl, &st);
		if (st.pings_lost)
			break;
		usleep(20000);
	}
	ok(st.pings_lost >= 1, "an unanswered health ping gets the connection replaced");
	ok(st.timeouts >= 1, "the timeout is counted");
	ks_client_free(cl);
	fake_stop(&f);
}

struct done_rec {
	atomic_int n, rc, server;
};

static void record_cb(void *arg, int rc, const struct ks_reply *r)
{
	struct done_rec *d = arg;

	atomic_store(&d->rc, rc);
	atomic_store(&d->server, r ? r->server : -1);
	atomic_fetch_add(&d->n, 1);
}

static int wait_done(struct done_rec *d, int want, int ms)
{
	for (int i = 0; i < ms / 10 && atomic_load(&d->n) < want; i++)
		usleep(10000);
	return atomic_load(&d->n) >= want;
}

static int ping_async(struct ks_client *cl, struct done_rec *d)
{
	struct ks_msg m;

	ks_msg_init(&m, KS_OP_PING);
	return ks_client_submit(cl, &m, 3000, record_cb, d);
}

static void test_failover(int port)
{
	int dead = dead_port(), list1[2] = { dead, port }, list2[2] = { port, port };
	struct done_rec d = { 0 };
	struct ks_client *cl = client(list1, 2, 0);
	long long rtt;

	is_int(ks_client_ping(cl, 3000, &rtt), 0, "first server down, second up: ping answered");
	ping_async(cl, &d);
	ok(wait_done(&d, 1, 3000) && d.rc == 0 && d.server == 1, "by the second server");
	ks_client_free(cl);
	cl = client(list2, 2, 0);
	d = (struct done_rec){ 0 };
	ping_async(cl, &d);
	ok(wait_done(&d, 1, 3000) && d.rc == 0 && d.server == 0,
	   "both up: the first in the list answers");
	ks_client_free(cl);
}

static void test_all_down(void)
{
	int ports[2] = { dead_port(), dead_port() };
	struct ks_client *cl = client(ports, 2, 0);
	long long t0 = now_us();
	int rc = ks_client_ping(cl, 5000, NULL);

	t0 = now_us() - t0;
	is_int(rc, CDNI_EUPSTREAM, "no server reachable: CDNI_EUPSTREAM");
	ok(t0 < 2000000, "without waiting for the 5 s deadline (%lld ms)", t0 / 1000);
	ks_client_free(cl);
}

static void test_retry_elsewhere(int port)
{
	struct fake f;
	struct ks_client *cl;
	struct ks_client_stats st;
	int ports[2];

	fake_start(&f, F_CLOSE_AFTER_ONE, 1);
	ports[0] = f.port;
	ports[1] = port;
	cl = client(ports, 2, 0);
	usleep(200000); /* both connections up */
	is_int(ks_client_ping(cl, 3000, NULL), 0,
	       "a request on a connection that drops is retried on the next server");
	ks_client_stats(cl, &st);
	ok(st.retries >= 1, "and counted as a retry (%llu)", st.retries);
	ks_client_free(cl);
	fake_stop(&f);
}

static void test_reconnect(struct ks_server **srv, int port)
{
	struct ks_client *cl = client(&port, 1, 0);
	struct ks_client_stats st;
	int rc = -1, bound = 0;

	is_int(ks_client_ping(cl, 3000, NULL), 0, "connected");
	server_stop(*srv);
	*srv = NULL;
	rc = ks_client_ping(cl, 500, NULL);
	ok(rc == CDNI_EUPSTREAM || rc == CDNI_ETIMEDOUT, "server gone: %s", cdni_strerror(rc));
	*srv = server_start(port, &bound);
	ok(*srv && bound == port, "server back on the same port");
	for (int i = 0; i < 50 && (rc = ks_client_ping(cl, 500, NULL)); i++)
		usleep(50000);
	is_int(rc, 0, "the client reconnects by itself (back-off 50..200 ms)");
	ks_client_stats(cl, &st);
	ok(st.connects >= 2 && st.connected == 1, "connects %llu, connected %u", st.connects,
	   st.connected);
	ks_client_free(cl);
}

struct signer {
	struct ks_client *cl;
	EVP_PKEY *pub;
	uint8_t ski[20];
	int good;
};

static void *sign_thread(void *arg)
{
	struct signer *s = arg;
	uint8_t dig[32], sig[512];

	for (int i = 0; i < 40; i++) {
		size_t len = sizeof sig;
		EVP_PKEY_CTX *c;
		RAND_bytes(dig, sizeof dig);
		if (ks_client_sign(s->cl, s->ski, KS_OP_ECDSA_SIGN_SHA256, dig, 32, sig, &len, 5000))
			return NULL;
		c = EVP_PKEY_CTX_new(s->pub, NULL);
		if (!c || EVP_PKEY_verify_init(c) != 1 || EVP_PKEY_verify(c, sig, len, dig, 32) != 1) {
			EVP_PKEY_CTX_free(c);
			return NULL;
		}
		EVP_PKEY_CTX_free(c);
		s->good++;
	}
	return NULL;
}

static void test_threads(int port)
{
	struct ks_client *cl = client(&port, 1, 0);
	X509 *x = tls_load_cert(pki_file("csp-ec.pem"), NULL, 0);
	EVP_PKEY *pub = X509_get_pubkey(x);
	struct signer s[8];
	pthread_t th[8];
	int total = 0;
	uint8_t sig[8], dig[32] = { 0 };
	size_t len = sizeof sig;

	for (int i = 0; i < 8; i++) {
		s[i] = (struct signer){ .cl = cl, .pub = pub };
		ks_pkey_ski(pub, s[i].ski);
		pthread_create(&th[i], NULL, sign_thread, &s[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		total += s[i].good;
	}
	is_int(total, 320, "8 threads x 40 ECDSA signatures through one client all verify");
	is_int(ks_client_sign(cl, s[0].ski, KS_OP_ECDSA_SIGN_SHA256, dig, 32, sig, &len, 3000),
	       CDNI_EOVERFLOW, "an output buffer too small: CDNI_EOVERFLOW");
	memset(s[0].ski, 0x77, 20);
	len = sizeof sig;
	is_int(ks_client_sign(cl, s[0].ski, KS_OP_ECDSA_SIGN_SHA256, dig, 32, sig, &len, 3000),
	       CDNI_ENOTFOUND, "an unknown SKI: CDNI_ENOTFOUND from the key server's answer");
	is_int(ks_client_decrypt(cl, s[0].ski, KS_OP_ECDSA_SIGN_SHA256, dig, 32, sig, &len, 3000),
	       CDNI_EINVAL, "decrypt with a signing opcode is refused locally");
	EVP_PKEY_free(pub);
	X509_free(x);
	ks_client_free(cl);
}

static void test_free_in_flight(void)
{
	struct fake f;
	struct done_rec d = { 0 };
	struct ks_client *cl;

	fake_start(&f, F_SILENT, 1);
	cl = client(&f.port, 1, 0);
	for (int i = 0; i < 5; i++)
		ping_async(cl, &d);
	usleep(200000);
	ks_client_free(cl);
	ok(atomic_load(&d.n) == 5 && atomic_load(&d.rc) == CDNI_ECLOSED,
	   "freeing the client completes the requests in flight with CDNI_ECLOSED");
	fake_stop(&f);
}

static int setup(void)
{
	const char *p = getenv("CDNI_PKI");
	char cmd[1400];

	snprintf(pki, sizeof pki, "%s", p ? p : "build/pki");
	if (access(pki_file("ks-server.pem"), R_OK))
		return -1;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/cdni-kstest.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(cmd, sizeof cmd, "mkdir %s/keys && cp %s %s %s/keys/", tmpdir,
		 pki_file("csp-rsa.key"), pki_file("csp-ec.key"), tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	struct ks_server *srv;
	char cmd[128];
	int port = 0;

	log_init("test_client", getenv("KS_DEBUG") ? LOG_DEBUG : LOG_ERR);
	signal(SIGPIPE, SIG_IGN); /* the fake server writes to clients that went away */
	if (setup()) {
		printf("1..0 # SKIP no test PKI (make pki)\n");
		return 0;
	}
	srv = server_start(0, &port);
	ok(srv != NULL, "in-process key server on port %d", port);
	test_out_of_order();
	test_deadline_and_pings();
	test_failover(port);
	test_all_down();
	test_retry_elsewhere(port);
	test_threads(port);
	test_reconnect(&srv, port);
	test_free_in_flight();
	if (srv)
		server_stop(srv);
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd))
		diag("cannot remove %s", tmpdir);
	return done_testing();
}
