/* The block layer's worker threads: jobs run in the order they were
 * queued, on up to max threads started as the queue needs them.  Requests
 * that cannot be handed to the kernel whole (qcow2, NBD, discard on a block
 * device) run here, as do the reads and writes of aio=threads. */
#ifndef MINIVMM_BLOCK_POOL_H
#define MINIVMM_BLOCK_POOL_H

#include <pthread.h>
#include <stdbool.h>

struct blk_job {
	void (*run)(struct blk_job *job);
	struct blk_job *next;
};

#define BLK_POOL_MAX_THREADS 16

struct blk_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct blk_job *head, *tail;
	unsigned nthreads, idle, max;
	bool stop;
	pthread_t threads[BLK_POOL_MAX_THREADS];
};

/* Starts one thread; more start on demand, up to max */
int blk_pool_init(struct blk_pool *p, unsigned max);
/* Queue the jobs first..last (linked through next) */
void blk_pool_queue(struct blk_pool *p, struct blk_job *first, struct blk_job *last);
/* Runs what is queued, then joins the threads */
void blk_pool_destroy(struct blk_pool *p);

#endif
