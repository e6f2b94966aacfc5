/* For fuzz targets that link guest memory (mem/dma.c) without the
 * software CPU, whose engine is not the one running: what dma.c tells
 * it goes nowhere.  Included once per target. */
#ifndef MINIVMM_FUZZ_NO_TCG_H
#define MINIVMM_FUZZ_NO_TCG_H

#include <stdint.h>

#include "accel/tcg/tcg.h"

void tcg_memory_written(struct vm *vm, uint64_t gpa, uint64_t len)
{
	(void)vm;
	(void)gpa;
	(void)len;
}

#endif
