/* The PC's pair of 8259A interrupt controllers, the slave cascaded on the
 * master's IRQ2, with the PIIX edge/level control registers (ELCR).  Used
 * with the software CPU; under KVM the kernel has its own. */
#ifndef MINIVMM_I8259_H
#define MINIVMM_I8259_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct i8259;

/* Registers ports 0x20-0x21, 0xA0-0xA1, 0x4D0-0x4D1 and installs the pair
 * as vm->irqchip (an I/O APIC may later take that over and call the
 * functions below itself). */
int i8259_create(struct vm *vm, struct i8259 **out);

/* Input line irq (0-15) is now at level */
void i8259_set_irq(struct i8259 *pic, unsigned irq, int level);
/* The master's INTR output */
bool i8259_has_interrupt(struct i8259 *pic);
/* The CPU's interrupt acknowledge: the vector, spurious IRQ7/IRQ15's when
 * the request went away before it */
int i8259_ack(struct i8259 *pic);
/* Lines the firmware made level-triggered (ELCR bits), kept across reset:
 * the board sets the PCI interrupt lines here */
void i8259_set_level_triggered(struct i8259 *pic, uint16_t mask);

#endif
