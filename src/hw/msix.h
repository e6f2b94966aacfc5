/* The MSI-X capability of a PCI function (PCI Local Bus 3.0 §6.8.2): the
 * capability in config space, the vector table and the pending-bit array
 * in a BAR the device places them in, and the delivery of a vector's
 * message through vm_signal_msi, or its pending bit while it is masked.
 *
 * A device embeds a struct msix, calls msix_init once its BARs are
 * declared, routes its table/PBA BAR accesses to msix_bar_read/write and
 * calls msix_config_written after every config-space write.  msix_notify
 * may be called from any thread that holds neither vm->dev_lock's
 * dependants nor the device's own locks (delivery on the software CPU
 * takes vm->dev_lock). */
#ifndef MINIVMM_MSIX_H
#define MINIVMM_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct pci_device;
struct vm;

#define MSIX_MAX_VECTORS 128
#define MSIX_ENTRY_SIZE 16
/* where msix_bar_read/write put the table and the PBA in their BAR */
#define MSIX_TABLE_OFFSET 0x000
#define MSIX_PBA_OFFSET 0x800
#define MSIX_BAR_SIZE 0x1000

struct msix {
	struct pci_device *dev;
	struct vm *vm;
	unsigned nvec;
	unsigned cap;		/* config-space offset of the capability */
	pthread_mutex_t lock;	/* table, pba, enabled, masked */
	uint32_t table[MSIX_MAX_VECTORS * 4];
	uint64_t pba[(MSIX_MAX_VECTORS + 63) / 64];
	bool enabled, function_masked;
};

/* nvec (1..MSIX_MAX_VECTORS) vectors, table and PBA in BAR bar (which the
 * caller declares MSIX_BAR_SIZE bytes of memory).  0 or -ENOSPC/-EINVAL. */
int msix_init(struct msix *m, struct pci_device *dev, struct vm *vm, unsigned nvec, unsigned bar);
void msix_destroy(struct msix *m);
/* Power-on state: all vectors masked, nothing pending, disabled */
void msix_reset(struct msix *m);

/* Accesses to the BAR holding the table and the PBA */
uint64_t msix_bar_read(struct msix *m, uint64_t offset, unsigned size);
void msix_bar_write(struct msix *m, uint64_t offset, unsigned size, uint64_t value);
/* The config space changed: take enable/function mask from the
 * capability, and send what became unmasked */
void msix_config_written(struct msix *m);

bool msix_enabled(struct msix *m);
/* Vector v's message, and whether it may be sent now (MSI-X enabled, the
 * vector and the function not masked): what an irqfd's route needs */
bool msix_vector_message(struct msix *m, unsigned v, uint64_t *addr, uint32_t *data);
/* Send vector v's message now, or set its pending bit while masked.
 * false when MSI-X is disabled (the device uses INTx then). */
bool msix_notify(struct msix *m, unsigned v);

#endif
