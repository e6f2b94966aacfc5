/* The block layer on raw files and block devices, under both engines:
 * data written through it is in the file, reads return the file, the
 * request contract's errors, discard/write-zeroes/detect-zeroes freeing
 * space, O_DIRECT with unaligned buffers and 4 KiB-sector devices, plugs,
 * many requests from several threads, files beyond 4 GiB. */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk_test.h"
#include "test.h"

#define MiB (1ull << 20)

static const char *const engine_names[] = { "threads", "io_uring" };

static const char *make_file(const char *name, uint64_t size, bool filled)
{
	const char *path = blk_test_path(name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return NULL;
	}
	if (filled) {
		uint8_t *buf = malloc(MiB);
		for (uint64_t off = 0; off < size; off += MiB) {
			uint64_t n = size - off < MiB ? size - off : MiB;
			blk_test_pattern(buf, n, off, 0);
			if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
				break;
		}
		free(buf);
	}
	close(fd);
	return path;
}

static bool file_equals(const char *path, uint64_t offset, const void *expect, uint64_t len)
{
	uint8_t *buf = malloc(len);
	int fd = open(path, O_RDONLY);
	bool same = fd >= 0 && pread(fd, buf, len, (off_t)offset) == (ssize_t)len &&
		    !memcmp(buf, expect, len);
	if (fd >= 0)
		close(fd);
	free(buf);
	return same;
}

static uint64_t file_blocks(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_blocks : 0;
}

static bool all_zero(const uint8_t *p, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Random writes (split over several iovecs) mirrored in memory, then
 * everything read back through the layer and straight from the file */
static void random_rw(enum drive_aio aio, bool direct)
{
	const uint64_t size = 8 * MiB;
	const char *path = make_file("rw.img", size, true);
	struct drive_config cfg = blk_test_drive(path);
	cfg.aio = aio;
	cfg.direct = direct;
	cfg.cache = direct ? DRIVE_CACHE_NONE : DRIVE_CACHE_WRITEBACK;
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	CHECK_EQ(blk_size(b), size);
	CHECK(!blk_is_readonly(b));

	uint8_t *mirror = malloc(size), *buf = malloc(MiB + 512), *back = malloc(MiB);
	blk_test_pattern(mirror, size, 0, 0);
	uint64_t seed = 0x1234567 + aio * 7 + direct;
	for (int i = 0; i < 200; i++) {
		uint64_t len = (blk_test_rand(&seed) % 256 + 1) * 512;
		uint64_t off = blk_test_rand(&seed) % (size / 512 - len / 512 + 1) * 512;
		/* sometimes a buffer that is not aligned in memory */
		uint8_t *data = buf + (i % 3 == 0 ? 1 : 0);
		blk_test_pattern(data, len, off, (uint64_t)i + 1);
		struct iovec iov[3] = { { data, 512 }, { data + 512, (len - 512) / 2 },
					{ data + 512 + (len - 512) / 2, len - 512 - (len - 512) / 2 } };
		CHECK_EQ(blk_test_iov(b, BLK_OP_WRITE, i % 5 == 0 ? BLK_REQ_FUA : 0, off, iov, 3), 0);
		memcpy(mirror + off, data, len);
		if (i % 4 == 0) {
			uint64_t roff = blk_test_rand(&seed) % (size / 512 - 2048) * 512;
			uint8_t *rb = back + (i % 8 == 0 ? 3 : 0);
			CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, roff, rb, MiB - 512), 0);
			CHECK(!memcmp(rb, mirror + roff, MiB - 512));
		}
	}
	CHECK_EQ(blk_test_io(b, BLK_OP_FLUSH, 0, 0, NULL, 0), 0);
	for (uint64_t off = 0; off < size; off += MiB) {
		CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, off, back, MiB), 0);
		CHECK(!memcmp(back, mirror + off, MiB));
	}
	CHECK(file_equals(path, 0, mirror, size));

	/* the contract's errors: past the end, unaligned, zero length */
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, size, back, 512), -EINVAL);
	CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, size - 512, back, 1024), -EINVAL);
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, UINT64_MAX - 511, back, 512), -EINVAL);
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 100, back, 512), -EINVAL);
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 0, back, 100), -EINVAL);
	CHECK_EQ(blk_test_io(b, BLK_OP_DISCARD, 0, size, NULL, 0), 0);
	CHECK_EQ(blk_test_io(b, BLK_OP_WRITE_ZEROES, 0, 0, back, 4096 + 512 * 3), 0);
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, size, back, 0), 0);
	blk_close(b);
	memset(mirror, 0, 4096 + 512 * 3);
	CHECK(file_equals(path, 0, mirror, size));
	free(mirror);
	free(buf);
	free(back);
}

TEST(rw_threads)
{
	random_rw(DRIVE_AIO_THREADS, false);
}

TEST(rw_io_uring)
{
	random_rw(DRIVE_AIO_IO_URING, false);
}

TEST(rw_direct_threads)
{
	random_rw(DRIVE_AIO_THREADS, true);
}

TEST(rw_direct_io_uring)
{
	random_rw(DRIVE_AIO_IO_URING, true);
}

/* ---- many requests at once ---- */

struct submitter {
	struct blk *b;
	unsigned index;
	uint8_t *data;
	struct blk_request reqs[128];
	struct iovec iov[128];
	struct blk_batch batch;
	unsigned failed;
};

static void *submit_thread(void *opaque)
{
	struct submitter *s = opaque;
	blk_batch_init(&s->batch);
	for (unsigned i = 0; i < 128; i++) {
		if (i % 16 == 0)
			blk_plug(s->b);
		uint64_t off = ((uint64_t)i * 4 + s->index) * 4096;
		s->iov[i] = (struct iovec){ s->data + i * 4096, 4096 };
		blk_test_pattern(s->iov[i].iov_base, 4096, off, 7);
		s->reqs[i] = (struct blk_request){ .op = BLK_OP_WRITE, .offset = off,
						   .iov = &s->iov[i], .iovcnt = 1 };
		blk_batch_submit(s->b, &s->batch, &s->reqs[i]);
		if (i % 16 == 15)
			blk_unplug(s->b);
	}
	s->failed = blk_batch_wait(&s->batch);
	return NULL;
}

static void many_threads(enum drive_aio aio)
{
	const char *path = make_file("many.img", 4 * MiB, false);
	struct drive_config cfg = blk_test_drive(path);
	cfg.aio = aio;
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	struct submitter s[4];
	pthread_t t[4];
	for (unsigned i = 0; i < 4; i++) {
		s[i] = (struct submitter){ .b = b, .index = i, .data = malloc(128 * 4096) };
		pthread_create(&t[i], NULL, submit_thread, &s[i]);
	}
	for (unsigned i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(s[i].failed, 0);
	}
	blk_close(b);
	uint8_t expect[4096];
	bool same = true;
	for (uint64_t off = 0; off < 2 * MiB; off += 4096) {
		blk_test_pattern(expect, 4096, off, 7);
		same &= file_equals(path, off, expect, 4096);
	}
	CHECK(same);
	for (unsigned i = 0; i < 4; i++)
		free(s[i].data);
}

TEST(many_threads_threads)
{
	many_threads(DRIVE_AIO_THREADS);
}

TEST(many_threads_io_uring)
{
	many_threads(DRIVE_AIO_IO_URING);
}

/* More requests in flight than an io_uring's completion ring holds, half
 * of them submitted from completion callbacks (a device answering one
 * request may start the next on the block layer's thread) */
#define DEEP_REQS 1500

struct deep_queue {
	struct blk *b;
	uint8_t *data, *back;
	struct blk_request reqs[2 * DEEP_REQS];
	struct iovec iov[2 * DEEP_REQS];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned done, failed;
};

static void deep_complete(struct blk_request *req, int ret)
{
	struct deep_queue *q = req->opaque;
	unsigned i = (unsigned)(req - q->reqs);
	/* a write done: read its block back, from here */
	if (i < DEEP_REQS && ret == 0 && blk_submit(q->b, &q->reqs[DEEP_REQS + i]) < 0)
		ret = -EIO;
	pthread_mutex_lock(&q->lock);
	q->failed += ret < 0;
	q->done += i < DEEP_REQS && ret < 0 ? 2 : 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* A write of each 4 KiB block (pattern gen) and a read of it back */
static void deep_queue_init(struct deep_queue *q, struct blk *b, uint64_t gen,
			    void (*complete)(struct blk_request *, int), void *opaque)
{
	q->b = b;
	q->data = malloc(DEEP_REQS * 4096);
	q->back = malloc(DEEP_REQS * 4096);
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	blk_test_pattern(q->data, DEEP_REQS * 4096, 0, gen);
	for (unsigned i = 0; i < DEEP_REQS; i++) {
		q->iov[i] = (struct iovec){ q->data + i * 4096, 4096 };
		q->iov[DEEP_REQS + i] = (struct iovec){ q->back + i * 4096, 4096 };
		for (unsigned k = 0; k < 2; k++)
			q->reqs[k * DEEP_REQS + i] = (struct blk_request){
				.op = k ? BLK_OP_READ : BLK_OP_WRITE, .offset = i * 4096ull,
				.iov = &q->iov[k * DEEP_REQS + i], .iovcnt = 1,
				.complete = complete, .opaque = opaque };
	}
}

static void deep_queue_wait_all(struct deep_queue *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->done < 2 * DEEP_REQS)
		pthread_cond_wait(&q->cond, &q->lock);
	pthread_mutex_unlock(&q->lock);
}

/* Every request done: none failed, each block read back as written, in
 * the file too once the disk is closed */
static void deep_queue_finish(struct deep_queue *q, const char *path)
{
	CHECK_EQ(q->failed, 0);
	CHECK(!memcmp(q->back, q->data, DEEP_REQS * 4096));
	blk_close(q->b);
	CHECK(file_equals(path, 0, q->data, DEEP_REQS * 4096));
	free(q->data);
	free(q->back);
}

static void deep_queue(enum drive_aio aio)
{
	const char *path = make_file("deep.img", DEEP_REQS * 4096ull, false);
	struct drive_config cfg = blk_test_drive(path);
	cfg.aio = aio;
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	struct deep_queue *q = calloc(1, sizeof(*q));
	deep_queue_init(q, b, 9, deep_complete, q);
	blk_plug(b);
	for (unsigned i = 0; i < DEEP_REQS; i++)
		CHECK_EQ(blk_submit(b, &q->reqs[i]), 0);
	blk_unplug(b);
	deep_queue_wait_all(q);
	deep_queue_finish(q, path);
	free(q);
}

TEST(deep_queue_threads)
{
	deep_queue(DRIVE_AIO_THREADS);
}

TEST(deep_queue_io_uring)
{
	deep_queue(DRIVE_AIO_IO_URING);
}

/* Completions taken by the submitting thread (a virtio queue thread's
 * blk_poll): more requests than the completion ring holds, half submitted
 * from callbacks; every callback runs on the polling thread until
 * blk_poll_end, and what is still in flight then completes on the block
 * layer's own thread.  Only io_uring offers it. */
struct polled {
	struct deep_queue q;
	pthread_t poller;
	unsigned on_poller, elsewhere;
};

static void polled_complete(struct blk_request *req, int ret)
{
	struct polled *p = (struct polled *)req->opaque;
	bool here = pthread_equal(pthread_self(), p->poller);
	req->opaque = &p->q;
	deep_complete(req, ret);
	pthread_mutex_lock(&p->q.lock);
	p->on_poller += here;
	p->elsewhere += !here;
	pthread_mutex_unlock(&p->q.lock);
}

static unsigned polled_done(struct polled *p)
{
	pthread_mutex_lock(&p->q.lock);
	unsigned done = p->q.done;
	pthread_mutex_unlock(&p->q.lock);
	return done;
}

TEST(polled_completions)
{
	const char *path = make_file("polled.img", DEEP_REQS * 4096ull, false);
	struct drive_config cfg = blk_test_drive(path);
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);	/* aio=threads */
	if (b) {
		CHECK_EQ(blk_poll_begin(b), -EOPNOTSUPP);
		blk_close(b);
	}
	cfg.aio = DRIVE_AIO_IO_URING;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	struct polled *p = calloc(1, sizeof(*p));
	struct deep_queue *q = &p->q;
	p->poller = pthread_self();
	deep_queue_init(q, b, 11, polled_complete, p);
	/* twice, as a queue thread that stops and starts again does */
	for (int round = 0; round < 2; round++) {
		int fd = blk_poll_begin(b);
		CHECK(fd >= 0);
		CHECK_EQ(blk_poll_begin(b), -EBUSY);
		blk_poll_end(b);
		fd = blk_poll_begin(b);
		CHECK(fd >= 0);
		if (fd < 0)
			break;
		unsigned first = round ? DEEP_REQS / 2 : 0, last = round ? DEEP_REQS : DEEP_REQS / 2;
		blk_plug(b);
		for (unsigned i = first; i < last; i++)
			CHECK_EQ(blk_submit(b, &q->reqs[i]), 0);
		blk_unplug(b);
		/* nobody else completes them: the count stays while we sleep */
		usleep(50 * 1000);
		CHECK_EQ(polled_done(p), 2 * first);
		unsigned want = round ? 2 * DEEP_REQS - 40 : 2 * last;
		for (int spins = 0; polled_done(p) < want && spins < 100000; spins++) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			if (poll(&pfd, 1, 1000) > 0)
				blk_poll(b);
		}
		CHECK(polled_done(p) >= want);
		blk_poll_end(b);
	}
	/* the last round's stragglers complete without a poller */
	deep_queue_wait_all(q);
	CHECK(p->on_poller >= 2 * DEEP_REQS - 40);
	CHECK_EQ(p->on_poller + p->elsewhere, 2 * DEEP_REQS);
	deep_queue_finish(q, path);
	free(p);
}

/* Plugged requests wait for the unplug; blk_drain sends them on and waits */
static void plug_holds(enum drive_aio aio)
{
	const char *path = make_file("plug.img", MiB, true);
	struct drive_config cfg = blk_test_drive(path);
	cfg.aio = aio;
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	uint8_t buf[8][4096];
	struct iovec iov[8];
	struct blk_request req[8];
	struct blk_batch batch;
	blk_batch_init(&batch);
	blk_plug(b);
	blk_plug(b);	/* nested */
	for (int i = 0; i < 8; i++) {
		iov[i] = (struct iovec){ buf[i], 4096 };
		req[i] = (struct blk_request){ .op = BLK_OP_READ, .offset = (uint64_t)i * 4096,
					       .iov = &iov[i], .iovcnt = 1 };
		CHECK_EQ(blk_batch_submit(b, &batch, &req[i]), 0);
	}
	blk_unplug(b);
	usleep(50000);
	pthread_mutex_lock(&batch.lock);
	CHECK_EQ(batch.pending, 8);	/* still held by the outer plug */
	pthread_mutex_unlock(&batch.lock);
	blk_unplug(b);
	CHECK_EQ(blk_batch_wait(&batch), 0);
	uint8_t expect[4096];
	for (int i = 0; i < 8; i++) {
		blk_test_pattern(expect, 4096, (uint64_t)i * 4096, 0);
		CHECK(!memcmp(buf[i], expect, 4096));
	}

	/* blk_drain: what a plug holds is submitted, then waited for */
	blk_batch_init(&batch);
	blk_plug(b);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(blk_batch_submit(b, &batch, &req[i]), 0);
	blk_drain(b);
	pthread_mutex_lock(&batch.lock);
	CHECK_EQ(batch.pending, 0);
	pthread_mutex_unlock(&batch.lock);
	blk_unplug(b);
	CHECK_EQ(blk_batch_wait(&batch), 0);
	blk_close(b);
}

TEST(plug_threads)
{
	plug_holds(DRIVE_AIO_THREADS);
}

TEST(plug_io_uring)
{
	plug_holds(DRIVE_AIO_IO_URING);
}

/* ---- discard, write-zeroes, detect-zeroes ---- */

static void discard_zeroes(enum drive_aio aio)
{
	const uint64_t size = 8 * MiB;
	const char *path = make_file("discard.img", size, true);
	struct drive_config cfg = blk_test_drive(path);
	cfg.aio = aio;
	cfg.discard = DRIVE_DISCARD_UNMAP;
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	CHECK(blk_can_discard(b));
	uint8_t *buf = malloc(MiB);
	uint64_t blocks = file_blocks(path);

	/* discard frees the range, and a file's hole reads as zeroes */
	CHECK_EQ(blk_test_io(b, BLK_OP_DISCARD, 0, MiB, NULL, MiB), 0);
	CHECK(file_blocks(path) <= blocks - 2048 + 16);
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, MiB, buf, MiB), 0);
	CHECK(all_zero(buf, MiB));

	/* write-zeroes without unmap keeps the space; with unmap frees it */
	blocks = file_blocks(path);
	CHECK_EQ(blk_test_io(b, BLK_OP_WRITE_ZEROES, 0, 2 * MiB, NULL, MiB), 0);
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 2 * MiB, buf, MiB), 0);
	CHECK(all_zero(buf, MiB));
	CHECK(file_blocks(path) >= blocks - 16);
	CHECK_EQ(blk_test_io(b, BLK_OP_WRITE_ZEROES, BLK_REQ_UNMAP, 3 * MiB, NULL, MiB), 0);
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 3 * MiB, buf, MiB), 0);
	CHECK(all_zero(buf, MiB));
	CHECK(file_blocks(path) <= blocks - 2048 + 16);
	/* the neighbours are untouched */
	blk_test_pattern(buf, MiB, 4 * MiB, 0);
	CHECK(file_equals(path, 4 * MiB, buf, MiB));
	blk_close(b);

	/* discard=ignore: succeeds, frees nothing; unmap is not done */
	cfg.discard = DRIVE_DISCARD_IGNORE;
	path = make_file("discard.img", size, true);
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	CHECK(!blk_can_discard(b));
	blocks = file_blocks(path);
	CHECK_EQ(blk_test_io(b, BLK_OP_DISCARD, 0, MiB, NULL, MiB), 0);
	blk_test_pattern(buf, MiB, MiB, 0);
	CHECK(file_equals(path, MiB, buf, MiB));
	CHECK_EQ(blk_test_io(b, BLK_OP_WRITE_ZEROES, BLK_REQ_UNMAP, 2 * MiB, NULL, MiB), 0);
	CHECK(file_blocks(path) >= blocks - 16);
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 2 * MiB, buf, MiB), 0);
	CHECK(all_zero(buf, MiB));
	blk_close(b);
	free(buf);
}

TEST(discard_threads)
{
	discard_zeroes(DRIVE_AIO_THREADS);
}

TEST(discard_io_uring)
{
	discard_zeroes(DRIVE_AIO_IO_URING);
}

TEST(detect_zeroes)
{
	static const enum drive_detect_zeroes modes[] = { DRIVE_DETECT_ZEROES_OFF,
							  DRIVE_DETECT_ZEROES_ON,
							  DRIVE_DETECT_ZEROES_UNMAP };
	uint8_t *zero = calloc(1, MiB), *buf = malloc(MiB);
	for (int m = 0; m < 3; m++) {
		const char *path = make_file("dz.img", 4 * MiB, true);
		struct drive_config cfg = blk_test_drive(path);
		cfg.discard = DRIVE_DISCARD_UNMAP;
		cfg.detect_zeroes = modes[m];
		struct blk *b;
		CHECK_EQ(blk_test_open(&cfg, &b), 0);
		uint64_t blocks = file_blocks(path);
		CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, MiB, zero, MiB), 0);
		CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, MiB, buf, MiB), 0);
		CHECK(all_zero(buf, MiB));
		/* only detect-zeroes=unmap frees the space */
		if (modes[m] == DRIVE_DETECT_ZEROES_UNMAP)
			CHECK(file_blocks(path) <= blocks - 2048 + 16);
		else
			CHECK(file_blocks(path) >= blocks - 16);
		/* a write that is not all zeroes is written */
		blk_test_pattern(buf, MiB, 9, 9);
		CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, 2 * MiB, buf, MiB), 0);
		CHECK(file_equals(path, 2 * MiB, buf, MiB));
		blk_close(b);
	}
	free(zero);
	free(buf);
}

/* ---- read-only, probing, opening ---- */

TEST(readonly)
{
	const char *path = make_file("ro.img", MiB, true);
	struct drive_config cfg = blk_test_drive(path);
	cfg.readonly = true;
	cfg.discard = DRIVE_DISCARD_UNMAP;
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	CHECK(blk_is_readonly(b));
	CHECK(!blk_can_discard(b));
	uint8_t buf[4096], expect[4096];
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 4096, buf, 4096), 0);
	blk_test_pattern(expect, 4096, 4096, 0);
	CHECK(!memcmp(buf, expect, 4096));
	CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, 0, buf, 4096), -EROFS);
	CHECK_EQ(blk_test_io(b, BLK_OP_WRITE_ZEROES, 0, 0, NULL, 4096), -EROFS);
	CHECK_EQ(blk_test_io(b, BLK_OP_DISCARD, 0, 0, NULL, 4096), -EROFS);
	CHECK_EQ(blk_test_io(b, BLK_OP_FLUSH, 0, 0, NULL, 0), 0);
	blk_close(b);
	blk_test_pattern(expect, 4096, 0, 0);
	CHECK(file_equals(path, 0, expect, 4096));
	/* a file opened read-only by the layer can be one the user cannot write */
	chmod(path, 0444);
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	blk_close(b);
}

TEST(probe_guessed_raw)
{
	const char *path = make_file("probe.img", MiB, true);
	struct drive_config cfg = blk_test_drive(path);
	cfg.format = DRIVE_FORMAT_PROBE;
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	/* a guest must not make a guessed-raw image look like a qcow2 */
	uint8_t sector[512] = { 'Q', 'F', 'I', 0xfb };
	CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, 0, sector, 512), -EPERM);
	CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, 512, sector, 512), 0);
	sector[0] = 'X';
	CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, 0, sector, 512), 0);
	blk_close(b);
	/* format=raw: what the user said */
	cfg.format = DRIVE_FORMAT_RAW;
	sector[0] = 'Q';
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, 0, sector, 512), 0);
	blk_close(b);
	/* now it has qcow2's magic: format=raw still takes it as raw */
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	CHECK_EQ(blk_size(b), MiB);
	blk_close(b);
}

TEST(open_errors)
{
	struct drive_config cfg = blk_test_drive(blk_test_path("missing.img"));
	struct blk *b = NULL;
	CHECK_EQ(blk_test_open(&cfg, &b), -ENOENT);
	cfg.file = blk_test_path("");
	CHECK_EQ(blk_test_open(&cfg, &b), -EISDIR);
	cfg.file = "/dev/null";
	CHECK_EQ(blk_test_open(&cfg, &b), -EINVAL);
	/* a FIFO is refused at once, not waited on */
	cfg.file = blk_test_path("fifo");
	CHECK_EQ(mkfifo(cfg.file, 0644), 0);
	CHECK_EQ(blk_test_open(&cfg, &b), -EINVAL);
	cfg.readonly = true;
	CHECK_EQ(blk_test_open(&cfg, &b), -EINVAL);
}

/* A file whose size is not a multiple of 512: the disk rounds up, and the
 * tail reads as zeroes */
TEST(odd_size)
{
	const char *path = make_file("odd.img", 1000, true);
	struct drive_config cfg = blk_test_drive(path);
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	CHECK_EQ(blk_size(b), 1024);
	uint8_t buf[1024], expect[1024] = { 0 };
	blk_test_pattern(expect, 1000, 0, 0);
	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 0, buf, 1024), 0);
	CHECK(!memcmp(buf, expect, 1024));
	blk_close(b);
}

/* ---- beyond 4 GiB ---- */

static void large_sparse(enum drive_aio aio)
{
	const uint64_t size = 6ull << 30;
	const char *path = make_file("large.img", size, false);
	struct drive_config cfg = blk_test_drive(path);
	cfg.aio = aio;
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	CHECK_EQ(blk_size(b), size);
	static const uint64_t offsets[] = { (4ull << 30) - 4096, 4ull << 30, (5ull << 30) + 512,
					    (6ull << 30) - 65536 };
	uint8_t buf[65536], back[65536];
	for (int i = 0; i < 4; i++) {
		blk_test_pattern(buf, sizeof(buf), offsets[i], 3);
		CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, offsets[i], buf, 8192), 0);
	}
	for (int i = 0; i < 4; i++) {
		blk_test_pattern(buf, sizeof(buf), offsets[i], 3);
		CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, offsets[i], back, 8192), 0);
		CHECK(!memcmp(buf, back, 8192));
		CHECK(file_equals(path, offsets[i], buf, 8192));
	}
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, size - 512, back, 1024), -EINVAL);
	blk_close(b);
	CHECK(file_blocks(path) < 1024);	/* still sparse */
}

TEST(large_threads)
{
	large_sparse(DRIVE_AIO_THREADS);
}

TEST(large_io_uring)
{
	large_sparse(DRIVE_AIO_IO_URING);
}

/* ---- a block device with 4 KiB sectors (a loop device) ---- */

/* A loop device over path with the given sector size, which goes away
 * when the last descriptor closes; -1 when there is none to have */
static int loop_attach(const char *path, unsigned block_size, char *dev, size_t dev_size)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -1;
	int nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (nr < 0)
		return -1;
	snprintf(dev, dev_size, "/dev/loop%d", nr);
	int lfd = open(dev, O_RDWR | O_CLOEXEC);
	int ffd = open(path, O_RDWR | O_CLOEXEC);
	if (lfd < 0 || ffd < 0) {
		if (lfd >= 0)
			close(lfd);
		if (ffd >= 0)
			close(ffd);
		return -1;
	}
	struct loop_config lc = { .fd = (unsigned)ffd, .block_size = block_size,
				  .info = { .lo_flags = LO_FLAGS_AUTOCLEAR } };
	int ret = ioctl(lfd, LOOP_CONFIGURE, &lc);
	close(ffd);
	if (ret < 0) {
		close(lfd);
		return -1;
	}
	return lfd;
}

static void blockdev_4k(enum drive_aio aio)
{
	const uint64_t size = 4 * MiB;
	const char *path = make_file("loop.img", size, true);
	char dev[64];
	int lfd = loop_attach(path, 4096, dev, sizeof(dev));
	if (lfd < 0)
		SKIP("no loop device to attach");
	struct drive_config cfg = blk_test_drive(dev);
	cfg.aio = aio;
	cfg.direct = true;
	cfg.cache = DRIVE_CACHE_NONE;
	cfg.discard = DRIVE_DISCARD_UNMAP;
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b) {
		close(lfd);
		return;
	}
	CHECK_EQ(blk_size(b), size);
	uint8_t *mirror = malloc(size);
	blk_test_pattern(mirror, size, 0, 0);

	/* many 512-byte writes into the same 4 KiB sectors at once: each is
	 * a read-modify-write, none may undo another */
	struct blk_batch batch;
	blk_batch_init(&batch);
	static uint8_t data[64][512];
	struct iovec iov[64];
	struct blk_request req[64];
	blk_plug(b);
	for (int i = 0; i < 64; i++) {
		uint64_t off = (uint64_t)(i % 16) * 4096 + (uint64_t)(i / 16) * 1024 + 512;
		blk_test_pattern(data[i], 512, off, 5);
		memcpy(mirror + off, data[i], 512);
		iov[i] = (struct iovec){ data[i], 512 };
		req[i] = (struct blk_request){ .op = BLK_OP_WRITE, .offset = off, .iov = &iov[i],
					       .iovcnt = 1 };
		blk_batch_submit(b, &batch, &req[i]);
	}
	blk_unplug(b);
	CHECK_EQ(blk_batch_wait(&batch), 0);

	/* a whole 4 KiB sector and a 512-byte part of it written at once:
	 * the part's read-modify-write must not put back what the whole
	 * write replaced in the sectors only it wrote */
	static uint8_t whole[4096] __attribute__((aligned(4096))), part[512], back[512];
	bool kept = true;
	for (uint64_t r = 0; r < 1000 && kept; r++) {
		uint64_t off = 200 * 4096 + r % 32 * 4096;
		struct iovec wiov = { whole, 4096 }, piov = { part, 512 };
		struct blk_request w = { .op = BLK_OP_WRITE, .offset = off, .iov = &wiov, .iovcnt = 1 };
		struct blk_request p = { .op = BLK_OP_WRITE, .offset = off + 512, .iov = &piov,
					 .iovcnt = 1 };
		blk_test_pattern(whole, 4096, off, 100 + r);
		blk_test_pattern(part, 512, off + 512, 500 + r);
		blk_batch_init(&batch);
		blk_plug(b);
		blk_batch_submit(b, &batch, r & 1 ? &p : &w);
		blk_batch_submit(b, &batch, r & 1 ? &w : &p);
		blk_unplug(b);
		CHECK_EQ(blk_batch_wait(&batch), 0);
		CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, off, back, 512), 0);
		kept = !memcmp(back, whole, 512);
		memcpy(mirror + off, whole, 4096);
		CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, off + 512, mirror + off + 512, 512), 0);
	}
	CHECK(kept);

	/* unaligned reads, and a write spanning sectors from an odd buffer */
	uint8_t *buf = malloc(3 * 4096 + 1);
	blk_test_pattern(buf + 1, 3 * 4096, 77, 77);
	CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, 100 * 4096 + 1536, buf + 1, 2 * 4096), 0);
	memcpy(mirror + 100 * 4096 + 1536, buf + 1, 2 * 4096);
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 512, buf + 1, 3 * 4096), 0);
	CHECK(!memcmp(buf + 1, mirror + 512, 3 * 4096));
	CHECK_EQ(blk_test_io(b, BLK_OP_FLUSH, 0, 0, NULL, 0), 0);

	/* discard on a device goes through BLKDISCARD; loop devices punch
	 * the backing file, so it reads back as zeroes */
	CHECK_EQ(blk_test_io(b, BLK_OP_DISCARD, 0, 2 * MiB, NULL, MiB), 0);
	CHECK_EQ(blk_test_io(b, BLK_OP_WRITE_ZEROES, 0, 3 * MiB, NULL, 8192), 0);
	memset(mirror + 3 * MiB, 0, 8192);
	uint8_t *all = malloc(size);
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 0, all, size), 0);
	CHECK(!memcmp(all, mirror, 2 * MiB));
	CHECK(!memcmp(all + 3 * MiB, mirror + 3 * MiB, MiB));
	blk_close(b);
	close(lfd);
	free(all);
	free(buf);
	free(mirror);
}

TEST(blockdev_4k_threads)
{
	blockdev_4k(DRIVE_AIO_THREADS);
}

TEST(blockdev_4k_io_uring)
{
	blockdev_4k(DRIVE_AIO_IO_URING);
}

/* ---- cache modes: every one reads and writes; unsafe flushes nothing ---- */

TEST(cache_modes)
{
	static const enum drive_cache modes[] = { DRIVE_CACHE_WRITEBACK, DRIVE_CACHE_NONE,
						  DRIVE_CACHE_WRITETHROUGH, DRIVE_CACHE_DIRECTSYNC,
						  DRIVE_CACHE_UNSAFE };
	for (int aio = 0; aio < 2; aio++) {
		for (int m = 0; m < 5; m++) {
			const char *path = make_file("cache.img", MiB, false);
			struct drive_config cfg = blk_test_drive(path);
			cfg.aio = (enum drive_aio)aio;
			cfg.cache = modes[m];
			cfg.direct = modes[m] == DRIVE_CACHE_NONE || modes[m] == DRIVE_CACHE_DIRECTSYNC;
			cfg.writethrough = modes[m] == DRIVE_CACHE_WRITETHROUGH ||
					   modes[m] == DRIVE_CACHE_DIRECTSYNC;
			cfg.no_flush = modes[m] == DRIVE_CACHE_UNSAFE;
			struct blk *b;
			CHECK_EQ(blk_test_open(&cfg, &b), 0);
			if (!b)
				continue;
			uint8_t buf[8192];
			blk_test_pattern(buf, sizeof(buf), 0, (uint64_t)m);
			CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, 8192, buf, 8192), 0);
			CHECK_EQ(blk_test_io(b, BLK_OP_WRITE_ZEROES, 0, 0, NULL, 4096), 0);
			CHECK_EQ(blk_test_io(b, BLK_OP_FLUSH, 0, 0, NULL, 0), 0);
			CHECK(file_equals(path, 8192, buf, 8192));
			blk_close(b);
			if (test_state.failed_checks) {
				printf("  aio=%s cache mode %d\n", engine_names[aio], m);
				return;
			}
		}
	}
}

/* A completion that submits the next request (as a device finishing one
 * chain and starting another may): on io_uring this comes from the reaper
 * thread, which must not wait on its own ring */
struct chain {
	struct blk *b;
	struct blk_request req;
	struct iovec iov;
	uint8_t buf[4096];
	unsigned left;
	int failures;
	struct blk_batch done;
};

static void chain_complete(struct blk_request *req, int ret)
{
	struct chain *c = req->opaque;
	if (ret < 0)
		c->failures++;
	if (--c->left == 0) {
		pthread_mutex_lock(&c->done.lock);
		c->done.pending = 0;
		pthread_cond_broadcast(&c->done.cond);
		pthread_mutex_unlock(&c->done.lock);
		return;
	}
	c->req.offset = (uint64_t)(c->left % 64) * 4096;
	c->req.op = c->left % 2 ? BLK_OP_WRITE : BLK_OP_READ;
	if (blk_submit(c->b, &c->req) < 0)
		c->failures++;
}

static void completion_submits(enum drive_aio aio)
{
	const char *path = make_file("chain.img", MiB, true);
	struct drive_config cfg = blk_test_drive(path);
	cfg.aio = aio;
	struct chain *c = calloc(1, sizeof(*c));
	CHECK_EQ(blk_test_open(&cfg, &c->b), 0);
	if (!c->b) {
		free(c);
		return;
	}
	blk_batch_init(&c->done);
	c->done.pending = 1;
	c->left = 300;
	c->iov = (struct iovec){ c->buf, sizeof(c->buf) };
	c->req = (struct blk_request){ .op = BLK_OP_READ, .iov = &c->iov, .iovcnt = 1,
				       .complete = chain_complete, .opaque = c };
	CHECK_EQ(blk_submit(c->b, &c->req), 0);
	pthread_mutex_lock(&c->done.lock);
	while (c->done.pending)
		pthread_cond_wait(&c->done.cond, &c->done.lock);
	pthread_mutex_unlock(&c->done.lock);
	CHECK_EQ(c->failures, 0);
	blk_close(c->b);
	free(c);
}

TEST(completion_submits_threads)
{
	completion_submits(DRIVE_AIO_THREADS);
}

TEST(completion_submits_io_uring)
{
	completion_submits(DRIVE_AIO_IO_URING);
}

/* O_DIRECT transfers scattered over many small buffers go through bounce
 * buffers: every byte lands where its iovec says, with more requests in
 * flight than the disk keeps buffers for, and one larger than a kept one */
static void scattered_direct(enum drive_aio aio)
{
	const uint64_t size = 8 * MiB, piece = 4096;
	const unsigned inflight = 12, npieces = 64, nbig = 768;	/* 256 KiB each; 3 MiB */
	const char *path = make_file("scatter.img", size, true);
	struct drive_config cfg = blk_test_drive(path);
	cfg.aio = aio;
	cfg.direct = true;
	cfg.cache = DRIVE_CACHE_NONE;
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	uint8_t *mirror = malloc(size), *mem = aligned_alloc(piece, 2 * nbig * piece);
	struct iovec *iov = calloc(inflight * npieces + nbig, sizeof(*iov));
	struct blk_request req[12];
	blk_test_pattern(mirror, size, 0, 0);

	for (int round = 0; round < 4; round++) {
		/* pieces taken backwards, every other page: nothing adjacent */
		bool writing = round % 2 == 0;
		struct blk_batch batch;
		blk_batch_init(&batch);
		blk_plug(b);
		for (unsigned r = 0; r < inflight; r++) {
			struct iovec *v = iov + r * npieces;
			uint64_t off = (uint64_t)(r * 5 + round) % 30 * npieces * piece;
			for (unsigned i = 0; i < npieces; i++)
				v[i] = (struct iovec){ mem + (2 * (r * npieces + npieces - 1 - i)) * piece,
						       piece };
			if (writing)
				for (unsigned i = 0; i < npieces; i++) {
					blk_test_pattern(v[i].iov_base, piece, off + i * piece, 10 + round);
					memcpy(mirror + off + i * piece, v[i].iov_base, piece);
				}
			else
				for (unsigned i = 0; i < npieces; i++)
					memset(v[i].iov_base, 0xee, piece);
			req[r] = (struct blk_request){ .op = writing ? BLK_OP_WRITE : BLK_OP_READ,
						       .offset = off, .iov = v, .iovcnt = npieces };
			blk_batch_submit(b, &batch, &req[r]);
		}
		blk_unplug(b);
		CHECK_EQ(blk_batch_wait(&batch), 0);
		if (!writing)
			for (unsigned r = 0; r < inflight; r++)
				for (unsigned i = 0; i < npieces; i++)
					CHECK(!memcmp(req[r].iov[i].iov_base,
						      mirror + req[r].offset + i * piece, piece));
	}

	/* 3 MiB in 768 pieces, written and read back */
	struct iovec *big = iov + inflight * npieces;
	for (unsigned i = 0; i < nbig; i++)
		big[i] = (struct iovec){ mem + (2 * (nbig - 1 - i)) * piece, piece };
	for (unsigned i = 0; i < nbig; i++) {
		blk_test_pattern(big[i].iov_base, piece, 4 * MiB + i * piece, 99);
		memcpy(mirror + 4 * MiB + i * piece, big[i].iov_base, piece);
	}
	CHECK_EQ(blk_test_iov(b, BLK_OP_WRITE, 0, 4 * MiB, big, nbig), 0);
	memset(mem, 0, 2 * nbig * piece);
	CHECK_EQ(blk_test_iov(b, BLK_OP_READ, 0, 4 * MiB, big, nbig), 0);
	bool same = true;
	for (unsigned i = 0; i < nbig && same; i++)
		same = !memcmp(big[i].iov_base, mirror + 4 * MiB + i * piece, piece);
	CHECK(same);
	blk_close(b);
	CHECK(file_equals(path, 0, mirror, size));
	free(iov);
	free(mem);
	free(mirror);
}

TEST(scattered_direct_threads)
{
	scattered_direct(DRIVE_AIO_THREADS);
}

TEST(scattered_direct_io_uring)
{
	scattered_direct(DRIVE_AIO_IO_URING);
}

RUN_TESTS(T(rw_threads), T(rw_io_uring), T(rw_direct_threads), T(rw_direct_io_uring),
	  T(many_threads_threads), T(many_threads_io_uring), T(deep_queue_threads),
	  T(deep_queue_io_uring), T(polled_completions), T(plug_threads), T(plug_io_uring),
	  T(discard_threads), T(discard_io_uring), T(detect_zeroes), T(readonly),
	  T(probe_guessed_raw), T(open_errors), T(odd_size), T(large_threads), T(large_io_uring),
	  T(blockdev_4k_threads), T(blockdev_4k_io_uring), T(cache_modes),
	  T(completion_submits_threads), T(completion_submits_io_uring),
	  T(scattered_direct_threads), T(scattered_direct_io_uring))
