/* Character sinks: stdout, shared with the rest of the process and never
 * closed, or a file we create; written without ever waiting.
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
#include <unistd.h>

#include "core/log.h"
#include "core/vm.h"

/* At close, how long the sink may take nothing before the rest is dropped */
#define CHARDEV_DRAIN_MS 1000

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

int chardev_open(struct chardev *cd, struct vm *vm, const struct chardev_config *cfg)
{
	*cd = (struct chardev){ .fd = -1, .shared_flags = -1 };
	switch (cfg->kind) {
	case CHARDEV_NONE:
		return 0;
	case CHARDEV_STDIO:
		chardev_open_stdout(cd);
		break;
	case CHARDEV_FILE:
		if (!cfg->path || !*cfg->path) {
			log_error("character device file: no path given");
			return -EINVAL;
		}
		cd->fd = open(cfg->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
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

size_t chardev_room(const struct chardev *cd)
{
	if (cd->fd < 0 || cd->broken)
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

/* The sink failed: one warning, then it stays quiet and the guest goes on */
static void chardev_break(struct chardev *cd, ssize_t err)
{
	log_warn("character output stopped: %s", strerror((int)-err));
	cd->broken = true;
	cd->len = 0;
}

void chardev_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
	if (cd->fd < 0 || cd->broken)
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
	while (cd->len && !cd->broken) {
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

unsigned chardevs_poll_prepare(struct vm *vm, struct pollfd *pfd, unsigned max)
{
	unsigned n = 0;
	pthread_mutex_lock(&vm->dev_lock);
	for (unsigned i = 0; i < vm->nr_chardevs && n < max; i++) {
		const struct chardev *cd = vm->chardevs[i];
		if (cd->len && !cd->broken)
			pfd[n++] = (struct pollfd){ .fd = cd->fd, .events = POLLOUT };
	}
	pthread_mutex_unlock(&vm->dev_lock);
	return n;
}

void chardevs_poll_done(struct vm *vm, const struct pollfd *pfd, unsigned n)
{
	pthread_mutex_lock(&vm->dev_lock);
	for (unsigned i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		/* POLLERR, POLLHUP: the write that follows says what happened */
		for (unsigned j = 0; j < vm->nr_chardevs; j++)
			if (vm->chardevs[j]->fd == pfd[i].fd)
				chardev_flush(vm->chardevs[j]);
	}
	pthread_mutex_unlock(&vm->dev_lock);
}

/* At the end: let a slow reader have the rest, but do not wait for one
 * that has stopped reading (it may be why minivmm is being stopped) */
static void chardev_drain(struct chardev *cd)
{
	while (cd->len && !cd->broken) {
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
	free(cd->buf);
	*cd = (struct chardev){ .fd = -1, .shared_flags = -1 };
}
