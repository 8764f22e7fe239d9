/* cdni-scenario — the file chores of a run: directories, generated content,
 * comparing files, cleaning a previous run. */
#ifndef CDNI_SCENARIO_FSUTIL_H
#define CDNI_SCENARIO_FSUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "scenarios/scenario.h"

/* The file a run directory holds so that a later run may empty it. */
#define RUN_MARKER ".cdni-scenario-run"

/* mkdir -p. 0 or CDNI_EIO (errno kept). */
int fs_mkdir_p(const char *path);
/* Write len bytes to path (created or truncated). 0 or CDNI_EIO. */
int fs_write(const char *path, const void *data, size_t len);
/* Empty dir for a new run: it must not exist, be empty, or hold RUN_MARKER.
 * Then it exists, empty but for a fresh RUN_MARKER. Message in err. */
int fs_run_dir_prepare(const char *dir, char *err, size_t errlen);
/* Append the bytes of file src to file dst (created when absent). */
int fs_append_file(const char *dst, const char *src);
/* rm -r path (no symlinks followed). 0 or CDNI_EIO. */
int fs_remove_tree(const char *path);
/* 1 when both files exist and hold the same bytes, 0 when they differ, a
 * negative CDNI_E* when one cannot be read. */
int fs_same_content(const char *a, const char *b);
/* SHA-256 of a file as 64 hex digits; size into *size. */
int fs_sha256_file(const char *path, char hex[65], long long *size);

/* Deterministic pseudo-random bytes: the same path gives the same bytes on
 * every machine (splitmix64 seeded by FNV-1a of the path). *state starts at
 * content_seed(path) and advances; len is a multiple of 8 except at the end. */
uint64_t content_seed(const char *path);
void content_fill(uint64_t *state, unsigned char *buf, size_t len);
/* Write every content entry under dir. Message names the path. */
int content_generate(const struct sc_content *c, size_t n, const char *dir, char *err,
		     size_t errlen);

#endif
