/* System control port A (0x92), the "fast A20 and reset" port of PS/2 and
 * later PCs: bit 1 is one input of the A20 gate (pc_set_a20_input; the
 * other is the i8042's), setting bit 0 resets the machine. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/pc.h"
#include "hw/pc_bios.h"

#define PORT92 0x92
#define PORT92_RESET 0x01
#define PORT92_A20 0x02

struct port92 {
	struct vm *vm;
	uint8_t value;
};

static uint64_t port92_read(void *opaque, uint64_t offset, unsigned size)
{
	struct port92 *p = opaque;
	(void)offset;
	(void)size;
	return p->value;
}

static void port92_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct port92 *p = opaque;
	uint8_t old = p->value;
	(void)offset;
	(void)size;
	p->value = (uint8_t)value;
	pc_set_a20_input(p->vm, PC_A20_PORT92, value & PORT92_A20);
	/* the reset pulse is the rising edge of bit 0 */
	if ((value & PORT92_RESET) && !(old & PORT92_RESET))
		vm_request_reset(p->vm);
}

static const struct io_ops port92_ops = { .read = port92_read, .write = port92_write };

static void port92_reset(void *opaque)
{
	struct port92 *p = opaque;
	/* booting a kernel directly, leave A20 on as firmware would */
	p->value = pc_boots_firmware(&p->vm->cfg) ? 0 : PORT92_A20;
	pc_set_a20_input(p->vm, PC_A20_PORT92, p->value & PORT92_A20);
}

static void port92_destroy(void *opaque)
{
	free(opaque);
}

int port92_create(struct vm *vm)
{
	struct port92 *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	p->vm = vm;
	ret = vm_add_device(vm, "port92", p, port92_reset, port92_destroy);
	if (ret < 0) {
		free(p);
		return ret;
	}
	port92_reset(p);
	ret = io_bus_register(&vm->pio, PORT92, 1, &port92_ops, p, "port92");
	if (ret < 0)
		log_error("port 0x92: cannot register: %s", strerror(-ret));
	return ret;
}
