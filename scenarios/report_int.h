/* cdni-scenario — what report.c, html.c and svg.c share: reading the
 * result JSON. Internal to scenarios/. */
#ifndef CDNI_SCENARIO_REPORT_INT_H
#define CDNI_SCENARIO_REPORT_INT_H

#include <jansson.h>

static inline const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static inline long long num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static inline int is_ok(json_t *o)
{
	return json_is_true(json_object_get(o, "ok"));
}

/* A step's hop timing in ms (0 when absent). */
static inline double hop_ms(json_t *hop, const char *key)
{
	return json_number_value(json_object_get(json_object_get(hop, "timing_ms"), key));
}

/* The label of lifeline id in a step's flow (id itself when unknown). */
const char *report_lifeline_label(json_t *step, const char *id);

#endif
