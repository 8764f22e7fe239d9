#include "scenarios/topo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "scenarios/errmsg.h"

#define HOP_COST 1e-6 /* prefers fewer links among equal delays */

double topo_delay_scale = 1;

static double link_delay(const struct sc_link *l)
{
	return l->delay_ms * topo_delay_scale;
}

int topo_host_index(const struct scenario *s, const char *name)
{
	size_t i = 0;

	if (s->hosts.n == 0)
		return -1;
	if (name && scenario_host(s, name, &i))
		return (int)i;
	return 0;
}

static void plan_hosts(struct topo *t, const struct scenario *s, const char *tag)
{
	const struct sc_host *h = s->hosts.v;

	for (size_t i = 0; i < t->nhosts; i++) {
		struct topo_host *th = &t->hosts[i];

		th->name = h[i].name;
		if (t->mode == TOPO_NETNS && h[i].address)
			snprintf(th->addr, sizeof th->addr, "%s", h[i].address);
		else if (t->mode == TOPO_NETNS)
			snprintf(th->addr, sizeof th->addr, "10.77.0.%zu", i + 1);
		else
			snprintf(th->addr, sizeof th->addr, "127.0.10.%zu", i + 1);
		snprintf(th->ns, sizeof th->ns, "%s-%s", tag, h[i].name);
		snprintf(th->ns_path, sizeof th->ns_path, "/var/run/netns/%s", th->ns);
	}
}

static void plan_devs(struct topo *t, const struct scenario *s)
{
	const struct sc_link *l = s->links.v;
	size_t a, b;

	for (size_t k = 0; k < s->links.n; k++) {
		scenario_host(s, l[k].a, &a);
		scenario_host(s, l[k].b, &b);
		t->devs[2 * k] = (struct topo_dev){ k, a, b, "" };
		t->devs[2 * k + 1] = (struct topo_dev){ k, b, a, "" };
		snprintf(t->devs[2 * k].name, 16, "l%zu-%s", k, t->hosts[b].name);
		snprintf(t->devs[2 * k + 1].name, 16, "l%zu-%s", k, t->hosts[a].name);
	}
}

/* Floyd–Warshall over link delays; first[i*n+j]: the dev of i on the path to j. */
static void plan_paths(struct topo *t, const struct scenario *s, long *first)
{
	const struct sc_link *l = s->links.v;
	size_t n = t->nhosts;
	double *d = t->path_ms;

	for (size_t i = 0; i < n * n; i++) {
		d[i] = (i / n == i % n) ? 0 : INFINITY;
		first[i] = -1;
		t->path_hops[i] = 0;
	}
	for (size_t k = 0; k < t->ndevs; k++) {
		const struct topo_dev *v = &t->devs[k];
		double c = link_delay(&l[v->link]) + HOP_COST;

		if (c < d[v->host * n + v->peer]) {
			d[v->host * n + v->peer] = c;
			first[v->host * n + v->peer] = (long)k;
			t->path_hops[v->host * n + v->peer] = 1;
		}
	}
	for (size_t m = 0; m < n; m++)
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n; j++)
				if (d[i * n + m] + d[m * n + j] < d[i * n + j]) {
					d[i * n + j] = d[i * n + m] + d[m * n + j];
					first[i * n + j] = first[i * n + m];
					t->path_hops[i * n + j] = t->path_hops[i * n + m] +
								  t->path_hops[m * n + j];
				}
	for (size_t i = 0; i < n * n; i++)
		d[i] = isinf(d[i]) ? -1 : round((d[i] - t->path_hops[i] * HOP_COST) * 1000) / 1000;
}

static void plan_routes(struct topo *t, const long *first)
{
	size_t n = t->nhosts;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			if (i == j || first[i * n + j] < 0)
				continue;
			t->routes[t->nroutes++] = (struct topo_route){ i, j, (size_t)first[i * n + j] };
			if (t->path_hops[i * n + j] > 1) /* the next host forwards */
				t->forwards[t->devs[first[i * n + j]].peer] = true;
		}
}

int topo_plan(const struct scenario *s, int mode, const char *tag, struct topo **out, char *err,
	      size_t errlen)
{
	struct topo *t = calloc(1, sizeof *t);
	size_t n = s->hosts.n;
	long *first = NULL;

	if (!t)
		return sc_fail(err, errlen, "topology: out of memory");
	t->mode = s->hosts.n ? mode : TOPO_NONE;
	t->nhosts = n;
	t->ndevs = 2 * s->links.n;
	t->hosts = calloc(n + 1, sizeof *t->hosts);
	t->devs = calloc(t->ndevs + 1, sizeof *t->devs);
	t->routes = calloc(n * n + 1, sizeof *t->routes);
	t->path_ms = calloc(n * n + 1, sizeof *t->path_ms);
	t->path_hops = calloc(n * n + 1, sizeof *t->path_hops);
	t->forwards = calloc(n + 1, sizeof *t->forwards);
	first = calloc(n * n + 1, sizeof *first);
	if (!t->hosts || !t->devs || !t->routes || !t->path_ms || !t->path_hops || !t->forwards ||
	    !first) {
		free(first);
		topo_free(t);
		return sc_fail(err, errlen, "topology: out of memory");
	}
	plan_hosts(t, s, tag);
	plan_devs(t, s);
	plan_paths(t, s, first);
	plan_routes(t, first);
	free(first);
	*out = t;
	return 0;
}

void topo_free(struct topo *t)
{
	if (!t)
		return;
	free(t->hosts);
	free(t->devs);
	free(t->routes);
	free(t->path_ms);
	free(t->path_hops);
	free(t->forwards);
	free(t);
}

void topo_ip_batch(const struct topo *t, size_t h, struct buf *b)
{
	buf_printf(b, "link set lo up\naddr add %s/32 dev lo\n", t->hosts[h].addr);
	for (size_t k = 0; k < t->ndevs; k++)
		if (t->devs[k].host == h)
			buf_printf(b, "link set %s up\n", t->devs[k].name);
	for (size_t r = 0; r < t->nroutes; r++)
		if (t->routes[r].host == h)
			buf_printf(b, "route add %s/32 dev %s src %s\n", t->hosts[t->routes[r].dst].addr,
				   t->devs[t->routes[r].dev].name, t->hosts[h].addr);
}

static json_t *end_json(const struct topo *t, const struct topo_dev *d)
{
	return json_pack("{s:s, s:s}", "netns", t->hosts[d->host].ns_path, "dev", d->name);
}

json_t *topo_linkemu_config(const struct topo *t, const struct scenario *s)
{
	const struct sc_link *l = s->links.v;
	json_t *links = json_array();
	char name[64];

	for (size_t k = 0; k < s->links.n; k++) {
		snprintf(name, sizeof name, "%s-%s", l[k].a, l[k].b);
		json_array_append_new(
			links, json_pack("{s:s, s:o, s:o, s:I, s:I, s:I, s:I}", "name", name, "a",
					 end_json(t, &t->devs[2 * k]), "b",
					 end_json(t, &t->devs[2 * k + 1]), "delay_us",
					 (json_int_t)llround(link_delay(&l[k]) * 1000), "rate_kbit",
					 (json_int_t)l[k].rate_kbit, "loss_ppm",
					 (json_int_t)llround(l[k].loss_pct * 10000), "limit",
					 (json_int_t)l[k].limit));
	}
	return json_pack("{s:o}", "links", links);
}

void topo_veth_batch(const struct topo *t, size_t k, struct buf *b)
{
	const struct topo_dev *a = &t->devs[2 * k], *z = &t->devs[2 * k + 1];

	buf_printf(b, "link add %s netns %s type veth peer name %s netns %s\n", a->name,
		   t->hosts[a->host].ns, z->name, t->hosts[z->host].ns);
}

void topo_netem_batch(const struct topo *t, const struct scenario *s, size_t k, int e,
		      struct buf *b)
{
	const struct sc_link *l = &((const struct sc_link *)s->links.v)[k];

	buf_printf(b, "qdisc add dev %s root netem delay %lldus", t->devs[2 * k + (size_t)e].name,
		   (long long)llround(link_delay(l) * 1000));
	if (l->loss_pct > 0)
		buf_printf(b, " loss %g%%", l->loss_pct);
	if (l->rate_kbit > 0)
		buf_printf(b, " rate %lldkbit", l->rate_kbit);
	buf_printf(b, " limit %lld\n", l->limit);
}

static const char *mode_name(int mode)
{
	return mode == TOPO_NETNS ? "netns" : mode == TOPO_LOOPBACK ? "loopback" : "none";
}

json_t *topo_json(const struct topo *t, const struct scenario *s)
{
	const struct sc_link *l = s->links.v;
	json_t *hosts = json_array(), *links = json_array(), *paths = json_array();
	size_t n = t->nhosts;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(hosts, json_pack("{s:s, s:s, s:s?}", "name", t->hosts[i].name,
						       "address", t->hosts[i].addr, "netns",
						       t->mode == TOPO_NETNS ? t->hosts[i].ns : NULL));
	for (size_t k = 0; k < s->links.n; k++)
		json_array_append_new(links, json_pack("{s:s, s:s, s:f, s:f, s:I, s:[s,s]}", "a",
						       l[k].a, "b", l[k].b, "delay_ms", link_delay(&l[k]),
						       "loss", l[k].loss_pct, "rate_kbit",
						       (json_int_t)l[k].rate_kbit, "devs",
						       t->devs[2 * k].name, t->devs[2 * k + 1].name));
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (t->path_ms[i * n + j] >= 0)
				json_array_append_new(paths, json_pack("{s:s, s:s, s:f, s:i}", "a",
								       t->hosts[i].name, "b", t->hosts[j].name,
								       "rtt_ms", 2 * t->path_ms[i * n + j],
								       "links", t->path_hops[i * n + j]));
	return json_pack("{s:s, s:s, s:f, s:o, s:o, s:o}", "mode", mode_name(t->mode), "note",
			 t->note, "delay_scale", topo_delay_scale, "hosts", hosts, "links", links,
			 "paths", paths);
}
