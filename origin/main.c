/* cdni-origin — the content service provider's origin server. The daemon's
 * life is common/daemon.c; the work is in origin.c and server.c. */
#include "common/daemon.h"
#include "origin/origin.h"

static int load(const char *file, void *conf, char *err, size_t errlen)
{
	return origin_conf_load(file, conf, err, errlen);
}

static void unload(void *conf)
{
	origin_conf_free(conf);
}

static int start(const void *conf, void **svc, char *ready, size_t rlen, char *err, size_t errlen)
{
	struct origin *o = NULL;

	if (origin_new(conf, &o, err, errlen) || origin_start(o, ready, rlen, err, errlen)) {
		origin_free(o);
		return -1;
	}
	*svc = o;
	return 0;
}

static void stop(void *svc)
{
	origin_free(svc);
}

static const struct daemon_ops ops = {
	.prog = "cdni-origin",
	.summary = "Serve the files under a content directory over HTTP and HTTPS.\n",
	.table = origin_conf_table,
	.conf_size = sizeof(struct origin_conf),
	.load = load,
	.unload = unload,
	.start = start,
	.stop = stop,
};

int main(int argc, char **argv)
{
	return daemon_main(argc, argv, &ops);
}
