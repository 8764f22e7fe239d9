/* cdni-dns — config tables and the checks a table cannot express. */
#include "dns/conf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "redirect/dnspolicy.h"

static const char *const denials[] = { "nsec", "nsec3", NULL };

static const struct conf_item tlsa_tab[] = {
	CONF_STR("cert", struct dns_tlsa_conf, cert, NULL, CONF_REQUIRED,
		 "PEM certificate (the leaf for usages 1 and 3, a CA for 0 and 2)"),
	CONF_INT("usage", struct dns_tlsa_conf, usage, 0, 3, 3,
		 "0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE"),
	CONF_INT("selector", struct dns_tlsa_conf, selector, 0, 1, 1, "0 full certificate, 1 SPKI"),
	CONF_INT("mtype", struct dns_tlsa_conf, mtype, 0, 2, 1, "0 exact, 1 SHA-256, 2 SHA-512"),
	CONF_END
};

static const struct conf_item zone_tab[] = {
	CONF_STR("name", struct dns_zone_conf, name, NULL, CONF_REQUIRED, "zone apex, e.g. csp.test"),
	CONF_STR("file", struct dns_zone_conf, file, NULL, CONF_REQUIRED, "zone file (RFC 1035 syntax)"),
	CONF_BOOL("sign", struct dns_zone_conf, sign, true,
		  "sign the zone (false: serve it as it is, e.g. pre-signed or unsigned)"),
	CONF_STR("key_dir", struct dns_zone_conf, key_dir, NULL, 0,
		 "directory of the KSK/ZSK files (made when absent); none: new keys each start"),
	CONF_STR("algorithm", struct dns_zone_conf, algorithm, "ECDSAP256SHA256", 0,
		 "ECDSAP256SHA256, ECDSAP384SHA384, ED25519 or RSASHA256"),
	CONF_ENUM("denial", struct dns_zone_conf, denial, denials, 1,
		  "nsec, or nsec3 (SHA-1, 0 iterations, no salt)"),
	CONF_INT("validity", struct dns_zone_conf, validity, 10, 365LL * 86400, 14 * 86400,
		 "seconds a signature is valid"),
	CONF_INT("refresh", struct dns_zone_conf, refresh, 1, 365LL * 86400, 3 * 86400,
		 "re-sign this many seconds before signatures expire"),
	CONF_INT("inception_offset", struct dns_zone_conf, inception_offset, 0, 86400, 3600,
		 "signatures start this many seconds in the past (clock skew)"),
	CONF_INT("dnskey_ttl", struct dns_zone_conf, dnskey_ttl, 0, 604800, 3600,
		 "TTL of the DNSKEY and DS records"),
	CONF_STR("ds_file", struct dns_zone_conf, ds_file, NULL, 0,
		 "write the DS of the KSK here for the parent (a trust anchor file)"),
	CONF_STRS("allow_axfr", struct dns_zone_conf, allow_axfr, 0,
		  "client subnets allowed to transfer the zone over TCP; default none"),
	CONF_END
};

static const struct conf_item health_tab[] = {
	CONF_STR("address", struct dns_health_conf, address, NULL, 0,
		 "numeric address to connect to; none: no health check"),
	CONF_INT("port", struct dns_health_conf, port, 0, 65535, 0, "TCP port"),
	CONF_INT("interval_ms", struct dns_health_conf, interval_ms, 50, 3600000, 1000,
		 "time between checks"),
	CONF_INT("timeout_ms", struct dns_health_conf, timeout_ms, 10, 60000, 500,
		 "connect deadline; a failed or late connect marks the dCDN down"),
	CONF_END
};

static const struct conf_item dcdn_tab[] = {
	CONF_STR("name", struct dns_dcdn_conf, name, NULL, CONF_REQUIRED, "the dCDN's name in rules"),
	CONF_STR("target", struct dns_dcdn_conf, target, NULL, CONF_REQUIRED,
		 "the CNAME target, e.g. edge.dcdn.test"),
	CONF_BOOL("down", struct dns_dcdn_conf, down, false,
		  "marked unavailable (change and send SIGHUP)"),
	CONF_LIST("tlsa", struct dns_dcdn_conf, tlsa, tlsa_tab, struct dns_tlsa_conf, 0,
		  "TLSA records published at the names that delegate to it"),
	CONF_OBJ("health", struct dns_dcdn_conf, health, health_tab, 0, "TCP health check"),
	CONF_OBJ("rri", struct dns_dcdn_conf, rri, rri_client_conf_table, 0,
		 "its RFC 7975 redirection interface, asked for every A/AAAA query the policy sends "
		 "to it {url, ca, cert, key, resolve, connect_timeout_ms, timeout_ms}"),
	CONF_END
};

static const struct conf_item choice_tab[] = {
	CONF_STR("dcdn", struct dns_choice_conf, dcdn, NULL, CONF_REQUIRED, "a dCDN's name"),
	CONF_INT("weight", struct dns_choice_conf, weight, 1, 1000, 1, "relative weight"),
	CONF_END
};

static const struct conf_item rule_tab[] = {
	CONF_STRS("subnets", struct dns_rule_conf, subnets, 0,
		  "client subnets (source address or EDNS Client Subnet); none: everyone"),
	CONF_LIST("dcdns", struct dns_rule_conf, dcdns, choice_tab, struct dns_choice_conf,
		  CONF_REQUIRED, "dCDNs to choose from by weight"),
	CONF_END
};

static const struct conf_item redirect_tab[] = {
	CONF_STR("name", struct dns_redirect_conf, name, NULL, CONF_REQUIRED,
		 "the CSP name answered by CNAME, inside a zone"),
	CONF_INT("ttl", struct dns_redirect_conf, ttl, 0, 86400, 30, "TTL of the CNAME"),
	CONF_LIST("rules", struct dns_redirect_conf, rules, rule_tab, struct dns_rule_conf, 0,
		  "tried in order; no dCDN available: the name is served from the zone"),
	CONF_LIST("tlsa", struct dns_redirect_conf, tlsa, tlsa_tab, struct dns_tlsa_conf, 0,
		  "TLSA records for the CSP's own certificate"),
	CONF_JSONV("tlsa_ports", struct dns_redirect_conf, tlsa_ports, 0,
		   "ports of the _PORT._tcp TLSA names; default [443]"),
	CONF_INT("tlsa_ttl", struct dns_redirect_conf, tlsa_ttl, 0, 86400, 300, "TTL of the TLSA records"),
	CONF_END
};

static const struct conf_item ri_tab[] = {
	CONF_STR("cdn_id", struct dns_ri_conf, cdn_id, NULL, 0,
		 "our CDN Provider ID AS<number>:<qualifier>, first in cdn-path"),
	CONF_INT("max_hops", struct dns_ri_conf, max_hops, -1, 1000, -1,
		 "max-hops sent (-1: none)"),
	CONF_INT("threads", struct dns_ri_conf, threads, 1, 256, 4, "threads making the calls"),
	CONF_INT("cache_entries", struct dns_ri_conf, cache_entries, 0, 10000000, 65536,
		 "answers kept for their Cache-Control lifetime and scope"),
	CONF_INT("hold_failed_s", struct dns_ri_conf, hold_failed_s, 0, 3600, 5,
		 "a dCDN that could not be reached is skipped this long (s)"),
	CONF_INT("max_waiting", struct dns_ri_conf, max_waiting, 1, 1000000, 4096,
		 "queries waiting for an answer at most; more are answered by the fallback"),
	CONF_END
};

const struct conf_item dns_conf_table[] = {
	CONF_STR("address", struct dns_conf, address, "127.0.0.1", 0, "numeric address for UDP and TCP"),
	CONF_INT("port", struct dns_conf, port, 0, 65535, 53, "port for UDP and TCP; 0 picks one"),
	CONF_INT("threads", struct dns_conf, threads, 0, 256, 0, "worker threads; 0: one per core"),
	CONF_INT("udp_payload", struct dns_conf, udp_payload, 512, 4096, 1232,
		 "largest UDP answer with EDNS0; larger ones are truncated (TC)"),
	CONF_INT("tcp_idle_ms", struct dns_conf, tcp_idle_ms, 100, 600000, 10000,
		 "close idle TCP connections after this"),
	CONF_INT("tcp_max", struct dns_conf, tcp_max, 1, 65536, 512, "TCP connections at most"),
	CONF_BOOL("minimal_any", struct dns_conf, minimal_any, true,
		  "answer ANY with one RRset (RFC 8482)"),
	CONF_STR("access_log", struct dns_conf, access_log, "off", 0,
		 "one JSON line per query: path, \"-\" (stdout) or \"off\""),
	CONF_LIST("zones", struct dns_conf, zones, zone_tab, struct dns_zone_conf, CONF_REQUIRED,
		  "zones served"),
	CONF_LIST("dcdns", struct dns_conf, dcdns, dcdn_tab, struct dns_dcdn_conf, 0,
		  "downstream CDNs names may be redirected to"),
	CONF_OBJ("rri", struct dns_conf, ri, ri_tab, 0,
		 "asking dCDNs over the redirection interface (RFC 7975)"),
	CONF_LIST("redirects", struct dns_conf, redirects, redirect_tab, struct dns_redirect_conf, 0,
		  "names answered by policy"),
	CONF_END
};

size_t dns_redirect_ports(const struct dns_redirect_conf *r, int *ports, size_t max)
{
	size_t i, n = 0;
	json_t *v;

	if (!r->tlsa_ports) {
		ports[0] = 443;
		return 1;
	}
	json_array_foreach(r->tlsa_ports, i, v) {
		if (n < max)
			ports[n++] = (int)json_integer_value(v);
	}
	return n;
}

static int check_ports(const struct dns_redirect_conf *r, const char *path, char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	if (!r->tlsa_ports)
		return 0;
	if (!json_is_array(r->tlsa_ports) || json_array_size(r->tlsa_ports) > 16)
		goto bad;
	json_array_foreach(r->tlsa_ports, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "%s.tlsa_ports: must be an array of at most 16 ports 1..65535", path);
	return CDNI_ECONFIG;
}

static int check_name(const char *name, const char *path, char *err, size_t errlen)
{
	uint8_t wire[DNSPOL_NAME_MAX];
	size_t len;

	if (dnspol_name_to_wire(name, wire, &len) == 0)
		return 0;
	snprintf(err, errlen, "%s: \"%s\" is not a domain name", path, name);
	return CDNI_ECONFIG;
}

static int check_zones(const struct dns_conf *c, char *err, size_t errlen)
{
	const struct dns_zone_conf *z = c->zones.v;
	char path[64];
	struct dnspol_prefix p;

	if (c->zones.n == 0) {
		snprintf(err, errlen, "zones: at least one zone is needed");
		return CDNI_ECONFIG;
	}
	for (size_t i = 0; i < c->zones.n; i++) {
		snprintf(path, sizeof path, "zones[%zu].name", i);
		if (check_name(z[i].name, path, err, errlen))
			return CDNI_ECONFIG;
		if (z[i].refresh >= z[i].validity) {
			snprintf(err, errlen, "zones[%zu].refresh: must be less than validity", i);
			return CDNI_ECONFIG;
		}
		for (size_t j = 0; j < z[i].allow_axfr.n; j++)
			if (dnspol_prefix_parse(z[i].allow_axfr.v[j], &p)) {
				snprintf(err, errlen, "zones[%zu].allow_axfr[%zu]: \"%s\" is not ADDR/LEN", i, j,
					 z[i].allow_axfr.v[j]);
				return CDNI_ECONFIG;
			}
	}
	return 0;
}

bool dns_conf_asks(const struct dns_conf *c)
{
	const struct dns_dcdn_conf *d = c->dcdns.v;

	for (size_t i = 0; i < c->dcdns.n; i++)
		if (d[i].rri.url)
			return true;
	return false;
}

static int check_ri(const struct dns_conf *c, char *err, size_t errlen)
{
	const struct dns_dcdn_conf *d = c->dcdns.v;

	for (size_t i = 0; i < c->dcdns.n; i++) {
		const char *u = d[i].rri.url;
		if (u && strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
			snprintf(err, errlen, "dcdns[%zu].rri.url: \"%s\" is not an http(s) URL", i, u);
			return CDNI_ECONFIG;
		}
		if (u && i >= 64) {
			snprintf(err, errlen, "dcdns[%zu].rri: only the first 64 dCDNs can be asked", i);
			return CDNI_ECONFIG;
		}
	}
	if (dns_conf_asks(c) && (!c->ri.cdn_id || !rri_provider_id_valid(c->ri.cdn_id))) {
		snprintf(err, errlen, "rri.cdn_id: a dCDN is asked, so our Provider ID "
			 "AS<number>:<qualifier> is needed");
		return CDNI_ECONFIG;
	}
	return 0;
}

static int check_rest(const struct dns_conf *c, char *err, size_t errlen)
{
	const struct dns_dcdn_conf *d = c->dcdns.v;
	const struct dns_redirect_conf *r = c->redirects.v;
	unsigned char a[16];
	char path[64];

	if (inet_pton(AF_INET, c->address, a) != 1 && inet_pton(AF_INET6, c->address, a) != 1) {
		snprintf(err, errlen, "address: \"%s\" is not a numeric IPv4 or IPv6 address", c->address);
		return CDNI_ECONFIG;
	}
	for (size_t i = 0; i < c->dcdns.n; i++) {
		snprintf(path, sizeof path, "dcdns[%zu].target", i);
		if (check_name(d[i].target, path, err, errlen))
			return CDNI_ECONFIG;
		if (d[i].health.address && (d[i].health.port == 0 ||
		    (inet_pton(AF_INET, d[i].health.address, a) != 1 &&
		     inet_pton(AF_INET6, d[i].health.address, a) != 1))) {
			snprintf(err, errlen, "dcdns[%zu].health: a numeric address and a port 1..65535", i);
			return CDNI_ECONFIG;
		}
	}
	for (size_t i = 0; i < c->redirects.n; i++) {
		snprintf(path, sizeof path, "redirects[%zu]", i);
		if (check_ports(&r[i], path, err, errlen))
			return CDNI_ECONFIG;
		snprintf(path, sizeof path, "redirects[%zu].name", i);
		if (check_name(r[i].name, path, err, errlen))
			return CDNI_ECONFIG;
	}
	return 0;
}

static int finish(struct dns_conf *c, const char *file, int rc, char *err, size_t errlen)
{
	char msg[512];

	if (rc == 0 && (check_zones(c, msg, sizeof msg) || check_rest(c, msg, sizeof msg) ||
			check_ri(c, msg, sizeof msg))) {
		snprintf(err, errlen, "%s: %s", file, msg);
		rc = CDNI_ECONFIG;
	}
	if (rc)
		dns_conf_free(c);
	return rc;
}

int dns_conf_load(const char *file, struct dns_conf *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	return finish(c, file, conf_load_file(dns_conf_table, c, file, err, errlen), err, errlen);
}

int dns_conf_load_string(const char *text, struct dns_conf *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	return finish(c, "config", conf_load_string(dns_conf_table, c, text, "config", err, errlen),
		      err, errlen);
}

void dns_conf_free(struct dns_conf *c)
{
	conf_free(dns_conf_table, c);
	memset(c, 0, sizeof *c);
}
