/* NBD against qemu-nbd, started here on 127.0.0.1 and on a unix socket:
 * reads, writes, flushes, trims and write-zeroes land in the exported
 * file; the URI forms (nbd://, nbd+unix://, QEMU's older nbd:...) connect;
 * a read-only export makes a read-only disk; a qcow2 image served as raw
 * bytes opens as qcow2 over NBD; many requests at once; and a server that
 * is not there gives one line. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk_test.h"
#include "test.h"

#define MiB (1024ull * 1024)
#define EXPORT_SIZE (16 * MiB)

#define NEED_QEMU_NBD()                                          \
	do {                                                     \
		if (!blk_test_have("qemu-nbd"))                  \
			SKIP("qemu-nbd not installed");          \
	} while (0)

struct server {
	pid_t pid;
	char uri[256];
};

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* qemu-nbd serving file (format fmt) as export "exp", on TCP when socket
 * is NULL; returns once it listens */
static bool serve(struct server *s, const char *file, const char *socket_path, const char *extra)
{
	const char *pidfile = blk_test_path("nbd.pid");
	char listen[300];
	int port = socket_path ? 0 : free_port();
	if (socket_path)
		snprintf(listen, sizeof(listen), "-k '%s'", socket_path);
	else
		snprintf(listen, sizeof(listen), "-b 127.0.0.1 -p %d", port);
	unlink(pidfile);
	if (blk_test_sh("qemu-nbd --fork --pid-file='%s' --persistent --shared=8 -x exp %s %s "
			"'%s'",
			pidfile, listen, extra, file) != 0)
		return false;
	char out[32];
	if (blk_test_sh_out(out, sizeof(out), "cat '%s'", pidfile) != 0)
		return false;
	s->pid = (pid_t)atoi(out);
	if (socket_path)
		snprintf(s->uri, sizeof(s->uri), "nbd+unix:///exp?socket=%s", socket_path);
	else
		snprintf(s->uri, sizeof(s->uri), "nbd://127.0.0.1:%d/exp", port);
	return s->pid > 0;
}

/* Gone, or a zombie nobody has reaped yet */
static bool exited(pid_t pid)
{
	char path[64], stat[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return true;
	ssize_t n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	stat[n > 0 ? n : 0] = 0;
	const char *state = strrchr(stat, ')');
	return !state || state[2] == 'Z';
}

static void stop(struct server *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	for (int i = 0; i < 500 && !exited(s->pid); i++)
		usleep(10000);
	s->pid = 0;
}

static const char *make_export(void)
{
	const char *path = blk_test_path("export.raw");
	uint8_t *buf = malloc(EXPORT_SIZE);
	blk_test_pattern(buf, EXPORT_SIZE, 0, 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	bool ok = fd >= 0 && write(fd, buf, EXPORT_SIZE) == (ssize_t)EXPORT_SIZE;
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok ? path : NULL;
}

static bool file_equals(const char *path, const uint8_t *expect, uint64_t len)
{
	uint8_t *buf = malloc(len);
	int fd = open(path, O_RDONLY);
	bool ok = fd >= 0 && pread(fd, buf, len, 0) == (ssize_t)len && !memcmp(buf, expect, len);
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok;
}

/* Random I/O through the layer, mirrored; then the file holds the mirror */
static void exercise(const char *uri, const char *file, uint64_t seed)
{
	struct drive_config cfg = blk_test_drive(uri);
	cfg.discard = DRIVE_DISCARD_UNMAP;
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	CHECK_EQ(blk_size(b), EXPORT_SIZE);
	CHECK(!blk_is_readonly(b));
	CHECK(blk_can_discard(b));
	uint8_t *mirror = malloc(EXPORT_SIZE), *buf = malloc(2 * MiB), *back = malloc(2 * MiB);
	blk_test_pattern(mirror, EXPORT_SIZE, 0, 0);
	for (int i = 0; i < 200 && !test_state.failed_checks; i++) {
		uint64_t len = (blk_test_rand(&seed) % 512 + 1) * 512;
		uint64_t off = blk_test_rand(&seed) % ((EXPORT_SIZE - len) / 512 + 1) * 512;
		unsigned r = (unsigned)(blk_test_rand(&seed) % 100);
		if (r < 50) {
			blk_test_pattern(buf, len, off, seed);
			/* split in two segments, the second one odd-sized */
			struct iovec iov[2] = { { buf, 512 }, { buf + 512, len - 512 } };
			CHECK_EQ(blk_test_iov(b, BLK_OP_WRITE, r & 1 ? BLK_REQ_FUA : 0, off, iov,
					      len > 512 ? 2 : 1),
				 0);
			memcpy(mirror + off, buf, len);
		} else if (r < 60) {
			CHECK_EQ(blk_test_io(b, BLK_OP_WRITE_ZEROES, r & 1 ? BLK_REQ_UNMAP : 0, off,
					     NULL, len),
				 0);
			memset(mirror + off, 0, len);
		} else if (r < 65) {
			/* trim: qemu-nbd --discard=unmap punches the file; reads as zeroes */
			CHECK_EQ(blk_test_io(b, BLK_OP_DISCARD, 0, off, NULL, len), 0);
			CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, off, back, len), 0);
			memcpy(mirror + off, back, len);
		} else if (r < 95) {
			CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, off, back, len), 0);
			CHECK(!memcmp(back, mirror + off, len));
		} else {
			CHECK_EQ(blk_test_io(b, BLK_OP_FLUSH, 0, 0, NULL, 0), 0);
		}
	}
	blk_close(b);
	CHECK(file_equals(file, mirror, EXPORT_SIZE));
	free(mirror);
	free(buf);
	free(back);
}

TEST(tcp_loopback)
{
	NEED_QEMU_NBD();
	const char *file = make_export();
	struct server s;
	CHECK(serve(&s, file, NULL, "-f raw --discard=unmap"));
	exercise(s.uri, file, 1);
	stop(&s);
}

TEST(unix_socket)
{
	NEED_QEMU_NBD();
	const char *file = make_export();
	struct server s;
	CHECK(serve(&s, file, blk_test_path("nbd.sock"), "-f raw --discard=unmap"));
	exercise(s.uri, file, 2);
	stop(&s);
}

/* QEMU's older spellings reach the same exports */
TEST(legacy_forms)
{
	NEED_QEMU_NBD();
	const char *file = make_export();
	struct server tcp, unx;
	CHECK(serve(&tcp, file, NULL, "-f raw"));
	CHECK(serve(&unx, file, blk_test_path("legacy.sock"), "-f raw"));
	char uri[300];
	int port = atoi(strrchr(tcp.uri, ':') + 1);
	snprintf(uri, sizeof(uri), "nbd:127.0.0.1:%d:exportname=exp", port);
	exercise(uri, file, 3);
	CHECK(make_export() != NULL);	/* the same file, its first contents again */
	snprintf(uri, sizeof(uri), "nbd:unix:%s:exportname=exp", blk_test_path("legacy.sock"));
	exercise(uri, file, 4);
	stop(&tcp);
	stop(&unx);
}

TEST(readonly_export)
{
	NEED_QEMU_NBD();
	const char *file = make_export();
	struct server s;
	CHECK(serve(&s, file, NULL, "-f raw -r"));
	struct drive_config cfg = blk_test_drive(s.uri);
	cfg.discard = DRIVE_DISCARD_UNMAP;
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (b) {
		CHECK(blk_is_readonly(b));
		CHECK(!blk_can_discard(b));
		uint8_t buf[4096], expect[4096];
		CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 8192, buf, sizeof(buf)), 0);
		blk_test_pattern(expect, sizeof(expect), 8192, 0);
		CHECK(!memcmp(buf, expect, sizeof(buf)));
		CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, 0, buf, sizeof(buf)), -EROFS);
		blk_close(b);
	}
	stop(&s);
}

/* A qcow2 image whose bytes an NBD server exports: format=qcow2 over it */
TEST(qcow2_over_nbd)
{
	NEED_QEMU_NBD();
	const char *img = blk_test_path("over.qcow2");
	CHECK_EQ(blk_test_sh("qemu-img create -q -f qcow2 '%s' 16M && qemu-io -c 'write -P 0x3c "
			     "1M 2M' '%s' >/dev/null",
			     img, img),
		 0);
	struct server s;
	CHECK(serve(&s, img, NULL, "-f raw"));
	struct drive_config cfg = blk_test_drive(s.uri);
	cfg.format = DRIVE_FORMAT_QCOW2;
	cfg.readonly = true;
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (b) {
		CHECK_EQ(blk_size(b), 16 * MiB);
		uint8_t *buf = malloc(4 * MiB);
		CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 0, buf, 4 * MiB), 0);
		bool ok = true;
		for (uint64_t i = 0; i < 4 * MiB; i++)
			ok &= buf[i] == (i >= MiB && i < 3 * MiB ? 0x3c : 0);
		CHECK(ok);
		free(buf);
		blk_close(b);
	}
	stop(&s);
}

struct nbd_thread {
	struct blk *b;
	unsigned index;
	int failures;
};

static void *nbd_writer(void *opaque)
{
	struct nbd_thread *t = opaque;
	uint8_t buf[16384], back[16384];
	for (int i = 0; i < 100; i++) {
		uint64_t off = ((uint64_t)i * 8 + t->index) * sizeof(buf);
		blk_test_pattern(buf, sizeof(buf), off, 9);
		if (blk_test_io(t->b, BLK_OP_WRITE, 0, off, buf, sizeof(buf)) != 0 ||
		    blk_test_io(t->b, BLK_OP_READ, 0, off, back, sizeof(back)) != 0 ||
		    memcmp(buf, back, sizeof(buf)))
			t->failures++;
	}
	return NULL;
}

TEST(many_at_once)
{
	NEED_QEMU_NBD();
	const char *file = make_export();
	struct server s;
	CHECK(serve(&s, file, NULL, "-f raw"));
	struct drive_config cfg = blk_test_drive(s.uri);
	cfg.aio = DRIVE_AIO_IO_URING;	/* the engine does not matter for NBD */
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (b) {
		struct nbd_thread t[8];
		pthread_t th[8];
		for (unsigned i = 0; i < 8; i++) {
			t[i] = (struct nbd_thread){ .b = b, .index = i };
			pthread_create(&th[i], NULL, nbd_writer, &t[i]);
		}
		for (unsigned i = 0; i < 8; i++) {
			pthread_join(th[i], NULL);
			CHECK_EQ(t[i].failures, 0);
		}
		blk_close(b);
	}
	stop(&s);
}

TEST(no_server)
{
	char uri[64];
	snprintf(uri, sizeof(uri), "nbd://127.0.0.1:%d/exp", free_port());
	struct drive_config cfg = blk_test_drive(uri);
	struct blk *b = NULL;
	CHECK(blk_test_open(&cfg, &b) < 0);
	cfg.file = "nbd+unix:///exp?socket=/nonexistent/sock";
	CHECK(blk_test_open(&cfg, &b) < 0);
}

/* The server goes away under an open disk: requests fail, nothing hangs */
TEST(server_dies)
{
	NEED_QEMU_NBD();
	const char *file = make_export();
	struct server s;
	CHECK(serve(&s, file, NULL, "-f raw"));
	struct drive_config cfg = blk_test_drive(s.uri);
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	uint8_t buf[4096];
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 0, buf, sizeof(buf)), 0);
	kill(s.pid, SIGKILL);
	stop(&s);
	usleep(100000);
	CHECK(blk_test_io(b, BLK_OP_READ, 0, 0, buf, sizeof(buf)) < 0);
	CHECK(blk_test_io(b, BLK_OP_WRITE, 0, 0, buf, sizeof(buf)) < 0);
	blk_close(b);
}

RUN_TESTS(T(tcp_loopback), T(unix_socket), T(legacy_forms), T(readonly_export),
	  T(qcow2_over_nbd), T(many_at_once), T(no_server), T(server_dies))
