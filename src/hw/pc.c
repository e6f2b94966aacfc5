#include "hw/pc.h"

#include <errno.h>
#include <stdio.h>

#include "accel/tcg/tcg.h"
#include "core/vm.h"
#include "hw/i8259.h"
#include "hw/pc_bios.h"
#include "hw/pci.h"
#include "virtio/vhost_user_blk.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_console.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_rng.h"

#define COM1_BASE 0x3f8
#define COM1_IRQ 4
#define DEBUGCON_PORT 0xe9

/* The interrupt controllers and the PIT, unless the engine has them */
static int pc_irqchip_init(struct vm *vm)
{
	int ret;

	if (vm->accel->kernel_irqchip)
		return 0;
	/* before any device that raises an interrupt */
	ret = i8259_create(vm, &vm->pic);
	if (ret < 0)
		return ret;
	/* local APICs and the I/O APIC, layered over the PIC */
	ret = irq_router_create(vm);
	if (ret < 0)
		return ret;
	return i8254_create(vm, NULL);
}

void pc_set_a20_input(struct vm *vm, enum pc_a20_input input, bool on)
{
	uint8_t before = vm->a20_inputs;
	vm->a20_inputs = (uint8_t)(on ? before | input : before & ~input);
	if (!before != !vm->a20_inputs)
		tcg_set_a20(vm, vm->a20_inputs != 0);
}

/* A device's creation on each transport: [type][transport] */
typedef int (*virtio_create_fn)(struct vm *vm, const struct virtio_device_config *cfg);
static const virtio_create_fn virtio_creators[][2] = {
	[VIRTIO_DEVICE_RNG] = { virtio_rng_pci_create, virtio_rng_mmio_create },
	[VIRTIO_DEVICE_BLK] = { virtio_blk_pci_create, virtio_blk_mmio_create },
	[VIRTIO_DEVICE_NET] = { virtio_net_pci_create, virtio_net_mmio_create },
	[VIRTIO_DEVICE_VHOST_USER_BLK] = { vhost_user_blk_pci_create, NULL },
	[VIRTIO_DEVICE_SERIAL] = { virtio_console_pci_create, virtio_console_mmio_create },
};
_Static_assert(sizeof(virtio_creators) / sizeof(virtio_creators[0]) == VIRTIO_DEVICE_NR_TYPES,
	       "a creator for every virtio device type");

int board_virtio_create(struct vm *vm, struct pc_boot_entry *boot, unsigned *nboot)
{
	const struct vm_config *cfg = &vm->cfg;
	for (unsigned i = 0; i < cfg->nr_virtio; i++) {
		const struct virtio_device_config *d = &cfg->virtio[i];
		bool mmio = d->transport == VIRTIO_TRANSPORT_MMIO;
		virtio_create_fn create = virtio_creators[d->type][mmio];
		int ret = create ? create(vm, d) : -EINVAL;	/* the CLI offers no such pair */
		if (ret < 0)
			return ret;
		if (boot && !mmio && d->type == VIRTIO_DEVICE_BLK && d->blk.bootindex >= 0 &&
		    *nboot < PC_BIOS_MAX_BOOT) {
			int devfn = pci_bus_last_devfn(vm->pci);
			boot[*nboot].bootindex = d->blk.bootindex;
			/* as QEMU names a virtio disk to SeaBIOS */
			snprintf(boot[(*nboot)++].path, sizeof(boot[0].path),
				 "/pci@i0cf8/scsi@%x/disk@0,0", devfn >> 3);
		}
	}
	return 0;
}

int board_isa_devices_create(struct vm *vm, bool com1)
{
	const struct vm_config *cfg = &vm->cfg;
	int ret;

	if (com1 && cfg->serial.kind != CHARDEV_NONE) {
		ret = uart16550_create(vm, COM1_BASE, COM1_IRQ, &cfg->serial, &vm->com1);
		if (ret < 0)
			return ret;
	}
	if (cfg->debugcon.kind != CHARDEV_NONE) {
		ret = debugcon_create(vm, cfg->debugcon_port ? cfg->debugcon_port : DEBUGCON_PORT,
				      &cfg->debugcon);
		if (ret < 0)
			return ret;
	}
	ret = fw_cfg_create(vm);
	if (ret < 0)
		return ret;
	if (cfg->debug_exit) {
		ret = isa_debug_exit_create(vm, cfg->debug_exit_iobase, cfg->debug_exit_iosize);
		if (ret < 0)
			return ret;
	}
	if (cfg->pc_testdev) {
		ret = pc_testdev_create(vm);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Each create function prints its own error, naming the device */
int pc_board_init(struct vm *vm)
{
	const struct vm_config *cfg = &vm->cfg;
	bool firmware = pc_boots_firmware(cfg);
	int ret;

	if (cfg->machine == MACHINE_MICROVM)
		return microvm_board_init(vm);

	ret = pc_irqchip_init(vm);
	if (ret < 0)
		return ret;
	if ((ret = mc146818_rtc_create(vm, NULL)) < 0 || (ret = i8042_create(vm, NULL)) < 0 ||
	    (ret = port92_create(vm)) < 0 || (ret = port80_create(vm)) < 0 ||
	    (ret = pci_host_create(vm, &vm->pci)) < 0 || (ret = piix_create(vm, firmware)) < 0 ||
	    (ret = piix_ide_create(vm)) < 0)
		return ret;
	ret = board_isa_devices_create(vm, true);
	if (ret < 0)
		return ret;
	if (firmware && (ret = pc_bios_create(vm)) < 0)
		return ret;
	struct pc_boot_entry boot[PC_BIOS_MAX_BOOT];
	unsigned nboot = 0;
	ret = board_virtio_create(vm, boot, &nboot);
	if (ret < 0)
		return ret;
	if (firmware)
		return pc_bios_set_bootorder(vm, boot, nboot);
	/* as firmware would: PCI interrupts are level triggered, BARs placed */
	if (vm->pic)
		i8259_set_level_triggered(vm->pic, (uint16_t)pci_bus_gsi_mask(vm->pci));
	pci_bus_assign_bars(vm->pci);
	return 0;
}
