/* qcow2 inside the block layer: the on-disk layout (docs/interop/qcow2.txt
 * in QEMU's tree) and the state one open image keeps.  The format maps
 * guest offsets to host offsets in its protocol node (file); the files:
 *   qcow2.c           opening (header, extensions, refusals), flush, close
 *   qcow2_cache.c     the L2 table and refcount block caches
 *   qcow2_refcount.c  refcounts, cluster allocation, deferred frees
 *   qcow2_rebuild.c   refcounts recomputed from the tables (dirty images)
 *   qcow2_map.c       L1/L2 lookups and making an L2 table writable
 *   qcow2_io.c        reads, writes, discard, write-zeroes
 *   qcow2_compress.c  compressed clusters (zlib, zstd)
 *
 * Metadata reaches the disk in an order that keeps the image consistent
 * after a crash at any point (leaks allowed): a cluster's refcount before
 * any L2 entry that uses it, data before the L2 entry that maps it, an L2
 * table before the L1 entry that points to it, and a cluster is freed
 * only once the tables that no longer use it are on disk.  Changes stay in
 * memory (dirty cache entries, the L1 dirty range, the free list) until a
 * flush writes them in that order with fdatasync between the steps. */
#ifndef MINIVMM_BLOCK_QCOW2_H
#define MINIVMM_BLOCK_QCOW2_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "blk_internal.h"

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_V2_HEADER_LEN 72
#define QCOW2_V3_HEADER_LEN 104
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21	/* QEMU's limit, 2 MiB */
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_BACKING_NAME 1023

/* header field offsets */
#define QH_MAGIC 0
#define QH_VERSION 4
#define QH_BACKING_OFFSET 8
#define QH_BACKING_SIZE 16
#define QH_CLUSTER_BITS 20
#define QH_SIZE 24
#define QH_CRYPT_METHOD 32
#define QH_L1_SIZE 36
#define QH_L1_OFFSET 40
#define QH_REFTABLE_OFFSET 48
#define QH_REFTABLE_CLUSTERS 56
#define QH_NB_SNAPSHOTS 60
#define QH_SNAPSHOTS_OFFSET 64
#define QH_INCOMPAT 72
#define QH_COMPAT 80
#define QH_AUTOCLEAR 88
#define QH_REFCOUNT_ORDER 96
#define QH_HEADER_LENGTH 100
#define QH_COMPRESSION_TYPE 104

#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)

#define QCOW2_COMPRESSION_ZLIB 0
#define QCOW2_COMPRESSION_ZSTD 1

/* header extensions */
#define QCOW2_EXT_END 0
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857u
#define QCOW2_EXT_CRYPTO 0x0537be77u
#define QCOW2_EXT_DATA_FILE 0x44415441u

/* L1/L2 entries */
#define QCOW2_COPIED (1ull << 63)
#define QCOW2_COMPRESSED (1ull << 62)
#define QCOW2_ZERO (1ull << 0)
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_L1_RESERVED 0x7f000000000001ffull
#define QCOW2_L2_RESERVED 0x3f000000000001feull
#define QCOW2_REFTABLE_RESERVED 0x1ffull

enum qcow2_cluster_type {
	QCOW2_UNALLOCATED,	/* reads the backing file, or zeroes */
	QCOW2_ZERO_PLAIN,	/* reads zeroes, no host cluster */
	QCOW2_ZERO_ALLOC,	/* reads zeroes, host cluster kept */
	QCOW2_NORMAL,
	QCOW2_COMPRESSED_CLUSTER,
};

/* A cache of cluster-sized tables (L2 tables or refcount blocks), kept in
 * their on-disk (big-endian) form */
struct qcow2_table {
	uint64_t offset;	/* 0: slot empty */
	uint8_t *data;
	bool dirty;
	unsigned pins;		/* in use by the caller: not evicted */
	uint64_t lru;
};

struct qcow2_cache {
	struct qcow2_table *t;
	uint8_t *mem;		/* the tables, one after the other */
	unsigned n;
	uint64_t tick;
	uint64_t cluster_size;
	bool is_l2;		/* evicting a dirty L2 table needs the ordered flush */
};

/* A host range whose refcount drops once the tables that stopped using
 * it are on disk */
struct qcow2_free {
	uint64_t offset, len;
	bool discard;		/* punch the freed clusters out of the file */
	struct qcow2_free *next;
};

/* Guest clusters [first, end) being allocated: other writers wait */
struct qcow2_alloc {
	uint64_t first, end;
	struct qcow2_alloc *next;
};

struct qcow2_snapshot {
	uint64_t l1_offset;
	uint32_t l1_size;
};

struct qcow2 {
	struct bnode n;
	struct bnode *file;
	struct bnode *backing;	/* NULL: unallocated clusters read as zeroes */
	char *backing_path;

	uint32_t version;
	unsigned cluster_bits, l2_bits;
	uint64_t cluster_size;
	uint64_t l2_entries;	/* per table */
	uint64_t incompat, compat, autoclear;
	uint32_t header_length;
	uint8_t compression_type;

	uint64_t *l1;		/* host byte order */
	uint32_t l1_size;
	uint64_t l1_offset;
	uint32_t l1_dirty_lo, l1_dirty_hi;	/* [lo, hi) entries to write */

	uint64_t *reftable;	/* host byte order */
	uint64_t reftable_size;	/* entries */
	uint64_t reftable_offset;
	uint32_t reftable_clusters;
	unsigned refcount_order;
	unsigned refblock_bits;	/* log2 of refcounts per refcount block */
	uint64_t refcount_max;

	uint32_t nb_snapshots;
	uint64_t snapshots_offset, snapshots_size;
	struct qcow2_snapshot *snapshots;

	/* compressed cluster descriptor */
	unsigned csize_shift;
	uint64_t csize_mask, coffset_mask;

	bool lazy_refcounts;	/* refcounts written only on close; dirty bit set */
	bool corrupt;		/* metadata found broken while open: no more writes */

	struct qcow2_cache l2_cache, rb_cache;
	uint64_t free_hint;	/* cluster index where the search for free ones starts */
	uint64_t end;		/* bytes: no cluster at or past here is in use */

	/* lock: all metadata above and below.  free_lock: held shared by
	 * every data transfer, exclusively while freed clusters are given
	 * back (so no transfer reaches a cluster that has changed hands).
	 * Order: free_lock, then lock.  Reads started from the submitting
	 * thread (qcow2_start) count in async_reads instead, under lock;
	 * giving clusters back waits for them to end (async_idle), and
	 * refuses new ones meanwhile (freeing). */
	pthread_mutex_t lock;
	pthread_rwlock_t free_lock;
	unsigned async_reads;
	bool freeing;
	pthread_cond_t async_idle;
	pthread_cond_t alloc_done;
	struct qcow2_alloc *allocs;
	struct qcow2_free *frees;	/* waiting for the tables to reach the disk */
	struct qcow2_free *frees_ready;	/* the tables are on disk: may be given back */

	/* the last decompressed cluster */
	pthread_mutex_t dc_lock;
	uint64_t dc_entry;
	uint8_t *dc_buf;
	bool dc_valid;
};

/* big-endian fields */
static inline uint64_t be64_at(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t be16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint64_t qcow2_cluster_index(const struct qcow2 *s, uint64_t offset)
{
	return offset >> s->cluster_bits;
}

static inline uint64_t qcow2_align_up(const struct qcow2 *s, uint64_t v)
{
	return (v + s->cluster_size - 1) & ~(s->cluster_size - 1);
}

/* Metadata found broken while the image is open: one line, then the
 * request fails with -EIO and the image takes no more writes */
__attribute__((format(printf, 2, 3))) int qcow2_corrupt(struct qcow2 *s, const char *fmt, ...);

/* qcow2_cache.c; all under s->lock */
int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t cluster_size, bool is_l2);
void qcow2_cache_destroy(struct qcow2_cache *c);
/* The table at offset, read unless fresh (then zeroed); pinned until put */
int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t offset, bool fresh,
		    uint8_t **data);
void qcow2_cache_put(struct qcow2_cache *c, uint8_t *data);
void qcow2_cache_mark_dirty(struct qcow2_cache *c, uint8_t *data);
int qcow2_cache_write_dirty(struct qcow2 *s, struct qcow2_cache *c);
/* A cached table whose cluster was freed: forget it (it is clean) */
void qcow2_cache_forget(struct qcow2_cache *c, uint64_t offset);
bool qcow2_cache_holds(const struct qcow2_cache *c, uint64_t offset, uint64_t len);

/* qcow2_refcount.c; all under s->lock */
int qcow2_refcount_get(struct qcow2 *s, uint64_t cluster, uint64_t *refcount);
int qcow2_refcount_add(struct qcow2 *s, uint64_t cluster, int64_t delta);
/* value at most refcount_max */
int qcow2_refcount_set(struct qcow2 *s, uint64_t cluster, uint64_t value);
/* n contiguous free clusters, refcount 1; their host offset */
int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *offset);
/* Give back clusters nothing references yet (an allocation that failed) */
void qcow2_release_clusters(struct qcow2 *s, uint64_t offset, uint64_t n);
/* Decrement [offset, offset + len) once the tables are on disk */
int qcow2_free_later(struct qcow2 *s, uint64_t offset, uint64_t len, bool discard);
/* The free list is now covered by tables on disk */
void qcow2_frees_covered(struct qcow2 *s);
/* Give back what is ready: takes free_lock exclusively, then lock; the
 * caller holds neither */
int qcow2_apply_frees(struct qcow2 *s);
/* [offset, offset + len) overlaps metadata the image is known to hold */
bool qcow2_overlaps_metadata(struct qcow2 *s, uint64_t offset, uint64_t len);
int qcow2_write_header_field(struct qcow2 *s, unsigned field, const void *value, unsigned len);

/* qcow2_rebuild.c: recompute every refcount (a dirty image) */
int qcow2_rebuild_refcounts(struct qcow2 *s);

/* qcow2_map.c; under s->lock */
struct qcow2_map {
	enum qcow2_cluster_type type;
	uint64_t entry;		/* the L2 entry of the first cluster */
	uint64_t host;		/* NORMAL: host offset of the first byte */
	uint64_t len;		/* bytes from the guest offset with the same answer */
};
enum qcow2_cluster_type qcow2_entry_type(const struct qcow2 *s, uint64_t entry);
/* What guest [offset, offset + max) maps to, as far as it goes alike */
int qcow2_map(struct qcow2 *s, uint64_t offset, uint64_t max, struct qcow2_map *map);
/* qcow2_map at offset needs no I/O (its L2 table is cached, or none) */
bool qcow2_map_cached(const struct qcow2 *s, uint64_t offset);
/* The L2 table for a guest offset, writable (allocated, refcount one);
 * pinned in the cache */
int qcow2_l2_writable(struct qcow2 *s, uint64_t offset, uint8_t **l2);
/* The L2 table for a guest offset if there is one (pinned; NULL if not) */
int qcow2_l2_get(struct qcow2 *s, uint64_t offset, uint8_t **l2);
static inline uint64_t qcow2_l2_index(const struct qcow2 *s, uint64_t offset)
{
	return (offset >> s->cluster_bits) & (s->l2_entries - 1);
}
/* Flush in the safe order: refcount blocks, sync, L2 tables, sync, L1,
 * sync; the free list becomes ready.  Under s->lock. */
int qcow2_flush_metadata(struct qcow2 *s);

/* qcow2_compress.c: the cluster a compressed L2 entry describes */
int qcow2_read_compressed(struct qcow2 *s, uint64_t entry, uint8_t *out);
/* where a compressed cluster's bytes lie, for refcounts */
void qcow2_compressed_range(const struct qcow2 *s, uint64_t entry, uint64_t *offset,
			    uint64_t *len);

/* qcow2_io.c: the node's operations */
int qcow2_read(struct bnode *n, uint64_t offset, const struct iovec *iov, unsigned cnt);
bool qcow2_start(struct bnode *n, struct blk_io *io, struct blk_aio **batch);
int qcow2_write(struct bnode *n, uint64_t offset, const struct iovec *iov, unsigned cnt,
		unsigned flags);
int qcow2_discard(struct bnode *n, uint64_t offset, uint64_t len);
int qcow2_write_zeroes(struct bnode *n, uint64_t offset, uint64_t len, unsigned flags);
int qcow2_flush(struct bnode *n);

#endif
