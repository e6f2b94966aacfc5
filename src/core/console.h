/* The terminal as the guest's console: raw mode while the guest runs
 * (restored on every exit path), bytes from stdin to the serial port, and
 * the QEMU escapes Ctrl-A x (quit), Ctrl-A h (help), Ctrl-A Ctrl-A (send
 * Ctrl-A). */
#ifndef MINIVMM_CONSOLE_H
#define MINIVMM_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct console;
struct uart16550;

/* Take over stdin for the guest when the serial port is on stdio. */
int console_open(struct vm *vm, struct console **out);
/* The fd the main loop polls for input, or -1. */
int console_input_fd(const struct console *con);
/* Read what stdin has and pass it on; returns 0, or -EPIPE at end of input. */
int console_handle_input(struct console *con);
/* Push bytes held back because the UART FIFO was full. */
void console_flush_pending(struct console *con);
/* Restore the terminal. Safe to call twice. */
void console_close(struct console *con);

/* The UART's receive side: bytes accepted (its FIFO may be full). */
size_t uart16550_receive(struct uart16550 *uart, const uint8_t *buf, size_t len);

#endif
