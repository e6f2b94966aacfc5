/* Crash safety: a writer process (forked from this test, using the block
 * layer like a guest would) writes batches of patterns, write-zeroes and
 * discards, flushes, and logs what it is about to do and what it has
 * flushed; it is SIGKILLed at random moments, many times over.  After
 * each kill, `qemu-img check` must find no corruption (leaked clusters
 * are allowed), and the image as qemu-img reads it must hold every
 * flushed write: each sector holds what the flushed history says, or
 * what one of the writes in flight at the kill put there.
 *
 * CRASH_ITERATIONS=N raises the number of kills (default 40 over all the
 * image kinds); CRASH_KIND=I runs kind I alone; CRASH_DEBUG=1 says what
 * the log knows about a sector that is wrong. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blk_test.h"
#include "test.h"

#define MiB (1024ull * 1024)
#define DISK_SIZE (16 * MiB)
#define SECTOR 512

enum rec_kind { REC_WRITE = 1, REC_ZERO, REC_DISCARD, REC_FLUSHED };

/* One line of the writer's log */
struct rec {
	uint32_t magic;
	uint32_t kind;
	uint64_t gen;		/* the batch; a write's pattern generation */
	uint64_t offset, len;
};
#define REC_MAGIC 0x43525348u

struct crash_kind {
	const char *name;
	const char *create;	/* qemu-img create options ("" for raw) */
	unsigned cluster;
	enum drive_aio aio;
	bool direct;
	bool snapshot;		/* a snapshot taken first: writes copy on write */
	bool lazy;		/* lazy refcounts: our open rebuilds them first */
	unsigned max_pages;	/* 4 KiB pages per request at most (0: 48) */
};

static const struct crash_kind kinds[] = {
	{ "qcow2 v3", "compat=1.1", 65536, DRIVE_AIO_THREADS, false, false, false, 0 },
	{ "qcow2 v3 4K clusters io_uring", "cluster_size=4096", 4096, DRIVE_AIO_IO_URING, false,
	  false, false, 0 },
	{ "qcow2 v2 snapshot", "compat=0.10", 65536, DRIVE_AIO_THREADS, false, true, false, 0 },
	{ "qcow2 v3 512B clusters refcount_bits=1", "cluster_size=512,refcount_bits=1", 512,
	  DRIVE_AIO_THREADS, false, false, false, 0 },
	/* a refcount block covers 32 KiB and the first table 2 MiB: new
	 * blocks all the time, and the table moves and grows */
	{ "qcow2 v3 512B clusters refcount_bits=64", "cluster_size=512,refcount_bits=64", 512,
	  DRIVE_AIO_IO_URING, false, false, false, 6 },
	{ "qcow2 v3 snapshot O_DIRECT", "compat=1.1", 65536, DRIVE_AIO_IO_URING, true, true,
	  false, 0 },
	{ "qcow2 v3 lazy refcounts", "lazy_refcounts=on,cluster_size=4096", 4096,
	  DRIVE_AIO_THREADS, false, false, true, 0 },
	{ "raw", "", 4096, DRIVE_AIO_IO_URING, false, false, false, 0 },
	{ "raw O_DIRECT", "", 4096, DRIVE_AIO_THREADS, true, false, false, 0 },
};

static struct drive_config kind_drive(const struct crash_kind *k, const char *path)
{
	struct drive_config cfg = blk_test_drive(path);
	cfg.format = k->create[0] ? DRIVE_FORMAT_QCOW2 : DRIVE_FORMAT_RAW;
	cfg.aio = k->aio;
	cfg.direct = k->direct;
	cfg.discard = DRIVE_DISCARD_UNMAP;
	return cfg;
}

/* ---- the writer (the child) ---- */

struct pending {
	struct blk_request req;
	struct iovec iov;
};

static void write_log(int fd, const struct rec *r, size_t n)
{
	if (write(fd, r, n * sizeof(*r)) != (ssize_t)(n * sizeof(*r)))
		_exit(6);
}

static void __attribute__((noreturn))
writer(const struct crash_kind *k, const char *path, const char *log, uint64_t gen, uint64_t seed)
{
	struct drive_config cfg = kind_drive(k, path);
	struct blk *b;
	if (blk_open(&cfg, &b) < 0)
		_exit(3);
	int lfd = open(log, O_WRONLY | O_APPEND);
	if (lfd < 0)
		_exit(3);
	uint8_t *data = malloc(8 * 256 * 1024);
	for (;; gen++) {
		/* up to 8 requests at once, on 4 KiB slots that do not overlap
		 * but may share clusters */
		unsigned n = 1 + (unsigned)(blk_test_rand(&seed) % 8);
		uint64_t slot = blk_test_rand(&seed) % (DISK_SIZE / 4096 / 2);
		struct rec recs[8];
		struct pending p[8];
		for (unsigned i = 0; i < n; i++) {
			uint64_t len = (1 + blk_test_rand(&seed) % (k->max_pages ? k->max_pages : 48)) *
				       4096;
			uint64_t off = slot * 4096;
			if (off + len > DISK_SIZE)
				len = DISK_SIZE - off;
			/* the next request starts past this one, as first drawn */
			slot += len / 4096 + blk_test_rand(&seed) % 8;
			unsigned r = (unsigned)(blk_test_rand(&seed) % 100);
			enum rec_kind kind = r < 75 ? REC_WRITE : r < 90 ? REC_ZERO : REC_DISCARD;
			if (kind == REC_DISCARD) {
				/* whole clusters: what a discard frees reads as zeroes */
				uint64_t c = k->cluster;
				uint64_t start = (off + c - 1) / c * c, end = (off + len) / c * c;
				if (start >= end) {
					kind = REC_ZERO;
				} else {
					off = start;
					len = end - start;
				}
			}
			recs[i] = (struct rec){ REC_MAGIC, kind, gen * 16 + i, off, len };
			p[i].iov = (struct iovec){ data + i * 256 * 1024, len };
			if (kind == REC_WRITE)
				blk_test_pattern(p[i].iov.iov_base, len, off, gen * 16 + i);
			p[i].req = (struct blk_request){
				.op = kind == REC_WRITE ? BLK_OP_WRITE :
				      kind == REC_ZERO	? BLK_OP_WRITE_ZEROES :
							  BLK_OP_DISCARD,
				.flags = kind == REC_ZERO && (r & 1) ? BLK_REQ_UNMAP : 0,
				.offset = off,
				.iov = &p[i].iov,
				.iovcnt = 1,
				.len = len,
			};
			if (slot >= DISK_SIZE / 4096) {
				n = i + 1;
				break;
			}
		}
		write_log(lfd, recs, n);
		struct blk_batch batch;
		blk_batch_init(&batch);
		blk_plug(b);
		for (unsigned i = 0; i < n; i++)
			blk_batch_submit(b, &batch, &p[i].req);
		blk_unplug(b);
		if (blk_batch_wait(&batch))
			_exit(4);
		if (blk_test_io(b, BLK_OP_FLUSH, 0, 0, NULL, 0) != 0)
			_exit(5);
		struct rec done = { REC_MAGIC, REC_FLUSHED, gen, 0, 0 };
		write_log(lfd, &done, 1);
	}
}

/* ---- checking what a kill left ---- */

/* The bytes a logged request leaves in one sector */
static void rec_sector(const struct rec *r, uint64_t sector_off, uint8_t *out)
{
	if (r->kind == REC_WRITE)
		blk_test_pattern(out, SECTOR, sector_off, r->gen);
	else
		memset(out, 0, SECTOR);
}

/* What the log says about one sector (CRASH_DEBUG=1) */
static void explain_sector(const struct rec *recs, size_t n, uint64_t off, const uint8_t *image,
			   const uint8_t *expect)
{
	if (!getenv("CRASH_DEBUG"))
		return;
	printf("  holds %02x%02x%02x%02x.., flushed history says %02x%02x%02x%02x..\n",
	       image[off], image[off + 1], image[off + 2], image[off + 3], expect[off],
	       expect[off + 1], expect[off + 2], expect[off + 3]);
	for (size_t i = 0; i < n; i++) {
		const struct rec *r = &recs[i];
		if (r->kind == REC_FLUSHED || off < r->offset || off >= r->offset + r->len)
			continue;
		uint8_t a[SECTOR];
		rec_sector(r, off, a);
		printf("   log[%zu]: kind %u gen %llu %#llx+%#llx -> %02x%02x%02x%02x..\n", i,
		       r->kind, (unsigned long long)r->gen, (unsigned long long)r->offset,
		       (unsigned long long)r->len, a[0], a[1], a[2], a[3]);
	}
}

struct model {
	uint8_t *expect;	/* what the flushed history says */
	uint64_t next_gen;
};

/* Replay the log since the last check: flushed batches go into expect;
 * the batch in flight at the kill may or may not have landed, sector by
 * sector.  The image (as qemu-img reads it) must agree; then it becomes
 * the expectation. */
static bool check_against_log(struct model *m, const char *log, const uint8_t *image,
			      uint64_t *batches)
{
	int fd = open(log, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return false;
	size_t n = (size_t)st.st_size / sizeof(struct rec);
	struct rec *recs = malloc(n * sizeof(*recs) + 1);
	bool ok = read(fd, recs, n * sizeof(*recs)) == (ssize_t)(n * sizeof(*recs));
	close(fd);
	/* the last flushed batch; what follows it was in flight */
	size_t flushed_end = 0;
	for (size_t i = 0; i < n; i++) {
		if (recs[i].magic != REC_MAGIC)
			ok = false;
		if (recs[i].kind == REC_FLUSHED) {
			flushed_end = i + 1;
			(*batches)++;
		}
	}
	for (size_t i = 0; ok && i < flushed_end; i++) {
		const struct rec *r = &recs[i];
		if (r->kind == REC_WRITE)
			blk_test_pattern(m->expect + r->offset, r->len, r->offset, r->gen);
		else if (r->kind != REC_FLUSHED)
			memset(m->expect + r->offset, 0, r->len);
		if (r->kind == REC_FLUSHED)
			m->next_gen = r->gen + 1;
	}
	uint8_t alt[SECTOR];
	for (uint64_t off = 0; ok && off < DISK_SIZE; off += SECTOR) {
		if (!memcmp(image + off, m->expect + off, SECTOR))
			continue;
		bool explained = false;
		for (size_t i = flushed_end; i < n && !explained; i++) {
			const struct rec *r = &recs[i];
			if (r->kind == REC_FLUSHED || off < r->offset || off >= r->offset + r->len)
				continue;
			rec_sector(r, off, alt);
			explained = !memcmp(image + off, alt, SECTOR);
		}
		if (!explained) {
			printf("  sector %#llx holds neither the flushed data nor a write in "
			       "flight\n",
			       (unsigned long long)off);
			explain_sector(recs, n, off, image, m->expect);
			ok = false;
		}
	}
	for (size_t i = flushed_end; i < n; i++)
		if (recs[i].gen / 16 >= m->next_gen)
			m->next_gen = recs[i].gen / 16 + 1;
	free(recs);
	/* the log starts afresh; the image is the new expectation */
	int t = open(log, O_WRONLY | O_TRUNC);
	if (t >= 0)
		close(t);
	memcpy(m->expect, image, DISK_SIZE);
	return ok;
}

static bool read_image(const struct crash_kind *k, const char *path, uint8_t *out)
{
	const char *dump = path;
	if (k->create[0]) {
		dump = blk_test_path("dump.raw");
		if (blk_test_sh("qemu-img convert -f qcow2 -O raw '%s' '%s'", path, dump) != 0)
			return false;
	}
	int fd = open(dump, O_RDONLY);
	bool ok = fd >= 0 && pread(fd, out, DISK_SIZE, 0) == (ssize_t)DISK_SIZE;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void crash_series(const struct crash_kind *k, unsigned kills, uint64_t *seed,
			 uint64_t *batches_total, unsigned *leaky)
{
	const char *path = blk_test_path("crash.img"), *log = blk_test_path("crash.log");
	if (k->create[0])
		CHECK_EQ(blk_test_sh("qemu-img create -q -f qcow2 -o %s '%s' %llu", k->create, path,
				     (unsigned long long)DISK_SIZE),
			 0);
	else
		CHECK_EQ(blk_test_sh("rm -f '%s' && truncate -s %llu '%s'", path,
				     (unsigned long long)DISK_SIZE, path),
			 0);
	struct model m = { .expect = calloc(1, DISK_SIZE), .next_gen = 1 };
	if (k->snapshot) {
		/* data under a snapshot: every write copies on write */
		CHECK_EQ(blk_test_sh("qemu-io -c 'write -P 0x6b 0 8M' '%s' >/dev/null && qemu-img "
				     "snapshot -c base '%s'",
				     path, path),
			 0);
		memset(m.expect, 0x6b, 8 * MiB);
	}
	close(open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644));
	uint8_t *image = malloc(DISK_SIZE);

	for (unsigned i = 0; i < kills && !test_state.failed_checks; i++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0)
			writer(k, path, log, m.next_gen, blk_test_rand(seed));
		/* anywhere from the open to well into the writing */
		struct timespec ts = { 0, (long)(blk_test_rand(seed) % 250 + 1) * 1000000 };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
			printf("  %s: the writer ended by itself (status %#x)\n", k->name, status);
			CHECK(false);
			break;
		}
		if (k->lazy) {
			/* a dirty image: opening it rebuilds the refcounts */
			struct drive_config cfg = kind_drive(k, path);
			struct blk *b;
			CHECK_EQ(blk_open(&cfg, &b), 0);
			if (b)
				blk_close(b);
		}
		if (k->create[0]) {
			/* 0: clean, 3: leaked clusters only */
			char out[32];
			blk_test_sh_out(out, sizeof(out), "qemu-img check -q '%s' >/dev/null 2>&1; echo $?",
					path);
			int rc = atoi(out);
			if (rc == 3)
				(*leaky)++;
			if (rc != 0 && rc != 3)
				printf("  %s: qemu-img check says %d after kill %u\n", k->name, rc, i);
			CHECK(rc == 0 || rc == 3);
		}
		CHECK(read_image(k, path, image));
		bool consistent = check_against_log(&m, log, image, batches_total);
		if (!consistent)
			printf("  %s: after kill %u\n", k->name, i);
		CHECK(consistent);
	}
	/* and the snapshot still holds what it held */
	if (k->snapshot && !test_state.failed_checks) {
		const char *copy = blk_test_path("crashcopy.qcow2");
		CHECK_EQ(blk_test_sh("cp '%s' '%s' && qemu-img snapshot -a base '%s' && qemu-img "
				     "convert -f qcow2 -O raw '%s' '%s'",
				     path, copy, copy, copy, blk_test_path("snap.raw")),
			 0);
		uint8_t *snap = malloc(DISK_SIZE);
		int fd = open(blk_test_path("snap.raw"), O_RDONLY);
		CHECK(fd >= 0 && pread(fd, snap, DISK_SIZE, 0) == (ssize_t)DISK_SIZE);
		if (fd >= 0)
			close(fd);
		bool same = true;
		for (uint64_t o = 0; o < DISK_SIZE; o++)
			same &= snap[o] == (o < 8 * MiB ? 0x6b : 0);
		CHECK(same);
		free(snap);
	}
	free(image);
	free(m.expect);
}

TEST(sigkill_at_random)
{
	if (!blk_test_have("qemu-img") || !blk_test_have("qemu-io"))
		SKIP("qemu-img not installed");
	const char *env = getenv("CRASH_ITERATIONS");
	unsigned total = env ? (unsigned)strtoul(env, NULL, 10) : 40;
	unsigned nkinds = sizeof(kinds) / sizeof(kinds[0]);
	unsigned per_kind = (total + nkinds - 1) / nkinds;
	uint64_t seed = (uint64_t)time(NULL) | 1, batches = 0;
	unsigned leaky = 0, series = 0;
	printf("  seed %#llx\n", (unsigned long long)seed);
	const char *only = getenv("CRASH_KIND");	/* one kind, by index */
	for (unsigned i = 0; i < nkinds && !test_state.failed_checks; i++)
		if (!only || (unsigned)atoi(only) == i) {
			crash_series(&kinds[i], per_kind, &seed, &batches, &leaky);
			series++;
		}
	printf("  %u kills, %llu flushed batches checked, %u times leaked clusters (allowed)\n",
	       per_kind * series, (unsigned long long)batches, leaky);
}

RUN_TESTS(T(sigkill_at_random))
