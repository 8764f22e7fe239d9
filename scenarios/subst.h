/* cdni-scenario — placeholders in scenario strings.
 *
 *   {{pki}} {{run}} {{content}} {{bin}}      directories of the run
 *   {{NODE.LISTENER}}                        "ADDR:PORT" the node reported ready on
 *   {{NODE.LISTENER.addr}}                   ADDR ("127.0.0.1", or "[::1]" for IPv6)
 *   {{NODE.LISTENER.port}}                   PORT
 *   {{HOST.addr}}                            the address of a host of the topology
 *   {{rtt.A.B}}                              the configured round trip between hosts A
 *                                            and B in ms (along the route; --fast scales it)
 *
 * Spaces just inside the braces are ignored. "{{" always opens a
 * placeholder; one without "}}" is an error, and so is any name the
 * environment cannot resolve (the message names the placeholder). In JSON,
 * a string that is exactly one {{NODE.LISTENER.port}} becomes an integer,
 * so a config can say "port": "{{origin.http.port}}".
 *
 * The same code checks a scenario before anything runs (an environment whose
 * listener lookup answers from the scenario's text) and substitutes for real
 * (one that answers from the readiness lines). */
#ifndef CDNI_SCENARIO_SUBST_H
#define CDNI_SCENARIO_SUBST_H

#include <stddef.h>

#include <jansson.h>

struct subst_env {
	const char *pki, *run, *content, *bin;
	/* Resolve NODE.LISTENER into out as "ADDR:PORT". Returns 0, or a
	 * negative CDNI_E* code with the reason in why. */
	int (*listener)(void *ctx, const char *node, const char *listener, char *out,
			size_t outlen, char *why, size_t whylen);
	void *ctx;
	/* Optional: the address of host name into out; 0, or a negative
	 * CDNI_E* code when there is no such host (then NAME.addr is tried as
	 * a node's listener). Same ctx. */
	int (*host)(void *ctx, const char *name, char *out, size_t outlen);
	/* Optional: the round trip between hosts a and b ("142"); same ctx. */
	int (*rtt)(void *ctx, const char *a, const char *b, char *out, size_t outlen);
};

/* Substitute every placeholder of in into a new string *out. On failure err
 * holds the reason (without a path) and CDNI_ECONFIG is returned. */
int subst_string(const struct subst_env *env, const char *in, char **out, char *err,
		 size_t errlen);

/* Deep copy of in with every string (values, not keys) substituted. Messages
 * start with the JSON path of the string (path names in itself). */
int subst_json(const struct subst_env *env, json_t *in, const char *path, json_t **out,
	       char *err, size_t errlen);

#endif
