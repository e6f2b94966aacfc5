/* What both engines share: the system calls of one I/O (run by the worker
 * pool, and by io_uring's completion thread to finish a short transfer),
 * and the choice of engine. */
#include "blk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* iovecs handed to one preadv2/pwritev2 */
#define AIO_IOV_CHUNK 64

uint64_t iov_length(const struct iovec *iov, unsigned cnt)
{
	uint64_t len = 0;
	for (unsigned i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	return len;
}

/* A read ended early: at the end of the file, the rest reads as zeroes
 * (an O_DIRECT read of the unaligned tail there fails with EINVAL) */
static bool aio_past_eof(const struct blk_aio *a, uint64_t done)
{
	struct stat st;
	return fstat(a->fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       a->offset + done >= (uint64_t)st.st_size;
}

static int aio_transfer(const struct blk_aio *a, uint64_t done)
{
	uint64_t total = iov_length(a->iov, a->iovcnt);
	bool read = a->op == BLK_AIO_READ;
	struct iovec win[AIO_IOV_CHUNK];

	while (done < total) {
		unsigned n = iov_slice(a->iov, a->iovcnt, done, total - done, win, AIO_IOV_CHUNK);
		ssize_t ret = read ? preadv2(a->fd, win, (int)n, (off_t)(a->offset + done), 0) :
				     pwritev2(a->fd, win, (int)n, (off_t)(a->offset + done),
					      a->rw_flags);
		if (ret < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (read && (ret == 0 || (ret < 0 && errno == EINVAL && done)) &&
		    aio_past_eof(a, done)) {
			iov_zero(a->iov, a->iovcnt, done, total - done);
			return 0;
		}
		if (ret < 0)
			return -errno;
		if (ret == 0)
			return -EIO;
		done += (uint64_t)ret;
	}
	return 0;
}

int blk_aio_execute(const struct blk_aio *a, uint64_t done_bytes)
{
	switch (a->op) {
	case BLK_AIO_READ:
	case BLK_AIO_WRITE:
		return aio_transfer(a, done_bytes);
	case BLK_AIO_FDATASYNC:
		return fdatasync(a->fd) < 0 ? -errno : 0;
	case BLK_AIO_FALLOCATE:
		for (;;) {
			if (fallocate(a->fd, a->mode, (off_t)a->offset, (off_t)a->len) == 0)
				return 0;
			if (errno != EINTR)
				return -errno;
		}
	}
	return -EINVAL;
}

int blk_engine_new(enum drive_aio aio, struct blk_pool *pool, struct blk_engine **out)
{
	if (aio == DRIVE_AIO_IO_URING)
		return blk_engine_uring_new(out);
	return blk_engine_threads_new(pool, out);
}

/* ---- iovec helpers ---- */

bool iov_is_zero(const struct iovec *iov, unsigned cnt)
{
	static const uint8_t zero[256];
	for (unsigned i = 0; i < cnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;
		while (len) {
			size_t n = len < sizeof(zero) ? len : sizeof(zero);
			if (memcmp(p, zero, n))
				return false;
			p += n;
			len -= n;
		}
	}
	return true;
}

/* fn on each piece of [skip, skip + len) of an iovec, in order, until it
 * says stop */
static void iov_walk(const struct iovec *iov, unsigned cnt, uint64_t skip, uint64_t len,
		     bool (*fn)(uint8_t *piece, uint64_t n, void *arg), void *arg)
{
	for (unsigned i = 0; i < cnt && len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		uint64_t n = iov[i].iov_len - skip;
		if (n > len)
			n = len;
		if (!fn((uint8_t *)iov[i].iov_base + skip, n, arg))
			return;
		len -= n;
		skip = 0;
	}
}

struct iov_copy {
	uint8_t *buf;
	bool to_buf;
};

static bool iov_copy_piece(uint8_t *piece, uint64_t n, void *arg)
{
	struct iov_copy *c = arg;
	if (c->to_buf)
		memcpy(c->buf, piece, n);
	else
		memcpy(piece, c->buf, n);
	c->buf += n;
	return true;
}

void iov_to_buf(const struct iovec *iov, unsigned cnt, uint64_t skip, void *buf, uint64_t len)
{
	struct iov_copy c = { buf, true };
	iov_walk(iov, cnt, skip, len, iov_copy_piece, &c);
}

void iov_from_buf(const struct iovec *iov, unsigned cnt, uint64_t skip, const void *buf,
		  uint64_t len)
{
	struct iov_copy c = { (uint8_t *)buf, false };
	iov_walk(iov, cnt, skip, len, iov_copy_piece, &c);
}

struct iov_out {
	struct iovec *out;
	unsigned n, max;
};

static bool iov_slice_piece(uint8_t *piece, uint64_t n, void *arg)
{
	struct iov_out *o = arg;
	o->out[o->n++] = (struct iovec){ piece, n };
	return o->n < o->max;
}

unsigned iov_slice(const struct iovec *iov, unsigned cnt, uint64_t skip, uint64_t len,
		   struct iovec *out, unsigned max)
{
	struct iov_out o = { out, 0, max };
	if (max)
		iov_walk(iov, cnt, skip, len, iov_slice_piece, &o);
	return o.n;
}

static bool iov_zero_piece(uint8_t *piece, uint64_t n, void *arg)
{
	(void)arg;
	memset(piece, 0, n);
	return true;
}

void iov_zero(const struct iovec *iov, unsigned cnt, uint64_t skip, uint64_t len)
{
	iov_walk(iov, cnt, skip, len, iov_zero_piece, NULL);
}
