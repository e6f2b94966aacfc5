/* libFuzzer target: the virtio-pci register handlers.  The input is a
 * program of config-space and BAR accesses (any offset, width and value)
 * against a virtio-rng-pci function, with guest RAM taken from the input
 * too, so that notifications reach the rings: the common configuration,
 * ISR, notify region, MSI-X table and PBA, the PCI configuration access
 * capability, BAR moves, resets in any state. */
// FUZZ_SOURCES: src/virtio/virtio.c src/virtio/virtqueue.c src/virtio/virtio_pci.c src/virtio/virtio_pci_irqfd.c src/virtio/virtio_mmio.c src/virtio/virtio_rng.c src/mem/*.c src/core/vm.c src/core/clock.c src/core/timer.c src/core/log.c src/hw/pci_host.c src/hw/msix.c
#include "core/config.h"
#include "fuzz_virtio.h"
#include "hw/pci.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_rng.h"

#define DEVFN 8
#define MAX_OPS 256

static struct vm vm;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_vm_init(&vm);
	if (pci_host_create(&vm, &vm.pci) < 0)
		abort();
	return 0;
}

static uint64_t bar_base(struct vm *vm, unsigned bar)
{
	uint64_t v;
	io_bus_write(&vm->pio, 0xcf8, 4, 0x80000000u | DEVFN << 8 | (0x10 + 4 * bar));
	io_bus_read(&vm->pio, 0xcfc, 4, &v);
	uint64_t a = v & ~0xfull;
	if (bar == 4) {
		io_bus_write(&vm->pio, 0xcf8, 4, 0x80000000u | DEVFN << 8 | 0x24);
		io_bus_read(&vm->pio, 0xcfc, 4, &v);
		a |= v << 32;
	}
	return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in = { data, size };
	uint8_t control = fz_u8(&in);
	unsigned nops = fz_u8(&in) % MAX_OPS;
	int nr_devices = vm.nr_devices;

	struct virtio_device_config dc = {
		.type = VIRTIO_DEVICE_RNG,
		.common = fz_common_config(control),
		.rng = { .max_bytes = UINT64_MAX, .period_ms = 100 },
	};
	struct virtio_dev *vdev;
	if (virtio_rng_new(&vm, &dc, &vdev) < 0)
		abort();
	struct virtio_pci_params p = { .type = "virtio-rng-pci", .class_code = PCI_CLASS_OTHER,
				       .vectors = control & 8 ? 0 : 1 + (control >> 4) % 4,
				       .no_queue_thread = true };
	if (virtio_pci_create(&vm, vdev, &p) < 0)
		abort();
	pci_bus_assign_bars(vm.pci);

	/* the program first, then the rest of the input is guest RAM */
	struct fz_input prog = fz_split(&in, (size_t)nops * 8);
	fz_fill_ram(&vm, &in);

	static const unsigned sizes[] = { 1, 2, 4, 8 };
	while (prog.left) {
		uint8_t op = fz_u8(&prog);
		unsigned sz = sizes[op >> 6];
		uint16_t off = fz_u16(&prog);
		uint32_t val = fz_u32(&prog);
		uint64_t v;
		switch (op & 7) {
		case 0:		/* config space read */
		case 1:		/* config space write */
			io_bus_write(&vm.pio, 0xcf8, 4, 0x80000000u | DEVFN << 8 | (off & 0xfc));
			if (sz > 4)
				sz = 4;
			if (op & 1)
				io_bus_write(&vm.pio, 0xcfc + (off & 3), sz, val);
			else
				io_bus_read(&vm.pio, 0xcfc + (off & 3), sz, &v);
			break;
		case 2:		/* the modern BAR */
		case 3:
		case 4:
			if (op & 1)
				io_bus_write(&vm.mmio, bar_base(&vm, 4) + (off & 0x3fff), sz,
					     val | (uint64_t)val << 32);
			else
				io_bus_read(&vm.mmio, bar_base(&vm, 4) + (off & 0x3fff), sz, &v);
			break;
		case 5:		/* the MSI-X BAR */
		case 6:
			if (op & 1)
				io_bus_write(&vm.mmio, bar_base(&vm, 1) + (off & 0xfff), sz, val);
			else
				io_bus_read(&vm.mmio, bar_base(&vm, 1) + (off & 0xfff), sz, &v);
			break;
		case 7:		/* a machine reset */
			if (off == 0x1234)
				for (int i = 0; i < vm.nr_devices; i++)
					vm.devices[i].reset(vm.devices[i].opaque);
			break;
		}
	}
	/* the device goes; the bus (and its reset state) stays */
	for (int i = vm.nr_devices - 1; i >= nr_devices; i--)
		vm.devices[i].destroy(vm.devices[i].opaque);
	vm.nr_devices = nr_devices;
	for (int i = 0; i < vm.nr_devices; i++)
		vm.devices[i].reset(vm.devices[i].opaque);
	return 0;
}
