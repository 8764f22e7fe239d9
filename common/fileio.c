/* cdni — small helpers declared in common/daemon.h that programs and
 * libraries use without the daemon machinery (kept apart from daemon.c so
 * that linking them does not pull in libcurl and libmicrohttpd). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "common/daemon.h"
#include "common/err.h"

int file_read_all(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	struct stat st;
	size_t n;
	int rc = CDNI_EIO;

	if (!f)
		return CDNI_EIO;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if ((unsigned long long)st.st_size > max) {
		rc = CDNI_EOVERFLOW;
		goto out;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		rc = CDNI_ENOMEM;
		goto out;
	}
	n = fread(data, 1, (size_t)st.st_size, f);
	if (n != (size_t)st.st_size || ferror(f))
		goto out;
	data[n] = '\0';
	*out = data;
	if (len)
		*len = n;
	data = NULL;
	rc = 0;
out:
	free(data);
	fclose(f);
	return rc;
}

long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}
