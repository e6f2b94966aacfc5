/* Character back-ends: stdout, shared with the rest of the process and
 * never closed, a file we create, and the -chardev kinds with a peer
 * (sockets, ptys: chardev_socket.c, chardev_pty.c); written without ever
 * waiting, and read by the main loop for the device.
 *
 * A write to a pipe or a terminal whose reader has stalled blocks on a
 * blocking descriptor, and stdout's is shared with the shell (and often
 * with stderr), whose flags are not ours to change.  So a pipe or
 * terminal on stdout gets a description of our own, opened through
 * /proc/self/fd with O_NONBLOCK; a file we open ourselves is simply set
 * non-blocking.  Regular files and disks never wait for a reader and are
 * written as they are. */
#include "core/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/vm.h"

/* At close, how long the sink may take nothing before the rest is dropped */
#define CHARDEV_DRAIN_MS 1000
/* How often a pty without a reader is looked at (QEMU's period too) */
#define CHARDEV_PTY_CHECK_MS 1000
/* What the main loop reads from a peer at a time */
#define CHARDEV_READ_MAX 4096

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void chardev_register(struct chardev *cd)
{
	struct vm *vm = cd->vm;
	if (!vm)
		return;
	if (vm->nr_chardevs == VM_MAX_CHARDEVS) {
		/* nobody drains it: a full buffer drops, as for a stalled reader */
		log_warn("more than %d character devices: output may be dropped", VM_MAX_CHARDEVS);
		cd->vm = NULL;
		return;
	}
	vm->chardevs[vm->nr_chardevs++] = cd;
}

static void chardev_unregister(struct chardev *cd)
{
	struct vm *vm = cd->vm;
	if (!vm)
		return;
	for (unsigned i = 0; i < vm->nr_chardevs; i++) {
		if (vm->chardevs[i] == cd) {
			vm->chardevs[i] = vm->chardevs[--vm->nr_chardevs];
			break;
		}
	}
	cd->vm = NULL;
}

/* stdout as a sink that never waits (see the top of the file) */
static void chardev_open_stdout(struct chardev *cd)
{
	struct stat st;
	cd->fd = STDOUT_FILENO;
	if (fstat(STDOUT_FILENO, &st) < 0)
		return;	/* closed: the first write fails and the sink goes quiet */
	if (S_ISSOCK(st.st_mode)) {
		cd->socket = true;
		return;
	}
	if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
		return;
	int fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		cd->fd = fd;
		cd->owned = true;
		return;
	}
	/* no /proc: the shared description, put back as it was at close */
	int flags = fcntl(STDOUT_FILENO, F_GETFL);
	if (flags >= 0 && !(flags & O_NONBLOCK) &&
	    fcntl(STDOUT_FILENO, F_SETFL, flags | O_NONBLOCK) == 0)
		cd->shared_flags = flags;
}

static const char *chardev_kind_name(enum chardev_kind kind)
{
	static const char *const names[] = {
		[CHARDEV_NONE] = "none", [CHARDEV_STDIO] = "stdio", [CHARDEV_FILE] = "file",
		[CHARDEV_SOCKET] = "socket", [CHARDEV_PTY] = "pty", [CHARDEV_NULL] = "null",
	};
	return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

int chardev_open(struct chardev *cd, struct vm *vm, const struct chardev_config *cfg)
{
	int ret;
	*cd = (struct chardev){ .fd = -1, .listen_fd = -1, .shared_flags = -1,
				.kind = cfg->kind, .connected = true };
	cd->label = cfg->id ? cfg->id : chardev_kind_name(cfg->kind);
	switch (cfg->kind) {
	case CHARDEV_NONE:
	case CHARDEV_NULL:
		return 0;
	case CHARDEV_STDIO:
		chardev_open_stdout(cd);
		cd->signal = cfg->signal;
		break;
	case CHARDEV_SOCKET:
		cd->connected = false;
		ret = chardev_socket_open(cd, cfg);
		if (ret < 0) {
			chardev_close(cd);	/* a listening socket made before the failure */
			return ret;
		}
		break;
	case CHARDEV_PTY:
		cd->connected = false;
		ret = chardev_pty_open(cd);
		if (ret < 0)
			return ret;
		break;
	case CHARDEV_FILE:
		if (!cfg->path || !*cfg->path) {
			log_error("character device file: no path given");
			return -EINVAL;
		}
		cd->fd = open(cfg->path,
			      O_WRONLY | O_CREAT | O_CLOEXEC | (cfg->append ? O_APPEND : O_TRUNC),
			      0666);
		if (cd->fd < 0) {
			int err = errno;
			log_error("cannot open %s for output: %s", cfg->path, strerror(err));
			return -err;
		}
		cd->owned = true;
		/* a FIFO's reader may stall like stdout's; our own description */
		int flags = fcntl(cd->fd, F_GETFL);
		if (flags >= 0)
			fcntl(cd->fd, F_SETFL, flags | O_NONBLOCK);
		break;
	default:
		log_error("unknown character device kind %d", (int)cfg->kind);
		return -EINVAL;
	}
	cd->vm = vm;
	chardev_register(cd);
	return 0;
}

/* Output goes nowhere: no sink, a broken one, or no peer to take it */
static bool chardev_discards(const struct chardev *cd)
{
	return cd->fd < 0 || cd->broken || !cd->connected;
}

size_t chardev_room(const struct chardev *cd)
{
	if (chardev_discards(cd))
		return SIZE_MAX;
	return CHARDEV_BUF_SIZE - cd->len;
}

size_t chardev_pending(const struct chardev *cd)
{
	return cd->len;
}

void chardev_set_room_ready(struct chardev *cd, void (*ready)(void *opaque), void *opaque)
{
	cd->room_ready = ready;
	cd->room_opaque = opaque;
}

void chardev_set_receiver(struct chardev *cd, const struct chardev_receiver *rx)
{
	cd->rx = rx ? *rx : (struct chardev_receiver){ 0 };
}

void chardev_input_ready(struct chardev *cd)
{
	if (cd->vm)
		vm_wake_main_loop(cd->vm);
}

size_t chardev_deliver(struct chardev *cd, const uint8_t *buf, size_t len)
{
	if (!cd->rx.receive)
		return len;	/* nobody reads it: gone, as on a back-end without a device */
	size_t room = cd->rx.can_receive ? cd->rx.can_receive(cd->rx.opaque) : len;
	if (len > room)
		len = room;
	if (len)
		cd->rx.receive(cd->rx.opaque, buf, len);
	return len;
}

struct chardev *chardev_stdio_input(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_chardevs; i++)
		if (vm->chardevs[i]->kind == CHARDEV_STDIO && vm->chardevs[i]->rx.receive)
			return vm->chardevs[i];
	return NULL;
}

void chardev_connected(struct chardev *cd, bool connected)
{
	if (cd->connected == connected)
		return;
	cd->connected = connected;
	if (!connected) {
		/* what the peer did not take is lost with it */
		bool had_queued = cd->len != 0;
		cd->len = 0;
		cd->head = 0;
		if (cd->kind == CHARDEV_SOCKET) {
			close(cd->fd);
			cd->fd = -1;
			cd->readable = false;
		}
		cd->pty_check_ns = monotonic_ns() + CHARDEV_PTY_CHECK_MS * 1000000ull;
		if (had_queued && cd->room_ready)
			cd->room_ready(cd->room_opaque);
	}
	if (cd->rx.event)
		cd->rx.event(cd->rx.opaque, connected);
}

/* One write that does not wait: bytes taken (0 when the sink is full), or
 * -errno.  Signals are blocked or ignored (SIGPIPE is EPIPE here). */
static ssize_t sink_write(struct chardev *cd, const uint8_t *p, size_t len)
{
	for (;;) {
		ssize_t n = cd->socket ? send(cd->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL) :
					 write(cd->fd, p, len);
		if (n >= 0)
			return n ? n : -EIO;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* The sink failed: one warning, then it stays quiet and the guest goes
 * on; a peer that went away may come back, or another may connect */
static void chardev_break(struct chardev *cd, ssize_t err)
{
	if (cd->kind == CHARDEV_SOCKET || cd->kind == CHARDEV_PTY) {
		chardev_connected(cd, false);
		return;
	}
	log_warn("character output stopped: %s", strerror((int)-err));
	cd->broken = true;
	cd->len = 0;
}

void chardev_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
	if (chardev_discards(cd))
		return;
	if (!cd->len) {
		/* nothing queued: straight to the sink, which keeps the order */
		ssize_t n = sink_write(cd, buf, len);
		if (n < 0) {
			chardev_break(cd, n);
			return;
		}
		buf += n;
		len -= (size_t)n;
		if (!len)
			return;
	}
	if (!cd->buf && !(cd->buf = malloc(CHARDEV_BUF_SIZE))) {
		cd->dropped += len;
		return;
	}
	size_t take = CHARDEV_BUF_SIZE - cd->len;
	if (take > len)
		take = len;
	cd->dropped += len - take;
	bool was_empty = cd->len == 0;
	for (size_t i = 0; i < take; i++)
		cd->buf[(cd->head + cd->len + i) % CHARDEV_BUF_SIZE] = buf[i];
	cd->len += take;
	/* the main loop polls for room only for sinks with bytes queued */
	if (was_empty && take && cd->vm)
		vm_wake_main_loop(cd->vm);
}

void chardev_flush(struct chardev *cd)
{
	size_t moved = 0;
	while (cd->len && !chardev_discards(cd)) {
		size_t chunk = CHARDEV_BUF_SIZE - cd->head;
		if (chunk > cd->len)
			chunk = cd->len;
		ssize_t n = sink_write(cd, cd->buf + cd->head, chunk);
		if (n < 0) {
			moved += cd->len;
			chardev_break(cd, n);
			break;
		}
		if (n == 0)
			break;
		cd->head = (cd->head + (size_t)n) % CHARDEV_BUF_SIZE;
		cd->len -= (size_t)n;
		moved += (size_t)n;
	}
	if (!cd->len)
		cd->head = 0;
	if (moved && cd->room_ready)
		cd->room_ready(cd->room_opaque);
}

/* What the main loop waits for on cd: a client to accept, room for
 * queued output, input the receiver has room for, a peer hanging up */
static short chardev_poll_events(struct chardev *cd, uint64_t now, int *fd)
{
	if (cd->kind == CHARDEV_PTY && !cd->connected && cd->fd >= 0 && now >= cd->pty_check_ns) {
		if (chardev_pty_has_reader(cd))
			chardev_connected(cd, true);
		else
			cd->pty_check_ns = now + CHARDEV_PTY_CHECK_MS * 1000000ull;
	}
	if (!cd->connected) {
		*fd = cd->listen_fd;
		return cd->listen_fd >= 0 ? POLLIN : 0;
	}
	*fd = cd->fd;
	short events = 0;
	if (cd->len && !cd->broken)
		events |= POLLOUT;
	if (cd->readable) {
		/* without a receiver the input is read and dropped, so that a
		 * hang-up is seen; with one, only what it has room for */
		if (!cd->rx.can_receive || cd->rx.can_receive(cd->rx.opaque) > 0)
			events |= POLLIN | POLLRDHUP;
	}
	return events;
}

unsigned chardevs_poll_prepare(struct vm *vm, struct pollfd *pfd, unsigned max)
{
	unsigned n = 0;
	uint64_t now = monotonic_ns();
	pthread_mutex_lock(&vm->dev_lock);
	for (unsigned i = 0; i < vm->nr_chardevs && n < max; i++) {
		int fd;
		short events = chardev_poll_events(vm->chardevs[i], now, &fd);
		if (events && fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = fd, .events = events };
	}
	pthread_mutex_unlock(&vm->dev_lock);
	return n;
}

int chardevs_poll_timeout(struct vm *vm)
{
	int ms = -1;
	pthread_mutex_lock(&vm->dev_lock);
	for (unsigned i = 0; i < vm->nr_chardevs; i++) {
		const struct chardev *cd = vm->chardevs[i];
		if (cd->kind == CHARDEV_PTY && !cd->connected && cd->fd >= 0)
			ms = CHARDEV_PTY_CHECK_MS;
	}
	pthread_mutex_unlock(&vm->dev_lock);
	return ms;
}

/* Hand the receiver what the peer sent, as much as it takes now; the end
 * of the input (or a pty whose reader left) is the peer going away */
static void chardev_read_input(struct chardev *cd)
{
	uint8_t buf[CHARDEV_READ_MAX];
	size_t room = cd->rx.can_receive ? cd->rx.can_receive(cd->rx.opaque) : sizeof(buf);
	if (!room)
		return;
	if (room > sizeof(buf))
		room = sizeof(buf);
	ssize_t n = read(cd->fd, buf, room);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		chardev_connected(cd, false);
		return;
	}
	if (cd->rx.receive)
		cd->rx.receive(cd->rx.opaque, buf, (size_t)n);
}

static void chardev_poll_done_one(struct chardev *cd, const struct pollfd *p)
{
	if (p->fd == cd->listen_fd && !cd->connected) {
		if (p->revents & POLLIN)
			chardev_socket_accept(cd);
		return;
	}
	if (p->fd != cd->fd || !cd->connected)
		return;
	/* POLLERR, POLLHUP: the write or read that follows says what happened */
	if (p->revents & (POLLOUT | POLLERR | POLLHUP))
		chardev_flush(cd);
	if (cd->readable && cd->connected && (p->revents & (POLLIN | POLLRDHUP | POLLERR | POLLHUP)))
		chardev_read_input(cd);
	else if (cd->kind == CHARDEV_PTY && (p->revents & POLLHUP))
		chardev_connected(cd, false);
}

void chardevs_poll_done(struct vm *vm, const struct pollfd *pfd, unsigned n)
{
	pthread_mutex_lock(&vm->dev_lock);
	for (unsigned i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		for (unsigned j = 0; j < vm->nr_chardevs; j++)
			chardev_poll_done_one(vm->chardevs[j], &pfd[i]);
	}
	pthread_mutex_unlock(&vm->dev_lock);
}

/* At the end: let a slow reader have the rest, but do not wait for one
 * that has stopped reading (it may be why minivmm is being stopped) */
static void chardev_drain(struct chardev *cd)
{
	while (cd->len && !chardev_discards(cd)) {
		struct pollfd pfd = { .fd = cd->fd, .events = POLLOUT };
		int n = poll(&pfd, 1, CHARDEV_DRAIN_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t before = cd->len;
		chardev_flush(cd);
		if (cd->len == before)
			break;
	}
	cd->dropped += cd->len;
	cd->len = 0;
}

void chardev_close(struct chardev *cd)
{
	chardev_unregister(cd);
	if (cd->fd >= 0) {
		chardev_drain(cd);
		if (cd->dropped)
			log_warn("%llu bytes of guest output were dropped: the reader did not keep up",
				 (unsigned long long)cd->dropped);
	}
	if (cd->shared_flags >= 0 && cd->fd >= 0)
		fcntl(cd->fd, F_SETFL, cd->shared_flags);
	if (cd->owned && cd->fd >= 0)
		close(cd->fd);
	if (cd->listen_fd >= 0)
		close(cd->listen_fd);
	if (cd->unlink_path)
		unlink(cd->unlink_path);
	free(cd->unlink_path);
	free(cd->buf);
	*cd = (struct chardev){ .fd = -1, .listen_fd = -1, .shared_flags = -1 };
}
