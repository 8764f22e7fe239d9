#include "common/conf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#define FIELD(out, it, T) ((T *)(void *)((char *)(out) + (it)->offset))

static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s", path && *path ? path : "",
			 path && *path ? ": " : "", msg);
	return CDNI_ECONFIG;
}

static void join(char *dst, size_t len, const char *path, const char *key)
{
	if (path && *path)
		snprintf(dst, len, "%s.%s", path, key);
	else
		snprintf(dst, len, "%s", key);
}

static const char *type_name(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static int load_string(char **dst, json_t *v, const char *path, char *err, size_t errlen)
{
	if (!json_is_string(v))
		return fail(err, errlen, path, "must be a string, got %s", type_name(v));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(err, errlen, path, "must not contain NUL bytes");
	*dst = strdup(json_string_value(v));
	return *dst ? 0 : fail(err, errlen, path, "out of memory");
}

static int load_int(const struct conf_item *it, long long *dst, json_t *v, const char *path,
		    char *err, size_t errlen)
{
	long long x;

	if (!json_is_integer(v))
		return fail(err, errlen, path, "must be an integer in %lld..%lld, got %s", it->min,
			    it->max, type_name(v));
	x = json_integer_value(v);
	if (x < it->min || x > it->max)
		return fail(err, errlen, path, "must be an integer in %lld..%lld, got %lld",
			    it->min, it->max, x);
	*dst = x;
	return 0;
}

static int load_enum(const struct conf_item *it, int *dst, json_t *v, const char *path,
		     char *err, size_t errlen)
{
	char names[256] = "";

	if (json_is_string(v))
		for (int i = 0; it->choices[i]; i++)
			if (strcmp(json_string_value(v), it->choices[i]) == 0) {
				*dst = i;
				return 0;
			}
	for (int i = 0; it->choices[i]; i++) {
		size_t l = strlen(names);
		snprintf(names + l, sizeof names - l, "%s\"%s\"", i ? ", " : "", it->choices[i]);
	}
	return fail(err, errlen, path, "must be one of %s", names);
}

static int load_strlist(struct conf_strlist *dst, json_t *v, const char *path, char *err,
			size_t errlen)
{
	char p[256];
	size_t i;
	json_t *e;

	if (json_is_string(v)) { /* a single string is a list of one */
		dst->v = calloc(1, sizeof *dst->v);
		if (!dst->v)
			return fail(err, errlen, path, "out of memory");
		dst->n = 1;
		return load_string(&dst->v[0], v, path, err, errlen);
	}
	if (!json_is_array(v))
		return fail(err, errlen, path, "must be an array of strings, got %s", type_name(v));
	dst->v = calloc(json_array_size(v) + 1, sizeof *dst->v);
	if (!dst->v)
		return fail(err, errlen, path, "out of memory");
	json_array_foreach(v, i, e) {
		snprintf(p, sizeof p, "%s[%zu]", path, i);
		if (load_string(&dst->v[i], e, p, err, errlen))
			return CDNI_ECONFIG;
		dst->n = i + 1;
	}
	return 0;
}

static int load_list(const struct conf_item *it, struct conf_list *dst, json_t *v,
		     const char *path, char *err, size_t errlen)
{
	char p[256];
	size_t i;
	json_t *e;

	if (json_is_object(v)) { /* a single object is a list of one */
		dst->v = calloc(1, it->elem_size);
		if (!dst->v)
			return fail(err, errlen, path, "out of memory");
		dst->n = 1;
		return conf_load(it->sub, dst->v, v, path, err, errlen);
	}
	if (!json_is_array(v))
		return fail(err, errlen, path, "must be an array of objects, got %s", type_name(v));
	dst->v = calloc(json_array_size(v) + 1, it->elem_size);
	if (!dst->v)
		return fail(err, errlen, path, "out of memory");
	json_array_foreach(v, i, e) {
		snprintf(p, sizeof p, "%s[%zu]", path, i);
		if (conf_load(it->sub, (char *)dst->v + i * it->elem_size, e, p, err, errlen))
			return CDNI_ECONFIG;
		dst->n = i + 1;
	}
	return 0;
}

static int load_item(const struct conf_item *it, void *out, json_t *v, const char *path,
		     char *err, size_t errlen)
{
	switch (it->type) {
	case CONF_T_STRING:
		return load_string(FIELD(out, it, char *), v, path, err, errlen);
	case CONF_T_INT:
		return load_int(it, FIELD(out, it, long long), v, path, err, errlen);
	case CONF_T_BOOL:
		if (!json_is_boolean(v))
			return fail(err, errlen, path, "must be true or false, got %s", type_name(v));
		*FIELD(out, it, bool) = json_is_true(v);
		return 0;
	case CONF_T_ENUM:
		return load_enum(it, FIELD(out, it, int), v, path, err, errlen);
	case CONF_T_OBJECT:
		return conf_load(it->sub, FIELD(out, it, char), v, path, err, errlen);
	case CONF_T_LIST:
		return load_list(it, FIELD(out, it, struct conf_list), v, path, err, errlen);
	case CONF_T_STRLIST:
		return load_strlist(FIELD(out, it, struct conf_strlist), v, path, err, errlen);
	case CONF_T_JSON:
		*FIELD(out, it, json_t *) = json_incref(v);
		return 0;
	default:
		return fail(err, errlen, path, "internal error: bad table type");
	}
}

static int set_default(const struct conf_item *it, void *out, const char *path, char *err,
		       size_t errlen)
{
	if (it->flags & CONF_REQUIRED)
		return fail(err, errlen, path, "is required");
	switch (it->type) {
	case CONF_T_STRING:
		if (it->def_str && !(*FIELD(out, it, char *) = strdup(it->def_str)))
			return fail(err, errlen, path, "out of memory");
		return 0;
	case CONF_T_INT:
		*FIELD(out, it, long long) = it->def_int;
		return 0;
	case CONF_T_BOOL:
		*FIELD(out, it, bool) = it->def_int != 0;
		return 0;
	case CONF_T_ENUM:
		*FIELD(out, it, int) = (int)it->def_int;
		return 0;
	case CONF_T_OBJECT: {
		json_t *empty = json_object();
		int rc = empty ? conf_load(it->sub, FIELD(out, it, char), empty, path, err, errlen)
			       : fail(err, errlen, path, "out of memory");
		json_decref(empty);
		return rc;
	}
	default:
		return 0;
	}
}

static const struct conf_item *find_item(const struct conf_item *table, const char *key)
{
	for (const struct conf_item *it = table; it->key; it++)
		if (strcmp(it->key, key) == 0)
			return it;
	return NULL;
}

int conf_load(const struct conf_item *table, void *out, json_t *obj, const char *path,
	      char *err, size_t errlen)
{
	char p[256];
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return fail(err, errlen, path && *path ? path : "(top level)",
			    "must be an object, got %s", type_name(obj));
	json_object_foreach(obj, key, v) {
		if (!find_item(table, key)) {
			join(p, sizeof p, path, key);
			fail(err, errlen, p, "unknown key");
			goto fail;
		}
	}
	for (const struct conf_item *it = table; it->key; it++) {
		join(p, sizeof p, path, it->key);
		v = json_object_get(obj, it->key);
		if (v ? load_item(it, out, v, p, err, errlen) : set_default(it, out, p, err, errlen))
			goto fail;
	}
	return 0;
fail:
	conf_free(table, out);
	return CDNI_ECONFIG;
}

int conf_load_string(const struct conf_item *table, void *out, const char *text,
		     const char *name, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;
	char inner[512];
	int rc;

	memset(inner, 0, sizeof inner);
	root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, errlen, "%s:%d:%d: %s", name, je.line, je.column, je.text);
		return CDNI_ECONFIG;
	}
	rc = conf_load(table, out, root, "", inner, sizeof inner);
	json_decref(root);
	if (rc)
		snprintf(err, errlen, "%s: %s", name, inner);
	return rc;
}

int conf_load_file(const struct conf_item *table, void *out, const char *file, char *err,
		   size_t errlen)
{
	json_error_t je;
	json_t *root;
	char inner[512];
	int rc;

	root = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (je.line < 0)
			snprintf(err, errlen, "%s: %s", file, je.text);
		else
			snprintf(err, errlen, "%s:%d:%d: %s", file, je.line, je.column, je.text);
		return CDNI_ECONFIG;
	}
	rc = conf_load(table, out, root, "", inner, sizeof inner);
	json_decref(root);
	if (rc)
		snprintf(err, errlen, "%s: %s", file, inner);
	return rc;
}

void conf_free(const struct conf_item *table, void *out)
{
	for (const struct conf_item *it = table; it && it->key; it++) {
		switch (it->type) {
		case CONF_T_STRING:
			free(*FIELD(out, it, char *));
			*FIELD(out, it, char *) = NULL;
			break;
		case CONF_T_OBJECT:
			conf_free(it->sub, FIELD(out, it, char));
			break;
		case CONF_T_LIST: {
			struct conf_list *l = FIELD(out, it, struct conf_list);
			for (size_t i = 0; l->v && i < l->n; i++)
				conf_free(it->sub, (char *)l->v + i * it->elem_size);
			free(l->v);
			l->v = NULL;
			l->n = 0;
			break;
		}
		case CONF_T_STRLIST: {
			struct conf_strlist *l = FIELD(out, it, struct conf_strlist);
			for (size_t i = 0; l->v && i < l->n; i++)
				free(l->v[i]);
			free(l->v);
			l->v = NULL;
			l->n = 0;
			break;
		}
		case CONF_T_JSON:
			json_decref(*FIELD(out, it, json_t *));
			*FIELD(out, it, json_t *) = NULL;
			break;
		default:
			break;
		}
	}
}

static void describe_item(const struct conf_item *it, FILE *f, int indent)
{
	fprintf(f, "%*s%-18s ", indent, "", it->key);
	switch (it->type) {
	case CONF_T_STRING:
		fprintf(f, "string");
		if (it->def_str)
			fprintf(f, " (default \"%s\")", it->def_str);
		break;
	case CONF_T_INT:
		fprintf(f, "integer %lld..%lld (default %lld)", it->min, it->max, it->def_int);
		break;
	case CONF_T_BOOL:
		fprintf(f, "boolean (default %s)", it->def_int ? "true" : "false");
		break;
	case CONF_T_ENUM:
		fprintf(f, "one of");
		for (int i = 0; it->choices[i]; i++)
			fprintf(f, " %s", it->choices[i]);
		fprintf(f, " (default %s)", it->choices[it->def_int]);
		break;
	case CONF_T_OBJECT: fprintf(f, "object"); break;
	case CONF_T_LIST: fprintf(f, "array of objects"); break;
	case CONF_T_STRLIST: fprintf(f, "array of strings"); break;
	default: fprintf(f, "any JSON value"); break;
	}
	fprintf(f, "%s  %s\n", it->flags & CONF_REQUIRED ? ", required" : "", it->help ? it->help : "");
}

void conf_describe(const struct conf_item *table, void *stream, int indent)
{
	FILE *f = stream ? stream : stdout;

	for (const struct conf_item *it = table; it->key; it++) {
		describe_item(it, f, indent);
		if (it->sub)
			conf_describe(it->sub, f, indent + 2);
	}
}
