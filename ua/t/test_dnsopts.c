/* Unit tests: the DNS options of cdni-ua (--resolver syntax, when the DNS
 * path is on). The DNS path itself is tested against real servers in
 * dane/t/dane.t and dns/t/dnssec.t. */
#include <string.h>

#include "common/err.h"
#include "common/tap.h"
#include "ua/ua.h"

int main(void)
{
	struct ua_opts o;
	char why[200];

	is_int(ua_resolver_check("127.0.0.1", why, sizeof why), 0, "IP");
	is_int(ua_resolver_check("127.0.0.1@5353", why, sizeof why), 0, "IP@PORT");
	is_int(ua_resolver_check("::1@53", why, sizeof why), 0, "IPv6@PORT");
	is_int(ua_resolver_check("localhost", why, sizeof why), CDNI_EINVAL, "a name is refused");
	is_int(ua_resolver_check("127.0.0.1@0", why, sizeof why), CDNI_EINVAL, "port 0 is refused");
	is_int(ua_resolver_check("127.0.0.1@70000", why, sizeof why), CDNI_EINVAL, "port 70000 is refused");
	is_int(ua_resolver_check("127.0.0.1@53x", why, sizeof why), CDNI_EINVAL, "trailing bytes are refused");
	is_int(ua_resolver_check("@53", why, sizeof why), CDNI_EINVAL, "no address is refused");
	ok(strstr(why, "IP") != NULL, "  the reason says what is wanted (%s)", why);
	ua_opts_init(&o);
	ok(!ua_dns_enabled(&o), "the DNS path is off by default");
	o.anchor = "a.ds";
	ok(ua_dns_enabled(&o), "--anchor turns it on");
	ua_opts_init(&o);
	o.dane = true;
	ok(ua_dns_enabled(&o), "--dane turns it on");
	return done_testing();
}
