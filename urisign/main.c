/* cdni-urisign — make, inspect and verify RFC 9246 signed URIs. The
 * subcommands live in cli*.c over the urisign library. */
#include "common/log.h"
#include "urisign/cli.h"

int main(int argc, char **argv)
{
	log_init("cdni-urisign", LOG_WARN);
	return us_cli_main(argc, argv);
}
