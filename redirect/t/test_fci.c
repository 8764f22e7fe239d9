/* fci.h: RFC 8008 capabilities with footprints: decoding (errors name the
 * path), encoding (canonical, round trip), prefixes, the CIDR -> country
 * table, the check for one client and the choice among dCDNs. */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/tap.h"
#include "redirect/fci.h"
#include "redirect/rri.h"

static const char adv1[] =
	"{\"capabilities\":["
	"{\"capability-type\":\"FCI.DeliveryProtocol\","
	" \"capability-value\":{\"delivery-protocols\":[\"http/1.1\",\"https/1.1\",\"quic/9\"]},"
	" \"footprints\":[{\"footprint-type\":\"ipv4cidr\",\"footprint-value\":[\"198.51.100.0/24\"]},"
	"  {\"footprint-type\":\"ipv6cidr\",\"footprint-value\":[\"2001:db8::/32\"]},"
	"  {\"footprint-type\":\"countrycode\",\"footprint-value\":[\"nl\"]},"
	"  {\"footprint-type\":\"asn\",\"footprint-value\":[\"as64496\"]}]},"
	"{\"capability-type\":\"FCI.RedirectionMode\","
	" \"capability-value\":{\"redirection-modes\":[\"DNS-R\",\"HTTP-R\"]}},"
	"{\"capability-type\":\"FCI.Logging\",\"capability-value\":{\"x\":1}},"
	"{\"capability-type\":\"FCI.Metadata\",\"capability-value\":{\"metadata\":[\"MI.UriSigning\"]},"
	" \"footprints\":[{\"footprint-type\":\"countrycode\",\"footprint-value\":[\"nl\"]}]}]}";

static char err[512];

static int dec(const char *text)
{
	struct fci_adv *a = NULL;
	int rc = fci_adv_decode(text, strlen(text), &a, err, sizeof err);

	fci_adv_free(a);
	return rc;
}

static void test_decode(void)
{
	struct fci_adv *a = NULL;
	struct buf b, b2;

	is_int(fci_adv_decode(adv1, strlen(adv1), &a, err, sizeof err), 0, "decode: %s", err);
	is_int((long long)a->ncaps, 3, "3 known capabilities (FCI.Logging ignored)");
	is_int(a->caps[0].bits, FCI_P_HTTP11 | FCI_P_HTTPS11, "protocols (unknown one ignored)");
	is_int((long long)a->caps[0].fp.npfx, 2, "2 prefixes");
	ok(a->caps[1].fp.everywhere, "no footprints: everywhere");
	ok(a->caps[2].urisign, "URI signing");
	buf_init(&b, 0);
	buf_init(&b2, 0);
	is_int(fci_adv_encode(a, &b), 0, "encode");
	fci_adv_free(a);
	a = NULL;
	is_int(fci_adv_decode(b.data, b.len, &a, err, sizeof err), 0, "encoded decodes");
	fci_adv_encode(a, &b2);
	is_str(b2.data, b.data, "round trip stable");
	ok(strstr(b.data, "{\"footprint-type\":\"ipv4cidr\",\"footprint-value\":[\"198.51.100.0/24\"]}") != NULL,
	   "ipv4cidr written");
	ok(strstr(b.data, "\"redirection-modes\":[\"DNS-R\",\"HTTP-R\"]") != NULL, "modes written");
	fci_adv_free(a);
	buf_free(&b);
	buf_free(&b2);

	is_int(dec("{}"), CDNI_EINVAL, "no capabilities");
	is_str(err, "capabilities: missing or not a list", "message");
	is_int(dec("{\"capabilities\":[{\"capability-type\":\"FCI.DeliveryProtocol\","
		   "\"capability-value\":{\"delivery-protocols\":[\"http/1.1\"]},\"footprints\":"
		   "[{\"footprint-type\":\"ipv4cidr\",\"footprint-value\":[\"10.0.0.1/8\"]}]}]}"),
	       CDNI_EINVAL, "host bits set");
	is_str(err, "capabilities[0].footprints[0].footprint-value[0]: '10.0.0.1/8' is not an "
		    "IPv4 prefix (host bits zero)", "names the path");
	is_int(dec("{\"capabilities\":[{\"capability-type\":\"FCI.DeliveryProtocol\","
		   "\"capability-value\":{\"delivery-protocols\":[\"http/1.1\"]},\"footprints\":"
		   "[{\"footprint-type\":\"countrycode\",\"footprint-value\":[\"NL\"]}]}]}"),
	       CDNI_EINVAL, "uppercase country refused");
	is_int(dec("{\"capabilities\":[{\"capability-type\":\"FCI.RedirectionMode\","
		   "\"capability-value\":{\"redirection-modes\":\"DNS-R\"}}]}"),
	       CDNI_EINVAL, "modes not a list");
	is_int(dec("{\"capabilities\":[{\"capability-type\":5}]}"), CDNI_EINVAL, "type not a string");
	is_int(dec("{\"capabilities\":[],\"capabilities\":[]}"), CDNI_EPARSE, "duplicate key");
	is_int(dec("[[[[[[[[[[[[]]]]]]]]]]]]"), CDNI_EOVERFLOW, "deep nesting");
}

static void test_match(void)
{
	struct fci_adv *a = NULL, *b = NULL;
	struct fci_geo g = { 0 };
	struct fci_client c;
	struct fci_need http = { FCI_P_HTTP11, FCI_M_HTTP_R, false };
	struct fci_need sign = { FCI_P_HTTPS11, FCI_M_HTTP_R, true };
	struct fci_need iter = { FCI_P_HTTP11, FCI_M_HTTP_I, false };
	size_t chosen = 99;

	fci_adv_decode(adv1, strlen(adv1), &a, err, sizeof err);
	is_int(fci_geo_add(&g, "192.0.2.0/24", "nl"), 0, "geo row");
	is_int(fci_geo_add(&g, "192.0.2.128/25", "be"), 0, "longer geo row");
	is_int(fci_geo_add(&g, "192.0.2.0/24", "NLD"), CDNI_EINVAL, "bad country");
	is_int(fci_geo_add(&g, "192.0.2.1/24", "nl"), CDNI_EINVAL, "bad prefix");

	is_int(fci_client_make(&c, "198.51.100.7", &g), 0, "client");
	is_int(fci_check(a, &c, &http), 0, "in the IPv4 footprint");
	is_int(fci_check(a, &c, &iter), RRI_E_REDIRECTION, "HTTP-I not offered: 506");
	is_int(fci_check(a, &c, &sign), RRI_E_NO_METADATA, "URI signing only in nl: 501");
	fci_client_make(&c, "2001:db8:1::5", &g);
	is_int(fci_check(a, &c, &http), 0, "in the IPv6 footprint");
	fci_client_make(&c, "192.0.2.5", &g);
	is_str(c.cc, "nl", "country by table");
	is_int(fci_check(a, &c, &sign), 0, "nl: everything");
	fci_client_make(&c, "192.0.2.200", &g);
	is_str(c.cc, "be", "longest prefix wins");
	is_int(fci_check(a, &c, &http), RRI_E_DCDN, "be: out of footprint (500)");
	fci_client_make(&c, "203.0.113.9", &g);
	is_int(fci_check(a, &c, &http), RRI_E_DCDN, "elsewhere: only the mode covers: 500");
	fci_client_make(&c, "198.51.100.7", &g);
	struct fci_need h2 = { FCI_P_HTTPS11 << 4, FCI_M_HTTP_R, false };
	is_int(fci_check(a, &c, &h2), RRI_E_DELIVERY, "a protocol not offered: 505");
	is_int(fci_client_make(&c, "10.0.0.0/8", &g), CDNI_EINVAL, "a prefix is not a client");
	is_int(fci_client_make(&c, "nope", &g), CDNI_EINVAL, "not an address");

	static const char adv2[] =
		"{\"capabilities\":[{\"capability-type\":\"FCI.DeliveryProtocol\","
		"\"capability-value\":{\"delivery-protocols\":[\"http/1.1\"]},\"footprints\":"
		"[{\"footprint-type\":\"ipv4cidr\",\"footprint-value\":[\"203.0.113.0/24\"]}]},"
		"{\"capability-type\":\"FCI.RedirectionMode\",\"capability-value\":"
		"{\"redirection-modes\":[\"HTTP-R\"]},\"footprints\":[{\"footprint-type\":"
		"\"ipv4cidr\",\"footprint-value\":[\"203.0.113.0/24\"]}]}]}";
	fci_adv_decode(adv2, strlen(adv2), &b, err, sizeof err);
	ok(b != NULL, "second advertisement");
	struct fci_candidate cands[] = { { a, true }, { b, true } };
	fci_client_make(&c, "203.0.113.9", &g);
	is_int(fci_choose(cands, 2, &c, &http, &chosen), 0, "choose");
	is_int((long long)chosen, 1, "the second serves 203.0.113.9");
	fci_client_make(&c, "198.51.100.9", &g);
	fci_choose(cands, 2, &c, &http, &chosen);
	is_int((long long)chosen, 0, "the first serves 198.51.100.9");
	cands[0].available = false;
	is_int(fci_choose(cands, 2, &c, &http, &chosen), RRI_E_CAPACITY,
	       "the only one serving is down: 504");
	fci_client_make(&c, "100.64.0.1", &g);
	is_int(fci_choose(cands, 2, &c, &http, &chosen), RRI_E_DCDN, "nobody: out of footprint");
	is_str(fci_check_reason(RRI_E_DCDN), "client out of footprint", "reason");
	fci_adv_free(a);
	fci_adv_free(b);
	fci_geo_clear(&g);
}

int main(void)
{
	test_decode();
	test_match();
	return done_testing();
}
