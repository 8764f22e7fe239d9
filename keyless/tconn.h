/* cdni keyless — one non-blocking TLS connection carrying key-server
 * frames, shared by the server and the client library.
 *
 * The owner runs the event loop: it calls ks_tconn_handshake() until it
 * returns 0, then ks_tconn_read() when the socket is readable and
 * ks_tconn_flush() when it is writable, takes whole frames with
 * ks_tconn_frame(), and asks ks_tconn_events() which epoll events to wait
 * for. Plaintext to send is appended to ->out. */
#ifndef CDNI_KEYLESS_TCONN_H
#define CDNI_KEYLESS_TCONN_H

#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "common/buf.h"
#include "keyless/policy.h"

struct ks_tconn {
	int fd;
	SSL *ssl;
	int established;
	uint8_t *in;             /* received plaintext */
	size_t in_off, in_len, in_cap;
	struct buf out;          /* plaintext to send; out_off bytes already sent */
	size_t out_off;
	int read_wants_write;    /* SSL_read asked for a writable socket */
	int write_wants_read;    /* SSL_write asked for a readable socket */
	int eof;                 /* peer closed (close_notify or TCP FIN) */
};

/* Take fd (non-blocking) and make the SSL object. 0 or CDNI_ETLS/ENOMEM. */
int ks_tconn_init(struct ks_tconn *c, int fd, SSL_CTX *ctx, int server);
/* Free everything, wiping buffers; closes fd. Sends no close_notify unless
 * polite is set (best effort, non-blocking). */
void ks_tconn_free(struct ks_tconn *c, int polite);

/* Drive the handshake: 0 when done, CDNI_EBUSY when it needs more events,
 * CDNI_ETLS (message in err) when it failed. */
int ks_tconn_handshake(struct ks_tconn *c, char *err, size_t errlen);
/* Read what the socket has (at most until in holds max bytes). 0 when the
 * socket is dry (it would block), 1 when max was reached first (there may be
 * more), CDNI_ECLOSED at end of stream, CDNI_EIO or CDNI_ETLS on errors. */
int ks_tconn_read(struct ks_tconn *c, size_t max);
/* Whether SSL holds decrypted bytes not yet read (no event will come). */
int ks_tconn_has_buffered(const struct ks_tconn *c);
/* A whole frame at the head of the input: 1 (frame, len set), 0 if none yet.
 * Consume it with ks_tconn_consume(). */
int ks_tconn_frame(struct ks_tconn *c, const uint8_t **frame, size_t *len);
void ks_tconn_consume(struct ks_tconn *c, size_t len);
/* Bytes waiting in the input that are not a whole frame. */
size_t ks_tconn_partial(const struct ks_tconn *c);
/* Write what out holds: 0 when all is sent, CDNI_EBUSY when the socket is
 * full, CDNI_EIO/CDNI_ETLS on errors. */
int ks_tconn_flush(struct ks_tconn *c);
size_t ks_tconn_unsent(const struct ks_tconn *c);
/* EPOLLIN/EPOLLOUT wanted now; want_read says whether the owner accepts
 * more input. */
uint32_t ks_tconn_events(const struct ks_tconn *c, int want_read);

/* The peer's identity from its certificate (CN, SPKI SHA-256) and address. */
int ks_tconn_peer(const struct ks_tconn *c, struct ks_peer *peer);

/* Writes to a closed socket raise SIGPIPE in the writing thread; the
 * library's threads block it (the write then fails with EPIPE), and calls
 * that may write from a caller's thread bracket themselves with these. */
void ks_sigpipe_block(sigset_t *old);
void ks_sigpipe_restore(const sigset_t *old);

/* Parse a TLS version name ("1.2", "1.3"); 0 if unknown. */
int ks_tls_version(const char *name);

#endif
