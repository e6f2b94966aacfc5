/* aio=threads: each I/O is a job for the worker pool, which makes the
 * system calls. */
#include "block/aio.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

struct threads_engine {
	struct blk_engine e;
	struct blk_pool *pool;
};

static void threads_job(struct blk_job *job)
{
	struct blk_aio *a = (struct blk_aio *)((char *)job - offsetof(struct blk_aio, job));
	a->done(a, blk_aio_execute(a, 0));
}

static void threads_submit(struct blk_engine *e, struct blk_aio *list)
{
	struct threads_engine *t = (struct threads_engine *)e;
	struct blk_job *first = NULL, *last = NULL;
	for (struct blk_aio *a = list; a; a = a->next) {
		a->job.run = threads_job;
		a->job.next = NULL;
		if (last)
			last->next = &a->job;
		else
			first = &a->job;
		last = &a->job;
	}
	blk_pool_queue(t->pool, first, last);
}

static void threads_destroy(struct blk_engine *e)
{
	free(e);
}

static const struct blk_engine_ops threads_ops = {
	.submit = threads_submit,
	.destroy = threads_destroy,
};

int blk_engine_threads_new(struct blk_pool *pool, struct blk_engine **out)
{
	struct threads_engine *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->e.ops = &threads_ops;
	t->pool = pool;
	*out = &t->e;
	return 0;
}
