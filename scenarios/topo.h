/* cdni-scenario — the topology of a run: hosts, their addresses and
 * network namespaces, the emulated links between them and the routes.
 *
 * Three modes:
 *   TOPO_NONE      the scenario has no hosts: every node on loopback, as
 *                  before hosts existed.
 *   TOPO_LOOPBACK  hosts without namespaces (not root, or --no-netns):
 *                  host i gets 127.0.10.(i+1); links are not emulated.
 *   TOPO_NETNS     each host is a network namespace ("TAG-HOST") whose
 *                  loopback holds the host's address (/32); each link is a
 *                  pair of TUN devices (one in each host, "l<K>-<peer>")
 *                  joined by cdni-linkemu, which applies the link's delay,
 *                  loss and rate in each direction. Routes are host routes
 *                  along the least-delay path (Floyd–Warshall, ties to fewer
 *                  hops) with the host's address as source, so a host
 *                  forwards for others (ip_forward) and every host reaches
 *                  every host its links connect it to.
 * This module plans, without processes or sockets: addresses, device names,
 * routes, the `ip -batch` text of each host, cdni-linkemu's config, and the
 * delay each path should show. topo_run.c carries the plan out. */
#ifndef CDNI_SCENARIO_TOPO_H
#define CDNI_SCENARIO_TOPO_H

#include <stddef.h>

#include <jansson.h>

#include "common/buf.h"
#include "scenarios/scenario.h"

enum topo_mode { TOPO_NONE = 0, TOPO_LOOPBACK, TOPO_NETNS };

struct topo_host {
	const char *name;
	char addr[16];
	char ns[128];      /* namespace name (TOPO_NETNS) */
	char ns_path[192]; /* /var/run/netns/NAME */
};

struct topo_dev {          /* one end of a link */
	size_t link, host, peer;
	char name[16];
};

struct topo_route {
	size_t host, dst, dev; /* in host: dst's address via devs[dev] */
};

struct topo {
	int mode; /* enum topo_mode */
	char note[300]; /* why loopback, for the report */
	struct topo_host *hosts;
	size_t nhosts;
	struct topo_dev *devs; /* 2 per link: a's end, b's end */
	size_t ndevs;
	struct topo_route *routes;
	size_t nroutes;
	double *path_ms;  /* [i * nhosts + j]: one-way delay along the route; -1 unreachable */
	int *path_hops;   /* links on the route */
	bool *forwards;   /* host forwards for others */
};

/* Plan s in mode; tag prefixes namespace names ("cdni-1234"). */
int topo_plan(const struct scenario *s, int mode, const char *tag, struct topo **out, char *err,
	      size_t errlen);
/* Scale every link delay (--fast) before planning; 1 by default. */
extern double topo_delay_scale;
void topo_free(struct topo *t);

/* Index of the host a node or step runs on: name, else the first host; -1 without hosts. */
int topo_host_index(const struct scenario *s, const char *name);

/* Commands for `ip -n NS -batch -` that set host h up. */
void topo_ip_batch(const struct topo *t, size_t h, struct buf *b);
/* cdni-linkemu's config. */
json_t *topo_linkemu_config(const struct topo *t, const struct scenario *s);
/* Where the kernel has netem, links are veth pairs shaped by it instead of
 * cdni-linkemu: the ip(8) batch (run in the root namespace) that makes link
 * k's veth pair with each end in its host's namespace, and the tc(8) batch
 * for end e (0: a, 1: b) of link k, run in that end's namespace: a netem
 * qdisc with the link's delay, loss, rate and limit. */
void topo_veth_batch(const struct topo *t, size_t k, struct buf *b);
void topo_netem_batch(const struct topo *t, const struct scenario *s, size_t k, int e,
		      struct buf *b);
/* The report's "topology" object (links' counters added by the runner). */
json_t *topo_json(const struct topo *t, const struct scenario *s);

#endif
