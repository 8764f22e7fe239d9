/* log.h and accesslog.h: format, level filtering, no forged lines, JSON access lines */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/accesslog.h"
#include "common/log.h"
#include "common/redact.h"
#include "common/tap.h"

static char *slurp(FILE *f)
{
	static char text[8192];
	size_t n;

	fflush(f);
	rewind(f);
	n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	return text;
}

static void levels(void)
{
	FILE *f = tmpfile();
	int saved = dup(2);
	char *text;

	dup2(fileno(f), 2);
	log_init("cdni-test", LOG_INFO);
	log_debug("req=1", "hidden %d", 1);
	errno = 42;
	log_info("req=2 peer=127.0.0.1:9", "shown %s", "x");
	is_int(errno, 42, "errno preserved across a log call");
	log_warn(NULL, "evil\r\nforged line");
	log_warn("uri_signing", "%s: renewal failed",
		 "/v/a?URISigningPackage=eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ1In0.c2lnbmF0dXJl");
	dup2(saved, 2);
	close(saved);
	text = slurp(f);
	ok(strstr(text, "hidden") == NULL, "debug dropped at info level");
	ok(strstr(text, " cdni-test info [req=2 peer=127.0.0.1:9] shown x\n") != NULL,
	   "program, level, context and message on one line");
	ok(strstr(text, "cdni-test warn evil  forged line\n") != NULL, "CR/LF from input cannot forge a line");
	ok(strstr(text, "/v/a?URISigningPackage=eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ1In0.REDACTED: renewal") &&
		   !strstr(text, "c2lnbmF0dXJl"),
	   "a log line carries a token without its signature");
	is_int(log_level_parse("DEBUG"), LOG_DEBUG, "level names parse, any case");
	is_int(log_level_parse("loud"), -1, "unknown level refused");
	fclose(f);
}

static void access_lines(void)
{
	struct access_log al = { 0 };
	struct access_entry e = { .peer = "127.0.0.1:5", .method = "GET", .uri = "/a\"b",
				  .status = 302, .bytes = 0, .dur_us = 12, .location = "https://x/a",
				  .cache = NULL, .upstream = NULL, .host = "h", .tls = NULL,
				  .note = NULL };
	json_error_t je;
	json_t *o;
	char *text;

	al.f = tmpfile();
	access_log_write(&al, &e);
	text = slurp(al.f);
	o = json_loads(text, JSON_DISABLE_EOF_CHECK, &je);
	ok(o != NULL, "access line is JSON");
	is_str(json_string_value(json_object_get(o, "uri")), "/a\"b", "quotes survive");
	is_int(json_integer_value(json_object_get(o, "status")), 302, "status");
	ok(json_object_get(o, "cache") == NULL, "absent fields left out");
	ok(json_object_get(o, "uri_signing") == NULL, "no uri_signing field without URI signing");
	is_int(strchr(text, '\n') - text + 1, (long long)strlen(text), "exactly one line");
	json_decref(o);
	fclose(al.f);

	al.f = tmpfile();
	e.urisigning = "404";
	e.urisigning_reason = "expired: exp 1 <= now 2";
	access_log_write(&al, &e);
	text = slurp(al.f);
	o = json_loads(text, JSON_DISABLE_EOF_CHECK, &je);
	is_str(json_string_value(json_object_get(o, "uri_signing")), "404",
	       "RFC 9246 s-uri-signing as uri_signing");
	is_str(json_string_value(json_object_get(o, "uri_signing_reason")), "expired: exp 1 <= now 2",
	       "s-uri-signing-deny-reason as uri_signing_reason");
	json_decref(o);
	fclose(al.f);
}

static void hostile_lines(void)
{
	struct access_log al = { 0 };
	static char longuri[6000];
	struct access_entry e = { .peer = "p", .method = "GET", .status = 400, .bytes = -1, .dur_us = -1 };
	json_error_t je;
	json_t *o;
	char *text;

	al.f = tmpfile();
	e.uri = "/a\\x\n\x01\xff\xc3\xa9\xe2\x82";
	access_log_write(&al, &e);
	text = slurp(al.f);
	o = json_loads(text, JSON_DISABLE_EOF_CHECK, &je);
	ok(o != NULL, "controls and invalid UTF-8 still give a JSON line (%s)", o ? "" : je.text);
	/* invalid bytes are escaped as the code point of the byte (U+00FF, U+00E2, U+0082) */
	is_str(json_string_value(json_object_get(o, "uri")),
	       "/a\\x\n\x01\xc3\xbf\xc3\xa9\xc3\xa2\xc2\x82",
	       "valid UTF-8 kept, invalid bytes named, newline escaped");
	json_decref(o);
	fclose(al.f);

	al.f = tmpfile();
	memset(longuri, 'a', sizeof longuri - 1);
	e.uri = longuri;
	e.urisigning = "400";
	access_log_write(&al, &e);
	text = slurp(al.f);
	o = json_loads(text, JSON_DISABLE_EOF_CHECK, &je);
	ok(o && json_object_get(o, "uri") == NULL && json_integer_value(json_object_get(o, "status")) == 400,
	   "an over-long entry is cut to a valid line that still names the request");
	is_str(json_string_value(json_object_get(o, "uri_signing")), "400",
	       "and keeps its URI signing log code");
	json_decref(o);
	fclose(al.f);
}

/* A real ES256 token's parts, shortened: header, claims, signature. */
#define TH "eyJhbGciOiJFUzI1NiJ9"
#define TC "eyJpc3MiOiJ1Y2RuLnRlc3QifQ"
#define TS "0uPLY6jYAN3vhaClBX7ze2a6-_Z8F"

static void redact_case(const char *in, const char *want, int want_cut, const char *what)
{
	char out[512];
	int cut = -1;
	size_t n = redact_tokens(in, out, sizeof out, &cut);

	is_str(out, want, "%s", what);
	is_int((long long)n, (long long)strlen(want), "%s: length", what);
	is_int(cut, want_cut, "%s: %d signature(s) cut", what, want_cut);
}

static void redaction(void)
{
	struct access_log al = { 0 };
	struct access_entry e = { .peer = "p", .method = "GET", .status = 302, .bytes = -1,
				  .dur_us = -1 };
	char small[16];
	char *text;

	redact_case("/v/a.bin?x=1&URISigningPackage=" TH "." TC "." TS "&y=2",
		    "/v/a.bin?x=1&URISigningPackage=" TH "." TC ".REDACTED&y=2", 1, "query carriage");
	redact_case("/v/a.ts;URISigningPackage=" TH "." TC "." TS "?x=1",
		    "/v/a.ts;URISigningPackage=" TH "." TC ".REDACTED?x=1", 1, "path carriage");
	redact_case("https://edge.dcdn.test:9443/v/a?tok=" TH "." TC "." TS "#f",
		    "https://edge.dcdn.test:9443/v/a?tok=" TH "." TC ".REDACTED#f", 1,
		    "any attribute name, in a whole URL");
	redact_case("/a?t=" TH "." TC "." TS "&u=" TH "." TC "." TS,
		    "/a?t=" TH "." TC ".REDACTED&u=" TH "." TC ".REDACTED", 2, "two tokens");
	redact_case("/a?q=" TH, "/a?q=" TH, 0, "one part: not a JWS");
	redact_case("/a?q=" TH "." TC, "/a?q=" TH "." TC, 0, "two parts: not a JWS");
	redact_case("/a?q=" TH "." TC "." TS ".x.y", "/a?q=" TH "." TC "." TS ".x.y", 0,
		    "five parts (a JWE) left alone");
	redact_case("/a?q=" TH "." TC ".", "/a?q=" TH "." TC ".", 0, "no signature part");
	redact_case("/a?q=" TH "..x", "/a?q=" TH "..x", 0, "empty claims part");
	redact_case("/a?q=" TH "." TC ".a%2Fb", "/a?q=" TH "." TC ".REDACTED%2Fb", 1,
		    "a byte outside base64url ends the token");
	redact_case("/a?q=" TH "." TC "." TS ": renewal failed", "/a?q=" TH "." TC ".REDACTED: renewal failed",
		    1, "text after the token, in a log line");
	redact_case("/a?q=abc." TC "." TS, "/a?q=abc." TC "." TS, 0, "a header that is no JSON object");
	redact_case("/" TH "." TC "." TS, "/" TH "." TC "." TS, 0, "not a parameter value");
	redact_case("", "", 0, "empty");
	redact_case("/a?=" TH "." TC "." TS, "/a?=" TH "." TC "." TS, 0, "no parameter name");

	ok(redact_tokens("/a?t=" TH "." TC "." TS, small, sizeof small, NULL) ==
		   strlen("/a?t=" TH "." TC ".REDACTED") && strlen(small) == sizeof small - 1,
	   "a short buffer: truncated, terminated, the whole length returned");

	al.f = tmpfile();
	e.uri = "/v/a.bin?URISigningPackage=" TH "." TC "." TS;
	e.location = "https://e/v/a.bin?URISigningPackage=" TH "." TC "." TS;
	e.upstream = "http://o/v/a.bin;URISigningPackage=" TH "." TC "." TS;
	e.note = "delegated to https://e/v/a.bin?URISigningPackage=" TH "." TC "." TS;
	access_log_write(&al, &e);
	text = slurp(al.f);
	ok(strstr(text, TS) == NULL, "no signature reaches the log line");
	ok(strstr(text, "\"uri\":\"/v/a.bin?URISigningPackage=" TH "." TC ".REDACTED\"") &&
		   strstr(text, "\"location\":\"https://e/v/a.bin?URISigningPackage=" TH "." TC
				".REDACTED\"") &&
		   strstr(text, "\"upstream\":\"http://o/v/a.bin;URISigningPackage=" TH "." TC
				".REDACTED\"") &&
		   strstr(text, "\"note\":\"delegated to https://e/v/a.bin?URISigningPackage=" TH
				"." TC ".REDACTED\""),
	   "uri, location, upstream and note keep the header and claims");
	fclose(al.f);
}

int main(void)
{
	levels();
	access_lines();
	hostile_lines();
	redaction();
	return done_testing();
}
