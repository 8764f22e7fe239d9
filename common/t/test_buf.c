/* buf.h: growth, limits, sticky errors */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/tap.h"

int main(void)
{
	struct buf b;
	char *s;
	size_t len;

	buf_init(&b, 0);
	buf_puts(&b, "hello");
	buf_putc(&b, ' ');
	buf_printf(&b, "%s %d", "world", 42);
	is_str(b.data, "hello world 42", "append, putc and printf");
	for (int i = 0; i < 10000; i++)
		buf_putc(&b, 'x');
	is_int(b.len, 14 + 10000, "grows past its first allocation");
	is_int(b.err, 0, "no error");
	s = buf_steal(&b, &len);
	is_int(len, 10014, "steal gives the length");
	ok(s && b.data == NULL && b.len == 0, "steal empties the buffer");
	free(s);

	buf_init(&b, 8);
	buf_puts(&b, "12345678");
	is_int(b.err, 0, "exactly at the limit is fine");
	buf_puts(&b, "9");
	is_int(b.err, CDNI_EOVERFLOW, "past the limit sets EOVERFLOW");
	buf_puts(&b, "more");
	is_str(b.data, "12345678", "nothing appended after the error");
	buf_reset(&b);
	is_int(b.err | (int)b.len, 0, "reset clears data and error");
	buf_free_secure(&b);
	ok(b.data == NULL, "secure free releases the data");
	return done_testing();
}
