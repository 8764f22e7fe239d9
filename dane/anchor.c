/* cdni — trust anchors: DS or DNSKEY records in zone-file syntax (the .ds
 * file cdni-dns writes, or ldns-keygen's). */
#include "dane/dane.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

static bool blank_or_comment(const char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	return *line == '\0' || *line == ';' || *line == '#' || *line == '$';
}

/* One line: an anchor pushed on list, a skipped line, or a parse error. */
static int anchor_line(const char *line, ldns_rr_list *list, char *why, size_t whylen)
{
	ldns_rr *rr = NULL;
	ldns_status st;

	if (blank_or_comment(line))
		return 0;
	st = ldns_rr_new_frm_str(&rr, line, 3600, NULL, NULL);
	if (st != LDNS_STATUS_OK) {
		snprintf(why, whylen, "%s", ldns_get_errorstr_by_id(st));
		return CDNI_EPARSE;
	}
	if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DS && ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNSKEY) {
		ldns_rr_free(rr);
		return 0;
	}
	ldns_dname2canonical(ldns_rr_owner(rr));
	if (!ldns_rr_list_push_rr(list, rr)) {
		ldns_rr_free(rr);
		return CDNI_ENOMEM;
	}
	return 0;
}

int dane_anchors_load(const char *file, ldns_rr_list **out, char *err, size_t errlen)
{
	ldns_rr_list *list = ldns_rr_list_new();
	char line[8192], why[200] = "";
	int rc = CDNI_ENOMEM, n = 0;
	FILE *f = NULL;

	if (!list)
		goto fail;
	f = fopen(file, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		rc = CDNI_EIO;
		goto fail;
	}
	while (fgets(line, sizeof line, f)) {
		n++;
		line[strcspn(line, "\r\n")] = '\0';
		rc = anchor_line(line, list, why, sizeof why);
		if (rc) {
			snprintf(err, errlen, "%s:%d: %s", file, n, why[0] ? why : cdni_strerror(rc));
			goto fail;
		}
	}
	rc = CDNI_EINVAL;
	if (ldns_rr_list_rr_count(list) == 0) {
		snprintf(err, errlen, "%s: no DS or DNSKEY record", file);
		goto fail;
	}
	fclose(f);
	*out = list;
	return 0;
fail:
	if (f)
		fclose(f);
	ldns_rr_list_deep_free(list);
	return rc;
}
