/* Bounce buffers for O_DIRECT: memory in 2 MiB host pages, so that the
 * kernel hands the host device one piece per buffer.  A disk keeps a few
 * for reuse; a buffer takes memory only once it is used.  Small ones
 * (an unaligned sector) come from the heap. */
#ifndef MINIVMM_BLOCK_BOUNCE_H
#define MINIVMM_BLOCK_BOUNCE_H

#include <pthread.h>
#include <stddef.h>

/* The largest buffer kept for reuse (larger ones are mapped each time) */
#define BOUNCE_KEEP_SIZE (2u << 20)
/* Below this, a heap buffer aligned for any O_DIRECT file (64 KiB) */
#define BOUNCE_HEAP_BELOW (64u << 10)
#define BOUNCE_KEEP_COUNT 4

struct bounce_pool {
	pthread_mutex_t lock;
	void *kept[BOUNCE_KEEP_COUNT];
	unsigned nkept;
};

void bounce_pool_init(struct bounce_pool *p);
void bounce_pool_destroy(struct bounce_pool *p);
/* A buffer of len bytes, aligned to 2 MiB (64 KiB when small); NULL when
 * out of memory */
void *bounce_get(struct bounce_pool *p, size_t len);
/* Give back what bounce_get(p, len) returned */
void bounce_put(struct bounce_pool *p, void *buf, size_t len);

#endif
