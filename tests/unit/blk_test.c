/* Helpers for the block-layer tests (blk_test.h). */
#include "blk_test.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char blk_test_dir[64];

static void blk_test_remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", blk_test_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", blk_test_dir);
}

static void blk_test_make_dir(void)
{
	if (blk_test_dir[0])
		return;
	snprintf(blk_test_dir, sizeof(blk_test_dir), "/tmp/minivmm-blk-XXXXXX");
	if (!mkdtemp(blk_test_dir)) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(blk_test_remove_dir);
}

const char *blk_test_path(const char *name)
{
	static char paths[256][256];
	static unsigned next;
	blk_test_make_dir();
	char *p = paths[next++ % 256];
	snprintf(p, sizeof(paths[0]), "%s/%s", blk_test_dir, name);
	return p;
}

struct drive_config blk_test_drive(const char *file)
{
	return (struct drive_config){ .id = "d", .file = file, .format = DRIVE_FORMAT_RAW,
				      .interface = DRIVE_IF_NONE };
}

int blk_test_open(const struct drive_config *cfg, struct blk **out)
{
	return blk_open(cfg, out);
}

struct blk_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int ret;
	pthread_t submitter;
	bool same_thread;
};

static void blk_wait_complete(struct blk_request *req, int ret)
{
	struct blk_wait *w = req->opaque;
	pthread_mutex_lock(&w->lock);
	w->ret = ret;
	w->done = true;
	w->same_thread = pthread_equal(pthread_self(), w->submitter);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int blk_test_iov(struct blk *b, enum blk_op op, unsigned flags, uint64_t offset,
		 const struct iovec *iov, unsigned cnt)
{
	struct blk_wait w = { .lock = PTHREAD_MUTEX_INITIALIZER,
			      .cond = PTHREAD_COND_INITIALIZER,
			      .submitter = pthread_self() };
	struct blk_request req = { .op = op, .flags = flags, .offset = offset, .iov = iov,
				   .iovcnt = cnt, .complete = blk_wait_complete, .opaque = &w };
	if (op == BLK_OP_DISCARD || op == BLK_OP_WRITE_ZEROES) {
		req.len = iov ? iov[0].iov_len : 0;
		req.iov = NULL;
		req.iovcnt = 0;
	}
	int ret = blk_submit(b, &req);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	if (w.same_thread) {
		printf("  request completed on the submitting thread\n");
		return -EDEADLK;
	}
	return w.ret;
}

int blk_test_io(struct blk *b, enum blk_op op, unsigned flags, uint64_t offset, void *buf,
		uint64_t len)
{
	struct iovec iov = { buf, len };
	return blk_test_iov(b, op, flags, offset, &iov, 1);
}

void blk_batch_init(struct blk_batch *batch)
{
	*batch = (struct blk_batch){ .lock = PTHREAD_MUTEX_INITIALIZER,
				     .cond = PTHREAD_COND_INITIALIZER,
				     .submitter = pthread_self() };
}

static void blk_batch_complete(struct blk_request *req, int ret)
{
	struct blk_batch *batch = req->opaque;
	pthread_mutex_lock(&batch->lock);
	if (ret < 0)
		batch->failed++;
	if (pthread_equal(pthread_self(), batch->submitter))
		batch->wrong_thread++;
	if (--batch->pending == 0)
		pthread_cond_broadcast(&batch->cond);
	pthread_mutex_unlock(&batch->lock);
}

int blk_batch_submit(struct blk *b, struct blk_batch *batch, struct blk_request *req)
{
	req->complete = blk_batch_complete;
	req->opaque = batch;
	pthread_mutex_lock(&batch->lock);
	batch->pending++;
	pthread_mutex_unlock(&batch->lock);
	int ret = blk_submit(b, req);
	if (ret < 0) {
		pthread_mutex_lock(&batch->lock);
		batch->pending--;
		batch->failed++;
		pthread_mutex_unlock(&batch->lock);
	}
	return ret;
}

unsigned blk_batch_wait(struct blk_batch *batch)
{
	pthread_mutex_lock(&batch->lock);
	while (batch->pending)
		pthread_cond_wait(&batch->cond, &batch->lock);
	unsigned failed = batch->failed + batch->wrong_thread;
	pthread_mutex_unlock(&batch->lock);
	return failed;
}

static int blk_test_vsh(char *out, size_t size, const char *fmt, va_list ap)
{
	char cmd[4096], log[128];
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	blk_test_make_dir();
	snprintf(log, sizeof(log), "%s/sh.log", blk_test_dir);
	char full[4400];
	snprintf(full, sizeof(full), "(%s) >'%s' 2>&1", cmd, log);
	int st = system(full);
	int rc = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	FILE *f = fopen(log, "r");
	if (out && size)
		out[0] = 0;
	if (f) {
		if (out && size && fgets(out, (int)size, f))
			out[strcspn(out, "\n")] = 0;
		if (rc != 0) {
			char line[512];
			rewind(f);
			printf("  $ %s  (exit %d)\n", cmd, rc);
			for (int i = 0; i < 20 && fgets(line, sizeof(line), f); i++)
				printf("  | %s", line);
		}
		fclose(f);
	}
	return rc;
}

int blk_test_sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = blk_test_vsh(NULL, 0, fmt, ap);
	va_end(ap);
	return rc;
}

int blk_test_sh_out(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = blk_test_vsh(out, size, fmt, ap);
	va_end(ap);
	return rc;
}

bool blk_test_have(const char *program)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v '%s' >/dev/null 2>&1", program);
	return system(cmd) == 0;
}

void blk_test_pattern(void *buf, uint64_t len, uint64_t offset, uint64_t gen)
{
	uint8_t *p = buf;
	for (uint64_t i = 0; i < len; i += 8) {
		uint64_t v = ((offset + i) << 8) ^ (gen * 0x9e3779b97f4a7c15ull) ^ 0x5a5a;
		for (unsigned k = 0; k < 8 && i + k < len; k++)
			p[i + k] = (uint8_t)(v >> (8 * k));
	}
}
