/* The POST diagnostic port 0x80.  Firmware writes progress codes there
 * and Linux writes to it as an I/O delay (outb_p), thousands of times
 * while booting: it must be a device, not an unassigned port that -d
 * unimp reports.  A read returns the last code, as POST cards show it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/pc.h"

#define PORT80 0x80

struct port80 {
	uint8_t code;
};

static uint64_t port80_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)offset;
	(void)size;
	return ((struct port80 *)opaque)->code;
}

static void port80_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	(void)offset;
	(void)size;
	((struct port80 *)opaque)->code = (uint8_t)value;
}

static const struct io_ops port80_ops = { .read = port80_read, .write = port80_write };

static void port80_destroy(void *opaque)
{
	free(opaque);
}

int port80_create(struct vm *vm)
{
	struct port80 *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	ret = vm_add_device(vm, "port80", p, NULL, port80_destroy);
	if (ret < 0) {
		free(p);
		return ret;
	}
	ret = io_bus_register(&vm->pio, PORT80, 1, &port80_ops, p, "post");
	if (ret < 0)
		log_error("port 0x80: cannot register: %s", strerror(-ret));
	return ret;
}
