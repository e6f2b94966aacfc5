/* virtio-blk requests (virtio 1.2 §5.2.6): a checked chain parsed into a
 * checked request before any I/O, as Firecracker's request.rs does.  The
 * chain's device-readable bytes are the 16-byte header followed by write
 * data or discard/write-zeroes ranges; its device-writable bytes are read
 * data or the ID, then the status byte, last.  Any split of those bytes
 * into descriptors is accepted (VIRTIO_F_VERSION_1 implies any layout). */
#ifndef MINIVMM_VIRTIO_BLK_REQ_H
#define MINIVMM_VIRTIO_BLK_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/block.h"

struct virtq_chain;

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1u
#define VIRTIO_BLK_ID_BYTES 20
/* what one DISCARD or WRITE_ZEROES may cover, and how many ranges */
#define VIRTIO_BLK_MAX_DISCARD_SECTORS 0x3fffffu
#define VIRTIO_BLK_MAX_DWZ_SEGS 1

/* What the parser needs to know about the disk and the driver */
struct vblk_disk {
	uint64_t sectors;	/* capacity in 512-byte sectors */
	bool readonly;
	bool discard, write_zeroes;	/* negotiated */
};

/* A request, checked: either finished by the parser (io false: status is
 * the answer, plus the ID bytes for GET_ID), or one block-layer request */
struct vblk_req {
	uint32_t type;
	bool io;		/* op/flags/offset/len below go to the block layer */
	uint8_t status;		/* when !io */
	enum blk_op op;
	unsigned flags;		/* BLK_REQ_* */
	uint64_t offset, len;	/* bytes on the disk */
	uint64_t data_off;	/* READ/WRITE: where the data starts in its part */
	uint64_t status_off;	/* the status byte in the writable part */
	uint32_t used_len;	/* bytes of the writable part the device writes */
};

/* 0 with *r filled, or -EIO when the chain is not a virtio-blk request
 * at all (no header, no status byte, data in the wrong direction): why
 * says what, and the device must fail */
int vblk_parse(const struct vblk_disk *disk, const struct virtq_chain *c, struct vblk_req *r,
	       char *why, size_t why_len);

#endif
