/* libFuzzer target: the PIIX3 IDE function's register and command
 * handling (ATA commands, PIO, bus-master DMA with the PRD walk, ATAPI
 * packets).  The input is a program of port accesses (command and control
 * blocks of both channels, the bus-master registers; any width and value)
 * with guest RAM (PRD tables, buffers) taken from the rest of the input.
 * A disk and a CD-ROM stand behind a fake block layer that checks every
 * request (buffers in guest RAM or the drive's own buffer, sectors inside
 * the disk, no writes to the CD) and completes it between accesses, as
 * the block layer's threads would. */
// FUZZ_SOURCES: src/hw/ide.c src/hw/ide_atapi.c src/hw/piix_ide.c src/mem/*.c src/core/vm.c src/core/clock.c src/core/timer.c src/core/log.c src/hw/pci_host.c
#include <errno.h>

#include "fuzz_virtio.h"
#include "block/block.h"
#include "hw/ide.h"
#include "hw/pc.h"
#include "hw/pci.h"

#define MAX_OPS 512
#define MAX_PENDING 8

struct blk {
	uint8_t *data;
	uint64_t size;
	bool readonly;
	struct blk_request *pending[MAX_PENDING];
	unsigned npending;
};

static struct vm vm;
static uint8_t disk_data[64 * 512], cd_data[8 * 2048];
static struct blk disks[2] = { { disk_data, sizeof(disk_data), false, { 0 }, 0 },
			       { cd_data, sizeof(cd_data), true, { 0 }, 0 } };
static unsigned opened;
static uint16_t bm_base;

int blk_open(const struct drive_config *cfg, struct blk **out)
{
	(void)cfg;
	*out = &disks[opened++ % 2];
	return 0;
}

void blk_close(struct blk *b)
{
	(void)b;
}

uint64_t blk_size(const struct blk *b)
{
	return b->size;
}

bool blk_is_readonly(const struct blk *b)
{
	return b->readonly;
}

/* A buffer the device may hand the block layer: guest RAM, or the
 * drive's own PIO buffer */
static bool buffer_ok(const void *p, size_t n)
{
	const uint8_t *b = p;
	if (b >= vm.mem.base && n <= vm.mem.ram_size &&
	    b - vm.mem.base <= (ptrdiff_t)(vm.mem.ram_size - n))
		return true;
	return n <= IDE_BUF_SIZE;	/* the drive buffer: ASan checks the copy */
}

int blk_submit(struct blk *b, struct blk_request *req)
{
	uint64_t len = 0;
	if (req->op == BLK_OP_READ || req->op == BLK_OP_WRITE) {
		for (unsigned i = 0; i < req->iovcnt; i++) {
			if (!buffer_ok(req->iov[i].iov_base, req->iov[i].iov_len))
				abort();
			len += req->iov[i].iov_len;
		}
		if (req->offset % BLK_SECTOR_SIZE || len % BLK_SECTOR_SIZE || len == 0 ||
		    req->offset > b->size || len > b->size - req->offset)
			abort();
		if (req->op == BLK_OP_WRITE && b->readonly)
			abort();
	} else if (req->op != BLK_OP_FLUSH) {
		abort();
	}
	if (b->npending == MAX_PENDING)
		abort();	/* one request per drive at a time */
	b->pending[b->npending++] = req;
	return 0;
}

void blk_plug(struct blk *b)
{
	(void)b;
}

void blk_unplug(struct blk *b)
{
	(void)b;
}

static void blk_run(struct blk *b)
{
	while (b->npending) {
		struct blk_request *r = b->pending[--b->npending];
		uint64_t off = r->offset;
		for (unsigned k = 0; k < r->iovcnt; k++) {
			if (r->op == BLK_OP_READ)
				memcpy(r->iov[k].iov_base, b->data + off, r->iov[k].iov_len);
			else
				memcpy(b->data + off, r->iov[k].iov_base, r->iov[k].iov_len);
			off += r->iov[k].iov_len;
		}
		r->complete(r, (off & 0x1e00) == 0x1e00 ? -EIO : 0);
	}
}

void blk_drain(struct blk *b)
{
	blk_run(b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_vm_init(&vm);
	if (pci_host_create(&vm, &vm.pci) < 0)
		abort();
	for (int i = 0; i < 2; i++) {
		vm.cfg.drives[i] = (struct drive_config){ .file = "fuzz", .interface = DRIVE_IF_IDE,
							  .index = i ? 2 : 0, .cdrom = i == 1 };
	}
	vm.cfg.nr_drives = 2;
	if (piix_ide_create(&vm) < 0)
		abort();
	pci_bus_assign_bars(vm.pci);
	uint64_t v;
	io_bus_write(&vm.pio, 0xcf8, 4, 0x80000000u | PCI_DEVFN(1, 1) << 8 | 0x20);
	io_bus_read(&vm.pio, 0xcfc, 4, &v);
	bm_base = (uint16_t)(v & ~3u);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ports[] = { 0x1f0, 0x1f1, 0x1f2, 0x1f3, 0x1f4, 0x1f5, 0x1f6, 0x1f7,
					  0x3f6, 0x170, 0x171, 0x172, 0x173, 0x174, 0x175, 0x176,
					  0x177, 0x376 };
	static const unsigned sizes[] = { 1, 2, 4, 1 };
	struct fz_input in = { data, size };
	unsigned nops = fz_u16(&in) % MAX_OPS;

	struct fz_input prog = fz_split(&in, (size_t)nops * 6);
	fz_fill_ram(&vm, &in);

	while (prog.left) {
		uint8_t op = fz_u8(&prog);
		uint8_t which = fz_u8(&prog);
		uint32_t val = fz_u32(&prog);
		unsigned sz = sizes[op >> 6];
		uint16_t port = which < 2 * sizeof(ports) / sizeof(ports[0]) ?
					ports[which % (sizeof(ports) / sizeof(ports[0]))] :
					(uint16_t)(bm_base + which % 16);
		uint64_t v;
		if (op & 1)
			io_bus_write(&vm.pio, port, sz, val);
		else
			io_bus_read(&vm.pio, port, sz, &v);
		/* the block layer completes between accesses, or later */
		if (op & 2)
			for (int i = 0; i < 2; i++)
				blk_run(&disks[i]);
	}
	/* a machine reset ends the run: it waits for what is in flight */
	for (int i = 0; i < vm.nr_devices; i++)
		if (vm.devices[i].reset && !strcmp(vm.devices[i].name, "piix3-ide"))
			vm.devices[i].reset(vm.devices[i].opaque);
	return 0;
}
