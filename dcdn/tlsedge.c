#include "dcdn/tlsedge.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "common/tls.h"
#include "dcdn/klmap.h"
#include "keyless/keys.h"

#define T struct kledge_conf
const struct conf_item kledge_conf_table[] = {
	CONF_OBJ("key_server", T, key_server, ks_client_conf_table, 0,
		 "the key servers and this edge's mutual-TLS identity towards them"),
	CONF_STRS("certs", T, certs, 0,
		  "PEM certificate chains (leaf first) presented by keyless listeners, chosen by SNI"),
	CONF_END
};
#undef T

#define MAX_CHAIN 16
#define TICKET_LEN 64 /* gnutls_session_ticket_key_generate's size */
#define SIG_MAX 1024

/* One certificate chain the edge presents, with the external key that
 * stands for its private key. */
struct kl_cert {
	struct tlsedge *t;
	gnutls_pcert_st pcerts[MAX_CHAIN];
	unsigned n;
	gnutls_x509_crt_t leaf;
	gnutls_privkey_t key;
	bool given; /* pcerts and key now belong to the tlsedge's credentials */
	int pk;
	unsigned bits;
	uint8_t ski[KS_SKI_LEN];
	char file[256];
};

/* Certificates for the same names (an RSA and an ECDSA one, say) share a
 * credentials object, so GnuTLS chooses among them by the client's suites
 * and signature algorithms; the group is chosen by SNI (wildcards too). */
struct kl_group {
	gnutls_certificate_credentials_t cred;
	const struct kl_cert *first;
	char names[1024]; /* the DNS names, joined: the group's identity */
};

/* A ticket key; old ones stay until the end in case GnuTLS kept a pointer. */
struct ticket {
	struct ticket *older;
	gnutls_datum_t key;
};

/* TLS 1.2 session-id resumption (clients such as curl turn tickets off):
 * a bounded table of GnuTLS's session data by id, per edge instance. */
#define SID_SLOTS 4096
#define SID_MAX 32
#define SID_TTL_S 3600

struct sid_entry {
	uint8_t id[SID_MAX];
	unsigned idlen;
	unsigned char *data;
	unsigned dlen;
	long long expires;
};

struct tlsedge {
	struct ks_client *ks;
	pthread_mutex_t sid_lock;
	struct sid_entry *sids; /* SID_SLOTS */
	int timeout_ms;
	struct kl_cert *certs;
	size_t ncerts;
	struct kl_group *groups; /* certificates with the same names, one credentials each */
	size_t ngroups;
	char *ticket_path;
	pthread_rwlock_t lock;
	struct ticket *ticket; /* current, under lock */
	atomic_ullong ops, failures;
};

static _Atomic(struct tlsedge *) active;
/* The session whose handshake this thread is running (set by a handshake
 * hook): key callbacks get no session, and a failed key operation answers
 * the client with an alert instead of a bare close. */
static _Thread_local gnutls_session_t handshaking;

static int on_handshake_msg(gnutls_session_t s, unsigned htype, unsigned when, unsigned incoming,
			    const gnutls_datum_t *msg)
{
	(void)htype;
	(void)when;
	(void)incoming;
	(void)msg;
	handshaking = s;
	return 0;
}

/* internal_error: the server could not finish the handshake (RFC 8446 §6.2). */
static void alert_client(void)
{
	if (handshaking)
		(void)gnutls_alert_send(handshaking, GNUTLS_AL_FATAL, GNUTLS_A_INTERNAL_ERROR);
	handshaking = NULL;
}

int kledge_conf_check(const struct kledge_conf *c, const char *path, char *err, size_t errlen)
{
	if (!kledge_enabled(c))
		return 0;
	if (c->key_server.servers.n == 0) {
		snprintf(err, errlen, "%s.key_server.servers: at least one key server is needed", path);
		return CDNI_ECONFIG;
	}
	if (!c->key_server.ca || !c->key_server.cert || !c->key_server.key) {
		snprintf(err, errlen, "%s.key_server: ca, cert and key are needed (mutual TLS)", path);
		return CDNI_ECONFIG;
	}
	return 0;
}

/* ---- the external key: GnuTLS calls these during handshakes ------------- */

static int to_datum(const uint8_t *p, size_t n, gnutls_datum_t *d)
{
	if (!(d->data = gnutls_malloc(n ? n : 1)))
		return GNUTLS_E_MEMORY_ERROR;
	memcpy(d->data, p, n);
	d->size = (unsigned)n;
	return 0;
}

static int ks_sign(struct kl_cert *c, int algo, const gnutls_datum_t *in, gnutls_datum_t *sig)
{
	struct tlsedge *t = c->t;
	struct kl_sign m;
	uint8_t out[SIG_MAX];
	size_t outlen = sizeof out;
	long long t0 = now_us();
	int rc;

	sig->data = NULL;
	sig->size = 0;
	atomic_fetch_add(&t->ops, 1);
	if (kl_sign_map(algo, in->data, in->size, &m)) {
		log_warn("keyless", "%s: no key-server operation for %s over %u bytes", c->file,
			 gnutls_sign_get_name((gnutls_sign_algorithm_t)algo), in->size);
		atomic_fetch_add(&t->failures, 1);
		return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
	}
	rc = ks_client_sign(t->ks, c->ski, m.opcode, m.in, m.len, out, &outlen, t->timeout_ms);
	if (rc) {
		atomic_fetch_add(&t->failures, 1);
		log_warn("keyless", "%s: key server sign op 0x%02x failed after %lld ms: %s", c->file,
			 m.opcode, (now_us() - t0) / 1000, cdni_strerror(rc));
		alert_client();
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	log_debug("keyless", "%s: op 0x%02x signed in %lld us", c->file, m.opcode, now_us() - t0);
	return to_datum(out, outlen, sig);
}

static int on_sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *userdata,
			unsigned flags, const gnutls_datum_t *hash, gnutls_datum_t *sig)
{
	(void)key;
	(void)flags;
	return ks_sign(userdata, (int)algo, hash, sig);
}

static int on_sign_data(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *userdata,
			unsigned flags, const gnutls_datum_t *data, gnutls_datum_t *sig)
{
	(void)key;
	(void)flags;
	if (algo != GNUTLS_SIGN_EDDSA_ED25519) { /* everything else is signed prehashed */
		sig->data = NULL;
		sig->size = 0;
		return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
	}
	return ks_sign(userdata, (int)algo, data, sig);
}

/* TLS 1.2 RSA key transport. The key server answers a bad padding with a
 * value it derives (implicit rejection), so a failure here is a transport
 * failure only; GnuTLS itself also goes on with a random premaster. */
static int on_decrypt(gnutls_privkey_t key, void *userdata, const gnutls_datum_t *ct,
		      gnutls_datum_t *pt)
{
	struct kl_cert *c = userdata;
	uint8_t out[SIG_MAX];
	size_t outlen = sizeof out;
	long long t0 = now_us();
	int rc;

	(void)key;
	pt->data = NULL;
	pt->size = 0;
	atomic_fetch_add(&c->t->ops, 1);
	rc = ks_client_decrypt(c->t->ks, c->ski, KS_OP_RSA_DECRYPT, ct->data, ct->size, out,
			       &outlen, c->t->timeout_ms);
	if (rc) {
		atomic_fetch_add(&c->t->failures, 1);
		log_warn("keyless", "%s: key server decrypt failed: %s", c->file, cdni_strerror(rc));
		alert_client();
		return GNUTLS_E_DECRYPTION_FAILED;
	}
	rc = to_datum(out, outlen, pt);
	OPENSSL_cleanse(out, outlen);
	log_debug("keyless", "%s: op 0x%02x decrypted in %lld us", c->file, KS_OP_RSA_DECRYPT,
		  now_us() - t0);
	return rc;
}

static int on_info(gnutls_privkey_t key, unsigned flags, void *userdata)
{
	const struct kl_cert *c = userdata;

	(void)key;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return c->pk;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return (int)c->bits;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
		return kl_sign_supported(c->pk, (int)GNUTLS_FLAGS_TO_SIGN_ALGO(flags));
	return -1;
}

/* ---- certificates --------------------------------------------------------- */

static int cert_ski(const char *file, uint8_t ski[KS_SKI_LEN], char *err, size_t errlen)
{
	char why[128];
	X509 *x = tls_load_cert(file, why, sizeof why);
	int rc;

	if (!x) {
		snprintf(err, errlen, "%s: %s", file, why);
		return CDNI_ECONFIG;
	}
	rc = ks_pkey_ski(X509_get0_pubkey(x), ski);
	X509_free(x);
	if (rc)
		snprintf(err, errlen, "%s: cannot compute the key's SKI", file);
	return rc ? CDNI_ECONFIG : 0;
}

static int cert_key(struct kl_cert *c, char *err, size_t errlen)
{
	int pk = gnutls_pubkey_get_pk_algorithm(c->pcerts[0].pubkey, &c->bits);

	if (pk != GNUTLS_PK_RSA && pk != GNUTLS_PK_ECDSA && pk != GNUTLS_PK_EDDSA_ED25519) {
		snprintf(err, errlen, "%s: key type %s is not served by key servers", c->file,
			 gnutls_pk_get_name((gnutls_pk_algorithm_t)pk));
		return CDNI_ECONFIG;
	}
	c->pk = pk;
	if (gnutls_privkey_init(&c->key) < 0 ||
	    gnutls_privkey_import_ext4(c->key, c, on_sign_data, on_sign_hash,
				       pk == GNUTLS_PK_RSA ? on_decrypt : NULL, NULL, on_info,
				       0) < 0) {
		snprintf(err, errlen, "%s: GnuTLS refused the external key", c->file);
		return CDNI_ECONFIG;
	}
	return 0;
}

static int cert_load(struct tlsedge *t, struct kl_cert *c, const char *file, char *err,
		     size_t errlen)
{
	c->t = t;
	c->n = MAX_CHAIN;
	snprintf(c->file, sizeof c->file, "%s", file);
	if (gnutls_pcert_list_import_x509_file(c->pcerts, &c->n, file, GNUTLS_X509_FMT_PEM, NULL,
					       NULL, 0) < 0 || c->n == 0) {
		c->n = 0;
		snprintf(err, errlen, "%s: not a PEM certificate chain (at most %d)", file, MAX_CHAIN);
		return CDNI_ECONFIG;
	}
	if (gnutls_x509_crt_init(&c->leaf) < 0 ||
	    gnutls_x509_crt_import(c->leaf, &c->pcerts[0].cert, GNUTLS_X509_FMT_DER) < 0) {
		snprintf(err, errlen, "%s: cannot read the leaf certificate", file);
		return CDNI_ECONFIG;
	}
	if (cert_ski(file, c->ski, err, errlen))
		return CDNI_ECONFIG;
	return cert_key(c, err, errlen);
}

static void cert_free(struct kl_cert *c)
{
	for (unsigned i = 0; !c->given && i < c->n; i++)
		gnutls_pcert_deinit(&c->pcerts[i]);
	if (c->leaf)
		gnutls_x509_crt_deinit(c->leaf);
	if (c->key && !c->given)
		gnutls_privkey_deinit(c->key);
}

#define MAX_NAMES 32

/* The certificate's DNS names joined by spaces ("" if none). */
static void cert_names(const struct kl_cert *c, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < MAX_NAMES; i++) {
		char name[256];
		size_t len = sizeof name - 1;
		int type = gnutls_x509_crt_get_subject_alt_name(c->leaf, i, name, &len, NULL);

		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_SAN_DNSNAME && used + len + 2 < outlen) {
			name[len] = '\0';
			used += (size_t)snprintf(out + used, outlen - used, "%s%s", used ? " " : "", name);
		}
	}
}

static struct kl_group *group_for(struct tlsedge *t, const struct kl_cert *c)
{
	char names[1024];
	struct kl_group *g;

	cert_names(c, names, sizeof names);
	for (size_t i = 0; i < t->ngroups; i++)
		if (strcmp(t->groups[i].names, names) == 0)
			return &t->groups[i];
	g = &t->groups[t->ngroups];
	if (gnutls_certificate_allocate_credentials(&g->cred) < 0)
		return NULL;
	t->ngroups++;
	/* GnuTLS would make a test signature per key: the edge must start (and
	 * serve resumed sessions) while its key servers are down */
	gnutls_certificate_set_flags(g->cred, GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
	g->first = c;
	snprintf(g->names, sizeof g->names, "%s", names);
	return g;
}

/* libmicrohttpd's certificate callback gets no cipher suites, so each
 * keyless connection is given a group's credentials instead (see
 * tlsedge_session_new) and the callback is only the fallback. */
static int cred_build(struct tlsedge *t, char *err, size_t errlen)
{
	if (!(t->groups = calloc(t->ncerts, sizeof *t->groups))) {
		snprintf(err, errlen, "out of memory");
		return CDNI_ENOMEM;
	}
	for (size_t i = 0; i < t->ncerts; i++) {
		struct kl_cert *c = &t->certs[i];
		struct kl_group *g = group_for(t, c);

		if (!g || gnutls_certificate_set_key(g->cred, NULL, 0, c->pcerts, c->n, c->key) < 0) {
			snprintf(err, errlen, "%s: GnuTLS refused the certificate", c->file);
			return CDNI_ECONFIG;
		}
		c->given = true;
	}
	return 0;
}

/* After the ClientHello, before GnuTLS picks a certificate: the group for
 * the SNI name (the first group without one or when none matches). */
static int on_client_hello(gnutls_session_t s)
{
	struct tlsedge *t = atomic_load(&active);
	char name[256];
	size_t len = sizeof name - 1;
	unsigned type;

	if (!t || gnutls_server_name_get(s, name, &len, &type, 0) != 0 || type != GNUTLS_NAME_DNS)
		return 0;
	name[len] = '\0';
	for (size_t i = 0; i < t->ngroups; i++)
		if (gnutls_x509_crt_check_hostname(t->groups[i].first->leaf, name)) {
			gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, t->groups[i].cred);
			break;
		}
	return 0;
}

/* Whether the client can take a certificate of key type pk. */
static int pk_wanted(const struct gnutls_cert_retr_st *info, int pk)
{
	if (!info->pk_algos_length)
		return 1;
	for (unsigned i = 0; i < info->pk_algos_length; i++)
		if ((int)info->pk_algos[i] == pk ||
		    (pk == GNUTLS_PK_RSA && info->pk_algos[i] == GNUTLS_PK_RSA_PSS))
			return 1;
	return 0;
}

/* Best match: SNI and key type, then SNI, then key type, then the first. */
static struct kl_cert *choose(struct tlsedge *t, gnutls_session_t s,
			      const struct gnutls_cert_retr_st *info)
{
	char name[256];
	size_t len = sizeof name - 1;
	unsigned type;
	struct kl_cert *by_name = NULL, *by_pk = NULL;
	int sni = gnutls_server_name_get(s, name, &len, &type, 0) == 0 && type == GNUTLS_NAME_DNS;

	for (size_t i = 0; i < t->ncerts; i++) {
		struct kl_cert *c = &t->certs[i];
		int named = sni && gnutls_x509_crt_check_hostname(c->leaf, name);
		int pk = pk_wanted(info, c->pk);

		if (named && pk)
			return c;
		if (named && !by_name)
			by_name = c;
		if (pk && !by_pk)
			by_pk = c;
	}
	return by_name ? by_name : by_pk ? by_pk : &t->certs[0];
}

static int on_cert(gnutls_session_t s, const struct gnutls_cert_retr_st *info,
		   gnutls_pcert_st **certs, unsigned *ncerts, gnutls_ocsp_data_st **ocsp,
		   unsigned *nocsp, gnutls_privkey_t *key, unsigned *flags)
{
	struct tlsedge *t = atomic_load(&active);
	struct kl_cert *c;

	if (!t || !t->ncerts)
		return -1;
	c = choose(t, s, info);
	log_debug("keyless", "certificate %s for a client taking %u key types", c->file,
		  info->pk_algos_length);
	*certs = c->pcerts;
	*ncerts = c->n;
	*ocsp = NULL;
	*nocsp = 0;
	*key = c->key;
	*flags = 0; /* ours: they live as long as the tlsedge */
	return 0;
}

/* ---- session ids ---------------------------------------------------------- */

static struct sid_entry *sid_slot(struct tlsedge *t, const gnutls_datum_t *key)
{
	uint64_t h = 1469598103934665603ULL;

	for (unsigned i = 0; i < key->size; i++)
		h = (h ^ key->data[i]) * 1099511628211ULL;
	return &t->sids[h % SID_SLOTS];
}

static void sid_clear(struct sid_entry *e)
{
	if (e->data)
		OPENSSL_cleanse(e->data, e->dlen);
	free(e->data);
	memset(e, 0, sizeof *e);
}

static int sid_store(void *ptr, gnutls_datum_t key, gnutls_datum_t data)
{
	struct tlsedge *t = ptr;
	struct sid_entry *e;
	unsigned char *copy;

	if (key.size == 0 || key.size > SID_MAX || !(copy = malloc(data.size ? data.size : 1)))
		return -1;
	memcpy(copy, data.data, data.size);
	pthread_mutex_lock(&t->sid_lock);
	e = sid_slot(t, &key);
	sid_clear(e); /* a collision replaces the older session */
	memcpy(e->id, key.data, key.size);
	e->idlen = key.size;
	e->data = copy;
	e->dlen = data.size;
	e->expires = now_us() / 1000000 + SID_TTL_S;
	pthread_mutex_unlock(&t->sid_lock);
	return 0;
}

static bool sid_match(const struct sid_entry *e, const gnutls_datum_t *key)
{
	return e->data && e->idlen == key->size && memcmp(e->id, key->data, key->size) == 0 &&
	       e->expires > now_us() / 1000000;
}

static gnutls_datum_t sid_retrieve(void *ptr, gnutls_datum_t key)
{
	struct tlsedge *t = ptr;
	gnutls_datum_t out = { NULL, 0 };
	struct sid_entry *e;

	if (key.size == 0 || key.size > SID_MAX)
		return out;
	pthread_mutex_lock(&t->sid_lock);
	e = sid_slot(t, &key);
	if (sid_match(e, &key) && (out.data = gnutls_malloc(e->dlen))) {
		memcpy(out.data, e->data, e->dlen);
		out.size = e->dlen;
	}
	pthread_mutex_unlock(&t->sid_lock);
	return out;
}

static int sid_remove(void *ptr, gnutls_datum_t key)
{
	struct tlsedge *t = ptr;
	struct sid_entry *e;

	if (key.size == 0 || key.size > SID_MAX)
		return -1;
	pthread_mutex_lock(&t->sid_lock);
	e = sid_slot(t, &key);
	if (e->data && e->idlen == key.size && memcmp(e->id, key.data, key.size) == 0)
		sid_clear(e);
	pthread_mutex_unlock(&t->sid_lock);
	return 0;
}

static void sid_enable(struct tlsedge *t, gnutls_session_t s)
{
	gnutls_db_set_ptr(s, t);
	gnutls_db_set_store_function(s, sid_store);
	gnutls_db_set_retrieve_function(s, sid_retrieve);
	gnutls_db_set_remove_function(s, sid_remove);
}

/* ---- tickets -------------------------------------------------------------- */

static int ticket_read(const char *path, struct ticket **out, char *err, size_t errlen)
{
	char *data = NULL;
	size_t n = 0;
	struct ticket *tk;

	if (file_read_all(path, TICKET_LEN + 1, &data, &n) || n != TICKET_LEN) {
		if (data)
			OPENSSL_cleanse(data, n);
		free(data);
		snprintf(err, errlen, "ticket_key: '%s' must hold exactly %d bytes (openssl rand -out FILE %d)",
			 path, TICKET_LEN, TICKET_LEN);
		return CDNI_ECONFIG;
	}
	if (!(tk = calloc(1, sizeof *tk))) {
		OPENSSL_cleanse(data, n);
		free(data);
		return CDNI_ENOMEM;
	}
	tk->key.data = (unsigned char *)data;
	tk->key.size = TICKET_LEN;
	*out = tk;
	return 0;
}

static void tickets_free(struct ticket *tk)
{
	while (tk) {
		struct ticket *older = tk->older;

		OPENSSL_cleanse(tk->key.data, tk->key.size);
		free(tk->key.data);
		free(tk);
		tk = older;
	}
}

int tlsedge_reload(struct tlsedge *t, char *err, size_t errlen)
{
	struct ticket *tk;
	int rc;

	if (!t || !t->ticket_path)
		return 0;
	if ((rc = ticket_read(t->ticket_path, &tk, err, errlen)))
		return rc;
	pthread_rwlock_wrlock(&t->lock);
	tk->older = t->ticket;
	t->ticket = tk;
	pthread_rwlock_unlock(&t->lock);
	log_info("tls", "session ticket key rotated from %s", t->ticket_path);
	return 0;
}

void tlsedge_session_new(struct tlsedge *t, void *session, bool keyless)
{
	if (!t || !session)
		return;
	sid_enable(t, (gnutls_session_t)session);
	if (keyless && t->ngroups) {
		if (gnutls_credentials_set((gnutls_session_t)session, GNUTLS_CRD_CERTIFICATE,
					   t->groups[0].cred) < 0)
			log_warn("keyless", "cannot give a connection the keyless certificates");
		gnutls_handshake_set_post_client_hello_function((gnutls_session_t)session,
								on_client_hello);
		gnutls_handshake_set_hook_function((gnutls_session_t)session, GNUTLS_HANDSHAKE_ANY,
						   GNUTLS_HOOK_PRE, on_handshake_msg);
	}
	pthread_rwlock_rdlock(&t->lock);
	if (t->ticket &&
	    gnutls_session_ticket_enable_server((gnutls_session_t)session, &t->ticket->key) < 0)
		log_warn("tls", "cannot enable session tickets on a connection");
	pthread_rwlock_unlock(&t->lock);
}

/* ---- life ----------------------------------------------------------------- */

static int keyless_start(struct tlsedge *t, const struct kledge_conf *kc, char *err,
			 size_t errlen)
{
	if (!kc || !kledge_enabled(kc))
		return 0;
	if (!(t->certs = calloc(kc->certs.n, sizeof *t->certs)))
		return CDNI_ENOMEM;
	for (size_t i = 0; i < kc->certs.n; i++, t->ncerts++)
		if (cert_load(t, &t->certs[i], kc->certs.v[i], err, errlen)) {
			t->ncerts++; /* free what was made of it */
			return CDNI_ECONFIG;
		}
	t->timeout_ms = (int)kc->key_server.timeout_ms;
	if (cred_build(t, err, errlen))
		return CDNI_ECONFIG;
	return ks_client_new(&kc->key_server, &t->ks, err, errlen) ? CDNI_ECONFIG : 0;
}

int tlsedge_new(const struct kledge_conf *kc, const char *ticket_key, struct tlsedge **out,
		char *err, size_t errlen)
{
	struct tlsedge *t = calloc(1, sizeof *t);
	struct tlsedge *none = NULL;

	if (!t || pthread_rwlock_init(&t->lock, NULL) || pthread_mutex_init(&t->sid_lock, NULL) ||
	    !(t->sids = calloc(SID_SLOTS, sizeof *t->sids))) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return CDNI_ENOMEM;
	}
	if ((ticket_key && (!(t->ticket_path = strdup(ticket_key)) ||
			    ticket_read(ticket_key, &t->ticket, err, errlen))) ||
	    keyless_start(t, kc, err, errlen)) {
		tlsedge_free(t);
		return CDNI_ECONFIG;
	}
	if (t->ncerts && !atomic_compare_exchange_strong(&active, &none, t)) {
		snprintf(err, errlen, "keyless: only one keyless edge per process");
		tlsedge_free(t);
		return CDNI_ECONFIG;
	}
	*out = t;
	return 0;
}

void tlsedge_free(struct tlsedge *t)
{
	struct tlsedge *me = t;

	if (!t)
		return;
	atomic_compare_exchange_strong(&active, &me, NULL);
	if (t->ks)
		ks_client_free(t->ks);
	for (size_t i = 0; i < t->ngroups; i++)
		gnutls_certificate_free_credentials(t->groups[i].cred);
	free(t->groups);
	for (size_t i = 0; i < t->ncerts; i++)
		cert_free(&t->certs[i]);
	free(t->certs);
	if (t->ops)
		log_info("keyless", "%llu key-server operations, %llu failed",
			 (unsigned long long)t->ops, (unsigned long long)t->failures);
	tickets_free(t->ticket);
	free(t->ticket_path);
	for (size_t i = 0; t->sids && i < SID_SLOTS; i++)
		sid_clear(&t->sids[i]);
	free(t->sids);
	pthread_mutex_destroy(&t->sid_lock);
	pthread_rwlock_destroy(&t->lock);
	free(t);
}

httpd_cert_fn tlsedge_cert_callback(const struct tlsedge *t)
{
	gnutls_certificate_retrieve_function3 *fn = on_cert;

	return t && t->ncerts ? (httpd_cert_fn)fn : NULL;
}
