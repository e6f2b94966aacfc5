/* virtio-blk's request parser on checked chains: each request type as
 * Linux lays it out and split differently (any layout), the answers the
 * parser gives itself (IOERR for a range off the disk or a write to a
 * read-only one, UNSUPP for unknown types and flags), and the chains that
 * are not requests at all and break the device. */
#include "test.h"

#include <errno.h>
#include <stdlib.h>

#include "virtio/virtio.h"
#include "virtio/virtio_blk_req.h"

static uint8_t mem[1 << 16];
static const struct vblk_disk disk = { .sectors = 100, .discard = true, .write_zeroes = true };
static const struct vblk_disk ro_disk = { .sectors = 100, .readonly = true };
static char why[200];

/* A chain of pieces: len > 0 readable, len < 0 writable, laid out in mem */
static struct virtq_chain *chain(const int *lens, unsigned n)
{
	struct virtq_chain *c = calloc(1, sizeof(*c) + n * sizeof(c->segs[0]));
	uint64_t at = 0;
	for (unsigned i = 0; i < n; i++) {
		uint32_t len = (uint32_t)abs(lens[i]);
		c->segs[i] = (struct virtio_seg){ .gpa = 0x100000 + at, .hva = mem + at, .len = len };
		if (lens[i] > 0) {
			c->nr_out++;
			c->out_len += len;
		} else {
			c->nr_in++;
			c->in_len += len;
		}
		at += len;
	}
	return c;
}

static void header(uint32_t type, uint64_t sector)
{
	memset(mem, 0, 16);
	memcpy(mem, &type, 4);
	memcpy(mem + 8, &sector, 8);
}

#define PARSE(d, c, r) vblk_parse(d, c, r, why, sizeof(why))
#define LENS(...) ((const int[]){ __VA_ARGS__ }), (sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int))

TEST(read_write_flush_id)
{
	struct vblk_req r;
	header(VIRTIO_BLK_T_IN, 7);
	struct virtq_chain *c = chain(LENS(16, -1024, -1));
	CHECK_EQ(PARSE(&disk, c, &r), 0);
	CHECK(r.io);
	CHECK_EQ(r.op, BLK_OP_READ);
	CHECK_EQ(r.offset, 7 * 512);
	CHECK_EQ(r.len, 1024);
	CHECK_EQ(r.data_off, 0);
	CHECK_EQ(r.status_off, 1024);
	CHECK_EQ(r.used_len, 1025);
	free(c);

	/* any layout: header in two pieces, data and status in one */
	header(VIRTIO_BLK_T_OUT, 99);
	c = chain(LENS(10, 6 + 512, -1));
	CHECK_EQ(PARSE(&disk, c, &r), 0);
	CHECK_EQ(r.op, BLK_OP_WRITE);
	CHECK_EQ(r.data_off, 16);
	CHECK_EQ(r.len, 512);
	CHECK_EQ(r.used_len, 1);
	free(c);
	header(VIRTIO_BLK_T_IN, 0);
	c = chain(LENS(16, -700, -325));
	CHECK_EQ(PARSE(&disk, c, &r), 0);
	CHECK_EQ(r.len, 1024);
	CHECK_EQ(r.status_off, 1024);
	free(c);

	header(VIRTIO_BLK_T_FLUSH, 0);
	c = chain(LENS(16, -1));
	CHECK_EQ(PARSE(&disk, c, &r), 0);
	CHECK(r.io && r.op == BLK_OP_FLUSH);
	free(c);
	/* flush on a read-only disk is fine */
	c = chain(LENS(16, -1));
	CHECK_EQ(PARSE(&ro_disk, c, &r), 0);
	CHECK(r.io);
	free(c);

	header(VIRTIO_BLK_T_GET_ID, 0);
	c = chain(LENS(16, -20, -1));
	CHECK_EQ(PARSE(&disk, c, &r), 0);
	CHECK(!r.io && r.status == VIRTIO_BLK_S_OK);
	CHECK_EQ(r.used_len, 21);
	free(c);
	c = chain(LENS(16, -5, -1));	/* a short buffer gets what fits */
	CHECK_EQ(PARSE(&disk, c, &r), 0);
	CHECK_EQ(r.used_len, 6);
	free(c);
	/* a read of nothing */
	header(VIRTIO_BLK_T_IN, 100);
	c = chain(LENS(16, -1));
	CHECK_EQ(PARSE(&disk, c, &r), 0);
	CHECK(!r.io && r.status == VIRTIO_BLK_S_OK);
	free(c);
}

TEST(answers_without_io)
{
	struct vblk_req r;
	struct virtq_chain *c;
	/* off the end, straddling it, sector numbers that would overflow */
	static const uint64_t sectors[] = { 100, 99, ~0ull, ~0ull / 512 };
	for (unsigned i = 0; i < 4; i++) {
		header(VIRTIO_BLK_T_IN, sectors[i]);
		c = chain(LENS(16, -1024, -1));
		CHECK_EQ(PARSE(&disk, c, &r), 0);
		CHECK(!r.io && r.status == VIRTIO_BLK_S_IOERR);
		free(c);
	}
	/* not whole sectors */
	header(VIRTIO_BLK_T_OUT, 0);
	c = chain(LENS(16, 100, -1));
	CHECK_EQ(PARSE(&disk, c, &r), 0);
	CHECK(!r.io && r.status == VIRTIO_BLK_S_IOERR);
	free(c);
	/* a write to a read-only disk */
	c = chain(LENS(16, 512, -1));
	CHECK_EQ(PARSE(&ro_disk, c, &r), 0);
	CHECK(!r.io && r.status == VIRTIO_BLK_S_IOERR);
	free(c);
	/* unknown types */
	static const uint32_t types[] = { 2, 10, 14, 24, 0xffffffff };
	for (unsigned i = 0; i < 5; i++) {
		header(types[i], 0);
		c = chain(LENS(16, 8, -64, -1));
		CHECK_EQ(PARSE(&disk, c, &r), 0);
		CHECK(!r.io && r.status == VIRTIO_BLK_S_UNSUPP);
		CHECK_EQ(r.status_off, 64);
		free(c);
	}
}

static int dwz(const struct vblk_disk *d, uint32_t type, uint64_t sector, uint32_t n,
	       uint32_t flags, struct vblk_req *r)
{
	header(type, 0);
	memcpy(mem + 16, &sector, 8);
	memcpy(mem + 24, &n, 4);
	memcpy(mem + 28, &flags, 4);
	struct virtq_chain *c = chain(LENS(16, 16, -1));
	int ret = PARSE(d, c, r);
	free(c);
	return ret;
}

TEST(discard_and_write_zeroes)
{
	struct vblk_req r;
	CHECK_EQ(dwz(&disk, VIRTIO_BLK_T_DISCARD, 10, 8, 0, &r), 0);
	CHECK(r.io && r.op == BLK_OP_DISCARD && r.offset == 5120 && r.len == 4096 && !r.flags);
	CHECK_EQ(dwz(&disk, VIRTIO_BLK_T_WRITE_ZEROES, 0, 100, 1, &r), 0);
	CHECK(r.io && r.op == BLK_OP_WRITE_ZEROES && r.flags == BLK_REQ_UNMAP);
	/* unmap is for write-zeroes only; unknown flags */
	CHECK_EQ(dwz(&disk, VIRTIO_BLK_T_DISCARD, 0, 1, 1, &r), 0);
	CHECK(!r.io && r.status == VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(dwz(&disk, VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 2, &r), 0);
	CHECK(!r.io && r.status == VIRTIO_BLK_S_UNSUPP);
	/* past the end, too large */
	CHECK_EQ(dwz(&disk, VIRTIO_BLK_T_WRITE_ZEROES, 99, 2, 0, &r), 0);
	CHECK(!r.io && r.status == VIRTIO_BLK_S_IOERR);
	CHECK_EQ(dwz(&disk, VIRTIO_BLK_T_DISCARD, ~0ull, 1, 0, &r), 0);
	CHECK(!r.io && r.status == VIRTIO_BLK_S_IOERR);
	/* not negotiated, or read only */
	CHECK_EQ(dwz(&ro_disk, VIRTIO_BLK_T_DISCARD, 0, 1, 0, &r), 0);
	CHECK(!r.io && r.status == VIRTIO_BLK_S_UNSUPP);
	struct vblk_disk ro_wz = ro_disk;
	ro_wz.write_zeroes = true;
	CHECK_EQ(dwz(&ro_wz, VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 0, &r), 0);
	CHECK(!r.io && r.status == VIRTIO_BLK_S_IOERR);
	/* two ranges: more than the device takes */
	header(VIRTIO_BLK_T_DISCARD, 0);
	memset(mem + 16, 0, 32);
	struct virtq_chain *c = chain(LENS(16, 32, -1));
	CHECK_EQ(PARSE(&disk, c, &r), 0);
	CHECK(!r.io && r.status == VIRTIO_BLK_S_IOERR);
	free(c);
}

/* Not requests: the device fails */
TEST(malformed)
{
	struct vblk_req r;
	struct virtq_chain *c;
	header(VIRTIO_BLK_T_IN, 0);
#define BAD(...)                                              \
	do {                                                  \
		c = chain(LENS(__VA_ARGS__));                 \
		CHECK_EQ(PARSE(&disk, c, &r), -EIO);          \
		CHECK(why[0] != 0);                           \
		why[0] = 0;                                   \
		free(c);                                      \
	} while (0)
	BAD(15, -1);		/* a short header */
	BAD(-16, -1);		/* no readable header at all */
	BAD(16);		/* no status byte */
	BAD(16, 512, -1);	/* a read with device-readable data */
	header(VIRTIO_BLK_T_OUT, 0);
	BAD(16, 512, -512, -1);	/* a write with device-writable data */
	header(VIRTIO_BLK_T_FLUSH, 0);
	BAD(16, 8, -1);
	BAD(16, -8, -1);
	header(VIRTIO_BLK_T_GET_ID, 0);
	BAD(16, 4, -20, -1);
	header(VIRTIO_BLK_T_DISCARD, 0);
	BAD(16, -1);		/* no range */
	BAD(16, 24, -1);	/* a range and a half */
	BAD(16, 16, -2);	/* writable data */
	header(VIRTIO_BLK_T_WRITE_ZEROES, 0);
	BAD(16, 8, -1);
}

RUN_TESTS(T(read_write_flush_id), T(answers_without_io), T(discard_and_write_zeroes), T(malformed))
