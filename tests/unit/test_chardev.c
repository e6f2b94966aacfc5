/* Character sinks: stdout and files, and above all that a reader who
 * stops reading never makes a write wait (the writer holds dev_lock). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

#include "core/chardev.h"
#include "platform_vm.h"

static char path[64];

static size_t read_file(const char *p, char *buf, size_t cap)
{
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n > 0 ? (size_t)n : 0;
}

/* A FIFO at path with its read end open, non-blocking, and as small as a
 * pipe gets (one page): the test is the reader, and it can stall */
static int fifo_reader(void)
{
	strcpy(path, "/tmp/minivmm-chardev-XXXXXX");
	int fd = mkstemp(path);
	if (fd >= 0)
		close(fd);
	unlink(path);
	if (mkfifo(path, 0600) < 0)
		return -1;
	int r = open(path, O_RDONLY | O_NONBLOCK);
	if (r >= 0)
		fcntl(r, F_SETPIPE_SZ, 4096);
	return r;
}

/* Read what the pipe holds now, appending to buf[*got..cap) */
static void drain_reader(int r, uint8_t *buf, size_t *got, size_t cap)
{
	while (*got < cap) {
		ssize_t n = read(r, buf + *got, cap - *got);
		if (n <= 0)
			break;
		*got += (size_t)n;
	}
}

static int room_calls;
static void count_room(void *opaque)
{
	(void)opaque;
	room_calls++;
}

TEST(sinks)
{
	struct chardev cd;
	struct chardev_config cfg = { .kind = CHARDEV_NONE };
	/* none: writes vanish, and there is always room */
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	CHECK_EQ(cd.fd, -1);
	chardev_write(&cd, (const uint8_t *)"x", 1);
	CHECK_EQ(chardev_room(&cd), SIZE_MAX);
	chardev_close(&cd);
	/* a file is created afresh (truncated) and closed on exec */
	strcpy(path, "/tmp/minivmm-chardev-XXXXXX");
	int fd = mkstemp(path);
	CHECK_EQ(write(fd, "old contents", 12), 12);
	close(fd);
	cfg.kind = CHARDEV_FILE;
	cfg.path = path;
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	CHECK(fcntl(cd.fd, F_GETFD) & FD_CLOEXEC);
	chardev_write(&cd, (const uint8_t *)"new", 3);
	CHECK_EQ(chardev_pending(&cd), 0);
	chardev_close(&cd);
	CHECK_EQ(cd.fd, -1);
	char buf[32];
	read_file(path, buf, sizeof(buf));
	CHECK_STR(buf, "new");
	unlink(path);
	cfg.path = NULL;
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), -EINVAL);
}

/* stdout is shared with the shell and stderr: never closed, and its flags
 * are left alone; a pipe or terminal there gets a non-blocking
 * description of our own */
TEST(stdout_keeps_its_flags)
{
	int saved = dup(STDOUT_FILENO);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	fflush(stdout);
	dup2(p[1], STDOUT_FILENO);
	struct chardev cd;
	struct chardev_config cfg = { .kind = CHARDEV_STDIO };
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	CHECK(cd.fd != STDOUT_FILENO);
	CHECK(fcntl(cd.fd, F_GETFL) & O_NONBLOCK);
	CHECK(!(fcntl(STDOUT_FILENO, F_GETFL) & O_NONBLOCK));
	chardev_write(&cd, (const uint8_t *)"via stdout", 10);
	chardev_close(&cd);
	CHECK(fcntl(STDOUT_FILENO, F_GETFD) >= 0);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(p[1]);
	char buf[32] = { 0 };
	CHECK_EQ(read(p[0], buf, sizeof(buf) - 1), 10);
	CHECK_STR(buf, "via stdout");
	close(p[0]);
	/* a regular file is written through the shared description, so that
	 * its offset (and O_APPEND) stay everybody's */
	strcpy(path, "/tmp/minivmm-chardev-XXXXXX");
	int f = mkstemp(path);
	saved = dup(STDOUT_FILENO);
	dup2(f, STDOUT_FILENO);
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	CHECK_EQ(cd.fd, STDOUT_FILENO);
	CHECK(!cd.owned);
	chardev_close(&cd);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(f);
	unlink(path);
}

TEST(reader_gone)
{
	struct chardev cd;
	int r = fifo_reader();
	CHECK(r >= 0);
	struct chardev_config cfg = { .kind = CHARDEV_FILE, .path = path };
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	chardev_write(&cd, (const uint8_t *)"ok", 2);
	char buf[4];
	CHECK_EQ(read(r, buf, sizeof(buf)), 2);
	close(r);
	/* SIGPIPE is ignored, as minivmm does: a closed pipe is EPIPE */
	chardev_write(&cd, (const uint8_t *)"lost", 4);
	CHECK(cd.broken);
	/* from now on quietly dropped, and never in the way */
	chardev_write(&cd, (const uint8_t *)"lost", 4);
	CHECK_EQ(chardev_room(&cd), SIZE_MAX);
	chardev_close(&cd);
	unlink(path);
}

TEST(stalled_reader_never_blocks)
{
	static uint8_t out[4 * CHARDEV_BUF_SIZE], in[4 * CHARDEV_BUF_SIZE];
	struct chardev cd;
	int r = fifo_reader();
	CHECK(r >= 0);
	struct chardev_config cfg = { .kind = CHARDEV_FILE, .path = path };
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	chardev_set_room_ready(&cd, count_room, NULL);
	room_calls = 0;
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + i / 251);
	alarm(20);	/* a write that waited for the reader would hang here */
	/* byte by byte, as a UART writes, until the buffer is full */
	size_t sent = 0;
	while (chardev_room(&cd) > 0 && sent < sizeof(out))
		chardev_write(&cd, out + sent++, 1);
	CHECK_EQ(chardev_room(&cd), 0);
	CHECK_EQ(chardev_pending(&cd), CHARDEV_BUF_SIZE);
	/* more than the buffer holds is dropped, and counted */
	chardev_write(&cd, out + sent, 100);
	CHECK_EQ(cd.dropped, 100);
	/* the reader takes some: a flush hands over more and says so */
	size_t got = 0;
	while (got < sent) {
		size_t before = got;
		drain_reader(r, in, &got, sizeof(in));
		chardev_flush(&cd);
		if (got == before && chardev_pending(&cd) == 0)
			break;
	}
	alarm(0);
	CHECK(room_calls > 0);
	CHECK_EQ(got, sent);
	CHECK(!memcmp(in, out, sent));
	CHECK_EQ(chardev_pending(&cd), 0);
	CHECK_EQ(chardev_room(&cd), CHARDEV_BUF_SIZE);
	chardev_close(&cd);
	close(r);
	unlink(path);
}

/* The main loop polls only sinks with bytes queued, and flushes those
 * that became writable */
TEST(main_loop_drains)
{
	struct vm *vm = test_vm_new();
	struct chardev cd;
	int r = fifo_reader();
	CHECK(r >= 0);
	struct chardev_config cfg = { .kind = CHARDEV_FILE, .path = path };
	CHECK_EQ(chardev_open(&cd, vm, &cfg), 0);
	CHECK_EQ(vm->nr_chardevs, 1);
	struct pollfd pfd[VM_MAX_CHARDEVS];
	CHECK_EQ(chardevs_poll_prepare(vm, pfd, VM_MAX_CHARDEVS), 0);
	static uint8_t data[8192];
	memset(data, 'q', sizeof(data));
	chardev_write(&cd, data, sizeof(data));
	CHECK(chardev_pending(&cd) > 0);
	CHECK_EQ(chardevs_poll_prepare(vm, pfd, VM_MAX_CHARDEVS), 1);
	CHECK_EQ(pfd[0].fd, cd.fd);
	CHECK_EQ(pfd[0].events, POLLOUT);
	static uint8_t in[8192];
	size_t got = 0;
	while (got < sizeof(data)) {
		size_t before = got;
		drain_reader(r, in, &got, sizeof(in));
		unsigned n = chardevs_poll_prepare(vm, pfd, VM_MAX_CHARDEVS);
		CHECK_EQ(poll(pfd, n, 1000), (int)n);
		chardevs_poll_done(vm, pfd, n);
		if (got == before && !n)
			break;
	}
	CHECK_EQ(got, sizeof(data));
	CHECK_EQ(chardevs_poll_prepare(vm, pfd, VM_MAX_CHARDEVS), 0);
	chardev_close(&cd);
	CHECK_EQ(vm->nr_chardevs, 0);
	close(r);
	unlink(path);
	test_vm_free(vm);
}

/* At close a stalled reader gets a moment, not forever */
TEST(close_gives_up_on_a_stalled_reader)
{
	struct chardev cd;
	int r = fifo_reader();
	CHECK(r >= 0);
	struct chardev_config cfg = { .kind = CHARDEV_FILE, .path = path };
	CHECK_EQ(chardev_open(&cd, NULL, &cfg), 0);
	static uint8_t data[16384];
	memset(data, 's', sizeof(data));
	chardev_write(&cd, data, sizeof(data));
	CHECK(chardev_pending(&cd) > 0);
	alarm(20);
	chardev_close(&cd);
	alarm(0);
	CHECK_EQ(cd.fd, -1);
	close(r);
	unlink(path);
}

int main(int argc, char **argv)
{
	(void)argc;
	/* as minivmm itself runs */
	signal(SIGPIPE, SIG_IGN);
	static const struct test_case cases[] = {
		T(sinks), T(stdout_keeps_its_flags), T(reader_gone), T(stalled_reader_never_blocks),
		T(main_loop_drains), T(close_gives_up_on_a_stalled_reader),
	};
	return test_run_all(argv[0], cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
