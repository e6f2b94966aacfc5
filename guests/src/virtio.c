/* virtio: a hostile driver.  Finds the virtio-rng-pci functions by
 * scanning PCI config space, sets them up through the modern capabilities
 * (no MSI-X: INTx and ISR status), checks that a good request is served,
 * then feeds the first device one broken descriptor chain or queue set-up
 * after another.  Each must leave the device with DEVICE_NEEDS_RESET, the
 * configuration bit in ISR status and nothing in the used ring; the second
 * device must keep serving; and a reset must bring the first one back.
 *
 * Run with -m 128M -device virtio-rng-pci -device virtio-rng-pci. */
#include "cpu64.h"
#include "io.h"
#include "libg.h"

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc
#define RAM_END (128ul << 20)	/* -m 128M */
#define QSIZE 16

#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_NEEDS_RESET 0x40

#define F_INDIRECT (1ull << 28)
#define F_VERSION_1 (1ull << 32)
#define F_PACKED (1ull << 34)

#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4
#define D_AVAIL (1u << 7)
#define D_USED (1u << 15)

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t a;	/* split: flags; packed: id */
	uint16_t b;	/* split: next; packed: flags */
};

struct rings {
	struct desc desc[QSIZE] __attribute__((aligned(4096)));
	struct {
		uint16_t flags, idx, ring[QSIZE], used_event;
	} avail __attribute__((aligned(4096)));
	struct {
		uint16_t flags, idx;
		struct {
			uint32_t id, len;
		} ring[QSIZE];
		uint16_t avail_event;
	} used __attribute__((aligned(4096)));
	struct desc table[2][QSIZE + 2] __attribute__((aligned(4096)));
	uint8_t buf[QSIZE][256] __attribute__((aligned(4096)));
};

struct vdev {
	unsigned slot;
	volatile uint8_t *common, *isr, *notify;
	uint32_t notify_mult;
	struct rings *r;
	uint16_t avail_idx;	/* split: the next avail index */
	uint16_t pos;		/* packed: the next descriptor */
	int wrap;
};

static struct rings rings[2];

static uint32_t pci_read(unsigned slot, unsigned reg)
{
	outl(PCI_ADDR, 0x80000000u | slot << 11 | (reg & 0xfc));
	return inl(PCI_DATA) >> (8 * (reg & 3));
}

static void pci_write32(unsigned slot, unsigned reg, uint32_t v)
{
	outl(PCI_ADDR, 0x80000000u | slot << 11 | (reg & 0xfc));
	outl(PCI_DATA, v);
}

#define C8(d, o) (*(volatile uint8_t *)((d)->common + (o)))
#define C16(d, o) (*(volatile uint16_t *)((d)->common + (o)))
#define C32(d, o) (*(volatile uint32_t *)((d)->common + (o)))

static uint64_t bar_address(unsigned slot, unsigned bar)
{
	uint32_t lo = pci_read(slot, 0x10 + 4 * bar);
	uint64_t a = lo & ~0xful;
	if ((lo & 6) == 4)
		a |= (uint64_t)pci_read(slot, 0x14 + 4 * bar) << 32;
	return a;
}

/* The nth virtio-rng function (0x1044 modern, or 0x1005 transitional),
 * with its capabilities mapped */
static int find(unsigned nth, struct vdev *d)
{
	for (unsigned slot = 0; slot < 32; slot++) {
		uint32_t id = pci_read(slot, 0);
		if (id != 0x10441af4 && id != 0x10051af4)
			continue;
		if (nth--)
			continue;
		d->slot = slot;
		/* memory decoding and bus mastering on */
		pci_write32(slot, 4, (pci_read(slot, 4) & 0xffff) | 6);
		unsigned at = pci_read(slot, 0x34) & 0xff;
		for (int n = 0; at && n < 48; n++, at = pci_read(slot, at + 1) & 0xff) {
			if ((pci_read(slot, at) & 0xff) != 0x09)
				continue;
			unsigned type = pci_read(slot, at + 3) & 0xff, bar = pci_read(slot, at + 4) & 0xff;
			uint64_t base = bar_address(slot, bar) + pci_read(slot, at + 8);
			if (type == 1)
				d->common = (volatile uint8_t *)base;
			else if (type == 3)
				d->isr = (volatile uint8_t *)base;
			else if (type == 2) {
				d->notify = (volatile uint8_t *)base;
				d->notify_mult = pci_read(slot, at + 16);
			}
		}
		return d->common && d->isr && d->notify;
	}
	return 0;
}

static void reset(struct vdev *d)
{
	C8(d, 0x14) = 0;
	for (long i = 0; i < 100000000 && C8(d, 0x14); i++)
		;
	(void)*d->isr;
	memset(d->r, 0, sizeof(*d->r));
	d->avail_idx = d->pos = 0;
	d->wrap = 1;
}

/* Negotiate features and put queue 0 on d->r (queue size qsize, ring
 * addresses as given, 0 meaning d->r's); DRIVER_OK.  Returns status. */
static uint8_t setup(struct vdev *d, uint64_t features, uint16_t qsize, uint64_t desc,
		     uint64_t driver, uint64_t device)
{
	reset(d);
	C8(d, 0x14) = ST_ACK;
	C8(d, 0x14) = ST_ACK | ST_DRIVER;
	C32(d, 0x08) = 0;
	C32(d, 0x0c) = (uint32_t)features;
	C32(d, 0x08) = 1;
	C32(d, 0x0c) = (uint32_t)(features >> 32);
	C8(d, 0x14) = ST_ACK | ST_DRIVER | ST_FEATURES_OK;
	C16(d, 0x16) = 0;
	C16(d, 0x18) = qsize;
	C32(d, 0x20) = (uint32_t)(desc ? desc : (uint64_t)d->r->desc);
	C32(d, 0x24) = 0;
	C32(d, 0x28) = (uint32_t)(driver ? driver : (uint64_t)&d->r->avail);
	C32(d, 0x2c) = 0;
	C32(d, 0x30) = (uint32_t)(device ? device : (uint64_t)&d->r->used);
	C32(d, 0x34) = 0;
	C16(d, 0x1c) = 1;
	C8(d, 0x14) = ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK;
	return C8(d, 0x14);
}

static void notify(struct vdev *d)
{
	*(volatile uint16_t *)(d->notify + 0 * d->notify_mult) = 0;
}

static void offer(struct vdev *d, uint16_t head)
{
	d->r->avail.ring[d->avail_idx % QSIZE] = head;
	asm volatile("" ::: "memory");
	d->r->avail.idx = ++d->avail_idx;
	notify(d);
}

static void set_desc(struct desc *t, unsigned i, uint64_t addr, uint32_t len, uint16_t a, uint16_t b)
{
	t[i].addr = addr;
	t[i].len = len;
	t[i].a = a;
	t[i].b = b;
}

/* Wait for the used index to reach idx or for NEEDS_RESET */
static int wait_used(struct vdev *d, uint16_t idx)
{
	for (long i = 0; i < 20000000; i++) {
		if (*(volatile uint16_t *)&d->r->used.idx == idx)
			return 1;
		if (C8(d, 0x14) & ST_NEEDS_RESET)
			return 0;
	}
	return 0;
}

static int wait_needs_reset(struct vdev *d)
{
	for (long i = 0; i < 20000000; i++)
		if (C8(d, 0x14) & ST_NEEDS_RESET)
			return 1;
	return 0;
}

/* A good request on a working device: 64 random bytes */
static int good_request(struct vdev *d)
{
	uint16_t want = d->r->used.idx + 1;
	unsigned h = d->avail_idx % QSIZE;
	memset(d->r->buf[h], 0, 64);
	set_desc(d->r->desc, h, (uint64_t)d->r->buf[h], 64, D_WRITE, 0);
	offer(d, (uint16_t)h);
	if (!wait_used(d, want))
		return 0;
	int nonzero = 0;
	for (int i = 0; i < 64; i++)
		nonzero += d->r->buf[h][i] != 0;
	return d->r->used.ring[(uint16_t)(want - 1) % QSIZE].len == 64 && nonzero > 32;
}

static struct vdev dev[2];

/* The outcome every broken case must have */
static void expect_broken(const char *what)
{
	struct vdev *d = &dev[0];
	int broken = wait_needs_reset(d);
	/* the configuration interrupt follows the status bit: gather ISR
	 * (read to clear) until it shows */
	uint8_t isr = 0;
	for (long i = 0; i < 20000000 && !(isr & 2); i++)
		isr |= *d->isr;
	if (!check(broken && (isr & 2) && d->r->used.idx == 0, what))
		printf("# status %x isr %x used %u\n", C8(d, 0x14), isr, d->r->used.idx);
	check(good_request(&dev[1]), "  the other device still serves requests");
	setup(d, F_VERSION_1 | F_INDIRECT, QSIZE, 0, 0, 0);
	check(good_request(d) && !(C8(d, 0x14) & ST_NEEDS_RESET), "  a reset brings it back");
}

/* A chain at head 0 through the split ring, then the outcome */
static void split_case(const char *what, uint64_t features, void (*build)(struct rings *r))
{
	struct vdev *d = &dev[0];
	setup(d, features, QSIZE, 0, 0, 0);
	build(d->r);
	offer(d, 0);
	expect_broken(what);
}

static uint64_t buf(struct rings *r, unsigned i)
{
	return (uint64_t)r->buf[i];
}

static void b_next_out_of_range(struct rings *r)
{
	set_desc(r->desc, 0, buf(r, 0), 16, D_WRITE | D_NEXT, QSIZE + 3);
}

static void b_loop(struct rings *r)
{
	set_desc(r->desc, 0, buf(r, 0), 16, D_WRITE | D_NEXT, 1);
	set_desc(r->desc, 1, buf(r, 1), 16, D_WRITE | D_NEXT, 0);
}

static void b_too_long(struct rings *r)
{
	for (unsigned i = 0; i < QSIZE + 1; i++)
		set_desc(r->table[0], i, buf(r, i % QSIZE), 16, D_WRITE | (i < QSIZE ? D_NEXT : 0),
			 (uint16_t)(i + 1));
	set_desc(r->desc, 0, (uint64_t)r->table[0], (QSIZE + 1) * 16, D_INDIRECT, 0);
}

static void b_nested_indirect(struct rings *r)
{
	set_desc(r->table[1], 0, buf(r, 0), 16, D_WRITE, 0);
	set_desc(r->table[0], 0, (uint64_t)r->table[1], 16, D_INDIRECT, 0);
	set_desc(r->desc, 0, (uint64_t)r->table[0], 16, D_INDIRECT, 0);
}

static void b_indirect_len_24(struct rings *r)
{
	set_desc(r->table[0], 0, buf(r, 0), 16, D_WRITE, 0);
	set_desc(r->desc, 0, (uint64_t)r->table[0], 24, D_INDIRECT, 0);
}

static void b_indirect_len_0(struct rings *r)
{
	set_desc(r->desc, 0, (uint64_t)r->table[0], 0, D_INDIRECT, 0);
}

static void b_indirect_with_next(struct rings *r)
{
	set_desc(r->table[0], 0, buf(r, 0), 16, D_WRITE, 0);
	set_desc(r->desc, 0, (uint64_t)r->table[0], 16, D_INDIRECT | D_NEXT, 1);
	set_desc(r->desc, 1, buf(r, 1), 16, D_WRITE, 0);
}

static void b_indirect_table_outside_ram(struct rings *r)
{
	set_desc(r->desc, 0, RAM_END - 16, 64, D_INDIRECT, 0);
}

static void b_zero_length(struct rings *r)
{
	set_desc(r->desc, 0, buf(r, 0), 16, D_WRITE | D_NEXT, 1);
	set_desc(r->desc, 1, buf(r, 1), 0, D_WRITE, 0);
}

static void b_outside_ram(struct rings *r)
{
	set_desc(r->desc, 0, 0xfee00000, 64, D_WRITE, 0);
}

static void b_across_ram_end(struct rings *r)
{
	set_desc(r->desc, 0, RAM_END - 32, 64, D_WRITE, 0);
}

static void b_address_wraps(struct rings *r)
{
	(void)r;
	set_desc(r->desc, 0, ~0ull - 15, 64, D_WRITE, 0);
}

static void b_readable(struct rings *r)
{
	set_desc(r->desc, 0, buf(r, 0), 64, 0, 0);
}

static void b_readable_after_writable(struct rings *r)
{
	set_desc(r->desc, 0, buf(r, 0), 16, D_WRITE | D_NEXT, 1);
	set_desc(r->desc, 1, buf(r, 1), 16, 0, 0);
}

static void b_indirect_unnegotiated(struct rings *r)
{
	set_desc(r->table[0], 0, buf(r, 0), 16, D_WRITE, 0);
	set_desc(r->desc, 0, (uint64_t)r->table[0], 16, D_INDIRECT, 0);
}

static void b_good(struct rings *r)
{
	set_desc(r->desc, 0, buf(r, 0), 16, D_WRITE, 0);
}

static void test_queue_cases(void)
{
	struct vdev *d = &dev[0];

	/* the head index past the ring */
	setup(d, F_VERSION_1, QSIZE, 0, 0, 0);
	d->r->avail.ring[0] = QSIZE;
	d->r->avail.idx = d->avail_idx = 1;
	notify(d);
	expect_broken("head index outside the ring: DEVICE_NEEDS_RESET, ISR config bit, nothing used");

	/* the available index runs ahead by more than the queue size */
	setup(d, F_VERSION_1, QSIZE, 0, 0, 0);
	b_good(d->r);
	d->r->avail.idx = QSIZE + 1;
	notify(d);
	expect_broken("available index ahead by more than the queue size: needs reset");

	/* rings outside RAM, misaligned, a queue size that is no power of 2 */
	setup(d, F_VERSION_1, QSIZE, RAM_END + 0x1000, 0, 0);
	expect_broken("descriptor table outside RAM: needs reset at DRIVER_OK");
	setup(d, F_VERSION_1, QSIZE, 0, 0, (uint64_t)&d->r->used + 2);
	expect_broken("used ring not 4-byte aligned: needs reset at DRIVER_OK");
	setup(d, F_VERSION_1, 12, 0, 0, 0);
	expect_broken("split queue size 12 (not a power of two): needs reset");
}

/* ---- packed ---- */

static void packed_put(struct vdev *d, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags)
{
	struct desc *t = d->r->desc;
	t[d->pos].addr = addr;
	t[d->pos].len = len;
	t[d->pos].a = id;
	asm volatile("" ::: "memory");
	t[d->pos].b = flags | (d->wrap ? D_AVAIL : D_USED);
	if (++d->pos == QSIZE) {
		d->pos = 0;
		d->wrap = !d->wrap;
	}
}

static void test_packed(void)
{
	struct vdev *d = &dev[0];
	setup(d, F_VERSION_1 | F_PACKED, QSIZE, 0, 0, 0);
	packed_put(d, buf(d->r, 0), 64, 7, D_WRITE);
	notify(d);
	int done = 0;
	for (long i = 0; i < 20000000 && !done; i++)
		done = (*(volatile uint16_t *)&d->r->desc[0].b & (D_AVAIL | D_USED)) == (D_AVAIL | D_USED);
	check(done && d->r->desc[0].a == 7 && d->r->desc[0].len == 64,
	      "packed ring: a good request is served (ID 7, 64 bytes)");

	setup(d, F_VERSION_1 | F_PACKED, QSIZE, 0, 0, 0);
	for (unsigned i = 0; i < QSIZE; i++)
		packed_put(d, buf(d->r, i), 16, 0, D_WRITE | D_NEXT);
	notify(d);
	expect_broken("packed: a chain that never ends (every descriptor NEXT): needs reset");

	setup(d, F_VERSION_1 | F_PACKED | F_INDIRECT, QSIZE, 0, 0, 0);
	set_desc(d->r->table[0], 0, (uint64_t)d->r->table[1], 16, 0, D_INDIRECT);
	packed_put(d, (uint64_t)d->r->table[0], 16, 0, D_INDIRECT);
	notify(d);
	expect_broken("packed: indirect inside indirect: needs reset");

	setup(d, F_VERSION_1 | F_PACKED, QSIZE, 0, 0, 0);
	packed_put(d, buf(d->r, 0), 0, 0, D_WRITE);
	notify(d);
	expect_broken("packed: zero-length buffer: needs reset");
}

void main(void)
{
	serial_init();
	puts("virtio: broken descriptor chains against virtio-rng-pci\n");
	dev[0].r = &rings[0];
	dev[1].r = &rings[1];
	if (!check(find(0, &dev[0]) && find(1, &dev[1]), "two virtio-rng functions with the modern capabilities"))
		finish();
	check(setup(&dev[0], F_VERSION_1 | F_INDIRECT, QSIZE, 0, 0, 0) == 0x0f &&
	      setup(&dev[1], F_VERSION_1, QSIZE, 0, 0, 0) == 0x0f, "both reach DRIVER_OK");
	check(good_request(&dev[0]) && good_request(&dev[1]), "both serve a request for 64 bytes");

	split_case("next index outside the ring: needs reset", F_VERSION_1, b_next_out_of_range);
	split_case("a loop of two descriptors: needs reset", F_VERSION_1, b_loop);
	split_case("indirect chain longer than the queue size: needs reset",
		   F_VERSION_1 | F_INDIRECT, b_too_long);
	split_case("indirect inside indirect: needs reset", F_VERSION_1 | F_INDIRECT, b_nested_indirect);
	split_case("indirect table of 24 bytes: needs reset", F_VERSION_1 | F_INDIRECT, b_indirect_len_24);
	split_case("indirect table of 0 bytes: needs reset", F_VERSION_1 | F_INDIRECT, b_indirect_len_0);
	split_case("indirect descriptor with NEXT: needs reset", F_VERSION_1 | F_INDIRECT,
		   b_indirect_with_next);
	split_case("indirect table past the end of RAM: needs reset", F_VERSION_1 | F_INDIRECT,
		   b_indirect_table_outside_ram);
	split_case("indirect descriptor without VIRTIO_F_INDIRECT_DESC: needs reset", F_VERSION_1,
		   b_indirect_unnegotiated);
	split_case("zero-length buffer: needs reset", F_VERSION_1, b_zero_length);
	split_case("buffer at the local APIC (not RAM): needs reset", F_VERSION_1, b_outside_ram);
	split_case("buffer across the end of RAM: needs reset", F_VERSION_1, b_across_ram_end);
	split_case("buffer address that wraps around: needs reset", F_VERSION_1, b_address_wraps);
	split_case("device-readable buffer for the entropy: needs reset", F_VERSION_1, b_readable);
	split_case("device-readable after device-writable: needs reset", F_VERSION_1,
		   b_readable_after_writable);
	test_queue_cases();
	test_packed();
	finish();
}
