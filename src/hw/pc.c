#include "hw/pc.h"

#include <string.h>

#include "core/log.h"
#include "core/vm.h"

#define COM1_BASE 0x3f8
#define COM1_IRQ 4
#define DEBUGCON_PORT 0xe9

int pc_board_init(struct vm *vm)
{
	const struct vm_config *cfg = &vm->cfg;
	int ret;

	if (cfg->serial.kind != CHARDEV_NONE) {
		ret = uart16550_create(vm, COM1_BASE, COM1_IRQ, &cfg->serial, &vm->com1);
		if (ret < 0)
			return ret;
	}
	if (cfg->debugcon.kind != CHARDEV_NONE) {
		ret = debugcon_create(vm, DEBUGCON_PORT, &cfg->debugcon);
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
