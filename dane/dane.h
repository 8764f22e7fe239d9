/* cdni — libcdni_dane: DNSSEC zone signing and TLSA records with ldns, a
 * validating stub resolver (ldns, from trust anchors), and DANE checks of a
 * TLS peer with OpenSSL's DANE API (RFC 6698, RFC 7671).
 *
 *   keys:     dane_keys_load_or_make() gives a KSK and a ZSK with owner, flags
 *             and key tag set (ldns leaves them empty), kept as files.
 *   signing:  dane_zone_sign() signs a zone (NSEC, or NSEC3 with 0 iterations
 *             and no salt); dane_rrset_sign() signs one RRset (online signing).
 *   TLSA:     dane_tlsa_rdata() computes the association data of a certificate.
 *   resolver: dane_vr_*() resolves A/AAAA and TLSA with validation, follows
 *             CNAMEs, and says secure, insecure or bogus.
 *   TLS:      dane_ssl_setup() hands TLSA records to an SSL before its handshake.
 *
 * Every function returns 0 or a negative CDNI_E* code, with a reason in err. */
#ifndef CDNI_DANE_H
#define CDNI_DANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* ---- TLSA ---------------------------------------------------------------- */

#define DANE_TLSA_MAX 64 /* SHA-512 */

/* Association data for (selector, mtype) of cert: selector 0 full
 * certificate, 1 SubjectPublicKeyInfo; mtype 0 exact, 1 SHA-256, 2 SHA-512.
 * mtype 0 needs a large buffer: *len tells the size. */
int dane_tlsa_data(X509 *cert, int selector, int mtype, uint8_t *out, size_t cap, size_t *len);
/* "_PORT._tcp.NAME." into buf. */
int dane_tlsa_owner(const char *name, int port, char *buf, size_t len);
/* A TLSA RR for the certificate in file (the first PEM certificate). */
int dane_tlsa_rr(const char *certfile, int usage, int selector, int mtype, const char *name,
		 int port, uint32_t ttl, ldns_rr **out, char *err, size_t errlen);
/* "U S M HEX" for an RR made by dane_tlsa_rr or received; caller frees. */
char *dane_tlsa_text(const ldns_rr *tlsa);

/* ---- keys and signing ------------------------------------------------------ */

struct dane_keys {
	ldns_key_list *all; /* owns ksk and zsk */
	ldns_key *ksk, *zsk;
	ldns_key_list *zsk_only; /* does not own: for online signing */
};

/* Algorithm by name: ECDSAP256SHA256, ECDSAP384SHA384, ED25519, RSASHA256. */
int dane_alg_parse(const char *name);
/* Load KZONE.ksk.private / KZONE.zsk.private from dir, or make and write them
 * (with .key and .ds files) when absent. dir NULL: fresh keys, not kept. */
int dane_keys_load_or_make(const char *zone, const char *dir, int alg, struct dane_keys *k,
			   char *err, size_t errlen);
void dane_keys_free(struct dane_keys *k);
/* The DS (SHA-256) of the KSK as zone-file text with a newline; caller frees. */
char *dane_keys_ds_text(const struct dane_keys *k, uint32_t ttl);

enum dane_denial { DANE_DENIAL_NSEC = 0, DANE_DENIAL_NSEC3 = 1 };

/* Sign zone (its DNSKEYs added first, with ttl) with signatures valid
 * [inception, expiration]. Every RR made (DNSKEY, RRSIG, NSEC, NSEC3,
 * NSEC3PARAM) is also pushed on made, which the caller deep-frees after a
 * shallow ldns_dnssec_zone_free(), as ldns-signzone does. */
int dane_zone_sign(ldns_dnssec_zone *zone, struct dane_keys *k, enum dane_denial denial,
		   uint32_t ttl, uint32_t inception, uint32_t expiration, ldns_rr_list *made,
		   char *err, size_t errlen);
/* Sign one RRset (same owner, type and class) with the ZSK, valid
 * [inception, expiration]; *sigs is a new list with the RRSIG. Safe from
 * several threads at once: the keys are only read. */
int dane_rrset_sign(const ldns_rr_list *rrset, const struct dane_keys *k, uint32_t inception,
		    uint32_t expiration, ldns_rr_list **sigs);

/* ---- trust anchors ----------------------------------------------------------- */

/* DS or DNSKEY records in zone-file syntax (other lines, comments and blank
 * lines are skipped; at least one anchor is required). */
int dane_anchors_load(const char *file, ldns_rr_list **out, char *err, size_t errlen);

/* ---- validating stub resolver --------------------------------------------------- */

enum dane_sec { DANE_SECURE = 0, DANE_INSECURE = 1, DANE_BOGUS = 2 };
const char *dane_sec_name(enum dane_sec s);

struct dane_vr_opts {
	const char *server;   /* "IP@PORT" or "IP"; NULL: /etc/resolv.conf */
	const char *anchors;  /* file of DS/DNSKEY; NULL: nothing is secure */
	bool trust_ad;        /* believe the resolver's AD bit instead */
	long timeout_ms;      /* per query (default 3000) */
};

struct dane_vr;

int dane_vr_new(const struct dane_vr_opts *o, struct dane_vr **out, char *err, size_t errlen);
void dane_vr_free(struct dane_vr *vr);
/* "IP@PORT" of the resolver used. */
const char *dane_vr_server(const struct dane_vr *vr);

#define DANE_CHAIN_MAX 8

struct dane_addrs {
	char *query;
	char *chain[DANE_CHAIN_MAX + 1]; /* chain[0] = query, then CNAME targets */
	size_t nchain;
	char **addrs; /* numeric, IPv4 then IPv6 */
	size_t naddrs;
	enum dane_sec sec;       /* worst of every answer (CNAMEs and addresses) */
	enum dane_sec chain_sec; /* worst of the CNAME steps alone */
	char *why; /* what made it insecure or bogus, or why it failed; may be NULL */
};

struct dane_tlsa_rec {
	uint8_t usage, selector, mtype;
	uint8_t *data;
	size_t len;
};

struct dane_tlsa_set {
	char *owner;  /* "_443._tcp.www.csp.test" */
	bool expanded; /* found at the CNAME-expanded name (then it is the SNI and primary name) */
	enum dane_sec sec;
	struct dane_tlsa_rec *r;
	size_t n;
	char *why;
	char **tried; /* owners asked, in order */
	size_t ntried;
};

/* A and AAAA of name, following CNAMEs (at most DANE_CHAIN_MAX). Returns 0
 * with *out (which may be bogus, or hold no address: see sec and why), or
 * CDNI_ENOMEM / CDNI_EINVAL. */
int dane_vr_addrs(struct dane_vr *vr, const char *name, struct dane_addrs **out);
void dane_addrs_free(struct dane_addrs *a);

/* TLSA for a host reached through a (validated) chain, per RFC 7671 §7: at
 * the CNAME-expanded name first when every CNAME step and the addresses
 * are secure, then at the original name. Only secure TLSA records are
 * usable; none when the resolution was bogus or gave no address. */
int dane_vr_tlsa(struct dane_vr *vr, const struct dane_addrs *a, int port,
		 struct dane_tlsa_set **out);
void dane_tlsa_set_free(struct dane_tlsa_set *t);

/* ---- DANE with OpenSSL ------------------------------------------------------------- */

/* On an SSL whose SSL_CTX had SSL_CTX_dane_enable(): enable DANE for
 * base_name (also the SNI when none is set), accept also alt_name (the
 * CNAME-expanded name) as a reference identifier, skip name checks for
 * DANE-EE (RFC 7671 §5.1), and add the records. When the records were
 * found at the expanded name (t->expanded), that name is the primary one
 * and the SNI (RFC 7671 §7). Returns the number of usable records (0 means
 * none was usable), or a negative code. */
int dane_ssl_setup(SSL *ssl, const char *base_name, const char *alt_name,
		   const struct dane_tlsa_set *t, char *err, size_t errlen);
/* After a handshake: "3 1 1 ab12... (depth 0)" for the record that matched,
 * into buf; CDNI_ENOTFOUND when DANE did not authenticate the peer. */
int dane_ssl_matched(SSL *ssl, char *buf, size_t len);

#endif
