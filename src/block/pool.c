/* The block layer's worker threads (pool.h). */
#include "block/pool.h"

#include <errno.h>

static void *blk_pool_thread(void *opaque)
{
	struct blk_pool *p = opaque;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct blk_job *job = p->head;
		if (!job) {
			if (p->stop)
				break;
			p->idle++;
			pthread_cond_wait(&p->work, &p->lock);
			p->idle--;
			continue;
		}
		p->head = job->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		job->run(job);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Called with the lock held */
static int blk_pool_start_thread(struct blk_pool *p)
{
	int ret = pthread_create(&p->threads[p->nthreads], NULL, blk_pool_thread, p);
	if (ret)
		return -ret;
	p->nthreads++;
	return 0;
}

int blk_pool_init(struct blk_pool *p, unsigned max)
{
	*p = (struct blk_pool){ .max = max < 1 ? 1 : max > BLK_POOL_MAX_THREADS ?
						BLK_POOL_MAX_THREADS : max };
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_mutex_lock(&p->lock);
	int ret = blk_pool_start_thread(p);
	pthread_mutex_unlock(&p->lock);
	if (ret < 0) {
		pthread_cond_destroy(&p->work);
		pthread_mutex_destroy(&p->lock);
	}
	return ret;
}

void blk_pool_queue(struct blk_pool *p, struct blk_job *first, struct blk_job *last)
{
	unsigned n = 0;
	last->next = NULL;
	for (struct blk_job *j = first; j; j = j->next)
		n++;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = first;
	else
		p->head = first;
	p->tail = last;
	/* a thread for each job that no idle thread takes; failing to start
	 * one only means less parallelism, there is always at least one */
	for (unsigned busy = n > p->idle ? n - p->idle : 0; busy && p->nthreads < p->max; busy--)
		if (blk_pool_start_thread(p) < 0)
			break;
	if (n == 1)
		pthread_cond_signal(&p->work);
	else
		pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
}

void blk_pool_destroy(struct blk_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
}
