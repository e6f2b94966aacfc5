/* libFuzzer target: virtio-blk's queue processing (request parsing, the
 * rings, completions, reset with requests in flight) on rings and
 * requests taken from the input, one to four queues, read-only or not.
 * The block layer here is a small in-memory disk that checks what the
 * device asks of it: every request inside the disk, every buffer inside
 * guest RAM, read/write lengths that add up; it completes requests later,
 * outside blk_submit, as the real one does. */
// FUZZ_SOURCES: src/virtio/virtio.c src/virtio/virtqueue.c src/virtio/virtio_pci.c src/virtio/virtio_pci_irqfd.c src/virtio/virtio_mmio.c src/virtio/virtio_blk*.c src/mem/*.c src/core/vm.c src/core/clock.c src/core/timer.c src/core/log.c src/hw/pci_host.c src/hw/msix.c
#include <errno.h>

#include "block/block.h"
#include "core/config.h"
#include "fuzz_virtio.h"
#include "virtio/virtio_blk.h"

#define DISK_SECTORS 64
#define MAX_PENDING 4096

struct blk {
	uint8_t data[DISK_SECTORS * BLK_SECTOR_SIZE];
	bool readonly;
	bool write_cache;	/* what the guest set through CONFIG_WCE */
	struct blk_request *pending[MAX_PENDING];
	unsigned npending;
};

static struct vm vm;
static struct blk disk;

int blk_open(const struct drive_config *cfg, struct blk **out)
{
	(void)cfg;
	*out = &disk;
	return 0;
}

void blk_close(struct blk *b)
{
	(void)b;
}

uint64_t blk_size(const struct blk *b)
{
	(void)b;
	return sizeof(disk.data);
}

bool blk_is_readonly(const struct blk *b)
{
	return b->readonly;
}

bool blk_has_write_cache(const struct blk *b)
{
	return b->write_cache;
}

void blk_set_write_cache(struct blk *b, bool on)
{
	b->write_cache = on;
}

bool blk_can_discard(const struct blk *b)
{
	(void)b;
	return true;
}

static bool in_guest_ram(const void *p, size_t n)
{
	const uint8_t *b = p;
	return b >= vm.mem.base && n <= vm.mem.ram_size && b - vm.mem.base <= (ptrdiff_t)(vm.mem.ram_size - n);
}

int blk_submit(struct blk *b, struct blk_request *req)
{
	uint64_t len = req->len;
	if (req->op == BLK_OP_READ || req->op == BLK_OP_WRITE) {
		len = 0;
		for (unsigned i = 0; i < req->iovcnt; i++) {
			if (!in_guest_ram(req->iov[i].iov_base, req->iov[i].iov_len))
				abort();
			len += req->iov[i].iov_len;
		}
		if (len != req->len)
			abort();
	}
	if (req->op != BLK_OP_FLUSH &&
	    (req->offset % BLK_SECTOR_SIZE || len % BLK_SECTOR_SIZE || len == 0 ||
	     req->offset > sizeof(b->data) || len > sizeof(b->data) - req->offset))
		abort();
	if (req->op != BLK_OP_READ && req->op != BLK_OP_FLUSH && b->readonly)
		abort();
	if (b->npending == MAX_PENDING)
		return -EAGAIN;
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

/* The "block-layer thread": do and complete what was submitted */
static void blk_run(struct blk *b)
{
	for (unsigned i = 0; i < b->npending; i++) {
		struct blk_request *r = b->pending[i];
		uint64_t off = r->offset;
		for (unsigned k = 0; k < r->iovcnt; k++) {
			if (r->op == BLK_OP_READ)
				memcpy(r->iov[k].iov_base, b->data + off, r->iov[k].iov_len);
			else
				memcpy(b->data + off, r->iov[k].iov_base, r->iov[k].iov_len);
			off += r->iov[k].iov_len;
		}
		if (r->op == BLK_OP_DISCARD || r->op == BLK_OP_WRITE_ZEROES)
			memset(b->data + r->offset, 0, r->len);
		r->complete(r, i % 7 == 6 ? -EIO : 0);
	}
	b->npending = 0;
}

void blk_drain(struct blk *b)
{
	blk_run(b);
}

/* No queue thread here: completions are blk_run's */
int blk_poll_begin(struct blk *b)
{
	(void)b;
	return -EOPNOTSUPP;
}

void blk_poll(struct blk *b)
{
	(void)b;
}

void blk_poll_end(struct blk *b)
{
	(void)b;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_vm_init(&vm);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in = { data, size };
	uint8_t control = fz_u8(&in);
	struct virtio_device_config dc = {
		.type = VIRTIO_DEVICE_BLK,
		.common = fz_common_config(control),
		.blk = { .num_queues = 1 + (control >> 4) % 4, .queue_size = control & 8 ? 16 : 8,
			 .discard = true, .write_zeroes = true },
	};
	disk.readonly = control & 0x40;
	disk.write_cache = true;
	disk.npending = 0;
	struct virtio_dev *vdev;
	if (virtio_blk_new(&vm, &dc, &disk, "fuzz-serial", &vdev) < 0)
		abort();
	virtio_dev_set_transport(vdev, &test_transport, NULL);
	fz_driver_setup(vdev, &in);
	unsigned rounds = fz_u8(&in) % 4 + 1;
	/* requests a driver would send, shaped by the input */
	uint8_t plan[8][8];
	unsigned nplan = fz_u8(&in) % 9;
	for (unsigned i = 0; i < nplan; i++)
		for (unsigned k = 0; k < 8; k++)
			plan[i][k] = fz_u8(&in);
	fz_fill_ram(&vm, &in);
	struct fz_queue fq[4] = { { 0 } };
	static const uint32_t types[] = { 0, 1, 4, 8, 11, 13, 10, 99 };
	for (unsigned i = 0; i < nplan; i++) {
		const uint8_t *pl = plan[i];
		unsigned q = pl[0] % vdev->nr_queues;
		uint32_t type = types[pl[1] % 8];
		uint64_t sector = pl[2] | (uint64_t)(pl[3] & 0x3f) << 8;
		uint32_t dlen = (pl[4] % 4) * BLK_SECTOR_SIZE + (pl[4] & 0x80 ? pl[5] : 0);
		bool dwz = type == 11 || type == 13;
		bool out = type == 1 || dwz;
		struct fz_piece pc[4];
		unsigned n = 0;
		pc[n++] = (struct fz_piece){ 16, false };
		if (dwz)
			dlen = 16;
		if (dlen && pl[6] & 1) {	/* data in two pieces */
			pc[n++] = (struct fz_piece){ dlen / 2 ? dlen / 2 : 1, !out ^ !!(pl[6] & 4) };
			if (dlen > 1)
				pc[n++] = (struct fz_piece){ dlen - dlen / 2, !out ^ !!(pl[6] & 4) };
		} else if (dlen) {
			pc[n++] = (struct fz_piece){ dlen, !out ^ !!(pl[6] & 4) };
		}
		pc[n++] = (struct fz_piece){ 1, true };
		uint64_t hdr;
		fz_plant(&vm, vdev, q, &fq[q], pc, n, pl[6] & 2, &hdr);
		uint8_t h[16] = { 0 };
		memcpy(h, &type, 4);
		memcpy(h + 8, &sector, 8);
		guest_mem_write(&vm.mem, hdr, h, 16);
		if (dwz) {
			uint8_t seg[16] = { 0 };
			uint32_t nsect = pl[7] % 16, flags = pl[5] & 3;
			memcpy(seg, &sector, 8);
			memcpy(seg + 8, &nsect, 4);
			memcpy(seg + 12, &flags, 4);
			guest_mem_write(&vm.mem, hdr + 16, seg, 16);
		}
	}
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned q = 0; q < vdev->nr_queues; q++)
			virtq_kick(vdev, q);
		if (r & 1)
			blk_run(&disk);
	}
	/* a reset with requests still in flight finishes once they complete */
	virtio_set_status(vdev, 0);
	blk_run(&disk);
	if (virtio_status(vdev) != 0)
		abort();
	virtio_dev_cleanup(vdev);
	vdev->ops->destroy(vdev);
	return 0;
}
