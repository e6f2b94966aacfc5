/* The terminal as the guest's serial console.
 *
 * Raw mode follows QEMU's stdio character device: no echo, no line
 * editing, no CR/LF translation on input, 8-bit clean, but output
 * processing (OPOST) stays on.  A guest's console ends its lines with
 * CR LF, which ONLCR makes CR CR LF and looks the same, while our own
 * messages on stderr (Ctrl-A h, errors while the guest runs) end in a bare
 * LF that would otherwise walk down the screen without going back to
 * column 0.  ISIG goes off with -nographic, so Ctrl-C reaches the guest as
 * it does in QEMU's -nographic; with a plain -serial stdio, Ctrl-C stops
 * minivmm.
 *
 * The Ctrl-A escapes (x quit, h help, b break, C-a itself) are read
 * whenever the serial port is on stdio, from a terminal or a pipe alike,
 * as QEMU's multiplexer does.  Bytes the UART cannot take yet are held
 * here and pushed when it has room: the UART calls back when the guest
 * reads, and the main loop calls console_flush_pending. */
#include "core/console.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/chardev.h"
#include "core/log.h"
#include "core/vm.h"
#include "hw/uart16550.h"

#define CTRL_A 0x01
#define CONSOLE_PENDING_MAX 4096

struct console {
	struct vm *vm;
	struct uart16550 *uart;	/* COM1 on stdio; or */
	struct chardev *cd;	/* a -chardev stdio that a device reads */
	int in_fd;		/* stdin, or -1 once input has ended */
	int tty_fd;		/* the terminal we put in raw mode */
	bool raw;		/* the terminal is in raw mode and must be restored */
	struct termios saved;
	bool escape;		/* the last byte was Ctrl-A */
	/* held back while the FIFO was full; under vm->dev_lock */
	uint8_t pending[CONSOLE_PENDING_MAX];
	size_t pending_len;
	/* a break (Ctrl-A b) goes after the first break_pos pending bytes */
	bool break_pending;
	size_t break_pos;
};

/* atexit handlers and signal handlers take no argument, so the one
 * terminal state they restore lives here rather than in struct console.
 * There is one controlling terminal per process, which is why one copy is
 * enough; it is written before `active` is set and only read after. */
static struct {
	volatile sig_atomic_t active;
	int fd;
	struct termios saved;
	bool hooks_installed;
} tty_restore;

static void tty_restore_now(void)
{
	if (tty_restore.active) {
		tcsetattr(tty_restore.fd, TCSANOW, &tty_restore.saved);
		tty_restore.active = 0;
	}
}

/* Fatal signals: put the terminal back, then die of the same signal with
 * its default action, so the exit status still says what happened. */
static void console_fatal_signal(int sig)
{
	int saved_errno = errno;
	struct sigaction dfl;
	tty_restore_now();
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	/* blocked until we return; a fault then re-executes and dies */
	raise(sig);
	errno = saved_errno;
}

static const int fatal_signals[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGABRT, SIGBUS, SIGFPE,
	SIGSEGV, SIGPIPE, SIGTERM, SIGXCPU, SIGXFSZ, SIGSYS,
};

static void tty_install_hooks(void)
{
	if (tty_restore.hooks_installed)
		return;
	tty_restore.hooks_installed = true;
	atexit(tty_restore_now);
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		struct sigaction old, sa;
		/* leave alone a signal someone else handles (the engines may) */
		if (sigaction(fatal_signals[i], NULL, &old) < 0 || old.sa_handler != SIG_DFL ||
		    (old.sa_flags & SA_SIGINFO))
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = console_fatal_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(fatal_signals[i], &sa, NULL);
	}
}

static int console_enter_raw(struct console *con)
{
	struct termios raw;
	con->tty_fd = con->in_fd;
	if (tcgetattr(con->tty_fd, &con->saved) < 0)
		return -errno;
	raw = con->saved;
	raw.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	raw.c_oflag |= OPOST;
	raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN);
	/* Ctrl-C to the guest: -nographic, or a -chardev stdio with signal=off */
	const struct chardev_config *serial = &con->vm->cfg.serial;
	bool signal = con->cd ? con->cd->signal : serial->id ? serial->signal : !con->vm->cfg.nographic;
	if (!signal)
		raw.c_lflag &= ~(tcflag_t)ISIG;
	raw.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	raw.c_cflag |= CS8;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;

	tty_restore.fd = con->tty_fd;
	tty_restore.saved = con->saved;
	tty_restore.active = 1;
	tty_install_hooks();
	if (tcsetattr(con->tty_fd, TCSANOW, &raw) < 0) {
		int err = errno;
		tty_restore.active = 0;
		return -err;
	}
	con->raw = true;
	return 0;
}

static void console_leave_raw(struct console *con)
{
	if (!con->raw)
		return;
	tcsetattr(con->tty_fd, TCSANOW, &con->saved);
	tty_restore.active = 0;
	con->raw = false;
}

/* Move held bytes into the UART as far as its FIFO takes them.  Called
 * with vm->dev_lock held.  New bytes go in only once the guest has read
 * the FIFO empty: the receive interrupt line must drop between bursts,
 * or an edge-triggered PIC never sees another edge and input stalls. */
static void console_push_locked(struct console *con)
{
	if (con->cd) {
		/* a device's port: as much as it has room for (a break means nothing there) */
		size_t n = chardev_deliver(con->cd, con->pending, con->pending_len);
		memmove(con->pending, con->pending + n, con->pending_len - n);
		con->pending_len -= n;
		con->break_pending = false;
		return;
	}
	if (!uart16550_rx_empty(con->uart))
		return;
	for (;;) {
		size_t limit = con->break_pending ? con->break_pos : con->pending_len;
		size_t n = limit ? uart16550_receive(con->uart, con->pending, limit) : 0;
		if (n) {
			memmove(con->pending, con->pending + n, con->pending_len - n);
			con->pending_len -= n;
			if (con->break_pending)
				con->break_pos -= n;
		}
		/* the bytes before the break are in: now the break, then the rest */
		if (!con->break_pending || con->break_pos || !uart16550_send_break(con->uart))
			return;
		con->break_pending = false;
	}
}

/* The UART has room: called by it, under vm->dev_lock, inside a guest
 * read.  Refilling there would hide the empty FIFO from the guest, so the
 * main loop does it (console_flush_pending). */
static void console_rx_ready(void *opaque)
{
	struct console *con = opaque;
	vm_wake_main_loop(con->vm);
}

static void console_print_help(void)
{
	log_plain("\n"
		  "C-a h    print this help\n"
		  "C-a x    exit minivmm\n"
		  "C-a b    send a break (magic SysRq)\n"
		  "C-a C-a  send C-a to the guest\n");
}

/* Interpret the escapes in buf[0..len) and keep the bytes for the guest
 * in place; returns how many there are, or -1 when the user quit.  A
 * break asked for goes after the first *break_at of them (one a read; a
 * second one while the first waits is dropped). */
static ssize_t console_filter_escapes(struct console *con, uint8_t *buf, size_t len,
				      ssize_t *break_at)
{
	size_t out = 0;
	*break_at = -1;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = buf[i];
		if (!con->escape) {
			if (c == CTRL_A)
				con->escape = true;
			else
				buf[out++] = c;
			continue;
		}
		con->escape = false;
		switch (c) {
		case CTRL_A:
			buf[out++] = c;
			break;
		case 'x':
			vm_request_exit(con->vm, 0);
			log_plain("\nminivmm: terminated (Ctrl-A x)\n");
			return -1;
		case 'h':
		case '?':
			console_print_help();
			break;
		case 'b':
			if (*break_at < 0)
				*break_at = (ssize_t)out;
			break;
		default:
			/* an unknown escape is dropped, as in QEMU */
			break;
		}
	}
	return (ssize_t)out;
}

/* Registered after the UART, so destroyed before it */
static void console_destroy(void *opaque)
{
	struct console *con = opaque;
	console_close(con);
	if (con->uart)
		uart16550_set_rx_ready(con->uart, NULL, NULL);
	if (con->vm->console == con)
		con->vm->console = NULL;
	free(con);
}

int console_open(struct vm *vm, struct console **out)
{
	struct console *con;
	int ret;

	*out = NULL;
	/* no serial port or device port on stdio: stdin is not ours and
	 * nothing is read */
	struct chardev *cd = NULL;
	if (vm->cfg.serial.kind != CHARDEV_STDIO || !vm->com1) {
		cd = chardev_stdio_input(vm);
		if (!cd)
			return 0;
	}
	con = calloc(1, sizeof(*con));
	if (!con) {
		log_error("console: out of memory");
		return -ENOMEM;
	}
	con->vm = vm;
	con->cd = cd;
	con->uart = cd ? NULL : vm->com1;
	con->in_fd = STDIN_FILENO;
	/* stdin closed: the guest gets no input, which is not an error */
	if (fcntl(con->in_fd, F_GETFD) < 0)
		con->in_fd = -1;
	if (con->in_fd >= 0 && isatty(con->in_fd)) {
		ret = console_enter_raw(con);
		if (ret < 0) {
			log_error("cannot put the terminal in raw mode: %s", strerror(-ret));
			free(con);
			return ret;
		}
	}
	ret = vm_add_device(vm, "console", con, NULL, console_destroy);
	if (ret < 0) {
		log_error("console: too many devices");
		console_leave_raw(con);
		free(con);
		return ret;
	}
	if (con->uart)
		uart16550_set_rx_ready(con->uart, console_rx_ready, con);
	*out = con;
	return 0;
}

int console_input_fd(const struct console *con)
{
	return con ? con->in_fd : -1;
}

int console_handle_input(struct console *con)
{
	uint8_t buf[CONSOLE_PENDING_MAX];
	size_t room;
	ssize_t n;

	if (!con || con->in_fd < 0)
		return -EPIPE;
	pthread_mutex_lock(&con->vm->dev_lock);
	room = sizeof(con->pending) - con->pending_len;
	pthread_mutex_unlock(&con->vm->dev_lock);
	if (!room) {
		/* the guest is not reading: leave the bytes in the pipe or the
		 * terminal, and pause so that polling a ready fd does not spin */
		struct timespec pause = { 0, 1000000 };
		nanosleep(&pause, NULL);
		return 0;
	}
	n = read(con->in_fd, buf, room);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		/* EIO: the terminal hung up; the same as end of input */
		if (errno != EIO)
			log_warn("console input: %s", strerror(errno));
		n = 0;
	}
	if (n == 0) {
		con->in_fd = -1;
		return -EPIPE;
	}
	ssize_t break_at;
	n = console_filter_escapes(con, buf, (size_t)n, &break_at);
	if (n < 0 || (n == 0 && break_at < 0))
		return 0;
	pthread_mutex_lock(&con->vm->dev_lock);
	if (break_at >= 0 && !con->break_pending) {
		con->break_pending = true;
		con->break_pos = con->pending_len + (size_t)break_at;
	}
	/* room was measured above and only this thread adds bytes */
	memcpy(con->pending + con->pending_len, buf, (size_t)n);
	con->pending_len += (size_t)n;
	console_push_locked(con);
	pthread_mutex_unlock(&con->vm->dev_lock);
	return 0;
}

void console_flush_pending(struct console *con)
{
	if (!con)
		return;
	pthread_mutex_lock(&con->vm->dev_lock);
	console_push_locked(con);
	pthread_mutex_unlock(&con->vm->dev_lock);
}

void console_close(struct console *con)
{
	if (!con)
		return;
	console_leave_raw(con);
}
