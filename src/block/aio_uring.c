/* aio=io_uring: asynchronous I/O goes to the kernel through one ring per
 * disk.  Any thread may submit (the submission side is under a lock); one reaper
 * thread takes completions and calls done, finishing a short transfer
 * itself with the system calls.  A device's queue thread may take the
 * reaper's place (blk_engine_poll_begin): the kernel completes an I/O
 * through the thread that submitted it, so when that thread also reaps,
 * one thread wakes per completion instead of two.  No more I/Os are in the kernel than the
 * completion ring holds, so it never overflows (an overflowing ring makes
 * submission fail with EBUSY until someone reaps, which would hang a
 * reaper that submits from a done callback); the rest wait in a backlog
 * that the reaper moves on as completions make room. */
#include "block/aio.h"

#include <errno.h>
#include <liburing.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#define URING_ENTRIES 256
/* completions taken from the ring at once */
#define URING_REAP_BATCH 32

struct uring_engine {
	struct blk_engine e;
	struct io_uring ring;
	pthread_t reaper;
	/* reap_lock: whether the reaper thread waits on the ring (it parks
	 * while another thread polls the ring) */
	pthread_mutex_t reap_lock;
	pthread_cond_t reap_cond;
	bool polled, parked;
	/* sq_lock: the submission queue, in_kernel and the backlog */
	pthread_mutex_t sq_lock;
	unsigned in_kernel, max_in_kernel;
	struct blk_aio *backlog, *backlog_tail;
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

/* Hand every prepared entry to the kernel; called with sq_lock held */
static void uring_flush_sq(struct uring_engine *u)
{
	while (io_uring_sq_ready(&u->ring)) {
		/* EAGAIN: the kernel is short of memory for now */
		if (io_uring_submit(&u->ring) < 0)
			sched_yield();
	}
}

static struct io_uring_sqe *uring_get_sqe(struct uring_engine *u)
{
	struct io_uring_sqe *sqe;
	while (!(sqe = io_uring_get_sqe(&u->ring)))
		uring_flush_sq(u);
	return sqe;
}

/* Move what the backlog holds into the kernel, as far as there is room;
 * called with sq_lock held */
static void uring_fill(struct uring_engine *u)
{
	bool any = false;
	while (u->backlog && u->in_kernel < u->max_in_kernel) {
		struct blk_aio *a = u->backlog;
		u->backlog = a->next;
		uring_prep(uring_get_sqe(u), a);
		u->in_kernel++;
		any = true;
	}
	if (!u->backlog)
		u->backlog_tail = NULL;
	if (any)
		uring_flush_sq(u);
}

static void uring_submit(struct blk_engine *e, struct blk_aio *list)
{
	struct uring_engine *u = (struct uring_engine *)e;
	struct blk_aio *last = list;
	for (struct blk_aio *a = list; a; a = a->next) {
		if (a->op == BLK_AIO_READ || a->op == BLK_AIO_WRITE)
			a->len = iov_length(a->iov, a->iovcnt);
		last = a;
	}
	pthread_mutex_lock(&u->sq_lock);
	if (u->backlog_tail)
		u->backlog_tail->next = list;
	else
		u->backlog = list;
	u->backlog_tail = last;
	uring_fill(u);
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

/* Markers in user_data beside the blk_aio pointers: the reaper stops, or
 * parks for a poller */
#define URING_STOP ((uintptr_t)0)
#define URING_PARK ((uintptr_t)1)

/* Take the n completions; false when one of them was the stop marker */
static bool uring_reap(struct uring_engine *u, struct io_uring_cqe **cqes, unsigned n,
		       bool *park)
{
	struct blk_aio *done[URING_REAP_BATCH];
	int res[URING_REAP_BATCH];
	bool stop = false;
	for (unsigned i = 0; i < n; i++) {
		uintptr_t data = (uintptr_t)io_uring_cqe_get_data(cqes[i]);
		stop |= data == URING_STOP;
		*park |= data == URING_PARK;
		done[i] = data > URING_PARK ? (struct blk_aio *)data : NULL;
		res[i] = cqes[i]->res;
	}
	io_uring_cq_advance(&u->ring, n);
	/* room in the kernel: the backlog goes first, then the callbacks */
	pthread_mutex_lock(&u->sq_lock);
	u->in_kernel -= n;
	uring_fill(u);
	pthread_mutex_unlock(&u->sq_lock);
	for (unsigned i = 0; i < n; i++)
		if (done[i])
			uring_complete(done[i], res[i]);
	return !stop;
}

/* Until a poller ends (or the engine is destroyed) */
static void uring_park(struct uring_engine *u)
{
	pthread_mutex_lock(&u->reap_lock);
	u->parked = true;
	pthread_cond_broadcast(&u->reap_cond);
	while (u->polled)
		pthread_cond_wait(&u->reap_cond, &u->reap_lock);
	u->parked = false;
	pthread_mutex_unlock(&u->reap_lock);
}

static void *uring_reaper(void *opaque)
{
	struct uring_engine *u = opaque;
	for (;;) {
		struct io_uring_cqe *cqe, *cqes[URING_REAP_BATCH];
		int ret = io_uring_wait_cqe(&u->ring, &cqe);
		if (ret == -EINTR || ret == -EAGAIN)
			continue;
		if (ret < 0)
			return NULL;
		unsigned n = io_uring_peek_batch_cqe(&u->ring, cqes, URING_REAP_BATCH);
		bool park = false;
		if (!uring_reap(u, cqes, n, &park))
			return NULL;
		if (park)
			uring_park(u);
	}
}

/* A marker entry through the ring, counted as an I/O */
static void uring_send_marker(struct uring_engine *u, uintptr_t marker)
{
	pthread_mutex_lock(&u->sq_lock);
	struct io_uring_sqe *sqe = uring_get_sqe(u);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data(sqe, (void *)marker);
	u->in_kernel++;
	uring_flush_sq(u);
	pthread_mutex_unlock(&u->sq_lock);
}

static int uring_poll_begin(struct blk_engine *e)
{
	struct uring_engine *u = (struct uring_engine *)e;
	pthread_mutex_lock(&u->reap_lock);
	bool taken = u->polled;
	u->polled = true;
	pthread_mutex_unlock(&u->reap_lock);
	if (taken)
		return -EBUSY;
	/* the reaper takes what came before the marker, then parks */
	uring_send_marker(u, URING_PARK);
	pthread_mutex_lock(&u->reap_lock);
	while (!u->parked)
		pthread_cond_wait(&u->reap_cond, &u->reap_lock);
	pthread_mutex_unlock(&u->reap_lock);
	return u->ring.ring_fd;
}

static void uring_poll(struct blk_engine *e)
{
	struct uring_engine *u = (struct uring_engine *)e;
	struct io_uring_cqe *cqes[URING_REAP_BATCH];
	unsigned n;
	bool park = false;
	while ((n = io_uring_peek_batch_cqe(&u->ring, cqes, URING_REAP_BATCH)))
		uring_reap(u, cqes, n, &park);
}

static void uring_poll_end(struct blk_engine *e)
{
	struct uring_engine *u = (struct uring_engine *)e;
	uring_poll(e);
	pthread_mutex_lock(&u->reap_lock);
	u->polled = false;
	pthread_cond_broadcast(&u->reap_cond);
	pthread_mutex_unlock(&u->reap_lock);
}

/* Called once nothing is in flight (the block layer has drained) */
static void uring_destroy(struct blk_engine *e)
{
	struct uring_engine *u = (struct uring_engine *)e;
	uring_send_marker(u, URING_STOP);
	pthread_join(u->reaper, NULL);
	io_uring_queue_exit(&u->ring);
	pthread_mutex_destroy(&u->sq_lock);
	pthread_mutex_destroy(&u->reap_lock);
	pthread_cond_destroy(&u->reap_cond);
	free(u);
}

static const struct blk_engine_ops uring_ops = {
	.submit = uring_submit,
	.destroy = uring_destroy,
	.poll_begin = uring_poll_begin,
	.poll = uring_poll,
	.poll_end = uring_poll_end,
};

int blk_engine_uring_new(struct blk_engine **out)
{
	struct uring_engine *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->e.ops = &uring_ops;
	int ret = io_uring_queue_init(URING_ENTRIES, &u->ring, 0);
	if (ret < 0) {
		free(u);
		return ret;
	}
	u->max_in_kernel = u->ring.cq.ring_entries;
	pthread_mutex_init(&u->sq_lock, NULL);
	pthread_mutex_init(&u->reap_lock, NULL);
	pthread_cond_init(&u->reap_cond, NULL);
	ret = -pthread_create(&u->reaper, NULL, uring_reaper, u);
	if (ret < 0) {
		io_uring_queue_exit(&u->ring);
		pthread_mutex_destroy(&u->sq_lock);
		pthread_mutex_destroy(&u->reap_lock);
		pthread_cond_destroy(&u->reap_cond);
		free(u);
		return ret;
	}
	*out = &u->e;
	return 0;
}
