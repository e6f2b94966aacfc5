/* virtio-blk (virtio 1.2 §5.2): a disk behind the block layer
 * (block/block.h), one or more request queues.  The queue thread parses
 * each chain into a checked request (virtio_blk_req.c) and hands the I/O
 * to the block layer, a notification's worth at a time between blk_plug
 * and blk_unplug; the block layer completes requests on its own threads
 * (or, on io_uring, on the queue thread itself: vblk_poll), where the
 * status byte is written, the used entry pushed and the driver
 * interrupted.  Reads go straight into the guest's buffers, which are
 * marked written (mem/dma.h) before the used entry is published. */
#include "virtio/virtio_blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/vm.h"
#include "mem/dma.h"
#include "virtio/virtio.h"
#include "virtio/virtio_blk_req.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_pci.h"

/* Device feature bits */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_CONFIG_WCE 11
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* struct virtio_blk_config */
#define CFG_CAPACITY 0
#define CFG_SIZE_MAX 8
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20
#define CFG_WRITEBACK 32
#define CFG_PHYS_BLOCK_EXP 24
#define CFG_MIN_IO_SIZE 26
#define CFG_NUM_QUEUES 34
#define CFG_MAX_DISCARD_SECTORS 36
#define CFG_MAX_DISCARD_SEG 40
#define CFG_DISCARD_ALIGNMENT 44
#define CFG_MAX_WZ_SECTORS 48
#define CFG_MAX_WZ_SEG 52
#define CFG_WZ_MAY_UNMAP 56
#define CFG_LEN 60

/* the largest single buffer a driver may give (size_max) */
#define VIRTIO_BLK_SIZE_MAX (1u << 20)

struct virtio_blk {
	struct virtio_dev vdev;
	struct blk *blk;
	struct vblk_disk disk;	/* discard/write_zeroes: what the driver took */
	char serial[VIRTIO_BLK_ID_BYTES];
	uint8_t config[CFG_LEN];
};

/* One request in the block layer */
struct vblk_io {
	struct blk_request br;
	struct virtio_blk *b;
	struct virtq *vq;
	struct virtq_chain *chain;
	struct vblk_req req;
	unsigned nseg;
	struct virtio_seg *segs;	/* READ: where the data went, to mark written */
	struct iovec iov[];
};

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The status byte, then the used entry (and maybe an interrupt) */
static void finish(struct virtio_blk *b, struct virtq *vq, struct virtq_chain *c,
		   const struct vblk_req *r, uint8_t status, bool notify)
{
	virtq_chain_write(&b->vdev, c, r->status_off, &status, 1);
	if (notify)
		virtq_complete(&b->vdev, vq, c, r->used_len);
	else
		virtq_push(&b->vdev, vq, c, r->used_len);
}

static uint8_t status_of(int ret)
{
	if (ret == 0)
		return VIRTIO_BLK_S_OK;
	return ret == -EOPNOTSUPP || ret == -ENOTSUP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
}

/* On a block-layer thread */
static void vblk_io_done(struct blk_request *br, int ret)
{
	struct vblk_io *io = br->opaque;
	/* whatever the outcome, the buffers may have been written */
	for (unsigned i = 0; i < io->nseg; i++)
		dma_mark_written(io->b->vdev.vm, io->segs[i].gpa, io->segs[i].len);
	finish(io->b, io->vq, io->chain, &io->req, status_of(ret), true);
	free(io);
}

/* Hand a parsed request to the block layer, or answer IOERR when it
 * cannot take it */
static void submit(struct virtio_blk *b, struct virtq *vq, struct virtq_chain *c,
		   const struct vblk_req *r)
{
	bool data = r->op == BLK_OP_READ || r->op == BLK_OP_WRITE;
	bool in = r->op == BLK_OP_READ;
	unsigned max = data ? (in ? c->nr_in : c->nr_out) : 0;
	struct vblk_io *io = calloc(1, sizeof(*io) + max * (sizeof(struct iovec) + sizeof(struct virtio_seg)));
	if (!io) {
		finish(b, vq, c, r, VIRTIO_BLK_S_IOERR, false);
		return;
	}
	io->b = b;
	io->vq = vq;
	io->chain = c;
	io->req = *r;
	io->segs = (struct virtio_seg *)&io->iov[max];
	if (data) {
		int n = virtq_chain_iov(c, in, r->data_off, r->len, io->iov, io->segs, max);
		if (n < 0) {	/* cannot be: the parser measured the parts */
			free(io);
			finish(b, vq, c, r, VIRTIO_BLK_S_IOERR, false);
			return;
		}
		io->br.iov = io->iov;
		io->br.iovcnt = (unsigned)n;
		io->nseg = in ? (unsigned)n : 0;
	}
	io->br.op = r->op;
	io->br.flags = r->flags;
	io->br.offset = r->offset;
	io->br.len = r->len;
	io->br.complete = vblk_io_done;
	io->br.opaque = io;
	int ret = blk_submit(b->blk, &io->br);
	if (ret < 0) {
		free(io);
		finish(b, vq, c, r, status_of(ret), false);
	}
}

static void vblk_queue_notify(struct virtio_dev *vdev, struct virtq *vq)
{
	struct virtio_blk *b = vdev->opaque;
	struct virtq_chain *c;
	char why[200];

	blk_plug(b->blk);
	while (virtq_pop(vdev, vq, &c) > 0) {
		struct vblk_req r;
		if (vblk_parse(&b->disk, c, &r, why, sizeof(why)) < 0) {
			virtio_dev_fail(vdev, vq, "%s", why);
			virtq_push(vdev, vq, c, 0);
			break;
		}
		if (r.io) {
			submit(b, vq, c, &r);
			continue;
		}
		if (r.type == VIRTIO_BLK_T_GET_ID)
			virtq_chain_write(vdev, c, 0, b->serial, r.used_len - 1);
		finish(b, vq, c, &r, r.status, false);
	}
	blk_unplug(b->blk);
	/* for the requests answered here; the block layer's come on their own */
	virtq_notify(vdev, vq);
}

/* The write cache the driver gets: a driver without FLUSH cannot make
 * writes durable, so its writes are (QEMU does the same); with
 * CONFIG_WCE it starts as the drive says and may change it
 * (vblk_config_write) */
static int vblk_features_ok(struct virtio_dev *vdev, uint64_t features)
{
	struct virtio_blk *b = vdev->opaque;
	b->disk.discard = features & VIRTIO_FEATURE(VIRTIO_BLK_F_DISCARD);
	b->disk.write_zeroes = features & VIRTIO_FEATURE(VIRTIO_BLK_F_WRITE_ZEROES);
	bool cache = blk_has_write_cache(b->blk) && (features & VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH));
	blk_set_write_cache(b->blk, cache);
	b->config[CFG_WRITEBACK] = cache;
	return 0;
}

/* writeback (CONFIG_WCE): 1 a volatile write cache, 0 write through */
static void vblk_config_write(struct virtio_dev *vdev, unsigned offset, unsigned size,
			      uint32_t value)
{
	struct virtio_blk *b = vdev->opaque;
	if (offset != CFG_WRITEBACK || size != 1 ||
	    !virtio_has_feature(vdev, VIRTIO_BLK_F_CONFIG_WCE) ||
	    !virtio_has_feature(vdev, VIRTIO_BLK_F_FLUSH))
		return;
	b->config[CFG_WRITEBACK] = value & 1;
	blk_set_write_cache(b->blk, value & 1);
}

static void vblk_destroy(struct virtio_dev *vdev)
{
	struct virtio_blk *b = vdev->opaque;
	if (b->blk)
		blk_close(b->blk);
	free(b);
}

static int vblk_poll_begin(struct virtio_dev *vdev)
{
	struct virtio_blk *b = vdev->opaque;
	return blk_poll_begin(b->blk);
}

static void vblk_poll(struct virtio_dev *vdev)
{
	struct virtio_blk *b = vdev->opaque;
	blk_poll(b->blk);
}

static void vblk_poll_end(struct virtio_dev *vdev)
{
	struct virtio_blk *b = vdev->opaque;
	blk_poll_end(b->blk);
}

static const struct virtio_dev_ops vblk_ops = {
	.queue_notify = vblk_queue_notify,
	.features_ok = vblk_features_ok,
	.config_write = vblk_config_write,
	.poll_begin = vblk_poll_begin,
	.poll = vblk_poll,
	.poll_end = vblk_poll_end,
	.destroy = vblk_destroy,
};

int virtio_blk_new(struct vm *vm, const struct virtio_device_config *cfg, struct blk *blk,
		   const char *serial, struct virtio_dev **out)
{
	const struct virtio_blk_config *bc = &cfg->blk;
	struct virtio_blk *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->blk = blk;
	b->disk.sectors = blk_size(blk) / BLK_SECTOR_SIZE;
	b->disk.readonly = blk_is_readonly(blk);
	/* the ID is 20 bytes, NUL-padded, not necessarily terminated */
	if (serial)
		memcpy(b->serial, serial, strnlen(serial, sizeof(b->serial)));

	uint64_t f = virtio_ring_features(&cfg->common) | VIRTIO_FEATURE(VIRTIO_BLK_F_SIZE_MAX) |
		     VIRTIO_FEATURE(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_FEATURE(VIRTIO_BLK_F_BLK_SIZE) |
		     VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH) | VIRTIO_FEATURE(VIRTIO_BLK_F_TOPOLOGY);
	if (bc->num_queues > 1)
		f |= VIRTIO_FEATURE(VIRTIO_BLK_F_MQ);
	if (b->disk.readonly) {
		f |= VIRTIO_FEATURE(VIRTIO_BLK_F_RO);
	} else {
		f |= VIRTIO_FEATURE(VIRTIO_BLK_F_CONFIG_WCE);
		if (bc->discard)
			f |= VIRTIO_FEATURE(VIRTIO_BLK_F_DISCARD);
		if (bc->write_zeroes)
			f |= VIRTIO_FEATURE(VIRTIO_BLK_F_WRITE_ZEROES);
	}
	uint8_t *c = b->config;
	put_le(c + CFG_CAPACITY, b->disk.sectors, 8);
	put_le(c + CFG_SIZE_MAX, VIRTIO_BLK_SIZE_MAX, 4);
	/* a request is its header and status around the data */
	put_le(c + CFG_SEG_MAX, bc->queue_size - 2, 4);
	put_le(c + CFG_BLK_SIZE, BLK_SECTOR_SIZE, 4);
	c[CFG_WRITEBACK] = blk_has_write_cache(blk);
	c[CFG_PHYS_BLOCK_EXP] = 0;
	put_le(c + CFG_MIN_IO_SIZE, 1, 2);
	put_le(c + CFG_NUM_QUEUES, bc->num_queues, 2);
	put_le(c + CFG_MAX_DISCARD_SECTORS, VIRTIO_BLK_MAX_DISCARD_SECTORS, 4);
	put_le(c + CFG_MAX_DISCARD_SEG, VIRTIO_BLK_MAX_DWZ_SEGS, 4);
	put_le(c + CFG_DISCARD_ALIGNMENT, 1, 4);
	put_le(c + CFG_MAX_WZ_SECTORS, VIRTIO_BLK_MAX_DISCARD_SECTORS, 4);
	put_le(c + CFG_MAX_WZ_SEG, VIRTIO_BLK_MAX_DWZ_SEGS, 4);
	c[CFG_WZ_MAY_UNMAP] = blk_can_discard(blk);

	int ret = virtio_dev_init(&b->vdev, vm, VIRTIO_ID_BLOCK, &vblk_ops, b, f, bc->num_queues,
				  (uint16_t)bc->queue_size, b->config, CFG_LEN);
	if (ret < 0) {
		free(b);
		return ret;
	}
	*out = &b->vdev;
	return 0;
}

/* The device on its -drive; type names it in messages */
static int virtio_blk_open(struct vm *vm, const struct virtio_device_config *cfg, const char *type,
			   struct virtio_dev **vdev)
{
	const struct drive_config *drive = &vm->cfg.drives[cfg->blk.drive];
	struct blk *blk;
	int ret = blk_open(drive, &blk);
	if (ret < 0)
		return ret;	/* blk_open said why */
	ret = virtio_blk_new(vm, cfg, blk, cfg->blk.serial ? cfg->blk.serial : drive->serial, vdev);
	if (ret < 0) {
		log_error("%s (drive %s): %s", type, drive->id, strerror(-ret));
		blk_close(blk);
	}
	return ret;
}

int virtio_blk_pci_create(struct vm *vm, const struct virtio_device_config *cfg)
{
	struct virtio_dev *vdev;
	int ret = virtio_blk_open(vm, cfg, "virtio-blk-pci", &vdev);
	if (ret < 0)
		return ret;
	struct virtio_pci_params params = {
		.type = "virtio-blk-pci",
		.class_code = PCI_CLASS_STORAGE_SCSI,
		/* a vector per queue and one for configuration changes */
		.vectors = cfg->common.vectors < 0 ? cfg->blk.num_queues + 1 :
						    (unsigned)cfg->common.vectors,
	};
	return virtio_pci_create(vm, vdev, &params);
}

int virtio_blk_mmio_create(struct vm *vm, const struct virtio_device_config *cfg)
{
	struct virtio_dev *vdev;
	int ret = virtio_blk_open(vm, cfg, "virtio-blk-device", &vdev);
	if (ret < 0)
		return ret;
	return virtio_mmio_create(vm, vdev, &(struct virtio_mmio_params){ .type = "virtio-blk-device" });
}
