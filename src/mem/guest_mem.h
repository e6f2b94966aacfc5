/* Guest RAM: host memory from mmap, laid out in the guest-physical address
 * space as one or more regions.  Every translation from a guest-physical
 * address to a host pointer checks the whole (address, length) range.
 * A dirty bitmap (one bit per 4 KiB page, atomic, any thread) records the
 * pages devices wrote (mem/dma.h), for snapshots and migration. */
#ifndef MINIVMM_GUEST_MEM_H
#define MINIVMM_GUEST_MEM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 8

/* The PC hole below 4 GiB for MMIO (PCI, IOAPIC, LAPIC, firmware) */
#define PC_LOWMEM_LIMIT 0xC0000000ull
#define PC_HIGHMEM_BASE 0x100000000ull

/* The most RAM guest_mem_init_pc accepts (64 TiB) */
#define GUEST_MEM_MAX_SIZE (1ull << 46)

struct mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	unsigned slot;		/* engine slot number (KVM memslot) */
};

struct guest_mem {
	struct mem_region regions[GUEST_MEM_MAX_REGIONS];
	int nr_regions;
	uint8_t *base;		/* the one mapping that backs all regions */
	/* the memfd behind base (offset in it = offset in base), or -1 for
	 * anonymous memory; valid once base is set */
	int fd;
	bool shared;		/* base is MAP_SHARED: another process may map fd */
	uint64_t ram_size;	/* total bytes of RAM */
	/* bit n: page n of base (by offset into the mapping) was written by a
	 * device since the bit was last taken */
	_Atomic uint64_t *dirty;
};

/* Allocate ram_size bytes and lay them out as the PC does: up to
 * PC_LOWMEM_LIMIT at 0, the rest from 4 GiB. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int guest_mem_init_pc(struct guest_mem *gm, uint64_t ram_size);
/* The same layout in a memfd (sealed against shrinking), mapped
 * MAP_SHARED when share is true so that the fd can be handed to another
 * process (vhost-user) that sees the guest's RAM; MAP_PRIVATE otherwise.
 * Returns 0 or -errno. */
__attribute__((warn_unused_result)) int guest_mem_init_pc_memfd(struct guest_mem *gm,
								 uint64_t ram_size, bool share);
void guest_mem_destroy(struct guest_mem *gm);

/* Host pointer for [gpa, gpa + len) when it lies wholly in one RAM region,
 * else NULL.  len 0 is treated as 1. */
void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* Host pointer for gpa and, in *avail, how many bytes from there lie in
 * the same region (at least 1); NULL when gpa is not RAM.  For splitting
 * a range at region boundaries. */
void *guest_mem_ptr_run(const struct guest_mem *gm, uint64_t gpa, uint64_t *avail);
bool guest_mem_is_ram(const struct guest_mem *gm, uint64_t gpa);

/* Copy to and from guest RAM; the range may cross regions only where they
 * are contiguous.  Return 0 or -EFAULT when any byte is not RAM. */
int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *buf, size_t len);
int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, size_t len);

/* Mark the RAM pages of [gpa, gpa + len) dirty (bytes that are not RAM
 * are ignored); safe from any thread. */
void guest_mem_mark_dirty(struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* Was the page holding gpa written since the last call?  Clears the bit. */
bool guest_mem_test_and_clear_dirty(struct guest_mem *gm, uint64_t gpa);

/* Highest guest-physical address + 1 of RAM below 4 GiB */
uint64_t guest_mem_lowmem_end(const struct guest_mem *gm);

#endif
