/* cdni-dane — the command line (tlsa, verify) over libcdni_dane. */
#ifndef CDNI_DANE_CLI_H
#define CDNI_DANE_CLI_H

/* Exit status: 0 success, 1 failure (verification failed, or an error), 2 usage. */
int dane_cli(int argc, char **argv);

#endif
