/* The engines that move bytes between a file descriptor and memory: a
 * worker pool making the system calls (aio=threads), or io_uring
 * (aio=io_uring).  A format never issues I/O on a file itself; it asks the
 * engine, asynchronously (blk_engine_submit) or waiting (blk_engine_run). */
#ifndef MINIVMM_BLOCK_AIO_H
#define MINIVMM_BLOCK_AIO_H

#include <errno.h>
#include <stdint.h>
#include <sys/uio.h>

#include "block/pool.h"
#include "core/config.h"

enum blk_aio_op {
	BLK_AIO_READ,		/* short reads at the end of the file read as zeroes */
	BLK_AIO_WRITE,
	BLK_AIO_FDATASYNC,
	BLK_AIO_FALLOCATE,	/* mode, offset, len */
};

struct blk_aio {
	enum blk_aio_op op;
	int fd;
	int rw_flags;		/* RWF_DSYNC for a write that must be durable */
	int mode;		/* FALLOCATE: FALLOC_FL_* */
	uint64_t offset, len;	/* len: READ/WRITE take it from the iovec */
	const struct iovec *iov;
	unsigned iovcnt;
	/* Called once, on an engine thread, with 0 or a negative errno (a
	 * READ/WRITE has moved every byte when it says 0) */
	void (*done)(struct blk_aio *a, int ret);
	void *opaque;
	struct blk_aio *next;	/* a batch, for blk_engine_submit */
	struct blk_job job;	/* the worker pool's */
};

struct blk_engine;

struct blk_engine_ops {
	void (*submit)(struct blk_engine *e, struct blk_aio *list);
	void (*destroy)(struct blk_engine *e);
	/* Optional: completions taken on a caller's thread */
	int (*poll_begin)(struct blk_engine *e);
	void (*poll)(struct blk_engine *e);
	void (*poll_end)(struct blk_engine *e);
};

struct blk_engine {
	const struct blk_engine_ops *ops;
};

/* The engine aio= names; the worker pool serves the threads engine */
int blk_engine_new(enum drive_aio aio, struct blk_pool *pool, struct blk_engine **out);
int blk_engine_threads_new(struct blk_pool *pool, struct blk_engine **out);
int blk_engine_uring_new(struct blk_engine **out);

static inline void blk_engine_submit(struct blk_engine *e, struct blk_aio *list)
{
	if (list)
		e->ops->submit(e, list);
}

/* Completions on the caller's thread instead of the engine's own: a file
 * descriptor that is readable while completions wait (-EOPNOTSUPP: the
 * engine has none, its threads go on taking them; -EBUSY: another thread
 * polls).  Until blk_engine_poll_end, the caller calls blk_engine_poll
 * (which runs the done callbacks) whenever the descriptor is readable.
 * poll_end takes what is there, and the engine's threads take the rest. */
static inline int blk_engine_poll_begin(struct blk_engine *e)
{
	return e->ops->poll_begin ? e->ops->poll_begin(e) : -EOPNOTSUPP;
}

static inline void blk_engine_poll(struct blk_engine *e)
{
	e->ops->poll(e);
}

static inline void blk_engine_poll_end(struct blk_engine *e)
{
	e->ops->poll_end(e);
}

/* The system calls for one I/O, on the calling thread: whole transfers
 * (short ones are continued), 0 or a negative errno.  done_bytes of a
 * READ/WRITE are already moved (an engine finishing a short transfer). */
int blk_aio_execute(const struct blk_aio *a, uint64_t done_bytes);

/* Do one I/O and wait for it.  Whatever the engine, the caller makes the
 * system calls itself: it is a thread that may block (a worker, or the
 * opening thread), and a hand-off to another thread and back would only
 * add to the wait. */
static inline int blk_engine_run(struct blk_engine *e, struct blk_aio *a)
{
	(void)e;
	return blk_aio_execute(a, 0);
}

/* Bytes in an iovec */
uint64_t iov_length(const struct iovec *iov, unsigned cnt);

#endif
