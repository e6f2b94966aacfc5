#include "hw/pc.h"

#include "accel/tcg/tcg.h"
#include "core/vm.h"

#include <stdio.h>
#include "hw/i8259.h"
#include "hw/pc_bios.h"
#include "hw/pci.h"
#include "virtio/virtio_blk.h"
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

/* Each create function prints its own error, naming the device */
int pc_board_init(struct vm *vm)
{
	const struct vm_config *cfg = &vm->cfg;
	bool firmware = pc_boots_firmware(cfg);
	int ret;

	ret = pc_irqchip_init(vm);
	if (ret < 0)
		return ret;
	if ((ret = mc146818_rtc_create(vm, NULL)) < 0 || (ret = i8042_create(vm, NULL)) < 0 ||
	    (ret = port92_create(vm)) < 0 || (ret = port80_create(vm)) < 0 ||
	    (ret = pci_host_create(vm, &vm->pci)) < 0 || (ret = piix_create(vm, firmware)) < 0 ||
	    (ret = piix_ide_create(vm)) < 0)
		return ret;
	if (cfg->serial.kind != CHARDEV_NONE) {
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
	if (firmware && (ret = pc_bios_create(vm)) < 0)
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
	struct pc_boot_entry boot[PC_BIOS_MAX_BOOT];
	unsigned nboot = 0;
	for (unsigned i = 0; i < cfg->nr_virtio; i++) {
		const struct virtio_device_config *d = &cfg->virtio[i];
		switch (d->type) {
		case VIRTIO_DEVICE_RNG:
			ret = virtio_rng_pci_create(vm, d);
			break;
		case VIRTIO_DEVICE_BLK:
			ret = virtio_blk_pci_create(vm, d);
			if (ret == 0 && d->blk.bootindex >= 0 && nboot < PC_BIOS_MAX_BOOT) {
				int devfn = pci_bus_last_devfn(vm->pci);
				boot[nboot].bootindex = d->blk.bootindex;
				/* as QEMU names a virtio disk to SeaBIOS */
				snprintf(boot[nboot++].path, sizeof(boot[0].path),
					 "/pci@i0cf8/scsi@%x/disk@0,0", devfn >> 3);
			}
			break;
		}
		if (ret < 0)
			return ret;
	}
	if (firmware)
		return pc_bios_set_bootorder(vm, boot, nboot);
	/* as firmware would: PCI interrupts are level triggered, BARs placed */
	if (vm->pic)
		i8259_set_level_triggered(vm->pic, (uint16_t)pci_bus_gsi_mask(vm->pci));
	pci_bus_assign_bars(vm->pci);
	return 0;
}
