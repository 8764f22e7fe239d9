/* cdni-ucdn — the uCDN front door. The daemon's life is common/daemon.c; the
 * work is in front.c, proxy.c and the routing library redirect/. */
#include "common/daemon.h"
#include "ucdn/ucdn.h"

static int load(const char *file, void *conf, char *err, size_t errlen)
{
	struct route_policy *policy = NULL;
	int rc = ucdn_conf_load(conf, file, &policy, err, errlen);

	route_policy_free(policy); /* compiled again at start: loading only checks */
	return rc;
}

static void unload(void *conf)
{
	ucdn_conf_free(conf);
}

static int start(const void *conf, void **svc, char *ready, size_t rlen, char *err, size_t errlen)
{
	struct route_policy *policy = NULL;
	struct ucdn *u = NULL;

	if (ucdn_conf_check(conf, &policy, err, errlen))
		return -1;
	if (ucdn_new(&u, conf, policy, err, errlen) || ucdn_start(u, ready, rlen, err, errlen)) {
		ucdn_free(u);
		return -1;
	}
	*svc = u;
	return 0;
}

static void stop(void *svc)
{
	ucdn_free(svc);
}

static const struct daemon_ops ops = {
	.prog = "cdni-ucdn",
	.summary = "The uCDN front door for a content owner's names: per path, redirect to a\n"
		   "dCDN (3xx), serve from the origin, or refuse.\n",
	.table = ucdn_conf_table,
	.conf_size = sizeof(struct ucdn_conf),
	.load = load,
	.unload = unload,
	.start = start,
	.stop = stop,
	.uses_upstream = 1,
};

int main(int argc, char **argv)
{
	return daemon_main(argc, argv, &ops);
}
