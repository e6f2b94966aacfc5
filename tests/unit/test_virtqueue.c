/* The virtqueue core against fabricated split and packed rings in guest
 * memory: chains as Linux builds them (direct, indirect, both), used
 * entries and notification suppression (flags, EVENT_IDX, packed event
 * structures), the status machine and its reset, and every malformed
 * chain the device must refuse: each sets DEVICE_NEEDS_RESET with one
 * configuration interrupt, writes nothing to the guest, and a reset brings
 * the device back. */
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "platform_vm.h"
#include "virtio_test.h"

#define RAM (16ull << 20)
#define DESC 0x10000
#define AVAIL 0x11000
#define USED 0x12000
#define BUF 0x20000
#define TABLE 0x30000
#define F_BASE (VIRTIO_FEATURE(VIRTIO_F_VERSION_1))
#define F_ALL (F_BASE | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC) | VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX) | \
	       VIRTIO_FEATURE(VIRTIO_F_RING_PACKED))

static struct vm *vm;
static struct virtio_dev vdev;
static uint8_t dev_config[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static int notify_calls, resets;
static struct test_ring ring = { .desc = DESC, .driver = AVAIL, .device = USED, .size = 8 };

static void test_queue_notify(struct virtio_dev *d, struct virtq *vq)
{
	(void)d;
	(void)vq;
	notify_calls++;
}

static void test_dev_reset(struct virtio_dev *d)
{
	(void)d;
	resets++;
}

static const struct virtio_dev_ops test_ops = {
	.queue_notify = test_queue_notify,
	.reset = test_dev_reset,
};

static void setup(uint64_t features, uint16_t qsize)
{
	if (!vm)
		vm = test_vm_new_ram(RAM);
	memset(vm->mem.base, 0, 1 << 20);
	CHECK_EQ(virtio_dev_init(&vdev, vm, 99, &test_ops, NULL, F_ALL & ~F_BASE, 1, 16, dev_config,
				 sizeof(dev_config)),
		 0);
	virtio_dev_set_transport(&vdev, &test_transport, NULL);
	test_queue_irqs = test_config_irqs = notify_calls = resets = 0;
	ring.size = qsize;
	test_driver_setup(&vdev, features, &ring, 1);
	CHECK_EQ(virtio_status(&vdev) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
}

static void teardown(void)
{
	virtio_dev_cleanup(&vdev);
}

static struct virtq *vq0(void)
{
	return &vdev.vqs[0];
}

/* The device failed: NEEDS_RESET, one config interrupt, no more pops */
static void check_broken(void)
{
	struct virtq_chain *c = NULL;
	CHECK(virtio_status(&vdev) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(test_config_irqs, 1);
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), -EIO);
	CHECK_EQ(gget16(vm, USED + 2), 0);	/* nothing used */
	/* a reset clears it and the queue works again */
	test_driver_setup(&vdev, F_BASE, &ring, 1);
	CHECK_EQ(virtio_status(&vdev) & VIRTIO_STATUS_NEEDS_RESET, 0);
	split_desc(vm, &ring, 0, BUF, 64, VRING_F_WRITE, 0);
	split_offer(vm, &ring, 0);
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 1);
	if (c)
		virtq_complete(&vdev, vq0(), c, 4);
	CHECK_EQ(gget16(vm, USED + 2), 1);
}

/* Pop expecting a failure */
static void expect_bad_pop(void)
{
	struct virtq_chain *c = NULL;
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), -EIO);
	CHECK(c == NULL);
	check_broken();
}

TEST(negotiation_and_status)
{
	setup(F_BASE, 8);
	/* the device offers VERSION_1 on top of what it was given */
	CHECK_EQ(virtio_device_features(&vdev, 1) & 1, 1);
	CHECK_EQ(virtio_device_features(&vdev, 2), 0);
	virtio_set_status(&vdev, 0);
	CHECK_EQ(virtio_status(&vdev), 0);
	CHECK(resets >= 1);
	/* without VERSION_1 FEATURES_OK does not stick */
	virtio_set_status(&vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	virtio_set_driver_features(&vdev, 0, 1u << VIRTIO_F_INDIRECT_DESC);
	virtio_set_status(&vdev, 0x0b);
	CHECK_EQ(virtio_status(&vdev), 0x03);
	/* nor with a bit the device does not offer */
	virtio_set_driver_features(&vdev, 1, 1 | (1u << 10));
	virtio_set_status(&vdev, 0x0b);
	CHECK_EQ(virtio_status(&vdev), 0x03);
	/* DRIVER_OK without FEATURES_OK does not stick either */
	virtio_set_status(&vdev, 0x07);
	CHECK_EQ(virtio_status(&vdev), 0x03);
	virtio_set_driver_features(&vdev, 1, 1);
	virtio_set_status(&vdev, 0x0b);
	CHECK_EQ(virtio_status(&vdev), 0x0b);
	/* features are fixed now */
	virtio_set_driver_features(&vdev, 0, 0);
	CHECK_EQ(virtio_driver_features(&vdev, 0), 1u << VIRTIO_F_INDIRECT_DESC);
	/* bits are not cleared by writing fewer; NEEDS_RESET is the device's */
	virtio_set_status(&vdev, 0x01 | VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(virtio_status(&vdev), 0x0b);
	/* configuration: bytes, little endian, 0 outside */
	CHECK_EQ(virtio_config_read(&vdev, 0, 4), 0x04030201);
	CHECK_EQ(virtio_config_read(&vdev, 6, 4), 0x0807);
	CHECK_EQ(virtio_config_read(&vdev, 100, 1), 0);
	uint8_t gen = virtio_config_generation(&vdev);
	virtio_config_changed(&vdev);
	CHECK_EQ(virtio_config_generation(&vdev), (uint8_t)(gen + 1));
	CHECK_EQ(test_config_irqs, 1);
	/* queue registers: the maximum, no writes once enabled */
	CHECK_EQ(virtq_reg_read(&vdev, 0, VIRTQ_REG_MAX_SIZE), 16);
	CHECK_EQ(virtq_reg_read(&vdev, 5, VIRTQ_REG_MAX_SIZE), 0);
	virtq_reg_write(&vdev, 0, VIRTQ_REG_SIZE, 4);
	virtq_reg_write(&vdev, 0, VIRTQ_REG_ENABLE, 1);
	virtq_reg_write(&vdev, 0, VIRTQ_REG_SIZE, 8);
	CHECK_EQ(virtq_reg_read(&vdev, 0, VIRTQ_REG_SIZE), 4);
	teardown();
}

TEST(split_direct_chain_and_used_entry)
{
	setup(F_BASE, 8);
	split_desc(vm, &ring, 3, BUF, 16, VRING_F_NEXT, 5);
	split_desc(vm, &ring, 5, BUF + 0x1000, 200, VRING_F_NEXT | VRING_F_WRITE, 6);
	split_desc(vm, &ring, 6, BUF + 0x2000, 1, VRING_F_WRITE, 0);
	gput(vm, BUF, "0123456789abcdef", 16);
	split_offer(vm, &ring, 3);
	struct virtq_chain *c = NULL;
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 1);
	if (!c)
		return;
	CHECK_EQ(c->id, 3);
	CHECK_EQ(c->nr_out, 1);
	CHECK_EQ(c->nr_in, 2);
	CHECK_EQ(c->out_len, 16);
	CHECK_EQ(c->in_len, 201);
	char hdr[17] = { 0 };
	CHECK_EQ(virtq_chain_read(c, 4, hdr, 100), 12);
	CHECK_STR(hdr, "456789abcdef");
	/* a write across the two writable pieces */
	uint8_t fill[201];
	memset(fill, 0xab, sizeof(fill));
	CHECK_EQ(virtq_chain_write(&vdev, c, 0, fill, sizeof(fill)), 201);
	CHECK_EQ(gget16(vm, BUF + 0x2000) & 0xff, 0xab);
	CHECK(guest_mem_test_and_clear_dirty(&vm->mem, BUF + 0x2000));
	CHECK(!guest_mem_test_and_clear_dirty(&vm->mem, BUF + 0x3000));
	struct iovec iov[4];
	CHECK_EQ(virtq_chain_iov(c, true, 199, 2, iov, NULL, 4), 2);
	CHECK_EQ(iov[0].iov_len, 1);
	CHECK_EQ(iov[1].iov_len, 1);
	CHECK_EQ(virtq_chain_iov(c, true, 0, 202, iov, NULL, 4), -EINVAL);
	CHECK_EQ(virtq_chain_iov(c, true, 0, 201, iov, NULL, 1), -ENOSPC);
	/* nothing more */
	struct virtq_chain *d = NULL;
	CHECK_EQ(virtq_pop(&vdev, vq0(), &d), 0);
	virtq_complete(&vdev, vq0(), c, 201);
	CHECK_EQ(gget16(vm, USED + 2), 1);
	CHECK_EQ(gget32(vm, USED + 4), 3);
	CHECK_EQ(gget32(vm, USED + 8), 201);
	CHECK(guest_mem_test_and_clear_dirty(&vm->mem, USED));
	CHECK_EQ(test_queue_irqs, 1);
	/* the driver asks for no interrupts */
	gput16(vm, AVAIL, 1);
	split_desc(vm, &ring, 0, BUF, 8, VRING_F_WRITE, 0);
	split_offer(vm, &ring, 0);
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 1);
	virtq_complete(&vdev, vq0(), c, 999);	/* more than was there: clamped */
	CHECK_EQ(gget32(vm, USED + 16), 8);
	CHECK_EQ(test_queue_irqs, 1);
	teardown();
}

TEST(split_indirect_chains)
{
	setup(F_BASE | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC), 4);
	/* a direct descriptor, then an indirect table of three */
	put_desc(vm, TABLE, BUF, 16, VRING_F_NEXT, 1);
	put_desc(vm, TABLE + 16, BUF + 0x100, 512, VRING_F_NEXT | VRING_F_WRITE, 2);
	put_desc(vm, TABLE + 32, BUF + 0x400, 1, VRING_F_WRITE, 0);
	split_desc(vm, &ring, 0, BUF + 0x800, 4, VRING_F_NEXT, 1);
	split_desc(vm, &ring, 1, TABLE, 48, VRING_F_INDIRECT | VRING_F_WRITE, 0);
	split_offer(vm, &ring, 0);
	struct virtq_chain *c = NULL;
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 1);
	if (!c)
		return;
	CHECK_EQ(c->nr_out, 2);
	CHECK_EQ(c->nr_in, 2);
	CHECK_EQ(c->out_len, 20);
	CHECK_EQ(c->in_len, 513);
	CHECK_EQ(c->segs[0].gpa, BUF + 0x800);
	CHECK_EQ(c->segs[1].gpa, BUF);
	virtq_complete(&vdev, vq0(), c, 513);
	/* an indirect table may hold as many buffers as the queue size, more
	 * than the ring's free descriptors */
	for (int i = 0; i < 4; i++)
		put_desc(vm, TABLE + 16 * i, BUF, 8, i < 3 ? VRING_F_NEXT : 0, (uint16_t)(i + 1));
	split_desc(vm, &ring, 2, TABLE, 64, VRING_F_INDIRECT, 0);
	split_offer(vm, &ring, 2);
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 1);
	if (c)
		virtq_complete(&vdev, vq0(), c, 0);
	teardown();
}

TEST(split_event_idx)
{
	setup(F_BASE | VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX), 8);
	struct virtq_chain *c = NULL;
	/* an empty pop asks for a notification at the next buffer */
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 0);
	CHECK_EQ(gget16(vm, USED + 4 + 8 * 8), 0);
	for (int i = 0; i < 3; i++) {
		split_desc(vm, &ring, (uint16_t)i, BUF, 8, VRING_F_WRITE, 0);
		split_offer(vm, &ring, (uint16_t)i);
	}
	/* the driver wants an interrupt once used idx passes 2 (used_event 2) */
	gput16(vm, AVAIL + 4 + 2 * 8, 2);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 1);
		virtq_complete(&vdev, vq0(), c, 1);
	}
	/* the first check always interrupts; then only crossing entry 2 */
	CHECK_EQ(test_queue_irqs, 2);
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 0);
	CHECK_EQ(gget16(vm, USED + 4 + 8 * 8), 3);
	teardown();
}

/* A guest RAM layout with two regions that touch: a buffer across the
 * boundary becomes two pieces whose host addresses are not adjacent */
TEST(split_buffer_across_contiguous_regions)
{
	setup(F_BASE, 8);
	struct guest_mem saved = vm->mem;
	vm->mem.regions[0].size = 8ull << 20;
	vm->mem.regions[1] = (struct mem_region){ .gpa = 8ull << 20, .size = 4ull << 20,
						  .hva = vm->mem.base + (12ull << 20), .slot = 1 };
	vm->mem.nr_regions = 2;
	split_desc(vm, &ring, 0, (8ull << 20) - 100, 300, VRING_F_WRITE, 0);
	split_offer(vm, &ring, 0);
	struct virtq_chain *c = NULL;
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 1);
	if (c) {
		CHECK_EQ(c->nr_in, 2);
		CHECK_EQ(c->segs[0].len, 100);
		CHECK_EQ(c->segs[1].len, 200);
		CHECK(c->segs[1].hva == vm->mem.base + (12ull << 20));
		virtq_complete(&vdev, vq0(), c, 300);
	}
	/* past the end of the second region: not RAM */
	split_desc(vm, &ring, 1, (12ull << 20) - 8, 16, VRING_F_WRITE, 0);
	split_offer(vm, &ring, 1);
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), -EIO);
	CHECK(virtio_status(&vdev) & VIRTIO_STATUS_NEEDS_RESET);
	vm->mem = saved;
	teardown();
}

TEST(reset_waits_for_chains_in_flight)
{
	setup(F_BASE, 8);
	split_desc(vm, &ring, 0, BUF, 8, VRING_F_WRITE, 0);
	split_offer(vm, &ring, 0);
	struct virtq_chain *c = NULL;
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 1);
	int before = resets;
	virtio_set_status(&vdev, 0);
	/* not yet: the chain is still out */
	CHECK(virtio_status(&vdev) != 0);
	CHECK_EQ(resets, before);
	/* a driver must not touch the device meanwhile */
	virtio_set_status(&vdev, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c) , -EIO);
	virtq_complete(&vdev, vq0(), c, 8);
	CHECK_EQ(virtio_status(&vdev), 0);
	CHECK_EQ(resets, before + 1);
	CHECK_EQ(gget16(vm, USED + 2), 0);	/* its used entry was dropped */
	CHECK_EQ(test_queue_irqs, 0);
	teardown();
}

/* ---- malformed split chains ---- */

TEST(split_bad_head)
{
	setup(F_BASE, 8);
	split_offer(vm, &ring, 8);
	expect_bad_pop();
	teardown();
}

TEST(split_bad_next)
{
	setup(F_BASE, 8);
	split_desc(vm, &ring, 0, BUF, 8, VRING_F_NEXT, 9);
	split_offer(vm, &ring, 0);
	expect_bad_pop();
	teardown();
}

TEST(split_loop)
{
	setup(F_BASE, 8);
	split_desc(vm, &ring, 0, BUF, 8, VRING_F_NEXT, 1);
	split_desc(vm, &ring, 1, BUF, 8, VRING_F_NEXT, 0);
	split_offer(vm, &ring, 0);
	expect_bad_pop();
	teardown();
}

TEST(split_self_loop)
{
	setup(F_BASE, 8);
	split_desc(vm, &ring, 4, BUF, 8, VRING_F_NEXT | VRING_F_WRITE, 4);
	split_offer(vm, &ring, 4);
	expect_bad_pop();
	teardown();
}

TEST(split_loop_in_indirect_table)
{
	setup(F_BASE | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC), 8);
	put_desc(vm, TABLE, BUF, 8, VRING_F_NEXT, 1);
	put_desc(vm, TABLE + 16, BUF, 8, VRING_F_NEXT, 0);
	split_desc(vm, &ring, 0, TABLE, 32, VRING_F_INDIRECT, 0);
	split_offer(vm, &ring, 0);
	expect_bad_pop();
	teardown();
}

TEST(split_chain_longer_than_queue)
{
	/* no loop: nine distinct buffers through an indirect table, queue of 8 */
	setup(F_BASE | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC), 8);
	for (int i = 0; i < 9; i++)
		put_desc(vm, TABLE + 16 * i, BUF + 64 * i, 8, i < 8 ? VRING_F_NEXT : 0,
			 (uint16_t)(i + 1));
	split_desc(vm, &ring, 0, TABLE, 9 * 16, VRING_F_INDIRECT, 0);
	split_offer(vm, &ring, 0);
	expect_bad_pop();
	teardown();
}

TEST(split_indirect_in_indirect)
{
	setup(F_BASE | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC), 8);
	put_desc(vm, TABLE, TABLE + 0x100, 16, VRING_F_INDIRECT, 0);
	put_desc(vm, TABLE + 0x100, BUF, 8, 0, 0);
	split_desc(vm, &ring, 0, TABLE, 16, VRING_F_INDIRECT, 0);
	split_offer(vm, &ring, 0);
	expect_bad_pop();
	teardown();
}

TEST(split_indirect_bad_lengths)
{
	static const uint32_t lens[] = { 0, 15, 17, 40 };
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		setup(F_BASE | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC), 8);
		put_desc(vm, TABLE, BUF, 8, 0, 0);
		split_desc(vm, &ring, 0, TABLE, lens[i], VRING_F_INDIRECT, 0);
		split_offer(vm, &ring, 0);
		expect_bad_pop();
		teardown();
	}
}

TEST(split_indirect_with_next_or_unnegotiated)
{
	setup(F_BASE | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC), 8);
	put_desc(vm, TABLE, BUF, 8, 0, 0);
	split_desc(vm, &ring, 0, TABLE, 16, VRING_F_INDIRECT | VRING_F_NEXT, 1);
	split_desc(vm, &ring, 1, BUF, 8, 0, 0);
	split_offer(vm, &ring, 0);
	expect_bad_pop();
	teardown();

	setup(F_BASE, 8);
	split_desc(vm, &ring, 0, TABLE, 16, VRING_F_INDIRECT, 0);
	split_offer(vm, &ring, 0);
	expect_bad_pop();
	teardown();
}

TEST(split_indirect_table_not_ram)
{
	setup(F_BASE | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC), 8);
	split_desc(vm, &ring, 0, RAM - 16, 32, VRING_F_INDIRECT, 0);
	split_offer(vm, &ring, 0);
	expect_bad_pop();
	teardown();
}

TEST(split_zero_length)
{
	setup(F_BASE, 8);
	split_desc(vm, &ring, 0, BUF, 8, VRING_F_NEXT, 1);
	split_desc(vm, &ring, 1, BUF, 0, VRING_F_WRITE, 0);
	split_offer(vm, &ring, 0);
	expect_bad_pop();
	teardown();
}

TEST(split_buffers_outside_ram)
{
	static const uint64_t addrs[] = { RAM, RAM - 4, 0xfee00000, UINT64_MAX - 3 };
	for (unsigned i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		setup(F_BASE, 8);
		split_desc(vm, &ring, 0, addrs[i], 8, VRING_F_WRITE, 0);
		split_offer(vm, &ring, 0);
		expect_bad_pop();
		teardown();
	}
}

TEST(split_readable_after_writable)
{
	setup(F_BASE, 8);
	split_desc(vm, &ring, 0, BUF, 8, VRING_F_NEXT | VRING_F_WRITE, 1);
	split_desc(vm, &ring, 1, BUF, 8, 0, 0);
	split_offer(vm, &ring, 0);
	expect_bad_pop();
	teardown();
}

TEST(split_avail_index_jump)
{
	setup(F_BASE, 8);
	split_desc(vm, &ring, 0, BUF, 8, VRING_F_WRITE, 0);
	gput16(vm, AVAIL + 2, 9);
	expect_bad_pop();
	teardown();
}

TEST(split_more_in_flight_than_queue)
{
	setup(F_BASE, 4);
	struct virtq_chain *c[4];
	split_desc(vm, &ring, 0, BUF, 8, VRING_F_WRITE, 0);
	/* the same head offered again and again, never used */
	for (int i = 0; i < 4; i++) {
		split_offer(vm, &ring, 0);
		CHECK_EQ(virtq_pop(&vdev, vq0(), &c[i]), 1);
	}
	split_offer(vm, &ring, 0);
	struct virtq_chain *x = NULL;
	CHECK_EQ(virtq_pop(&vdev, vq0(), &x), -EIO);
	CHECK(virtio_status(&vdev) & VIRTIO_STATUS_NEEDS_RESET);
	/* the chains out complete (without used entries: the device is broken) */
	for (int i = 0; i < 4; i++)
		virtq_complete(&vdev, vq0(), c[i], 1);
	CHECK_EQ(gget16(vm, USED + 2), 0);
	check_broken();
	teardown();
}

TEST(ring_addresses_checked_at_driver_ok)
{
	static const struct test_ring bad[] = {
		{ .desc = DESC + 8, .driver = AVAIL, .device = USED, .size = 8 },	/* misaligned */
		{ .desc = DESC, .driver = AVAIL + 1, .device = USED, .size = 8 },
		{ .desc = DESC, .driver = AVAIL, .device = USED + 2, .size = 8 },
		{ .desc = RAM - 64, .driver = AVAIL, .device = USED, .size = 8 },	/* past RAM */
		{ .desc = DESC, .driver = 0xfebff000, .device = USED, .size = 8 },
		{ .desc = DESC, .driver = AVAIL, .device = RAM - 16, .size = 8 },
		{ .desc = DESC, .driver = AVAIL, .device = USED, .size = 6 },	/* not a power of 2 */
		{ .desc = DESC, .driver = AVAIL, .device = USED, .size = 32 },	/* above the maximum */
		{ .desc = DESC, .driver = AVAIL, .device = USED, .size = 0 },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup(F_BASE, 8);
		struct test_ring r = bad[i];
		test_config_irqs = notify_calls = 0;
		test_driver_setup(&vdev, F_BASE, &r, 1);
		if (!(virtio_status(&vdev) & VIRTIO_STATUS_NEEDS_RESET))
			printf("  case %u: not refused\n", i);
		CHECK(virtio_status(&vdev) & VIRTIO_STATUS_NEEDS_RESET);
		CHECK_EQ(test_config_irqs, 1);
		CHECK_EQ(notify_calls, 0);
		teardown();
	}
}

/* ---- packed ---- */

#define F_PACKED (F_BASE | VIRTIO_FEATURE(VIRTIO_F_RING_PACKED))

static uint16_t used_flags(uint16_t pos)
{
	return gget16(vm, DESC + 16u * pos + 14);
}

TEST(packed_chains_and_wrap)
{
	setup(F_PACKED, 4);
	struct virtq_chain *c = NULL;
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 0);
	/* three chains of two descriptors each around a ring of four */
	for (uint16_t n = 0; n < 3; n++) {
		packed_put(vm, &ring, BUF, 16, 0xaa, VRING_F_NEXT);
		packed_put(vm, &ring, BUF + 0x100, 32, (uint16_t)(7 + n), VRING_F_WRITE);
		CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 1);
		if (!c)
			return;
		CHECK_EQ(c->id, 7 + n);	/* the last descriptor's ID */
		CHECK_EQ(c->ndesc, 2);
		CHECK_EQ(c->nr_out, 1);
		CHECK_EQ(c->in_len, 32);
		virtq_complete(&vdev, vq0(), c, 5);
		uint16_t pos = (uint16_t)((2 * n) % 4);
		bool wrap = n < 2;	/* the device's used wrap counter at pos */
		uint16_t f = used_flags(pos);
		CHECK_EQ(gget16(vm, DESC + 16u * pos + 12), 7 + n);
		CHECK_EQ(gget32(vm, DESC + 16u * pos + 8), 5);
		CHECK_EQ(!!(f & VRING_F_AVAIL), wrap);
		CHECK_EQ(!!(f & VRING_F_USED), wrap);
		CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 0);
	}
	CHECK_EQ(test_queue_irqs, 3);
	/* driver asks for no interrupts */
	gput16(vm, AVAIL + 2, 1);
	packed_put(vm, &ring, BUF, 8, 1, VRING_F_WRITE);
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 1);
	virtq_complete(&vdev, vq0(), c, 1);
	CHECK_EQ(test_queue_irqs, 3);
	teardown();
}

TEST(packed_indirect)
{
	setup(F_PACKED | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC), 4);
	put_desc(vm, TABLE, BUF, 16, 0, 0);
	put_desc(vm, TABLE + 16, BUF + 0x100, 100, 0, VRING_F_WRITE);
	put_desc(vm, TABLE + 32, BUF + 0x200, 1, 0, VRING_F_WRITE);
	packed_put(vm, &ring, TABLE, 48, 3, VRING_F_INDIRECT);
	struct virtq_chain *c = NULL;
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 1);
	if (!c)
		return;
	CHECK_EQ(c->id, 3);
	CHECK_EQ(c->ndesc, 1);
	CHECK_EQ(c->nr_out, 1);
	CHECK_EQ(c->nr_in, 2);
	virtq_complete(&vdev, vq0(), c, 101);
	CHECK_EQ(gget16(vm, DESC + 12), 3);
	teardown();
}

TEST(packed_event_desc)
{
	setup(F_PACKED | VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX), 4);
	struct virtq_chain *c = NULL;
	/* interrupt when the used entry at position 2 (this lap) is written */
	gput16(vm, AVAIL, 2 | 0x8000);
	gput16(vm, AVAIL + 2, 2);
	for (int i = 0; i < 4; i++) {
		packed_put(vm, &ring, BUF, 8, (uint16_t)i, VRING_F_WRITE);
		CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 1);
		virtq_complete(&vdev, vq0(), c, 1);
	}
	/* the first check, then the one that wrote position 2 */
	CHECK_EQ(test_queue_irqs, 2);
	/* the next lap's position 0: wrap counter 0 */
	gput16(vm, AVAIL, 0);
	packed_put(vm, &ring, BUF, 8, 9, VRING_F_WRITE);
	CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 1);
	virtq_complete(&vdev, vq0(), c, 1);
	CHECK_EQ(test_queue_irqs, 3);
	teardown();
}

TEST(packed_malformed)
{
	/* a chain that never ends: all NEXT */
	setup(F_PACKED, 4);
	for (int i = 0; i < 4; i++)
		packed_put(vm, &ring, BUF, 8, 0, VRING_F_NEXT);
	expect_bad_pop();
	teardown();
	/* indirect with NEXT */
	setup(F_PACKED | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC), 4);
	put_desc(vm, TABLE, BUF, 8, 0, 0);
	packed_put(vm, &ring, TABLE, 16, 0, VRING_F_INDIRECT | VRING_F_NEXT);
	packed_put(vm, &ring, BUF, 8, 0, 0);
	expect_bad_pop();
	teardown();
	/* indirect inside indirect */
	setup(F_PACKED | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC), 4);
	put_desc(vm, TABLE, TABLE + 0x100, 16, 0, VRING_F_INDIRECT);
	packed_put(vm, &ring, TABLE, 16, 0, VRING_F_INDIRECT);
	expect_bad_pop();
	teardown();
	/* indirect table longer than the queue */
	setup(F_PACKED | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC), 4);
	for (int i = 0; i < 5; i++)
		put_desc(vm, TABLE + 16 * i, BUF, 8, 0, 0);
	packed_put(vm, &ring, TABLE, 80, 0, VRING_F_INDIRECT);
	expect_bad_pop();
	teardown();
	/* table length 24 */
	setup(F_PACKED | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC), 4);
	packed_put(vm, &ring, TABLE, 24, 0, VRING_F_INDIRECT);
	expect_bad_pop();
	teardown();
	/* readable after writable, zero length, outside RAM */
	setup(F_PACKED, 4);
	packed_put(vm, &ring, BUF, 8, 0, VRING_F_WRITE | VRING_F_NEXT);
	packed_put(vm, &ring, BUF, 8, 0, 0);
	expect_bad_pop();
	teardown();
	setup(F_PACKED, 4);
	packed_put(vm, &ring, BUF, 0, 0, VRING_F_WRITE);
	expect_bad_pop();
	teardown();
	setup(F_PACKED, 4);
	packed_put(vm, &ring, RAM - 1, 2, 0, VRING_F_WRITE);
	expect_bad_pop();
	teardown();
}

/* Linux may give a packed queue a size that is not a power of two */
TEST(packed_odd_size)
{
	setup(F_PACKED, 3);
	struct virtq_chain *c = NULL;
	for (int i = 0; i < 7; i++) {
		packed_put(vm, &ring, BUF, 8, (uint16_t)i, VRING_F_WRITE);
		CHECK_EQ(virtq_pop(&vdev, vq0(), &c), 1);
		virtq_complete(&vdev, vq0(), c, 1);
	}
	CHECK_EQ(gget16(vm, DESC + 12), 6);	/* the seventh went to position 0 */
	CHECK_EQ(virtio_status(&vdev) & VIRTIO_STATUS_NEEDS_RESET, 0);
	teardown();
}

static void free_vm(void)
{
	if (vm)
		test_vm_free(vm);
}

TEST(cleanup)
{
	free_vm();
	vm = NULL;
}

RUN_TESTS(T(negotiation_and_status), T(split_direct_chain_and_used_entry), T(split_indirect_chains),
	  T(split_event_idx), T(split_buffer_across_contiguous_regions),
	  T(reset_waits_for_chains_in_flight), T(split_bad_head), T(split_bad_next), T(split_loop),
	  T(split_self_loop), T(split_loop_in_indirect_table), T(split_chain_longer_than_queue),
	  T(split_indirect_in_indirect), T(split_indirect_bad_lengths),
	  T(split_indirect_with_next_or_unnegotiated), T(split_indirect_table_not_ram),
	  T(split_zero_length), T(split_buffers_outside_ram), T(split_readable_after_writable),
	  T(split_avail_index_jump), T(split_more_in_flight_than_queue),
	  T(ring_addresses_checked_at_driver_ok), T(packed_chains_and_wrap), T(packed_indirect),
	  T(packed_event_desc), T(packed_malformed), T(packed_odd_size), T(cleanup))
