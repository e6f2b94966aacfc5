/* virtio-mmio (version 2) driven as Linux's virtio_mmio driver drives it,
 * through the register file on the MMIO bus: identification, features,
 * queue set-up, notification, InterruptStatus/InterruptACK and the
 * interrupt line, reset; then what a hostile driver does: accesses of the
 * wrong size or at odd offsets, writes to read-only registers, queues
 * that do not exist, queue set-up out of order, QueueReady with rings
 * outside guest RAM, registers written after DRIVER_OK.  Also the slots
 * the board hands out, the ACPI description of each transport and the
 * kernel command line.  The devices are virtio-rng (served on the
 * notifying thread) and virtio-blk on a scratch file (for a device
 * configuration). */
#include "test.h"

#include <errno.h>
#include <unistd.h>

#include "blk_test.h"
#include "boot/acpi.h"
#include "boot/loaders.h"
#include "core/config.h"
#include "platform_vm.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_rng.h"
#include "virtio_test.h"

#define BASE 0xfeb00000ull
#define GSI 16
#define DESC 0x10000
#define AVAIL 0x11000
#define USED 0x12000
#define BUF 0x20000

/* registers */
#define MAGIC 0x000
#define VERSION 0x004
#define DEVICE_ID 0x008
#define VENDOR_ID 0x00c
#define DEV_FEATURES 0x010
#define DEV_FEATURES_SEL 0x014
#define DRV_FEATURES 0x020
#define DRV_FEATURES_SEL 0x024
#define QUEUE_SEL 0x030
#define QUEUE_NUM_MAX 0x034
#define QUEUE_NUM 0x038
#define QUEUE_READY 0x044
#define QUEUE_NOTIFY 0x050
#define INT_STATUS 0x060
#define INT_ACK 0x064
#define STATUS 0x070
#define QUEUE_DESC 0x080
#define QUEUE_DRIVER 0x090
#define QUEUE_DEVICE 0x0a0
#define SHM_LEN 0x0b0
#define CONFIG_GEN 0x0fc
#define CONFIG 0x100

static struct vm *machine(void)
{
	struct vm *vm = test_vm_new();
	vm->virtio_mmio = (struct vm_virtio_mmio){ .base = BASE, .gsi_base = GSI, .max = 8 };
	return vm;
}

static struct virtio_dev *add_rng(struct vm *vm)
{
	struct virtio_device_config dc = { .type = VIRTIO_DEVICE_RNG,
					   .transport = VIRTIO_TRANSPORT_MMIO,
					   .common = { .packed = true, .event_idx = true,
						       .indirect_desc = true, .vectors = -1 },
					   .rng = { .max_bytes = UINT64_MAX, .period_ms = 1000 } };
	struct virtio_dev *vdev;
	CHECK_EQ(virtio_rng_new(vm, &dc, &vdev), 0);
	struct virtio_mmio_params p = { .type = "virtio-rng-device", .no_queue_thread = true };
	CHECK_EQ(virtio_mmio_create(vm, vdev, &p), 0);
	return vdev;
}

static uint64_t mr(struct vm *vm, uint64_t off, unsigned size)
{
	uint64_t v;
	CHECK(io_bus_read(&vm->mmio, BASE + off, size, &v));
	return v;
}

static uint32_t r32(struct vm *vm, uint64_t off)
{
	return (uint32_t)mr(vm, off, 4);
}

static void mw(struct vm *vm, uint64_t off, unsigned size, uint64_t v)
{
	CHECK(io_bus_write(&vm->mmio, BASE + off, size, v));
}

static void w32(struct vm *vm, uint64_t off, uint32_t v)
{
	mw(vm, off, 4, v);
}

static struct test_ring ring = { .desc = DESC, .driver = AVAIL, .device = USED, .size = 8 };

static void queue_rings(struct vm *vm, uint64_t desc, uint64_t avail, uint64_t used)
{
	w32(vm, QUEUE_DESC, (uint32_t)desc);
	w32(vm, QUEUE_DESC + 4, (uint32_t)(desc >> 32));
	w32(vm, QUEUE_DRIVER, (uint32_t)avail);
	w32(vm, QUEUE_DRIVER + 4, (uint32_t)(avail >> 32));
	w32(vm, QUEUE_DEVICE, (uint32_t)used);
	w32(vm, QUEUE_DEVICE + 4, (uint32_t)(used >> 32));
}

/* Linux's order: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, the
 * queue (select, check it is not ready, size, rings, ready), DRIVER_OK */
static void driver_init(struct vm *vm, uint64_t features)
{
	w32(vm, STATUS, 0);
	CHECK_EQ(r32(vm, STATUS), 0);
	memset(vm->mem.base + DESC, 0, USED + 0x1000 - DESC);
	ring.avail_idx = 0;
	w32(vm, STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	w32(vm, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	w32(vm, DRV_FEATURES_SEL, 0);
	w32(vm, DRV_FEATURES, (uint32_t)features);
	w32(vm, DRV_FEATURES_SEL, 1);
	w32(vm, DRV_FEATURES, (uint32_t)(features >> 32));
	w32(vm, STATUS, 0x0b);
	CHECK_EQ(r32(vm, STATUS), 0x0b);
	w32(vm, QUEUE_SEL, 0);
	CHECK_EQ(r32(vm, QUEUE_READY), 0);
	CHECK_EQ(r32(vm, QUEUE_NUM_MAX), 64);
	w32(vm, QUEUE_NUM, 8);
	queue_rings(vm, DESC, AVAIL, USED);
	w32(vm, QUEUE_READY, 1);
	CHECK_EQ(r32(vm, QUEUE_READY), 1);
	w32(vm, STATUS, 0x0f);
	CHECK_EQ(r32(vm, STATUS), 0x0f);
}

static void offer_and_notify(struct vm *vm, uint16_t head, uint32_t len)
{
	split_desc(vm, &ring, head, BUF + 0x100u * head, len, VRING_F_WRITE, 0);
	split_offer(vm, &ring, head);
	w32(vm, QUEUE_NOTIFY, 0);
}

TEST(identity_and_features)
{
	struct vm *vm = machine();
	add_rng(vm);
	CHECK_EQ(r32(vm, MAGIC), 0x74726976);
	CHECK_EQ(r32(vm, VERSION), 2);
	CHECK_EQ(r32(vm, DEVICE_ID), VIRTIO_ID_RNG);
	CHECK_EQ(r32(vm, VENDOR_ID), 0x554d4551);
	w32(vm, DEV_FEATURES_SEL, 1);
	CHECK_EQ(r32(vm, DEV_FEATURES_SEL), 1);
	CHECK_EQ(r32(vm, DEV_FEATURES) & 1, 1);		/* VERSION_1 */
	CHECK_EQ(r32(vm, DEV_FEATURES) >> 2 & 1, 1);	/* RING_PACKED */
	w32(vm, DEV_FEATURES_SEL, 0);
	CHECK_EQ(r32(vm, DEV_FEATURES) >> 28 & 3, 3);	/* indirect, event index */
	w32(vm, DEV_FEATURES_SEL, 7);
	CHECK_EQ(r32(vm, DEV_FEATURES), 0);
	/* no shared memory regions: length and base all ones */
	CHECK_EQ(r32(vm, SHM_LEN), 0xffffffff);
	CHECK_EQ(r32(vm, SHM_LEN + 4), 0xffffffff);
	/* the rng has no configuration: it reads 0 */
	CHECK_EQ(mr(vm, CONFIG, 4), 0);
	CHECK_EQ(r32(vm, CONFIG_GEN), 0);
	/* the line starts low */
	CHECK_EQ(fake_irq_level[GSI], 0);
	test_vm_free(vm);
}

TEST(request_interrupt_and_ack)
{
	struct vm *vm = machine();
	struct virtio_dev *vdev = add_rng(vm);
	driver_init(vm, VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
	offer_and_notify(vm, 0, 64);
	CHECK_EQ(gget16(vm, USED + 2), 1);
	CHECK_EQ(gget32(vm, USED + 8), 64);
	CHECK_EQ(r32(vm, INT_STATUS), 1);
	CHECK_EQ(fake_irq_level[GSI], 1);
	CHECK_EQ(fake_irq_rises[GSI], 1);
	uint8_t rnd[64];
	guest_mem_read(&vm->mem, BUF, rnd, 64);
	int nonzero = 0;
	for (int i = 0; i < 64; i++)
		nonzero += rnd[i] != 0;
	CHECK(nonzero > 32);
	/* a second buffer while the bit is up: no new edge needed, the
	 * driver has not looked yet */
	offer_and_notify(vm, 1, 16);
	CHECK_EQ(fake_irq_rises[GSI], 1);
	w32(vm, INT_ACK, 1);
	CHECK_EQ(r32(vm, INT_STATUS), 0);
	CHECK_EQ(fake_irq_level[GSI], 0);
	/* the next one is a new edge */
	offer_and_notify(vm, 2, 16);
	CHECK_EQ(fake_irq_rises[GSI], 2);
	/* a configuration interrupt while the ring bit is up; the driver
	 * acknowledges only the bit it saw: the line gives a new edge for
	 * the other */
	virtio_config_changed(vdev);
	CHECK_EQ(r32(vm, INT_STATUS), 3);
	CHECK_EQ(r32(vm, CONFIG_GEN), 1);
	w32(vm, INT_ACK, 1);
	CHECK_EQ(r32(vm, INT_STATUS), 2);
	CHECK_EQ(fake_irq_level[GSI], 1);
	CHECK_EQ(fake_irq_rises[GSI], 3);
	w32(vm, INT_ACK, 2);
	CHECK_EQ(fake_irq_level[GSI], 0);
	/* reset: status, InterruptStatus and the queue go back */
	offer_and_notify(vm, 3, 16);
	CHECK_EQ(fake_irq_level[GSI], 1);
	w32(vm, STATUS, 0);
	CHECK_EQ(r32(vm, STATUS), 0);
	CHECK_EQ(r32(vm, INT_STATUS), 0);
	CHECK_EQ(fake_irq_level[GSI], 0);
	CHECK_EQ(r32(vm, QUEUE_READY), 0);
	CHECK_EQ(r32(vm, QUEUE_DESC), 0);
	/* and it works again */
	driver_init(vm, VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX));
	offer_and_notify(vm, 0, 32);
	CHECK_EQ(gget16(vm, USED + 2), 1);
	CHECK_EQ(r32(vm, INT_STATUS), 1);
	/* a machine reset too */
	for (int i = 0; i < vm->nr_devices; i++)
		vm->devices[i].reset(vm->devices[i].opaque);
	CHECK_EQ(r32(vm, STATUS), 0);
	CHECK_EQ(fake_irq_level[GSI], 0);
	test_vm_free(vm);
}

TEST(odd_accesses_are_ignored)
{
	struct vm *vm = machine();
	add_rng(vm);
	/* registers take 32-bit accesses at aligned offsets only */
	CHECK_EQ(mr(vm, MAGIC, 1), 0);
	CHECK_EQ(mr(vm, MAGIC, 2), 0);
	CHECK_EQ(mr(vm, MAGIC, 8), 0);
	CHECK_EQ(mr(vm, MAGIC + 1, 4), 0);
	CHECK_EQ(mr(vm, VERSION + 2, 2), 0);
	w32(vm, STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	mw(vm, STATUS, 1, 0);		/* a byte-wide reset is ignored */
	mw(vm, STATUS, 8, 0);
	mw(vm, STATUS + 1, 4, 0);
	CHECK_EQ(r32(vm, STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
	mw(vm, QUEUE_SEL, 2, 5);
	CHECK_EQ(r32(vm, QUEUE_SEL), 0);
	/* read-only registers keep their values; gaps read 0 */
	w32(vm, MAGIC, 0);
	w32(vm, VERSION, 1);
	w32(vm, DEVICE_ID, 9);
	w32(vm, QUEUE_NUM_MAX, 1024);
	w32(vm, INT_STATUS, 3);
	w32(vm, CONFIG_GEN, 5);
	CHECK_EQ(r32(vm, MAGIC), 0x74726976);
	CHECK_EQ(r32(vm, VERSION), 2);
	CHECK_EQ(r32(vm, DEVICE_ID), VIRTIO_ID_RNG);
	CHECK_EQ(r32(vm, QUEUE_NUM_MAX), 64);
	CHECK_EQ(r32(vm, INT_STATUS), 0);
	CHECK_EQ(r32(vm, CONFIG_GEN), 0);
	CHECK_EQ(fake_irq_level[GSI], 0);
	for (unsigned off = 0; off < CONFIG; off += 4)
		if (off == 0x018 || off == 0x03c || off == 0x0c0 || off == 0x0f0)
			CHECK_EQ(r32(vm, off), 0);
	/* every offset, width and value at once: nothing breaks */
	for (unsigned off = 0; off < VIRTIO_MMIO_SLOT_SIZE; off++) {
		if (off == STATUS || off == QUEUE_NOTIFY)
			continue;
		for (unsigned size = 1; size <= 8; size *= 2) {
			uint64_t v;
			io_bus_read(&vm->mmio, BASE + off, size, &v);
			io_bus_write(&vm->mmio, BASE + off, size, 0xffffffffffffffffull);
		}
	}
	CHECK_EQ(r32(vm, MAGIC), 0x74726976);
	/* past the slot is not the device's */
	uint64_t v;
	CHECK(!io_bus_read(&vm->mmio, BASE + VIRTIO_MMIO_SLOT_SIZE, 4, &v));
	/* a queue index past the last one: nothing to set, nothing to notify */
	w32(vm, STATUS, 0);
	w32(vm, QUEUE_SEL, 1);
	CHECK_EQ(r32(vm, QUEUE_NUM_MAX), 0);
	w32(vm, QUEUE_NUM, 8);
	w32(vm, QUEUE_READY, 1);
	CHECK_EQ(r32(vm, QUEUE_NUM), 0);
	CHECK_EQ(r32(vm, QUEUE_READY), 0);
	w32(vm, QUEUE_SEL, 0xffffffff);
	CHECK_EQ(r32(vm, QUEUE_NUM_MAX), 0);
	w32(vm, QUEUE_NOTIFY, 0xffffffff);
	w32(vm, QUEUE_NOTIFY, 1);
	test_vm_free(vm);
}

TEST(queue_setup_out_of_order)
{
	struct vm *vm = machine();
	add_rng(vm);
	w32(vm, STATUS, 0);
	w32(vm, STATUS, 3);
	w32(vm, DRV_FEATURES_SEL, 1);
	w32(vm, DRV_FEATURES, 1);
	/* DRIVER_OK before FEATURES_OK is refused */
	w32(vm, STATUS, 7);
	CHECK_EQ(r32(vm, STATUS) & VIRTIO_STATUS_DRIVER_OK, 0);
	w32(vm, STATUS, 0x0b);
	/* ready first, then addresses: once ready the registers are fixed */
	w32(vm, QUEUE_SEL, 0);
	w32(vm, QUEUE_NUM, 8);
	w32(vm, QUEUE_READY, 1);
	queue_rings(vm, DESC, AVAIL, USED);
	CHECK_EQ(r32(vm, QUEUE_DESC), 0);
	w32(vm, QUEUE_NUM, 16);
	CHECK_EQ(r32(vm, QUEUE_NUM), 8);
	/* ... until the driver gives the queue up, which Linux checks */
	w32(vm, QUEUE_READY, 0);
	CHECK_EQ(r32(vm, QUEUE_READY), 0);
	queue_rings(vm, DESC, AVAIL, USED);
	CHECK_EQ(r32(vm, QUEUE_DESC), DESC);
	CHECK_EQ(r32(vm, QUEUE_DRIVER), AVAIL);
	CHECK_EQ(r32(vm, QUEUE_DEVICE), USED);
	/* a size wider than 16 bits does not wrap into a valid one */
	w32(vm, QUEUE_NUM, 0x10008);
	CHECK(r32(vm, QUEUE_NUM) != 8);
	w32(vm, QUEUE_READY, 1);
	w32(vm, STATUS, 0x0f);
	CHECK(r32(vm, STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(r32(vm, INT_STATUS), 2);	/* told through a configuration interrupt */
	CHECK_EQ(fake_irq_level[GSI], 1);
	/* after DRIVER_OK nothing about the queue changes */
	w32(vm, STATUS, 0);
	driver_init(vm, VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
	w32(vm, QUEUE_READY, 0);
	CHECK_EQ(r32(vm, QUEUE_READY), 1);
	w32(vm, QUEUE_NUM, 4);
	w32(vm, QUEUE_DESC, 0x30000);
	CHECK_EQ(r32(vm, QUEUE_NUM), 8);
	CHECK_EQ(r32(vm, QUEUE_DESC), DESC);
	offer_and_notify(vm, 0, 8);
	CHECK_EQ(gget16(vm, USED + 2), 1);
	test_vm_free(vm);
}

/* QueueReady with rings the device cannot use: DRIVER_OK gives
 * DEVICE_NEEDS_RESET and a configuration interrupt, never an access
 * outside guest RAM; a reset brings the device back */
TEST(queue_ready_with_bad_addresses)
{
	static const struct { uint64_t desc, avail, used; uint32_t num; } bad[] = {
		{ 16ull << 20, AVAIL, USED, 8 },		/* past the end of RAM */
		{ DESC, (16ull << 20) - 2, USED, 8 },		/* runs past the end */
		{ DESC, AVAIL, 0xfffffffffffff000ull, 8 },	/* wraps */
		{ DESC + 1, AVAIL, USED, 8 },			/* misaligned */
		{ DESC, AVAIL, BASE, 8 },			/* the device's own registers */
		{ DESC, AVAIL, USED, 0 },			/* no size */
		{ DESC, AVAIL, USED, 6 },			/* not a power of two */
		{ DESC, AVAIL, USED, 128 },			/* more than QueueNumMax */
	};
	struct vm *vm = machine();
	add_rng(vm);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w32(vm, STATUS, 0);
		CHECK_EQ(fake_irq_level[GSI], 0);
		w32(vm, STATUS, 3);
		w32(vm, DRV_FEATURES_SEL, 1);
		w32(vm, DRV_FEATURES, 1);
		w32(vm, STATUS, 0x0b);
		w32(vm, QUEUE_NUM, bad[i].num);
		queue_rings(vm, bad[i].desc, bad[i].avail, bad[i].used);
		w32(vm, QUEUE_READY, 1);
		w32(vm, STATUS, 0x0f);
		CHECK(r32(vm, STATUS) & VIRTIO_STATUS_NEEDS_RESET);
		CHECK_EQ(r32(vm, INT_STATUS), 2);
		CHECK_EQ(fake_irq_level[GSI], 1);
		/* notifications of a broken device do nothing */
		w32(vm, QUEUE_NOTIFY, 0);
	}
	w32(vm, STATUS, 0);
	driver_init(vm, VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
	offer_and_notify(vm, 0, 8);
	CHECK_EQ(gget16(vm, USED + 2), 1);
	test_vm_free(vm);
}

/* virtio-blk's configuration from 0x100: capacity as one 64-bit access or
 * two 32-bit ones, and narrower reads */
TEST(device_configuration)
{
	struct vm *vm = machine();
	const char *path = blk_test_path("disk.img");
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	CHECK_EQ(ftruncate(fileno(f), 3 << 20), 0);
	fclose(f);
	struct drive_config dc = blk_test_drive(path);
	vm->cfg.drives[0] = dc;
	vm->cfg.nr_drives = 1;
	struct virtio_device_config cfg = {
		.type = VIRTIO_DEVICE_BLK, .transport = VIRTIO_TRANSPORT_MMIO,
		.common = { .packed = true, .event_idx = true, .indirect_desc = true, .vectors = -1 },
		.blk = { .drive = 0, .num_queues = 2, .queue_size = 128, .discard = true,
			 .write_zeroes = true },
	};
	CHECK_EQ(virtio_blk_mmio_create(vm, &cfg), 0);
	CHECK_EQ(r32(vm, DEVICE_ID), VIRTIO_ID_BLOCK);
	CHECK_EQ(mr(vm, CONFIG, 8), 3 << 11);
	CHECK_EQ(mr(vm, CONFIG, 4), 3 << 11);
	CHECK_EQ(mr(vm, CONFIG + 4, 4), 0);
	CHECK_EQ(mr(vm, CONFIG, 2), 3 << 11);
	CHECK_EQ(mr(vm, CONFIG + 1, 1), (3 << 11) >> 8);
	CHECK_EQ(mr(vm, CONFIG + 34, 2), 2);	/* num_queues */
	/* beyond the configuration: zeros */
	CHECK_EQ(mr(vm, VIRTIO_MMIO_SLOT_SIZE - 4, 4), 0);
	w32(vm, QUEUE_SEL, 1);
	CHECK_EQ(r32(vm, QUEUE_NUM_MAX), 128);
	w32(vm, QUEUE_SEL, 2);
	CHECK_EQ(r32(vm, QUEUE_NUM_MAX), 0);
	test_vm_free(vm);
}

TEST(slots_acpi_and_command_line)
{
	struct vm *vm = machine();
	vm->cfg.machine = MACHINE_MICROVM;
	vm->cfg.microvm = (struct microvm_config){ .pic = true, .pit = true, .rtc = true,
						   .acpi = true, .isa_serial = true,
						   .auto_kernel_cmdline = true };
	for (int i = 0; i < 8; i++)
		add_rng(vm);
	uint64_t v;
	CHECK(io_bus_read(&vm->mmio, BASE + 7 * VIRTIO_MMIO_SLOT_SIZE, 4, &v));
	CHECK_EQ(v, 0x74726976);
	/* the ninth has no slot */
	struct virtio_device_config dc = { .type = VIRTIO_DEVICE_RNG,
					   .rng = { .max_bytes = UINT64_MAX, .period_ms = 1000 } };
	struct virtio_dev *vdev;
	CHECK_EQ(virtio_rng_new(vm, &dc, &vdev), 0);
	struct virtio_mmio_params p = { .type = "virtio-rng-device", .no_queue_thread = true };
	CHECK_EQ(virtio_mmio_create(vm, vdev, &p), -ENOSPC);
	/* each slot interrupts on its own line */
	io_bus_write(&vm->mmio, BASE + 5 * VIRTIO_MMIO_SLOT_SIZE + STATUS, 4, 0x40 | 1);
	CHECK_EQ(fake_irq_level[GSI + 5], 0);

	/* with ACPI the DSDT says it all (as QEMU: a kernel that reads both
	 * would find each transport twice); without, the command line */
	char line[BOOT_CMDLINE_MAX];
	vm->cfg.append = "console=ttyS0";
	CHECK_EQ(boot_linux_cmdline(vm, line, sizeof(line)), 13);
	CHECK_STR(line, "console=ttyS0");
	vm->cfg.microvm.acpi = false;
	CHECK(!acpi_enabled(vm));
	int n = boot_linux_cmdline(vm, line, sizeof(line));
	CHECK(n > 0);
	CHECK_STR(line, "console=ttyS0 virtio_mmio.device=512@0xfeb00000:16 "
			"virtio_mmio.device=512@0xfeb00200:17 virtio_mmio.device=512@0xfeb00400:18 "
			"virtio_mmio.device=512@0xfeb00600:19 virtio_mmio.device=512@0xfeb00800:20 "
			"virtio_mmio.device=512@0xfeb00a00:21 virtio_mmio.device=512@0xfeb00c00:22 "
			"virtio_mmio.device=512@0xfeb00e00:23");
	CHECK_EQ(boot_linux_cmdline(vm, line, 40), -E2BIG);
	vm->cfg.microvm.auto_kernel_cmdline = false;
	CHECK_EQ(boot_linux_cmdline(vm, line, sizeof(line)), 13);
	CHECK_STR(line, "console=ttyS0");
	vm->cfg.microvm.acpi = true;

	/* the DSDT: a device per transport with its registers and edge line */
	uint64_t rsdp = acpi_build_tables(vm);
	CHECK(rsdp != 0);
	const uint8_t *area = vm->mem.base + ACPI_AREA_ADDR;
	size_t len = ACPI_AREA_END - ACPI_AREA_ADDR;
	unsigned found = 0;
	for (size_t i = 0; i + 48 < len; i++) {
		if (memcmp(area + i, "LNRO0005", 9))
			continue;
		/* Memory32Fixed then the Extended Interrupt descriptor */
		const uint8_t *r = memmem(area + i, 80, "\x86\x09\x00\x01", 4);
		CHECK(r != NULL);
		if (!r)
			break;
		uint32_t base, size, gsi;
		memcpy(&base, r + 4, 4);
		memcpy(&size, r + 8, 4);
		CHECK_EQ(base, BASE + found * VIRTIO_MMIO_SLOT_SIZE);
		CHECK_EQ(size, VIRTIO_MMIO_SLOT_SIZE);
		CHECK_EQ(r[12], 0x89);
		CHECK_EQ(r[15], 0x03);	/* consumer, edge, active high, exclusive */
		CHECK_EQ(r[16], 1);
		memcpy(&gsi, r + 17, 4);
		CHECK_EQ(gsi, GSI + found);
		found++;
	}
	CHECK_EQ(found, 8);
	/* the FADT's reset register is port 0x92, bit 0 (no 0xCF9 here) */
	const uint8_t *fadt = memmem(area, len, "FACP", 4);
	CHECK(fadt != NULL);
	if (fadt) {
		CHECK_EQ(fadt[116], 1);		/* system I/O */
		CHECK_EQ(fadt[120], 0x92);
		CHECK_EQ(fadt[128], 1);
	}
	/* no PCI host bridge on this machine */
	CHECK(memmem(area, len, "PCI0", 4) == NULL);
	CHECK(memmem(area, len, "VR07", 4) != NULL);
	test_vm_free(vm);
}

TEST(no_slots_on_the_pc)
{
	struct vm *vm = test_vm_new();
	struct virtio_device_config dc = { .type = VIRTIO_DEVICE_RNG,
					   .rng = { .max_bytes = UINT64_MAX, .period_ms = 1000 } };
	struct virtio_dev *vdev;
	CHECK_EQ(virtio_rng_new(vm, &dc, &vdev), 0);
	struct virtio_mmio_params p = { .type = "virtio-rng-device", .no_queue_thread = true };
	CHECK_EQ(virtio_mmio_create(vm, vdev, &p), -ENODEV);
	CHECK_EQ(vm->nr_devices, 0);
	test_vm_free(vm);
}

RUN_TESTS(T(identity_and_features), T(request_interrupt_and_ack), T(odd_accesses_are_ignored),
	  T(queue_setup_out_of_order), T(queue_ready_with_bad_addresses), T(device_configuration),
	  T(slots_acpi_and_command_line), T(no_slots_on_the_pc))
