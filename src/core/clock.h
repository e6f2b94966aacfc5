/* The time the machine sees.  Guest timers follow the host's monotonic
 * clock; unit tests install a virtual clock instead and move it by hand, so
 * that a device's timing can be checked exactly and without sleeping. */
#ifndef MINIVMM_CLOCK_H
#define MINIVMM_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* All zero (the state vm_init leaves) means the host clocks */
struct vm_clock {
	bool is_virtual;
	uint64_t virtual_ns;		/* the monotonic time while is_virtual */
	int64_t realtime_offset_ns;	/* wall clock = virtual_ns + this */
};

#define NS_PER_SEC 1000000000ull

/* Monotonic nanoseconds: timers, counters and deadlines use this */
uint64_t vm_clock_ns(struct vm *vm);
/* Wall-clock nanoseconds since 1970 (UTC): where a battery clock starts */
int64_t vm_clock_realtime_ns(struct vm *vm);

/* For tests: freeze time at now_ns, with the wall clock at realtime_ns */
void vm_clock_set_virtual(struct vm *vm, uint64_t now_ns, int64_t realtime_ns);
/* For tests: move the virtual clock forward (timers are not run) */
void vm_clock_advance(struct vm *vm, uint64_t delta_ns);

/* a * b / c without overflow in the product; c must not be 0 */
static inline uint64_t muldiv64(uint64_t a, uint64_t b, uint64_t c)
{
	return (uint64_t)((unsigned __int128)a * b / c);
}

#endif
