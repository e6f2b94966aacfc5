/* libFuzzer target: the virtio-mmio register handler.  The input is a
 * program of register accesses (any offset in the slot, any width and
 * value; offsets are drawn mostly from the real registers so that set-up
 * sequences happen) against a virtio-rng-device, with guest RAM taken
 * from the input too, so that notifications reach the rings: features,
 * status in any order, queue registers before and after QueueReady and
 * DRIVER_OK, QueueNotify for any queue, InterruptACK, the configuration
 * space, machine resets in any state.  Checked besides the sanitizers:
 * the interrupt line is up exactly while InterruptStatus is not zero. */
// FUZZ_SOURCES: src/virtio/virtio.c src/virtio/virtqueue.c src/virtio/virtio_mmio.c src/virtio/virtio_pci.c src/virtio/virtio_pci_irqfd.c src/hw/pci_host.c src/hw/msix.c src/virtio/virtio_rng.c src/mem/*.c src/core/vm.c src/core/clock.c src/core/timer.c src/core/log.c
#include "core/config.h"
#include "fuzz_virtio.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_rng.h"

#define BASE 0xfeb00000ull
#define GSI 16
#define MAX_OPS 256

static struct vm vm;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_vm_init(&vm);
	return 0;
}

/* The registers a driver uses, so that most accesses land on one */
static const uint16_t regs[] = {
	0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0x020, 0x024, 0x030, 0x034, 0x038,
	0x044, 0x050, 0x060, 0x064, 0x070, 0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4,
	0x0ac, 0x0b0, 0x0b8, 0x0fc, 0x100, 0x104,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in = { data, size };
	uint8_t control = fz_u8(&in);
	unsigned nops = fz_u8(&in) % MAX_OPS;
	int nr_devices = vm.nr_devices;

	vm.virtio_mmio = (struct vm_virtio_mmio){ .base = BASE, .gsi_base = GSI, .max = 1 };
	memset(fake_irq_level, 0, sizeof(fake_irq_level));
	struct virtio_device_config dc = {
		.type = VIRTIO_DEVICE_RNG,
		.transport = VIRTIO_TRANSPORT_MMIO,
		.common = fz_common_config(control),
		.rng = { .max_bytes = control & 8 ? 64 : UINT64_MAX, .period_ms = 100 },
	};
	struct virtio_dev *vdev;
	if (virtio_rng_new(&vm, &dc, &vdev) < 0)
		abort();
	struct virtio_mmio_params p = { .type = "virtio-rng-device", .no_queue_thread = true };
	if (virtio_mmio_create(&vm, vdev, &p) < 0)
		abort();

	/* the program first, then the rest of the input is guest RAM */
	struct fz_input prog = fz_split(&in, (size_t)nops * 8);
	fz_fill_ram(&vm, &in);

	static const unsigned sizes[] = { 4, 4, 1, 2, 8, 4, 4, 4 };
	while (prog.left) {
		uint8_t op = fz_u8(&prog);
		unsigned sz = sizes[op >> 5];
		uint16_t off = fz_u16(&prog);
		uint32_t val = fz_u32(&prog);
		uint64_t v;
		/* mostly a real register, else anywhere in the slot */
		uint64_t at = off & 0x8000 ? off % VIRTIO_MMIO_SLOT_SIZE :
					     regs[off % (sizeof(regs) / sizeof(regs[0]))];
		switch (op & 3) {
		case 0:
			io_bus_read(&vm.mmio, BASE + at, sz, &v);
			break;
		case 1:
		case 2:
			io_bus_write(&vm.mmio, BASE + at, sz, val | (uint64_t)val << 32);
			break;
		case 3:		/* a machine reset */
			if ((off & 0xff) == 0x34)
				for (int i = 0; i < vm.nr_devices; i++)
					vm.devices[i].reset(vm.devices[i].opaque);
			break;
		}
		io_bus_read(&vm.mmio, BASE + 0x060, 4, &v);
		if ((v != 0) != (fake_irq_level[GSI] != 0))
			abort();	/* the line does not follow InterruptStatus */
	}
	/* the device goes */
	for (int i = vm.nr_devices - 1; i >= nr_devices; i--)
		vm.devices[i].destroy(vm.devices[i].opaque);
	vm.nr_devices = nr_devices;
	return 0;
}
