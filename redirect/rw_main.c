/* cdni-rewrite — rewrite one HLS playlist, DASH MPD or HTML page with a
 * rewriting policy, as cdni-ucdn would: a file (or stdin) in, the
 * rewritten bytes on stdout. Also measures the rewriter (--bench). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "common/conf.h"
#include "common/err.h"
#include "redirect/rewrite.h"

static const char usage[] =
	"usage: cdni-rewrite -c POLICY.json -u URL [-o ORIGIN] [-f hls|dash|html|css]\n"
	"                    [--now UNIX] [--bench SECONDS] [FILE]\n"
	"  -c FILE     the policy: a JSON object with cdni-ucdn's \"rewrite\" keys\n"
	"  -u URL      the document's URL as a client asked for it (relative URIs resolve\n"
	"              against it; its host is the uCDN)\n"
	"  -o ORIGIN   the origin base URL (absolute URIs naming it are the CSP's too)\n"
	"  -f FORMAT   hls, dash, html or css (default: by the URL's extension)\n"
	"  --now UNIX  the clock for token expiry (default: now)\n"
	"  --bench S   rewrite the input again and again for S seconds, print figures as\n"
	"              JSON on stderr (and the last output on stdout)\n"
	"  FILE        the document (default: stdin)\n"
	"Exit status: 0 rewritten, 1 refused (why on stderr), 2 usage or policy error.\n"
	"Policy keys:\n";

struct opts {
	const char *conf, *url, *origin, *format, *file;
	long long now;
	double bench;
};

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "now", required_argument, NULL, 'N' }, { "bench", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof *o);
	o->now = (long long)time(NULL);
	while ((c = getopt_long(argc, argv, "c:u:o:f:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->conf = optarg; break;
		case 'u': o->url = optarg; break;
		case 'o': o->origin = optarg; break;
		case 'f': o->format = optarg; break;
		case 'N': o->now = strtoll(optarg, NULL, 10); break;
		case 'B': o->bench = strtod(optarg, NULL); break;
		case 'h':
			fputs(usage, stdout);
			conf_describe(rw_conf_table, stdout, 2);
			return 100;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc)
		o->file = argv[optind++];
	if (!o->conf || !o->url || optind < argc) {
		fprintf(stderr, "cdni-rewrite: -c POLICY and -u URL are required (one FILE at most)\n%s",
			usage);
		return 2;
	}
	return 0;
}

static enum rw_format format_of(const struct opts *o)
{
	const char *f = o->format;
	size_t n = strcspn(o->url, "?#");

	if (f)
		return !strcmp(f, "hls") ? RW_FMT_HLS : !strcmp(f, "dash") ? RW_FMT_DASH
		     : !strcmp(f, "html") ? RW_FMT_HTML : !strcmp(f, "css") ? RW_FMT_CSS : RW_FMT_NONE;
	if ((n >= 5 && !strncmp(o->url + n - 5, ".m3u8", 5)) || (n >= 4 && !strncmp(o->url + n - 4, ".m3u", 4)))
		return RW_FMT_HLS;
	if (n >= 4 && !strncmp(o->url + n - 4, ".mpd", 4))
		return RW_FMT_DASH;
	if (n >= 4 && !strncmp(o->url + n - 4, ".css", 4))
		return RW_FMT_CSS;
	return RW_FMT_HTML;
}

/* The document: a regular file is mapped (its pages come from the page
 * cache at once, no copy), anything else is read into in->b. */
struct input {
	const char *data;
	size_t len;
	void *map;
	struct buf b;
};

static int read_input(const char *file, struct input *in)
{
	FILE *f = file ? fopen(file, "rb") : stdin;
	struct stat st;
	size_t n;

	if (!f)
		return CDNI_EIO;
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (in->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE,
			    fileno(f), 0)) != MAP_FAILED) {
		in->data = in->map;
		in->len = (size_t)st.st_size;
		if (file)
			fclose(f);
		return 0;
	}
	in->map = NULL;
	while (buf_reserve(&in->b, 65536) == 0 && (n = fread(in->b.data + in->b.len, 1, 65536, f)) > 0) {
		in->b.len += n;
		in->b.data[in->b.len] = '\0';
	}
	if (file)
		fclose(f);
	in->data = in->b.data ? in->b.data : "";
	in->len = in->b.len;
	return in->b.err;
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One rewrite into out; st gets the counts. */
static int once(const struct rw_policy *p, const struct opts *o, enum rw_format f,
		const struct input *in, struct buf *out, struct rw_stats *st, char *err, size_t errlen)
{
	struct rw_ctx *x = NULL;
	int rc = rw_ctx_new(&x, p, o->url, o->origin, o->now);

	if (rc) {
		snprintf(err, errlen, "-u %s: not an absolute http(s) URL", o->url);
		return rc;
	}
	buf_reset(out);
	rc = rw_rewrite(x, f, in->data, in->len, out, err, errlen);
	rw_ctx_stats(x, st);
	rw_ctx_free(x);
	return rc;
}

static int bench(const struct rw_policy *p, const struct opts *o, enum rw_format f,
		 const struct input *in, struct buf *out, char *err, size_t errlen)
{
	struct rw_stats st;
	double t0 = seconds(), t;
	long runs = 0;
	int rc;

	do {
		if ((rc = once(p, o, f, in, out, &st, err, errlen)))
			return rc;
		runs++;
		t = seconds() - t0;
	} while (t < o->bench);
	fprintf(stderr, "{\"format\":\"%s\",\"runs\":%ld,\"seconds\":%.4f,\"bytes_in\":%zu,"
		"\"bytes_out\":%zu,\"uris\":%lu,\"tokens\":%lu,\"mb_per_s\":%.2f,"
		"\"uris_per_s\":%.0f,\"tokens_per_s\":%.0f}\n",
		rw_format_name(f), runs, t, in->len, out->len, st.uris, st.tokens,
		(double)in->len * (double)runs / t / 1e6, (double)st.uris * (double)runs / t,
		(double)st.tokens * (double)runs / t);
	return 0;
}

int main(int argc, char **argv)
{
	struct rw_conf conf;
	struct rw_policy *p = NULL;
	struct opts o;
	struct input in = { .data = "" };
	struct buf out;
	struct rw_stats st;
	char err[512];
	enum rw_format f;
	int rc = parse_args(argc, argv, &o), status = 2;

	if (rc)
		return rc == 100 ? 0 : rc;
	memset(&conf, 0, sizeof conf);
	buf_init(&in.b, 0);
	buf_init(&out, 0);
	if ((f = format_of(&o)) == RW_FMT_NONE) {
		fprintf(stderr, "cdni-rewrite: -f: must be hls, dash, html or css\n");
		return 2;
	}
	if (conf_load_file(rw_conf_table, &conf, o.conf, err, sizeof err) ||
	    rw_policy_new(&p, &conf, err, sizeof err)) {
		fprintf(stderr, "cdni-rewrite: %s\n", err);
		goto done;
	}
	if (read_input(o.file, &in)) {
		fprintf(stderr, "cdni-rewrite: cannot read %s\n", o.file ? o.file : "stdin");
		goto done;
	}
	status = 1;
	rc = o.bench > 0 ? bench(p, &o, f, &in, &out, err, sizeof err)
			 : once(p, &o, f, &in, &out, &st, err, sizeof err);
	if (rc) {
		fprintf(stderr, "cdni-rewrite: refused: %s\n", err);
		goto done;
	}
	status = fwrite(out.data ? out.data : "", 1, out.len, stdout) == out.len ? 0 : 1;
done:
	if (in.map)
		munmap(in.map, in.len);
	buf_free(&in.b);
	buf_free(&out);
	rw_policy_free(p);
	conf_free(rw_conf_table, &conf);
	return status;
}
