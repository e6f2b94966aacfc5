/* pc-testdev: the test device of QEMU's hw/misc/pc-testdev.c, which the
 * KVM unit tests drive (with -device isa-debug-exit,iobase=0xf4,iosize=4):
 *
 *   0xe0-0xe3  a 32-bit scratch register, any access size and offset
 *   0xe4-0xe7  "flush page": a 32-bit write names a guest page
 *   0xe8-0xeb  the same scratch register again, taken a byte at a time
 *   0x2000-0x2017  a byte write of v at 0x2000 + n drives interrupt line
 *              n (GSI n) to !!v
 *   0xff000000-0xff00ffff  64 KiB of scratch MMIO, sizes 1, 2, 4 and 8
 *
 * The flush port exists so that QEMU can mprotect the page and make KVM
 * drop its mapping.  We accept the write and do not do that: another
 * thread (a vCPU, a device) touching the page in the window would fault
 * and take minivmm down, and a guest must not be able to do that.  The
 * flush and interrupt ports read 0, as they do in QEMU. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/pc.h"

#define TESTDEV_PORT_SCRATCH 0xe0
#define TESTDEV_PORT_FLUSH 0xe4
#define TESTDEV_PORT_SCRATCH_BYTES 0xe8
#define TESTDEV_PORT_IRQ 0x2000
#define TESTDEV_NR_IRQS 24
#define TESTDEV_IOMEM_BASE 0xff000000ull
#define TESTDEV_IOMEM_SIZE 0x10000

struct pc_testdev;

/* One of 0xe8-0xeb, registered a port at a time */
struct testdev_byte_port {
	struct pc_testdev *t;
	unsigned index;
};

/* What we registered, so that unwinding removes only our own ranges */
enum {
	TESTDEV_RANGE_SCRATCH,
	TESTDEV_RANGE_FLUSH,
	TESTDEV_RANGE_BYTE0,	/* .. BYTE0 + 3 */
	TESTDEV_RANGE_IRQ = TESTDEV_RANGE_BYTE0 + 4,
	TESTDEV_RANGE_IOMEM,
	TESTDEV_NR_RANGES,
};

struct pc_testdev {
	struct vm *vm;
	uint32_t scratch;
	struct testdev_byte_port byte_ports[4];
	bool registered[TESTDEV_NR_RANGES];
	uint8_t iomem[TESTDEV_IOMEM_SIZE];
};

/* The bus keeps offset + size within the 4-byte range */
static uint32_t scratch_mask(uint64_t offset, unsigned size)
{
	uint64_t bits = size >= 4 ? 0xffffffffull : (1ull << (8 * size)) - 1;
	return (uint32_t)(bits << (8 * offset));
}

static uint64_t testdev_scratch_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pc_testdev *t = opaque;
	return (t->scratch & scratch_mask(offset, size)) >> (8 * offset);
}

static void testdev_scratch_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pc_testdev *t = opaque;
	uint32_t mask = scratch_mask(offset, size);
	t->scratch = (t->scratch & ~mask) | ((uint32_t)(value << (8 * offset)) & mask);
}

static const struct io_ops testdev_scratch_ops = {
	.read = testdev_scratch_read,
	.write = testdev_scratch_write,
};

/* 0xe8-0xeb: each port is byte index of the scratch register */
static uint64_t testdev_scratch_byte_read(void *opaque, uint64_t offset, unsigned size)
{
	const struct testdev_byte_port *p = opaque;
	(void)offset;
	(void)size;
	return testdev_scratch_read(p->t, p->index, 1);
}

static void testdev_scratch_byte_write(void *opaque, uint64_t offset, unsigned size,
				       uint64_t value)
{
	const struct testdev_byte_port *p = opaque;
	(void)offset;
	(void)size;
	testdev_scratch_write(p->t, p->index, 1, value);
}

static const struct io_ops testdev_scratch_byte_ops = {
	.read = testdev_scratch_byte_read,
	.write = testdev_scratch_byte_write,
};

static uint64_t testdev_read_zero(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return 0;
}

/* Accepted and dropped on purpose: see the top of the file */
static void testdev_flush_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	(void)opaque;
	(void)offset;
	(void)size;
	(void)value;
}

static const struct io_ops testdev_flush_ops = {
	.read = testdev_read_zero,
	.write = testdev_flush_write,
};

static void testdev_irq_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pc_testdev *t = opaque;
	/* byte writes only, as in QEMU; wider ones are dropped */
	if (size != 1 || offset >= TESTDEV_NR_IRQS)
		return;
	if (t->vm->accel && t->vm->accel->set_irq)
		vm_set_irq(t->vm, (unsigned)offset, value != 0);
}

static const struct io_ops testdev_irq_ops = {
	.read = testdev_read_zero,
	.write = testdev_irq_write,
};

static uint64_t testdev_iomem_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pc_testdev *t = opaque;
	uint64_t value = 0;
	if (offset < TESTDEV_IOMEM_SIZE && size <= TESTDEV_IOMEM_SIZE - offset)
		memcpy(&value, &t->iomem[offset], size);	/* little-endian host */
	return value;
}

static void testdev_iomem_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pc_testdev *t = opaque;
	if (offset < TESTDEV_IOMEM_SIZE && size <= TESTDEV_IOMEM_SIZE - offset)
		memcpy(&t->iomem[offset], &value, size);
}

static const struct io_ops testdev_iomem_ops = {
	.read = testdev_iomem_read,
	.write = testdev_iomem_write,
};

static const struct {
	bool mmio;
	uint64_t base;
	uint64_t len;
	const struct io_ops *ops;
	const char *name;
} testdev_ranges[TESTDEV_NR_RANGES] = {
	[TESTDEV_RANGE_SCRATCH] = { false, TESTDEV_PORT_SCRATCH, 4, &testdev_scratch_ops,
				    "pc-testdev-ioport" },
	[TESTDEV_RANGE_FLUSH] = { false, TESTDEV_PORT_FLUSH, 4, &testdev_flush_ops,
				  "pc-testdev-flush-page" },
	[TESTDEV_RANGE_BYTE0 + 0] = { false, TESTDEV_PORT_SCRATCH_BYTES + 0, 1,
				      &testdev_scratch_byte_ops, "pc-testdev-ioport-byte" },
	[TESTDEV_RANGE_BYTE0 + 1] = { false, TESTDEV_PORT_SCRATCH_BYTES + 1, 1,
				      &testdev_scratch_byte_ops, "pc-testdev-ioport-byte" },
	[TESTDEV_RANGE_BYTE0 + 2] = { false, TESTDEV_PORT_SCRATCH_BYTES + 2, 1,
				      &testdev_scratch_byte_ops, "pc-testdev-ioport-byte" },
	[TESTDEV_RANGE_BYTE0 + 3] = { false, TESTDEV_PORT_SCRATCH_BYTES + 3, 1,
				      &testdev_scratch_byte_ops, "pc-testdev-ioport-byte" },
	[TESTDEV_RANGE_IRQ] = { false, TESTDEV_PORT_IRQ, TESTDEV_NR_IRQS, &testdev_irq_ops,
				"pc-testdev-irq-line" },
	[TESTDEV_RANGE_IOMEM] = { true, TESTDEV_IOMEM_BASE, TESTDEV_IOMEM_SIZE,
				  &testdev_iomem_ops, "pc-testdev-iomem" },
};

static struct io_bus *testdev_bus(struct pc_testdev *t, int i)
{
	return testdev_ranges[i].mmio ? &t->vm->mmio : &t->vm->pio;
}

static void pc_testdev_unregister(struct pc_testdev *t)
{
	for (int i = 0; i < TESTDEV_NR_RANGES; i++) {
		if (t->registered[i])
			io_bus_unregister(testdev_bus(t, i), testdev_ranges[i].base);
		t->registered[i] = false;
	}
}

static void pc_testdev_reset(void *opaque)
{
	struct pc_testdev *t = opaque;
	pthread_mutex_lock(&t->vm->dev_lock);
	t->scratch = 0;
	memset(t->iomem, 0, sizeof(t->iomem));
	pthread_mutex_unlock(&t->vm->dev_lock);
}

static void pc_testdev_destroy(void *opaque)
{
	struct pc_testdev *t = opaque;
	pc_testdev_unregister(t);
	free(t);
}

int pc_testdev_create(struct vm *vm)
{
	struct pc_testdev *t = calloc(1, sizeof(*t));
	int ret;

	if (!t) {
		log_error("pc-testdev: out of memory");
		return -ENOMEM;
	}
	t->vm = vm;
	for (int i = 0; i < TESTDEV_NR_RANGES; i++) {
		void *opaque = t;
		if (i >= TESTDEV_RANGE_BYTE0 && i < TESTDEV_RANGE_BYTE0 + 4) {
			unsigned index = (unsigned)(i - TESTDEV_RANGE_BYTE0);
			t->byte_ports[index] = (struct testdev_byte_port){ t, index };
			opaque = &t->byte_ports[index];
		}
		ret = io_bus_register(testdev_bus(t, i), testdev_ranges[i].base,
				      testdev_ranges[i].len, testdev_ranges[i].ops, opaque,
				      testdev_ranges[i].name);
		/* -debugcon owns 0xe9 when it is on: the user asked for it, and
		 * guests probe it by reading 0xe9 back, so it keeps that port */
		if (ret == -EEXIST && opaque != t)
			continue;
		if (ret < 0) {
			log_error("pc-testdev: cannot claim %s 0x%llx-0x%llx: %s",
				  testdev_ranges[i].mmio ? "MMIO" : "ports",
				  (unsigned long long)testdev_ranges[i].base,
				  (unsigned long long)(testdev_ranges[i].base +
						       testdev_ranges[i].len - 1),
				  ret == -EEXIST ? "another device uses them" : strerror(-ret));
			goto fail;
		}
		t->registered[i] = true;
	}
	ret = vm_add_device(vm, "pc-testdev", t, pc_testdev_reset, pc_testdev_destroy);
	if (ret < 0) {
		log_error("pc-testdev: too many devices");
		goto fail;
	}
	return 0;
fail:
	pc_testdev_unregister(t);
	free(t);
	return ret;
}
