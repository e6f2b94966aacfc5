/* A character back-end for a device (serial port, debugcon, virtio
 * console port): stdout or a file, as -serial stdio|file:PATH and
 * -debugcon give it, or a -chardev: a unix or tcp socket (a server that
 * takes one client at a time, or a client), a pseudo-terminal, null.
 *
 * Output never blocks the writer, which is a device handler holding
 * vm->dev_lock: what the sink does not take at once waits in a bounded
 * buffer that the main loop hands over when the sink has room.  A device
 * that can tell its guest to wait (the UART, through LSR) asks how much
 * room there is and is called back when there is more; what comes beyond
 * the buffer is dropped, so a guest that does not wait loses bytes
 * instead of stalling the VMM.
 *
 * Input (sockets and ptys; stdin is the console's, core/console.h) is
 * read by the main loop and handed to the device's receiver, never more
 * than it says it can take: a device with no room stops the reading until
 * it calls chardev_input_ready.  A socket or pty without a peer takes
 * output and drops it, as QEMU's do; the device hears of peers coming and
 * going through its event callback. */
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

/* A device's side of the input, called on the main thread under
 * vm->dev_lock */
struct chardev_receiver {
	/* how many bytes receive may be given now */
	size_t (*can_receive)(void *opaque);
	void (*receive)(void *opaque, const uint8_t *buf, size_t len);
	/* a peer connected (a socket's client, a pty's reader) or went away */
	void (*event)(void *opaque, bool connected);
	void *opaque;
};

struct chardev {
	struct vm *vm;		/* whose main loop drains the buffer; NULL: none does */
	enum chardev_kind kind;
	const char *label;	/* the -chardev id, for messages */
	int fd;			/* where output goes; -1: none (no peer, CHARDEV_NONE) */
	bool readable;		/* fd is read too (a socket's peer, a pty) */
	bool connected;		/* a peer is there: output goes out, input comes in */
	int listen_fd;		/* a socket server's; polled while no client is there */
	char *unlink_path;	/* a unix socket we created: removed at close */
	char pty_name[64];	/* CHARDEV_PTY: the terminal the user opens */
	uint64_t pty_check_ns;	/* when a pty without a reader is looked at again */
	struct chardev_receiver rx;
	bool owned;		/* we opened it and close it */
	bool broken;		/* a write failed: output is dropped from now on */
	bool socket;		/* written with send(), which can be told not to wait */
	int shared_flags;	/* stdout's file status flags to put back at close, or -1 */
	bool signal;		/* stdio: Ctrl-C is a signal (signal=on) */
	/* bytes the sink has not taken yet: a ring of CHARDEV_BUF_SIZE,
	 * allocated when first needed; under vm->dev_lock */
	uint8_t *buf;
	size_t head, len;
	uint64_t dropped;	/* bytes lost because the buffer was full */
	/* called under vm->dev_lock when the sink took bytes from the buffer */
	void (*room_ready)(void *opaque);
	void *room_opaque;
};

/* Open the sink and, with a vm, have its main loop drain it (and read
 * it); prints one error line naming the file and returns -errno.  A
 * socket server with wait=on waits here for its first client. */
int chardev_open(struct chardev *cd, struct vm *vm, const struct chardev_config *cfg);
/* Take the input (with vm->dev_lock held, or before the machine runs);
 * NULL unhooks */
void chardev_set_receiver(struct chardev *cd, const struct chardev_receiver *rx);
/* The receiver has room again: the main loop reads on (any thread) */
void chardev_input_ready(struct chardev *cd);
/* Input read elsewhere (stdin, by the console) for cd's receiver, as far
 * as it has room; returns the bytes it took.  vm->dev_lock held. */
size_t chardev_deliver(struct chardev *cd, const uint8_t *buf, size_t len);
/* The stdio back-end with a receiver, whose input the console reads */
struct chardev *chardev_stdio_input(struct vm *vm);
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
/* How long the main loop may sleep before a pty without a reader is
 * looked at again, in ms; -1: no limit */
int chardevs_poll_timeout(struct vm *vm);

/* The back-ends' own parts (chardev_socket.c, chardev_pty.c): open, and
 * for a server, take the client waiting on listen_fd */
int chardev_socket_open(struct chardev *cd, const struct chardev_config *cfg);
int chardev_socket_accept(struct chardev *cd);
int chardev_pty_open(struct chardev *cd);
/* Has someone opened the pty's terminal? */
bool chardev_pty_has_reader(const struct chardev *cd);
/* The peer is there, or gone (vm->dev_lock held) */
void chardev_connected(struct chardev *cd, bool connected);

#endif
