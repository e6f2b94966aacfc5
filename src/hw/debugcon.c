/* isa-debugcon (QEMU's -debugcon, Bochs' port 0xe9 hack): each byte the
 * guest writes goes to a character sink.  A read returns 0xe9, QEMU's
 * default readback, which guests test to see whether the port is there.
 * The port has no status to make a guest wait: when the sink's reader
 * falls a buffer behind, bytes are dropped. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/chardev.h"
#include "core/log.h"
#include "core/vm.h"
#include "hw/pc.h"

#define DEBUGCON_READBACK 0xe9

struct debugcon {
	struct vm *vm;
	uint16_t port;
	struct chardev out;
};

static uint64_t debugcon_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return DEBUGCON_READBACK;
}

/* The port is one byte wide: the bus splits wider writes, so only the
 * low byte of value is ours. */
static void debugcon_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct debugcon *d = opaque;
	uint8_t byte = (uint8_t)value;
	(void)offset;
	(void)size;
	chardev_write(&d->out, &byte, 1);
}

static const struct io_ops debugcon_ops = {
	.read = debugcon_read,
	.write = debugcon_write,
};

static void debugcon_destroy(void *opaque)
{
	struct debugcon *d = opaque;
	io_bus_unregister(&d->vm->pio, d->port);
	chardev_close(&d->out);
	free(d);
}

int debugcon_create(struct vm *vm, uint16_t port, const struct chardev_config *out)
{
	struct debugcon *d = calloc(1, sizeof(*d));
	int ret;

	if (!d) {
		log_error("debugcon: out of memory");
		return -ENOMEM;
	}
	d->vm = vm;
	d->port = port;
	d->out.fd = -1;
	/* the port first: a failed device must not truncate its output file */
	ret = io_bus_register(&vm->pio, port, 1, &debugcon_ops, d, "debugcon");
	if (ret < 0) {
		log_error("debugcon: cannot claim port 0x%x: %s", port,
			  ret == -EEXIST ? "another device uses it" : strerror(-ret));
		free(d);
		return ret;
	}
	ret = chardev_open(&d->out, vm, out);
	if (ret < 0)
		goto fail;
	ret = vm_add_device(vm, "debugcon", d, NULL, debugcon_destroy);
	if (ret < 0) {
		log_error("debugcon: too many devices");
		goto fail;
	}
	return 0;
fail:
	io_bus_unregister(&vm->pio, port);
	chardev_close(&d->out);
	free(d);
	return ret;
}
