/* conf.h: table-driven loading, defaults, ranges, and errors naming the key path */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/conf.h"
#include "common/err.h"
#include "common/httpd.h"
#include "common/tap.h"

struct rule {
	char *prefix;
	long long status;
};

struct cfg {
	char *root;
	long long port;
	bool cors;
	int mode;
	struct conf_list rules;
	struct conf_strlist names;
	struct conf_list listen;
	json_t *extra;
};

static const char *const modes[] = { "proxy", "refuse", NULL };

static const struct conf_item rule_table[] = {
	CONF_STR("prefix", struct rule, prefix, NULL, CONF_REQUIRED, "path prefix"),
	CONF_INT("status", struct rule, status, 300, 399, 302, "status"),
	CONF_END
};

static const struct conf_item table[] = {
	CONF_STR("root", struct cfg, root, NULL, CONF_REQUIRED, "content directory"),
	CONF_INT("port", struct cfg, port, 0, 65535, 8080, "port"),
	CONF_BOOL("cors", struct cfg, cors, true, "CORS"),
	CONF_ENUM("mode", struct cfg, mode, modes, 1, "what to do"),
	CONF_LIST("rules", struct cfg, rules, rule_table, struct rule, 0, "rules"),
	CONF_STRS("names", struct cfg, names, 0, "names"),
	CONF_LIST("listen", struct cfg, listen, listen_conf_table, struct listen_conf, 0, "listeners"),
	CONF_JSONV("extra", struct cfg, extra, 0, "anything"),
	CONF_END
};

static int load(const char *text, struct cfg *c, char *err, size_t len)
{
	memset(c, 0, sizeof *c);
	err[0] = '\0';
	return conf_load_string(table, c, text, "t.json", err, len);
}

static void expect_error(const char *text, const char *want, const char *what)
{
	struct cfg c;
	char err[512];
	int rc = load(text, &c, err, sizeof err);

	ok(rc == CDNI_ECONFIG && strstr(err, want) != NULL, "%s: error names it", what);
	if (rc != CDNI_ECONFIG || !strstr(err, want))
		diag("got rc %d, message '%s', want it to contain '%s'", rc, err, want);
	conf_free(table, &c);
}

static void good(void)
{
	struct cfg c;
	char err[512];
	int rc = load("{\"root\":\"/srv\",\"mode\":\"proxy\",\"rules\":[{\"prefix\":\"/v/\"},"
		      "{\"prefix\":\"/w/\",\"status\":307}],\"names\":[\"a\",\"b\"],"
		      "\"listen\":{\"port\":0,\"tls\":false},\"extra\":{\"k\":[1,2]}}",
		      &c, err, sizeof err);

	is_int(rc, 0, "a good config loads");
	if (rc)
		diag("%s", err);
	is_str(c.root, "/srv", "string");
	is_int(c.port, 8080, "integer default");
	ok(c.cors, "boolean default");
	is_int(c.mode, 0, "enum by name");
	is_int(c.rules.n, 2, "list of objects");
	is_int(((struct rule *)c.rules.v)[0].status, 302, "default inside a list element");
	is_int(((struct rule *)c.rules.v)[1].status, 307, "value inside a list element");
	is_int(c.names.n, 2, "list of strings");
	is_str(c.names.v[1], "b", "list of strings value");
	is_int(c.listen.n, 1, "a single object is a list of one");
	is_str(((struct listen_conf *)c.listen.v)[0].address, "127.0.0.1", "listener address default");
	ok(json_is_object(c.extra), "free-form JSON kept");
	conf_free(table, &c);
	ok(c.root == NULL && c.rules.v == NULL && c.extra == NULL, "conf_free releases and clears");
}

int main(void)
{
	good();
	expect_error("{}", "root: is required", "missing required key");
	expect_error("{\"root\":\"/a\",\"port\":70000}", "port: must be an integer in 0..65535, got 70000",
		     "integer out of range");
	expect_error("{\"root\":\"/a\",\"port\":\"80\"}", "port: must be an integer", "integer of wrong type");
	expect_error("{\"root\":\"/a\",\"cors\":1}", "cors: must be true or false", "boolean of wrong type");
	expect_error("{\"root\":\"/a\",\"mode\":\"x\"}", "mode: must be one of \"proxy\", \"refuse\"",
		     "enum value unknown");
	expect_error("{\"root\":\"/a\",\"prot\":1}", "prot: unknown key", "typo is an unknown key");
	expect_error("{\"root\":\"/a\",\"rules\":[{\"prefix\":\"/\"},{\"prefix\":\"/x\",\"status\":200}]}",
		     "rules[1].status: must be an integer in 300..399, got 200", "path into a list");
	expect_error("{\"root\":\"/a\",\"rules\":[{\"status\":301}]}", "rules[0].prefix: is required",
		     "required key inside a list");
	expect_error("{\"root\":\"/a\",\"listen\":[{\"port\":1,\"bogus\":2}]}", "listen[0].bogus: unknown key",
		     "unknown key in a listener");
	expect_error("{\"root\":\"/a\",\"names\":[\"a\",3]}", "names[1]: must be a string", "list of strings type");
	expect_error("{\"root\":\"a\\u0000b\"}", "t.json:1:18", "NUL in a string refused by the parser, with its position");
	expect_error("{\"root\":\"/a\",\"root\":\"/b\"}", "duplicate", "duplicate key refused");
	expect_error("[1,2]", "must be an object", "top level not an object");
	expect_error("{\"root\":", "t.json:1:", "syntax error names line and column");
	return done_testing();
}
