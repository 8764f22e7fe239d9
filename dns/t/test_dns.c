/* Unit tests: query parsing edge cases (truncated header, bad label
 * lengths, compression, OPT and ECS, oversize), canonical name order, and
 * the answer engine on a db built from a config (answers, denial records,
 * REFUSED, truncation, ECS echo, policy CNAMEs signed online and cached). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/tap.h"
#include "dns/answer.h"
#include "dns/query.h"

static char dir[256];

static size_t hex(const char *h, uint8_t *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2)
		sscanf(h, "%2hhx", &out[n++]);
	return n;
}

#define HDR "123401000001000000000000"
#define QN "03777777036373700474657374" /* www.csp.test without the root */

static enum dnsq_verdict parse_hex(const char *h, struct dnsq *q)
{
	uint8_t m[4096];

	return dnsq_parse(m, hex(h, m), q);
}

static void test_parse(void)
{
	struct dnsq q;
	uint8_t big[70000] = { 0 };

	is_int(parse_hex(HDR QN "0000010001", &q), DNSQ_OK, "a plain query");
	is_int(q.qtype, 1, "  qtype A");
	is_int((long long)q.qname_len, 14, "  qname of 14 bytes");
	is_int(parse_hex("41424344", &q), DNSQ_DROP, "shorter than a header: dropped");
	is_int(parse_hex("123481000001000000000000" QN "0000010001", &q), DNSQ_DROP, "QR set: dropped");
	is_int(parse_hex("123428000001000000000000" QN "0000010001", &q), DNSQ_NOTIMP, "opcode 5: NOTIMP");
	is_int(parse_hex("123401000000000000000000", &q), DNSQ_FORMERR, "no question: FORMERR");
	is_int(parse_hex("123401000002000000000000" QN "0000010001" QN "0000010001", &q), DNSQ_FORMERR, "two questions");
	is_int(parse_hex(HDR QN "000001", &q), DNSQ_FORMERR, "a question cut short");
	is_int(parse_hex(HDR "4061" "0000010001", &q), DNSQ_FORMERR, "label type 0x40");
	is_int(parse_hex(HDR "c00c" "00010001", &q), DNSQ_FORMERR, "a compression pointer in the question");
	is_int(parse_hex(HDR "3f61" "00010001", &q), DNSQ_FORMERR, "a label longer than the message");
	is_int(parse_hex(HDR QN "0000010001ff", &q), DNSQ_FORMERR, "a trailing byte");
	is_int(parse_hex("123401000001000100000000" QN "0000010001" "c00c0001000100000000ffff", &q), DNSQ_FORMERR,
	       "an answer record whose RDLENGTH runs past the end");
	is_int(parse_hex("123401000001000100000000" QN "0000010001" "c00c00010001000000000004" "7f000001", &q),
	       DNSQ_OK, "an answer record in a query is skipped (a pointer ends its name)");
	is_int(parse_hex("12340100000100000000ffff" QN "0000010001", &q), DNSQ_FORMERR,
	       "ARCOUNT 65535 with no records");
	is_int(parse_hex("123401000001000000000001" QN "0000010001" "00002904d0000080000000", &q), DNSQ_OK, "EDNS");
	ok(q.edns && q.payload == 1232 && q.do_bit && q.edns_version == 0, "  payload 1232, DO");
	is_int(parse_hex("123401000001000000000001" QN "0000010001" "00002900100000000000", &q), DNSQ_FORMERR,
	       "OPT cut short");
	is_int(parse_hex("123401000001000000000001" QN "0000010001" "000029001000", &q), DNSQ_FORMERR,
	       "OPT cut shorter");
	is_int(parse_hex("123401000001000000000001" QN "0000010001" "0000290010000000000000", &q), DNSQ_OK,
	       "payload 16 is read as 512");
	is_int(q.payload, 512, "  512");
	is_int(parse_hex("123401000001000000000001" QN "0000010001" "00002904d0000100000000", &q), DNSQ_BADVERS,
	       "EDNS version 1: BADVERS");
	is_int(parse_hex("123401000001000000000001" QN "0000010001" "036f707400002904d0000000000000", &q),
	       DNSQ_FORMERR, "OPT not owned by the root");
	is_int(parse_hex("123401000001000000000001" QN "0000010001" "00002904d000000000000b00080007000118000a0102", &q),
	       DNSQ_OK, "ECS 10.1.2.0/24");
	ok(q.has_ecs && q.ecs.family == 1 && q.ecs.source == 24 && q.ecs.addr[2] == 2, "  family 1, /24, 10.1.2");
	is_int(parse_hex("123401000001000000000001" QN "0000010001" "00002904d000000000000b00080007000117000a0101", &q),
	       DNSQ_FORMERR, "ECS with a bit beyond its /23");
	is_int(parse_hex("123401000001000000000001" QN "0000010001" "00002904d000000000000800080004000321000000", &q),
	       DNSQ_FORMERR, "ECS family 3");
	is_int(parse_hex("123401000001000000000001" QN "0000010001" "00002904d000000000000800080004000121000000", &q),
	       DNSQ_FORMERR, "ECS /33 for IPv4");
	is_int(parse_hex("123401000001000000000001" QN "0000010001" "00002904d000000000000800080005000118000a", &q),
	       DNSQ_FORMERR, "an option longer than the OPT");
	memcpy(big, "\x12\x34\x01\x00\x00\x01", 6);
	is_int(dnsq_parse(big, sizeof big, &q), DNSQ_DROP, "over 65535 bytes: dropped");
	is_int(dnsq_parse(big, 600, &q), DNSQ_FORMERR, "600 bytes of zeros after a header: FORMERR");
	uint8_t name[300] = { 0 };
	size_t p = 0;
	for (int i = 0; i < 4; i++) {
		name[p++] = 63;
		memset(name + p, 'a', 63);
		p += 63;
	}
	uint8_t msg[400];
	memcpy(msg, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	memcpy(msg + 12, name, p + 1);
	memcpy(msg + 13 + p, "\x00\x01\x00\x01", 4);
	is_int(dnsq_parse(msg, 17 + p, &q), DNSQ_FORMERR, "a 257-byte name: FORMERR");
	/* random bytes never crash the parser */
	srand(3);
	for (int i = 0; i < 20000; i++) {
		uint8_t r[600];
		size_t n = (size_t)(rand() % (int)sizeof r);
		for (size_t k = 0; k < n; k++)
			r[k] = (uint8_t)rand();
		if (n > 4)
			r[4] = 0, r[5] = 1, r[2] &= 0x07;
		dnsq_parse(r, n, &q);
	}
	ok(1, "20000 random messages parsed without harm");
}

static void test_names(void)
{
	const uint8_t *a = (const uint8_t *)"\1a\4test", *b = (const uint8_t *)"\1b\4test";
	const uint8_t *za = (const uint8_t *)"\1z\1a\4test", *t = (const uint8_t *)"\4test";

	ok(dns_name_cmp(a, b) < 0, "a.test < b.test");
	ok(dns_name_cmp(za, b) < 0, "z.a.test < b.test (canonical order compares from the right)");
	ok(dns_name_cmp(t, a) < 0, "test < a.test");
	ok(dns_name_cmp(a, a) == 0, "equal");
	ok(dns_name_under(za, 10, a, 8), "z.a.test is under a.test");
	ok(!dns_name_under(b, 8, a, 8), "b.test is not under a.test");
	char txt[64];
	dns_name_text((const uint8_t *)"\3w.w\4test", txt, sizeof txt);
	is_str(txt, "w\\.w.test.", "text form escapes a dot in a label");
}

/* ---- the answer engine ------------------------------------------------------------ */

static struct db *build(const char *denial, char *err, size_t errlen)
{
	char path[512], conf[2048];
	struct dns_conf c;
	struct db *db = NULL;
	FILE *f;

	snprintf(path, sizeof path, "%s/z.zone", dir);
	f = fopen(path, "w");
	fputs("$ORIGIN csp.test.\n$TTL 300\n@ IN SOA ns.csp.test. a.csp.test. 1 3600 600 86400 300\n"
	      "@ IN NS ns.csp.test.\nns IN A 127.0.0.1\nvideo IN A 127.0.0.1\nx.deep IN A 127.0.0.2\n"
	      "big IN TXT \"", f);
	for (int i = 0; i < 250; i++)
		fputc('x', f);
	fputs("\"\nbig IN TXT \"", f);
	for (int i = 0; i < 250; i++)
		fputc('y', f);
	fputs("\"\n", f);
	fclose(f);
	snprintf(conf, sizeof conf,
		 "{ \"zones\": [ { \"name\": \"csp.test\", \"file\": \"%s\", \"denial\": \"%s\" } ],"
		 "  \"dcdns\": [ { \"name\": \"d\", \"target\": \"edge.dcdn.test\" }, { \"name\": \"e\", \"target\": \"e.dcdn.test\" } ],"
		 "  \"redirects\": [ { \"name\": \"www.csp.test\", \"rules\": ["
		 "    { \"subnets\": [\"10.0.0.0/8\"], \"dcdns\": [ { \"dcdn\": \"e\" } ] },"
		 "    { \"dcdns\": [ { \"dcdn\": \"d\" } ] } ] } ] }",
		 path, denial);
	if (dns_conf_load_string(conf, &c, err, errlen))
		return NULL;
	if (db_build(&c, 1, false, &db, err, errlen))
		db = NULL;
	dns_conf_free(&c);
	return db;
}

struct res {
	uint8_t b[65536];
	size_t len;
	int v;
	struct dns_info info;
};

static struct dns_cache cache;

static void ask(const struct db *db, const char *h, bool tcp, const char *client, struct res *r)
{
	uint8_t m[1024];
	size_t n = hex(h, m);
	struct dns_client cl = { .family = 4, .tcp = tcp };

	sscanf(client, "%hhu.%hhu.%hhu.%hhu", &cl.addr[0], &cl.addr[1], &cl.addr[2], &cl.addr[3]);
	r->len = 0;
	r->v = dns_answer(db, &cache, 12345, time(NULL), m, n, &cl, r->b, sizeof r->b, &r->len, &r->info);
}

static int rcode(const struct res *r) { return r->b[3] & 0xf; }
static int count(const struct res *r, int i) { return r->b[4 + 2 * i] << 8 | r->b[5 + 2 * i]; }
static bool has(const struct res *r, const char *needle, size_t n)
{
	return memmem(r->b, r->len, needle, n) != NULL;
}

#define Q(name, type) HDR name "00" type "0001"
#define QE(name, type, opt) "123401000001000000000001" name "00" type "0001" opt
#define DO "00002904d0000080000000"

static void test_answers(const char *denial)
{
	char err[512] = "";
	struct db *db = build(denial, err, sizeof err);
	struct res *r = malloc(sizeof *r);

	ok(db != NULL, "%s: a db is built (%s)", denial, err);
	if (!db) {
		free(r);
		return;
	}
	ask(db, Q("05766964656f036373700474657374", "0001"), false, "127.0.0.1", r);
	ok(r->v == DNS_RESPOND && rcode(r) == 0 && count(r, 1) == 1 && (r->b[2] & 0x04), "video A: one answer, AA");
	ask(db, Q("046e6f7065036373700474657374", "0001"), false, "127.0.0.1", r);
	ok(rcode(r) == 3 && count(r, 1) == 0 && count(r, 2) == 1, "nope: NXDOMAIN with the SOA");
	ask(db, QE("046e6f7065036373700474657374", "0001", DO), false, "127.0.0.1", r);
	is_int(count(r, 2), strcmp(denial, "nsec3") == 0 ? 2 + 2 * 3 : 2 + 2 * 2,
	       "  with DO: SOA, its RRSIG and the denial records with theirs");
	ask(db, QE("05766964656f036373700474657374", "001c", DO), false, "127.0.0.1", r);
	ok(rcode(r) == 0 && count(r, 1) == 0 && count(r, 2) == 4, "NODATA with DO: SOA, NSEC(3), two RRSIGs");
	ask(db, QE("0464656570036373700474657374", "0001", DO), false, "127.0.0.1", r);
	ok(rcode(r) == 0 && count(r, 1) == 0, "an empty non-terminal: NODATA");
	ask(db, Q("076578616d706c6503636f6d", "0001"), false, "127.0.0.1", r);
	ok(rcode(r) == 5 && !(r->b[2] & 0x04), "example.com: REFUSED, not authoritative");
	ask(db, Q("03626967036373700474657374", "0010"), false, "127.0.0.1", r);
	ok((r->b[2] & 0x02) && count(r, 1) == 0 && r->len <= 512, "big TXT without EDNS: TC, no answer, at most 512 bytes");
	ask(db, Q("03626967036373700474657374", "0010"), true, "127.0.0.1", r);
	ok(!(r->b[2] & 0x02) && count(r, 1) == 2, "  over TCP: both records");
	ask(db, Q(QN, "0001"), false, "127.0.0.1", r);
	ok(count(r, 1) == 1 && has(r, "\4edge\4dcdn", 10), "www: CNAME to the default dCDN");
	is_str(r->info.target, "edge.dcdn.test", "  the info names the target");
	ask(db, QE(QN, "0001", DO), false, "127.0.0.1", r);
	is_int(count(r, 1), 2, "  with DO: CNAME and its RRSIG");
	uint64_t signs = cache.signs;
	ask(db, QE(QN, "0001", DO), false, "127.0.0.1", r);
	is_int((long long)(cache.signs - signs), 0, "  the second time the signature comes from the cache");
	ask(db, Q(QN, "0001"), false, "10.9.9.9", r);
	ok(has(r, "\1e\4dcdn", 7), "a client in 10/8: the subnet rule's dCDN");
	ask(db, QE(QN, "0001", "00002904d000000000000b00080007000118000a0102"), false, "127.0.0.1", r);
	ok(has(r, "\1e\4dcdn", 7), "ECS 10.1.2.0/24 from another client: the subnet rule");
	ok(has(r, "\x00\x08\x00\x07\x00\x01\x18\x08\x0a\x01\x02", 11), "  ECS echoed with scope /8");
	is_int(r->info.ecs_scope, 8, "  info has the scope");
	ask(db, "1234", false, "127.0.0.1", r);
	is_int(r->v, DNS_DROP, "2 bytes: dropped");
	ask(db, HDR "c00c00010001", false, "127.0.0.1", r);
	ok(r->v == DNS_RESPOND && rcode(r) == 1 && r->b[0] == 0x12 && r->b[1] == 0x34, "a pointer in the question: FORMERR with the id");
	ask(db, QE(QN, "0001", "00002904d0000100000000"), false, "127.0.0.1", r);
	ok(rcode(r) == 0 && count(r, 3) == 1 && r->info.rcode == 16, "EDNS version 1: BADVERS in the OPT");
	ask(db, Q("036373700474657374", "00fc"), true, "127.0.0.1", r);
	is_int(r->v, DNS_AXFR, "AXFR over TCP is handed to dns_axfr");
	struct buf out;
	uint8_t m[64];
	size_t n = hex(Q("036373700474657374", "00fc"), m);
	struct dns_client cl = { .family = 4, .tcp = true, .addr = { 127, 0, 0, 1 } };
	buf_init(&out, 0);
	dns_axfr(db, m, n, &cl, &out, &r->info);
	ok(out.len > 14 && ((uint8_t *)out.data)[5] == 5, "AXFR from a client not allowed: REFUSED");
	buf_free(&out);
	dns_cache_free(&cache);
	db_free(db);
	free(r);
}

int main(void)
{
	log_init("test_dns", LOG_WARN);
	snprintf(dir, sizeof dir, "/tmp/cdni-dns-unit.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_parse();
	test_names();
	test_answers("nsec3");
	test_answers("nsec");
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
