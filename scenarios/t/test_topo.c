/* topo.h: addresses, device names, least-delay routes, forwarding, the
 * ip batch text, cdni-linkemu's config, loopback mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/tap.h"
#include "scenarios/scenario.h"
#include "scenarios/topo.h"

/* a - b - c in a line (10 ms, 5 ms), a - c direct but slow (30 ms), d alone. */
static const char text[] =
	"{\"name\":\"t\",\"hosts\":[{\"name\":\"a\"},{\"name\":\"b\",\"address\":\"192.0.2.7\"},"
	"{\"name\":\"c\"},{\"name\":\"d\"}],"
	"\"links\":[{\"a\":\"a\",\"b\":\"b\",\"delay_ms\":10},{\"a\":\"b\",\"b\":\"c\",\"delay_ms\":5,"
	"\"loss\":1.5,\"rate_kbit\":800},{\"a\":\"c\",\"b\":\"a\",\"delay_ms\":30}],"
	"\"nodes\":[{\"name\":\"n\",\"program\":\"p\",\"host\":\"c\",\"config\":{}}],"
	"\"steps\":[{\"wait_ms\":1}]}";

static void netns_plan(const struct scenario *s)
{
	struct topo *t = NULL;
	char err[200] = "";
	struct buf b;
	json_t *cfg, *l1;

	ok(topo_plan(s, TOPO_NETNS, "cdni-42", &t, err, sizeof err) == 0, "plans%s", err);
	if (!t)
		return;
	is_str(t->hosts[0].addr, "10.77.0.1", "default address");
	is_str(t->hosts[1].addr, "192.0.2.7", "given address");
	is_str(t->hosts[2].ns, "cdni-42-c", "namespace name");
	is_str(t->hosts[2].ns_path, "/var/run/netns/cdni-42-c", "namespace file");
	is_str(t->devs[0].name, "l0-b", "a's end of link 0 names its peer");
	is_str(t->devs[3].name, "l1-b", "c's end of link 1");
	is_int((long long)(t->path_ms[0 * 4 + 2] * 1000), 15000, "a to c: 15 ms through b, not 30 direct");
	is_int(t->path_hops[0 * 4 + 2], 2, "two links");
	is_int((long long)t->path_ms[0 * 4 + 3], -1, "d is unreachable");
	ok(t->forwards[1] && !t->forwards[0] && !t->forwards[2], "only b forwards");
	buf_init(&b, 0);
	topo_ip_batch(t, 0, &b);
	buf_puts(&b, "");
	is_str(b.data,
	       "link set lo up\naddr add 10.77.0.1/32 dev lo\nlink set l0-b up\nlink set l2-c up\n"
	       "route add 192.0.2.7/32 dev l0-b src 10.77.0.1\n"
	       "route add 10.77.0.3/32 dev l0-b src 10.77.0.1\n",
	       "a's ip batch: up, address, routes via b");
	buf_free(&b);
	cfg = topo_linkemu_config(t, s);
	l1 = json_array_get(json_object_get(cfg, "links"), 1);
	is_str(json_string_value(json_object_get(l1, "name")), "b-c", "link name");
	is_int(json_integer_value(json_object_get(l1, "delay_us")), 5000, "delay in us");
	is_int(json_integer_value(json_object_get(l1, "loss_ppm")), 15000, "loss in ppm");
	is_int(json_integer_value(json_object_get(l1, "rate_kbit")), 800, "rate");
	is_str(json_string_value(json_object_get(json_object_get(l1, "a"), "netns")),
	       "/var/run/netns/cdni-42-b", "end a's namespace");
	json_decref(cfg);
	buf_init(&b, 0);
	topo_veth_batch(t, 1, &b);
	topo_netem_batch(t, s, 1, 0, &b);
	topo_netem_batch(t, s, 1, 1, &b);
	buf_puts(&b, "");
	is_str(b.data,
	       "link add l1-c netns cdni-42-b type veth peer name l1-b netns cdni-42-c\n"
	       "qdisc add dev l1-c root netem delay 5000us loss 1.5% rate 800kbit limit 1000\n"
	       "qdisc add dev l1-b root netem delay 5000us loss 1.5% rate 800kbit limit 1000\n",
	       "netem kernels: link b-c as a veth pair and its two netem qdiscs");
	buf_free(&b);
	cfg = topo_json(t, s);
	is_int((long long)json_array_size(json_object_get(cfg, "paths")), 3,
	       "reachable pairs: a-b, a-c, b-c");
	json_decref(cfg);
	topo_free(t);
}

static void loopback_plan(const struct scenario *s)
{
	struct topo *t = NULL;
	char err[200];

	ok(topo_plan(s, TOPO_LOOPBACK, "x", &t, err, sizeof err) == 0, "loopback plans");
	is_str(t->hosts[1].addr, "127.0.10.2", "loopback addresses ignore the given one");
	is_int(topo_host_index(s, "c"), 2, "host index by name");
	is_int(topo_host_index(s, NULL), 0, "default: the first host");
	topo_free(t);
}

int main(void)
{
	struct scenario *s = NULL;
	char err[600] = "";

	ok(scenario_load_string(text, "t.json", &s, err, sizeof err) == 0, "loads%s", err);
	if (s) {
		netns_plan(s);
		loopback_plan(s);
	}
	scenario_free(s);
	return done_testing();
}
