/* cdni-scenario — run scenario files: start the cast, drive the UA, check,
 * report. See docs/cdni-scenario.md and docs/scenarios.md. */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "scenarios/run.h"
#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "scenarios/runner_int.h"

static const char usage[] =
	"usage: cdni-scenario [-o RUNDIR] [--bin DIR] [--pki DIR] [--keep] [--no-netns] [--fast] [-n] FILE...\n"
	"Run each scenario FILE: generate its content, start its nodes in order, run its\n"
	"steps, check its expectations, stop the nodes, and write a report.\n"
	"  -o, --run-dir DIR  run directory (default $CDNI_BUILD/scenarios/NAME, else\n"
	"                     build/scenarios/NAME); with several files, DIR/NAME\n"
	"      --bin DIR      the cdni programs (default $CDNI_BIN, else this program's dir)\n"
	"      --pki DIR      the test PKI (default $CDNI_PKI, else BIN/../pki)\n"
	"      --keep         keep generated content and bodies after a passing run\n"
	"      --no-netns     hosts on loopback addresses even as root (links not emulated)\n"
	"      --fast[=SCALE] the quick version: link delays times SCALE (0.1), steps\n"
	"                     marked \"only\": \"full\" skipped\n"
	"  -n, --check        validate the files and exit\n"
	"  -h, --help         this text\n"
	"Prints one line per check ('ok - ...' / 'FAIL - ...') and ends with\n"
	"'N passed, N failed'. Exit status: 0 all passed, 1 a check failed,\n"
	"2 bad usage, an invalid scenario, or a run that could not be set up.\n";

struct opts {
	const char *run_dir, *bin, *pki;
	bool keep, check_only, no_netns, fast;
	double fast_scale;
	char bin_abs[PATH_MAX], pki_abs[PATH_MAX];
};

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "run-dir", required_argument, NULL, 'o' }, { "bin", required_argument, NULL, 'b' },
		{ "pki", required_argument, NULL, 'p' },     { "keep", no_argument, NULL, 'k' },
		{ "check", no_argument, NULL, 'n' },         { "help", no_argument, NULL, 'h' },
		{ "no-netns", no_argument, NULL, 'N' },      { "fast", optional_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "o:nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->run_dir = optarg; break;
		case 'b': o->bin = optarg; break;
		case 'p': o->pki = optarg; break;
		case 'k': o->keep = true; break;
		case 'n': o->check_only = true; break;
		case 'N': o->no_netns = true; break;
		case 'F':
			o->fast = true;
			o->fast_scale = optarg ? strtod(optarg, NULL) : 0.1;
			if (!(o->fast_scale > 0 && o->fast_scale <= 1)) {
				fprintf(stderr, "cdni-scenario: --fast=SCALE: a number in (0, 1]\n");
				return 2;
			}
			break;
		case 'h': fputs(usage, stdout); return 100;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "cdni-scenario: no scenario file given\n%s", usage);
		return 2;
	}
	return 0;
}

static int dir_abs(const char *what, const char *dir, char *out)
{
	struct stat st;

	if (!dir || !realpath(dir, out) || stat(out, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "cdni-scenario: %s directory %s not found%s\n", what,
			dir ? dir : "(none)", strcmp(what, "pki") == 0 ? " (make pki makes it)" : "");
		return 2;
	}
	return 0;
}

static int resolve_dirs(struct opts *o)
{
	char self[PATH_MAX], pki[PATH_MAX + 8];
	ssize_t n;

	if (!o->bin)
		o->bin = getenv("CDNI_BIN");
	if (!o->bin && (n = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
		self[n] = '\0';
		o->bin = dirname(self);
	}
	if (dir_abs("bin", o->bin, o->bin_abs))
		return 2;
	if (!o->pki)
		o->pki = getenv("CDNI_PKI");
	if (!o->pki) {
		snprintf(pki, sizeof pki, "%s/../pki", o->bin_abs);
		o->pki = pki;
	}
	return dir_abs("pki", o->pki, o->pki_abs);
}

static void run_dir_for(const struct opts *o, const struct scenario *s, int nfiles, char *out,
			size_t len)
{
	const char *build = getenv("CDNI_BUILD");

	if (o->run_dir && nfiles == 1)
		snprintf(out, len, "%s", o->run_dir);
	else if (o->run_dir)
		snprintf(out, len, "%s/%s", o->run_dir, s->name);
	else
		snprintf(out, len, "%s/scenarios/%s", build && *build ? build : "build", s->name);
}

static int load_all(char **files, int n, struct scenario **s)
{
	char err[2048];

	for (int i = 0; i < n; i++)
		if (scenario_load_file(files[i], &s[i], err, sizeof err) != 0) {
			fprintf(stderr, "cdni-scenario: %s\n", err);
			return 2;
		}
	return 0;
}

static int run_all(const struct opts *o, struct scenario **s, int n)
{
	struct runner_opts ro = { o->bin_abs, o->pki_abs, o->keep, 5000, stdout, o->no_netns,
				  o->fast, o->fast_scale };
	struct runner_totals t = { 0, 0 };
	char dir[PATH_MAX], err[4096];

	run_signals_init();
	topo_reap_stale();
	for (int i = 0; i < n; i++) {
		run_dir_for(o, s[i], n, dir, sizeof dir);
		if (runner_run(&ro, s[i], dir, &t, err, sizeof err) != 0) {
			fflush(stdout);
			fprintf(stderr, "cdni-scenario: %s\n", err);
			return 2;
		}
		if (run_interrupted())
			break;
	}
	printf("%d passed, %d failed\n", t.passed, t.failed);
	return t.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct scenario **s = NULL;
	int rc, n;

	memset(&o, 0, sizeof o);
	log_init("cdni-scenario", LOG_INFO);
	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc == 100 ? 0 : rc;
	n = argc - optind;
	s = calloc((size_t)n, sizeof *s);
	if (!s)
		return 2;
	rc = load_all(argv + optind, n, s);
	if (rc == 0 && o.check_only)
		for (int i = 0; i < n; i++)
			printf("%s: ok (%zu nodes, %zu steps)\n", s[i]->file, s[i]->nodes.n,
			       s[i]->nsteps);
	else if (rc == 0)
		rc = resolve_dirs(&o) ? 2 : run_all(&o, s, n);
	for (int i = 0; i < n; i++)
		scenario_free(s[i]);
	free(s);
	return rc;
}
