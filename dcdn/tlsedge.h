/* cdni-dcdn — the edge's TLS beyond plain cert+key files:
 *
 *  - keyless: HTTPS listeners with a certificate and no key present the
 *    CSP's certificates (chosen by SNI among "keyless.certs") while every
 *    private-key operation goes to a key server through keyless/client.h.
 *    GnuTLS gets an external private key (gnutls_privkey_import_ext4) whose
 *    callbacks call the key server; libmicrohttpd hands out the certificate
 *    and that key from its certificate callback (CERT_CALLBACK2). No private
 *    key of the CSP is ever read by the edge.
 *  - session tickets: every TLS connection gets the ticket key of
 *    "ticket_key" (64 bytes, shared by every edge instance of the dCDN), so
 *    resumed sessions (TLS 1.3 and 1.2 tickets) complete without the key
 *    server. A new file + SIGHUP rotates it.
 *
 * One tlsedge per process: GnuTLS's certificate callback has no user
 * pointer, so the active one is process-wide. */
#ifndef CDNI_DCDN_TLSEDGE_H
#define CDNI_DCDN_TLSEDGE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/conf.h"
#include "common/httpd.h"
#include "keyless/client.h"

struct kledge_conf {
	struct ks_client_conf key_server; /* servers, mutual-TLS files, deadlines */
	struct conf_strlist certs;        /* PEM chains the edge presents, leaf first */
};
extern const struct conf_item kledge_conf_table[];

/* Checks beyond types; path names the object in messages. */
int kledge_conf_check(const struct kledge_conf *c, const char *path, char *err, size_t errlen);
static inline bool kledge_enabled(const struct kledge_conf *c)
{
	return c->certs.n > 0;
}

struct tlsedge;

/* kc may be NULL or disabled (tickets only); ticket_key may be NULL (no
 * tickets shared: GnuTLS then issues none). */
int tlsedge_new(const struct kledge_conf *kc, const char *ticket_key, struct tlsedge **out,
		char *err, size_t errlen);
void tlsedge_free(struct tlsedge *t);
/* Re-read the ticket key file (rotation); the old key is wiped. */
int tlsedge_reload(struct tlsedge *t, char *err, size_t errlen);
/* The gnutls_certificate_retrieve_function3 for keyless listeners, or NULL
 * when keyless is off. */
httpd_cert_fn tlsedge_cert_callback(const struct tlsedge *t);
/* Call for every new TLS connection (a gnutls_session_t) before its
 * handshake: installs the ticket key, and on a keyless listener the keyless
 * certificates. */
void tlsedge_session_new(struct tlsedge *t, void *gnutls_session, bool keyless);

#endif
