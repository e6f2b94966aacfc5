/* qcow2 images, versions 2 and 3: the header and its extensions checked
 * field by field (anything that could send an offset outside the file or
 * make tables overlap is refused), the features minivmm does not handle
 * refused by name, the backing file opened, a dirty image's refcounts
 * rebuilt; and closing, which leaves the image clean. */
#include "qcow2.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define QCOW2_MAX_SNAPSHOT_EXTRA 1024
#define QCOW2_MAX_SNAPSHOTS_BYTES (64u << 20)
#define QCOW2_FEATURE_NAME_LEN 46
/* cache sizes: bytes of tables, and how many at least and at most */
#define QCOW2_L2_CACHE_BYTES (4u << 20)
#define QCOW2_RB_CACHE_BYTES (1u << 20)

static const char *const incompat_names[] = {
	"the dirty bit", "the corrupt bit", "an external data file", "a compression type",
	"extended L2 entries (subclusters)",
};

bool qcow2_probe(const uint8_t *buf, size_t len)
{
	return len >= 4 && be32_at(buf) == QCOW2_MAGIC;
}

/* One line naming the image; the errno to return */
__attribute__((format(printf, 3, 4))) static int refuse(struct qcow2 *s, int err,
							const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s: %s", s->n.name, msg);
	return err;
}

static void qcow2_free_state(struct qcow2 *s)
{
	while (s->frees) {
		struct qcow2_free *f = s->frees;
		s->frees = f->next;
		free(f);
	}
	while (s->frees_ready) {
		struct qcow2_free *f = s->frees_ready;
		s->frees_ready = f->next;
		free(f);
	}
	qcow2_cache_destroy(&s->l2_cache);
	qcow2_cache_destroy(&s->rb_cache);
	bnode_close(s->backing);
	bnode_close(s->file);
	free(s->backing_path);
	free(s->snapshots);
	free(s->reftable);
	free(s->l1);
	free(s->dc_buf);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->dc_lock);
	pthread_rwlock_destroy(&s->free_lock);
	pthread_cond_destroy(&s->alloc_done);
	pthread_cond_destroy(&s->async_idle);
	free(s);
}

/* ---- the header ---- */

struct qcow2_header_ext {
	uint64_t backing_offset;
	uint32_t backing_size;
	char backing_fmt[16];
	const uint8_t *features;	/* the feature name table, if any */
	uint32_t features_len;
};

/* "the dirty bit", or the feature table's name, or "bit N" */
static void incompat_name(const struct qcow2_header_ext *ext, unsigned bit, char *out, size_t size)
{
	for (uint32_t i = 0; ext->features && i + 48 <= ext->features_len; i += 48) {
		const uint8_t *f = ext->features + i;
		if (f[0] == 0 && f[1] == bit) {
			snprintf(out, size, "'%.*s'", (int)strnlen((const char *)f + 2, 46),
				 (const char *)f + 2);
			return;
		}
	}
	if (bit < sizeof(incompat_names) / sizeof(incompat_names[0]))
		snprintf(out, size, "%s", incompat_names[bit]);
	else
		snprintf(out, size, "incompatible feature bit %u", bit);
}

/* Extensions from the end of the header to the backing file name (or the
 * end of the first cluster).  Unknown ones are left as they are. */
static int parse_extensions(struct qcow2 *s, const uint8_t *h, uint64_t limit,
			    struct qcow2_header_ext *ext)
{
	uint64_t off = s->header_length;
	while (off + 8 <= limit) {
		uint32_t type = be32_at(h + off), len = be32_at(h + off + 4);
		if (type == QCOW2_EXT_END)
			break;
		if (len > limit - off - 8)
			return refuse(s, -EINVAL, "header extension %#x runs past the header area",
				      type);
		const uint8_t *data = h + off + 8;
		if (type == QCOW2_EXT_BACKING_FORMAT) {
			if (len >= sizeof(ext->backing_fmt))
				return refuse(s, -EINVAL, "backing file format name is too long");
			memcpy(ext->backing_fmt, data, len);
			ext->backing_fmt[len] = 0;
		} else if (type == QCOW2_EXT_FEATURE_TABLE) {
			ext->features = data;
			ext->features_len = len;
		}
		off += 8 + ((uint64_t)len + 7) / 8 * 8;
	}
	return 0;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static int check_table(struct qcow2 *s, const char *what, uint64_t offset, uint64_t bytes)
{
	if (offset & (s->cluster_size - 1))
		return refuse(s, -EINVAL, "%s offset %#llx is not cluster aligned", what,
			      (unsigned long long)offset);
	if (offset > s->file->size || bytes > s->file->size - offset)
		return refuse(s, -EINVAL, "%s (%#llx, %llu bytes) lies past the end of the file",
			      what, (unsigned long long)offset, (unsigned long long)bytes);
	return 0;
}

static int parse_header(struct qcow2 *s, const uint8_t *h, uint64_t *size,
			struct qcow2_header_ext *ext)
{
	uint64_t cs = s->cluster_size;
	s->header_length = QCOW2_V2_HEADER_LEN;
	s->refcount_order = 4;
	if (s->version >= 3) {
		s->incompat = be64_at(h + QH_INCOMPAT);
		s->compat = be64_at(h + QH_COMPAT);
		s->autoclear = be64_at(h + QH_AUTOCLEAR);
		s->refcount_order = be32_at(h + QH_REFCOUNT_ORDER);
		s->header_length = be32_at(h + QH_HEADER_LENGTH);
		if (s->header_length < QCOW2_V3_HEADER_LEN || s->header_length % 8 ||
		    s->header_length > cs)
			return refuse(s, -EINVAL, "header_length %u is invalid", s->header_length);
		if (s->header_length > QH_COMPRESSION_TYPE)
			s->compression_type = h[QH_COMPRESSION_TYPE];
	}
	if (s->refcount_order > 6)
		return refuse(s, -EINVAL, "refcount_order %u is out of range (0..6)",
			      s->refcount_order);

	ext->backing_offset = be64_at(h + QH_BACKING_OFFSET);
	ext->backing_size = be32_at(h + QH_BACKING_SIZE);
	uint64_t ext_limit = cs;
	if (ext->backing_offset) {
		if (ext->backing_offset > cs || ext->backing_size > QCOW2_MAX_BACKING_NAME ||
		    ext->backing_size > cs - ext->backing_offset || !ext->backing_size)
			return refuse(s, -EINVAL, "backing file name (%#llx, %u bytes) is invalid",
				      (unsigned long long)ext->backing_offset, ext->backing_size);
		ext_limit = ext->backing_offset;
	}
	int ret = parse_extensions(s, h, ext_limit, ext);
	if (ret < 0)
		return ret;

	/* what cannot be handled, by name */
	if (be32_at(h + QH_CRYPT_METHOD))
		return refuse(s, -ENOTSUP, "encrypted images (%s) are not supported",
			      be32_at(h + QH_CRYPT_METHOD) == 1 ? "AES" : "LUKS");
	uint64_t known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_COMPRESSION;
	for (unsigned bit = 0; bit < 64; bit++) {
		if (!(s->incompat & (1ull << bit)) || (known & (1ull << bit)))
			continue;
		char name[64];
		incompat_name(ext, bit, name, sizeof(name));
		return refuse(s, -ENOTSUP, "unsupported qcow2 feature: %s", name);
	}
	if ((s->incompat & QCOW2_INCOMPAT_CORRUPT) && !s->n.readonly)
		return refuse(s, -EINVAL, "the image is marked corrupt: it can only be opened "
					  "read-only ('qemu-img check -r all' may repair it)");
	if (s->compression_type > QCOW2_COMPRESSION_ZSTD)
		return refuse(s, -ENOTSUP, "unsupported compression type %u", s->compression_type);
	if (!!s->compression_type != !!(s->incompat & QCOW2_INCOMPAT_COMPRESSION))
		return refuse(s, -EINVAL, "compression type %u does not match the compression "
					  "type feature bit",
			      s->compression_type);

	*size = be64_at(h + QH_SIZE);
	s->l1_size = be32_at(h + QH_L1_SIZE);
	s->l1_offset = be64_at(h + QH_L1_OFFSET);
	s->reftable_offset = be64_at(h + QH_REFTABLE_OFFSET);
	s->reftable_clusters = be32_at(h + QH_REFTABLE_CLUSTERS);
	s->nb_snapshots = be32_at(h + QH_NB_SNAPSHOTS);
	s->snapshots_offset = be64_at(h + QH_SNAPSHOTS_OFFSET);

	if (*size > INT64_MAX)
		return refuse(s, -EINVAL, "virtual size %llu is too large",
			      (unsigned long long)*size);
	/* what one L1 table can map, in clusters */
	uint64_t clusters = (*size + cs - 1) >> s->cluster_bits;
	uint64_t needed = (clusters + s->l2_entries - 1) >> s->l2_bits;
	if ((uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return refuse(s, -EINVAL, "L1 table of %u entries is too large", s->l1_size);
	if (s->l1_size < needed)
		return refuse(s, -EINVAL, "L1 table of %u entries is too small for a %llu-byte "
					  "disk",
			      s->l1_size, (unsigned long long)*size);
	ret = check_table(s, "L1 table", s->l1_offset, (uint64_t)s->l1_size * 8);
	if (ret < 0)
		return ret;
	if (!s->reftable_clusters ||
	    (uint64_t)s->reftable_clusters * cs > QCOW2_MAX_REFTABLE_BYTES)
		return refuse(s, -EINVAL, "refcount table of %u clusters is invalid",
			      s->reftable_clusters);
	ret = check_table(s, "refcount table", s->reftable_offset,
			  (uint64_t)s->reftable_clusters * cs);
	if (ret < 0)
		return ret;
	if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
		return refuse(s, -EINVAL, "%u snapshots are too many", s->nb_snapshots);
	if (s->nb_snapshots)
		return check_table(s, "snapshot table", s->snapshots_offset, 0);
	return 0;
}

/* The snapshot table: each snapshot's L1 table, and the table's size */
static int load_snapshots(struct qcow2 *s)
{
	uint64_t off = s->snapshots_offset;
	if (!s->nb_snapshots)
		return 0;
	s->snapshots = calloc(s->nb_snapshots, sizeof(*s->snapshots));
	if (!s->snapshots)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		uint8_t e[40];
		/* entries start 8-byte aligned; the table ends with the last one */
		off = (off + 7) / 8 * 8;
		if (off + sizeof(e) > s->file->size)
			return refuse(s, -EINVAL, "snapshot table lies past the end of the file");
		int ret = bnode_pread(s->file, off, e, sizeof(e));
		if (ret < 0)
			return refuse(s, ret, "cannot read the snapshot table: %s", strerror(-ret));
		uint64_t l1_offset = be64_at(e);
		uint32_t l1_size = be32_at(e + 8), extra = be32_at(e + 36);
		uint64_t len = 40 + (uint64_t)extra + be16_at(e + 12) + be16_at(e + 14);
		if (extra > QCOW2_MAX_SNAPSHOT_EXTRA)
			return refuse(s, -EINVAL, "snapshot %u has too much extra data", i);
		if ((uint64_t)l1_size * 8 > QCOW2_MAX_L1_BYTES)
			return refuse(s, -EINVAL, "snapshot %u's L1 table is too large", i);
		ret = check_table(s, "snapshot L1 table", l1_offset, (uint64_t)l1_size * 8);
		if (ret < 0)
			return ret;
		s->snapshots[i] = (struct qcow2_snapshot){ l1_offset, l1_size };
		off += len;
		if (off - s->snapshots_offset > QCOW2_MAX_SNAPSHOTS_BYTES || off > s->file->size)
			return refuse(s, -EINVAL, "snapshot table lies past the end of the file");
	}
	s->snapshots_size = off - s->snapshots_offset;
	return 0;
}

/* The fixed metadata must not overlap: a write to one would change another */
static int check_overlaps(struct qcow2 *s)
{
	struct {
		const char *what;
		uint64_t offset, len;
	} t[] = {
		{ "the header", 0, s->cluster_size },
		{ "the L1 table", s->l1_offset, (uint64_t)s->l1_size * 8 },
		{ "the refcount table", s->reftable_offset,
		  (uint64_t)s->reftable_clusters * s->cluster_size },
		{ "the snapshot table", s->snapshots_offset, s->snapshots_size },
	};
	for (unsigned i = 0; i < 4; i++) {
		for (unsigned j = i + 1; j < 4; j++)
			if (overlap(t[i].offset, t[i].len, t[j].offset, t[j].len))
				return refuse(s, -EINVAL, "%s overlaps %s", t[i].what, t[j].what);
		for (uint32_t k = 0; k < s->nb_snapshots; k++)
			if (overlap(t[i].offset, t[i].len, s->snapshots[k].l1_offset,
				    (uint64_t)s->snapshots[k].l1_size * 8))
				return refuse(s, -EINVAL, "snapshot %u's L1 table overlaps %s", k,
					      t[i].what);
	}
	return 0;
}

static int load_table(struct qcow2 *s, uint64_t offset, uint64_t entries, uint64_t **out)
{
	uint8_t *raw = malloc(entries * 8 + 1);
	uint64_t *t = calloc(entries + 1, sizeof(*t));
	int ret = raw && t ? 0 : -ENOMEM;
	if (ret == 0)
		ret = bnode_pread(s->file, offset, raw, entries * 8);
	for (uint64_t i = 0; ret == 0 && i < entries; i++)
		t[i] = be64_at(raw + 8 * i);
	free(raw);
	if (ret < 0) {
		free(t);
		return ret;
	}
	*out = t;
	return 0;
}

static int load_tables(struct qcow2 *s)
{
	int ret = load_table(s, s->l1_offset, s->l1_size, &s->l1);
	if (ret == 0)
		ret = load_table(s, s->reftable_offset,
				 (uint64_t)s->reftable_clusters * s->cluster_size / 8, &s->reftable);
	if (ret < 0)
		return refuse(s, ret, "cannot read the image's tables: %s", strerror(-ret));
	s->reftable_size = (uint64_t)s->reftable_clusters * s->cluster_size / 8;
	for (uint64_t i = 0; i < s->reftable_size; i++) {
		uint64_t e = s->reftable[i];
		if ((e & QCOW2_REFTABLE_RESERVED) || (e & (s->cluster_size - 1)) ||
		    (e && e + s->cluster_size > s->end))
			return refuse(s, -EINVAL, "refcount table entry %llu (%#llx) is invalid",
				      (unsigned long long)i, (unsigned long long)e);
	}
	return 0;
}

/* The backing file: its name relative to the image's directory, its format
 * from the header extension (or probed), opened read-only */
static int open_backing(struct qcow2 *s, const uint8_t *h, const struct qcow2_header_ext *ext,
			unsigned depth)
{
	char name[QCOW2_MAX_BACKING_NAME + 1];
	memcpy(name, h + ext->backing_offset, ext->backing_size);
	name[ext->backing_size] = 0;
	if (strlen(name) != ext->backing_size)
		return refuse(s, -EINVAL, "backing file name holds a NUL byte");
	enum drive_format format = DRIVE_FORMAT_PROBE;
	if (!strcmp(ext->backing_fmt, "raw"))
		format = DRIVE_FORMAT_RAW;
	else if (!strcmp(ext->backing_fmt, "qcow2"))
		format = DRIVE_FORMAT_QCOW2;
	else if (ext->backing_fmt[0])
		return refuse(s, -ENOTSUP, "backing file format '%s' is not supported (raw or "
					   "qcow2)",
			      ext->backing_fmt);
	if (depth + 1 >= BLK_MAX_BACKING_DEPTH)
		return refuse(s, -ELOOP, "backing chain is deeper than %d images (a loop?)",
			      BLK_MAX_BACKING_DEPTH);

	const char *slash = strrchr(s->n.name, '/');
	size_t dir = name[0] == '/' || blk_is_nbd_uri(name) || blk_is_nbd_uri(s->n.name) || !slash ?
			     0 :
			     (size_t)(slash - s->n.name + 1);
	s->backing_path = malloc(dir + strlen(name) + 1);
	if (!s->backing_path)
		return -ENOMEM;
	memcpy(s->backing_path, s->n.name, dir);
	strcpy(s->backing_path + dir, name);
	/* a failure below has said which file and why */
	return bnode_open_image(s->n.ctx, s->backing_path, format, true, depth + 1, NULL,
				&s->backing);
}

/* Read-write: clear the autoclear bits we do not keep up, mark the image
 * dirty under lazy refcounts, rebuild the refcounts of a dirty image */
static int open_for_writing(struct qcow2 *s)
{
	uint8_t v[8];
	int ret = 0;
	/* first, so that a rebuild need not count what they describe
	 * (bitmaps), and nothing reads it as valid afterwards */
	if (s->autoclear) {
		s->autoclear = 0;
		put_be64(v, 0);
		ret = qcow2_write_header_field(s, QH_AUTOCLEAR, v, 8);
		if (ret == 0)
			ret = bnode_flush(s->file);
	}
	if (ret == 0 && (s->incompat & QCOW2_INCOMPAT_DIRTY)) {
		ret = qcow2_rebuild_refcounts(s);
		if (ret < 0 && s->corrupt)
			return ret;	/* qcow2_corrupt has said what is broken */
		if (ret < 0)
			return refuse(s, ret, "the image was not closed cleanly and its refcounts "
					      "cannot be rebuilt: %s",
				      strerror(-ret));
	}
	s->lazy_refcounts = s->version >= 3 && (s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS);
	uint64_t incompat = s->lazy_refcounts ? s->incompat | QCOW2_INCOMPAT_DIRTY :
						s->incompat & ~QCOW2_INCOMPAT_DIRTY;
	if (ret == 0 && incompat != s->incompat) {
		s->incompat = incompat;
		put_be64(v, incompat);
		ret = qcow2_write_header_field(s, QH_INCOMPAT, v, 8);
	}
	if (ret == 0)
		ret = bnode_flush(s->file);
	if (ret < 0)
		return refuse(s, ret, "cannot update the header: %s", strerror(-ret));
	return 0;
}

static void qcow2_close(struct bnode *n);

static const struct bnode_ops qcow2_ops = {
	.read = qcow2_read,
	.start = qcow2_start,
	.write = qcow2_write,
	.flush = qcow2_flush,
	.discard = qcow2_discard,
	.write_zeroes = qcow2_write_zeroes,
	.close = qcow2_close,
};

static unsigned cache_tables(uint64_t bytes, uint64_t cluster_size, unsigned max)
{
	/* at least four: an operation pins two tables at most */
	uint64_t n = bytes / cluster_size;
	n = n < max ? n : max;
	return n < 4 ? 4 : (unsigned)n;
}

int qcow2_open(struct blk_ctx *ctx, struct bnode *file, bool readonly, unsigned depth,
	       struct bnode **out)
{
	struct qcow2 *s = calloc(1, sizeof(*s));
	uint8_t *h = NULL;
	int ret;
	if (!s) {
		bnode_close(file);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->dc_lock, NULL);
	pthread_cond_init(&s->alloc_done, NULL);
	pthread_cond_init(&s->async_idle, NULL);
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	/* a flush waiting to give clusters back is not starved by readers */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&s->free_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	s->file = file;
	s->n = (struct bnode){ .ops = &qcow2_ops, .ctx = ctx, .name = file->name,
			       .readonly = readonly || file->readonly };

	uint8_t first[QCOW2_V3_HEADER_LEN + 8] = { 0 };
	uint64_t have = file->size < sizeof(first) ? file->size : sizeof(first);
	ret = bnode_pread(file, 0, first, have);
	if (ret < 0) {
		ret = refuse(s, ret, "cannot read the header: %s", strerror(-ret));
		goto fail;
	}
	if (have < QCOW2_V2_HEADER_LEN || be32_at(first) != QCOW2_MAGIC) {
		ret = refuse(s, -EINVAL, "not a qcow2 image");
		goto fail;
	}
	s->version = be32_at(first + QH_VERSION);
	s->cluster_bits = be32_at(first + QH_CLUSTER_BITS);
	if (s->version != 2 && s->version != 3) {
		ret = refuse(s, -ENOTSUP, "qcow2 version %u is not supported (2 or 3)", s->version);
		goto fail;
	}
	if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS || s->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
		ret = refuse(s, -EINVAL, "cluster_bits %u is out of range (9..21)", s->cluster_bits);
		goto fail;
	}
	s->cluster_size = 1ull << s->cluster_bits;
	s->l2_bits = s->cluster_bits - 3;
	s->l2_entries = 1ull << s->l2_bits;
	s->end = qcow2_align_up(s, file->size);

	/* the whole first cluster: header, extensions, backing file name */
	h = calloc(1, s->cluster_size);
	if (!h) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = bnode_pread(file, 0, h, file->size < s->cluster_size ? file->size : s->cluster_size);
	struct qcow2_header_ext ext = { 0 };
	uint64_t size = 0;
	if (ret == 0)
		ret = parse_header(s, h, &size, &ext);
	if (ret == 0)
		ret = load_snapshots(s);
	if (ret == 0)
		ret = check_overlaps(s);
	if (ret == 0)
		ret = load_tables(s);
	if (ret < 0)
		goto fail;
	s->n.size = size;
	s->refcount_max = s->refcount_order == 6 ? UINT64_MAX :
						   (1ull << (1u << s->refcount_order)) - 1;
	s->refblock_bits = s->cluster_bits + 3 - s->refcount_order;
	s->csize_shift = 62 - (s->cluster_bits - 8);
	s->csize_mask = (1ull << (s->cluster_bits - 8)) - 1;
	s->coffset_mask = (1ull << s->csize_shift) - 1;
	s->dc_buf = malloc(s->cluster_size);
	ret = s->dc_buf ? 0 : -ENOMEM;
	if (ret == 0)
		/* never more tables than the image can have (plus a copy) */
		ret = qcow2_cache_init(&s->l2_cache,
				       cache_tables(QCOW2_L2_CACHE_BYTES, s->cluster_size,
						    s->l1_size < 255 ? s->l1_size + 1 : 256),
				       s->cluster_size, true);
	if (ret == 0)
		ret = qcow2_cache_init(&s->rb_cache,
				       cache_tables(QCOW2_RB_CACHE_BYTES, s->cluster_size, 64),
				       s->cluster_size, false);
	if (ret < 0)
		goto fail;
	if (ext.backing_offset) {
		ret = open_backing(s, h, &ext, depth);
		if (ret < 0)
			goto fail;
	}
	if ((s->incompat & QCOW2_INCOMPAT_CORRUPT) && s->n.readonly)
		log_warn("%s: the image is marked corrupt; reading it anyway (read-only)",
			 s->n.name);
	if (!s->n.readonly) {
		ret = open_for_writing(s);
		if (ret < 0)
			goto fail;
	}
	s->n.can_discard = !s->n.readonly;
	free(h);
	*out = &s->n;
	return 0;
fail:
	free(h);
	qcow2_free_state(s);
	return ret;
}

/* Everything on disk, the free list given back, and under lazy refcounts
 * the refcounts written and the dirty bit cleared */
static void qcow2_close(struct bnode *n)
{
	struct qcow2 *s = container_of_blk(n, struct qcow2, n);
	if (!n->readonly && !s->corrupt) {
		int ret = qcow2_flush(n);
		pthread_mutex_lock(&s->lock);
		if (ret == 0)
			ret = qcow2_cache_write_dirty(s, &s->rb_cache);
		if (ret == 0)
			ret = bnode_flush(s->file);
		if (ret == 0 && (s->incompat & QCOW2_INCOMPAT_DIRTY)) {
			uint8_t v[8];
			put_be64(v, s->incompat & ~QCOW2_INCOMPAT_DIRTY);
			ret = qcow2_write_header_field(s, QH_INCOMPAT, v, 8);
			if (ret == 0)
				ret = bnode_flush(s->file);
		}
		pthread_mutex_unlock(&s->lock);
		if (ret < 0)
			log_error("%s: closing the image: %s", n->name, strerror(-ret));
	}
	qcow2_free_state(s);
}
