/* ucdn/conf.c: the cdni-ucdn config table and its checks beyond types:
 * defaults, listeners, the origin URL and when it is needed, rule errors
 * naming their key path, and ucdn_conf_load's file-name prefix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/tap.h"
#include "redirect/route.h"
#include "ucdn/ucdn.h"

/* Load and check text; returns the check's code, err holds the message. */
static int check(const char *json, char *err, size_t errlen, struct ucdn_conf *keep)
{
	struct ucdn_conf cf;
	struct route_policy *p = NULL;
	int rc;

	memset(&cf, 0, sizeof cf);
	err[0] = '\0';
	rc = conf_load_string(ucdn_conf_table, &cf, json, "u.json", err, errlen);
	if (rc == 0)
		rc = ucdn_conf_check(&cf, &p, err, errlen);
	route_policy_free(p);
	if (keep && rc == 0)
		*keep = cf;
	else
		ucdn_conf_free(&cf);
	return rc;
}

static void expect_error(const char *json, const char *want)
{
	char err[512];
	int rc = check(json, err, sizeof err, NULL);

	if (!ok(rc == CDNI_ECONFIG && strstr(err, want), "refused: %s", want))
		diag("rc %d, message '%s'", rc, err);
}

static void test_defaults(void)
{
	struct ucdn_conf cf;
	char err[512];
	int rc = check("{\"listen\":[{\"port\":0}],\"origin\":\"http://127.0.0.1:8080\"}", err,
		       sizeof err, &cf);

	if (!ok(rc == 0, "minimal config accepted"))
		diag("%s", err);
	if (rc)
		return;
	is_int(cf.origin_timeout_ms, 10000, "origin_timeout_ms default");
	is_int(cf.origin_connect_timeout_ms, 2000, "origin_connect_timeout_ms default");
	is_int(cf.origin_max_body, 16 << 20, "origin_max_body default");
	is_int(cf.threads, 4, "threads default: an epoll pool of 4");
	is_int(cf.origin_workers, 8, "origin_workers default");
	is_str(cf.access_log, "-", "access_log default stdout");
	is_int(cf.route.default_action, ROUTE_DEF_PROXY, "default_action default proxy");
	is_str(cf.route.cache_control, "no-store", "redirect_cache_control default");
	is_int((long long)cf.route.rules.n, 0, "no rules");
	ucdn_conf_free(&cf);
}

static void test_errors(void)
{
	expect_error("{\"listen\":[]}", "listen: needs at least one listener");
	expect_error("{\"origin\":\"http://o.test\"}", "listen: is required");
	expect_error("{\"listen\":[{\"address\":\"localhost\"}],\"origin\":\"http://o.test\"}",
		     "listen[0].address: 'localhost' is not a numeric");
	expect_error("{\"listen\":[{\"port\":0}]}", "origin: is required when some path is proxied");
	expect_error("{\"listen\":[{\"port\":0}],\"default_action\":\"refuse\","
		     "\"rules\":[{\"prefix\":\"/o/\",\"action\":\"proxy\"}]}",
		     "origin: is required when some path is proxied");
	expect_error("{\"listen\":[{\"port\":0}],\"origin\":\"o.test:80\"}", "origin: must be an http");
	expect_error("{\"listen\":[{\"port\":0}],\"origin\":\"http://o.test/a?b\"}", "origin: must be an http");
	expect_error("{\"listen\":[{\"port\":0}],\"origin\":\"http:///x\"}", "origin: must be an http");
	expect_error("{\"listen\":[{\"port\":0}],\"origin\":\"http://o.test\",\"origin_ca\":\"/nonexistent/ca.pem\"}",
		     "origin_ca: cannot read /nonexistent/ca.pem");
	expect_error("{\"listen\":[{\"port\":0}],\"origin\":\"http://o.test\",\"threads\":-1}",
		     "threads: must be an integer in 0..1024");
	expect_error("{\"listen\":[{\"port\":0}],\"origin\":\"http://o.test\",\"origin_timeout_ms\":0}",
		     "origin_timeout_ms: must be an integer in 1..");
	expect_error("{\"listen\":[{\"port\":0}],\"origin\":\"http://o.test\",\"access_log\":\"\"}",
		     "access_log: must be a path");
	expect_error("{\"listen\":[{\"port\":0}],\"origin\":\"http://o.test\",\"colour\":\"red\"}",
		     "colour: unknown key");
	expect_error("{\"listen\":[{\"port\":0}],\"origin\":\"http://o.test\",\"rules\":["
		     "{\"prefix\":\"/a/\",\"action\":\"refuse\"},"
		     "{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"https://e.test\",\"status\":303}]}",
		     "rules[1].status: must be 301, 302, 307 or 308");
	expect_error("{\"listen\":[{\"port\":0}],\"origin\":\"http://o.test\",\"rules\":["
		     "{\"prefix\":\"/v/\",\"action\":\"redirect\"}]}",
		     "rules[0].target: is required");
	expect_error("{\"listen\":[{\"port\":0}],\"origin\":\"http://o.test\","
		     "\"redirect_cache_control\":\"a\\r\\nb\"}",
		     "redirect_cache_control: must hold no control bytes");
}

static void test_no_origin_needed(void)
{
	char err[512];
	int rc = check("{\"listen\":[{\"port\":0}],\"default_action\":\"refuse\",\"rules\":["
		       "{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"https://e.test\"}]}",
		       err, sizeof err, NULL);

	if (!ok(rc == 0, "redirect-only config needs no origin"))
		diag("%s", err);
}

static void test_load_file(void)
{
	char path[] = "/tmp/ucdn-conf-XXXXXX", err[768];
	struct ucdn_conf cf;
	struct route_policy *p = NULL;
	int fd = mkstemp(path);
	const char *bad = "{\"listen\":[{\"port\":0}],\"default_action\":\"refuse\",\"rules\":"
			  "[{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"ftp://x\"}]}";

	if (!ok(fd >= 0, "temporary config file"))
		return;
	if (write(fd, bad, strlen(bad)) != (ssize_t)strlen(bad))
		diag("short write");
	close(fd);
	memset(&cf, 0, sizeof cf);
	ok(ucdn_conf_load(&cf, path, &p, err, sizeof err) == CDNI_ECONFIG && !p,
	   "bad file refused");
	ok(strncmp(err, path, strlen(path)) == 0 && strstr(err, ": rules[0].target: "),
	   "message starts with the file name, then the key path");
	ok(cf.listen.v == NULL && cf.route.rules.v == NULL, "config left empty on failure");
	unlink(path);
}

int main(void)
{
	test_defaults();
	test_errors();
	test_no_origin_needed();
	test_load_file();
	return done_testing();
}
