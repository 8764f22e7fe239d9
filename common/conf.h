/* cdni — table-driven JSON configuration (jansson).
 *
 * A program describes its config as a table of items (key, type, range,
 * default, help) over a C struct, then calls conf_load_file(). Errors name the
 * file and the key path ("dcdn.json: listen[1].port: must be an integer in
 * 0..65535, got 70000"). Unknown keys are errors, so a typo never passes
 * silently. Strings and lists are owned by the struct; conf_free() frees them.
 *
 *   struct cfg { char *root; long long port; bool cors; };
 *   static const struct conf_item tab[] = {
 *       CONF_STR("root", struct cfg, root, NULL, CONF_REQUIRED, "content directory"),
 *       CONF_INT("port", struct cfg, port, 0, 65535, 8080, "TCP port"),
 *       CONF_BOOL("cors", struct cfg, cors, false, "send CORS headers"),
 *       CONF_END
 *   };
 */
#ifndef CDNI_CONF_H
#define CDNI_CONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum conf_type {
	CONF_T_NONE = 0,
	CONF_T_STRING,  /* char * (strdup'd) */
	CONF_T_INT,     /* long long, within [min, max] */
	CONF_T_BOOL,    /* bool */
	CONF_T_ENUM,    /* int: index into choices[] */
	CONF_T_OBJECT,  /* nested struct at offset, described by sub */
	CONF_T_LIST,    /* struct conf_list of elem_size structs, each described by sub */
	CONF_T_STRLIST, /* struct conf_strlist */
	CONF_T_JSON,    /* json_t * (a new reference), any JSON value */
};

#define CONF_REQUIRED 1u

struct conf_list {
	void *v;
	size_t n;
};

struct conf_strlist {
	char **v;
	size_t n;
};

struct conf_item {
	const char *key;
	enum conf_type type;
	size_t offset;
	unsigned flags;
	long long min, max, def_int;
	const char *def_str;
	const char *const *choices;
	const struct conf_item *sub;
	size_t elem_size;
	const char *help;
};

#define CONF_STR(k, T, f, def, fl, h) \
	{ .key = (k), .type = CONF_T_STRING, .offset = offsetof(T, f), .flags = (fl), .def_str = (def), .help = (h) }
#define CONF_INT(k, T, f, lo, hi, def, h) \
	{ .key = (k), .type = CONF_T_INT, .offset = offsetof(T, f), .min = (lo), .max = (hi), .def_int = (def), .help = (h) }
#define CONF_BOOL(k, T, f, def, h) \
	{ .key = (k), .type = CONF_T_BOOL, .offset = offsetof(T, f), .def_int = (def), .help = (h) }
#define CONF_ENUM(k, T, f, names, def, h) \
	{ .key = (k), .type = CONF_T_ENUM, .offset = offsetof(T, f), .choices = (names), .def_int = (def), .help = (h) }
#define CONF_OBJ(k, T, f, table, fl, h) \
	{ .key = (k), .type = CONF_T_OBJECT, .offset = offsetof(T, f), .sub = (table), .flags = (fl), .help = (h) }
#define CONF_LIST(k, T, f, table, E, fl, h) \
	{ .key = (k), .type = CONF_T_LIST, .offset = offsetof(T, f), .sub = (table), .elem_size = sizeof(E), .flags = (fl), .help = (h) }
#define CONF_STRS(k, T, f, fl, h) \
	{ .key = (k), .type = CONF_T_STRLIST, .offset = offsetof(T, f), .flags = (fl), .help = (h) }
#define CONF_JSONV(k, T, f, fl, h) \
	{ .key = (k), .type = CONF_T_JSON, .offset = offsetof(T, f), .flags = (fl), .help = (h) }
#define CONF_END { .key = NULL }

/* Load obj into out per table; out must be zero-initialised. path is the key path prefix for
 * messages (may be ""). On failure a message is written to err, everything
 * loaded so far is freed, and CDNI_ECONFIG is returned. */
int conf_load(const struct conf_item *table, void *out, json_t *obj, const char *path,
	      char *err, size_t errlen);
/* Read and load a JSON file; messages start with the file name. */
int conf_load_file(const struct conf_item *table, void *out, const char *file, char *err,
		   size_t errlen);
/* Same from a string (tests). */
int conf_load_string(const struct conf_item *table, void *out, const char *text,
		     const char *name, char *err, size_t errlen);
void conf_free(const struct conf_item *table, void *out);
/* Print the keys of a table with types, ranges, defaults and help (for --help
 * and docs). */
void conf_describe(const struct conf_item *table, void *stream, int indent);

#endif
