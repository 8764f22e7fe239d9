/* cdni-scenario — SVG drawings for the report: the sequence diagram of a
 * step's observed messages and the timing waterfall of its hops. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "scenarios/report.h"
#include "scenarios/report_int.h"

#define SEQ_MARGIN 24
#define SEQ_COL 220
#define SEQ_BOX_W 140
#define SEQ_BOX_H 36
#define SEQ_ROW 48
#define SEQ_TOP (SEQ_MARGIN + SEQ_BOX_H + 30)
#define SEQ_FONT "font-family=\"ui-sans-serif, system-ui, -apple-system, 'Segoe UI', sans-serif\""
#define SEQ_MAX_ACT 64

void xml_escape(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': buf_puts(b, "&amp;"); break;
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		case '\'': buf_puts(b, "&#39;"); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				buf_putc(b, *s);
		}
	}
}

/* Escape at most max characters of s (UTF-8 aware), with "…" when cut. */
static void xml_clip(struct buf *b, const char *s, size_t max)
{
	size_t chars = 0, i = 0;
	char tmp[4096];

	if (!s)
		return;
	for (; s[i] && chars < max; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	while (s[i] && ((unsigned char)s[i] & 0xc0) == 0x80)
		i++;
	if (!s[i] || chars < max) {
		xml_escape(b, s);
		return;
	}
	/* back off one character to make room for the ellipsis */
	while (i > 0 && ((unsigned char)s[--i] & 0xc0) == 0x80)
		;
	snprintf(tmp, sizeof tmp, "%.*s", (int)(i < sizeof tmp - 1 ? i : sizeof tmp - 1), s);
	xml_escape(b, tmp);
	buf_puts(b, "…");
}

/* ---- colours ---------------------------------------------------------- */

static const char *role_colour(const char *label)
{
	if (!label)
		return "#6b7280";
	if (strcasecmp(label, "UA") == 0)
		return "#475569";
	if (strncasecmp(label, "ucdn", 4) == 0)
		return "#4f46e5";
	if (strncasecmp(label, "dcdn", 4) == 0)
		return "#0d9488";
	if (strncasecmp(label, "origin", 6) == 0)
		return "#b45309";
	return "#6b7280";
}

static const struct {
	const char *key, *colour;
} arrow_colours[] = {
	{ "req", "#334155" }, { "up", "#7c3aed" }, { "s2", "#15803d" },
	{ "s3", "#2563eb" },  { "s4", "#d97706" }, { "s5", "#dc2626" },
};

static int arrow_kind(json_t *m)
{
	long long status = json_integer_value(json_object_get(m, "status"));

	if (strcmp(str(m, "kind"), "request") == 0)
		return json_is_true(json_object_get(m, "upstream")) ? 1 : 0;
	if (strcmp(str(m, "kind"), "message") == 0 && status == 0)
		return 0; /* narrated by a command (@flow lines) */
	if (status >= 200 && status < 300)
		return 2;
	if (status >= 300 && status < 400)
		return 3;
	if (status >= 400 && status < 500)
		return 4;
	return 5;
}

/* ---- sequence diagram ------------------------------------------------- */

struct seq {
	json_t *lifelines, *msgs;
	size_t nl, nm;
	char id[16]; /* prefix for marker ids, unique in a page */
};

static int lane(const struct seq *s, const char *id)
{
	for (size_t i = 0; id && i < s->nl; i++)
		if (strcmp(str(json_array_get(s->lifelines, i), "id"), id) == 0)
			return (int)i;
	return 0;
}

static int lane_x(int i)
{
	return SEQ_MARGIN + SEQ_BOX_W / 2 + i * SEQ_COL;
}

static int row_y(size_t k)
{
	return SEQ_TOP + (int)k * SEQ_ROW + 20;
}

static void seq_defs(struct buf *b, const struct seq *s)
{
	buf_puts(b, "<defs>");
	for (size_t i = 0; i < sizeof arrow_colours / sizeof arrow_colours[0]; i++)
		buf_printf(b, "<marker id=\"%s-%s\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
			   "markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\">"
			   "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"%s\"/></marker>",
			   s->id, arrow_colours[i].key, arrow_colours[i].colour);
	buf_puts(b, "</defs>");
}

static void seq_box(struct buf *b, int x, int y, json_t *l)
{
	const char *c = role_colour(str(l, "label"));

	buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"8\" fill=\"%s\"/>",
		   x - SEQ_BOX_W / 2, y, SEQ_BOX_W, SEQ_BOX_H, c);
	buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#ffffff\" "
		   "font-size=\"14\" font-weight=\"600\">", x, y + 23);
	xml_clip(b, str(l, "label"), 18);
	buf_puts(b, "</text>");
}

static void seq_lifelines(struct buf *b, const struct seq *s, int height)
{
	int bottom = height - SEQ_MARGIN - SEQ_BOX_H;

	for (size_t i = 0; i < s->nl; i++) {
		json_t *l = json_array_get(s->lifelines, i);
		int x = lane_x((int)i);

		buf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
			   "stroke-opacity=\"0.45\" stroke-width=\"1.5\" stroke-dasharray=\"5 5\"/>",
			   x, SEQ_MARGIN + SEQ_BOX_H, x, bottom, role_colour(str(l, "label")));
		seq_box(b, x, SEQ_MARGIN, l);
		seq_box(b, x, bottom, l);
	}
}

/* Activation bars: a request opens one on its target, the answer closes it. */
static void seq_activations(struct buf *b, const struct seq *s)
{
	int stack_lane[SEQ_MAX_ACT];
	size_t stack_row[SEQ_MAX_ACT], depth = 0;

	for (size_t k = 0; k < s->nm; k++) {
		json_t *m = json_array_get(s->msgs, k);
		int to = lane(s, str(m, "to")), from = lane(s, str(m, "from"));

		if (strcmp(str(m, "kind"), "request") == 0 && depth < SEQ_MAX_ACT) {
			stack_lane[depth] = to;
			stack_row[depth++] = k;
		} else if (depth && stack_lane[depth - 1] == from) {
			depth--;
			buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"%d\" rx=\"2\" "
				   "fill=\"#f1f5f9\" stroke=\"#94a3b8\"/>", lane_x(from) - 5,
				   row_y(stack_row[depth]), row_y(k) - row_y(stack_row[depth]));
		}
	}
}

static void seq_hop_badge(struct buf *b, json_t *m, int x, int y)
{
	if (!json_is_integer(json_object_get(m, "hop")) ||
	    (strcmp(str(m, "kind"), "request") && strcmp(str(m, "kind"), "message")))
		return;
	buf_printf(b, "<circle cx=\"%d\" cy=\"%d\" r=\"9\" fill=\"#0f172a\"/>"
		   "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\" "
		   "font-weight=\"700\" fill=\"#ffffff\">%lld</text>", x - 18, y, x - 18, y + 4, (long long)json_integer_value(json_object_get(m, "hop")));
}

static void seq_message(struct buf *b, const struct seq *s, json_t *m, size_t k)
{
	int from = lane(s, str(m, "from")), to = lane(s, str(m, "to")), kind = arrow_kind(m);
	int x1 = lane_x(from), x2 = lane_x(to), y = row_y(k), dir = x2 >= x1 ? 1 : -1;
	size_t span = (size_t)((x2 > x1 ? x2 - x1 : x1 - x2) / 7), mid = (size_t)(x1 + x2) / 2;
	const char *colour = arrow_colours[kind].colour;
	double ms = json_number_value(json_object_get(m, "ms"));

	buf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
		   "stroke-width=\"2\"%s marker-end=\"url(#%s-%s)\"/>", x1 + 6 * dir, y,
		   x2 - 7 * dir, y, colour, kind >= 2 ? " stroke-dasharray=\"7 4\"" : "", s->id,
		   arrow_colours[kind].key);
	buf_printf(b, "<text x=\"%zu\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\" "
		   "font-weight=\"600\" fill=\"%s\">", mid, y - 7, colour);
	xml_clip(b, str(m, "label"), span < 12 ? 12 : span);
	buf_printf(b, "</text><text x=\"%zu\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\" "
		   "fill=\"#64748b\">", mid, y + 15);
	xml_clip(b, str(m, "note"), span + span / 2);
	if (ms > 0)
		buf_printf(b, "%s%.1f ms", str(m, "note") && *str(m, "note") ? " · " : "", ms);
	buf_puts(b, "</text>");
	seq_hop_badge(b, m, x1, y);
}

void report_svg_sequence(struct buf *b, json_t *step)
{
	json_t *flow = json_object_get(step, "flow");
	struct seq s = { json_object_get(flow, "lifelines"), json_object_get(flow, "messages"), 0, 0,
			 "" };
	int width, height;

	s.nl = json_array_size(s.lifelines);
	s.nm = json_array_size(s.msgs);
	snprintf(s.id, sizeof s.id, "st%lld", (long long)json_integer_value(json_object_get(step, "n")));
	if (s.nl == 0)
		return;
	width = 2 * SEQ_MARGIN + SEQ_BOX_W + (int)(s.nl - 1) * SEQ_COL;
	height = SEQ_TOP + (int)s.nm * SEQ_ROW + 16 + SEQ_BOX_H + SEQ_MARGIN;
	buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"seq\" width=\"%d\" "
		   "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" " SEQ_FONT ">", width, height,
		   width, height);
	buf_puts(b, "<title>observed message flow</title>");
	seq_defs(b, &s);
	seq_lifelines(b, &s, height);
	seq_activations(b, &s);
	for (size_t k = 0; k < s.nm; k++)
		seq_message(b, &s, json_array_get(s.msgs, k), k);
	buf_puts(b, "</svg>");
}

/* ---- timing waterfall ------------------------------------------------- */

#define WF_LABEL 210
#define WF_BAR 560
#define WF_ROW 28
#define WF_TOP 26

static const struct {
	const char *key, *name, *colour;
} phases[] = {
	{ "dns", "DNS", "#a78bfa" },       { "connect", "connect", "#f59e0b" },
	{ "tls", "TLS", "#ec4899" },       { "first_byte", "waiting", "#3b82f6" },
	{ NULL, "transfer", "#10b981" },
};
#define NPHASES (sizeof phases / sizeof phases[0])

static double timing(json_t *hop, const char *key)
{
	double v = hop_ms(hop, key);

	return v > 0 ? v : 0;
}

/* Durations of the phases of one hop; the last is what total leaves. */
static void hop_phases(json_t *hop, double d[NPHASES])
{
	double sum = 0;

	for (size_t i = 0; i + 1 < NPHASES; i++)
		sum += d[i] = timing(hop, phases[i].key);
	d[NPHASES - 1] = timing(hop, "total") > sum ? timing(hop, "total") - sum : 0;
}

static void wf_axis(struct buf *b, double scale_ms, int height)
{
	for (int t = 0; t <= 4; t++) {
		int x = WF_LABEL + t * WF_BAR / 4;

		buf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#e2e8f0\"/>"
			   "<text x=\"%d\" y=\"16\" text-anchor=\"middle\" font-size=\"11\" "
			   "fill=\"#64748b\">%.1f ms</text>", x, WF_TOP - 4, x, height - 30, x,
			   scale_ms * t / 4);
	}
}

static void wf_legend(struct buf *b, int y)
{
	int x = WF_LABEL;

	for (size_t i = 0; i < NPHASES; i++) {
		buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" rx=\"2\" "
			   "fill=\"%s\"/><text x=\"%d\" y=\"%d\" font-size=\"12\" "
			   "fill=\"#334155\">%s</text>", x, y, phases[i].colour, x + 17, y + 10,
			   phases[i].name);
		x += 95;
	}
}

static void wf_row(struct buf *b, json_t *step, json_t *hop, int row, double start, double scale)
{
	int y = WF_TOP + row * WF_ROW;
	double d[NPHASES], x = WF_LABEL + start * scale;
	char label[300];

	hop_phases(hop, d);
	snprintf(label, sizeof label, "%lld · %s · %lld", (long long)json_integer_value(json_object_get(hop, "n")),
		 report_lifeline_label(step, str(hop, "node")),
		 (long long)json_integer_value(json_object_get(hop, "status")));
	buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#0f172a\">", 4, y + 14);
	xml_clip(b, label, 30);
	buf_puts(b, "</text>");
	for (size_t i = 0; i < NPHASES; i++) {
		double w = d[i] * scale;

		if (w <= 0)
			continue;
		buf_printf(b, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"18\" fill=\"%s\">"
			   "<title>%s %.2f ms</title></rect>", x, y, w < 1 ? 1 : w,
			   phases[i].colour, phases[i].name, d[i]);
		x += w;
	}
	buf_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" fill=\"#475569\">%.1f ms</text>",
		   x + 5, y + 13, timing(hop, "total"));
}

void report_svg_waterfall(struct buf *b, json_t *step)
{
	json_t *hops = json_object_get(json_object_get(step, "flow"), "hops"), *hop;
	double total = 0, start = 0, scale;
	size_t i, n = json_array_size(hops);
	int height = WF_TOP + (int)n * WF_ROW + 34;

	if (n == 0)
		return;
	json_array_foreach(hops, i, hop)
		total += timing(hop, "total");
	total = total > 0 ? total * 1.12 : 1; /* room for the last label */
	scale = WF_BAR / total;
	buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"wf\" width=\"%d\" "
		   "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" " SEQ_FONT ">",
		   WF_LABEL + WF_BAR + 60, height, WF_LABEL + WF_BAR + 60, height);
	buf_puts(b, "<title>timing of each hop</title>");
	wf_axis(b, total, height);
	json_array_foreach(hops, i, hop) {
		wf_row(b, step, hop, (int)i, start, scale);
		start += timing(hop, "total");
	}
	wf_legend(b, height - 20);
	buf_puts(b, "</svg>");
}
