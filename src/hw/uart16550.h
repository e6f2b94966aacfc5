/* The 16550A UART beyond pc.h and console.h: what the console needs to
 * feed it (room in the receive FIFO, a break on the line). */
#ifndef MINIVMM_UART16550_H
#define MINIVMM_UART16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uart16550;

#define UART16550_FIFO_SIZE 16

/* ready(opaque) runs, under vm->dev_lock, whenever the guest takes a byte
 * from the receive side or leaves loopback, so that input held back while
 * the FIFO was full can move in at once.  NULL unhooks. */
/* Has the guest read everything received? */
bool uart16550_rx_empty(struct uart16550 *uart);
void uart16550_set_rx_ready(struct uart16550 *uart, void (*ready)(void *opaque), void *opaque);

/* A break on the line (Ctrl-A b): a zero byte with LSR.BI, which Linux
 * takes as the start of a magic SysRq.  False when the receiver has no
 * room or does not listen (loopback); try again when it has. */
bool uart16550_send_break(struct uart16550 *uart);

#endif
