/* cdni-linkemu — emulated links (delay, loss, rate) between network
 * namespaces over TUN devices. The daemon's life is common/daemon.c; the
 * work is in emu.c (devices, loop) and linkq.c (the queues). */
#include <stdio.h>

#include "common/conf.h"
#include "common/daemon.h"
#include "linkemu/emu.h"

static int load(const char *file, void *conf, char *err, size_t errlen)
{
	if (conf_load_file(emu_conf_table, conf, file, err, errlen))
		return -1;
	return emu_conf_check(conf, err, errlen) ? -1 : 0;
}

static void unload(void *conf)
{
	conf_free(emu_conf_table, conf);
}

static int start(const void *conf, void **svc, char *ready, size_t rlen, char *err, size_t errlen)
{
	const struct emu_conf *c = conf;
	struct emu *e = NULL;

	if (emu_start(c, &e, err, errlen))
		return -1;
	snprintf(ready, rlen, "links=%zu", c->links.n);
	*svc = e;
	return 0;
}

static void stop(void *svc)
{
	emu_stop(svc);
}

static const struct daemon_ops ops = {
	.prog = "cdni-linkemu",
	.summary = "Emulate point-to-point links with a one-way delay, random loss and a rate\n"
		   "limit between network namespaces, over a TUN device at each end.\n",
	.table = emu_conf_table,
	.conf_size = sizeof(struct emu_conf),
	.load = load,
	.unload = unload,
	.start = start,
	.stop = stop,
};

int main(int argc, char **argv)
{
	return daemon_main(argc, argv, &ops);
}
