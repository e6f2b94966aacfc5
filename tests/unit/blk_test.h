/* Helpers for the block-layer tests: a scratch directory, drives, one
 * request at a time or many in flight, and shell commands (qemu-img). */
#ifndef MINIVMM_BLK_TEST_H
#define MINIVMM_BLK_TEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "block/block.h"

/* A directory under /tmp for this test program, removed at exit; the path
 * of a name in it (a ring of buffers: the last 256 stay valid) */
const char *blk_test_path(const char *name);

/* A -drive for file with the parser's defaults (format=raw, if=none) */
struct drive_config blk_test_drive(const char *file);

/* Open quietly (the error line, if any, still goes to stderr) */
int blk_test_open(const struct drive_config *cfg, struct blk **out);

/* One request, waited for: 0 or a negative errno.  Also checks that
 * completion came on another thread. */
int blk_test_io(struct blk *b, enum blk_op op, unsigned flags, uint64_t offset, void *buf,
		uint64_t len);
int blk_test_iov(struct blk *b, enum blk_op op, unsigned flags, uint64_t offset,
		 const struct iovec *iov, unsigned cnt);

/* Many requests in flight; blk_batch_wait returns how many failed */
struct blk_batch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned pending, failed, wrong_thread;
	pthread_t submitter;
};
void blk_batch_init(struct blk_batch *batch);
/* req's complete and opaque are set here */
int blk_batch_submit(struct blk *b, struct blk_batch *batch, struct blk_request *req);
unsigned blk_batch_wait(struct blk_batch *batch);

/* A shell command built like printf; its exit status (-1 if it could not
 * run).  Output goes to the test's output only on failure. */
__attribute__((format(printf, 1, 2))) int blk_test_sh(const char *fmt, ...);
/* The same, keeping the first line of its output in out */
__attribute__((format(printf, 3, 4))) int blk_test_sh_out(char *out, size_t size,
							  const char *fmt, ...);
bool blk_test_have(const char *program);

/* Deterministic pseudo-random numbers */
static inline uint64_t blk_test_rand(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* Fill buf with a pattern that names its offset and a generation */
void blk_test_pattern(void *buf, uint64_t len, uint64_t offset, uint64_t gen);

#endif
