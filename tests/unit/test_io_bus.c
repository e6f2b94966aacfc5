/* The I/O bus: registration and overlap rules, dispatch of every access
 * size, unassigned accesses, accesses across device boundaries, the lock,
 * and lookup among many ranges checked against a linear search. */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "mem/io_bus.h"
#include "test.h"

/* A device that records its last access and serves bytes from regs[],
 * little endian, with junk above the access size that the bus must mask. */
struct rec_dev {
	uint8_t regs[64];
	uint64_t offset;
	unsigned size;
	uint64_t value;
	int reads, writes;
	pthread_mutex_t *lock;	/* expected to be held in the handler */
	int unlocked_calls;	/* handler calls that found it free */
};

static void rec_check_lock(struct rec_dev *d)
{
	if (!d->lock)
		return;
	if (pthread_mutex_trylock(d->lock) == 0) {
		d->unlocked_calls++;
		pthread_mutex_unlock(d->lock);
	}
}

static uint64_t rec_read(void *opaque, uint64_t offset, unsigned size)
{
	struct rec_dev *d = opaque;
	uint64_t v = 0;
	rec_check_lock(d);
	d->reads++;
	d->offset = offset;
	d->size = size;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)d->regs[(offset + i) % sizeof(d->regs)] << (8 * i);
	if (size < 8)
		v |= 0xa5a5a5a5a5a5a5a5ull << (8 * size);	/* junk */
	return v;
}

static void rec_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct rec_dev *d = opaque;
	rec_check_lock(d);
	d->writes++;
	d->offset = offset;
	d->size = size;
	d->value = value;
	for (unsigned i = 0; i < size; i++)
		d->regs[(offset + i) % sizeof(d->regs)] = (uint8_t)(value >> (8 * i));
}

static const struct io_ops rec_ops = { .read = rec_read, .write = rec_write };

static void rec_init(struct rec_dev *d, uint8_t seed)
{
	memset(d, 0, sizeof(*d));
	for (unsigned i = 0; i < sizeof(d->regs); i++)
		d->regs[i] = (uint8_t)(seed + i);
}

static uint64_t mask_of(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

TEST(register_and_find)
{
	struct io_bus bus;
	struct rec_dev a, b;
	io_bus_init(&bus, "pio", NULL);
	CHECK_EQ(io_bus_register(&bus, 0x3f8, 8, &rec_ops, &a, "com1"), 0);
	CHECK_EQ(io_bus_register(&bus, 0x60, 1, &rec_ops, &b, "kbd"), 0);
	CHECK_EQ(bus.nr_ranges, 2);
	/* kept sorted whatever the order of registration */
	CHECK_EQ(bus.ranges[0].base, 0x60);
	CHECK_EQ(bus.ranges[1].base, 0x3f8);

	const struct io_range *r = io_bus_find(&bus, 0x3f8);
	CHECK(r && r->opaque == &a && r->len == 8 && r->ops == &rec_ops);
	CHECK(r && !strcmp(r->name, "com1"));
	CHECK(io_bus_find(&bus, 0x3ff) == r);
	CHECK(io_bus_find(&bus, 0x3f7) == NULL);
	CHECK(io_bus_find(&bus, 0x400) == NULL);
	r = io_bus_find(&bus, 0x60);
	CHECK(r && r->opaque == &b);
	CHECK(io_bus_find(&bus, 0x5f) == NULL);
	CHECK(io_bus_find(&bus, 0x61) == NULL);
	CHECK(io_bus_find(&bus, 0) == NULL);
	CHECK(io_bus_find(&bus, UINT64_MAX) == NULL);
	io_bus_destroy(&bus);
	CHECK_EQ(bus.nr_ranges, 0);
	CHECK(io_bus_find(&bus, 0x60) == NULL);
}

TEST(overlap_refused)
{
	struct io_bus bus;
	struct rec_dev d;
	io_bus_init(&bus, "mmio", NULL);
	CHECK_EQ(io_bus_register(&bus, 0x100, 0x10, &rec_ops, &d, "dev"), 0);
	static const struct {
		uint64_t base, len;
	} overlaps[] = {
		{ 0x100, 0x10 },	/* the same */
		{ 0x104, 0x4 },		/* inside */
		{ 0x100, 1 },		/* first byte */
		{ 0x10f, 1 },		/* last byte */
		{ 0xf8, 0x10 },		/* across the start */
		{ 0xff, 2 },		/* across the start by one byte */
		{ 0x10c, 0x10 },	/* across the end */
		{ 0x10f, 2 },		/* across the end by one byte */
		{ 0xf0, 0x40 },		/* containing */
		{ 0, UINT64_MAX },	/* containing everything */
	};
	for (size_t i = 0; i < sizeof(overlaps) / sizeof(overlaps[0]); i++) {
		uint64_t base = overlaps[i].base, len = overlaps[i].len;
		int ret = io_bus_register(&bus, base, len, &rec_ops, &d, "x");
		if (ret != -EEXIST)
			printf("  [0x%llx, +0x%llx) gave %d\n", (unsigned long long)base,
			       (unsigned long long)len, ret);
		CHECK_EQ(ret, -EEXIST);
		CHECK_EQ(bus.nr_ranges, 1);
	}
	/* touching is not overlapping */
	CHECK_EQ(io_bus_register(&bus, 0xf0, 0x10, &rec_ops, &d, "below"), 0);
	CHECK_EQ(io_bus_register(&bus, 0x110, 0x10, &rec_ops, &d, "above"), 0);
	CHECK_EQ(bus.nr_ranges, 3);
	/* a gap exactly filled, then overlaps with the neighbours */
	CHECK_EQ(io_bus_register(&bus, 0x200, 0x10, &rec_ops, &d, "far"), 0);
	CHECK_EQ(io_bus_register(&bus, 0x11f, 0xe2, &rec_ops, &d, "x"), -EEXIST);
	CHECK_EQ(io_bus_register(&bus, 0x120, 0xe1, &rec_ops, &d, "x"), -EEXIST);
	CHECK_EQ(io_bus_register(&bus, 0x120, 0xe0, &rec_ops, &d, "gap"), 0);
	CHECK_EQ(bus.nr_ranges, 5);
	for (int i = 1; i < bus.nr_ranges; i++)
		CHECK(bus.ranges[i - 1].base + bus.ranges[i - 1].len <= bus.ranges[i].base);
	io_bus_destroy(&bus);
}

TEST(empty_and_wrapping_ranges)
{
	struct io_bus bus;
	struct rec_dev d;
	io_bus_init(&bus, "mmio", NULL);
	CHECK_EQ(io_bus_register(&bus, 0x100, 0, &rec_ops, &d, "empty"), -EINVAL);
	CHECK_EQ(io_bus_register(&bus, UINT64_MAX, 2, &rec_ops, &d, "wrap"), -EINVAL);
	CHECK_EQ(io_bus_register(&bus, 2, UINT64_MAX, &rec_ops, &d, "wrap"), -EINVAL);
	CHECK_EQ(io_bus_register(&bus, UINT64_MAX - 0xf, 0x20, &rec_ops, &d, "wrap"), -EINVAL);
	CHECK_EQ(io_bus_register(&bus, 0x100, 1, NULL, &d, "no ops"), -EINVAL);
	CHECK_EQ(bus.nr_ranges, 0);
	/* ending exactly at the top of the address space is fine */
	CHECK_EQ(io_bus_register(&bus, UINT64_MAX - 0xf, 0x10, &rec_ops, &d, "top"), 0);
	CHECK(io_bus_find(&bus, UINT64_MAX) != NULL);
	CHECK_EQ(io_bus_register(&bus, UINT64_MAX, 1, &rec_ops, &d, "x"), -EEXIST);
	/* and so is starting at 0 */
	CHECK_EQ(io_bus_register(&bus, 0, 1, &rec_ops, &d, "zero"), 0);
	CHECK(io_bus_find(&bus, 0) != NULL);
	CHECK(io_bus_find(&bus, 1) == NULL);
	io_bus_destroy(&bus);

	io_bus_init(&bus, "mmio", NULL);
	CHECK_EQ(io_bus_register(&bus, 0, UINT64_MAX, &rec_ops, &d, "almost all"), 0);
	CHECK(io_bus_find(&bus, UINT64_MAX - 1) != NULL);
	CHECK(io_bus_find(&bus, UINT64_MAX) == NULL);
	io_bus_destroy(&bus);

	/* [1, 2^64): the largest range that does not wrap */
	io_bus_init(&bus, "mmio", NULL);
	CHECK_EQ(io_bus_register(&bus, 1, UINT64_MAX, &rec_ops, &d, "all but 0"), 0);
	CHECK(io_bus_find(&bus, UINT64_MAX) != NULL);
	CHECK(io_bus_find(&bus, 0) == NULL);
	CHECK_EQ(io_bus_register(&bus, 0, 1, &rec_ops, &d, "zero"), 0);
	CHECK_EQ(io_bus_register(&bus, 0, 2, &rec_ops, &d, "x"), -EEXIST);
	io_bus_destroy(&bus);
}

TEST(dispatch_every_size)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	struct io_bus bus;
	struct rec_dev d;
	rec_init(&d, 0x10);
	io_bus_init(&bus, "mmio", NULL);
	CHECK_EQ(io_bus_register(&bus, 0xfee00000, 0x40, &rec_ops, &d, "dev"), 0);
	for (size_t i = 0; i < 4; i++) {
		unsigned size = sizes[i];
		uint64_t off = 0x10 + 8 * i;
		uint64_t expect = 0;
		for (unsigned b = 0; b < size; b++)
			expect |= (uint64_t)d.regs[off + b] << (8 * b);

		uint64_t v = 0;
		int reads = d.reads;
		CHECK(io_bus_read(&bus, 0xfee00000 + off, size, &v));
		CHECK_EQ(d.reads, reads + 1);
		CHECK_EQ(d.offset, off);
		CHECK_EQ(d.size, size);
		CHECK_EQ(v, expect);	/* junk above size masked off */

		int writes = d.writes;
		CHECK(io_bus_write(&bus, 0xfee00000 + off, size, 0x8877665544332211ull));
		CHECK_EQ(d.writes, writes + 1);
		CHECK_EQ(d.offset, off);
		CHECK_EQ(d.size, size);
		CHECK_EQ(d.value, 0x8877665544332211ull & mask_of(size));
		CHECK(io_bus_read(&bus, 0xfee00000 + off, size, &v));
		CHECK_EQ(v, 0x8877665544332211ull & mask_of(size));
	}
	/* first and last bytes of the range */
	uint64_t v;
	CHECK(io_bus_read(&bus, 0xfee00000, 1, &v));
	CHECK_EQ(d.offset, 0);
	CHECK(io_bus_read(&bus, 0xfee0003f, 1, &v));
	CHECK_EQ(d.offset, 0x3f);
	CHECK(io_bus_read(&bus, 0xfee00038, 8, &v));
	CHECK_EQ(d.offset, 0x38);
	CHECK_EQ(d.size, 8);
	io_bus_destroy(&bus);
}

TEST(missing_handlers)
{
	static const struct io_ops write_only = { .write = rec_write };
	static const struct io_ops read_only = { .read = rec_read };
	struct io_bus bus;
	struct rec_dev d;
	rec_init(&d, 0);
	io_bus_init(&bus, "pio", NULL);
	CHECK_EQ(io_bus_register(&bus, 0x80, 1, &write_only, &d, "post"), 0);
	CHECK_EQ(io_bus_register(&bus, 0x90, 4, &read_only, &d, "ro"), 0);
	uint64_t v = 0;
	CHECK(io_bus_read(&bus, 0x80, 1, &v));
	CHECK_EQ(v, 0xff);
	CHECK(io_bus_write(&bus, 0x90, 4, 0x12345678));
	CHECK_EQ(d.writes, 0);
	CHECK(io_bus_read(&bus, 0x90, 2, &v));
	CHECK_EQ(d.reads, 1);
	io_bus_destroy(&bus);
}

TEST(unassigned_accesses)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	struct io_bus bus;
	struct rec_dev d;
	rec_init(&d, 0);
	io_bus_init(&bus, "pio", NULL);
	CHECK_EQ(io_bus_register(&bus, 0x100, 0x10, &rec_ops, &d, "dev"), 0);
	for (size_t i = 0; i < 4; i++) {
		uint64_t v = 0;
		CHECK(!io_bus_read(&bus, 0x200, sizes[i], &v));
		CHECK_EQ(v, mask_of(sizes[i]));
		/* ends just below the device */
		CHECK(!io_bus_read(&bus, 0xf0, sizes[i], &v));
		CHECK_EQ(v, mask_of(sizes[i]));
		CHECK(!io_bus_write(&bus, 0x200, sizes[i], 0));
		CHECK(!io_bus_write(&bus, 0x110, sizes[i], 0x1234));
	}
	CHECK_EQ(d.reads, 0);
	CHECK_EQ(d.writes, 0);
	CHECK_EQ(bus.unassigned_count, 16);
	/* an empty bus */
	io_bus_destroy(&bus);
	uint64_t v = 0;
	CHECK(!io_bus_read(&bus, 0, 4, &v));
	CHECK_EQ(v, 0xffffffff);
	CHECK(!io_bus_write(&bus, UINT64_MAX, 8, 1));
}

TEST(straddling_accesses)
{
	struct io_bus bus;
	struct rec_dev a, b;
	rec_init(&a, 0x10);
	rec_init(&b, 0x80);
	io_bus_init(&bus, "pio", NULL);
	CHECK_EQ(io_bus_register(&bus, 0x10, 2, &rec_ops, &a, "a"), 0);
	CHECK_EQ(io_bus_register(&bus, 0x12, 2, &rec_ops, &b, "b"), 0);

	/* across two devices: two bytes from each, one access per byte */
	uint64_t v = 0;
	CHECK(io_bus_read(&bus, 0x10, 4, &v));
	CHECK_EQ(v, 0x81801110);
	CHECK_EQ(a.reads, 2);
	CHECK_EQ(b.reads, 2);
	CHECK_EQ(b.size, 1);
	CHECK_EQ(b.offset, 1);

	/* from a device into nothing: the missing bytes read as ones */
	CHECK(io_bus_read(&bus, 0x13, 4, &v));
	CHECK_EQ(v, 0xffffff81);
	/* from nothing into a device */
	CHECK(io_bus_read(&bus, 0x0e, 4, &v));
	CHECK_EQ(v, 0x1110ffff);
	CHECK(io_bus_read(&bus, 0x0c, 8, &v));
	CHECK_EQ(v, 0x81801110ffffffffull);

	/* a write is split the same way, little endian */
	CHECK(io_bus_write(&bus, 0x11, 2, 0xbbaa));
	CHECK_EQ(a.regs[1], 0xaa);
	CHECK_EQ(b.regs[0], 0xbb);
	CHECK_EQ(a.value, 0xaa);
	CHECK_EQ(b.value, 0xbb);
	CHECK_EQ(a.size, 1);
	CHECK_EQ(b.size, 1);
	CHECK(io_bus_write(&bus, 0x0f, 8, 0x0807060504030201ull));
	CHECK_EQ(a.regs[0], 0x02);
	CHECK_EQ(a.regs[1], 0x03);
	CHECK_EQ(b.regs[0], 0x04);
	CHECK_EQ(b.regs[1], 0x05);

	/* an access larger than the device it starts in */
	CHECK_EQ(io_bus_register(&bus, 0x20, 1, &rec_ops, &a, "one byte"), 0);
	CHECK(io_bus_read(&bus, 0x20, 2, &v));
	CHECK_EQ(v & 0xff00, 0xff00);

	/* the very top of the address space: no crash, bytes past the top wrap */
	CHECK_EQ(io_bus_register(&bus, UINT64_MAX - 1, 2, &rec_ops, &b, "top"), 0);
	CHECK(io_bus_read(&bus, UINT64_MAX - 1, 4, &v));
	CHECK(io_bus_write(&bus, UINT64_MAX, 8, 0));
	io_bus_destroy(&bus);
}

TEST(unregister)
{
	struct io_bus bus;
	struct rec_dev d;
	rec_init(&d, 0);
	io_bus_init(&bus, "pio", NULL);
	CHECK_EQ(io_bus_register(&bus, 0x100, 8, &rec_ops, &d, "a"), 0);
	CHECK_EQ(io_bus_register(&bus, 0x200, 8, &rec_ops, &d, "b"), 0);
	CHECK_EQ(io_bus_unregister(&bus, 0x101), -ENOENT);	/* inside, not at base */
	CHECK_EQ(io_bus_unregister(&bus, 0x300), -ENOENT);
	CHECK_EQ(io_bus_unregister(&bus, 0), -ENOENT);
	CHECK_EQ(bus.nr_ranges, 2);
	CHECK_EQ(io_bus_unregister(&bus, 0x100), 0);
	CHECK_EQ(io_bus_unregister(&bus, 0x100), -ENOENT);
	CHECK_EQ(bus.nr_ranges, 1);
	uint64_t v;
	CHECK(!io_bus_read(&bus, 0x100, 1, &v));
	CHECK(io_bus_read(&bus, 0x200, 1, &v));
	/* the space is free again, with a different shape */
	CHECK_EQ(io_bus_register(&bus, 0xfc, 8, &rec_ops, &d, "moved"), 0);
	CHECK(io_bus_read(&bus, 0x103, 1, &v));
	CHECK_EQ(d.offset, 7);
	io_bus_destroy(&bus);
}

/* xorshift: the same sequence on every run */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

#define MANY 1000

struct ref_range {
	uint64_t base, len;
	bool live;
};

static int ref_find(const struct ref_range *ref, int n, uint64_t addr)
{
	for (int i = 0; i < n; i++)
		if (ref[i].live && addr - ref[i].base < ref[i].len)
			return i;
	return -1;
}

static bool ref_overlaps(const struct ref_range *ref, int n, uint64_t base, uint64_t len)
{
	for (int i = 0; i < n; i++)
		if (ref[i].live && base < ref[i].base + ref[i].len && ref[i].base < base + len)
			return true;
	return false;
}

static int check_against_reference(struct io_bus *bus, const struct ref_range *ref, int n,
				   uint64_t *rng, int probes)
{
	int mismatches = 0;
	for (int p = 0; p < probes; p++) {
		/* near a boundary most of the time, anywhere otherwise */
		uint64_t addr;
		const struct ref_range *r = &ref[rng_next(rng) % (uint64_t)n];
		switch (rng_next(rng) % 5) {
		case 0: addr = r->base - 1; break;
		case 1: addr = r->base; break;
		case 2: addr = r->base + r->len - 1; break;
		case 3: addr = r->base + r->len; break;
		default: addr = rng_next(rng) % 0x1000000; break;
		}
		int i = ref_find(ref, n, addr);
		const struct io_range *found = io_bus_find(bus, addr);
		bool same;
		if (i < 0)
			same = found == NULL;
		else
			same = found && found->base == ref[i].base && found->len == ref[i].len &&
			       found->opaque == &ref[i];
		uint64_t v;
		bool hit = io_bus_read(bus, addr, 1, &v);
		if (!same || hit != (i >= 0))
			mismatches++;
	}
	return mismatches;
}

TEST(many_ranges_against_linear_search)
{
	static struct ref_range ref[MANY];
	struct io_bus bus;
	static const struct io_ops nop_ops = { 0 };
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	io_bus_init(&bus, "mmio", NULL);

	/* non-overlapping ranges with gaps, registered in shuffled order */
	uint64_t at = 0x1000;
	for (int i = 0; i < MANY; i++) {
		at += rng_next(&rng) % 0x100;	/* gap, sometimes 0 */
		ref[i].base = at;
		ref[i].len = 1 + rng_next(&rng) % 0x800;
		at += ref[i].len;
	}
	int order[MANY];
	for (int i = 0; i < MANY; i++)
		order[i] = i;
	for (int i = MANY - 1; i > 0; i--) {
		int j = (int)(rng_next(&rng) % (uint64_t)(i + 1));
		int t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	int failures = 0;
	for (int k = 0; k < MANY; k++) {
		struct ref_range *r = &ref[order[k]];
		if (io_bus_register(&bus, r->base, r->len, &nop_ops, r, "r") != 0)
			failures++;
		r->live = true;
	}
	CHECK_EQ(failures, 0);
	CHECK_EQ(bus.nr_ranges, MANY);
	for (int i = 1; i < bus.nr_ranges; i++)
		CHECK(bus.ranges[i - 1].base + bus.ranges[i - 1].len <= bus.ranges[i].base);
	CHECK_EQ(check_against_reference(&bus, ref, MANY, &rng, 20000), 0);

	/* random overlap attempts agree with the reference */
	int wrong = 0;
	for (int k = 0; k < 5000; k++) {
		uint64_t base = 0x1000 + rng_next(&rng) % (at - 0x1000);
		uint64_t len = 1 + rng_next(&rng) % 0x200;
		bool overlaps = ref_overlaps(ref, MANY, base, len);
		int ret = io_bus_register(&bus, base, len, &nop_ops, NULL, "probe");
		if (ret == 0)
			CHECK_EQ(io_bus_unregister(&bus, base), 0);
		if ((ret == -EEXIST) != overlaps || (ret != 0 && ret != -EEXIST))
			wrong++;
	}
	CHECK_EQ(wrong, 0);
	CHECK_EQ(bus.nr_ranges, MANY);

	/* unregister half of them, then look again */
	int removed = 0;
	for (int i = 0; i < MANY; i++) {
		if (rng_next(&rng) & 1) {
			if (io_bus_unregister(&bus, ref[i].base) != 0)
				failures++;
			ref[i].live = false;
			removed++;
		}
	}
	CHECK_EQ(failures, 0);
	CHECK_EQ(bus.nr_ranges, MANY - removed);
	CHECK_EQ(check_against_reference(&bus, ref, MANY, &rng, 20000), 0);
	io_bus_destroy(&bus);
}

TEST(lock_held_in_handlers_and_released)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct io_bus bus;
	struct rec_dev a, b;
	rec_init(&a, 0);
	rec_init(&b, 0);
	a.lock = b.lock = &lock;
	io_bus_init(&bus, "pio", &lock);
	CHECK_EQ(io_bus_register(&bus, 0x10, 2, &rec_ops, &a, "a"), 0);
	CHECK_EQ(io_bus_register(&bus, 0x12, 2, &rec_ops, &b, "b"), 0);
	CHECK_EQ(pthread_mutex_trylock(&lock), 0);
	pthread_mutex_unlock(&lock);

	uint64_t v;
	CHECK(io_bus_read(&bus, 0x10, 2, &v));
	CHECK_EQ(pthread_mutex_trylock(&lock), 0);
	pthread_mutex_unlock(&lock);
	CHECK(io_bus_write(&bus, 0x12, 2, 1));
	CHECK_EQ(pthread_mutex_trylock(&lock), 0);
	pthread_mutex_unlock(&lock);
	/* straddling: several handler calls under one lock */
	CHECK(io_bus_read(&bus, 0x11, 4, &v));
	CHECK(io_bus_write(&bus, 0x0f, 8, 0));
	CHECK_EQ(pthread_mutex_trylock(&lock), 0);
	pthread_mutex_unlock(&lock);
	/* unassigned */
	CHECK(!io_bus_read(&bus, 0x100, 4, &v));
	CHECK(!io_bus_write(&bus, 0x100, 4, 0));
	CHECK_EQ(pthread_mutex_trylock(&lock), 0);
	pthread_mutex_unlock(&lock);
	CHECK_EQ(io_bus_unregister(&bus, 0x12), 0);
	CHECK_EQ(io_bus_unregister(&bus, 0x12), -ENOENT);
	CHECK_EQ(pthread_mutex_trylock(&lock), 0);
	pthread_mutex_unlock(&lock);

	CHECK(a.reads + a.writes > 0 && b.reads + b.writes > 0);
	CHECK_EQ(a.unlocked_calls, 0);
	CHECK_EQ(b.unlocked_calls, 0);
	io_bus_destroy(&bus);
	pthread_mutex_destroy(&lock);
}

/* A device that moves itself when written, as a PCI BAR does: the handler
 * changes the bus it was called from. */
struct mover {
	struct io_bus *bus;
	uint64_t base;
	int moves;
};

static void mover_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct mover *m = opaque;
	(void)offset;
	(void)size;
	static const struct io_ops mover_ops;
	if (io_bus_unregister(m->bus, m->base) == 0 &&
	    io_bus_register(m->bus, value, 4, &mover_ops, m, "mover") == 0) {
		m->base = value;
		m->moves++;
	}
}

TEST(handler_may_change_the_bus)
{
	pthread_mutexattr_t attr;
	pthread_mutex_t lock;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&lock, &attr);
	pthread_mutexattr_destroy(&attr);

	static const struct io_ops ops = { .write = mover_write };
	static const struct io_ops nop_ops;
	struct io_bus bus;
	struct mover m = { .bus = &bus, .base = 0x1000 };
	io_bus_init(&bus, "mmio", &lock);
	/* enough neighbours that the next registration reallocates */
	int failures = 0;
	for (uint64_t i = 0; i < 15; i++)
		failures += io_bus_register(&bus, 0x100 * i, 0x10, &nop_ops, NULL, "n") != 0;
	CHECK_EQ(failures, 0);
	CHECK_EQ(io_bus_register(&bus, 0x1000, 4, &ops, &m, "mover"), 0);
	CHECK(io_bus_write(&bus, 0x1000, 4, 0x5000));
	CHECK_EQ(m.moves, 1);
	CHECK(io_bus_find(&bus, 0x5000) != NULL);
	CHECK(io_bus_find(&bus, 0x1000) == NULL);
	CHECK_EQ(pthread_mutex_trylock(&lock), 0);
	pthread_mutex_unlock(&lock);
	io_bus_destroy(&bus);
	pthread_mutex_destroy(&lock);
}

struct locked_call {
	struct io_bus *bus;
	bool do_register;
	atomic_int done;
	int ret;
};

static void *locked_call_thread(void *arg)
{
	struct locked_call *lc = arg;
	static const struct io_ops nop_ops;
	uint64_t v;
	if (lc->do_register)
		lc->ret = io_bus_register(lc->bus, 0x4000, 4, &nop_ops, NULL, "late");
	else
		lc->ret = io_bus_read(lc->bus, 0x9000, 4, &v);	/* unassigned: no handler */
	atomic_store(&lc->done, 1);
	return NULL;
}

/* Another vCPU thread may be in a handler that moves devices: lookups and
 * changes wait for the lock, not only handler calls. */
TEST(changes_and_lookups_wait_for_the_lock)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct io_bus bus;
	io_bus_init(&bus, "mmio", &lock);
	for (int k = 0; k < 2; k++) {
		struct locked_call lc = { .bus = &bus, .do_register = k == 0 };
		pthread_t t;
		pthread_mutex_lock(&lock);
		CHECK_EQ(pthread_create(&t, NULL, locked_call_thread, &lc), 0);
		usleep(50 * 1000);
		CHECK_EQ(atomic_load(&lc.done), 0);
		pthread_mutex_unlock(&lock);
		pthread_join(t, NULL);
		CHECK_EQ(atomic_load(&lc.done), 1);
		CHECK_EQ(lc.ret, k == 0 ? 0 : false);
	}
	CHECK(io_bus_find(&bus, 0x4000) != NULL);
	io_bus_destroy(&bus);
	pthread_mutex_destroy(&lock);
}

/* Run n unassigned reads with stderr in a file; returns the lines logged */
static int count_logged_lines(struct io_bus *bus, int n)
{
	FILE *tmp = tmpfile();
	if (!tmp)
		return -1;
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(fileno(tmp), STDERR_FILENO);
	for (int i = 0; i < n; i++) {
		uint64_t v;
		io_bus_read(bus, 0x8000 + (uint64_t)i, 1, &v);
	}
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	int lines = 0, ch;
	while ((ch = fgetc(tmp)) != EOF)
		lines += ch == '\n';
	fclose(tmp);
	return lines;
}

TEST(unassigned_logging_is_rate_limited)
{
	struct io_bus bus;
	io_bus_init(&bus, "pio", NULL);

	/* off: counted, never printed */
	CHECK_EQ(count_logged_lines(&bus, 100), 0);
	CHECK_EQ(bus.unassigned_count, 100);
	CHECK_EQ(bus.unassigned_logged, 0);

	bus.log_unassigned = true;
	int first = count_logged_lines(&bus, 10);
	CHECK_EQ(first, 10);	/* a few are all reported */
	int lines = count_logged_lines(&bus, 10000);
	CHECK_EQ(bus.unassigned_count, 10110);
	CHECK(lines > 0);
	CHECK(first + lines < 200);	/* a guest cannot flood the terminal */
	CHECK_EQ((unsigned)(first + lines), bus.unassigned_logged);
	/* and once quiet it stays quiet */
	unsigned logged = bus.unassigned_logged;
	CHECK_EQ(count_logged_lines(&bus, 1000), 0);
	CHECK_EQ(bus.unassigned_logged, logged);
	CHECK_EQ(bus.unassigned_count, 11110);
	io_bus_destroy(&bus);
}

RUN_TESTS(T(register_and_find), T(overlap_refused), T(empty_and_wrapping_ranges),
	  T(dispatch_every_size), T(missing_handlers), T(unassigned_accesses),
	  T(straddling_accesses), T(unregister), T(many_ranges_against_linear_search),
	  T(lock_held_in_handlers_and_released), T(handler_may_change_the_bus),
	  T(changes_and_lookups_wait_for_the_lock),
	  T(unassigned_logging_is_rate_limited))
