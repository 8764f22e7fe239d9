/* cdni-ua — command line: options in, a JSON trace out (ua/ua.h does the work). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/err.h"
#include "common/log.h"
#include "ua/ua.h"

static const char usage[] =
	"usage: cdni-ua [options] URL\n"
	"Fetch URL (http or https) as the user agent of the CDNI draft's figures:\n"
	"follow redirects one request at a time and write a JSON trace of every hop.\n"
	"\n"
	"  --method GET|HEAD       request method (default GET; kept across redirects)\n"
	"  -H, --header 'N: v'     extra request header (repeatable); Authorization and\n"
	"                          Cookie are not sent to origins other than URL's\n"
	"  --range a-b             ask for a byte range (a-b, a- or -b)\n"
	"  --resolve HOST:PORT:ADDR  connect to ADDR for HOST:PORT, like curl (repeatable)\n"
	"  --cacert FILE           trust only the CAs in FILE (PEM; default: system store)\n"
	"  --max-redirs N          follow at most N redirects (default 10); more is an error\n"
	"  --allow-downgrade       let an https -> http redirect pass the no-downgrade check\n"
	"  --timeout SECONDS       deadline for each hop, fractions allowed (default 10)\n"
	"  --resolver IP[@PORT]    resolve hosts through this DNS server (default: resolv.conf\n"
	"                          when --anchor, --trust-ad or --dane is given)\n"
	"  --anchor FILE           DNSSEC trust anchors (DS or DNSKEY records): validate\n"
	"                          answers here; bogus answers end the run\n"
	"  --trust-ad              believe the resolver's AD bit instead of validating\n"
	"  --dane                  check https hops against secure TLSA records (RFC 7671)\n"
	"  -o, --output FILE       write the final response's body to FILE ('-': stdout)\n"
	"  --trace FILE            write the JSON trace to FILE (default: stdout)\n"
	"  -q, --quiet             print nothing on stderr (the trace has everything)\n"
	"  -h, --help              this text\n"
	"\n"
	"TLS is always verified; there is no option to turn verification off.\n"
	"Exit status: 0 when the final response is 2xx and every check passed,\n"
	"1 otherwise (the trace is still written), 2 for usage errors.\n"
	"See docs/cdni-ua.md for the trace format.\n";

enum { OPT_METHOD = 256, OPT_RANGE, OPT_RESOLVE, OPT_CACERT, OPT_MAXREDIRS, OPT_DOWNGRADE,
       OPT_TIMEOUT, OPT_TRACE, OPT_RESOLVER, OPT_ANCHOR, OPT_TRUSTAD, OPT_DANE };

static const struct option longopts[] = {
	{ "method", required_argument, NULL, OPT_METHOD },
	{ "header", required_argument, NULL, 'H' },
	{ "range", required_argument, NULL, OPT_RANGE },
	{ "resolve", required_argument, NULL, OPT_RESOLVE },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "max-redirs", required_argument, NULL, OPT_MAXREDIRS },
	{ "allow-downgrade", no_argument, NULL, OPT_DOWNGRADE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "output", required_argument, NULL, 'o' },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "resolver", required_argument, NULL, OPT_RESOLVER },
	{ "anchor", required_argument, NULL, OPT_ANCHOR },
	{ "trust-ad", no_argument, NULL, OPT_TRUSTAD },
	{ "dane", no_argument, NULL, OPT_DANE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct cli {
	struct ua_opts o;
	const char **headers, **resolve; /* argc-sized */
	const char *trace;
	bool quiet;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cdni-ua: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return 2;
}

/* One option; returns 0, or 2 after printing a usage error. */
static int take_option(struct cli *c, int opt, const char *arg)
{
	char why[200] = "";

	switch (opt) {
	case OPT_METHOD:
		c->o.method = arg;
		return ua_method_check(arg, why, sizeof why) ? usage_error("--method %s: %s", arg, why) : 0;
	case 'H':
		c->headers[c->o.nheaders++] = arg;
		return ua_header_check(arg, why, sizeof why) ? usage_error("-H '%s': %s", arg, why) : 0;
	case OPT_RANGE:
		c->o.range = arg;
		return ua_range_check(arg, why, sizeof why) ? usage_error("--range %s: %s", arg, why) : 0;
	case OPT_RESOLVE:
		c->resolve[c->o.nresolve++] = arg;
		return ua_resolve_check(arg, why, sizeof why) ? usage_error("--resolve %s: %s", arg, why) : 0;
	case OPT_CACERT:
		c->o.cacert = arg;
		return access(arg, R_OK) ? usage_error("--cacert %s: cannot read it", arg) : 0;
	case OPT_MAXREDIRS:
		return ua_max_redirs_parse(arg, &c->o.max_redirs)
			       ? usage_error("--max-redirs %s: want an integer 0..1000", arg) : 0;
	case OPT_DOWNGRADE: c->o.allow_downgrade = true; return 0;
	case OPT_TIMEOUT:
		return ua_timeout_parse(arg, &c->o.timeout_ms)
			       ? usage_error("--timeout %s: want seconds, > 0, at most 86400", arg) : 0;
	case 'o': c->o.output = arg; return 0;
	case OPT_TRACE: c->trace = arg; return 0;
	case OPT_RESOLVER:
		c->o.resolver = arg;
		return ua_resolver_check(arg, why, sizeof why) ? usage_error("--resolver %s: %s", arg, why) : 0;
	case OPT_ANCHOR:
		c->o.anchor = arg;
		return access(arg, R_OK) ? usage_error("--anchor %s: cannot read it", arg) : 0;
	case OPT_TRUSTAD: c->o.trust_ad = true; return 0;
	case OPT_DANE: c->o.dane = true; return 0;
	case 'q': c->quiet = true; return 0;
	case 'h': fputs(usage, stdout); return 100;
	default: fprintf(stderr, "%s", usage); return 2;
	}
}

static int parse_args(struct cli *c, int argc, char **argv)
{
	char why[200] = "";
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "H:o:qh", longopts, NULL)) != -1)
		if ((rc = take_option(c, opt, optarg)) != 0)
			return rc;
	if (optind != argc - 1)
		return usage_error("want exactly one URL");
	c->o.url = argv[optind];
	if (ua_url_check(c->o.url, why, sizeof why))
		return usage_error("%s: %s", c->o.url, why);
	if (c->o.output && strcmp(c->o.output, "-") == 0 && (!c->trace || !strcmp(c->trace, "-")))
		return usage_error("-o - needs --trace FILE (the trace goes to stdout)");
	if (c->o.dane && !c->o.anchor && !c->o.trust_ad)
		return usage_error("--dane needs --anchor FILE or --trust-ad (without, no TLSA record is secure)");
	c->o.headers = c->headers;
	c->o.resolve = c->resolve;
	return 0;
}

static int run(struct cli *c)
{
	FILE *tf = stdout;
	struct ua_trace *t = NULL;
	int rc;

	if (c->trace && strcmp(c->trace, "-") != 0 && !(tf = fopen(c->trace, "w")))
		return usage_error("--trace %s: cannot open it for writing", c->trace);
	rc = ua_run(&c->o, &t);
	if (rc) {
		log_err(NULL, "no trace: %s", cdni_strerror(rc));
		rc = 1;
	} else if (ua_trace_write(t, tf)) {
		log_err(NULL, "writing the trace failed");
		rc = 1;
	} else {
		rc = ua_trace_exit(t);
		if (t->error)
			log_err(NULL, "%s", t->error);
	}
	ua_trace_free(t);
	if (tf != stdout && fclose(tf) != 0)
		rc = 1;
	return rc;
}

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	int rc;

	ua_opts_init(&c.o);
	c.headers = calloc((size_t)argc, sizeof *c.headers);
	c.resolve = calloc((size_t)argc, sizeof *c.resolve);
	if (!c.headers || !c.resolve)
		return 1;
	log_init("cdni-ua", LOG_INFO);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = parse_args(&c, argc, argv);
	if (rc == 100)
		rc = 0;
	else if (rc == 0) {
		if (c.quiet)
			log_threshold = -1;
		rc = run(&c);
	}
	curl_global_cleanup();
	free(c.headers);
	free(c.resolve);
	return rc;
}
