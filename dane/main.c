/* cdni-dane — make TLSA records from certificates; verify a server by DANE. */
#include "common/log.h"
#include "dane/cli.h"

int main(int argc, char **argv)
{
	log_init("cdni-dane", LOG_INFO);
	return dane_cli(argc, argv);
}
