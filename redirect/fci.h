/* cdni — footprints and capabilities (RFC 8008 FCI, a subset), socket-free.
 *
 * A dCDN advertises a list of capabilities, each with the footprints where
 * it holds, in the RFC 8008 §5 JSON form a uCDN can load:
 *
 *   {"capabilities":[
 *     {"capability-type":"FCI.DeliveryProtocol",
 *      "capability-value":{"delivery-protocols":["http/1.1","https/1.1"]},
 *      "footprints":[{"footprint-type":"ipv4cidr","footprint-value":["198.51.100.0/24"]},
 *                    {"footprint-type":"countrycode","footprint-value":["nl"]}]},
 *     {"capability-type":"FCI.RedirectionMode",
 *      "capability-value":{"redirection-modes":["DNS-R","HTTP-R"]}},
 *     {"capability-type":"FCI.Metadata","capability-value":{"metadata":["MI.UriSigning"]}}]}
 *
 * Understood: capability types FCI.DeliveryProtocol (http/1.1, https/1.1),
 * FCI.RedirectionMode (DNS-I, DNS-R, HTTP-I, HTTP-R, §6.2) and FCI.Metadata
 * (URI signing support is "MI.UriSigning" in its list); footprint types
 * ipv4cidr, ipv6cidr and countrycode (RFC 8006 §4.2.2.2, ISO 3166-1 alpha-2,
 * lowercase). Other capability types, values and footprint types are
 * ignored as RFC 8008 §4 allows; a capability whose footprints are all of
 * unknown types covers nobody. No "footprints" (or an empty list): everywhere.
 *
 * A client is covered by a capability when its address is in one of the
 * prefixes or its country (from a CIDR -> country table, struct fci_geo) is
 * in one of the codes. A dCDN serves a client for a need (a delivery
 * protocol, a redirection mode, URI signing or not) when every needed value
 * is advertised by a capability covering the client.
 *
 *   struct fci_adv *a;
 *   fci_adv_decode(text, len, &a, err, sizeof err);        // or fci_adv_from_json
 *   struct fci_client c;
 *   fci_client_make(&c, "198.51.100.7", geo);
 *   struct fci_need n = { FCI_P_HTTP11, FCI_M_HTTP_R, false };
 *   int code = fci_check(a, &c, &n);   // 0, or the RI error code (rri.h) why not
 *   fci_adv_encode(a, &out);           // canonical JSON, what GET /cdni/fci serves
 */
#ifndef CDNI_FCI_H
#define CDNI_FCI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define FCI_MAX_BODY (1024 * 1024) /* a capabilities document */
#define FCI_MAX_CAPS 64
#define FCI_MAX_VALUES 4096        /* prefixes or codes in one footprint list */

/* delivery protocols (RFC 8006 protocol types), bits */
enum { FCI_P_HTTP11 = 1, FCI_P_HTTPS11 = 2 };
/* redirection modes (RFC 8008 §6.2), bits */
enum { FCI_M_DNS_I = 1, FCI_M_DNS_R = 2, FCI_M_HTTP_I = 4, FCI_M_HTTP_R = 8 };

enum fci_cap_type { FCI_CAP_DELIVERY = 1, FCI_CAP_REDIRECTION, FCI_CAP_METADATA };

struct fci_prefix {
	int family; /* 4 or 6 */
	uint8_t addr[16];
	int bits;
};

struct fci_footprint {
	bool everywhere;          /* no footprints given */
	struct fci_prefix *pfx;
	size_t npfx;
	char (*cc)[3];            /* lowercase ISO 3166-1 alpha-2 */
	size_t ncc;
};

struct fci_cap {
	enum fci_cap_type type;
	unsigned bits;   /* FCI_P_* or FCI_M_* */
	bool urisign;    /* FCI.Metadata lists MI.UriSigning */
	struct fci_footprint fp;
};

struct fci_adv {
	struct fci_cap *caps;
	size_t ncaps;
};

/* CIDR -> country table (longest prefix wins). */
struct fci_geo {
	struct fci_prefix *pfx;
	char (*cc)[3];
	size_t n;
};

struct fci_client {
	int family; /* 0: address unknown */
	uint8_t addr[16];
	char cc[3]; /* "" when unknown */
};

struct fci_need {
	unsigned protocol; /* one FCI_P_* bit, 0: any */
	unsigned mode;     /* one FCI_M_* bit, 0: any */
	bool urisign;
};

/* Decode a capabilities document (an object with "capabilities"), checked:
 * errors name the path ("capabilities[1].footprints[0].footprint-value[2]:
 * '10.0.0.0/33' is not an IPv4 prefix"). */
int fci_adv_decode(const char *text, size_t len, struct fci_adv **out, char *err, size_t errlen);
/* Same from a loaded JSON value (a config key); path prefixes messages. */
int fci_adv_from_json(const json_t *doc, const char *path, struct fci_adv **out, char *err,
		      size_t errlen);
/* Canonical JSON (compact, sorted keys) appended to out. */
int fci_adv_encode(const struct fci_adv *a, struct buf *out);
void fci_adv_free(struct fci_adv *a);

/* "10.0.0.0/8", "2001:db8::/32" (host bits must be zero), or a bare address. */
int fci_prefix_parse(const char *s, struct fci_prefix *p);
bool fci_prefix_covers(const struct fci_prefix *p, int family, const uint8_t *addr);

/* Add one row of a CIDR -> country table; CDNI_EINVAL for a bad prefix or code. */
int fci_geo_add(struct fci_geo *g, const char *prefix, const char *country);
void fci_geo_clear(struct fci_geo *g);
/* The client for an address text (and its country by g, which may be NULL).
 * CDNI_EINVAL when ip is not an address. */
int fci_client_make(struct fci_client *c, const char *ip, const struct fci_geo *g);

bool fci_footprint_covers(const struct fci_footprint *f, const struct fci_client *c);
/* 0 when the advertisement serves c for n; else the RFC 7975 error code:
 * RRI_E_DCDN (500, out of footprint: no FCI.DeliveryProtocol capability
 * covers the client),
 * RRI_E_DELIVERY (505) or RRI_E_REDIRECTION (506) when a needed protocol or
 * mode is not there, RRI_E_NO_METADATA (501) when URI signing is needed and
 * not supported. */
int fci_check(const struct fci_adv *a, const struct fci_client *c, const struct fci_need *n);
/* A short reason for fci_check's code ("client out of footprint", ...). */
const char *fci_check_reason(int code);

/* Candidates in order of preference; the first available one serving c for
 * n wins. Returns 0 with *chosen, or the most telling error code of the
 * candidates (RRI_E_CAPACITY when every serving one is unavailable). */
struct fci_candidate {
	const struct fci_adv *adv;
	bool available;
};
int fci_choose(const struct fci_candidate *cands, size_t n, const struct fci_client *c,
	       const struct fci_need *need, size_t *chosen);

/* Names <-> bits ("http/1.1", "HTTP-R"); 0 for an unknown name. */
unsigned fci_protocol_bit(const char *name);
unsigned fci_mode_bit(const char *name);

#endif
