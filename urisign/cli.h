/* cdni — the cdni-urisign subcommands (sign, verify, keygen, inspect,
 * bench). Each returns the process exit status: 0 success (verify: every
 * URI accepted), 1 verify rejected a URI, 2 usage or configuration error. */
#ifndef CDNI_URISIGN_CLI_H
#define CDNI_URISIGN_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "urisign/jose.h"

#define CLI_OK 0
#define CLI_REJECT 1
#define CLI_USAGE 2

int us_cli_main(int argc, char **argv);

int cli_sign(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_bench(int argc, char **argv);

/* Shared helpers. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Read a JSON file (secrets in the text are wiped after parsing). */
json_t *cli_read_json(const char *path);
/* A private key from a JWK or JWK set file (kid picks one from a set). */
struct jose_key *cli_load_key(const char *path, const char *kid, bool need_private);
/* Parse "UNIX seconds"; -1 when not a number. */
long long cli_parse_time(const char *s);
/* Print a JSON value on one line to stdout. */
void cli_print_json(const json_t *j);
/* Wipe every string of a JSON document (before freeing key material). */
void cli_wipe_json(json_t *j);

#endif
