#include "mem/io_bus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* How many unassigned accesses -d unimp reports before going quiet */
#define UNASSIGNED_LOG_LIMIT 64

void io_bus_init(struct io_bus *bus, const char *name, pthread_mutex_t *lock)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	bus->lock = lock;
}

void io_bus_destroy(struct io_bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr_ranges = bus->cap_ranges = 0;
}

/* Index of the first range whose end is above addr */
static int io_bus_lower_bound(const struct io_bus *bus, uint64_t addr)
{
	int lo = 0, hi = bus->nr_ranges;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		const struct io_range *r = &bus->ranges[mid];
		if (r->base + (r->len - 1) < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void io_bus_lock(struct io_bus *bus)
{
	if (bus->lock)
		pthread_mutex_lock(bus->lock);
}

static void io_bus_unlock(struct io_bus *bus)
{
	if (bus->lock)
		pthread_mutex_unlock(bus->lock);
}

static int io_bus_insert(struct io_bus *bus, uint64_t base, uint64_t len, const struct io_ops *ops,
			 void *opaque, const char *name)
{
	int i = io_bus_lower_bound(bus, base);
	if (i < bus->nr_ranges && bus->ranges[i].base <= base + (len - 1))
		return -EEXIST;
	if (bus->nr_ranges == bus->cap_ranges) {
		int cap = bus->cap_ranges ? bus->cap_ranges * 2 : 16;
		struct io_range *n = realloc(bus->ranges, (size_t)cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		bus->ranges = n;
		bus->cap_ranges = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i],
		(size_t)(bus->nr_ranges - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct io_range){ base, len, ops, opaque, name };
	bus->nr_ranges++;
	return 0;
}

/* Changes take the lock: a device may be moved while other vCPUs run */
int io_bus_register(struct io_bus *bus, uint64_t base, uint64_t len, const struct io_ops *ops,
		    void *opaque, const char *name)
{
	if (len == 0 || base + (len - 1) < base || !ops)
		return -EINVAL;
	io_bus_lock(bus);
	int ret = io_bus_insert(bus, base, len, ops, opaque, name);
	io_bus_unlock(bus);
	return ret;
}

int io_bus_unregister(struct io_bus *bus, uint64_t base)
{
	int ret = -ENOENT;
	io_bus_lock(bus);
	int i = io_bus_lower_bound(bus, base);
	if (i < bus->nr_ranges && bus->ranges[i].base == base) {
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(size_t)(bus->nr_ranges - i - 1) * sizeof(bus->ranges[0]));
		bus->nr_ranges--;
		ret = 0;
	}
	io_bus_unlock(bus);
	return ret;
}

const struct io_range *io_bus_find(const struct io_bus *bus, uint64_t addr)
{
	int i = io_bus_lower_bound(bus, addr);
	if (i < bus->nr_ranges && bus->ranges[i].base <= addr)
		return &bus->ranges[i];
	return NULL;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* Called with the lock held: vCPU threads share the counters */
static void io_bus_note_unassigned(struct io_bus *bus, uint64_t addr, unsigned size,
				   bool is_write, uint64_t value)
{
	bus->unassigned_count++;
	if (!bus->log_unassigned || bus->unassigned_logged > UNASSIGNED_LOG_LIMIT)
		return;
	if (bus->unassigned_logged++ == UNASSIGNED_LOG_LIMIT) {
		log_debug("%s: more unassigned accesses, no longer reported", bus->name);
		return;
	}
	if (is_write)
		log_debug("%s: unassigned write of 0x%" PRIx64 " (size %u) at 0x%" PRIx64,
			  bus->name, value, size, addr);
	else
		log_debug("%s: unassigned read (size %u) at 0x%" PRIx64, bus->name, size, addr);
}

/* Does any device start within [addr, addr + size)? */
static bool io_bus_touches(const struct io_bus *bus, uint64_t addr, unsigned size)
{
	int i = io_bus_lower_bound(bus, addr);
	return i < bus->nr_ranges && bus->ranges[i].base - addr < size;
}

static bool fits(const struct io_range *r, uint64_t addr, unsigned size)
{
	return addr - r->base <= r->len - size && size <= r->len;
}

/* The lookup happens under the lock too: a handler may move a device
 * (io_bus_register from inside a handler), which reallocates the ranges
 * another vCPU thread would otherwise be searching. */
static bool io_bus_read_locked(struct io_bus *bus, uint64_t addr, unsigned size, uint64_t *value)
{
	const struct io_range *r = io_bus_find(bus, addr);
	if (r && fits(r, addr, size)) {
		*value = r->ops->read ? r->ops->read(r->opaque, addr - r->base, size) & size_mask(size)
				      : size_mask(size);
		return true;
	}
	if (r || io_bus_touches(bus, addr, size)) {
		/* straddles a boundary: byte by byte, little endian */
		uint64_t v = 0;
		for (unsigned i = 0; i < size; i++) {
			uint64_t b;
			io_bus_read_locked(bus, addr + i, 1, &b);
			v |= (b & 0xff) << (8 * i);
		}
		*value = v;
		return true;
	}
	io_bus_note_unassigned(bus, addr, size, false, 0);
	*value = size_mask(size);
	return false;
}

static bool io_bus_write_locked(struct io_bus *bus, uint64_t addr, unsigned size, uint64_t value)
{
	const struct io_range *r = io_bus_find(bus, addr);
	if (r && fits(r, addr, size)) {
		if (r->ops->write)
			r->ops->write(r->opaque, addr - r->base, size, value);
		return true;
	}
	if (r || io_bus_touches(bus, addr, size)) {
		for (unsigned i = 0; i < size; i++)
			io_bus_write_locked(bus, addr + i, 1, (value >> (8 * i)) & 0xff);
		return true;
	}
	io_bus_note_unassigned(bus, addr, size, true, value);
	return false;
}

bool io_bus_read(struct io_bus *bus, uint64_t addr, unsigned size, uint64_t *value)
{
	io_bus_lock(bus);
	bool hit = io_bus_read_locked(bus, addr, size, value);
	io_bus_unlock(bus);
	return hit;
}

bool io_bus_write(struct io_bus *bus, uint64_t addr, unsigned size, uint64_t value)
{
	io_bus_lock(bus);
	bool hit = io_bus_write_locked(bus, addr, size, value & size_mask(size));
	io_bus_unlock(bus);
	return hit;
}
