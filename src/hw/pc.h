/* The PC board: which devices exist and where, from struct vm_config. */
#ifndef MINIVMM_PC_H
#define MINIVMM_PC_H

#include <stdint.h>

#include "core/config.h"

struct vm;
struct uart16550;

int pc_board_init(struct vm *vm);

/* One creation function per device; each registers its I/O ranges and its
 * life cycle with the vm, and returns 0 or a negative errno. */
int uart16550_create(struct vm *vm, uint16_t base, unsigned irq, const struct chardev_config *out,
		     struct uart16550 **uart);
int isa_debug_exit_create(struct vm *vm, uint16_t iobase, uint16_t iosize);
int debugcon_create(struct vm *vm, uint16_t port, const struct chardev_config *out);
int fw_cfg_create(struct vm *vm);
int pc_testdev_create(struct vm *vm);

#endif
