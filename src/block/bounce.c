#include "block/bounce.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_SIZE (2ul << 20)

static size_t bounce_map_size(size_t len)
{
	return len <= BOUNCE_KEEP_SIZE ? BOUNCE_KEEP_SIZE : (len + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
}

void bounce_pool_init(struct bounce_pool *p)
{
	pthread_mutex_init(&p->lock, NULL);
	p->nkept = 0;
}

void bounce_pool_destroy(struct bounce_pool *p)
{
	while (p->nkept)
		munmap(p->kept[--p->nkept], BOUNCE_KEEP_SIZE);
	pthread_mutex_destroy(&p->lock);
}

/* An anonymous mapping aligned to 2 MiB (over-map, then trim the ends) */
static void *bounce_map(size_t size)
{
	uint8_t *p = mmap(NULL, size + HUGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uint8_t *aligned = (uint8_t *)(((uintptr_t)p + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1));
	if (aligned > p)
		munmap(p, (size_t)(aligned - p));
	if (aligned + size < p + size + HUGE_SIZE)
		munmap(aligned + size, (size_t)(p + size + HUGE_SIZE - (aligned + size)));
	madvise(aligned, size, MADV_HUGEPAGE);
	return aligned;
}

void *bounce_get(struct bounce_pool *p, size_t len)
{
	if (len < BOUNCE_HEAP_BELOW) {
		void *buf;
		return posix_memalign(&buf, BOUNCE_HEAP_BELOW, len) ? NULL : buf;
	}
	size_t size = bounce_map_size(len);
	if (size == BOUNCE_KEEP_SIZE) {
		void *buf = NULL;
		pthread_mutex_lock(&p->lock);
		if (p->nkept)
			buf = p->kept[--p->nkept];
		pthread_mutex_unlock(&p->lock);
		if (buf)
			return buf;
	}
	return bounce_map(size);
}

void bounce_put(struct bounce_pool *p, void *buf, size_t len)
{
	if (len < BOUNCE_HEAP_BELOW) {
		free(buf);
		return;
	}
	size_t size = bounce_map_size(len);
	if (size == BOUNCE_KEEP_SIZE) {
		pthread_mutex_lock(&p->lock);
		bool keep = p->nkept < BOUNCE_KEEP_COUNT;
		if (keep)
			p->kept[p->nkept++] = buf;
		pthread_mutex_unlock(&p->lock);
		if (keep)
			return;
	}
	munmap(buf, size);
}
