/* aio=io_uring: I/O goes to the kernel through one ring per disk.  Any
 * thread may submit (the submission side is under a lock); one reaper
 * thread takes completions and calls done, finishing a short transfer
 * itself with the system calls.  What the reaper itself submits (from a
 * completion callback) goes to the worker pool instead: the reaper must
 * never wait for room that only it can make. */
#include "block/aio.h"

#include <errno.h>
#include <liburing.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#define URING_ENTRIES 256

struct uring_engine {
	struct blk_engine e;
	struct io_uring ring;
	pthread_mutex_t sq_lock;
	pthread_t reaper;
	struct blk_pool *pool;
};

/* blk_engine_run's wait */
struct uring_waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int ret;
};

static void uring_prep(struct io_uring_sqe *sqe, struct blk_aio *a)
{
	unsigned cnt = a->iovcnt > IOV_MAX ? IOV_MAX : a->iovcnt;	/* the rest: a short transfer */
	switch (a->op) {
	case BLK_AIO_READ:
		io_uring_prep_readv(sqe, a->fd, a->iov, cnt, a->offset);
		break;
	case BLK_AIO_WRITE:
		io_uring_prep_writev2(sqe, a->fd, a->iov, cnt, a->offset, a->rw_flags);
		break;
	case BLK_AIO_FDATASYNC:
		io_uring_prep_fsync(sqe, a->fd, IORING_FSYNC_DATASYNC);
		break;
	case BLK_AIO_FALLOCATE:
		io_uring_prep_fallocate(sqe, a->fd, a->mode, a->offset, a->len);
		break;
	}
	io_uring_sqe_set_data(sqe, a);
}

/* Called with sq_lock held */
static void uring_flush_sq(struct uring_engine *u)
{
	for (;;) {
		int ret = io_uring_submit(&u->ring);
		if (ret >= 0 || (ret != -EINTR && ret != -EAGAIN && ret != -EBUSY))
			return;
		/* the completion queue is backed up: let the reaper drain it */
		pthread_mutex_unlock(&u->sq_lock);
		sched_yield();
		pthread_mutex_lock(&u->sq_lock);
	}
}

static struct io_uring_sqe *uring_get_sqe(struct uring_engine *u)
{
	struct io_uring_sqe *sqe;
	while (!(sqe = io_uring_get_sqe(&u->ring)))
		uring_flush_sq(u);
	return sqe;
}

static void uring_pool_job(struct blk_job *job)
{
	struct blk_aio *a = (struct blk_aio *)((char *)job - offsetof(struct blk_aio, job));
	a->done(a, blk_aio_execute(a, 0));
}

static void uring_submit(struct blk_engine *e, struct blk_aio *list)
{
	struct uring_engine *u = (struct uring_engine *)e;
	if (pthread_equal(pthread_self(), u->reaper)) {
		for (struct blk_aio *a = list, *next; a; a = next) {
			next = a->next;
			a->job.run = uring_pool_job;
			blk_pool_queue(u->pool, &a->job, &a->job);
		}
		return;
	}
	pthread_mutex_lock(&u->sq_lock);
	for (struct blk_aio *a = list; a; a = a->next) {
		if (a->op == BLK_AIO_READ || a->op == BLK_AIO_WRITE)
			a->len = iov_length(a->iov, a->iovcnt);
		uring_prep(uring_get_sqe(u), a);
	}
	uring_flush_sq(u);
	pthread_mutex_unlock(&u->sq_lock);
}

static void uring_complete(struct blk_aio *a, int res)
{
	bool rw = a->op == BLK_AIO_READ || a->op == BLK_AIO_WRITE;
	if (res == -EINTR || res == -EAGAIN)
		res = blk_aio_execute(a, 0);
	else if (rw && res >= 0 && (uint64_t)res < a->len)
		res = blk_aio_execute(a, (uint64_t)res);
	else if (res > 0)
		res = 0;
	a->done(a, res);
}

static void *uring_reaper(void *opaque)
{
	struct uring_engine *u = opaque;
	for (;;) {
		struct io_uring_cqe *cqe;
		int ret = io_uring_wait_cqe(&u->ring, &cqe);
		if (ret == -EINTR || ret == -EAGAIN)
			continue;
		if (ret < 0)
			return NULL;
		struct blk_aio *a = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		if (!a)
			return NULL;	/* the stop NOP */
		uring_complete(a, res);
	}
}

static void uring_sync_done(struct blk_aio *a, int ret)
{
	struct uring_waiter *w = a->opaque;
	pthread_mutex_lock(&w->lock);
	w->ret = ret;
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static int uring_run(struct blk_engine *e, struct blk_aio *a)
{
	struct uring_waiter w = { .lock = PTHREAD_MUTEX_INITIALIZER,
				  .cond = PTHREAD_COND_INITIALIZER };
	a->done = uring_sync_done;
	a->opaque = &w;
	a->next = NULL;
	uring_submit(e, a);
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return w.ret;
}

static void uring_destroy(struct blk_engine *e)
{
	struct uring_engine *u = (struct uring_engine *)e;
	pthread_mutex_lock(&u->sq_lock);
	struct io_uring_sqe *sqe = uring_get_sqe(u);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data(sqe, NULL);
	uring_flush_sq(u);
	pthread_mutex_unlock(&u->sq_lock);
	pthread_join(u->reaper, NULL);
	io_uring_queue_exit(&u->ring);
	pthread_mutex_destroy(&u->sq_lock);
	free(u);
}

static const struct blk_engine_ops uring_ops = {
	.submit = uring_submit,
	.run = uring_run,
	.destroy = uring_destroy,
};

int blk_engine_uring_new(struct blk_pool *pool, struct blk_engine **out)
{
	struct uring_engine *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->e.ops = &uring_ops;
	u->pool = pool;
	int ret = io_uring_queue_init(URING_ENTRIES, &u->ring, 0);
	if (ret < 0) {
		free(u);
		return ret;
	}
	pthread_mutex_init(&u->sq_lock, NULL);
	ret = -pthread_create(&u->reaper, NULL, uring_reaper, u);
	if (ret < 0) {
		io_uring_queue_exit(&u->ring);
		pthread_mutex_destroy(&u->sq_lock);
		free(u);
		return ret;
	}
	*out = &u->e;
	return 0;
}
