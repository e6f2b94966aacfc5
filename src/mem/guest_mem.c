#include "mem/guest_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE_SHIFT 12

/* Lay out the mapping p of ram_size bytes as the PC does */
static int guest_mem_layout_pc(struct guest_mem *gm, uint8_t *p, uint64_t ram_size)
{
	/* calloc of a large bitmap maps zero pages: only what is dirtied costs */
	uint64_t pages = (ram_size + (1u << PAGE_SHIFT) - 1) >> PAGE_SHIFT;
	gm->dirty = calloc((pages + 63) / 64, sizeof(*gm->dirty));
	if (!gm->dirty)
		return -ENOMEM;
	gm->base = p;
	gm->ram_size = ram_size;
	uint64_t low = ram_size < PC_LOWMEM_LIMIT ? ram_size : PC_LOWMEM_LIMIT;
	gm->regions[0] = (struct mem_region){ .gpa = 0, .size = low, .hva = gm->base, .slot = 0 };
	gm->nr_regions = 1;
	if (ram_size > low) {
		gm->regions[1] = (struct mem_region){ .gpa = PC_HIGHMEM_BASE,
						      .size = ram_size - low,
						      .hva = gm->base + low,
						      .slot = 1 };
		gm->nr_regions = 2;
	}
	return 0;
}

int guest_mem_init_pc(struct guest_mem *gm, uint64_t ram_size)
{
	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
	if (ram_size == 0 || ram_size > GUEST_MEM_MAX_SIZE)
		return -EINVAL;
	void *p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	madvise(p, ram_size, MADV_MERGEABLE);
	/* 2 MiB host pages where the kernel can: far fewer faults as the
	 * guest touches its memory, and fewer host TLB misses for the
	 * software CPU (as QEMU does for guest RAM) */
	madvise(p, ram_size, MADV_HUGEPAGE);
	int ret = guest_mem_layout_pc(gm, p, ram_size);
	if (ret < 0)
		munmap(p, ram_size);
	return ret;
}

int guest_mem_init_pc_memfd(struct guest_mem *gm, uint64_t ram_size, bool share)
{
	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
	if (ram_size == 0 || ram_size > GUEST_MEM_MAX_SIZE)
		return -EINVAL;
	int fd = memfd_create("minivmm-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	/* a process the fd is given to cannot shrink it under our mapping */
	if (ftruncate(fd, (off_t)ram_size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	void *p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		       (share ? MAP_SHARED : MAP_PRIVATE) | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	int ret = guest_mem_layout_pc(gm, p, ram_size);
	if (ret < 0) {
		munmap(p, ram_size);
		close(fd);
		return ret;
	}
	gm->fd = fd;
	gm->shared = share;
	return 0;
}

void guest_mem_destroy(struct guest_mem *gm)
{
	if (gm->base) {
		munmap(gm->base, gm->ram_size);
		if (gm->fd >= 0)
			close(gm->fd);
	}
	free(gm->dirty);
	memset(gm, 0, sizeof(*gm));
}

static const struct mem_region *guest_mem_region(const struct guest_mem *gm, uint64_t gpa)
{
	for (int i = 0; i < gm->nr_regions; i++) {
		const struct mem_region *r = &gm->regions[i];
		if (gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	const struct mem_region *r = guest_mem_region(gm, gpa);
	if (!r)
		return NULL;
	uint64_t off = gpa - r->gpa;
	if (len == 0)
		len = 1;
	if (len > r->size - off)
		return NULL;
	return r->hva + off;
}

void *guest_mem_ptr_run(const struct guest_mem *gm, uint64_t gpa, uint64_t *avail)
{
	const struct mem_region *r = guest_mem_region(gm, gpa);
	if (!r)
		return NULL;
	uint64_t off = gpa - r->gpa;
	*avail = r->size - off;
	return r->hva + off;
}

bool guest_mem_is_ram(const struct guest_mem *gm, uint64_t gpa)
{
	return guest_mem_region(gm, gpa) != NULL;
}

/* Is every byte of [gpa, gpa + len) RAM? Checked before a copy starts, so
 * that a failed write leaves the guest untouched. */
static bool guest_mem_range_is_ram(const struct guest_mem *gm, uint64_t gpa, size_t len)
{
	while (len) {
		const struct mem_region *r = guest_mem_region(gm, gpa);
		if (!r)
			return false;
		uint64_t n = r->size - (gpa - r->gpa);
		if (n >= len)
			return true;
		gpa += n;
		len -= n;
	}
	return true;
}

static int guest_mem_copy(const struct guest_mem *gm, uint64_t gpa, void *buf, size_t len,
			  bool to_guest)
{
	uint8_t *b = buf;
	if (!guest_mem_range_is_ram(gm, gpa, len))
		return -EFAULT;
	while (len) {
		const struct mem_region *r = guest_mem_region(gm, gpa);
		uint64_t off = gpa - r->gpa;
		uint64_t n = r->size - off;
		if (n > len)
			n = len;
		if (to_guest)
			memcpy(r->hva + off, b, n);
		else
			memcpy(b, r->hva + off, n);
		b += n;
		gpa += n;
		len -= n;
	}
	return 0;
}

int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *buf, size_t len)
{
	return guest_mem_copy(gm, gpa, buf, len, false);
}

int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, size_t len)
{
	return guest_mem_copy(gm, gpa, (void *)buf, len, true);
}

void guest_mem_mark_dirty(struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	if (gpa + len < gpa)
		len = -gpa;	/* to the top of the address space */
	while (len) {
		uint64_t avail;
		uint8_t *p = guest_mem_ptr_run(gm, gpa, &avail);
		if (!p) {
			/* not RAM: skip to the next page */
			uint64_t step = (1u << PAGE_SHIFT) - (gpa & ((1u << PAGE_SHIFT) - 1));
			if (step >= len)
				return;
			gpa += step;
			len -= step;
			continue;
		}
		uint64_t n = avail < len ? avail : len;
		uint64_t first = (uint64_t)(p - gm->base) >> PAGE_SHIFT;
		uint64_t last = ((uint64_t)(p - gm->base) + n - 1) >> PAGE_SHIFT;
		for (uint64_t pg = first; pg <= last; pg++) {
			uint64_t bit = 1ull << (pg & 63);
			/* a plain load first: the bit is usually set already */
			if (!(atomic_load_explicit(&gm->dirty[pg >> 6], memory_order_relaxed) & bit))
				atomic_fetch_or_explicit(&gm->dirty[pg >> 6], bit, memory_order_relaxed);
		}
		gpa += n;
		len -= n;
	}
}

bool guest_mem_test_and_clear_dirty(struct guest_mem *gm, uint64_t gpa)
{
	uint64_t avail;
	uint8_t *p = guest_mem_ptr_run(gm, gpa, &avail);
	if (!p)
		return false;
	uint64_t pg = (uint64_t)(p - gm->base) >> PAGE_SHIFT;
	uint64_t bit = 1ull << (pg & 63);
	return atomic_fetch_and_explicit(&gm->dirty[pg >> 6], ~bit, memory_order_relaxed) & bit;
}

uint64_t guest_mem_lowmem_end(const struct guest_mem *gm)
{
	return gm->nr_regions ? gm->regions[0].gpa + gm->regions[0].size : 0;
}
