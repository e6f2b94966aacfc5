/* The guests' tiny library: COM1 output, number printing, test reporting
 * and isa-debug-exit.  Built both for 32-bit and for 64-bit guests. */
#ifndef GUEST_LIBG_H
#define GUEST_LIBG_H

#include <stdint.h>

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4
/* isa-debug-exit turns a write of v into exit status (v << 1) | 1 */
#define EXIT_PASS 0x10		/* status 33 */
#define EXIT_FAIL 0x11		/* status 35 */

void serial_init(void);
void putc(char c);
void puts(const char *s);		/* no newline added */
void put_hex(uint64_t v, int digits);	/* "0x" and exactly digits hex digits */
void put_dec(unsigned long v);
/* %s %c %d %u %x (unsigned int) %lx (unsigned long) %llx (uint64_t, 16 digits) */
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Test reporting, TAP-like: "ok 3 - what" or "not ok 3 - what" */
int check(int cond, const char *what);
/* "summary: N passed, M failed", then leave through isa-debug-exit */
__attribute__((noreturn)) void finish(void);
__attribute__((noreturn)) void debug_exit(uint32_t code);

void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);

#endif
