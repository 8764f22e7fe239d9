/* cdni-urisign verify and bench. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/tls.h"
#include "urisign/b64.h"
#include "urisign/cli.h"
#include "urisign/urisign.h"

#define MAX_LIST 16

static const char usage_verify[] =
	"usage: cdni-urisign verify --jwks FILE [--now UNIX] [--client-ip IP]\n"
	"         [--package-attribute NAME] [--cookie 'HEADER'] [--aud ID]... [--issuer ISS]...\n"
	"         [--jwt-header B64] [--subject S] [--cert PEM | --spki B64]\n"
	"         [--prefer-uri-token] [--renew-jwk FILE [--renew-kid KID] [--renew-iss ISS]]\n"
	"         [--show-pii] URI...\n"
	"Verify each URI (absolute, as the client requested it) as an RFC 9246 surrogate\n"
	"would, in order and with one jti store, and print one JSON verdict per URI:\n"
	"result, log_code (RFC 9246 section 6.4), reason, where the token was, the URI\n"
	"without it, and the claims once the signature verified.\n"
	"  --jwks FILE        a JWK set, or an issuer map {\"ISS\": {\"keys\": [...]}}\n"
	"                     (Traffic Server uri_signing config files work as they are)\n"
	"  --now UNIX         the clock (default: now)\n"
	"  --client-ip IP     the client address, for cdniip\n"
	"  --cookie HEADER    the request's Cookie header\n"
	"  --aud ID           an identity of this CDN accepted in aud (repeatable)\n"
	"  --issuer ISS       accept only these issuers (repeatable)\n"
	"  --cert, --spki     the certificate this edge presents, for cdnicb\n"
	"  --renew-jwk FILE   sign renewal tokens (cdnistt 1 or 2) with this key\n"
	"  --show-pii         include the decrypted sub and cdniip in the output\n"
	"Exit status: 0 every URI accepted, 1 some URI rejected, 2 usage or config error.\n";

struct verify_args {
	const char *jwks, *client_ip, *attr, *cookie, *jwt_header, *subject, *cert, *spki;
	const char *renew_jwk, *renew_kid, *renew_iss;
	const char *aud[MAX_LIST], *iss[MAX_LIST];
	size_t n_aud, n_iss;
	long long now;
	bool prefer_uri, show_pii;
	uint8_t spki_sha[32];
	bool have_spki;
};

static int add_list(const char **v, size_t *n, const char *s)
{
	if (*n == MAX_LIST)
		return -1;
	v[(*n)++] = s;
	return 0;
}

static int verify_opts(int argc, char **argv, struct verify_args *a)
{
	static const struct option opts[] = {
		{ "jwks", 1, NULL, 'j' }, { "now", 1, NULL, 'n' }, { "client-ip", 1, NULL, 'i' },
		{ "package-attribute", 1, NULL, 'x' }, { "cookie", 1, NULL, 'c' },
		{ "aud", 1, NULL, 'a' }, { "issuer", 1, NULL, 'I' }, { "jwt-header", 1, NULL, 'H' },
		{ "subject", 1, NULL, 's' }, { "cert", 1, NULL, 'C' }, { "spki", 1, NULL, 'S' },
		{ "prefer-uri-token", 0, NULL, 'p' }, { "renew-jwk", 1, NULL, 'r' },
		{ "renew-kid", 1, NULL, 'k' }, { "renew-iss", 1, NULL, 'R' },
		{ "show-pii", 0, NULL, 'P' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': a->jwks = optarg; break;
		case 'n': a->now = cli_parse_time(optarg); break;
		case 'i': a->client_ip = optarg; break;
		case 'x': a->attr = optarg; break;
		case 'c': a->cookie = optarg; break;
		case 'a': bad |= add_list(a->aud, &a->n_aud, optarg); break;
		case 'I': bad |= add_list(a->iss, &a->n_iss, optarg); break;
		case 'H': a->jwt_header = optarg; break;
		case 's': a->subject = optarg; break;
		case 'C': a->cert = optarg; break;
		case 'S': a->spki = optarg; break;
		case 'p': a->prefer_uri = true; break;
		case 'r': a->renew_jwk = optarg; break;
		case 'k': a->renew_kid = optarg; break;
		case 'R': a->renew_iss = optarg; break;
		case 'P': a->show_pii = true; break;
		case 'h': return 1;
		default: return -1;
		}
	}
	if (bad || !a->jwks || optind >= argc || a->now < 0 || (a->cert && a->spki))
		return -1;
	return 0;
}

static int load_spki(struct verify_args *a)
{
	size_t n = 0;

	if (a->cert) {
		char err[256] = "";
		X509 *x = tls_load_cert(a->cert, err, sizeof err);
		int rc = x ? tls_spki_sha256(x, a->spki_sha) : -1;
		X509_free(x);
		if (rc)
			return cli_error("%s", *err ? err : "cannot hash the SPKI"), -1;
		a->have_spki = true;
	} else if (a->spki) {
		if (b64url_decode(a->spki, strlen(a->spki), a->spki_sha, 32, &n) || n != 32)
			return cli_error("--spki must be base64url of 32 bytes"), -1;
		a->have_spki = true;
	}
	return 0;
}

static struct us_verifier *make_verifier(const struct verify_args *a)
{
	struct us_verifier_opts o = {
		.package_attribute = a->attr, .audience = a->aud, .n_audience = a->n_aud,
		.issuers = a->iss, .n_issuers = a->n_iss, .jwt_header = a->jwt_header,
		.prefer_uri_token = a->prefer_uri,
	};
	struct us_verifier *v = NULL;
	char err[512] = "";

	if (us_verifier_new(&o, &v, err, sizeof err) ||
	    us_verifier_load_keys_file(v, a->jwks, err, sizeof err)) {
		cli_error("%s", err);
		us_verifier_free(v);
		return NULL;
	}
	return v;
}

static void add_renewal(json_t *out, const struct us_verdict *vd, const struct verify_args *a,
			const struct jose_key *rk)
{
	struct us_signer s = { .key = rk, .issuer = a->renew_iss };
	struct us_renewal rn;
	int rc = us_renew(vd, &s, a->now, a->attr, &rn);

	if (rc == CDNI_ENOTFOUND)
		return;
	if (rc) {
		json_object_set_new(out, "renewal", json_pack("{s:s}", "error",
			rc == CDNI_EOVERFLOW ? "path has fewer segments than cdnistd: no renewal"
					     : "cannot sign the renewal token"));
		return;
	}
	json_object_set_new(out, "renewal",
			    json_pack("{s:i,s:I,s:s,s:O}", "transport", rn.transport, "exp",
				      (json_int_t)rn.exp, "token", rn.token, "claims", rn.claims));
	if (rn.set_cookie)
		json_object_set_new(json_object_get(out, "renewal"), "set_cookie",
				    json_string(rn.set_cookie));
	if (rn.uri)
		json_object_set_new(json_object_get(out, "renewal"), "uri", json_string(rn.uri));
	us_renewal_clear(&rn);
}

static json_t *verdict_json(const char *uri, const struct us_verdict *vd,
			    const struct verify_args *a)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "result", vd->accept ? "accept" : "reject",
			      "log_code", us_code_text(vd->code), "description",
			      us_code_description(vd->code), "reason", vd->reason, "uri", uri);

	if (!o)
		return NULL;
	json_object_set_new(o, "token_location", json_string(us_where_name(vd->where)));
	if (vd->stripped_uri)
		json_object_set_new(o, "stripped_uri", json_string(vd->stripped_uri));
	if (vd->normalized_uri)
		json_object_set_new(o, "normalized_uri", json_string(vd->normalized_uri));
	if (vd->claims)
		json_object_set(o, "claims", vd->claims);
	if (a->show_pii && vd->subject)
		json_object_set_new(o, "subject", json_string(vd->subject));
	if (a->show_pii && vd->client_prefix)
		json_object_set_new(o, "cdniip", json_string(vd->client_prefix));
	return o;
}

static int verify_one(struct us_verifier *v, const struct verify_args *a, const char *uri,
		      const struct jose_key *rk)
{
	struct us_request rq = { .uri = uri, .client_ip = a->client_ip, .cookie = a->cookie,
				 .now = a->now, .subject = a->subject,
				 .spki_sha256 = a->have_spki ? a->spki_sha : NULL };
	struct us_verdict vd;
	json_t *o;
	bool accepted;

	if (us_verify(v, &rq, &vd)) {
		cli_error("out of memory");
		return CLI_USAGE;
	}
	o = verdict_json(uri, &vd, a);
	if (o && vd.accept && rk)
		add_renewal(o, &vd, a, rk);
	cli_print_json(o);
	json_decref(o);
	accepted = vd.accept;
	us_verdict_clear(&vd);
	return accepted ? CLI_OK : CLI_REJECT;
}

int cli_verify(int argc, char **argv)
{
	struct verify_args a = { .now = (long long)time(NULL) };
	struct us_verifier *v = NULL;
	struct jose_key *rk = NULL;
	int rc = verify_opts(argc, argv, &a), worst = CLI_OK;

	if (rc)
		return rc > 0 ? (fputs(usage_verify, stdout), CLI_OK)
			      : (fputs(usage_verify, stderr), CLI_USAGE);
	if (load_spki(&a) || !(v = make_verifier(&a)))
		return CLI_USAGE;
	if (a.renew_jwk && !(rk = cli_load_key(a.renew_jwk, a.renew_kid, true))) {
		us_verifier_free(v);
		return CLI_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		rc = verify_one(v, &a, argv[i], rk);
		if (rc > worst)
			worst = rc;
	}
	fflush(stdout);
	jose_key_free(rk);
	us_verifier_free(v);
	return worst;
}

/* ---- bench ---- */

static const char usage_bench[] =
	"usage: cdni-urisign bench [--alg ALG] [--seconds N]\n"
	"Verify one signed URI over and over on one core for about N seconds (default 3):\n"
	"an ALG (default ES256) token with iss, aud, exp, nbf, iat, cdniv and a regex: URI\n"
	"container, carried in the query. Three loops run in alternating 20 ms slices so\n"
	"that machine noise hits them alike, and JSON reports per second:\n"
	"  verify_per_sec      the whole request check (us_verify)\n"
	"  signature_per_sec   the JWS signature check alone\n"
	"  reference_per_sec   ES*: EVP_PKEY_verify of a digest with one reused context,\n"
	"                      what 'openssl speed ecdsap256' measures; else the signature\n"
	"  ratio               verify_per_sec / reference_per_sec\n";

struct bench {
	struct us_verifier *v;
	struct jose_key *k;
	char *uri;
	long long now;
	struct jose_jws j;
	EVP_PKEY_CTX *ref;
	uint8_t der[160], md[EVP_MAX_MD_SIZE];
	size_t derlen;
	unsigned int mdlen;
};

static int bench_ref_setup(struct bench *b)
{
	const EVP_MD *md = jose_alg_name(b->j.alg)[2] == '2' ? EVP_sha256()
			 : jose_alg_name(b->j.alg)[2] == '3' ? EVP_sha384() : EVP_sha512();

	if (b->k->kty != JOSE_KTY_EC)
		return 0;
	if (jose_ecdsa_raw_to_der(b->j.sig, b->j.siglen, b->der, sizeof b->der, &b->derlen) ||
	    !EVP_Digest(b->j.text, b->j.input_len, b->md, &b->mdlen, md, NULL) ||
	    !(b->ref = EVP_PKEY_CTX_new_from_pkey(NULL, b->k->pkey, NULL)) ||
	    EVP_PKEY_verify_init(b->ref) <= 0)
		return -1;
	return 0;
}

static int bench_setup(struct bench *b, enum jose_alg alg)
{
	static const char *const aud[] = { "dcdn.example" };
	struct us_verifier_opts o = { .audience = aud, .n_audience = 1 };
	struct us_signer s = { .issuer = "ucdn.example" };
	json_t *set = NULL, *pub = NULL, *claims;
	struct us_pkg pk;
	char err[256];
	int rc;

	b->now = (long long)time(NULL);
	if (jose_key_generate(alg, 0, &b->k) || us_verifier_new(&o, &b->v, err, sizeof err))
		return -1;
	s.key = b->k;
	claims = json_pack("{s:s,s:I,s:I,s:I,s:i,s:s}", "aud", "dcdn.example", "exp",
			   (json_int_t)(b->now + 3600), "nbf", (json_int_t)(b->now - 60), "iat",
			   (json_int_t)b->now, "cdniv", 1, "cdniuc",
			   "regex:https://dcdn\\.example/video/[^/]+/seg[0-9]+\\.ts(\\?.*)?");
	rc = !claims || jose_key_to_json(b->k, b->k->kty == JOSE_KTY_OCT, &pub) ||
	     !(set = json_pack("{s:[O]}", "keys", pub)) ||
	     us_verifier_add_keys(b->v, "ucdn.example", set, err, sizeof err) ||
	     us_sign_uri(&s, claims, "https://dcdn.example/video/abc/seg12.ts?x=1", NULL,
			 US_IN_QUERY, &b->uri, NULL) ||
	     us_uri_find(b->uri, US_DEFAULT_ATTR, &pk) ||
	     jose_jws_parse(b->uri + pk.tok, pk.tok_len, NULL, &b->j, NULL) || bench_ref_setup(b);
	json_decref(claims);
	json_decref(pub);
	json_decref(set);
	return rc ? -1 : 0;
}

/* One operation of loop kind: 0 the whole check, 1 the signature, 2 the reference. */
static bool bench_op(struct bench *b, int kind)
{
	struct us_request rq = { .uri = b->uri, .client_ip = "192.0.2.1", .now = b->now };
	struct us_verdict vd;
	bool good;

	if (kind == 2 && b->ref)
		return EVP_PKEY_verify(b->ref, b->der, b->derlen, b->md, b->mdlen) == 1;
	if (kind >= 1)
		return jose_jws_verify(&b->j, b->k, NULL) == 0;
	good = us_verify(b->v, &rq, &vd) == 0 && vd.accept;
	us_verdict_clear(&vd);
	return good;
}

/* Alternate 20 ms slices of the three loops for about seconds in all. */
static int bench_run(struct bench *b, double seconds, double per_sec[3], long long n[3])
{
	long long spent[3] = { 0 }, end = now_us() + (long long)(seconds * 1e6);

	while (now_us() < end) {
		for (int kind = 0; kind < 3; kind++) {
			long long t0 = now_us(), t = t0;
			while (t - t0 < 20000) {
				for (int i = 0; i < 16; i++, n[kind]++)
					if (!bench_op(b, kind))
						return -1;
				t = now_us();
			}
			spent[kind] += t - t0;
		}
	}
	for (int kind = 0; kind < 3; kind++)
		per_sec[kind] = (double)n[kind] * 1e6 / (double)spent[kind];
	return 0;
}

int cli_bench(int argc, char **argv)
{
	static const struct option opts[] = { { "alg", 1, NULL, 'a' }, { "seconds", 1, NULL, 's' },
					      { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *alg = "ES256";
	double secs = 3, ps[3];
	struct bench b = { 0 };
	long long n[3] = { 0 };
	int c, rc = CLI_USAGE;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'a')
			alg = optarg;
		else if (c == 's')
			secs = atof(optarg);
		else
			return c == 'h' ? (fputs(usage_bench, stdout), CLI_OK)
					: (fputs(usage_bench, stderr), CLI_USAGE);
	}
	if (optind != argc || secs <= 0 || secs > 600 || !jose_alg_is_sig(jose_alg_parse(alg)))
		return fputs(usage_bench, stderr), CLI_USAGE;
	if (bench_setup(&b, jose_alg_parse(alg)) || bench_run(&b, secs, ps, n)) {
		cli_error("bench setup or verification failed");
		goto done;
	}
	printf("{\"alg\":\"%s\",\"seconds\":%g,\"verifications\":%lld,\"verify_per_sec\":%.0f,"
	       "\"signature_per_sec\":%.0f,\"reference_per_sec\":%.0f,\"ratio\":%.3f}\n",
	       alg, secs, n[0], ps[0], ps[1], ps[2], ps[0] / ps[2]);
	rc = CLI_OK;
done:
	jose_jws_clear(&b.j);
	EVP_PKEY_CTX_free(b.ref);
	free(b.uri);
	jose_key_free(b.k);
	us_verifier_free(b.v);
	return rc;
}
