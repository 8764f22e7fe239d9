/* cdni-dns — the config: where to listen, the zones (files, signing, keys,
 * denial, DS output, AXFR), the dCDNs (CNAME targets, TLSA material,
 * availability), and the redirection policy per name. docs/cdni-dns.md
 * describes every key. */
#ifndef CDNI_DNS_CONF_H
#define CDNI_DNS_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "common/conf.h"
#include "redirect/rri_client.h"

struct dns_tlsa_conf {
	char *cert;
	long long usage, selector, mtype;
};

struct dns_zone_conf {
	char *name;
	char *file;
	bool sign;
	char *key_dir;
	char *algorithm;
	int denial; /* 0 nsec, 1 nsec3 */
	long long validity, refresh, inception_offset, dnskey_ttl;
	char *ds_file;
	struct conf_strlist allow_axfr;
};

struct dns_health_conf {
	char *address;
	long long port, interval_ms, timeout_ms;
};

struct dns_dcdn_conf {
	char *name;
	char *target;
	bool down;
	struct conf_list tlsa; /* struct dns_tlsa_conf */
	struct dns_health_conf health;
	struct rri_client_conf rri; /* its redirection interface; url NULL: none */
};

struct dns_choice_conf {
	char *dcdn;
	long long weight;
};

struct dns_rule_conf {
	struct conf_strlist subnets;
	struct conf_list dcdns; /* struct dns_choice_conf */
};

struct dns_redirect_conf {
	char *name;
	long long ttl;
	struct conf_list rules; /* struct dns_rule_conf */
	struct conf_list tlsa;  /* struct dns_tlsa_conf: the CSP's own */
	json_t *tlsa_ports;     /* array of ports; default [443] */
	long long tlsa_ttl;
};

/* Asking dCDNs over the RFC 7975 redirection interface (dns/ri.h). */
struct dns_ri_conf {
	char *cdn_id;            /* our Provider ID, first in cdn-path */
	long long max_hops;      /* -1: not sent */
	long long threads;       /* threads making the calls */
	long long cache_entries; /* answers kept */
	long long hold_failed_s; /* a dCDN that could not be reached is skipped this long */
	long long max_waiting;   /* queries waiting for answers, at most */
};

struct dns_conf {
	char *address;
	long long port;
	long long threads;
	long long udp_payload;
	long long tcp_idle_ms, tcp_max;
	bool minimal_any;
	char *access_log;
	struct conf_list zones;     /* struct dns_zone_conf */
	struct conf_list dcdns;     /* struct dns_dcdn_conf */
	struct conf_list redirects; /* struct dns_redirect_conf */
	struct dns_ri_conf ri;
};

/* Some dCDN is asked over its redirection interface. */
bool dns_conf_asks(const struct dns_conf *c);

extern const struct conf_item dns_conf_table[];

/* Load and check (cross references, names, ports). */
int dns_conf_load(const char *file, struct dns_conf *c, char *err, size_t errlen);
int dns_conf_load_string(const char *text, struct dns_conf *c, char *err, size_t errlen);
void dns_conf_free(struct dns_conf *c);
/* The TLSA ports of a redirect (default 443): count, into ports[max]. */
size_t dns_redirect_ports(const struct dns_redirect_conf *r, int *ports, size_t max);

#endif
