/* The 8254 programmable interval timer at 0x40-0x43, and port 0x61 where
 * the PC wires channel 2's gate and output (and the refresh toggle). */
#ifndef MINIVMM_I8254_H
#define MINIVMM_I8254_H

#include <stdint.h>

struct vm;
struct i8254;

#define PIT_HZ 1193182ull

/* Channel 0 drives IRQ 0 through vm_set_irq */
int i8254_create(struct vm *vm, struct i8254 **out);

#endif
