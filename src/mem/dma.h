/* Device writes into guest RAM.  Every byte a device (rather than a CPU)
 * writes goes through here, from any thread: the pages are marked in the
 * guest-memory dirty bitmap and the software CPU drops code it decoded
 * from them (tcg_memory_written).  A device that lets another party write
 * guest RAM for it (the block layer reading a disk into a request's
 * buffers) calls dma_mark_written once that is done and before it tells
 * the guest (a used-ring entry, an interrupt). */
#ifndef MINIVMM_DMA_H
#define MINIVMM_DMA_H

#include <stddef.h>
#include <stdint.h>

struct vm;

/* Copy buf to guest RAM at gpa; the range may cross regions only where
 * they are contiguous.  0, or -EFAULT (nothing written) when a byte is
 * not RAM. */
int dma_write(struct vm *vm, uint64_t gpa, const void *buf, size_t len);
/* [gpa, gpa + len) was written behind the monitor's back */
void dma_mark_written(struct vm *vm, uint64_t gpa, uint64_t len);

#endif
