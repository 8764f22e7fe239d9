/* err.h: every code has a name; unknown codes are safe */
#include <string.h>

#include "common/err.h"
#include "common/tap.h"

int main(void)
{
	int named = 1;

	for (int c = 0; c > CDNI_ERR_MIN_; c--)
		if (!cdni_strerror(c) || strcmp(cdni_strerror(c), "unknown error") == 0)
			named = 0;
	ok(named, "every code from CDNI_OK to the last has its own message");
	is_str(cdni_strerror(CDNI_ETIMEDOUT), "deadline passed", "ETIMEDOUT message");
	is_str(cdni_strerror(1), "unknown error", "positive codes are unknown");
	is_str(cdni_strerror(CDNI_ERR_MIN_), "unknown error", "codes past the end are unknown");
	is_str(cdni_strerror(-1000), "unknown error", "far codes are unknown");
	return done_testing();
}
