#ifndef MINIVMM_RUN_H
#define MINIVMM_RUN_H

struct vm;

/* Start the guest and serve its I/O until it exits; machine resets happen
 * inside. Returns the exit status for minivmm. */
int vm_run(struct vm *vm);

#endif
