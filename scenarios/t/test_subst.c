/* subst.h: placeholders in strings and JSON, errors for unknown and unterminated ones */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/tap.h"
#include "scenarios/subst.h"

static int lookup(void *ctx, const char *node, const char *lis, char *out, size_t outlen,
		  char *why, size_t whylen)
{
	(void)ctx;
	if (!strcmp(node, "origin") && !strcmp(lis, "http"))
		snprintf(out, outlen, "127.0.0.1:8080");
	else if (!strcmp(node, "v6") && !strcmp(lis, "http"))
		snprintf(out, outlen, "[::1]:9");
	else if (!strcmp(node, "noport"))
		snprintf(out, outlen, "somewhere");
	else {
		snprintf(why, whylen, "no node \"%s\"", node);
		return CDNI_ENOTFOUND;
	}
	return 0;
}

static int host(void *ctx, const char *name, char *out, size_t outlen)
{
	(void)ctx;
	if (strcmp(name, "london"))
		return CDNI_ENOTFOUND;
	snprintf(out, outlen, "10.77.0.2");
	return 0;
}

static const struct subst_env env = { "/p", "/r", "/r/content", "/b", lookup, NULL, host, NULL };

static void good(const char *in, const char *want)
{
	char *out = NULL, err[300] = "";
	int rc = subst_string(&env, in, &out, err, sizeof err);

	ok(rc == 0, "'%s' substitutes%s%s", in, rc ? ": " : "", rc ? err : "");
	is_str(out, want, "'%s' -> '%s'", in, want);
	free(out);
}

static void bad(const char *in, const char *want)
{
	char *out = NULL, err[300] = "";
	int rc = subst_string(&env, in, &out, err, sizeof err);

	ok(rc == CDNI_ECONFIG && out == NULL, "'%s' is refused", in);
	ok(strstr(err, want) != NULL, "'%s': message has '%s' (got '%s')", in, want, err);
}

static void strings(void)
{
	good("", "");
	good("plain text", "plain text");
	good("{{pki}}/ca.pem", "/p/ca.pem");
	good("http://{{london.addr}}:80/", "http://10.77.0.2:80/");
	good("{{origin.http.addr}}", "127.0.0.1");
	good("x{{ run }}y", "x/ry");
	good("{{content}}|{{bin}}", "/r/content|/b");
	good("http://{{origin.http}}/a", "http://127.0.0.1:8080/a");
	good("{{origin.http.port}}", "8080");
	good("{{origin.http.addr}}", "127.0.0.1");
	good("{{v6.http.addr}}:{{v6.http.port}}", "[::1]:9");
	good("a { b } {c}", "a { b } {c}");
	bad("{{nope}}", "unknown placeholder {{nope}}");
	bad("{{}}", "unknown placeholder {{}}");
	bad("{{PKI}}", "unknown placeholder {{PKI}}");
	bad("x {{zz.http}} y", "unknown placeholder {{zz.http}}: no node \"zz\"");
	bad("{{origin.http.bogus}}", "unknown placeholder {{origin.http.bogus}}: not a known form");
	bad("{{origin.http.port.x}}", "unknown placeholder");
	bad("{{origin..port}}", "unknown placeholder");
	bad("{{.http}}", "unknown placeholder");
	bad("{{noport.http.port}}", "has no port");
	bad("https://x:{{origin.http.port", "unterminated placeholder \"{{origin.http.port\"");
	bad("{{pki}} and {{", "unterminated placeholder");
}

static void json(void)
{
	json_t *in = json_loads("{\"listen\":[{\"port\":\"{{origin.http.port}}\",\"tls\":true,"
				"\"n\":3,\"z\":null}],\"p2\":\"{{ origin.http.port }}\","
				"\"s\":\"x{{origin.http.port}}\",\"u\":\"{{origin.http}}\"}",
				0, NULL),
	       *out = NULL;
	char err[300] = "";

	ok(subst_json(&env, in, "cfg", &out, err, sizeof err) == 0, "a config substitutes");
	ok(json_is_integer(json_object_get(json_array_get(json_object_get(out, "listen"), 0), "port")),
	   "a string that is only a .port placeholder becomes an integer");
	is_int(json_integer_value(json_object_get(out, "p2")), 8080, "spaces inside the braces too");
	is_str(json_string_value(json_object_get(out, "s")), "x8080", "text around it: a string");
	is_str(json_string_value(json_object_get(out, "u")), "127.0.0.1:8080", "NODE.LISTENER: a string");
	ok(json_is_true(json_object_get(json_array_get(json_object_get(out, "listen"), 0), "tls")) &&
	   json_integer_value(json_object_get(json_array_get(json_object_get(out, "listen"), 0), "n")) == 3 &&
	   json_is_null(json_object_get(json_array_get(json_object_get(out, "listen"), 0), "z")),
	   "other values are copied");
	json_decref(out);
	json_decref(in);

	in = json_loads("{\"a\":[1,{\"b\":\"{{zzz}}\"}]}", 0, NULL);
	out = NULL;
	ok(subst_json(&env, in, "nodes[2].config", &out, err, sizeof err) == CDNI_ECONFIG && !out,
	   "an unknown placeholder deep inside is refused");
	is_str(err, "nodes[2].config.a[1].b: unknown placeholder {{zzz}} (known: pki, run, content, "
	       "bin, NODE.LISTENER[.port|.addr], HOST.addr)", "the message names the JSON path");
	json_decref(in);
}

int main(void)
{
	strings();
	json();
	return done_testing();
}
