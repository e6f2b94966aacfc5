/* Disk images behind the block devices: an open image (a raw file or block
 * device, qcow2, an NBD export), asynchronous requests on it, and their
 * completion.  A format (raw, qcow2, nbd) maps guest offsets to where the
 * bytes live; an engine (a worker pool, or io_uring) moves them.  A device
 * (virtio-blk, IDE) never knows which format or engine is underneath.
 *
 * Every function returns 0 or a negative errno unless it says otherwise. */
#ifndef MINIVMM_BLOCK_H
#define MINIVMM_BLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/config.h"

#define BLK_SECTOR_SIZE 512

struct blk;

enum blk_op {
	BLK_OP_READ,
	BLK_OP_WRITE,
	BLK_OP_FLUSH,		/* every completed write is durable when this completes */
	BLK_OP_DISCARD,		/* the range's contents become unspecified; may free space */
	BLK_OP_WRITE_ZEROES,	/* the range reads as zeroes */
};

#define BLK_REQ_FUA (1u << 0)	/* write: durable before it completes */
#define BLK_REQ_UNMAP (1u << 1)	/* write zeroes: the range may be deallocated */

/* One request.  The caller owns the struct and the buffers until complete
 * runs; the block layer never reads the iovec array after completion. */
struct blk_request {
	enum blk_op op;
	unsigned flags;		/* BLK_REQ_* */
	uint64_t offset;	/* bytes from the start of the disk; a multiple of 512 */
	/* READ/WRITE: the buffers (host addresses, e.g. guest RAM), whose total
	 * length is a multiple of 512; no alignment is required of them */
	const struct iovec *iov;
	unsigned iovcnt;
	uint64_t len;		/* DISCARD/WRITE_ZEROES: bytes, a multiple of 512 */
	/* Called exactly once, on a block-layer thread (never inside
	 * blk_submit), with 0 or a negative errno: -EIO, -ENOSPC, -EROFS for a
	 * write to a read-only disk, -EINVAL for a range past the end (or an
	 * offset or length that is not a multiple of 512), -EPERM for a
	 * write that would put an image header into block 0 of an image
	 * whose format was guessed (QEMU's guard), -ENOTCONN when an NBD
	 * server has gone.  A
	 * completed write without FUA may sit in a host cache until a FLUSH,
	 * unless the drive is cache=writethrough/directsync, where every
	 * write is durable before it completes. */
	void (*complete)(struct blk_request *req, int ret);
	void *opaque;		/* the caller's */
};

/* Open the image a -drive describes.  On failure prints one line naming
 * the file and what is wrong with it (refusing what it cannot handle,
 * e.g. an encrypted qcow2) and returns a negative errno. */
int blk_open(const struct drive_config *cfg, struct blk **out);
/* file= names an NBD export (nbd://, nbd+unix://, or QEMU's older nbd:
 * forms) rather than a file */
bool blk_is_nbd_uri(const char *file);
/* Waits for requests in flight, makes written data durable, closes. */
void blk_close(struct blk *b);

/* The disk's size in bytes (a multiple of 512) */
uint64_t blk_size(const struct blk *b);
bool blk_is_readonly(const struct blk *b);
/* The volatile write cache a device shows its guest: on (writes need a
 * FLUSH to be durable) unless the drive is cache=writethrough or
 * directsync.  The guest may turn it off (every write then durable before
 * it completes) and on again; blk_has_write_cache says what -drive gave. */
bool blk_has_write_cache(const struct blk *b);
bool blk_write_cache_enabled(const struct blk *b);
void blk_set_write_cache(struct blk *b, bool on);
/* DISCARD does something (discard=unmap, and the image can free space) */
bool blk_can_discard(const struct blk *b);

/* Queue a request; thread-safe (several queues may submit at once).  On
 * a negative return complete will not be called. */
int blk_submit(struct blk *b, struct blk_request *req);
/* Between blk_plug and blk_unplug the requests of one thread are held and
 * handed to the engine together (one io_uring submission for a batch). */
void blk_plug(struct blk *b);
void blk_unplug(struct blk *b);
/* Wait until every request submitted so far has completed (device reset). */
void blk_drain(struct blk *b);
/* A device thread that waits anyway (a virtio queue thread) may take the
 * completions itself: blk_poll_begin returns a file descriptor that is
 * readable while completions wait, or -EOPNOTSUPP (the block layer's own
 * threads complete requests).  The thread then calls blk_poll when the
 * descriptor is readable, which runs complete callbacks, and must not
 * wait for requests (blk_drain, blk_close) until blk_poll_end. */
int blk_poll_begin(struct blk *b);
void blk_poll(struct blk *b);
void blk_poll_end(struct blk *b);

#endif
