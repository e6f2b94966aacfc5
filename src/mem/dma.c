#include "mem/dma.h"

#include "accel/tcg/tcg.h"
#include "core/vm.h"

int dma_write(struct vm *vm, uint64_t gpa, const void *buf, size_t len)
{
	int ret = guest_mem_write(&vm->mem, gpa, buf, len);
	if (ret == 0)
		dma_mark_written(vm, gpa, len);
	return ret;
}

void dma_mark_written(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (!len)
		return;
	guest_mem_mark_dirty(&vm->mem, gpa, len);
	tcg_memory_written(vm, gpa, len);
}
