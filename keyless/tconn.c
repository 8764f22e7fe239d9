/* cdni keyless — non-blocking TLS connection with frame splitting. */
#include "keyless/tconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "common/tls.h"
#include "keyless/proto.h"

#define READ_CHUNK 16384

int ks_tconn_init(struct ks_tconn *c, int fd, SSL_CTX *ctx, int server)
{
	memset(c, 0, sizeof *c);
	c->fd = fd;
	buf_init(&c->out, 0);
	c->ssl = SSL_new(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
		SSL_free(c->ssl);
		c->ssl = NULL;
		return CDNI_ETLS;
	}
	SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* a peer that closes TCP without close_notify has just gone away */
	SSL_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (server)
		SSL_set_accept_state(c->ssl);
	else
		SSL_set_connect_state(c->ssl);
	return 0;
}

void ks_tconn_free(struct ks_tconn *c, int polite)
{
	if (c->ssl) {
		if (polite && c->established)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		ERR_clear_error();
	}
	if (c->fd >= 0)
		close(c->fd);
	if (c->in)
		OPENSSL_clear_free(c->in, c->in_cap);
	buf_free_secure(&c->out);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

/* Classify an SSL_* failure: CDNI_EBUSY (retry on events), ECLOSED or an error. */
static int ssl_status(struct ks_tconn *c, int ret, int reading)
{
	int e = SSL_get_error(c->ssl, ret);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		if (!reading)
			c->write_wants_read = 1;
		return CDNI_EBUSY;
	case SSL_ERROR_WANT_WRITE:
		if (reading)
			c->read_wants_write = 1;
		return CDNI_EBUSY;
	case SSL_ERROR_ZERO_RETURN:
		c->eof = 1;
		return CDNI_ECLOSED;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && (ret == 0 || errno == 0 || errno == ECONNRESET)) {
			c->eof = 1;
			ERR_clear_error();
			return CDNI_ECLOSED;
		}
		ERR_clear_error();
		return CDNI_EIO;
	default:
		return CDNI_ETLS;
	}
}

int ks_tconn_handshake(struct ks_tconn *c, char *err, size_t errlen)
{
	int ret, rc;

	if (c->established)
		return 0;
	ERR_clear_error();
	errno = 0;
	ret = SSL_do_handshake(c->ssl);
	if (ret == 1) {
		c->established = 1;
		c->read_wants_write = c->write_wants_read = 0;
		return 0;
	}
	c->read_wants_write = c->write_wants_read = 0;
	rc = ssl_status(c, ret, 1);
	if (rc == CDNI_EBUSY) {
		/* handshake reads and writes: map both wants to the read side */
		if (SSL_want_read(c->ssl))
			c->write_wants_read = 1;
		return CDNI_EBUSY;
	}
	if (err && errlen) {
		char ossl[256];
		long vr = SSL_get_verify_result(c->ssl);
		tls_errstr(ossl, sizeof ossl);
		snprintf(err, errlen, "TLS handshake failed: %s%s%s", *ossl ? ossl :
			 rc == CDNI_ECLOSED ? "peer closed" : "I/O error",
			 vr != X509_V_OK ? "; certificate: " : "",
			 vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "");
	}
	ERR_clear_error();
	return rc == CDNI_ECLOSED || rc == CDNI_EIO ? rc : CDNI_ETLS;
}

static int in_reserve(struct ks_tconn *c, size_t extra)
{
	uint8_t *p;
	size_t cap;

	if (c->in_off && (c->in_off == c->in_len || c->in_cap - c->in_len < extra)) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	if (c->in_cap - c->in_len >= extra)
		return 0;
	cap = c->in_cap * 2 > c->in_len + extra ? c->in_cap * 2 : c->in_len + extra;
	p = malloc(cap);
	if (!p)
		return CDNI_ENOMEM;
	if (c->in) {
		memcpy(p, c->in, c->in_len);
		OPENSSL_clear_free(c->in, c->in_cap);
	}
	c->in = p;
	c->in_cap = cap;
	return 0;
}

int ks_tconn_read(struct ks_tconn *c, size_t max)
{
	int ret, rc;

	c->read_wants_write = 0;
	while (c->in_len - c->in_off < max) {
		if ((rc = in_reserve(c, READ_CHUNK)))
			return rc;
		ERR_clear_error();
		errno = 0;
		ret = SSL_read(c->ssl, c->in + c->in_len, READ_CHUNK);
		if (ret <= 0) {
			rc = ssl_status(c, ret, 1);
			return rc == CDNI_EBUSY ? 0 : rc;
		}
		c->in_len += (size_t)ret;
	}
	return 1; /* stopped at max: there may be more */
}

int ks_tconn_has_buffered(const struct ks_tconn *c)
{
	return c->ssl && SSL_pending(c->ssl) > 0;
}

int ks_tconn_frame(struct ks_tconn *c, const uint8_t **frame, size_t *len)
{
	size_t n = ks_frame_len(c->in + c->in_off, c->in_len - c->in_off);

	if (!n)
		return 0;
	*frame = c->in + c->in_off;
	*len = n;
	return 1;
}

void ks_tconn_consume(struct ks_tconn *c, size_t len)
{
	c->in_off += len;
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
}

size_t ks_tconn_partial(const struct ks_tconn *c)
{
	return c->in_len - c->in_off;
}

int ks_tconn_flush(struct ks_tconn *c)
{
	int ret, rc;

	c->write_wants_read = 0;
	while (c->out_off < c->out.len) {
		size_t n = c->out.len - c->out_off;
		ERR_clear_error();
		errno = 0;
		ret = SSL_write(c->ssl, c->out.data + c->out_off, n > INT32_MAX ? INT32_MAX : (int)n);
		if (ret <= 0) {
			rc = ssl_status(c, ret, 0);
			return rc == CDNI_ECLOSED ? CDNI_EIO : rc;
		}
		c->out_off += (size_t)ret;
	}
	c->out.len = c->out_off = 0;
	if (c->out.cap > 256 * 1024) /* give back a burst's memory */
		buf_free_secure(&c->out);
	return 0;
}

size_t ks_tconn_unsent(const struct ks_tconn *c)
{
	return c->out.len - c->out_off;
}

uint32_t ks_tconn_events(const struct ks_tconn *c, int want_read)
{
	uint32_t ev = 0;

	if (!c->established)
		return c->write_wants_read ? EPOLLIN : EPOLLOUT;
	if ((want_read && !c->eof) || c->write_wants_read)
		ev |= EPOLLIN;
	if (ks_tconn_unsent(c) || c->read_wants_write)
		ev |= EPOLLOUT;
	return ev;
}

static void peer_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
			port = ntohs(s4->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
			port = ntohs(s6->sin6_port);
		}
	}
	snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
}

int ks_tconn_peer(const struct ks_tconn *c, struct ks_peer *peer)
{
	X509 *x = SSL_get0_peer_certificate(c->ssl);
	int rc = 0;

	memset(peer, 0, sizeof *peer);
	peer_addr(c->fd, peer->addr, sizeof peer->addr);
	if (!x)
		return CDNI_ENOTFOUND;
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, peer->cn,
				      sizeof peer->cn) < 0)
		peer->cn[0] = '\0';
	if (tls_spki_sha256(x, peer->spki))
		rc = CDNI_ETLS;
	return rc;
}

int ks_tls_version(const char *name)
{
	if (!name)
		return 0;
	if (strcmp(name, "1.2") == 0)
		return TLS1_2_VERSION;
	if (strcmp(name, "1.3") == 0)
		return TLS1_3_VERSION;
	return 0;
}

void ks_sigpipe_block(sigset_t *old)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &s, old);
}

void ks_sigpipe_restore(const sigset_t *old)
{
	struct timespec zero = { 0, 0 };
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	while (!sigismember(old, SIGPIPE) && sigtimedwait(&s, NULL, &zero) > 0)
		;
	pthread_sigmask(SIG_SETMASK, old, NULL);
}
