/* wire.h: bounds checks and the sticky error */
#include "common/tap.h"
#include "common/wire.h"

static void reads(void)
{
	const uint8_t in[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09 };
	struct wire r = wire_reader(in, sizeof in);
	uint8_t two[2];

	is_int(wire_u8(&r), 1, "u8");
	is_int(wire_u16(&r), 0x0203, "u16 is big-endian");
	is_int(wire_u32(&r), 0x04050607, "u32 is big-endian");
	is_int(wire_left(&r), 2, "two bytes left");
	wire_read(&r, two, 2);
	ok(two[0] == 8 && two[1] == 9, "read copies bytes");
	is_int(r.err, 0, "no error when exactly consumed");
	is_int(wire_u8(&r), 0, "read past the end gives zero");
	is_int(r.err, CDNI_ETRUNC, "read past the end sets ETRUNC");
	is_int(wire_u32(&r), 0, "reads after failure give zero");
	is_int(wire_left(&r), 0, "nothing left after failure");
}

static void partial_read_does_not_advance(void)
{
	const uint8_t in[] = { 0xff, 0xee, 0xdd };
	struct wire r = wire_reader(in, sizeof in);
	uint8_t out[4] = { 1, 1, 1, 1 };

	is_int(wire_u32(&r), 0, "u32 from 3 bytes gives zero");
	is_int(r.err, CDNI_ETRUNC, "and the error");
	r = wire_reader(in, sizeof in);
	wire_read(&r, out, 4);
	ok(out[0] == 0 && out[3] == 0, "failed copy zeroes the destination");
}

static void subreader(void)
{
	const uint8_t in[] = { 0x00, 0x02, 0xaa, 0xbb, 0xcc };
	struct wire r = wire_reader(in, sizeof in), s;

	s = wire_sub(&r, wire_u16(&r));
	is_int(wire_left(&s), 2, "sub-reader has the item length");
	is_int(wire_u16(&s), 0xaabb, "sub-reader reads the item");
	is_int(wire_u8(&r), 0xcc, "outer reader continues after the item");
	r = wire_reader(in, sizeof in);
	wire_skip(&r, 1);
	s = wire_sub(&r, 200);
	is_int(s.err, CDNI_ETRUNC, "overrunning item length poisons the sub-reader");
	is_int(r.err, CDNI_ETRUNC, "and the outer reader");
}

static void writes(void)
{
	uint8_t out[8];
	struct wire w = wire_writer(out, sizeof out);
	const uint8_t want[] = { 0xab, 0x01, 0x02, 0, 0, 0, 0x2a, 0xff };

	wire_put_u8(&w, 0xab);
	wire_put_u16(&w, 0);
	wire_put_u32(&w, 42);
	wire_put_u8(&w, 0xff);
	wire_patch_u16(&w, 1, 0x0102);
	is_int(w.err, 0, "writes fit");
	is_mem(out, wire_offset(&w), want, sizeof want, "bytes and back-patch as expected");
	wire_put_u8(&w, 1);
	is_int(w.err, CDNI_EOVERFLOW, "write past the end sets EOVERFLOW");
	wire_put_u64(&w, 1);
	is_int(wire_offset(&w), 8, "nothing written after failure");
	w = wire_reader(out, sizeof out);
	wire_put_u8(&w, 1);
	is_int(w.err, CDNI_EINVAL, "writing through a reader is refused");
}

int main(void)
{
	reads();
	partial_read_does_not_advance();
	subreader();
	writes();
	return done_testing();
}
