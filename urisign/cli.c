/* cdni-urisign: dispatch, shared helpers, keygen and inspect. */
#include "urisign/cli.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "common/daemon.h"
#include "common/err.h"
#include "urisign/b64.h"
#include "urisign/urisign.h"

#define JSON_FILE_MAX (1024 * 1024)

static const char usage_main[] =
	"usage: cdni-urisign COMMAND [OPTIONS]\n"
	"Make, inspect and verify RFC 9246 signed URIs (URI Signing for CDNI).\n"
	"commands:\n"
	"  keygen   make a key: a private JWK and its public JWK set\n"
	"  sign     sign a token (and a URI) with a private JWK\n"
	"  verify   verify signed URIs against a JWK set; prints a JSON verdict\n"
	"  inspect  decode a token or signed URI WITHOUT verifying it\n"
	"  bench    measure verifications per second on one core\n"
	"'cdni-urisign COMMAND --help' describes each. Exit status: 0 success or accepted,\n"
	"1 rejected, 2 usage or configuration error.\n";

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("cdni-urisign: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_wipe_json(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_string(j)) {
		char *s = (char *)(uintptr_t)json_string_value(j);
		OPENSSL_cleanse(s, json_string_length(j));
	} else if (json_is_object(j)) {
		json_object_foreach(j, k, v)
			cli_wipe_json(v);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			cli_wipe_json(v);
	}
}

json_t *cli_read_json(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	json_error_t je;
	json_t *j;
	int rc = file_read_all(path, JSON_FILE_MAX, &text, &len);

	if (rc) {
		cli_error("%s: cannot read: %s", path, cdni_strerror(rc));
		return NULL;
	}
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	OPENSSL_cleanse(text, len);
	free(text);
	if (!j)
		cli_error("%s:%d: %s", path, je.line, je.text);
	return j;
}

struct jose_key *cli_load_key(const char *path, const char *kid, bool need_private)
{
	struct jose_key *k = NULL;
	char err[512] = "";

	if (jose_key_load_file(path, kid, need_private, &k, err, sizeof err)) {
		cli_error("%s", err);
		return NULL;
	}
	return k;
}

long long cli_parse_time(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	return (!*s || *end || v < 0) ? -1 : v;
}

void cli_print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (s) {
		puts(s);
		free(s);
	}
}

/* ---- keygen ---- */

static const char usage_keygen[] =
	"usage: cdni-urisign keygen --alg ALG [--kid KID] [--bits N] [--private FILE]\n"
	"                           [--public FILE]\n"
	"Make a key for ALG: ES256 ES384 ES512 RS256 RS384 RS512 PS256 PS384 PS512 EdDSA\n"
	"(Ed25519) HS256 HS384 HS512 (symmetric), A128GCM A192GCM A256GCM (encryption of\n"
	"cdniip and sub). The kid is the RFC 7638 thumbprint unless --kid is given.\n"
	"Without files, prints the private JWK on one line and the public JWK set on the\n"
	"next. --private writes the private JWK (mode 0600), --public the JWK set. For\n"
	"symmetric keys the \"public\" set holds the secret: share it only with verifiers.\n"
	"  --bits N   RSA modulus size (default 2048)\n";

static int write_json(const char *path, const json_t *j, mode_t mode)
{
	FILE *f;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		cli_error("%s: cannot write", path);
		return -1;
	}
	json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', f);
	return fclose(f) == 0 ? 0 : -1;
}

static int keygen_out(struct jose_key *k, const char *priv_path, const char *pub_path)
{
	json_t *priv = NULL, *pub = NULL, *set = NULL;
	bool sym = k->kty == JOSE_KTY_OCT;
	int rc = CLI_USAGE;

	if (jose_key_to_json(k, true, &priv) || jose_key_to_json(k, sym, &pub) ||
	    !(set = json_pack("{s:[O]}", "keys", pub)))
		goto done;
	if (priv_path ? write_json(priv_path, priv, 0600) : (cli_print_json(priv), 0))
		goto done;
	if (pub_path ? write_json(pub_path, set, 0644) : (cli_print_json(set), 0))
		goto done;
	if (sym)
		fputs("cdni-urisign: note: symmetric key: the JWK set holds the secret\n", stderr);
	rc = CLI_OK;
done:
	cli_wipe_json(priv);
	cli_wipe_json(set);
	json_decref(priv);
	json_decref(pub);
	json_decref(set);
	return rc;
}

static int cli_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "alg", 1, NULL, 'a' }, { "kid", 1, NULL, 'k' },     { "bits", 1, NULL, 'b' },
		{ "private", 1, NULL, 'p' }, { "public", 1, NULL, 'P' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *alg = NULL, *kid = NULL, *priv = NULL, *pub = NULL;
	struct jose_key *k = NULL;
	int c, bits = 0, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': alg = optarg; break;
		case 'k': kid = optarg; break;
		case 'b': bits = atoi(optarg); break;
		case 'p': priv = optarg; break;
		case 'P': pub = optarg; break;
		case 'h': fputs(usage_keygen, stdout); return CLI_OK;
		default: fputs(usage_keygen, stderr); return CLI_USAGE;
		}
	}
	if (!alg || optind != argc || (bits && (bits < 2048 || bits > 8192))) {
		cli_error("keygen needs --alg ALG (and --bits within 2048..8192)");
		fputs(usage_keygen, stderr);
		return CLI_USAGE;
	}
	if (jose_key_generate(jose_alg_parse(alg), bits, &k)) {
		cli_error("cannot make a key for alg \"%s\"", alg);
		return CLI_USAGE;
	}
	if (kid) {
		free(k->kid);
		k->kid = strdup(kid);
	}
	rc = keygen_out(k, priv, pub);
	jose_key_free(k);
	return rc;
}

/* ---- inspect ---- */

static const char usage_inspect[] =
	"usage: cdni-urisign inspect [--package-attribute NAME] TOKEN|URI\n"
	"Decode a JWS token (or the token inside a signed URI) and print its JOSE header\n"
	"and claims as JSON. NOTHING IS VERIFIED: the output says \"verified\": false.\n"
	"A JWE (an encrypted cdniip or sub) shows its header only.\n";

static json_t *decode_part(const char *p, size_t n)
{
	uint8_t *raw = NULL;
	size_t len = 0;
	json_t *j = NULL;

	if (b64url_decode_new(p, n, &raw, &len) == 0)
		jose_json_parse((const char *)raw, len, 16, &j);
	free(raw);
	return j;
}

static int inspect_token(const char *tok)
{
	const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	json_t *out, *hdr, *claims = NULL;
	size_t dots = 0;

	for (const char *p = tok; *p; p++)
		dots += *p == '.';
	if (!d1 || (dots != 2 && dots != 4) || !(hdr = decode_part(tok, (size_t)(d1 - tok)))) {
		cli_error("not a JWS or JWE compact serialization");
		return CLI_REJECT;
	}
	if (dots == 2 && !(claims = decode_part(d1 + 1, (size_t)(d2 - d1 - 1)))) {
		cli_error("the payload is not base64url of a JSON object");
		json_decref(hdr);
		return CLI_REJECT;
	}
	out = json_pack("{s:b,s:s,s:s,s:o}", "verified", 0, "warning",
			"decoded only: the signature was NOT verified", "type",
			dots == 2 ? "JWS" : "JWE", "header", hdr);
	if (out && claims)
		json_object_set_new(out, "claims", claims);
	else
		json_decref(claims);
	cli_print_json(out);
	json_decref(out);
	return CLI_OK;
}

static int cli_inspect(int argc, char **argv)
{
	static const struct option opts[] = { { "package-attribute", 1, NULL, 'a' },
					      { "help", 0, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	const char *attr = US_DEFAULT_ATTR, *arg;
	struct us_pkg pk;
	char *tok;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'a')
			attr = optarg;
		else if (c == 'h')
			return fputs(usage_inspect, stdout), CLI_OK;
		else
			return fputs(usage_inspect, stderr), CLI_USAGE;
	}
	if (optind != argc - 1)
		return fputs(usage_inspect, stderr), CLI_USAGE;
	arg = argv[optind];
	if (us_uri_find(arg, attr, &pk) == 0)
		tok = strndup(arg + pk.tok, pk.tok_len);
	else
		tok = strdup(arg);
	if (!tok)
		return CLI_USAGE;
	rc = inspect_token(tok);
	free(tok);
	return rc;
}

int us_cli_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = { { "keygen", cli_keygen }, { "sign", cli_sign }, { "verify", cli_verify },
		     { "inspect", cli_inspect }, { "bench", cli_bench } };

	if (argc < 2) {
		fputs(usage_main, stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_main, stdout);
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(argv[1], cmds[i].name) == 0) {
			optind = 1;
			return cmds[i].fn(argc - 1, argv + 1);
		}
	cli_error("unknown command \"%s\"", argv[1]);
	fputs(usage_main, stderr);
	return CLI_USAGE;
}
