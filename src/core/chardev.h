/* An output stream for a character device (serial port, debugcon):
 * stdout or a file, as -serial stdio|file:PATH and -debugcon give it.
 *
 * Output never blocks the writer, which is a device handler holding
 * vm->dev_lock: what the sink does not take at once waits in a bounded
 * buffer that the main loop hands over when the sink has room.  A device
 * that can tell its guest to wait (the UART, through LSR) asks how much
 * room there is and is called back when there is more; what comes beyond
 * the buffer is dropped, so a guest that does not wait loses bytes
 * instead of stalling the VMM. */
#ifndef MINIVMM_CHARDEV_H
#define MINIVMM_CHARDEV_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

struct vm;

/* What a sink may hold back for a reader that is behind */
#define CHARDEV_BUF_SIZE 65536

struct chardev {
	struct vm *vm;		/* whose main loop drains the buffer; NULL: none does */
	int fd;			/* -1 for CHARDEV_NONE */
	bool owned;		/* we opened it and close it */
	bool broken;		/* a write failed: output is dropped from now on */
	bool socket;		/* written with send(), which can be told not to wait */
	int shared_flags;	/* stdout's file status flags to put back at close, or -1 */
	/* bytes the sink has not taken yet: a ring of CHARDEV_BUF_SIZE,
	 * allocated when first needed; under vm->dev_lock */
	uint8_t *buf;
	size_t head, len;
	uint64_t dropped;	/* bytes lost because the buffer was full */
	/* called under vm->dev_lock when the sink took bytes from the buffer */
	void (*room_ready)(void *opaque);
	void *room_opaque;
};

/* Open the sink and, with a vm, have its main loop drain it; prints one
 * error line naming the file and returns -errno. */
int chardev_open(struct chardev *cd, struct vm *vm, const struct chardev_config *cfg);
/* Bytes chardev_write takes now without dropping any; SIZE_MAX when
 * everything goes (no sink, or a broken one, where bytes vanish anyway) */
size_t chardev_room(const struct chardev *cd);
/* Bytes written that the sink has not taken yet */
size_t chardev_pending(const struct chardev *cd);
/* Write buf, or queue what the sink does not take now; what does not fit
 * the buffer is dropped.  Never waits. */
void chardev_write(struct chardev *cd, const uint8_t *buf, size_t len);
/* ready(opaque) runs under vm->dev_lock whenever bytes left the buffer
 * (so chardev_room grew); NULL unhooks. */
void chardev_set_room_ready(struct chardev *cd, void (*ready)(void *opaque), void *opaque);
/* Hand the sink what it takes now; call with vm->dev_lock held. */
void chardev_flush(struct chardev *cd);
/* Give the sink a last chance (a little while) to take what is queued,
 * then close it; says how much was lost, if anything. */
void chardev_close(struct chardev *cd);

/* For the main loop: add a POLLOUT entry to pfd[] for every sink of vm
 * with bytes queued (at most max); returns how many it added.  After the
 * poll, chardevs_poll_done flushes the sinks that became writable. */
unsigned chardevs_poll_prepare(struct vm *vm, struct pollfd *pfd, unsigned max);
void chardevs_poll_done(struct vm *vm, const struct pollfd *pfd, unsigned n);

#endif
