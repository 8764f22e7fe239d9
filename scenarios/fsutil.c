#include "scenarios/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/daemon.h"
#include "common/err.h"

int fs_mkdir_p(const char *path)
{
	char p[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof p)
		return CDNI_EINVAL;
	memcpy(p, path, len + 1);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			return CDNI_EIO;
		*s = '/';
	}
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		return CDNI_EIO;
	return 0;
}

int fs_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (!f)
		return CDNI_EIO;
	if (len && fwrite(data, 1, len, f) != len)
		rc = CDNI_EIO;
	if (fclose(f) != 0)
		rc = CDNI_EIO;
	return rc;
}

int fs_remove_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char sub[4096];
	int rc = 0;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : CDNI_EIO;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == 0 ? 0 : CDNI_EIO;
	d = opendir(path);
	if (!d)
		return CDNI_EIO;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
		if (fs_remove_tree(sub))
			rc = CDNI_EIO;
	}
	closedir(d);
	if (rmdir(path) != 0)
		rc = CDNI_EIO;
	return rc;
}

/* 1 empty, 0 not empty, negative when unreadable. *marked: holds RUN_MARKER. */
static int dir_state(const char *dir, int *marked)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int empty = 1;

	*marked = 0;
	if (!d)
		return CDNI_EIO;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		empty = 0;
		if (!strcmp(e->d_name, RUN_MARKER))
			*marked = 1;
	}
	closedir(d);
	return empty;
}

int fs_run_dir_prepare(const char *dir, char *err, size_t errlen)
{
	char marker[4096];
	struct stat st;
	int marked, empty;

	snprintf(marker, sizeof marker, "%s/%s", dir, RUN_MARKER);
	if (stat(dir, &st) == 0) {
		empty = S_ISDIR(st.st_mode) ? dir_state(dir, &marked) : CDNI_EIO;
		if (empty < 0 || (!empty && !marked)) {
			snprintf(err, errlen, "run directory %s exists and was not made by "
				 "cdni-scenario: remove it or choose another (-o)", dir);
			return CDNI_EEXIST;
		}
		if (!empty && fs_remove_tree(dir) != 0) {
			snprintf(err, errlen, "cannot empty run directory %s: %s", dir,
				 strerror(errno));
			return CDNI_EIO;
		}
	}
	if (fs_mkdir_p(dir) != 0 || fs_write(marker, "", 0) != 0) {
		snprintf(err, errlen, "cannot create run directory %s: %s", dir, strerror(errno));
		return CDNI_EIO;
	}
	return 0;
}

int fs_same_content(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	unsigned char ba[65536], bb[65536];
	size_t na, nb;
	int rc = 1;

	if (!fa || !fb) {
		rc = CDNI_EIO;
		goto out;
	}
	do {
		na = fread(ba, 1, sizeof ba, fa);
		nb = fread(bb, 1, sizeof bb, fb);
		if (na != nb || memcmp(ba, bb, na) != 0) {
			rc = 0;
			break;
		}
	} while (na == sizeof ba);
out:
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return rc;
}

int fs_sha256_file(const char *path, char hex[65], long long *size)
{
	FILE *f = fopen(path, "rb");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[65536], dig[32];
	unsigned int dlen = 0;
	long long total = 0;
	size_t n;
	int rc = CDNI_EIO;

	if (!f || !md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		goto out;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		EVP_DigestUpdate(md, buf, n);
		total += (long long)n;
	}
	if (ferror(f) || !EVP_DigestFinal_ex(md, dig, &dlen))
		goto out;
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", dig[i]);
	if (size)
		*size = total;
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	if (f)
		fclose(f);
	return rc;
}

uint64_t content_seed(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h;
}

void content_fill(uint64_t *state, unsigned char *buf, size_t len)
{
	while (len) {
		uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
		size_t n = len < 8 ? len : 8;

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)(z >> (8 * i));
		buf += n;
		len -= n;
	}
}

static int write_random(const char *file, const char *path, long long size)
{
	unsigned char buf[65536];
	uint64_t state = content_seed(path);
	FILE *f = fopen(file, "wb");
	int rc = 0;

	if (!f)
		return CDNI_EIO;
	while (size > 0 && rc == 0) {
		size_t n = size < (long long)sizeof buf ? (size_t)size : sizeof buf;

		content_fill(&state, buf, n);
		if (fwrite(buf, 1, n, f) != n)
			rc = CDNI_EIO;
		size -= (long long)n;
	}
	if (fclose(f) != 0)
		rc = CDNI_EIO;
	return rc;
}

static int generate_one(const struct sc_content *c, const char *dir, char *err, size_t errlen)
{
	char file[4096], *slash;
	int rc;

	snprintf(file, sizeof file, "%s/%s", dir, c->path);
	slash = strrchr(file, '/');
	*slash = '\0';
	rc = fs_mkdir_p(file);
	*slash = '/';
	if (rc == 0 && c->from) {
		unlink(file);
		rc = fs_append_file(file, c->from);
	} else if (rc == 0) {
		rc = c->text ? fs_write(file, c->text, strlen(c->text))
			     : write_random(file, c->path, c->size);
	}
	if (rc)
		snprintf(err, errlen, "content.%s: cannot write %s: %s", c->path, file,
			 strerror(errno));
	return rc;
}

int content_generate(const struct sc_content *c, size_t n, const char *dir, char *err,
		     size_t errlen)
{
	if (fs_mkdir_p(dir) != 0) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return CDNI_EIO;
	}
	for (size_t i = 0; i < n; i++)
		if (generate_one(&c[i], dir, err, errlen))
			return CDNI_EIO;
	return 0;
}

int fs_append_file(const char *dst, const char *src)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc = CDNI_EIO;

	if (file_read_all(src, 16u << 20, &text, &len) != 0)
		return CDNI_EIO;
	f = fopen(dst, "a");
	if (f && fwrite(text, 1, len, f) == len)
		rc = 0;
	if (f && fclose(f) != 0)
		rc = CDNI_EIO;
	free(text);
	return rc;
}
