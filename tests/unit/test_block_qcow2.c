/* qcow2 against qemu-img 7.2, both ways: images qemu-img makes (v2 and v3,
 * clusters of 512 B to 2 MiB, refcounts of 1 to 64 bits, lazy refcounts,
 * compressed with zlib and zstd, internal snapshots, backing chains) take
 * random writes, write-zeroes and discards through the block layer,
 * mirrored in memory; afterwards every byte reads back as mirrored,
 * `qemu-img check` finds no errors and no leaks, `qemu-img compare` finds
 * the image identical to the mirror, snapshots and backing files still
 * hold what they held.  Then the images minivmm must refuse. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blk_test.h"
#include "block/blk_internal.h"
#include "test.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)

static bool have_qemu_img(void)
{
	static int have = -1;
	if (have < 0)
		have = blk_test_have("qemu-img");
	return have;
}

#define NEED_QEMU_IMG()                                    \
	do {                                               \
		if (!have_qemu_img())                      \
			SKIP("qemu-img not installed");    \
	} while (0)

static struct drive_config qcow2_drive(const char *path)
{
	struct drive_config cfg = blk_test_drive(path);
	cfg.format = DRIVE_FORMAT_QCOW2;
	cfg.discard = DRIVE_DISCARD_UNMAP;
	return cfg;
}

static bool write_file(const char *path, const void *buf, uint64_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	bool ok = fd >= 0 && write(fd, buf, len) == (ssize_t)len;
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool read_file(const char *path, void *buf, uint64_t len)
{
	int fd = open(path, O_RDONLY);
	bool ok = fd >= 0 && read(fd, buf, len) == (ssize_t)len;
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool patch(const char *path, uint64_t offset, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY);
	bool ok = fd >= 0 && pwrite(fd, bytes, len, (off_t)offset) == (ssize_t)len;
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool patch_be(const char *path, uint64_t offset, uint64_t value, unsigned bytes)
{
	uint8_t b[8];
	for (unsigned i = 0; i < bytes; i++)
		b[i] = (uint8_t)(value >> (8 * (bytes - 1 - i)));
	return patch(path, offset, b, bytes);
}

static uint64_t read_be(const char *path, uint64_t offset, unsigned bytes)
{
	uint8_t b[8] = { 0 };
	int fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, b, bytes, (off_t)offset) != (ssize_t)bytes) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v = v << 8 | b[i];
	return v;
}

/* qemu-img check: 0 without errors or leaks */
static int qemu_img_check(const char *path)
{
	return blk_test_sh("qemu-img check -q '%s'", path);
}

/* The image holds exactly what mirror says */
static bool image_equals(const char *image, const uint8_t *mirror, uint64_t size)
{
	const char *ref = blk_test_path("mirror.raw");
	if (!write_file(ref, mirror, size))
		return false;
	return blk_test_sh("qemu-img compare -q -f qcow2 -F raw '%s' '%s'", image, ref) == 0;
}

/* ---- random operations, mirrored ---- */

struct workload {
	uint64_t size;
	unsigned cluster;
	int ops;
	uint64_t seed;
	bool no_zero_discard;	/* v2 with a backing file: a discard shows the backing file */
	bool unsafe;		/* cache=unsafe: no syncs (for the long matrices) */
};

static uint64_t pick_len(uint64_t *seed, unsigned cluster)
{
	switch (blk_test_rand(seed) % 4) {
	case 0:
		return (blk_test_rand(seed) % 16 + 1) * 512;
	case 1:
		return cluster;
	case 2:
		return (blk_test_rand(seed) % 4 + 1) * (uint64_t)cluster + 512;
	default:
		return (blk_test_rand(seed) % 256 + 1) * 4096;
	}
}

static void random_ops(struct blk *b, uint8_t *mirror, const struct workload *w)
{
	uint64_t seed = w->seed;
	uint64_t cap = w->size / 4 < 4 * MiB ? w->size / 4 : 4 * MiB;
	uint8_t *buf = malloc(cap + 4096), *back = malloc(cap + 4096);
	for (int i = 0; i < w->ops && !test_state.failed_checks; i++) {
		uint64_t len = pick_len(&seed, w->cluster);
		if (len > cap)
			len = cap / 512 * 512;
		uint64_t off = blk_test_rand(&seed) % ((w->size - len) / 512 + 1) * 512;
		unsigned r = (unsigned)(blk_test_rand(&seed) % 100);
		if (r < 55) {
			blk_test_pattern(buf, len, off, w->seed + (uint64_t)i);
			CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, off, buf, len), 0);
			memcpy(mirror + off, buf, len);
		} else if (r < 67) {
			unsigned flags = r & 1 ? BLK_REQ_UNMAP : 0;
			CHECK_EQ(blk_test_io(b, BLK_OP_WRITE_ZEROES, flags, off, NULL, len), 0);
			memset(mirror + off, 0, len);
		} else if (r < 75) {
			CHECK_EQ(blk_test_io(b, BLK_OP_DISCARD, 0, off, NULL, len), 0);
			CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, off, back, len), 0);
			/* whole clusters read as zeroes; the rest is unchanged */
			uint64_t first = (off + w->cluster - 1) / w->cluster * w->cluster;
			uint64_t end = (off + len) / w->cluster * w->cluster;
			for (uint64_t o = off; o < off + len; o += 512) {
				bool whole = o >= first && o < end;
				if (whole && w->no_zero_discard)
					continue;
				static const uint8_t zero[512];
				const uint8_t *want = whole ? zero : mirror + o;
				if (memcmp(back + (o - off), want, 512)) {
					printf("  discard %#llx+%#llx: %#llx differs\n",
					       (unsigned long long)off, (unsigned long long)len,
					       (unsigned long long)o);
					CHECK(false);
					break;
				}
			}
			memcpy(mirror + off, back, len);
		} else if (r < 92) {
			CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, off, back, len), 0);
			if (memcmp(back, mirror + off, len)) {
				printf("  op %d: read %#llx+%#llx differs\n", i,
				       (unsigned long long)off, (unsigned long long)len);
				CHECK(false);
			}
		} else {
			CHECK_EQ(blk_test_io(b, BLK_OP_FLUSH, 0, 0, NULL, 0), 0);
		}
	}
	free(buf);
	free(back);
}

static bool blk_equals(struct blk *b, const uint8_t *mirror, uint64_t size)
{
	uint64_t chunk = size < 4 * MiB ? size : 4 * MiB;
	uint8_t *buf = malloc(chunk);
	bool same = true;
	for (uint64_t off = 0; off < size && same; off += chunk) {
		same = blk_test_io(b, BLK_OP_READ, 0, off, buf, chunk) == 0 &&
		       !memcmp(buf, mirror + off, chunk);
		if (!same)
			printf("  differs in %#llx+%#llx\n", (unsigned long long)off,
			       (unsigned long long)chunk);
	}
	free(buf);
	return same;
}

/* Open, random ops, read back, close, qemu-img check and compare */
static void exercise(const char *path, uint8_t *mirror, const struct workload *w,
		     enum drive_aio aio)
{
	struct drive_config cfg = qcow2_drive(path);
	cfg.aio = aio;
	cfg.no_flush = w->unsafe;
	struct blk *b = NULL;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	CHECK_EQ(blk_size(b), w->size);
	CHECK(blk_equals(b, mirror, w->size));
	random_ops(b, mirror, w);
	CHECK(blk_equals(b, mirror, w->size));
	blk_close(b);
	CHECK_EQ(qemu_img_check(path), 0);
	CHECK(image_equals(path, mirror, w->size));
}

static void create_and_exercise(const char *opts, uint64_t size, unsigned cluster, int ops,
				bool unsafe)
{
	const char *path = blk_test_path("t.qcow2");
	CHECK_EQ(blk_test_sh("qemu-img create -q -f qcow2 -o %s '%s' %llu", opts, path,
			     (unsigned long long)size),
		 0);
	uint8_t *mirror = calloc(1, size);
	struct workload w = { .size = size, .cluster = cluster, .ops = ops,
			      .seed = size ^ cluster ^ strlen(opts), .unsafe = unsafe };
	exercise(path, mirror, &w, DRIVE_AIO_THREADS);
	/* and once more over what the first round left */
	w.seed++;
	if (!test_state.failed_checks)
		exercise(path, mirror, &w, DRIVE_AIO_IO_URING);
	if (test_state.failed_checks)
		printf("  image options %s\n", opts);
	free(mirror);
}

TEST(v3_default)
{
	NEED_QEMU_IMG();
	create_and_exercise("compat=1.1", 64 * MiB, 65536, 400, false);
}

TEST(v2_default)
{
	NEED_QEMU_IMG();
	create_and_exercise("compat=0.10", 64 * MiB, 65536, 400, false);
}

TEST(cluster_sizes)
{
	NEED_QEMU_IMG();
	static const struct {
		unsigned size;
		uint64_t disk;
	} sizes[] = { { 512, 4 * MiB }, { 4096, 16 * MiB }, { 2 * 1024 * 1024, 64 * MiB } };
	for (int i = 0; i < 3 && !test_state.failed_checks; i++) {
		char opts[64];
		snprintf(opts, sizeof(opts), "cluster_size=%u", sizes[i].size);
		create_and_exercise(opts, sizes[i].disk, sizes[i].size, 250, true);
		snprintf(opts, sizeof(opts), "compat=0.10,cluster_size=%u", sizes[i].size);
		create_and_exercise(opts, sizes[i].disk, sizes[i].size, 150, true);
	}
}

/* refcount widths from 1 to 64 bits; with 512-byte clusters the refcount
 * table has to grow several times */
TEST(refcount_widths)
{
	NEED_QEMU_IMG();
	for (unsigned bits = 1; bits <= 64 && !test_state.failed_checks; bits *= 2) {
		char opts[64];
		snprintf(opts, sizeof(opts), "refcount_bits=%u", bits);
		create_and_exercise(opts, 16 * MiB, 65536, 150, true);
		snprintf(opts, sizeof(opts), "refcount_bits=%u,cluster_size=512", bits);
		create_and_exercise(opts, 8 * MiB, 512, 200, true);
	}
}

TEST(lazy_refcounts)
{
	NEED_QEMU_IMG();
	create_and_exercise("lazy_refcounts=on", 32 * MiB, 65536, 300, false);
	create_and_exercise("lazy_refcounts=on,cluster_size=4096,refcount_bits=8", 16 * MiB, 4096,
			    300, true);
}

TEST(preallocated_metadata)
{
	NEED_QEMU_IMG();
	create_and_exercise("preallocation=metadata", 16 * MiB, 65536, 200, true);
	create_and_exercise("preallocation=metadata,compat=0.10", 16 * MiB, 65536, 200, true);
}

/* An image left dirty under lazy refcounts (the writer died without
 * closing) has its refcounts rebuilt when opened; then it checks clean */
TEST(dirty_image_rebuilt)
{
	NEED_QEMU_IMG();
	const uint64_t size = 16 * MiB;
	const char *path = blk_test_path("dirty.qcow2");
	CHECK_EQ(blk_test_sh("qemu-img create -q -f qcow2 -o lazy_refcounts=on,cluster_size=4096 "
			     "'%s' %llu",
			     path, (unsigned long long)size),
		 0);
	uint8_t *mirror = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(mirror, 0, size);
	struct workload w = { .size = size, .cluster = 4096, .ops = 300, .seed = 21 };
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct drive_config cfg = qcow2_drive(path);
		struct blk *b;
		if (blk_open(&cfg, &b) < 0)
			_exit(1);
		random_ops(b, mirror, &w);
		int ret = blk_test_io(b, BLK_OP_FLUSH, 0, 0, NULL, 0);
		fflush(stdout);
		_exit(ret || test_state.failed_checks ? 1 : 0);	/* no blk_close */
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	uint8_t header[104];
	CHECK(read_file(path, header, sizeof(header)));
	CHECK(header[79] & 1);	/* the dirty bit */
	w.seed++;
	exercise(path, mirror, &w, DRIVE_AIO_THREADS);
	CHECK(read_file(path, header, sizeof(header)));
	CHECK(!(header[79] & 1));
	munmap(mirror, size);
}

/* A dirty image whose stored refcounts are wildly wrong (64-bit ones past
 * 2^63, a 1-bit one on a cluster nothing uses) is rebuilt to what QEMU
 * counts */
TEST(dirty_image_wild_refcounts)
{
	NEED_QEMU_IMG();
	static const char *const opts[] = { "refcount_bits=64", "refcount_bits=1" };
	for (int i = 0; i < 2 && !test_state.failed_checks; i++) {
		const char *p = blk_test_path("wild.qcow2");
		CHECK_EQ(blk_test_sh("qemu-img create -q -f qcow2 -o lazy_refcounts=on,%s '%s' 8M && "
				     "qemu-io -c 'write -P 9 0 1M' '%s' >/dev/null",
				     opts[i], p, p),
			 0);
		uint64_t rb = read_be(p, read_be(p, 48, 8), 8);
		CHECK(rb != 0);
		if (i == 0) {
			CHECK(patch_be(p, rb + 8, 1ull << 63, 8));	/* cluster 1 */
			CHECK(patch_be(p, rb + 8 * 40, ~0ull, 8));	/* a data cluster */
		} else {
			CHECK(patch_be(p, rb + 200, 0xff, 1));	/* unused clusters */
		}
		CHECK(patch_be(p, 79, 1, 1));	/* dirty */
		struct drive_config cfg = qcow2_drive(p);
		struct blk *b = NULL;
		CHECK_EQ(blk_test_open(&cfg, &b), 0);
		if (!b)
			return;
		uint8_t buf[4096];
		CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 512 * 1024, buf, 4096), 0);
		CHECK_EQ(buf[0], 9);
		blk_close(b);
		CHECK_EQ(qemu_img_check(p), 0);
	}
}

/* ---- snapshots ---- */

TEST(snapshots_kept)
{
	NEED_QEMU_IMG();
	const uint64_t size = 32 * MiB;
	const char *path = blk_test_path("snap.qcow2");
	for (int v = 0; v < 2 && !test_state.failed_checks; v++) {
		CHECK_EQ(blk_test_sh("qemu-img create -q -f qcow2 -o compat=%s '%s' %llu",
				     v ? "0.10" : "1.1", path, (unsigned long long)size),
			 0);
		uint8_t *mirror = calloc(1, size), *first = malloc(size), *second = malloc(size);
		struct workload w = { .size = size, .cluster = 65536, .ops = 300, .seed = 11 + v };
		exercise(path, mirror, &w, DRIVE_AIO_THREADS);
		memcpy(first, mirror, size);
		CHECK_EQ(blk_test_sh("qemu-img snapshot -c one '%s'", path), 0);
		w.seed += 100;
		exercise(path, mirror, &w, DRIVE_AIO_THREADS);
		memcpy(second, mirror, size);
		CHECK_EQ(blk_test_sh("qemu-img snapshot -c two '%s'", path), 0);
		w.seed += 100;
		exercise(path, mirror, &w, DRIVE_AIO_IO_URING);
		/* each snapshot still reads what it held */
		const char *copy = blk_test_path("snapcopy.qcow2");
		CHECK_EQ(blk_test_sh("cp '%s' '%s' && qemu-img snapshot -a one '%s'", path, copy,
				     copy),
			 0);
		CHECK(image_equals(copy, first, size));
		CHECK_EQ(blk_test_sh("cp '%s' '%s' && qemu-img snapshot -a two '%s'", path, copy,
				     copy),
			 0);
		CHECK(image_equals(copy, second, size));
		/* deleting one leaves the image consistent for us to go on */
		CHECK_EQ(blk_test_sh("qemu-img snapshot -d one '%s'", path), 0);
		w.seed += 100;
		exercise(path, mirror, &w, DRIVE_AIO_THREADS);
		free(mirror);
		free(first);
		free(second);
	}
}

/* ---- compressed images ---- */

static uint8_t *compressible(uint64_t size)
{
	uint8_t *buf = calloc(1, size);
	uint64_t seed = 99;
	for (uint64_t off = 0; off < size; off += 65536) {
		unsigned kind = (unsigned)(blk_test_rand(&seed) % 4);
		if (kind == 0)
			continue;	/* zero */
		if (kind == 1)
			memset(buf + off, (int)(off >> 16), 65536);	/* very compressible */
		else
			blk_test_pattern(buf + off, 65536, off, kind);
	}
	return buf;
}

TEST(compressed_zlib_zstd)
{
	NEED_QEMU_IMG();
	const uint64_t size = 16 * MiB;
	static const char *const types[] = { "zlib", "zstd" };
	for (int t = 0; t < 2 && !test_state.failed_checks; t++) {
		for (int cl = 0; cl < 2; cl++) {
			unsigned cluster = cl ? 4096 : 65536;
			uint8_t *mirror = compressible(size);
			const char *raw = blk_test_path("plain.raw");
			const char *path = blk_test_path("comp.qcow2");
			CHECK(write_file(raw, mirror, size));
			CHECK_EQ(blk_test_sh("qemu-img convert -c -f raw -O qcow2 -o "
					     "compression_type=%s,cluster_size=%u '%s' '%s'",
					     types[t], cluster, raw, path),
				 0);
			struct workload w = { .size = size, .cluster = cluster, .ops = 300,
					      .seed = 5 + t, .unsafe = true };
			exercise(path, mirror, &w, DRIVE_AIO_THREADS);
			free(mirror);
		}
	}
}

/* ---- backing files ---- */

static uint64_t file_checksum(const char *path)
{
	char out[128];
	if (blk_test_sh_out(out, sizeof(out), "sha256sum '%s'", path) != 0)
		return 0;
	return strtoull(out, NULL, 16);
}

TEST(backing_chain)
{
	NEED_QEMU_IMG();
	const uint64_t size = 32 * MiB, base_size = 24 * MiB;
	for (int v = 0; v < 2 && !test_state.failed_checks; v++) {
		const char *compat = v ? "0.10" : "1.1";
		/* raw base, shorter than the disk: the rest reads as zeroes */
		uint8_t *mirror = calloc(1, size);
		blk_test_pattern(mirror, base_size, 0, 1);
		CHECK(write_file(blk_test_path("base.raw"), mirror, base_size));
		/* qcow2 middle with data of its own, written by qemu-io */
		CHECK_EQ(blk_test_sh("cd '%s' && qemu-img create -q -f qcow2 -o compat=%s -b "
				     "base.raw -F raw mid.qcow2 %llu && qemu-io -c 'write -P 0x5a 1M "
				     "3M' -c 'write -z 8M 1M' -c 'write -P 0x33 30M 1M' mid.qcow2",
				     blk_test_path(""), compat, (unsigned long long)size),
			 0);
		memset(mirror + MiB, 0x5a, 3 * MiB);
		memset(mirror + 8 * MiB, 0, MiB);
		memset(mirror + 30 * MiB, 0x33, MiB);
		/* top: the backing file named relative to the image, its format given */
		CHECK_EQ(blk_test_sh("cd '%s' && qemu-img create -q -f qcow2 -o compat=%s -b "
				     "mid.qcow2 -F qcow2 top.qcow2 %llu",
				     blk_test_path(""), compat, (unsigned long long)size),
			 0);
		uint64_t base_sum = file_checksum(blk_test_path("base.raw"));
		uint64_t mid_sum = file_checksum(blk_test_path("mid.qcow2"));
		struct workload w = { .size = size, .cluster = 65536, .ops = 400, .seed = 77 + v,
				      .no_zero_discard = v == 1 };
		exercise(blk_test_path("top.qcow2"), mirror, &w, DRIVE_AIO_THREADS);
		w.seed++;
		exercise(blk_test_path("top.qcow2"), mirror, &w, DRIVE_AIO_IO_URING);
		/* backing files are opened read-only and never written */
		CHECK_EQ(file_checksum(blk_test_path("base.raw")), base_sum);
		CHECK_EQ(file_checksum(blk_test_path("mid.qcow2")), mid_sum);
		CHECK_EQ(qemu_img_check(blk_test_path("mid.qcow2")), 0);
		free(mirror);
	}
}

/* A backing file without a format is probed; one that is qcow2 is opened as such */
TEST(backing_probed)
{
	NEED_QEMU_IMG();
	const uint64_t size = 8 * MiB;
	CHECK_EQ(blk_test_sh("cd '%s' && qemu-img create -q -f qcow2 b.qcow2 8M && qemu-io -c "
			     "'write -P 0x11 0 1M' b.qcow2 && qemu-img create -q -f qcow2 -b "
			     "b.qcow2 -F qcow2 t.qcow2 && qemu-img amend -q -f qcow2 -o "
			     "backing_fmt= t.qcow2 2>/dev/null; true",
			     blk_test_path("")),
		 0);
	/* rewrite the top without a backing format (qemu-img rebase -u keeps none) */
	CHECK_EQ(blk_test_sh("cd '%s' && qemu-img rebase -q -u -b b.qcow2 t.qcow2 2>&1 | grep -v "
			     "WARNING; true",
			     blk_test_path("")),
		 0);
	uint8_t *mirror = calloc(1, size);
	memset(mirror, 0x11, MiB);
	struct workload w = { .size = size, .cluster = 65536, .ops = 100, .seed = 3 };
	exercise(blk_test_path("t.qcow2"), mirror, &w, DRIVE_AIO_THREADS);
	free(mirror);
}

/* ---- several threads at once, into the same clusters ---- */

struct writer {
	struct blk *b;
	uint8_t *mirror;
	unsigned index, nthreads;
	uint64_t size;
	int failures;
};

static void *writer_thread(void *opaque)
{
	struct writer *w = opaque;
	uint64_t seed = 1000 + w->index;
	uint8_t buf[4096];
	for (int i = 0; i < 300; i++) {
		/* 4 KiB blocks; this thread owns every nthreads-th one, so
		 * threads share clusters but never bytes */
		uint64_t block = blk_test_rand(&seed) % (w->size / 4096 / w->nthreads) * w->nthreads +
				 w->index;
		uint64_t off = block * 4096;
		blk_test_pattern(buf, sizeof(buf), off, seed);
		if (blk_test_io(w->b, BLK_OP_WRITE, 0, off, buf, sizeof(buf)) != 0)
			w->failures++;
		memcpy(w->mirror + off, buf, sizeof(buf));
		if (i % 50 == 0 && blk_test_io(w->b, BLK_OP_FLUSH, 0, 0, NULL, 0) != 0)
			w->failures++;
	}
	return NULL;
}

TEST(concurrent_writers)
{
	NEED_QEMU_IMG();
	const uint64_t size = 8 * MiB;
	const char *path = blk_test_path("conc.qcow2");
	for (int round = 0; round < 2 && !test_state.failed_checks; round++) {
		CHECK_EQ(blk_test_sh("cd '%s' && qemu-img create -q -f raw base.raw 8M && qemu-io "
				     "-f raw -c 'write -P 0x77 0 8M' base.raw >/dev/null && "
				     "qemu-img create -q -f qcow2 -b base.raw -F raw conc.qcow2",
				     blk_test_path("")),
			 0);
		uint8_t *mirror = malloc(size);
		memset(mirror, 0x77, size);
		struct drive_config cfg = qcow2_drive(path);
		cfg.aio = round ? DRIVE_AIO_IO_URING : DRIVE_AIO_THREADS;
		struct blk *b;
		CHECK_EQ(blk_test_open(&cfg, &b), 0);
		if (!b)
			return;
		struct writer w[4];
		pthread_t t[4];
		for (unsigned i = 0; i < 4; i++) {
			w[i] = (struct writer){ .b = b, .mirror = mirror, .index = i, .nthreads = 4,
						.size = size };
			pthread_create(&t[i], NULL, writer_thread, &w[i]);
		}
		for (unsigned i = 0; i < 4; i++) {
			pthread_join(t[i], NULL);
			CHECK_EQ(w[i].failures, 0);
		}
		CHECK(blk_equals(b, mirror, size));
		blk_close(b);
		CHECK_EQ(qemu_img_check(path), 0);
		CHECK(image_equals(path, mirror, size));
		free(mirror);
	}
}

/* A read started from the submitting thread holds the clusters it
 * reaches: giving a discarded one back waits until the read has ended,
 * and no new read starts that way meanwhile.  White-box: the node's start
 * is called directly and the read left in flight (never handed to the
 * engine) until the test ends it. */
struct freeing_flush {
	struct bnode *n;
	atomic_bool done;
	int ret;
};

static void *discard_and_flush(void *arg)
{
	struct freeing_flush *f = arg;
	f->ret = f->n->ops->discard(f->n, 0, 65536);
	if (f->ret == 0)
		f->ret = f->n->ops->flush(f->n);
	atomic_store(&f->done, true);
	return NULL;
}

TEST(started_read_holds_clusters)
{
	NEED_QEMU_IMG();
	const char *path = blk_test_path("held.qcow2");
	CHECK_EQ(blk_test_sh("qemu-img create -q -f qcow2 '%s' 16M", path), 0);
	struct blk_ctx ctx = { 0 };
	CHECK_EQ(blk_pool_init(&ctx.pool, 2), 0);
	CHECK_EQ(blk_engine_threads_new(&ctx.pool, &ctx.engine), 0);
	bounce_pool_init(&ctx.bounce);
	struct bnode *n = NULL;
	CHECK_EQ(bnode_open_image(&ctx, path, DRIVE_FORMAT_QCOW2, false, 0, NULL, &n), 0);
	if (!n)
		return;
	static uint8_t data[65536], back[65536];
	memset(data, 0xaa, sizeof(data));
	struct iovec wiov = { data, sizeof(data) }, riov = { back, sizeof(back) };
	CHECK_EQ(n->ops->write(n, 0, &wiov, 1, 0), 0);
	CHECK_EQ(n->ops->flush(n), 0);

	struct blk_request req = { .op = BLK_OP_READ, .offset = 0, .iov = &riov, .iovcnt = 1 };
	struct blk_io io = { .req = &req, .op = BLK_OP_READ, .offset = 0, .len = sizeof(back) };
	struct blk_aio *batch = NULL;
	CHECK(n->ops->start(n, &io, &batch));
	CHECK(batch != NULL);
	CHECK(io.release != NULL);

	struct freeing_flush f = { .n = n };
	pthread_t t;
	pthread_create(&t, NULL, discard_and_flush, &f);
	usleep(100 * 1000);
	CHECK(!atomic_load(&f.done));	/* waiting for the read */
	/* a read started now would reach a cluster on its way out */
	struct blk_io io2 = io;
	io2.release = NULL;
	struct blk_aio *batch2 = NULL;
	CHECK(!n->ops->start(n, &io2, &batch2));
	io.release(&io);	/* the read ends */
	pthread_join(t, NULL);
	CHECK(atomic_load(&f.done));
	CHECK_EQ(f.ret, 0);
	/* discarded: zeroes now, through the pool's path */
	CHECK_EQ(n->ops->read(n, 0, &riov, 1), 0);
	CHECK(back[0] == 0 && !memcmp(back, back + 1, sizeof(back) - 1));
	bnode_close(n);
	ctx.engine->ops->destroy(ctx.engine);
	blk_pool_destroy(&ctx.pool);
	bounce_pool_destroy(&ctx.bounce);
	CHECK_EQ(qemu_img_check(path), 0);
}

/* ---- far beyond 4 GiB ---- */

/* Writes at offsets past 4 GiB (and past 2^32 sectors) land where they
 * belong: 64 KiB clusters on a 4 TiB disk, 512-byte clusters on a 16 GiB
 * one (a 4 MiB L1 table); compared with a sparse raw file that took the
 * same writes */
TEST(large_virtual_size)
{
	NEED_QEMU_IMG();
	static const struct {
		const char *opts;
		uint64_t size;
	} cases[] = { { "cluster_size=65536", 4ull << 40 }, { "cluster_size=512", 16ull << 30 },
		      { "cluster_size=2M,compat=0.10", 4ull << 40 } };
	const char *path = blk_test_path("large.qcow2"), *ref = blk_test_path("large.raw");
	uint8_t *buf = malloc(MiB), *back = malloc(MiB);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]) && !test_state.failed_checks; c++) {
		uint64_t size = cases[c].size;
		CHECK_EQ(blk_test_sh("qemu-img create -q -f qcow2 -o %s '%s' %llu && rm -f '%s' && "
				     "truncate -s %llu '%s'",
				     cases[c].opts, path, (unsigned long long)size, ref,
				     (unsigned long long)size, ref),
			 0);
		int rfd = open(ref, O_WRONLY);
		struct drive_config cfg = qcow2_drive(path);
		struct blk *b = NULL;
		CHECK_EQ(blk_test_open(&cfg, &b), 0);
		if (!b || rfd < 0)
			break;
		CHECK_EQ(blk_size(b), size);
		uint64_t seed = 31 + c;
		uint64_t offsets[12] = { (4ull << 30) - 4096, 4ull << 30, (2ull << 40) % size,
					 size - MiB, size - 512 };
		for (int i = 5; i < 12; i++)
			offsets[i] = blk_test_rand(&seed) % (size / 512 - 2048) * 512;
		for (int i = 0; i < 12; i++) {
			uint64_t len = size - offsets[i] < MiB ? size - offsets[i] : 3 * 65536 + 1024;
			blk_test_pattern(buf, len, offsets[i], 40 + (uint64_t)i);
			CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, offsets[i], buf, len), 0);
			CHECK(pwrite(rfd, buf, len, (off_t)offsets[i]) == (ssize_t)len);
		}
		for (int i = 0; i < 12; i++) {
			uint64_t len = size - offsets[i] < MiB ? size - offsets[i] : 3 * 65536 + 1024;
			int fd = open(ref, O_RDONLY);
			CHECK(fd >= 0 && pread(fd, buf, len, (off_t)offsets[i]) == (ssize_t)len);
			close(fd);
			CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, offsets[i], back, len), 0);
			CHECK(!memcmp(buf, back, len));
		}
		CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, size, buf, 512), -EINVAL);
		blk_close(b);
		close(rfd);
		CHECK_EQ(qemu_img_check(path), 0);
		CHECK_EQ(blk_test_sh("qemu-img compare -q -f qcow2 -F raw '%s' '%s'", path, ref), 0);
		if (test_state.failed_checks)
			printf("  image options %s\n", cases[c].opts);
	}
	free(buf);
	free(back);
}

/* ---- images that must be refused, with one line that says why ---- */

/* blk_open fails with exactly one line on stderr holding what and naming
 * the file named */
static bool refused_naming(const char *path, bool readonly, const char *what, const char *named)
{
	struct drive_config cfg = qcow2_drive(path);
	cfg.readonly = readonly;
	const char *log = blk_test_path("stderr.log");
	fflush(stderr);
	int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
	struct blk *b = NULL;
	int ret = blk_open(&cfg, &b);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char text[2048] = "";
	int f = open(log, O_RDONLY);
	ssize_t n = f >= 0 ? read(f, text, sizeof(text) - 1) : 0;
	if (f >= 0)
		close(f);
	text[n > 0 ? n : 0] = 0;
	int lines = 0;
	for (char *p = text; *p; p++)
		lines += *p == '\n';
	if (ret < 0 && lines == 1 && strstr(text, what) && strstr(text, named))
		return true;
	if (b)
		blk_close(b);
	printf("  %s: open returned %d, expected one line with '%s', got: %s\n", path, ret, what,
	       text);
	return false;
}

static bool refused(const char *path, bool readonly, const char *what)
{
	return refused_naming(path, readonly, what, path);
}

/* A small image with data, made by qemu-img once per set of options and
 * copied for each case */
static const char *fresh_image(const char *opts)
{
	static char made[64] = "-";
	const char *tmpl = blk_test_path("template.qcow2"), *path = blk_test_path("bad.qcow2");
	if (strcmp(made, opts)) {
		if (blk_test_sh("qemu-img create -q -f qcow2 %s%s '%s' 8M && qemu-io -c 'write -P 1 "
				"0 128k' '%s' >/dev/null",
				opts[0] ? "-o " : "", opts, tmpl, tmpl) != 0)
			return NULL;
		snprintf(made, sizeof(made), "%s", opts);
	}
	return blk_test_sh("cp '%s' '%s'", tmpl, path) == 0 ? path : NULL;
}

TEST(refuses_features)
{
	NEED_QEMU_IMG();
	const char *p;
	/* qemu-img times its PBKDF with the thread's CPU clock and gives up
	 * ("Unable to get accurate CPU usage") when a round reads 0 ms, which
	 * a coarse clock does now and then: a few tries */
	int made = -1;
	for (int i = 0; i < 5 && made != 0; i++)
		made = blk_test_sh("qemu-img create -q -f qcow2 --object secret,id=s0,data=pw -o "
				   "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10 "
				   "'%s' 8M",
				   blk_test_path("luks.qcow2"));
	CHECK_EQ(made, 0);
	CHECK(refused(blk_test_path("luks.qcow2"), false, "encrypted images (LUKS)"));
	CHECK(refused(blk_test_path("luks.qcow2"), true, "encrypted images (LUKS)"));
	p = fresh_image("");
	CHECK(patch_be(p, 32, 1, 4));	/* crypt_method AES */
	CHECK(refused(p, false, "encrypted images (AES)"));

	CHECK_EQ(blk_test_sh("qemu-img create -q -f qcow2 -o data_file='%s' '%s' 8M",
			     blk_test_path("data.raw"), blk_test_path("ext.qcow2")),
		 0);
	CHECK(refused(blk_test_path("ext.qcow2"), false, "external data file"));

	CHECK_EQ(blk_test_sh("qemu-img create -q -f qcow2 -o extended_l2=on '%s' 8M",
			     blk_test_path("extl2.qcow2")),
		 0);
	CHECK(refused(blk_test_path("extl2.qcow2"), false, "extended L2 entries"));

	p = fresh_image("");
	CHECK(patch_be(p, 72, 1ull << 10, 8));
	CHECK(refused(p, true, "incompatible feature bit 10"));
	/* a bit the image's feature table names is called by that name */
	p = fresh_image("");
	CHECK(patch_be(p, 72, 1ull << 4, 8));
	CHECK(refused(p, false, "'extended L2 entries'"));

	/* the corrupt bit: read-only works, read-write does not */
	p = fresh_image("");
	CHECK(patch_be(p, 72, 2, 8));
	CHECK(refused(p, false, "marked corrupt"));
	struct drive_config cfg = qcow2_drive(p);
	cfg.readonly = true;
	struct blk *b = NULL;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (b) {
		uint8_t buf[512];
		CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 0, buf, 512), 0);
		CHECK_EQ(buf[0], 1);
		CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, 0, buf, 512), -EROFS);
		blk_close(b);
	}

	p = fresh_image("compat=1.1");
	CHECK(patch_be(p, 104, 2, 1));	/* compression type 2 */
	CHECK(patch_be(p, 72, 1ull << 3, 8));
	CHECK(refused(p, false, "unsupported compression type 2"));
	p = fresh_image("compat=1.1");
	CHECK(patch_be(p, 104, 1, 1));	/* zstd without the feature bit */
	CHECK(refused(p, false, "does not match"));
}

TEST(refuses_bad_headers)
{
	NEED_QEMU_IMG();
	const char *p;
	static const struct {
		unsigned offset, bytes;
		uint64_t value;
		const char *what;
	} cases[] = {
		{ 4, 4, 1, "version 1 is not supported" },
		{ 4, 4, 4, "version 4 is not supported" },
		{ 20, 4, 8, "cluster_bits 8 is out of range" },
		{ 20, 4, 22, "cluster_bits 22 is out of range" },
		{ 96, 4, 7, "refcount_order 7 is out of range" },
		{ 100, 4, 100, "header_length 100 is invalid" },
		{ 100, 4, 1u << 20, "is invalid" },
		{ 40, 8, 1ull << 40, "L1 table" },	/* past EOF */
		{ 40, 8, 0x10200, "not cluster aligned" },
		{ 36, 4, 0, "too small" },
		{ 36, 4, 1u << 30, "too large" },
		{ 24, 8, 1ull << 62, "too small" },	/* huge disk, small L1 */
		{ 24, 8, 1ull << 63, "too large" },
		{ 48, 8, 1ull << 41, "refcount table" },
		{ 56, 4, 0, "refcount table of 0 clusters" },
		{ 56, 4, 1u << 20, "is invalid" },
		{ 8, 8, 70000, "backing file name" },
		{ 16, 4, 2000, "backing file name" },
		{ 60, 4, 5, "snapshot" },	/* offset 0: the header read as snapshots */
		{ 60, 4, 100000, "snapshots are too many" },
		{ 0, 4, 0x51464900, "not a qcow2 image" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = fresh_image("");
		if (cases[i].offset == 8)	/* a name offset needs a length */
			CHECK(patch_be(p, 16, 10, 4));
		if (cases[i].offset == 16)	/* and a length an offset */
			CHECK(patch_be(p, 8, 512, 8));
		CHECK(patch_be(p, cases[i].offset, cases[i].value, cases[i].bytes));
		if (!refused(p, false, cases[i].what))
			printf("  case %zu\n", i);
		CHECK(refused(p, true, cases[i].what));
	}

	/* overlapping tables: the L1 table where the refcount table is */
	p = fresh_image("");
	CHECK(patch_be(p, 40, read_be(p, 48, 8), 8));
	CHECK(refused(p, false, "overlaps"));
	/* a refcount table entry that is not aligned */
	p = fresh_image("");
	CHECK(patch_be(p, read_be(p, 48, 8), 0x10001, 8));
	CHECK(refused(p, false, "refcount table entry 0"));
	/* a file too short for a header */
	CHECK(blk_test_sh("head -c 50 '%s' > '%s'", p, blk_test_path("short.qcow2")) == 0);
	CHECK(refused(blk_test_path("short.qcow2"), false, "not a qcow2 image"));
	/* a raw file named as qcow2 */
	CHECK(blk_test_sh("head -c 1M /dev/zero > '%s'", blk_test_path("zero.raw")) == 0);
	CHECK(refused(blk_test_path("zero.raw"), false, "not a qcow2 image"));
}

TEST(refuses_backing)
{
	NEED_QEMU_IMG();
	const char *dir = blk_test_path("");
	/* a missing backing file */
	CHECK_EQ(blk_test_sh("cd '%s' && qemu-img create -q -f raw gone.raw 8M && qemu-img "
			     "create -q -f qcow2 -b gone.raw -F raw orphan.qcow2 && rm gone.raw",
			     dir),
		 0);
	CHECK(refused_naming(blk_test_path("orphan.qcow2"), false, "No such file",
			     blk_test_path("gone.raw")));
	/* a backing format minivmm does not read */
	CHECK_EQ(blk_test_sh("cd '%s' && qemu-img create -q -f raw b.raw 8M && qemu-img create "
			     "-q -f qcow2 -b b.raw -F raw fmt.qcow2",
			     dir),
		 0);
	const char *p = blk_test_path("fmt.qcow2");
	uint8_t h[4096];
	CHECK(read_file(p, h, sizeof(h)));
	uint8_t *raw = memmem(h + 104, sizeof(h) - 104, "raw", 3);
	CHECK(raw != NULL);
	if (raw)
		CHECK(patch(p, (uint64_t)(raw - h), "vdi", 3));
	CHECK(refused(p, false, "backing file format 'vdi' is not supported"));
	/* a loop: a backed by b backed by a */
	CHECK_EQ(blk_test_sh("cd '%s' && qemu-img create -q -f qcow2 la.qcow2 8M && qemu-img "
			     "create -q -f qcow2 -b la.qcow2 -F qcow2 lb.qcow2 && qemu-img "
			     "rebase -q -u -f qcow2 -b lb.qcow2 -F qcow2 la.qcow2",
			     dir),
		 0);
	CHECK(refused_naming(blk_test_path("la.qcow2"), false, "deeper than", "qcow2"));
}

/* Broken metadata met while running: the request fails, nothing crashes,
 * and the image is marked corrupt as QEMU would */
TEST(corrupt_at_runtime)
{
	NEED_QEMU_IMG();
	const char *p = fresh_image("");
	uint64_t l2 = read_be(p, read_be(p, 40, 8), 8) & 0x00fffffffffffe00ull;
	CHECK(l2 != 0);
	CHECK(patch_be(p, l2, (1ull << 63) | 0x50000 | 2, 8));	/* reserved bit 1 */
	struct drive_config cfg = qcow2_drive(p);
	struct blk *b = NULL;
	fflush(stderr);
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	uint8_t buf[4096] = { 0 };
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 0, buf, 4096), -EIO);
	CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, 1 * MiB, buf, 4096), -EIO);
	CHECK_EQ(blk_test_io(b, BLK_OP_FLUSH, 0, 0, NULL, 0), 0);
	blk_close(b);
	CHECK(read_be(p, 72, 8) & 2);	/* the corrupt bit */
}

/* Autoclear bits we do not keep up are cleared by the first read-write
 * open (as the spec asks), and left alone by a read-only one */
TEST(autoclear_cleared)
{
	NEED_QEMU_IMG();
	const char *p = fresh_image("");
	CHECK(patch_be(p, 88, 0x24, 8));
	struct drive_config cfg = qcow2_drive(p);
	cfg.readonly = true;
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	blk_close(b);
	CHECK_EQ(read_be(p, 88, 8), 0x24);
	cfg.readonly = false;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	uint8_t buf[512];
	CHECK_EQ(blk_test_io(b, BLK_OP_READ, 0, 0, buf, 512), 0);
	CHECK_EQ(buf[0], 1);
	blk_close(b);
	CHECK_EQ(read_be(p, 88, 8), 0);
	CHECK_EQ(qemu_img_check(p), 0);
}

/* 512-byte clusters with 64-bit refcounts: a refcount block covers 64
 * clusters and the table one cluster 64 blocks, so writing 6 MiB makes
 * the table move and grow several times */
TEST(refcount_table_grows)
{
	NEED_QEMU_IMG();
	const uint64_t size = 8 * MiB;
	const char *p = blk_test_path("grow.qcow2");
	CHECK_EQ(blk_test_sh("qemu-img create -q -f qcow2 -o cluster_size=512,refcount_bits=64 "
			     "'%s' %llu",
			     p, (unsigned long long)size),
		 0);
	CHECK_EQ(read_be(p, 56, 4), 1);
	uint8_t *mirror = calloc(1, size), *buf = malloc(MiB);
	struct drive_config cfg = qcow2_drive(p);
	struct blk *b;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	for (uint64_t off = 0; b && off < 6 * MiB; off += MiB) {
		blk_test_pattern(buf, MiB, off, 4);
		CHECK_EQ(blk_test_io(b, BLK_OP_WRITE, 0, off, buf, MiB), 0);
		memcpy(mirror + off, buf, MiB);
	}
	blk_close(b);
	CHECK(read_be(p, 56, 4) > 1);
	CHECK_EQ(qemu_img_check(p), 0);
	CHECK(image_equals(p, mirror, size));
	free(mirror);
	free(buf);
}

/* cache=none: guest-like buffers (4 KiB pages, none adjacent) in the
 * clusters' data and in what allocating writes copy on write */
TEST(direct_scattered)
{
	NEED_QEMU_IMG();
	const uint64_t size = 16 * MiB, piece = 4096;
	const unsigned npieces = 64;
	const char *path = blk_test_path("direct.qcow2");
	CHECK_EQ(blk_test_sh("qemu-img create -q -f qcow2 '%s' %llu", path,
			     (unsigned long long)size),
		 0);
	struct drive_config cfg = qcow2_drive(path);
	cfg.direct = true;
	cfg.cache = DRIVE_CACHE_NONE;
	cfg.aio = DRIVE_AIO_IO_URING;
	struct blk *b = NULL;
	CHECK_EQ(blk_test_open(&cfg, &b), 0);
	if (!b)
		return;
	uint8_t *mirror = calloc(1, size), *mem = aligned_alloc(piece, 2 * npieces * piece);
	struct iovec iov[64];
	for (unsigned i = 0; i < npieces; i++)
		iov[i] = (struct iovec){ mem + 2 * (npieces - 1 - i) * piece, piece };
	/* whole clusters, and ranges straddling them (from 12 KiB in) */
	static const uint64_t offs[] = { 0, 3 * MiB + 12288, 7 * MiB, 3 * MiB + 12288 - 65536 };
	for (unsigned k = 0; k < 4; k++) {
		for (unsigned i = 0; i < npieces; i++) {
			blk_test_pattern(iov[i].iov_base, piece, offs[k] + i * piece, k + 1);
			memcpy(mirror + offs[k] + i * piece, iov[i].iov_base, piece);
		}
		CHECK_EQ(blk_test_iov(b, BLK_OP_WRITE, 0, offs[k], iov, npieces), 0);
	}
	for (unsigned k = 0; k < 4; k++) {
		memset(mem, 0xee, 2 * npieces * piece);
		CHECK_EQ(blk_test_iov(b, BLK_OP_READ, 0, offs[k], iov, npieces), 0);
		for (unsigned i = 0; i < npieces; i++)
			CHECK(!memcmp(iov[i].iov_base, mirror + offs[k] + i * piece, piece));
	}
	blk_close(b);
	CHECK_EQ(qemu_img_check(path), 0);
	CHECK(image_equals(path, mirror, size));
	free(mem);
	free(mirror);
}

RUN_TESTS(T(v3_default), T(v2_default), T(cluster_sizes), T(refcount_widths), T(lazy_refcounts),
	  T(preallocated_metadata), T(dirty_image_rebuilt), T(dirty_image_wild_refcounts), T(snapshots_kept),
	  T(compressed_zlib_zstd), T(backing_chain), T(backing_probed), T(concurrent_writers),
	  T(large_virtual_size),
	  T(refuses_features), T(refuses_bad_headers), T(refuses_backing), T(corrupt_at_runtime),
	  T(autoclear_cleared), T(refcount_table_grows), T(direct_scattered), T(started_read_holds_clusters))
