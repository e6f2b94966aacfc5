#include "virtio/virtio_blk_req.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "virtio/virtio.h"

#define HDR_LEN 16
#define DWZ_SEG_LEN 16

__attribute__((format(printf, 3, 4))) static int malformed(char *why, size_t why_len,
							const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return -EIO;
}

/* A finished request: the status and nothing else to write */
static int answer(struct vblk_req *r, uint8_t status)
{
	r->io = false;
	r->status = status;
	return 0;
}

/* Is [sector, sector + n) on the disk? */
static bool in_range(const struct vblk_disk *disk, uint64_t sector, uint64_t n)
{
	return sector <= disk->sectors && n <= disk->sectors - sector;
}

static int parse_rw(const struct vblk_disk *disk, const struct virtq_chain *c, uint64_t sector,
		    struct vblk_req *r, char *why, size_t why_len)
{
	bool write = r->type == VIRTIO_BLK_T_OUT;
	uint64_t len;
	if (write) {
		if (c->in_len != 1)
			return malformed(why, why_len, "write request with %llu device-writable bytes "
						       "(the status byte only)",
					 (unsigned long long)c->in_len);
		len = c->out_len - HDR_LEN;
		r->data_off = HDR_LEN;
	} else {
		if (c->out_len != HDR_LEN)
			return malformed(why, why_len, "read request with %llu device-readable bytes "
						       "(the header only)",
					 (unsigned long long)c->out_len);
		len = c->in_len - 1;
		r->data_off = 0;
		r->used_len = (uint32_t)c->in_len;
	}
	if (len % BLK_SECTOR_SIZE || !in_range(disk, sector, len / BLK_SECTOR_SIZE))
		return answer(r, VIRTIO_BLK_S_IOERR);
	if (write && disk->readonly)
		return answer(r, VIRTIO_BLK_S_IOERR);
	if (len == 0)
		return answer(r, VIRTIO_BLK_S_OK);
	r->io = true;
	r->op = write ? BLK_OP_WRITE : BLK_OP_READ;
	r->offset = sector * BLK_SECTOR_SIZE;
	r->len = len;
	return 0;
}

/* DISCARD and WRITE_ZEROES: one range of {sector, num_sectors, flags} */
static int parse_dwz(const struct vblk_disk *disk, const struct virtq_chain *c,
		     struct vblk_req *r, char *why, size_t why_len)
{
	bool discard = r->type == VIRTIO_BLK_T_DISCARD;
	if (c->in_len != 1)
		return malformed(why, why_len, "%s request with %llu device-writable bytes",
				 discard ? "discard" : "write-zeroes", (unsigned long long)c->in_len);
	if (!(discard ? disk->discard : disk->write_zeroes))
		return answer(r, VIRTIO_BLK_S_UNSUPP);
	uint64_t payload = c->out_len - HDR_LEN;
	if (payload == 0 || payload % DWZ_SEG_LEN)
		return malformed(why, why_len, "%s request with %llu bytes of ranges (16 each)",
				 discard ? "discard" : "write-zeroes", (unsigned long long)payload);
	if (payload / DWZ_SEG_LEN > VIRTIO_BLK_MAX_DWZ_SEGS)
		return answer(r, VIRTIO_BLK_S_IOERR);
	uint8_t seg[DWZ_SEG_LEN];
	virtq_chain_read(c, HDR_LEN, seg, sizeof(seg));
	uint64_t sector;
	uint32_t n, flags;
	memcpy(&sector, seg, 8);
	memcpy(&n, seg + 8, 4);
	memcpy(&flags, seg + 12, 4);
	if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ||
	    (discard && (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)))
		return answer(r, VIRTIO_BLK_S_UNSUPP);
	if (n > VIRTIO_BLK_MAX_DISCARD_SECTORS || !in_range(disk, sector, n) || disk->readonly)
		return answer(r, VIRTIO_BLK_S_IOERR);
	if (n == 0)
		return answer(r, VIRTIO_BLK_S_OK);
	r->io = true;
	r->op = discard ? BLK_OP_DISCARD : BLK_OP_WRITE_ZEROES;
	r->flags = (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ? BLK_REQ_UNMAP : 0;
	r->offset = sector * BLK_SECTOR_SIZE;
	r->len = (uint64_t)n * BLK_SECTOR_SIZE;
	return 0;
}

int vblk_parse(const struct vblk_disk *disk, const struct virtq_chain *c, struct vblk_req *r,
	       char *why, size_t why_len)
{
	memset(r, 0, sizeof(*r));
	if (c->out_len < HDR_LEN)
		return malformed(why, why_len, "request with %llu device-readable bytes (a 16-byte "
					       "header needed)",
				 (unsigned long long)c->out_len);
	if (c->in_len < 1)
		return malformed(why, why_len, "request without a device-writable status byte");
	uint8_t hdr[HDR_LEN];
	virtq_chain_read(c, 0, hdr, sizeof(hdr));
	uint64_t sector;
	memcpy(&r->type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	r->status_off = c->in_len - 1;
	r->used_len = 1;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return parse_rw(disk, c, sector, r, why, why_len);
	case VIRTIO_BLK_T_FLUSH:
		if (c->out_len != HDR_LEN || c->in_len != 1)
			return malformed(why, why_len, "flush request with data");
		r->io = true;
		r->op = BLK_OP_FLUSH;
		return 0;
	case VIRTIO_BLK_T_GET_ID:
		if (c->out_len != HDR_LEN)
			return malformed(why, why_len, "get-ID request with device-readable data");
		/* the ID goes before the status byte, as much as fits */
		r->used_len = (uint32_t)(c->in_len - 1 < VIRTIO_BLK_ID_BYTES ? c->in_len - 1 :
						VIRTIO_BLK_ID_BYTES) + 1;
		return answer(r, VIRTIO_BLK_S_OK);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return parse_dwz(disk, c, r, why, why_len);
	default:
		return answer(r, VIRTIO_BLK_S_UNSUPP);
	}
}
