/* The file protocol: a regular file or a block device.  With O_DIRECT
 * (cache=none, directsync) the kernel wants buffers, offsets and lengths
 * aligned to what the file system or device says; what is not aligned goes
 * through a bounce buffer, and a write that covers part of an aligned
 * block reads the rest of it first (read-modify-write, under a lock that
 * keeps other writes out of the way).  A transfer scattered over many
 * small buffers (a guest's user pages) is bounced too: the kernel passes
 * O_DIRECT buffers to the device piece by piece, and on a virtual host
 * disk each piece costs more than copying it does. */
#include "blk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

/* Alignment when the kernel does not say (statx DIOALIGN) */
#define FILE_DEFAULT_DIO_ALIGN 4096
/* Scattered: at least FILE_SCATTER_MIN_SEGS buffers averaging under
 * FILE_SCATTER_SEG_BYTES.  Measured on a cloud VM's virtio disk, reading
 * 1 MiB into 256 separate pages took 450-500 us against 160-210 us into
 * one buffer; copying 1 MiB out of it took another 100 us. */
#define FILE_SCATTER_MIN_SEGS 16
#define FILE_SCATTER_SEG_BYTES 8192
/* write-zeroes by writing, when fallocate cannot */
#define FILE_ZERO_CHUNK (1u << 20)

struct file_node {
	struct bnode n;
	int fd;
	bool blockdev;
	unsigned mem_align, off_align;	/* 1 and 1 without O_DIRECT */
	/* O_DIRECT: unaligned writes read-modify-write (write lock) while
	 * aligned ones hold the read lock */
	pthread_rwlock_t rmw_lock;
};

static struct file_node *to_file(struct bnode *n)
{
	return container_of_blk(n, struct file_node, n);
}

static uint64_t align_down(uint64_t v, unsigned a)
{
	return v / a * a;
}

static uint64_t align_up(uint64_t v, unsigned a)
{
	return (v + a - 1) / a * a;
}

static bool file_aligned(const struct file_node *f, uint64_t offset, uint64_t len,
			 const struct iovec *iov, unsigned cnt)
{
	if (f->off_align == 1)
		return true;
	if (offset % f->off_align || len % f->off_align)
		return false;
	for (unsigned i = 0; i < cnt; i++)
		if ((uintptr_t)iov[i].iov_base % f->mem_align || iov[i].iov_len % f->mem_align)
			return false;
	return true;
}

/* O_DIRECT on many small buffers: cheaper through a bounce buffer */
static bool file_scattered(const struct file_node *f, uint64_t len, unsigned cnt)
{
	return f->off_align > 1 && cnt >= FILE_SCATTER_MIN_SEGS &&
	       len < (uint64_t)cnt * FILE_SCATTER_SEG_BYTES;
}

static int file_aio(struct file_node *f, enum blk_aio_op op, uint64_t offset,
		    const struct iovec *iov, unsigned cnt, int rw_flags)
{
	struct blk_aio a = { .op = op, .fd = f->fd, .offset = offset, .iov = iov,
			     .iovcnt = cnt, .rw_flags = rw_flags };
	return blk_engine_run(f->n.ctx->engine, &a);
}

static int file_aio_buf(struct file_node *f, enum blk_aio_op op, uint64_t offset, void *buf,
			uint64_t len, int rw_flags)
{
	struct iovec iov = { buf, len };
	return file_aio(f, op, offset, &iov, 1, rw_flags);
}

/* Aligned for any file or device */
static void *file_bounce_alloc(const struct file_node *f, uint64_t len)
{
	return bounce_get(&f->n.ctx->bounce, len);
}

static void file_bounce_free(const struct file_node *f, void *buf, uint64_t len)
{
	bounce_put(&f->n.ctx->bounce, buf, len);
}

static int file_read(struct bnode *n, uint64_t offset, const struct iovec *iov, unsigned cnt)
{
	struct file_node *f = to_file(n);
	uint64_t len = iov_length(iov, cnt);
	bool aligned = file_aligned(f, offset, len, iov, cnt);
	uint64_t start = align_down(offset, f->off_align);
	uint64_t end = align_up(offset + len, f->off_align);
	void *buf = NULL;
	if (!aligned || file_scattered(f, len, cnt))
		buf = file_bounce_alloc(f, end - start);
	if (!buf && aligned)	/* a scattered read can do without */
		return file_aio(f, BLK_AIO_READ, offset, iov, cnt, 0);
	if (!buf)
		return -ENOMEM;
	int ret = file_aio_buf(f, BLK_AIO_READ, start, buf, end - start, 0);
	if (ret == 0)
		iov_from_buf(iov, cnt, 0, (char *)buf + (offset - start), len);
	file_bounce_free(f, buf, end - start);
	return ret;
}

/* A write through a bounce buffer; the partial aligned blocks at either
 * end are read first.  An aligned (scattered) one can do without. */
static int file_write_bounced(struct file_node *f, uint64_t offset, const struct iovec *iov,
			      unsigned cnt, uint64_t len, int rw_flags, bool aligned)
{
	unsigned a = f->off_align;
	uint64_t start = align_down(offset, a), end = align_up(offset + len, a);
	char *buf = file_bounce_alloc(f, end - start);
	int ret = 0;
	if (!buf)
		return aligned ? file_aio(f, BLK_AIO_WRITE, offset, iov, cnt, rw_flags) : -ENOMEM;
	if (start != offset)
		ret = file_aio_buf(f, BLK_AIO_READ, start, buf, a, 0);
	if (ret == 0 && end != offset + len && (end - a != start || start == offset))
		ret = file_aio_buf(f, BLK_AIO_READ, end - a, buf + (end - a - start), a, 0);
	if (ret == 0) {
		iov_to_buf(iov, cnt, 0, buf + (offset - start), len);
		ret = file_aio_buf(f, BLK_AIO_WRITE, start, buf, end - start, rw_flags);
	}
	file_bounce_free(f, buf, end - start);
	return ret;
}

static int file_write(struct bnode *n, uint64_t offset, const struct iovec *iov, unsigned cnt,
		      unsigned flags)
{
	struct file_node *f = to_file(n);
	uint64_t len = iov_length(iov, cnt);
	int rw_flags = flags & BLK_REQ_FUA ? RWF_DSYNC : 0;
	if (f->off_align == 1)
		return file_aio(f, BLK_AIO_WRITE, offset, iov, cnt, rw_flags);

	bool partial = offset % f->off_align || len % f->off_align;
	int ret;
	if (partial)
		pthread_rwlock_wrlock(&f->rmw_lock);
	else
		pthread_rwlock_rdlock(&f->rmw_lock);
	bool aligned = file_aligned(f, offset, len, iov, cnt);
	if (aligned && !file_scattered(f, len, cnt))
		ret = file_aio(f, BLK_AIO_WRITE, offset, iov, cnt, rw_flags);
	else
		ret = file_write_bounced(f, offset, iov, cnt, len, rw_flags, aligned);
	pthread_rwlock_unlock(&f->rmw_lock);
	return ret;
}

static int file_flush(struct bnode *n)
{
	struct file_node *f = to_file(n);
	return file_aio(f, BLK_AIO_FDATASYNC, 0, NULL, 0, 0);
}

static int file_fallocate(struct file_node *f, int mode, uint64_t offset, uint64_t len)
{
	struct blk_aio a = { .op = BLK_AIO_FALLOCATE, .fd = f->fd, .mode = mode,
			     .offset = offset, .len = len };
	return blk_engine_run(f->n.ctx->engine, &a);
}

static bool unsupported(int ret)
{
	return ret == -EOPNOTSUPP || ret == -ENOTTY || ret == -EINVAL || ret == -ENOSYS;
}

static int file_discard(struct bnode *n, uint64_t offset, uint64_t len)
{
	struct file_node *f = to_file(n);
	int ret;
	if (f->blockdev) {
		uint64_t range[2] = { offset, len };
		ret = ioctl(f->fd, BLKDISCARD, range) < 0 ? -errno : 0;
	} else {
		ret = file_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len);
	}
	/* discard is advice: a file system or device without it ignores it */
	return unsupported(ret) ? 0 : ret;
}

static int file_write_zeroes(struct bnode *n, uint64_t offset, uint64_t len, unsigned flags)
{
	struct file_node *f = to_file(n);
	int ret = -EOPNOTSUPP;
	/* punching a hole reads back as zeroes in a file, and a block device
	 * only does it where the device guarantees zeroes */
	if ((flags & BLK_REQ_UNMAP) && n->can_discard)
		ret = file_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len);
	if (unsupported(ret))
		ret = file_fallocate(f, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, len);
	if (!unsupported(ret))
		return ret;

	uint64_t chunk = len < FILE_ZERO_CHUNK ? len : FILE_ZERO_CHUNK;
	void *zero = file_bounce_alloc(f, chunk);
	if (!zero)
		return -ENOMEM;
	memset(zero, 0, chunk);
	ret = 0;
	for (uint64_t done = 0; done < len && ret == 0; done += chunk) {
		uint64_t l = len - done < chunk ? len - done : chunk;
		struct iovec iov = { zero, l };
		ret = file_write(n, offset + done, &iov, 1, 0);
	}
	free(zero);
	return ret;
}

/* ---- the asynchronous path: reads, writes and flushes of a raw file ---- */

static void file_aio_done(struct blk_aio *a, int ret)
{
	struct blk_io *io = a->opaque;
	if (io->bounce) {
		if (ret == 0 && io->op == BLK_OP_READ)
			iov_from_buf(io->req->iov, io->req->iovcnt, 0,
				     (char *)io->bounce + (io->offset - io->bounce_offset), io->len);
		bounce_put(io->bounce_pool, io->bounce, io->bounce_len);
		io->bounce = NULL;
	}
	blk_io_done(io, ret);
}

static bool file_start(struct bnode *n, struct blk_io *io, struct blk_aio **batch)
{
	struct file_node *f = to_file(n);
	struct blk_aio *a = &io->aio;
	*a = (struct blk_aio){ .fd = f->fd, .offset = io->offset, .iov = io->req->iov,
			       .iovcnt = io->req->iovcnt, .done = file_aio_done, .opaque = io };
	switch (io->op) {
	case BLK_OP_FLUSH:
		a->op = BLK_AIO_FDATASYNC;
		break;
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		a->op = io->op == BLK_OP_READ ? BLK_AIO_READ : BLK_AIO_WRITE;
		a->rw_flags = io->flags & BLK_REQ_FUA ? RWF_DSYNC : 0;
		/* Blocks larger than a sector: a write that covers part of
		 * one reads around it, and must not interleave with a write
		 * to the rest of the block (whose sectors it would put back
		 * as they were); the lock that orders them is held on the
		 * synchronous path, so every write takes it there */
		if (io->op == BLK_OP_WRITE && f->off_align > BLK_SECTOR_SIZE)
			return false;
		bool aligned = file_aligned(f, io->offset, io->len, a->iov, a->iovcnt);
		if (aligned && !file_scattered(f, io->len, a->iovcnt))
			break;
		io->bounce_offset = align_down(io->offset, f->off_align);
		io->bounce_len = align_up(io->offset + io->len, f->off_align) - io->bounce_offset;
		io->bounce = file_bounce_alloc(f, io->bounce_len);
		if (!io->bounce) {
			if (aligned)	/* a scattered one can do without */
				break;
			return false;
		}
		io->bounce_pool = &f->n.ctx->bounce;
		if (io->op == BLK_OP_WRITE)
			iov_to_buf(a->iov, a->iovcnt, 0, io->bounce, io->len);
		io->bounce_iov = (struct iovec){ io->bounce, io->bounce_len };
		a->iov = &io->bounce_iov;
		a->iovcnt = 1;
		a->offset = io->bounce_offset;
		break;
	default:
		return false;
	}
	a->next = *batch;
	*batch = a;
	return true;
}

static void file_close(struct bnode *n)
{
	struct file_node *f = to_file(n);
	close(f->fd);
	pthread_rwlock_destroy(&f->rmw_lock);
	free(f);
}

static const struct bnode_ops file_ops = {
	.read = file_read,
	.write = file_write,
	.flush = file_flush,
	.discard = file_discard,
	.write_zeroes = file_write_zeroes,
	.close = file_close,
	.start = file_start,
};

/* O_DIRECT's alignment: the device's logical block size, or what the file
 * system says (statx), or a page when it says nothing */
static void file_dio_align(struct file_node *f)
{
	unsigned mem = 0, off = 0;
	if (f->blockdev) {
		int bs;
		if (ioctl(f->fd, BLKSSZGET, &bs) == 0 && bs > 0)
			mem = off = (unsigned)bs;
	} else {
		struct statx st;
		if (statx(f->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &st) == 0 &&
		    (st.stx_mask & STATX_DIOALIGN) && st.stx_dio_offset_align) {
			mem = st.stx_dio_mem_align;
			off = st.stx_dio_offset_align;
		}
	}
	if (!off || (off & (off - 1)) || off > 65536)
		off = FILE_DEFAULT_DIO_ALIGN;
	if (!mem || (mem & (mem - 1)) || mem > 65536)
		mem = FILE_DEFAULT_DIO_ALIGN;
	f->mem_align = mem;
	f->off_align = off;
}

int file_open(struct blk_ctx *ctx, const char *path, bool readonly, struct bnode **out)
{
	bool direct = ctx->direct;
	/* O_NONBLOCK: a FIFO (say, a backing file name in a hostile image)
	 * must not hang the open; it is refused below */
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK | (direct ? O_DIRECT : 0);
	int fd = open(path, flags);
	if (fd < 0 && errno == EINVAL && direct) {
		log_error("%s: the file system does not support O_DIRECT (cache=none or "
			  "directsync); use cache=writeback or writethrough",
			  path);
		return -EINVAL;
	}
	if (fd < 0) {
		int err = errno;
		log_error("%s: %s%s", path, strerror(err),
			  !readonly && (err == EACCES || err == EROFS) ? " (readonly=on opens it "
									 "read-only)" :
									 "");
		return -err;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int err = errno;
		log_error("%s: %s", path, strerror(err));
		close(fd);
		return -err;
	}
	struct file_node *f = calloc(1, sizeof(*f));
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	f->fd = fd;
	f->n.ops = &file_ops;
	f->n.ctx = ctx;
	f->n.name = path;
	f->n.readonly = readonly;
	f->n.can_discard = !readonly;
	if (S_ISBLK(st.st_mode)) {
		f->blockdev = true;
		if (ioctl(fd, BLKGETSIZE64, &f->n.size) < 0) {
			int err = errno;
			log_error("%s: cannot read the device size: %s", path, strerror(err));
			close(fd);
			free(f);
			return -err;
		}
	} else if (S_ISREG(st.st_mode)) {
		f->n.size = (uint64_t)st.st_size;
	} else {
		log_error("%s: not a regular file or block device", path);
		close(fd);
		free(f);
		return -EINVAL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	f->mem_align = f->off_align = 1;
	if (direct)
		file_dio_align(f);
	pthread_rwlock_init(&f->rmw_lock, NULL);
	*out = &f->n;
	return 0;
}
