#include "core/clock.h"

#include <time.h>

#include "core/vm.h"

static int64_t host_clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * (int64_t)NS_PER_SEC + ts.tv_nsec;
}

uint64_t vm_clock_ns(struct vm *vm)
{
	if (vm->clock.is_virtual)
		return __atomic_load_n(&vm->clock.virtual_ns, __ATOMIC_RELAXED);
	return (uint64_t)host_clock_ns(CLOCK_MONOTONIC);
}

int64_t vm_clock_realtime_ns(struct vm *vm)
{
	if (vm->clock.is_virtual)
		return (int64_t)vm_clock_ns(vm) + vm->clock.realtime_offset_ns;
	return host_clock_ns(CLOCK_REALTIME);
}

void vm_clock_set_virtual(struct vm *vm, uint64_t now_ns, int64_t realtime_ns)
{
	vm->clock.virtual_ns = now_ns;
	vm->clock.realtime_offset_ns = realtime_ns - (int64_t)now_ns;
	vm->clock.is_virtual = true;
}

void vm_clock_advance(struct vm *vm, uint64_t delta_ns)
{
	__atomic_fetch_add(&vm->clock.virtual_ns, delta_ns, __ATOMIC_RELAXED);
}
