/* Inside the block layer: an open disk is a stack of nodes.  A protocol
 * node (file: a regular file or block device; nbd: an NBD export) holds
 * bytes; a format node (qcow2) maps the disk's offsets onto a protocol
 * node below it and maybe a backing node.  A raw disk is its protocol
 * node alone.  Every node answers synchronously on a block-layer thread;
 * a file node can also start reads, writes and flushes asynchronously
 * through the engine, which is how a raw file's requests avoid the pool. */
#ifndef MINIVMM_BLOCK_INTERNAL_H
#define MINIVMM_BLOCK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "block/aio.h"
#include "block/block.h"
#include "block/bounce.h"
#include "block/pool.h"

#define container_of_blk(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* What every node of one disk shares */
struct blk_ctx {
	struct blk_pool pool;
	struct blk_engine *engine;
	struct bounce_pool bounce;	/* the file nodes' O_DIRECT bounce buffers */
	bool direct;		/* open files with O_DIRECT (backing files too) */
	bool no_flush;		/* cache=unsafe: nothing is ever synced */
};

struct bnode;
struct blk_io;

struct bnode_ops {
	/* 0 or a negative errno, on a block-layer thread.  Offsets and
	 * lengths are bytes; a node may need no particular alignment (the
	 * file node bounces what O_DIRECT cannot take). */
	int (*read)(struct bnode *n, uint64_t offset, const struct iovec *iov, unsigned cnt);
	/* flags: BLK_REQ_FUA */
	int (*write)(struct bnode *n, uint64_t offset, const struct iovec *iov, unsigned cnt,
		     unsigned flags);
	int (*flush)(struct bnode *n);
	/* only called when can_discard */
	int (*discard)(struct bnode *n, uint64_t offset, uint64_t len);
	/* flags: BLK_REQ_UNMAP (deallocate if possible) */
	int (*write_zeroes)(struct bnode *n, uint64_t offset, uint64_t len, unsigned flags);
	void (*close)(struct bnode *n);
	/* Optional: start io (READ, WRITE or FLUSH) without a worker, adding
	 * what the engine must do to *batch; completes io through
	 * blk_io_done.  False: run it on the pool instead. */
	bool (*start)(struct bnode *n, struct blk_io *io, struct blk_aio **batch);
};

struct bnode {
	const struct bnode_ops *ops;
	struct blk_ctx *ctx;
	const char *name;	/* the file or URI, for messages */
	uint64_t size;		/* bytes */
	bool readonly;
	bool can_discard;
};

/* One request inside the block layer */
struct blk_io {
	struct blk *b;
	struct blk_request *req;
	enum blk_op op;		/* may differ from req->op (detect-zeroes) */
	unsigned flags;
	uint64_t offset, len;
	int error;		/* refused before it started: complete with this */
	struct blk_io *next;	/* plugged, or a batch */
	struct blk_job job;
	struct blk_aio aio;
	/* the file node's bounce buffer (O_DIRECT: unaligned or scattered) */
	void *bounce;
	struct bounce_pool *bounce_pool;	/* where it goes back */
	uint64_t bounce_offset, bounce_len;
	struct iovec bounce_iov;
	/* Called as the I/O ends, before it completes: a format node's hold
	 * on what a read it started reaches (qcow2: clusters that must not
	 * change hands meanwhile) */
	void (*release)(struct blk_io *io);
	void *release_arg;
};

void blk_io_done(struct blk_io *io, int ret);

/* The protocol nodes.  file: path is a regular file or block device,
 * opened with O_DIRECT when ctx->direct.  nbd: an NBD URI.  On failure
 * they print one line naming the file and return a negative errno. */
int file_open(struct blk_ctx *ctx, const char *path, bool readonly, struct bnode **out);
int nbd_open(struct blk_ctx *ctx, const char *uri, bool readonly, struct bnode **out);

/* The deepest backing chain followed (a loop ends here too) */
#define BLK_MAX_BACKING_DEPTH 32

/* An image and every node under it: the protocol node for file (a path
 * or an NBD URI), and the format over it (DRIVE_FORMAT_PROBE: by its
 * first bytes; *guessed_raw tells when that found no format).  depth
 * counts the backing files above this one. */
int bnode_open_image(struct blk_ctx *ctx, const char *file, enum drive_format format,
		     bool readonly, unsigned depth, bool *guessed_raw, struct bnode **out);

/* qcow2 over the protocol node file, which it owns from then on (closed on
 * failure too).  Prints one line naming the file on failure. */
int qcow2_open(struct blk_ctx *ctx, struct bnode *file, bool readonly, unsigned depth,
	       struct bnode **out);
/* The first bytes of an image are qcow2's */
bool qcow2_probe(const uint8_t *buf, size_t len);

/* Whole-node helpers: a flat buffer, and a synchronous flush that honours
 * cache=unsafe */
int bnode_pread(struct bnode *n, uint64_t offset, void *buf, uint64_t len);
int bnode_pwrite(struct bnode *n, uint64_t offset, const void *buf, uint64_t len, unsigned flags);
static inline int bnode_flush(struct bnode *n)
{
	return n->ctx->no_flush ? 0 : n->ops->flush(n);
}
static inline void bnode_close(struct bnode *n)
{
	if (n)
		n->ops->close(n);
}

/* All bytes of the iovec are zero */
bool iov_is_zero(const struct iovec *iov, unsigned cnt);
/* Copy between an iovec (from skip bytes in) and a flat buffer */
void iov_to_buf(const struct iovec *iov, unsigned cnt, uint64_t skip, void *buf, uint64_t len);
void iov_from_buf(const struct iovec *iov, unsigned cnt, uint64_t skip, const void *buf,
		  uint64_t len);
/* The part [skip, skip + len) of an iovec, in out (room for max); its
 * count (less of it when max runs out) */
unsigned iov_slice(const struct iovec *iov, unsigned cnt, uint64_t skip, uint64_t len,
		   struct iovec *out, unsigned max);
void iov_zero(const struct iovec *iov, unsigned cnt, uint64_t skip, uint64_t len);

#endif
