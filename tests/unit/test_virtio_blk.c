/* virtio-blk over the real block layer on a raw file: each request type
 * through the rings of two queues, what reached the file, the
 * configuration a driver reads, a read-only drive, a malformed request
 * breaking the device, and a reset waiting for requests in flight.
 * Completions come on the block layer's threads: the test waits for the
 * used index (with a generous limit; nothing is timed). */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "block/block.h"
#include "core/config.h"
#include "platform_vm.h"
#include "virtio/virtio_blk.h"
#include "virtio_test.h"

#define DISK (1u << 20)
#define BUF 0x40000
#define HDR 0x30000
#define STATUS 0x38000
#define F_BLK_RO (1ull << 5)
#define F_BLK_MQ (1ull << 12)
#define F_BLK_DISCARD (1ull << 13)
#define F_BLK_WZ (1ull << 14)
#define F_BLK_FLUSH (1ull << 9)
#define F_BLK_CONFIG_WCE (1ull << 11)

static struct vm *vm;
static struct virtio_dev *vdev;
static char path[64];
static int fd;
static struct test_ring rings[2] = {
	{ .desc = 0x10000, .driver = 0x11000, .device = 0x12000, .size = 16 },
	{ .desc = 0x14000, .driver = 0x15000, .device = 0x16000, .size = 16 },
};
static uint16_t next_desc[2];
/* aio=io_uring, served on the device's queue thread, which then takes the
 * completions itself (blk_poll) */
static bool on_queue_thread;

static void disk_up(bool readonly, unsigned queues)
{
	snprintf(path, sizeof(path), "/tmp/minivmm-test-vblk-%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	uint8_t sector[512];
	for (unsigned i = 0; i < DISK / 512; i++) {
		memset(sector, (int)(i & 0xff), sizeof(sector));
		if (pwrite(fd, sector, sizeof(sector), (off_t)i * 512) != 512)
			abort();
	}
	vm = test_vm_new();
	struct drive_config dc = { .id = "d0", .file = path, .format = DRIVE_FORMAT_RAW,
				   .readonly = readonly, .discard = DRIVE_DISCARD_UNMAP,
				   .aio = on_queue_thread ? DRIVE_AIO_IO_URING : DRIVE_AIO_THREADS };
	struct blk *blk;
	CHECK_EQ(blk_open(&dc, &blk), 0);
	struct virtio_device_config cfg = {
		.type = VIRTIO_DEVICE_BLK,
		.common = { .packed = true, .event_idx = true, .indirect_desc = true },
		.blk = { .num_queues = queues, .queue_size = 16, .discard = true, .write_zeroes = true },
	};
	CHECK_EQ(virtio_blk_new(vm, &cfg, blk, "test-serial-0123456789", &vdev), 0);
	virtio_dev_set_transport(vdev, &test_transport, NULL);
	uint64_t f = VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | (vdev->host_features & ~(1ull << 34));
	if (on_queue_thread)
		CHECK_EQ(virtio_dev_start_thread(vdev), 0);
	test_driver_setup(vdev, f, rings, queues);
	next_desc[0] = next_desc[1] = 0;
}

static void disk_down(void)
{
	virtio_dev_reset(vdev);
	virtio_dev_cleanup(vdev);
	vdev->ops->destroy(vdev);
	test_vm_free(vm);
	close(fd);
	unlink(path);
}

/* Wait until queue q's used index is idx (false at once when the device
 * needs a reset: it touches the rings no more) */
static bool wait_used(unsigned q, uint16_t idx)
{
	for (int i = 0; i < 20000; i++) {
		if (gget16(vm, rings[q].device + 2) == idx)
			return true;
		if (virtio_status(vdev) & VIRTIO_STATUS_NEEDS_RESET)
			return false;
		usleep(500);
	}
	return false;
}

/* A request on queue q: header, data (out: device-readable), status;
 * returns the status byte (0xee: none came) */
static uint8_t request(unsigned q, uint32_t type, uint64_t sector, uint32_t len, bool data_out)
{
	struct test_ring *r = &rings[q];
	uint16_t d = next_desc[q];
	uint8_t hdr[16] = { 0 };
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	gput(vm, HDR + 16u * q, hdr, 16);
	gput(vm, STATUS + q, "\xee", 1);
	unsigned n = 0;
	uint16_t ids[3] = { d, (uint16_t)((d + 1) % 16), (uint16_t)((d + 2) % 16) };
	split_desc(vm, r, ids[n], HDR + 16u * q, 16, VRING_F_NEXT, ids[n + 1]);
	n++;
	if (len) {
		split_desc(vm, r, ids[n], BUF + 0x10000u * q, len,
			   (data_out ? 0 : VRING_F_WRITE) | VRING_F_NEXT, ids[n + 1]);
		n++;
	}
	split_desc(vm, r, ids[n], STATUS + q, 1, VRING_F_WRITE, 0);
	n++;
	next_desc[q] = (uint16_t)((d + n) % 16);
	uint16_t want = (uint16_t)(r->avail_idx + 1);
	split_offer(vm, r, d);
	virtq_kick(vdev, q);
	if (!wait_used(q, want))
		return 0xee;
	uint8_t st = 0xee;
	guest_mem_read(&vm->mem, STATUS + q, &st, 1);
	return st;
}

TEST(config_and_id)
{
	disk_up(false, 2);
	CHECK_EQ(virtio_config_read(vdev, 0, 4), DISK / 512);	/* capacity */
	CHECK_EQ(virtio_config_read(vdev, 4, 4), 0);
	CHECK_EQ(virtio_config_read(vdev, 12, 4), 14);	/* seg_max: queue size - 2 */
	CHECK_EQ(virtio_config_read(vdev, 20, 4), 512);	/* blk_size */
	CHECK_EQ(virtio_config_read(vdev, 34, 2), 2);	/* num_queues */
	CHECK(vdev->host_features & F_BLK_MQ);
	CHECK(vdev->host_features & F_BLK_DISCARD);
	CHECK(!(vdev->host_features & F_BLK_RO));
	CHECK_EQ(request(0, 8, 0, 20, false), 0);
	char id[21] = { 0 };
	guest_mem_read(&vm->mem, BUF, id, 20);
	CHECK_STR(id, "test-serial-01234567");	/* 20 bytes, not terminated */
	disk_down();
}

/* The write cache is honest: the drive's cache=writeback shows as
 * writeback=1 with CONFIG_WCE; the driver may turn it off; a driver that
 * does not take FLUSH (it could not make writes durable) gets writes
 * that are durable on completion, shown as writeback=0 */
TEST(write_cache)
{
	disk_up(false, 1);
	CHECK(vdev->host_features & F_BLK_FLUSH);
	CHECK(vdev->host_features & F_BLK_CONFIG_WCE);
	CHECK_EQ(virtio_config_read(vdev, 32, 1), 1);
	virtio_config_write(vdev, 32, 1, 0);
	CHECK_EQ(virtio_config_read(vdev, 32, 1), 0);
	CHECK_EQ(request(0, 1, 0, 512, true), 0);	/* a write, through to the file */
	virtio_config_write(vdev, 32, 1, 1);
	CHECK_EQ(virtio_config_read(vdev, 32, 1), 1);
	/* no FLUSH: no cache */
	uint64_t f = VIRTIO_FEATURE(VIRTIO_F_VERSION_1) |
		     (vdev->host_features & ~(1ull << 34) & ~F_BLK_FLUSH);
	gput(vm, rings[0].device, "\0\0\0\0", 4);	/* a fresh used ring */
	test_driver_setup(vdev, f, rings, 1);
	next_desc[0] = 0;
	CHECK_EQ(virtio_config_read(vdev, 32, 1), 0);
	virtio_config_write(vdev, 32, 1, 1);	/* without FLUSH it cannot be turned on */
	CHECK_EQ(virtio_config_read(vdev, 32, 1), 0);
	CHECK_EQ(request(0, 1, 0, 512, true), 0);
	disk_down();
}

static void read_write_all_kinds(void)
{
	disk_up(false, 2);
	/* read sectors 3 and 4 */
	CHECK_EQ(request(0, 0, 3, 1024, false), 0);
	uint8_t b[1024];
	guest_mem_read(&vm->mem, BUF, b, sizeof(b));
	CHECK(b[0] == 3 && b[511] == 3 && b[512] == 4 && b[1023] == 4);
	CHECK_EQ(gget32(vm, rings[0].device + 8), 1025);	/* used len: data and status */
	CHECK(guest_mem_test_and_clear_dirty(&vm->mem, BUF));
	/* write sector 10 through the second queue, then flush */
	memset(b, 0xab, 512);
	gput(vm, BUF + 0x10000, b, 512);
	CHECK_EQ(request(1, 1, 10, 512, true), 0);
	CHECK_EQ(request(1, 4, 0, 0, false), 0);
	uint8_t f[512];
	CHECK_EQ(pread(fd, f, 512, 10 * 512), 512);
	CHECK(f[0] == 0xab && f[511] == 0xab);
	/* write zeroes over it, with unmap allowed */
	uint8_t seg[16] = { 0 };
	uint64_t s = 10;
	uint32_t n = 1, flags = 1;
	memcpy(seg, &s, 8);
	memcpy(seg + 8, &n, 4);
	memcpy(seg + 12, &flags, 4);
	gput(vm, BUF, seg, 16);
	CHECK_EQ(request(0, 13, 0, 16, true), 0);
	CHECK_EQ(pread(fd, f, 512, 10 * 512), 512);
	CHECK(f[0] == 0 && f[511] == 0);
	/* discard: succeeds (the contents are unspecified afterwards) */
	s = 20;
	n = 8;
	flags = 0;
	memcpy(seg, &s, 8);
	memcpy(seg + 8, &n, 4);
	memcpy(seg + 12, &flags, 4);
	gput(vm, BUF, seg, 16);
	CHECK_EQ(request(0, 11, 0, 16, true), 0);
	/* off the end and unknown: answered without I/O */
	CHECK_EQ(request(0, 0, DISK / 512, 512, false), 1);
	CHECK_EQ(request(0, 0, DISK / 512 - 1, 1024, false), 1);
	CHECK_EQ(request(0, 99, 0, 0, false), 2);
	CHECK_EQ(virtio_status(vdev) & VIRTIO_STATUS_NEEDS_RESET, 0);
	disk_down();
}

TEST(read_write_flush_discard_zeroes)
{
	read_write_all_kinds();
}

TEST(read_write_on_the_queue_thread)
{
	on_queue_thread = true;
	read_write_all_kinds();
	on_queue_thread = false;
}

TEST(readonly_drive)
{
	disk_up(true, 1);
	CHECK(vdev->host_features & F_BLK_RO);
	CHECK(!(vdev->host_features & (F_BLK_DISCARD | F_BLK_WZ)));
	CHECK(!(vdev->host_features & F_BLK_MQ));
	CHECK_EQ(request(0, 0, 1, 512, false), 0);
	CHECK_EQ(request(0, 1, 1, 512, true), 1);	/* IOERR */
	CHECK_EQ(request(0, 13, 0, 16, true), 2);	/* not negotiated: UNSUPP */
	uint8_t f[512];
	CHECK_EQ(pread(fd, f, 512, 512), 512);
	CHECK_EQ(f[0], 1);
	disk_down();
}

TEST(malformed_request_breaks_the_device)
{
	disk_up(false, 1);
	/* a read whose data is device-readable */
	CHECK_EQ(request(0, 0, 0, 512, true), 0xee);
	CHECK(virtio_status(vdev) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(test_config_irqs, 1);
	memset(vm->mem.base + 0x10000, 0, 0x8000);
	test_driver_setup(vdev, VIRTIO_FEATURE(VIRTIO_F_VERSION_1), rings, 1);
	next_desc[0] = 0;
	CHECK_EQ(request(0, 0, 0, 512, false), 0);
	disk_down();
}

static void reset_with_reads_in_flight(void)
{
	disk_up(false, 1);
	/* five reads at once, then a reset before they can all be done */
	struct test_ring *r = &rings[0];
	for (uint16_t i = 0; i < 5; i++) {
		uint8_t hdr[16] = { 0 };
		uint64_t sector = i * 64;
		memcpy(hdr + 8, &sector, 8);
		gput(vm, HDR + 16u * i, hdr, 16);
		split_desc(vm, r, (uint16_t)(3 * i), HDR + 16u * i, 16, VRING_F_NEXT, (uint16_t)(3 * i + 1));
		split_desc(vm, r, (uint16_t)(3 * i + 1), BUF + 0x8000u * i, 32768,
			   VRING_F_WRITE | VRING_F_NEXT, (uint16_t)(3 * i + 2));
		split_desc(vm, r, (uint16_t)(3 * i + 2), STATUS + i, 1, VRING_F_WRITE, 0);
		split_offer(vm, r, (uint16_t)(3 * i));
	}
	virtq_kick(vdev, 0);
	virtio_set_status(vdev, 0);
	/* status reads 0 only once every read is back */
	int i;
	for (i = 0; i < 20000 && virtio_status(vdev) != 0; i++)
		usleep(500);
	CHECK_EQ(virtio_status(vdev), 0);
	unsigned inflight = 0;
	for (unsigned q = 0; q < vdev->nr_queues; q++)
		inflight += vdev->vqs[q].inflight;
	CHECK_EQ(inflight, 0);
	disk_down();
}

TEST(reset_waits_for_requests_in_flight)
{
	reset_with_reads_in_flight();
}

TEST(reset_waits_on_the_queue_thread)
{
	on_queue_thread = true;
	reset_with_reads_in_flight();
	on_queue_thread = false;
}

RUN_TESTS(T(config_and_id), T(write_cache), T(read_write_flush_discard_zeroes),
	  T(read_write_on_the_queue_thread), T(readonly_drive),
	  T(malformed_request_breaks_the_device), T(reset_waits_for_requests_in_flight),
	  T(reset_waits_on_the_queue_thread))
