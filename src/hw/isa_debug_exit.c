/* isa-debug-exit: a guest ends the run by writing a value v to its ports,
 * and minivmm exits with status (v << 1) | 1, as QEMU computes it (an odd
 * status, so a test guest can never fake a plain exit 0; the OS keeps the
 * low 8 bits).  Reads return 0, as in QEMU. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/pc.h"

struct isa_debug_exit {
	struct vm *vm;
	uint16_t iobase;
};

static uint64_t isa_debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return 0;
}

static void isa_debug_exit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct isa_debug_exit *d = opaque;
	(void)offset;
	(void)size;
	/* value holds exactly the bytes written (the bus masks it to size) */
	vm_request_exit(d->vm, (int)((value << 1) | 1));
}

static const struct io_ops isa_debug_exit_ops = {
	.read = isa_debug_exit_read,
	.write = isa_debug_exit_write,
};

static void isa_debug_exit_destroy(void *opaque)
{
	struct isa_debug_exit *d = opaque;
	io_bus_unregister(&d->vm->pio, d->iobase);
	free(d);
}

int isa_debug_exit_create(struct vm *vm, uint16_t iobase, uint16_t iosize)
{
	struct isa_debug_exit *d;
	int ret;

	if (iosize == 0 || (uint32_t)iobase + iosize > 0x10000) {
		log_error("isa-debug-exit: iobase=0x%x,iosize=0x%x does not fit the I/O space",
			  iobase, iosize);
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		log_error("isa-debug-exit: out of memory");
		return -ENOMEM;
	}
	d->vm = vm;
	d->iobase = iobase;
	ret = io_bus_register(&vm->pio, iobase, iosize, &isa_debug_exit_ops, d, "isa-debug-exit");
	if (ret < 0) {
		log_error("isa-debug-exit: cannot claim ports 0x%x-0x%x: %s", iobase,
			  iobase + iosize - 1,
			  ret == -EEXIST ? "another device uses them" : strerror(-ret));
		free(d);
		return ret;
	}
	ret = vm_add_device(vm, "isa-debug-exit", d, NULL, isa_debug_exit_destroy);
	if (ret < 0) {
		log_error("isa-debug-exit: too many devices");
		io_bus_unregister(&vm->pio, iobase);
		free(d);
		return ret;
	}
	return 0;
}
