/* cdni-urisign sign: make a token (and a signed URI). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/tls.h"
#include "urisign/b64.h"
#include "urisign/cli.h"
#include "urisign/urisign.h"

static const char usage_sign[] =
	"usage: cdni-urisign sign --jwk FILE [--kid KID] [--alg ALG] [--claims JSON]\n"
	"         [--iss ISS] [--aud AUD] [--uri URI] [--hash | --regex RE]\n"
	"         [--lifetime S] [--nbf UNIX] [--now UNIX] [--jti ID] [--iat]\n"
	"         [--cdniip PREFIX] [--sub SUBJECT] [--enc-jwk FILE] [--enc-kid KID]\n"
	"         [--renew-cookie ETS [--depth N] | --renew-query ETS]\n"
	"         [--bind-cert PEM | --bind-spki B64] [--package-attribute NAME]\n"
	"         [--path-style] [--print-uri | --print-token]\n"
	"Sign an RFC 9246 token with the private key in FILE (a JWK, or a JWK set with\n"
	"--kid). Prints the token; with --uri also the signed URI on a second line.\n"
	"  --claims JSON     start from these claims (a JSON object)\n"
	"  --uri URI         the URI to sign; the URI container defaults to its hash\n"
	"  --hash            cdniuc = hash: of the normalized URI (RFC 6920 sha-256)\n"
	"  --regex RE        cdniuc = regex:RE (POSIX ERE against the whole URI)\n"
	"  --lifetime S      exp = now + S (default 300 unless --claims has exp; 0: no exp)\n"
	"  --cdniip, --sub   encrypted (JWE dir + AES-GCM) with the key in --enc-jwk\n"
	"  --renew-cookie ETS  Signed Token Renewal by cookie: cdnistt 1, cdniets ETS,\n"
	"                    cdnistd N (--depth, default 0)\n"
	"  --renew-query ETS   renewal in the query string: cdnistt 2, cdniets ETS\n"
	"  --bind-cert PEM   non-standard cdnicb: bind to the SPKI of this certificate\n"
	"  --path-style      put the token in a path parameter (;NAME=TOKEN)\n"
	"  --print-uri       print only the signed URI; --print-token: only the token\n";

#define DEFAULT_LIFETIME 300
#define LIFETIME_UNSET (-2)

struct sign_args {
	const char *jwk, *kid, *alg, *claims, *iss, *aud, *uri, *regex, *jti;
	const char *cdniip, *sub, *enc_jwk, *enc_kid, *bind_cert, *bind_spki, *attr;
	long long lifetime, now, nbf, ets, depth;
	int renew; /* 0, 1 cookie, 2 query */
	bool hash, iat, path_style, print_uri, print_token;
};

static int sign_opts(int argc, char **argv, struct sign_args *a)
{
	static const struct option opts[] = {
		{ "jwk", 1, NULL, 'j' }, { "kid", 1, NULL, 'k' }, { "alg", 1, NULL, 'A' },
		{ "claims", 1, NULL, 'c' }, { "iss", 1, NULL, 'i' }, { "aud", 1, NULL, 'a' },
		{ "uri", 1, NULL, 'u' }, { "hash", 0, NULL, 'H' }, { "regex", 1, NULL, 'r' },
		{ "lifetime", 1, NULL, 'l' }, { "now", 1, NULL, 'n' }, { "nbf", 1, NULL, 'N' },
		{ "jti", 1, NULL, 'J' }, { "iat", 0, NULL, 'I' }, { "cdniip", 1, NULL, 'P' },
		{ "sub", 1, NULL, 's' }, { "enc-jwk", 1, NULL, 'e' }, { "enc-kid", 1, NULL, 'E' },
		{ "renew-cookie", 1, NULL, 'C' }, { "renew-query", 1, NULL, 'Q' },
		{ "depth", 1, NULL, 'd' }, { "bind-cert", 1, NULL, 'b' },
		{ "bind-spki", 1, NULL, 'B' }, { "package-attribute", 1, NULL, 'x' },
		{ "path-style", 0, NULL, 'p' }, { "print-uri", 0, NULL, 'U' },
		{ "print-token", 0, NULL, 'T' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': a->jwk = optarg; break;
		case 'k': a->kid = optarg; break;
		case 'A': a->alg = optarg; break;
		case 'c': a->claims = optarg; break;
		case 'i': a->iss = optarg; break;
		case 'a': a->aud = optarg; break;
		case 'u': a->uri = optarg; break;
		case 'H': a->hash = true; break;
		case 'r': a->regex = optarg; break;
		case 'l': a->lifetime = cli_parse_time(optarg); break;
		case 'n': a->now = cli_parse_time(optarg); break;
		case 'N': a->nbf = cli_parse_time(optarg); break;
		case 'J': a->jti = optarg; break;
		case 'I': a->iat = true; break;
		case 'P': a->cdniip = optarg; break;
		case 's': a->sub = optarg; break;
		case 'e': a->enc_jwk = optarg; break;
		case 'E': a->enc_kid = optarg; break;
		case 'C': a->renew = 1, a->ets = cli_parse_time(optarg); break;
		case 'Q': a->renew = 2, a->ets = cli_parse_time(optarg); break;
		case 'd': a->depth = cli_parse_time(optarg); break;
		case 'b': a->bind_cert = optarg; break;
		case 'B': a->bind_spki = optarg; break;
		case 'x': a->attr = optarg; break;
		case 'p': a->path_style = true; break;
		case 'U': a->print_uri = true; break;
		case 'T': a->print_token = true; break;
		case 'h': return 1;
		default: return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

static const char *sign_args_check(const struct sign_args *a)
{
	if (!a->jwk)
		return "--jwk FILE is required";
	if (a->lifetime == -1 || a->now < 0 || a->nbf == -1 || a->ets < 0 || a->depth < 0)
		return "--lifetime, --now, --nbf, --renew-*, --depth take non-negative integers";
	if (a->hash && a->regex)
		return "--hash and --regex exclude each other";
	if (a->hash && !a->uri)
		return "--hash needs --uri";
	if ((a->print_uri && !a->uri) || (a->print_uri && a->print_token))
		return "--print-uri needs --uri (and excludes --print-token)";
	if ((a->cdniip || a->sub) && !a->enc_jwk)
		return "--cdniip and --sub are encrypted: give --enc-jwk FILE";
	if (a->bind_cert && a->bind_spki)
		return "--bind-cert and --bind-spki exclude each other";
	return NULL;
}

static int bind_claim(json_t *c, const struct sign_args *a)
{
	uint8_t spki[32];
	size_t n = 0;

	if (a->bind_cert) {
		char err[256] = "";
		X509 *x = tls_load_cert(a->bind_cert, err, sizeof err);
		int rc = x ? tls_spki_sha256(x, spki) : -1;
		X509_free(x);
		if (rc) {
			cli_error("%s", *err ? err : "cannot hash the certificate's SPKI");
			return -1;
		}
	} else if (b64url_decode(a->bind_spki, strlen(a->bind_spki), spki, sizeof spki, &n) ||
		   n != 32) {
		cli_error("--bind-spki must be base64url of 32 bytes");
		return -1;
	}
	return us_claims_bind_cert(c, spki) ? -1 : 0;
}

static int encrypted_claims(json_t *c, const struct sign_args *a)
{
	struct jose_key *ek;
	int rc = 0;

	if (!a->cdniip && !a->sub)
		return 0;
	if (!(ek = cli_load_key(a->enc_jwk, a->enc_kid, true)))
		return -1;
	if (a->cdniip && us_claims_set_encrypted(c, "cdniip", a->cdniip, ek))
		rc = -1;
	if (a->sub && us_claims_set_encrypted(c, "sub", a->sub, ek))
		rc = -1;
	if (rc)
		cli_error("%s: not an encryption key (oct, 16/24/32 bytes)", a->enc_jwk);
	jose_key_free(ek);
	return rc;
}

static int set_claims(json_t *c, const struct sign_args *a)
{
	int e = 0;

	if (a->iss)
		e |= json_object_set_new(c, "iss", json_string(a->iss));
	if (a->aud)
		e |= json_object_set_new(c, "aud", json_string(a->aud));
	if (a->lifetime == LIFETIME_UNSET && !json_object_get(c, "exp"))
		e |= json_object_set_new(c, "exp", json_integer(a->now + DEFAULT_LIFETIME));
	else if (a->lifetime > 0)
		e |= json_object_set_new(c, "exp", json_integer(a->now + a->lifetime));
	if (a->nbf >= 0)
		e |= json_object_set_new(c, "nbf", json_integer(a->nbf));
	if (a->iat)
		e |= json_object_set_new(c, "iat", json_integer(a->now));
	if (a->jti)
		e |= json_object_set_new(c, "jti", json_string(a->jti));
	if (a->renew) {
		e |= json_object_set_new(c, "cdniets", json_integer(a->ets));
		e |= json_object_set_new(c, "cdnistt", json_integer(a->renew));
		if (a->renew == 1)
			e |= json_object_set_new(c, "cdnistd", json_integer(a->depth));
	}
	if (a->regex) {
		char *v = malloc(strlen(a->regex) + 7);
		if (v)
			sprintf(v, "regex:%s", a->regex);
		e |= !v || json_object_set_new(c, "cdniuc", json_string(v));
		free(v);
	}
	if (e)
		return -1;
	if ((a->bind_cert || a->bind_spki) && bind_claim(c, a))
		return -1;
	return encrypted_claims(c, a);
}

static json_t *build_claims(const struct sign_args *a)
{
	json_error_t je;
	json_t *c = a->claims ? json_loads(a->claims, JSON_REJECT_DUPLICATES, &je) : json_object();

	if (!c || !json_is_object(c)) {
		cli_error("--claims: not a JSON object%s%s", c ? "" : ": ", c ? "" : je.text);
		json_decref(c);
		return NULL;
	}
	if (set_claims(c, a)) {
		json_decref(c);
		return NULL;
	}
	if (!a->uri && !json_object_get(c, "cdniuc")) {
		cli_error("no URI container: give --uri, --regex or a cdniuc claim");
		json_decref(c);
		return NULL;
	}
	return c;
}

static int sign_print(const struct sign_args *a, const struct us_signer *s, const json_t *c)
{
	char *tok = NULL, *uri = NULL;
	int rc;

	if (a->uri)
		rc = us_sign_uri(s, c, a->uri, a->attr, a->path_style ? US_IN_PATH : US_IN_QUERY,
				 &uri, &tok);
	else
		rc = us_sign_token(s, c, &tok);
	if (rc) {
		cli_error("cannot sign: the key does not fit --alg, or the URI is malformed");
		return CLI_USAGE;
	}
	if (!a->print_uri)
		puts(tok);
	if (uri && !a->print_token)
		puts(uri);
	free(tok);
	free(uri);
	return CLI_OK;
}

int cli_sign(int argc, char **argv)
{
	struct sign_args a = { .lifetime = LIFETIME_UNSET, .nbf = -2, .now = (long long)time(NULL) };
	struct us_signer s = { 0 };
	struct jose_key *k = NULL;
	const char *bad;
	json_t *c = NULL;
	int rc = sign_opts(argc, argv, &a);

	if (rc)
		return rc > 0 ? (fputs(usage_sign, stdout), CLI_OK)
			      : (fputs(usage_sign, stderr), CLI_USAGE);
	if ((bad = sign_args_check(&a))) {
		cli_error("%s", bad);
		return CLI_USAGE;
	}
	if (!(k = cli_load_key(a.jwk, a.kid, true)) || !(c = build_claims(&a))) {
		jose_key_free(k);
		return CLI_USAGE;
	}
	s.key = k;
	s.alg = jose_alg_parse(a.alg);
	if (a.alg && !s.alg) {
		cli_error("unsupported --alg %s", a.alg);
		rc = CLI_USAGE;
	} else {
		rc = sign_print(&a, &s, c);
	}
	json_decref(c);
	jose_key_free(k);
	return rc;
}
