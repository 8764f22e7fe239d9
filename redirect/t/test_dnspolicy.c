/* Unit tests: DNS redirection policy (subnets, ECS scope, weights, availability). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/tap.h"
#include "redirect/dnspolicy.h"

static struct dnspol_client client(const char *addr, int bits)
{
	struct dnspol_client c = { 0 };

	if (inet_pton(AF_INET, addr, c.addr) == 1)
		c.family = 4;
	else if (inet_pton(AF_INET6, addr, c.addr) == 1)
		c.family = 6;
	c.bits = bits;
	return c;
}

static void test_names(void)
{
	uint8_t w[DNSPOL_NAME_MAX];
	size_t len = 0;

	ok(dnspol_name_to_wire("WWW.Csp.test.", w, &len) == 0, "a name to wire");
	is_mem(w, len, "\3www\3csp\4test", 14, "  lowercase, absolute");
	ok(dnspol_name_to_wire("a..b", w, &len) == CDNI_EINVAL, "an empty label is refused");
	ok(dnspol_name_to_wire("a b.test", w, &len) == CDNI_EINVAL, "a space is refused");
	char big[300];
	memset(big, 'a', 64);
	strcpy(big + 64, ".test");
	ok(dnspol_name_to_wire(big, w, &len) == CDNI_EINVAL, "a 64-byte label is refused");
	for (int i = 0; i < 130; i++)
		memcpy(big + 2 * i, "a.", 2);
	big[260] = '\0';
	ok(dnspol_name_to_wire(big, w, &len) == CDNI_EINVAL, "a name over 255 bytes is refused");
}

static void test_prefixes(void)
{
	struct dnspol_prefix p;
	struct dnspol_client c;

	ok(dnspol_prefix_parse("10.0.0.0/8", &p) == 0 && p.family == 4 && p.len == 8, "10.0.0.0/8");
	ok(dnspol_prefix_parse("10.0.0.1/8", &p) == CDNI_EINVAL, "host bits set: refused");
	ok(dnspol_prefix_parse("10.0.0.0/33", &p) == CDNI_EINVAL, "/33: refused");
	ok(dnspol_prefix_parse("nope/8", &p) == CDNI_EINVAL, "not an address: refused");
	ok(dnspol_prefix_parse("192.0.2.7", &p) == 0 && p.len == 32, "a bare address is a /32");
	ok(dnspol_prefix_parse("2001:db8::/32", &p) == 0 && p.family == 6, "2001:db8::/32");
	c = client("2001:db8:ffff::1", 128);
	ok(dnspol_prefix_match(&p, &c), "  matches 2001:db8:ffff::1");
	c = client("2001:db9::1", 128);
	ok(!dnspol_prefix_match(&p, &c), "  not 2001:db9::1");
	c = client("10.0.0.1", 32);
	ok(!dnspol_prefix_match(&p, &c), "  not an IPv4 client");
	ok(dnspol_prefix_parse("10.128.0.0/9", &p) == 0, "10.128.0.0/9");
	c = client("10.200.1.1", 32);
	ok(dnspol_prefix_match(&p, &c), "  matches 10.200.1.1 (a partial byte)");
	c = client("10.100.1.1", 32);
	ok(!dnspol_prefix_match(&p, &c), "  not 10.100.1.1");
	ok(dnspol_prefix_parse("0.0.0.0/0", &p) == 0, "0.0.0.0/0");
	ok(dnspol_prefix_match(&p, &c), "  matches everything IPv4");
}

static struct dnspol *policy(void)
{
	struct dnspol *p = dnspol_new();
	char err[256];
	size_t n;
	const char *sub[] = { "10.0.0.0/8", "2001:db8::/32" };
	const char *d1[] = { "a" }, *d2[] = { "a", "b" }, *d3[] = { "c" };
	unsigned w1[] = { 1 }, w2[] = { 3, 1 };

	dnspol_add_dcdn(p, "a", "edge.a.test", false, err, sizeof err);
	dnspol_add_dcdn(p, "b", "edge.b.test", false, err, sizeof err);
	dnspol_add_dcdn(p, "c", "edge.c.test", true, err, sizeof err);
	dnspol_add_name(p, "www.csp.test", 30, &n, err, sizeof err);
	dnspol_add_rule(p, n, sub, 2, d3, w1, 1, err, sizeof err); /* c is down */
	dnspol_add_rule(p, n, sub, 2, d1, w1, 1, err, sizeof err);
	dnspol_add_rule(p, n, NULL, 0, d2, w2, 2, err, sizeof err);
	return p;
}

static void test_choose(void)
{
	struct dnspol *p = policy();
	const struct dnspol_name *n = &p->names[0];
	struct dnspol_client c = client("10.1.2.3", 32);
	struct dnspol_result r;
	int count[2] = { 0, 0 };
	char err[256] = "";
	const char *d[] = { "zz" };
	unsigned w[] = { 1 };

	ok(dnspol_lookup(p, (const uint8_t *)"\3www\3csp\4test", 14) == n, "lookup by wire name");
	ok(dnspol_lookup(p, (const uint8_t *)"\3wwx\3csp\4test", 14) == NULL, "  another name: none");
	dnspol_choose(p, n, &c, 7, &r);
	ok(r.dcdn && strcmp(r.dcdn->name, "a") == 0, "10/8: the first rule's dCDN is down, the second rule's is used");
	is_int(r.scope, 8, "  scope /8");
	is_int(r.rule, 1, "  rule 1");
	c = client("192.0.2.1", 32);
	for (uint32_t i = 0; i < 4000; i++) {
		dnspol_choose(p, n, &c, i * 2654435761u, &r);
		count[strcmp(r.dcdn->name, "a") == 0 ? 0 : 1]++;
	}
	ok(count[0] > 2800 && count[0] < 3200, "weights 3:1 over 4000 draws (%d:%d)", count[0], count[1]);
	is_int(r.scope, 8, "  a non-matching client: scope of the longest IPv4 subnet");
	c = client("2001:db8::5", 48);
	dnspol_choose(p, n, &c, 0, &r);
	is_int(r.scope, 32, "IPv6 ECS /48 in 2001:db8::/32: scope 32");
	memset(&c, 0, sizeof c);
	dnspol_choose(p, n, &c, 0, &r);
	ok(r.dcdn && r.rule == 2 && r.scope == 0, "an unknown client (ECS /0): default rule, scope 0");
	c = client("10.1.2.3", 32);
	for (int i = 0; i < 50; i++) {
		dnspol_choose_excluding(p, n, &c, (uint32_t)i, 1u << 0, &r);
		if (!r.dcdn || strcmp(r.dcdn->name, "b") != 0)
			break;
	}
	ok(r.dcdn && strcmp(r.dcdn->name, "b") == 0, "a dCDN excluded (its RI failed): the next one is drawn");
	dnspol_choose_excluding(p, n, &c, 0, 3, &r);
	ok(r.dcdn == NULL && r.rule == -1, "every dCDN excluded: served directly");
	atomic_store(&p->dcdns[0].healthy, 0);
	for (int i = 0; i < 50; i++) {
		dnspol_choose(p, n, &c, (uint32_t)i, &r);
		if (!r.dcdn || strcmp(r.dcdn->name, "b") != 0)
			break;
	}
	ok(r.dcdn && strcmp(r.dcdn->name, "b") == 0, "a failed health check: only the remaining dCDN is drawn");
	atomic_store(&p->dcdns[1].healthy, 0);
	dnspol_choose(p, n, &c, 0, &r);
	ok(r.dcdn == NULL && r.rule == -1, "nothing available: served directly");
	ok(dnspol_add_rule(p, 0, NULL, 0, d, w, 1, err, sizeof err) == CDNI_ENOTFOUND, "a rule naming an unknown dCDN");
	is_str(err, "unknown dCDN \"zz\"", "  says which");
	w[0] = 0;
	d[0] = "a";
	ok(dnspol_add_rule(p, 0, NULL, 0, d, w, 1, err, sizeof err) == CDNI_EINVAL, "weight 0 is refused");
	ok(dnspol_add_dcdn(p, "a", "x.test", false, err, sizeof err) == CDNI_EEXIST, "a dCDN defined twice");
	size_t idx;
	ok(dnspol_add_name(p, "WWW.csp.test.", 30, &idx, err, sizeof err) == CDNI_EEXIST, "a name with two policies");
	dnspol_free(p);
}

int main(void)
{
	test_names();
	test_prefixes();
	test_choose();
	return done_testing();
}
