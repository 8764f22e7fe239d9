/* cdni-dane — commands:
 *   tlsa --usage U --selector S --mtype M CERT NAME PORT
 *   verify [--resolver IP@PORT] [--anchor FILE] [--trust-ad] [--cacert FILE]
 *          [--timeout S] NAME PORT */
#include "dane/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "common/err.h"
#include "common/tls.h"
#include "dane/dane.h"

static const char usage[] =
	"usage: cdni-dane tlsa --usage U --selector S --mtype M CERT NAME PORT\n"
	"       cdni-dane verify [--resolver IP@PORT] [--anchor FILE] [--trust-ad]\n"
	"                        [--cacert FILE] [--timeout SECONDS] NAME PORT\n"
	"\n"
	"tlsa    print the TLSA record (_PORT._tcp.NAME) for the certificate in CERT:\n"
	"        usage 0..3 (PKIX-TA, PKIX-EE, DANE-TA, DANE-EE), selector 0 (certificate)\n"
	"        or 1 (SPKI), mtype 0 (exact), 1 (SHA-256) or 2 (SHA-512); defaults 3 1 1.\n"
	"verify  resolve NAME with DNSSEC validation (from the trust anchors in --anchor,\n"
	"        DS or DNSKEY records; or the resolver's AD bit with --trust-ad), follow\n"
	"        CNAMEs, find TLSA records (RFC 7671 section 7: at the CNAME-expanded name,\n"
	"        then at NAME), connect to PORT with SNI NAME and verify the server by\n"
	"        DANE with OpenSSL; print what matched. --cacert: trust anchors for the\n"
	"        PKIX usages 0 and 1 (default: the system store).\n"
	"        Without --resolver, /etc/resolv.conf.\n"
	"Exit status: 0 verified (or record printed), 1 not verified or failed, 2 usage.\n";

static int usage_err(const char *msg)
{
	fprintf(stderr, "cdni-dane: %s\n%s", msg, usage);
	return 2;
}

static int int_arg(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

/* ---- tlsa ----------------------------------------------------------------- */

static int cmd_tlsa(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "usage", required_argument, NULL, 'u' }, { "selector", required_argument, NULL, 's' },
		{ "mtype", required_argument, NULL, 'm' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	int u = 3, s = 1, m = 1, port, c;
	char err[512], *text;
	ldns_rr *rr = NULL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if ((c == 'u' && int_arg(optarg, 0, 3, &u)) || (c == 's' && int_arg(optarg, 0, 1, &s)) ||
		    (c == 'm' && int_arg(optarg, 0, 2, &m)) || c == '?')
			return usage_err("tlsa: --usage 0..3, --selector 0..1, --mtype 0..2");
	}
	if (argc - optind != 3 || int_arg(argv[optind + 2], 1, 65535, &port))
		return usage_err("tlsa: want CERT NAME PORT (port 1..65535)");
	if (dane_tlsa_rr(argv[optind], u, s, m, argv[optind + 1], port, 3600, &rr, err, sizeof err)) {
		fprintf(stderr, "cdni-dane: %s\n", err);
		return 1;
	}
	text = ldns_rr2str(rr);
	if (text)
		fputs(text, stdout);
	free(text);
	ldns_rr_free(rr);
	return text ? 0 : 1;
}

/* ---- verify ------------------------------------------------------------------ */

struct vopts {
	struct dane_vr_opts vr;
	const char *cacert, *name;
	int port;
};

static int connect_to(const char *addr, int port, long timeout_ms)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	char ps[8];
	int fd;

	snprintf(ps, sizeof ps, "%d", port);
	if (getaddrinfo(addr, ps, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) { /* deadlines on connect, reads and writes */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

static SSL_CTX *client_ctx(const char *cacert)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if ((cacert ? SSL_CTX_load_verify_locations(ctx, cacert, NULL)
		    : SSL_CTX_set_default_verify_paths(ctx)) != 1 ||
	    SSL_CTX_dane_enable(ctx) <= 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* TLS to addr with DANE; 0 when DANE authenticated the server. */
static int tls_check(const struct vopts *o, const struct dane_addrs *a, const char *addr,
		     const struct dane_tlsa_set *t)
{
	SSL_CTX *ctx = client_ctx(o->cacert);
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	char err[512] = "", matched[300];
	long vr;
	int fd = -1, rc = 1;

	if (!ssl || dane_ssl_setup(ssl, o->name, a->chain[a->nchain - 1], t, err, sizeof err) <= 0) {
		printf("%s: no usable TLSA record%s%s\n", addr, err[0] ? ": " : "", err);
		goto done;
	}
	SSL_set_tlsext_host_name(ssl, o->name);
	fd = connect_to(addr, o->port, o->vr.timeout_ms);
	if (fd < 0) {
		printf("%s port %d: cannot connect: %s\n", addr, o->port, strerror(errno));
		goto done;
	}
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1 || (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		vr = SSL_get_verify_result(ssl);
		printf("%s port %d: DANE verification failed: %s\n", addr, o->port,
		       vr != X509_V_OK ? X509_verify_cert_error_string(vr) : tls_errstr(err, sizeof err));
		goto done;
	}
	if (dane_ssl_matched(ssl, matched, sizeof matched)) {
		printf("%s port %d: verified by PKIX, not by a TLSA record\n", addr, o->port);
		goto done;
	}
	printf("%s port %d: verified by TLSA %s\n", addr, o->port, matched);
	rc = 0;
done:
	if (ssl)
		SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return rc;
}

static void print_lookup(const struct dane_addrs *a, const struct dane_tlsa_set *t)
{
	printf("name: %s\nchain:", a->query);
	for (size_t i = 0; i < a->nchain; i++)
		printf(" %s", a->chain[i]);
	printf("\naddresses:");
	for (size_t i = 0; i < a->naddrs; i++)
		printf(" %s", a->addrs[i]);
	printf("\ndnssec: %s%s%s\n", dane_sec_name(a->sec), a->why ? " (" : "", a->why ? a->why : "");
	if (a->why)
		printf(")\n");
	if (!t)
		return;
	for (size_t i = 0; i < t->ntried; i++)
		printf("tlsa asked: %s\n", t->tried[i]);
	printf("tlsa: %s at %s, %zu record%s%s%s%s\n", dane_sec_name(t->sec), t->owner ? t->owner : "-",
	       t->n, t->n == 1 ? "" : "s", t->why ? " (" : "", t->why ? t->why : "", t->why ? ")" : "");
}

static int verify_run(const struct vopts *o)
{
	struct dane_vr *vr = NULL;
	struct dane_addrs *a = NULL;
	struct dane_tlsa_set *t = NULL;
	char err[512];
	int rc = 1;

	if (dane_vr_new(&o->vr, &vr, err, sizeof err)) {
		fprintf(stderr, "cdni-dane: %s\n", err);
		return 2;
	}
	if (dane_vr_addrs(vr, o->name, &a) || dane_vr_tlsa(vr, a, o->port, &t)) {
		fprintf(stderr, "cdni-dane: out of memory\n");
		goto done;
	}
	print_lookup(a, t);
	if (a->naddrs == 0 || t->sec != DANE_SECURE || t->n == 0) {
		printf("result: not verified (%s)\n", a->naddrs == 0 ? "no address" :
		       t->sec == DANE_BOGUS ? "bogus DNS data" : "no secure TLSA records");
		goto done;
	}
	for (size_t i = 0; i < a->naddrs && rc; i++)
		rc = tls_check(o, a, a->addrs[i], t);
	printf("result: %s\n", rc == 0 ? "verified" : "not verified");
done:
	dane_tlsa_set_free(t);
	dane_addrs_free(a);
	dane_vr_free(vr);
	return rc;
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "resolver", required_argument, NULL, 'r' }, { "anchor", required_argument, NULL, 'a' },
		{ "trust-ad", no_argument, NULL, 't' }, { "cacert", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 'T' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	struct vopts o = { .vr = { .timeout_ms = 5000 } };
	int c, secs;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': o.vr.server = optarg; break;
		case 'a': o.vr.anchors = optarg; break;
		case 't': o.vr.trust_ad = true; break;
		case 'c': o.cacert = optarg; break;
		case 'T':
			if (int_arg(optarg, 1, 3600, &secs))
				return usage_err("verify: --timeout 1..3600 seconds");
			o.vr.timeout_ms = secs * 1000L;
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: return usage_err("verify: unknown option");
		}
	}
	if (argc - optind != 2 || int_arg(argv[optind + 1], 1, 65535, &o.port))
		return usage_err("verify: want NAME PORT (port 1..65535)");
	if (!o.vr.anchors && !o.vr.trust_ad)
		return usage_err("verify: --anchor FILE or --trust-ad is needed (nothing is secure without)");
	o.name = argv[optind];
	return verify_run(&o);
}

int dane_cli(int argc, char **argv)
{
	if (argc < 2)
		return usage_err("want a command: tlsa or verify");
	if (strcmp(argv[1], "tlsa") == 0)
		return cmd_tlsa(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	return usage_err("unknown command");
}
