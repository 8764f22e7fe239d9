/* cdni-keyless — talk to a key server (ours or anybody's gokeyless-framed
 * one) from the command line: ping it, have it sign or decrypt, load it.
 * Everything goes through the client library (keyless/client.c). */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "keyless/client.h"
#include "keyless/keys.h"
#include "keyless/proto.h"

#define PROG "cdni-keyless"
#define MAX_SERVERS 16
#define MSG_MAX (60 * 1024)

static const char usage[] =
	"usage: " PROG " COMMAND [options]\n"
	"Speak the keyless key-server protocol (gokeyless v1.0 framing) over mutual TLS.\n"
	"commands:\n"
	"  ping     [--count N]                       round-trip time of ping/pong\n"
	"  sign     --key CERT --alg ALG --in FILE [--digest] [--out FILE]\n"
	"           sign FILE (hashed here; the server gets the digest, Ed25519 the message)\n"
	"  decrypt  --key CERT --in FILE [--raw] [--out FILE]   RSA decryption (0x01, or 0x08)\n"
	"  bench    --key CERT --alg ALG [--conns N] [--inflight M] [--seconds S]\n"
	"           load the server; prints ops/s and latency percentiles\n"
	"connection options (all commands):\n"
	"  -s, --server HOST:PORT   key server (repeat: failover order)\n"
	"  --ca FILE                CA the server's certificate chains to\n"
	"  --client-cert FILE       this client's certificate (mutual TLS)\n"
	"  --client-key FILE        this client's key\n"
	"  --server-name NAME       name to verify (default: the host of --server)\n"
	"  --tls 1.2|1.3            highest TLS version (default 1.3)\n"
	"  --timeout MS             deadline of each operation (default 5000)\n"
	"  -v                       log connection events\n"
	"key and algorithm:\n"
	"  --key FILE|HEX           the key: its certificate, public or private key (PEM),\n"
	"                           or its SKI as 40 hex digits\n"
	"  --alg ALG                rsa-sha256 (PKCS#1 v1.5; also -md5sha1 -sha1 -sha224 -sha384\n"
	"                           -sha512), rsa-pss-sha256 (-sha384 -sha512), ecdsa-sha256\n"
	"                           (and the others), ed25519; bench also takes rsa2048\n"
	"                           (= rsa-sha256) and p256 (= ecdsa-sha256)\n"
	"output: signatures and plaintexts go to --out FILE as bytes, else to stdout in hex.\n"
	"exit status: 0 on success, 1 when the server answered an error or did not answer,\n"
	"2 for bad usage.\n";

struct opts {
	const char *cmd;
	char *servers[MAX_SERVERS];
	size_t nservers;
	const char *ca, *cert, *key, *server_name, *tls;
	const char *keysel, *alg, *in, *out;
	int digest_in, raw, count, conns, inflight, seconds, timeout_ms, verbose;
};

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int opt_value(struct opts *o, int c, const char *v)
{
	switch (c) {
	case 's':
		if (o->nservers == MAX_SERVERS)
			return -1;
		o->servers[o->nservers++] = (char *)(uintptr_t)v;
		return 0;
	case 'A': o->ca = v; return 0;
	case 'C': o->cert = v; return 0;
	case 'K': o->key = v; return 0;
	case 'N': o->server_name = v; return 0;
	case 'T': o->tls = v; return 0;
	case 'k': o->keysel = v; return 0;
	case 'a': o->alg = v; return 0;
	case 'i': o->in = v; return 0;
	case 'o': o->out = v; return 0;
	case 'n': return parse_int(v, 1, 1000000, &o->count);
	case 'c': return parse_int(v, 1, 1024, &o->conns);
	case 'm': return parse_int(v, 1, 65536, &o->inflight);
	case 'S': return parse_int(v, 1, 3600, &o->seconds);
	case 't': return parse_int(v, 1, 600000, &o->timeout_ms);
	default: return -1;
	}
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "server", required_argument, NULL, 's' }, { "ca", required_argument, NULL, 'A' },
		{ "client-cert", required_argument, NULL, 'C' },
		{ "client-key", required_argument, NULL, 'K' },
		{ "server-name", required_argument, NULL, 'N' }, { "tls", required_argument, NULL, 'T' },
		{ "key", required_argument, NULL, 'k' }, { "alg", required_argument, NULL, 'a' },
		{ "in", required_argument, NULL, 'i' }, { "out", required_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'n' }, { "conns", required_argument, NULL, 'c' },
		{ "inflight", required_argument, NULL, 'm' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' }, { "digest", no_argument, NULL, 'd' },
		{ "raw", no_argument, NULL, 'r' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct opts){ .count = 3, .conns = 1, .inflight = 64, .seconds = 5,
			    .timeout_ms = 5000, .tls = "1.3" };
	if (argc < 2 || argv[1][0] == '-')
		return argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? 100 : 2;
	o->cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "s:hv", lo, NULL)) != -1) {
		if (c == 'h')
			return 100;
		if (c == 'v')
			o->verbose = 1;
		else if (c == 'd')
			o->digest_in = 1;
		else if (c == 'r')
			o->raw = 1;
		else if (c == '?' || opt_value(o, c, optarg)) {
			if (c != '?')
				fprintf(stderr, PROG ": bad value for an option: '%s'\n", optarg);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return 0;
}

/* ---- key selector and algorithms ---- */

static int ski_from_file(const char *path, uint8_t ski[KS_SKI_LEN])
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *pk = NULL;
	X509 *x;
	int rc;

	if (!f)
		return CDNI_EIO;
	if ((x = PEM_read_X509(f, NULL, NULL, NULL))) {
		pk = X509_get_pubkey(x);
		X509_free(x);
	}
	if (!pk && !fseek(f, 0, SEEK_SET))
		pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (!pk && !fseek(f, 0, SEEK_SET))
		pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	rc = pk ? ks_pkey_ski(pk, ski) : CDNI_EPARSE;
	EVP_PKEY_free(pk);
	return rc;
}

static int hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int key_ski(const char *sel, uint8_t ski[KS_SKI_LEN])
{
	int ok = strlen(sel) == 2 * KS_SKI_LEN;

	for (size_t i = 0; ok && i < KS_SKI_LEN; i++) {
		int hi = hexdigit(sel[2 * i]), lo = hexdigit(sel[2 * i + 1]);
		ok = hi >= 0 && lo >= 0;
		ski[i] = (uint8_t)(hi << 4 | lo);
	}
	if (ok)
		return 0;
	if (ski_from_file(sel, ski)) {
		fprintf(stderr, PROG ": --key %s: not a certificate, public or private key, "
			"or 40 hex digits\n", sel);
		return -1;
	}
	return 0;
}

/* The opcode for --alg (our names, the protocol's opcode names, bench aliases). */
static int alg_opcode(const char *alg)
{
	static const struct { const char *name; uint8_t op; } al[] = {
		{ "rsa2048", KS_OP_RSA_SIGN_SHA256 }, { "rsa", KS_OP_RSA_SIGN_SHA256 },
		{ "p256", KS_OP_ECDSA_SIGN_SHA256 }, { "p384", KS_OP_ECDSA_SIGN_SHA384 },
		{ "p521", KS_OP_ECDSA_SIGN_SHA512 }, { "ed25519", KS_OP_ED25519_SIGN },
	};
	char name[64];
	const char *dash;

	for (size_t i = 0; alg && i < sizeof al / sizeof al[0]; i++)
		if (!strcmp(al[i].name, alg))
			return al[i].op;
	if (!alg || ks_op_by_name(alg) >= 0)
		return alg ? ks_op_by_name(alg) : -1;
	dash = strrchr(alg, '-'); /* rsa-pss-sha256 -> rsa-pss-sign-sha256 */
	if (!dash)
		return -1;
	snprintf(name, sizeof name, "%.*s-sign%s", (int)(dash - alg), alg, dash);
	return ks_op_by_name(name);
}

static int read_input(const char *path, uint8_t **data, size_t *len)
{
	char *text = NULL;

	if (!path) {
		fprintf(stderr, PROG ": --in FILE is required\n");
		return -1;
	}
	if (file_read_all(path, MSG_MAX, &text, len)) {
		fprintf(stderr, PROG ": --in %s: cannot read (or larger than %d bytes)\n", path,
			MSG_MAX);
		return -1;
	}
	*data = (uint8_t *)text;
	return 0;
}

/* The payload for a signing opcode: the digest of msg (or msg itself). */
static int sign_payload(const struct ks_opinfo *oi, int digest_in, const uint8_t *msg,
			size_t len, uint8_t *out, size_t *outlen)
{
	unsigned int n = 0, m = 0;

	if (oi->kind == KS_KIND_ED25519 || digest_in) {
		memcpy(out, msg, len);
		*outlen = len;
		return 0;
	}
	if (oi->hash == KS_HASH_MD5SHA1) {
		if (!EVP_Digest(msg, len, out, &n, EVP_md5(), NULL) ||
		    !EVP_Digest(msg, len, out + n, &m, EVP_sha1(), NULL))
			return -1;
		*outlen = n + m;
		return 0;
	}
	if (!EVP_Digest(msg, len, out, &n, EVP_get_digestbyname(ks_hash_ossl_name(oi->hash)),
			NULL))
		return -1;
	*outlen = n;
	return 0;
}

static int write_output(const char *path, const uint8_t *p, size_t len)
{
	FILE *f;

	if (!path) {
		for (size_t i = 0; i < len; i++)
			printf("%02x", p[i]);
		printf("\n");
		return 0;
	}
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, PROG ": --out %s: cannot write\n", path);
		return 1;
	}
	return 0;
}

/* ---- commands ---- */

static struct ks_client *connect_client(const struct opts *o, int conns, int inflight)
{
	struct ks_client_conf cc = { 0 };
	struct ks_client *cl = NULL;
	char err[512];

	if (!o->nservers || !o->ca || !o->cert || !o->key) {
		fprintf(stderr, PROG ": --server, --ca, --client-cert and --client-key are "
			"required\n");
		return NULL;
	}
	ks_client_conf_defaults(&cc);
	cc.servers.v = (char **)(uintptr_t)o->servers;
	cc.servers.n = o->nservers;
	cc.ca = (char *)(uintptr_t)o->ca;
	cc.cert = (char *)(uintptr_t)o->cert;
	cc.key = (char *)(uintptr_t)o->key;
	cc.server_name = (char *)(uintptr_t)o->server_name;
	cc.tls_max = (char *)(uintptr_t)o->tls;
	cc.connections = conns;
	cc.max_inflight = inflight;
	cc.timeout_ms = o->timeout_ms;
	cc.connect_timeout_ms = o->timeout_ms;
	if (ks_client_new(&cc, &cl, err, sizeof err)) {
		fprintf(stderr, PROG ": %s\n", err);
		return NULL;
	}
	return cl;
}

static int failed(const char *what, int rc)
{
	fprintf(stderr, PROG ": %s: %s\n", what, cdni_strerror(rc));
	return 1;
}

static int cmd_ping(const struct opts *o)
{
	struct ks_client *cl = connect_client(o, 1, 16);
	long long rtt, min = -1, max = 0, sum = 0;
	int ok = 0, rc = 0;

	if (!cl)
		return 1;
	for (int i = 0; i < o->count; i++) {
		if ((rc = ks_client_ping(cl, o->timeout_ms, &rtt))) {
			printf("ping %d: %s\n", i + 1, cdni_strerror(rc));
			continue;
		}
		printf("ping %d: %.3f ms\n", i + 1, (double)rtt / 1000);
		ok++;
		sum += rtt;
		min = min < 0 || rtt < min ? rtt : min;
		max = rtt > max ? rtt : max;
	}
	if (ok)
		printf("%d/%d answered, rtt min/avg/max = %.3f/%.3f/%.3f ms\n", ok, o->count,
		       (double)min / 1000, (double)sum / ok / 1000, (double)max / 1000);
	ks_client_free(cl);
	return ok == o->count ? 0 : 1;
}

static int do_keyed(const struct opts *o, uint8_t opcode, const uint8_t *payload, size_t len)
{
	uint8_t ski[KS_SKI_LEN], out[KS_RESULT_MAX];
	size_t outlen = sizeof out;
	struct ks_client *cl;
	int rc;

	if (!o->keysel) {
		fprintf(stderr, PROG ": --key is required\n");
		return 2;
	}
	if (key_ski(o->keysel, ski) || !(cl = connect_client(o, 1, 16)))
		return 1;
	if (opcode == KS_OP_RSA_DECRYPT || opcode == KS_OP_RSA_DECRYPT_RAW)
		rc = ks_client_decrypt(cl, ski, opcode, payload, len, out, &outlen, o->timeout_ms);
	else
		rc = ks_client_sign(cl, ski, opcode, payload, len, out, &outlen, o->timeout_ms);
	ks_client_free(cl);
	if (rc)
		return failed(ks_opinfo(opcode)->name, rc);
	return write_output(o->out, out, outlen);
}

static int cmd_sign(const struct opts *o)
{
	int op = alg_opcode(o->alg);
	uint8_t *msg = NULL, payload[MSG_MAX];
	size_t len = 0, plen = 0;
	int rc;

	if (op < 0 || ks_opinfo((uint8_t)op)->hash == KS_HASH_NONE) {
		if (op < 0 || ks_opinfo((uint8_t)op)->kind != KS_KIND_ED25519) {
			fprintf(stderr, PROG ": --alg '%s': not a signing algorithm\n",
				o->alg ? o->alg : "(none)");
			return 2;
		}
	}
	if (read_input(o->in, &msg, &len))
		return 2;
	rc = sign_payload(ks_opinfo((uint8_t)op), o->digest_in, msg, len, payload, &plen);
	free(msg);
	if (rc)
		return failed("hashing the input", CDNI_ETLS);
	return do_keyed(o, (uint8_t)op, payload, plen);
}

static int cmd_decrypt(const struct opts *o)
{
	uint8_t *in = NULL;
	size_t len = 0;
	int rc;

	if (read_input(o->in, &in, &len))
		return 2;
	rc = do_keyed(o, o->raw ? KS_OP_RSA_DECRYPT_RAW : KS_OP_RSA_DECRYPT, in, len);
	free(in);
	return rc;
}

/* ---- bench ---- */

#define HIST_US 200000 /* 1 us buckets up to 200 ms, then one overflow bucket */

struct bench {
	struct ks_client *cl;
	struct ks_msg msg;
	uint8_t digest[64];
	long long end_us;
	int timeout_ms;
	unsigned long long ops, errors, *hist;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	long outstanding;
	int first_error;
};

static int reply_error_code(const struct ks_reply *r)
{
	return r->opcode == KS_OP_ERROR && r->len == 1 ? ks_err_from_wire(r->payload[0])
						       : CDNI_EUPSTREAM;
}

static void bench_cb(void *arg, int rc, const struct ks_reply *r)
{
	struct bench *b = arg;

	if (rc || (r->opcode != KS_OP_RESPONSE && r->opcode != KS_OP_PONG)) {
		b->errors++;
		if (!b->first_error)
			b->first_error = rc ? rc : reply_error_code(r);
	} else {
		b->ops++;
		b->hist[r->rtt_us < HIST_US ? r->rtt_us : HIST_US]++;
	}
	if (now_us() < b->end_us && !ks_client_submit(b->cl, &b->msg, b->timeout_ms, bench_cb, b))
		return;
	pthread_mutex_lock(&b->lock);
	if (--b->outstanding == 0)
		pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->lock);
}

static double percentile(const struct bench *b, double q)
{
	unsigned long long want = (unsigned long long)(q * (double)b->ops), seen = 0;

	for (long i = 0; i <= HIST_US; i++) {
		seen += b->hist[i];
		if (seen > want)
			return (double)i / 1000;
	}
	return (double)HIST_US / 1000;
}

static int bench_prepare(const struct opts *o, struct bench *b, uint8_t ski[KS_SKI_LEN])
{
	int op = alg_opcode(o->alg);
	const struct ks_opinfo *oi;

	if (op < 0 || !(oi = ks_opinfo((uint8_t)op)) ||
	    (oi->hash == KS_HASH_NONE && oi->kind != KS_KIND_ED25519 && op != KS_OP_PING)) {
		fprintf(stderr, PROG ": --alg '%s': not something to bench\n",
			o->alg ? o->alg : "(none)");
		return 2;
	}
	if (op != KS_OP_PING && (!o->keysel || key_ski(o->keysel, ski)))
		return o->keysel ? 1 : (fprintf(stderr, PROG ": --key is required\n"), 2);
	RAND_bytes(b->digest, sizeof b->digest);
	ks_msg_init(&b->msg, (uint8_t)op);
	ks_msg_set_payload(&b->msg, b->digest,
			   op == KS_OP_PING ? 8 : oi->hash ? ks_hash_len(oi->hash) : 32);
	if (op != KS_OP_PING)
		ks_msg_set_ski(&b->msg, ski);
	return 0;
}

static void bench_report(const struct opts *o, const struct bench *b, double secs)
{
	printf("bench: alg=%s conns=%d inflight=%d seconds=%.2f ops=%llu errors=%llu "
	       "ops_per_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f\n",
	       o->alg, o->conns, o->inflight, secs, b->ops, b->errors, (double)b->ops / secs,
	       percentile(b, 0.5), percentile(b, 0.9), percentile(b, 0.99), percentile(b, 0.999));
	if (b->first_error)
		printf("bench: first error: %s\n", cdni_strerror(b->first_error));
}

static int cmd_bench(const struct opts *o)
{
	struct bench b = { .timeout_ms = o->timeout_ms };
	uint8_t ski[KS_SKI_LEN];
	long long t0;
	int rc;

	if ((rc = bench_prepare(o, &b, ski)))
		return rc;
	if (!(b.hist = calloc(HIST_US + 1, sizeof *b.hist)))
		return failed("bench", CDNI_ENOMEM);
	if (!(b.cl = connect_client(o, o->conns, o->inflight))) {
		free(b.hist);
		return 1;
	}
	if ((rc = ks_client_ping(b.cl, o->timeout_ms, NULL))) {
		ks_client_free(b.cl);
		free(b.hist);
		return failed("first ping", rc);
	}
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.cv, NULL);
	t0 = now_us();
	b.end_us = t0 + o->seconds * 1000000LL;
	pthread_mutex_lock(&b.lock);
	for (long i = 0; i < (long)o->conns * o->inflight; i++)
		if (!ks_client_submit(b.cl, &b.msg, o->timeout_ms, bench_cb, &b))
			b.outstanding++;
	while (b.outstanding > 0)
		pthread_cond_wait(&b.cv, &b.lock);
	pthread_mutex_unlock(&b.lock);
	bench_report(o, &b, (double)(now_us() - t0) / 1e6);
	ks_client_free(b.cl);
	pthread_cond_destroy(&b.cv);
	pthread_mutex_destroy(&b.lock);
	free(b.hist);
	return b.ops && !b.errors ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc = parse_args(argc, argv, &o);

	if (rc == 100) {
		fputs(usage, stdout);
		return 0;
	}
	if (rc) {
		fputs(usage, stderr);
		return rc;
	}
	log_init(PROG, o.verbose ? LOG_DEBUG : LOG_ERR);
	if (!strcmp(o.cmd, "ping"))
		return cmd_ping(&o);
	if (!strcmp(o.cmd, "sign"))
		return cmd_sign(&o);
	if (!strcmp(o.cmd, "decrypt"))
		return cmd_decrypt(&o);
	if (!strcmp(o.cmd, "bench"))
		return cmd_bench(&o);
	fprintf(stderr, PROG ": unknown command '%s'\n%s", o.cmd, usage);
	return 2;
}
