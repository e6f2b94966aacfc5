/* One registry for port I/O and for MMIO: a device registers a handler for a
 * range of addresses and is called with the offset into its range, the access
 * size (1, 2, 4 or 8) and the value.  Ranges are kept sorted, so dispatch is a
 * binary search.  Accesses that reach no device read as all ones and are
 * dropped on write, and are logged (rate limited) with -d unimp. */
#ifndef MINIVMM_IO_BUS_H
#define MINIVMM_IO_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct io_ops {
	/* size is 1, 2, 4 or 8; the return value is truncated to size */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
};

struct io_range {
	uint64_t base;
	uint64_t len;
	const struct io_ops *ops;
	void *opaque;
	const char *name;
};

struct io_bus {
	const char *name;	/* "pio" or "mmio", for messages */
	struct io_range *ranges;	/* sorted by base, never overlapping */
	int nr_ranges;
	int cap_ranges;
	/* Taken around every lookup, handler call and change: devices are not
	 * reentrant and the KVM engine calls in from one thread per vCPU. A
	 * handler that registers or unregisters ranges needs it recursive.
	 * Shared by both buses. */
	pthread_mutex_t *lock;
	bool log_unassigned;
	unsigned unassigned_logged;	/* for rate limiting */
	uint64_t unassigned_count;
};

void io_bus_init(struct io_bus *bus, const char *name, pthread_mutex_t *lock);
void io_bus_destroy(struct io_bus *bus);

/* Returns 0, -EINVAL for an empty or wrapping range, -EEXIST when the range
 * overlaps one already registered, or -ENOMEM. */
__attribute__((warn_unused_result)) int io_bus_register(struct io_bus *bus, uint64_t base,
							 uint64_t len, const struct io_ops *ops,
							 void *opaque, const char *name);
/* Returns 0 or -ENOENT when nothing is registered at exactly base. */
int io_bus_unregister(struct io_bus *bus, uint64_t base);

/* The range holding addr, or NULL. */
const struct io_range *io_bus_find(const struct io_bus *bus, uint64_t addr);

/* Dispatch one access. Returns true when a device took it; an unassigned read
 * yields all ones in *value. An access that starts in a device but runs past
 * its end is split into bytes, each dispatched on its own. */
bool io_bus_read(struct io_bus *bus, uint64_t addr, unsigned size, uint64_t *value);
bool io_bus_write(struct io_bus *bus, uint64_t addr, unsigned size, uint64_t value);

#endif
