/* serial-flood and serial-spam: COM1 output faster than a stalled host
 * reader takes it (tests/guest/serial_stall.sh).
 * serial-flood waits for THRE before every byte (libg's putc), as a driver
 * should, prints FLOOD_LINES numbered lines and leaves through
 * isa-debug-exit: however long the reader stalls, nothing may be lost.
 * serial-spam (-DSPAM) writes THR, and port 0xe9 (debugcon), forever
 * without looking at LSR: it may lose bytes, but the VMM must never stall
 * with it. */
#include "io.h"
#include "libg.h"

#define FLOOD_LINES 3000

void main(void)
{
	serial_init();
#ifdef SPAM
	for (;;) {
		outb(COM1, 'A');
		outb(0xe9, 'B');
	}
#else
	for (unsigned i = 1; i <= FLOOD_LINES; i++) {
		printf("flood ");
		/* six digits, zero-padded, as the script's seq -f prints them */
		for (unsigned d = 100000; d; d /= 10)
			putc((char)('0' + i / d % 10));
		printf(": the quick brown fox jumps over the lazy dog\n");
	}
	debug_exit(EXIT_PASS);
#endif
}
