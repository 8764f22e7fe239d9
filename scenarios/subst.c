#include "scenarios/subst.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "scenarios/errmsg.h"

#define NAME_MAX_ 200

static const char *dir_var(const struct subst_env *env, const char *name)
{
	if (strcmp(name, "pki") == 0)
		return env->pki;
	if (strcmp(name, "run") == 0)
		return env->run;
	if (strcmp(name, "content") == 0)
		return env->content;
	if (strcmp(name, "bin") == 0)
		return env->bin;
	return NULL;
}

/* NODE.LISTENER[.part] -> value into out. */
static int resolve_listener(const struct subst_env *env, char *name, char *out, size_t outlen,
			    char *why, size_t whylen)
{
	char *node = name, *lis, *part, *colon;
	char bound[128];

	lis = strchr(node, '.');
	*lis++ = '\0';
	part = strchr(lis, '.');
	if (part)
		*part++ = '\0';
	if (!part && strcmp(lis, "addr") == 0 && env->host &&
	    env->host(env->ctx, node, out, outlen) == 0)
		return 0;
	if (strcmp(node, "rtt") == 0 && part && env->rtt) {
		if (env->rtt(env->ctx, lis, part, out, outlen))
			return sc_fail(why, whylen, "no route between hosts \"%s\" and \"%s\"", lis, part);
		return 0;
	}
	if (!*node || !*lis || (part && strcmp(part, "port") && strcmp(part, "addr")) ||
	    (part && strchr(part, '.')))
		return sc_fail(why, whylen, "not a known form");
	if (!env->listener)
		return sc_fail(why, whylen, "no nodes are running");
	if (env->listener(env->ctx, node, lis, bound, sizeof bound, why, whylen))
		return CDNI_ECONFIG;
	colon = strrchr(bound, ':');
	if (part && !colon)
		return sc_fail(why, whylen, "listener address '%s' has no port", bound);
	if (!part)
		snprintf(out, outlen, "%s", bound);
	else if (strcmp(part, "port") == 0)
		snprintf(out, outlen, "%s", colon + 1);
	else
		snprintf(out, outlen, "%.*s", (int)(colon - bound), bound);
	return 0;
}

/* Resolve one placeholder name (already trimmed) and append its value. */
static int resolve(const struct subst_env *env, const char *name, size_t len, struct buf *b,
		   char *err, size_t errlen)
{
	char n[NAME_MAX_ + 1], value[256], why[200] = "";
	const char *dir;

	if (len == 0 || len > NAME_MAX_)
		return sc_fail(err, errlen, "unknown placeholder {{%.*s}}", (int)(len > 60 ? 60 : len),
			    name);
	memcpy(n, name, len);
	n[len] = '\0';
	if (!strchr(n, '.')) {
		dir = dir_var(env, n);
		if (!dir)
			return sc_fail(err, errlen,
				    "unknown placeholder {{%s}} (known: pki, run, content, bin, "
				    "NODE.LISTENER[.port|.addr], HOST.addr)", n);
		buf_puts(b, dir);
		return 0;
	}
	if (resolve_listener(env, n, value, sizeof value, why, sizeof why))
		return sc_fail(err, errlen, "unknown placeholder {{%.*s}}: %s", (int)len, name, why);
	buf_puts(b, value);
	return 0;
}

static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

int subst_string(const struct subst_env *env, const char *in, char **out, char *err,
		 size_t errlen)
{
	struct buf b;
	const char *p = in, *open, *close, *name;
	size_t len;

	buf_init(&b, 0);
	buf_puts(&b, "");
	while ((open = strstr(p, "{{")) != NULL) {
		buf_append(&b, p, (size_t)(open - p));
		close = strstr(open + 2, "}}");
		if (!close) {
			sc_fail(err, errlen, "unterminated placeholder \"%.40s\"", open);
			goto fail;
		}
		name = open + 2;
		len = (size_t)(close - name);
		trim(&name, &len);
		if (resolve(env, name, len, &b, err, errlen))
			goto fail;
		p = close + 2;
	}
	buf_puts(&b, p);
	if (b.err) {
		sc_fail(err, errlen, "out of memory");
		goto fail;
	}
	*out = buf_steal(&b, NULL);
	return 0;
fail:
	buf_free(&b);
	return CDNI_ECONFIG;
}

/* True when s is exactly one {{NODE.LISTENER.port}} placeholder. */
static int is_port_only(const char *s)
{
	size_t len = strlen(s), dots = 0;
	const char *name;

	if (len < 4 || strncmp(s, "{{", 2) != 0 || strcmp(s + len - 2, "}}") != 0)
		return 0;
	name = s + 2;
	len -= 4;
	trim(&name, &len);
	for (size_t i = 0; i < len; i++)
		if (name[i] == '{' || name[i] == '}')
			return 0;
		else if (name[i] == '.')
			dots++;
	return dots == 2 && len > 5 && strncmp(name + len - 5, ".port", 5) == 0;
}

static int subst_value(const struct subst_env *env, json_t *in, const char *path,
		       json_t **out, char *err, size_t errlen);

static int subst_str_value(const struct subst_env *env, json_t *in, const char *path,
			   json_t **out, char *err, size_t errlen)
{
	char msg[400], *s = NULL, *end;
	long long port;

	if (subst_string(env, json_string_value(in), &s, msg, sizeof msg))
		return sc_fail(err, errlen, "%s: %s", path, msg);
	if (is_port_only(json_string_value(in))) {
		port = strtoll(s, &end, 10);
		*out = (*s && !*end) ? json_integer(port) : json_string(s);
	} else {
		*out = json_string(s);
	}
	free(s);
	return *out ? 0 : sc_fail(err, errlen, "%s: out of memory", path);
}

static int subst_object(const struct subst_env *env, json_t *in, const char *path,
			json_t **out, char *err, size_t errlen)
{
	json_t *o = json_object(), *v, *nv;
	const char *key;
	char p[512];

	if (!o)
		return sc_fail(err, errlen, "%s: out of memory", path);
	json_object_foreach(in, key, v) {
		snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", key);
		if (subst_value(env, v, p, &nv, err, errlen) || json_object_set_new(o, key, nv))
			goto fail;
	}
	*out = o;
	return 0;
fail:
	json_decref(o);
	return CDNI_ECONFIG;
}

static int subst_array(const struct subst_env *env, json_t *in, const char *path,
		       json_t **out, char *err, size_t errlen)
{
	json_t *a = json_array(), *v, *nv;
	size_t i;
	char p[512];

	if (!a)
		return sc_fail(err, errlen, "%s: out of memory", path);
	json_array_foreach(in, i, v) {
		snprintf(p, sizeof p, "%s[%zu]", path, i);
		if (subst_value(env, v, p, &nv, err, errlen) || json_array_append_new(a, nv))
			goto fail;
	}
	*out = a;
	return 0;
fail:
	json_decref(a);
	return CDNI_ECONFIG;
}

static int subst_value(const struct subst_env *env, json_t *in, const char *path,
		       json_t **out, char *err, size_t errlen)
{
	if (json_is_string(in))
		return subst_str_value(env, in, path, out, err, errlen);
	if (json_is_object(in))
		return subst_object(env, in, path, out, err, errlen);
	if (json_is_array(in))
		return subst_array(env, in, path, out, err, errlen);
	*out = json_deep_copy(in);
	return *out ? 0 : sc_fail(err, errlen, "%s: out of memory", path);
}

int subst_json(const struct subst_env *env, json_t *in, const char *path, json_t **out,
	       char *err, size_t errlen)
{
	json_t *r = NULL;

	if (subst_value(env, in, path ? path : "", &r, err, errlen))
		return CDNI_ECONFIG;
	*out = r;
	return 0;
}
