/* virtio-rng on a virtual clock: buffers filled with entropy, QEMU's
 * max-bytes/period limit (a partial fill, then buffers waiting in the
 * ring for the next period, and the device asking its thread to wake it
 * then rather than spinning), the limit across a reset, a
 * device-readable buffer breaking the device, and the queue thread
 * leaving alone a kick eventfd that another data path (vhost) reads. */
#include "test.h"

#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "platform_vm.h"
#include "virtio/virtio_rng.h"
#include "virtio_test.h"

#define DESC 0x10000
#define AVAIL 0x11000
#define USED 0x12000
#define BUF 0x20000
#define MS 1000000ull

static struct vm *vm;
static struct virtio_dev *vdev;
static struct test_ring ring = { .desc = DESC, .driver = AVAIL, .device = USED, .size = 16 };

static void rng_up(uint64_t max_bytes, uint64_t period_ms)
{
	vm = test_vm_new();
	struct virtio_device_config dc = { .type = VIRTIO_DEVICE_RNG,
					   .rng = { .max_bytes = max_bytes, .period_ms = period_ms } };
	CHECK_EQ(virtio_rng_new(vm, &dc, &vdev), 0);
	virtio_dev_set_transport(vdev, &test_transport, NULL);
	test_queue_irqs = 0;
	test_driver_setup(vdev, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), &ring, 1);
}

static void rng_down(void)
{
	virtio_dev_cleanup(vdev);
	vdev->ops->destroy(vdev);
	test_vm_free(vm);
}

static void offer(uint16_t i, uint32_t len)
{
	split_desc(vm, &ring, i, BUF + 0x1000u * i, len, VRING_F_WRITE, 0);
	split_offer(vm, &ring, i);
	virtq_kick(vdev, 0);
}

static uint32_t used_len(uint16_t n)
{
	return gget32(vm, USED + 8 + 8u * n);
}

TEST(unlimited)
{
	rng_up(UINT64_MAX, 1000);
	offer(0, 4096);
	offer(1, 200000);	/* more than one buffer gets: 64 KiB */
	CHECK_EQ(gget16(vm, USED + 2), 2);
	CHECK_EQ(used_len(0), 4096);
	CHECK_EQ(used_len(1), 65536);
	CHECK_EQ(test_queue_irqs, 2);
	CHECK_EQ(vdev->wake_at_ns, 0);
	uint8_t buf[4096];
	guest_mem_read(&vm->mem, BUF, buf, sizeof(buf));
	unsigned counts[256] = { 0 };
	for (unsigned i = 0; i < sizeof(buf); i++)
		counts[buf[i]]++;
	unsigned most = 0;
	for (unsigned i = 0; i < 256; i++)
		most = counts[i] > most ? counts[i] : most;
	CHECK(most < 64);	/* 16 expected per value: not a constant fill */
	CHECK(guest_mem_test_and_clear_dirty(&vm->mem, BUF));
	rng_down();
}

TEST(rate_limit_waits_for_next_period)
{
	rng_up(100, 1000);
	uint64_t t0 = vm_clock_ns(vm);
	offer(0, 64);
	offer(1, 64);	/* gets the 36 bytes left */
	offer(2, 64);	/* waits */
	CHECK_EQ(gget16(vm, USED + 2), 2);
	CHECK_EQ(used_len(0), 64);
	CHECK_EQ(used_len(1), 36);
	CHECK_EQ(vdev->wake_at_ns, t0 + 1000 * MS);
	/* a notification within the period changes nothing */
	test_advance(vm, 999 * MS, 1000 * MS);
	virtq_kick(vdev, 0);
	CHECK_EQ(gget16(vm, USED + 2), 2);
	/* the queue thread's wake-up at the next period serves it */
	test_advance(vm, 1 * MS, 1000 * MS);
	virtq_kick(vdev, 0);
	CHECK_EQ(gget16(vm, USED + 2), 3);
	CHECK_EQ(used_len(2), 64);
	/* 36 left in this period */
	offer(3, 64);
	CHECK_EQ(used_len(3), 36);
	/* a reset starts the budget afresh */
	memset(vm->mem.base + DESC, 0, 0x3000);
	test_driver_setup(vdev, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), &ring, 1);
	CHECK_EQ(vdev->wake_at_ns, 0);
	offer(0, 100);
	CHECK_EQ(used_len(0), 100);
	rng_down();
}

TEST(readable_buffer_breaks_the_device)
{
	rng_up(UINT64_MAX, 1000);
	split_desc(vm, &ring, 0, BUF, 16, VRING_F_NEXT, 1);
	split_desc(vm, &ring, 1, BUF + 16, 16, VRING_F_WRITE, 0);
	split_offer(vm, &ring, 0);
	virtq_kick(vdev, 0);
	CHECK(virtio_status(vdev) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(gget16(vm, USED + 2), 0);
	rng_down();
}

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000 }, NULL);
}

TEST(kick_read_elsewhere_is_left_alone)
{
	vm = test_vm_new();
	struct virtio_device_config dc = { .type = VIRTIO_DEVICE_RNG,
					   .rng = { .max_bytes = UINT64_MAX, .period_ms = 1000 } };
	CHECK_EQ(virtio_rng_new(vm, &dc, &vdev), 0);
	virtio_dev_set_transport(vdev, &test_transport, NULL);
	CHECK_EQ(virtio_dev_start_thread(vdev), 0);
	test_driver_setup(vdev, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), &ring, 1);
	int fd = virtq_kick_fd(vdev, 0);
	CHECK(fd >= 0);
	virtq_set_kick_elsewhere(vdev, 0, true);
	split_desc(vm, &ring, 0, BUF, 64, VRING_F_WRITE, 0);
	split_offer(vm, &ring, 0);
	virtq_kick(vdev, 0);	/* what KVM's ioeventfd does */
	sleep_ms(50);
	/* the count is still there for vhost (with DRIVER_OK's kick if the
	 * thread had not taken that yet), and the queue untouched */
	uint64_t count = 0;
	CHECK_EQ(read(fd, &count, sizeof(count)), (ssize_t)sizeof(count));
	CHECK(count >= 1);
	CHECK_EQ(gget16(vm, USED + 2), 0);
	/* given back: the thread serves the next kick */
	virtq_set_kick_elsewhere(vdev, 0, false);
	virtq_kick(vdev, 0);
	for (int i = 0; i < 5000 && gget16(vm, USED + 2) != 1; i++)
		sleep_ms(1);
	CHECK_EQ(gget16(vm, USED + 2), 1);
	CHECK_EQ(used_len(0), 64);
	rng_down();
}

RUN_TESTS(T(unlimited), T(rate_limit_waits_for_next_period), T(readable_buffer_breaks_the_device),
	  T(kick_read_elsewhere_is_left_alone))
