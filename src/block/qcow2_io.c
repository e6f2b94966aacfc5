/* qcow2 reads, writes, discard and write-zeroes.  A request is cut into
 * runs of guest clusters that map alike.  Reads and in-place writes go to
 * the host clusters with only the lookup under the lock.  A write to a
 * cluster that is not ours alone (unallocated, zero, compressed, shared
 * with a snapshot) gets new clusters: the untouched head and tail are
 * copied from where the cluster's bytes were (backing file, old cluster,
 * zeroes), the data written, and only then does the L2 entry point there;
 * the old cluster is freed once that entry is on disk.  Allocating writes
 * to the same guest clusters wait for each other. */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The most one allocating write takes at once */
#define QCOW2_MAX_ALLOC_BYTES (16u << 20)
#define QCOW2_ZERO_CHUNK (1u << 20)

static struct qcow2 *to_qcow2(struct bnode *n)
{
	return container_of_blk(n, struct qcow2, n);
}

/* ---- reading what a cluster holds ---- */

/* Guest bytes that the image does not hold: the backing file's, or zeroes
 * (past the backing file's end too) */
static int read_backing(struct qcow2 *s, uint64_t offset, const struct iovec *iov, unsigned cnt,
			uint64_t len)
{
	struct bnode *b = s->backing;
	uint64_t have = b && offset < b->size ? b->size - offset : 0;
	if (have >= len)
		return b->ops->read(b, offset, iov, cnt);
	if (have == 0) {
		iov_zero(iov, cnt, 0, len);
		return 0;
	}
	uint8_t *buf = calloc(1, len);
	if (!buf)
		return -ENOMEM;
	int ret = bnode_pread(b, offset, buf, have);
	if (ret == 0)
		iov_from_buf(iov, cnt, 0, buf, len);
	free(buf);
	return ret;
}

static int read_compressed_part(struct qcow2 *s, uint64_t entry, uint64_t in_cluster,
				const struct iovec *iov, unsigned cnt, uint64_t len)
{
	int ret = 0;
	pthread_mutex_lock(&s->dc_lock);
	if (!s->dc_valid || s->dc_entry != entry) {
		s->dc_valid = false;
		ret = qcow2_read_compressed(s, entry, s->dc_buf);
		if (ret == 0) {
			s->dc_entry = entry;
			s->dc_valid = true;
		}
	}
	if (ret == 0)
		iov_from_buf(iov, cnt, 0, s->dc_buf + in_cluster, len);
	pthread_mutex_unlock(&s->dc_lock);
	return ret;
}

/* len bytes at guest offset of a run that maps like m, whose first byte
 * is at host (NORMAL) */
static int read_region(struct qcow2 *s, const struct qcow2_map *m, uint64_t host, uint64_t offset,
		       const struct iovec *iov, unsigned cnt, uint64_t len)
{
	switch (m->type) {
	case QCOW2_NORMAL:
		return s->file->ops->read(s->file, host, iov, cnt);
	case QCOW2_UNALLOCATED:
		return read_backing(s, offset, iov, cnt, len);
	case QCOW2_COMPRESSED_CLUSTER:
		return read_compressed_part(s, m->entry, offset & (s->cluster_size - 1), iov, cnt,
					    len);
	default:
		iov_zero(iov, cnt, 0, len);
		return 0;
	}
}

int qcow2_read(struct bnode *n, uint64_t offset, const struct iovec *iov, unsigned cnt)
{
	struct qcow2 *s = to_qcow2(n);
	uint64_t total = iov_length(iov, cnt);
	struct iovec *slice = malloc((cnt + 1) * sizeof(*slice));
	int ret = 0;
	if (!slice)
		return -ENOMEM;
	pthread_rwlock_rdlock(&s->free_lock);
	for (uint64_t done = 0; done < total && ret == 0;) {
		struct qcow2_map m;
		pthread_mutex_lock(&s->lock);
		ret = qcow2_map(s, offset + done, total - done, &m);
		pthread_mutex_unlock(&s->lock);
		if (ret < 0)
			break;
		unsigned k = iov_slice(iov, cnt, done, m.len, slice, cnt);
		ret = read_region(s, &m, m.host, offset + done, slice, k, m.len);
		done += m.len;
	}
	pthread_rwlock_unlock(&s->free_lock);
	free(slice);
	return ret;
}

/* A read whose clusters lie one after the other in the file, with the L2
 * table already cached, goes to the file node's engine from the
 * submitting thread, as a raw file's read does: no worker is woken for
 * it.  Everything else runs on the pool (qcow2_read). */
static void qcow2_async_release(struct blk_io *io)
{
	struct qcow2 *s = io->release_arg;
	pthread_mutex_lock(&s->lock);
	if (--s->async_reads == 0 && s->freeing)
		pthread_cond_broadcast(&s->async_idle);
	pthread_mutex_unlock(&s->lock);
}

bool qcow2_start(struct bnode *n, struct blk_io *io, struct blk_aio **batch)
{
	struct qcow2 *s = to_qcow2(n);
	if (io->op != BLK_OP_READ || !s->file->ops->start)
		return false;
	struct qcow2_map m;
	bool mapped = false;
	pthread_mutex_lock(&s->lock);
	if (!s->freeing && qcow2_map_cached(s, io->offset) &&
	    qcow2_map(s, io->offset, io->len, &m) == 0 && m.type == QCOW2_NORMAL &&
	    m.len == io->len) {
		s->async_reads++;
		mapped = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (!mapped)
		return false;
	uint64_t guest_offset = io->offset;
	io->offset = m.host;
	io->release = qcow2_async_release;
	io->release_arg = s;
	if (s->file->ops->start(s->file, io, batch))
		return true;
	io->offset = guest_offset;
	io->release = NULL;
	qcow2_async_release(io);
	return false;
}

/* ---- writing ---- */

static bool allocs_overlap(const struct qcow2 *s, uint64_t first, uint64_t end)
{
	for (const struct qcow2_alloc *a = s->allocs; a; a = a->next)
		if (a->first < end && first < a->end)
			return true;
	return false;
}

static void alloc_done(struct qcow2 *s, struct qcow2_alloc *a)
{
	for (struct qcow2_alloc **p = &s->allocs; *p; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			break;
		}
	}
	pthread_cond_broadcast(&s->alloc_done);
}

/* Give back the host cluster an L2 entry held, once the new entry is on
 * disk */
static void free_entry_later(struct qcow2 *s, uint64_t entry, bool discard)
{
	uint64_t offset, len;
	switch (qcow2_entry_type(s, entry)) {
	case QCOW2_NORMAL:
	case QCOW2_ZERO_ALLOC:
		qcow2_free_later(s, entry & QCOW2_OFFSET_MASK, s->cluster_size, discard);
		break;
	case QCOW2_COMPRESSED_CLUSTER:
		qcow2_compressed_range(s, entry, &offset, &len);
		qcow2_free_later(s, offset, len, discard);
		break;
	default:
		break;
	}
}

/* head or tail of a new cluster: what the old one held there */
static int read_cow(struct qcow2 *s, const struct qcow2_map *m, uint64_t host, uint64_t offset,
		    void *buf, uint64_t len)
{
	struct iovec iov = { buf, len };
	return len ? read_region(s, m, host, offset, &iov, 1, len) : 0;
}

/* A run that needs new clusters: guest [offset, end) within clusters
 * [first, last), mapped like m; data from iov at skip */
static int write_allocating(struct qcow2 *s, const struct qcow2_map *m, uint64_t offset,
			    uint64_t end, uint64_t first, uint64_t last, const struct iovec *iov,
			    unsigned cnt, uint64_t skip, struct iovec *wiov)
{
	unsigned cb = s->cluster_bits;
	uint64_t n = last - first, host, head = offset - (first << cb), tail = (last << cb) - end;
	struct qcow2_alloc a = { .first = first, .end = last, .next = s->allocs };
	uint8_t *l2, *head_buf = NULL, *tail_buf = NULL;

	s->allocs = &a;
	int ret = qcow2_l2_writable(s, offset, &l2);
	if (ret == 0) {
		qcow2_cache_put(&s->l2_cache, l2);
		ret = qcow2_alloc_clusters(s, n, &host);
	}
	pthread_mutex_unlock(&s->lock);
	if (ret < 0) {
		pthread_mutex_lock(&s->lock);
		alloc_done(s, &a);
		return ret;
	}

	/* the old host bytes of the first and last clusters, for NORMAL runs */
	uint64_t old_first = m->host - head;
	uint64_t old_tail = old_first + ((n - 1) << cb) + (end & (s->cluster_size - 1));
	head_buf = head ? malloc(head) : NULL;
	tail_buf = tail ? malloc(tail) : NULL;
	if ((head && !head_buf) || (tail && !tail_buf))
		ret = -ENOMEM;
	if (ret == 0)
		ret = read_cow(s, m, old_first, first << cb, head_buf, head);
	if (ret == 0)
		ret = read_cow(s, m, old_tail, end, tail_buf, tail);
	if (ret == 0) {
		unsigned k = 0;
		if (head)
			wiov[k++] = (struct iovec){ head_buf, head };
		k += iov_slice(iov, cnt, skip, end - offset, wiov + k, cnt);
		if (tail)
			wiov[k++] = (struct iovec){ tail_buf, tail };
		ret = s->file->ops->write(s->file, host, wiov, k, 0);
	}
	free(head_buf);
	free(tail_buf);

	pthread_mutex_lock(&s->lock);
	if (ret == 0)
		ret = qcow2_l2_writable(s, offset, &l2);
	if (ret == 0) {
		for (uint64_t i = 0; i < n; i++) {
			uint8_t *slot = l2 + 8 * qcow2_l2_index(s, (first + i) << cb);
			free_entry_later(s, be64_at(slot), false);
			put_be64(slot, (host + (i << cb)) | QCOW2_COPIED);
		}
		qcow2_cache_mark_dirty(&s->l2_cache, l2);
		qcow2_cache_put(&s->l2_cache, l2);
	} else {
		qcow2_release_clusters(s, host, n);
	}
	alloc_done(s, &a);
	return ret;
}

/* The first run of guest [offset, offset + len): written in place or
 * into new clusters; *done says how much */
static int write_run(struct qcow2 *s, uint64_t offset, uint64_t len, const struct iovec *iov,
		     unsigned cnt, uint64_t skip, struct iovec *wiov, uint64_t *done)
{
	unsigned cb = s->cluster_bits;
	struct qcow2_map m;
	uint64_t first = 0, last = 0, end = 0;
	int ret;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (s->corrupt) {
			pthread_mutex_unlock(&s->lock);
			return -EIO;
		}
		ret = qcow2_map(s, offset, len, &m);
		if (ret < 0) {
			pthread_mutex_unlock(&s->lock);
			return ret;
		}
		if (m.type == QCOW2_NORMAL && (m.entry & QCOW2_COPIED))
			break;
		end = offset + m.len;
		first = offset >> cb;
		last = (end + s->cluster_size - 1) >> cb;
		uint64_t max = QCOW2_MAX_ALLOC_BYTES >> cb ? QCOW2_MAX_ALLOC_BYTES >> cb : 1;
		if (last - first > max) {
			last = first + max;
			end = last << cb;
		}
		if (!allocs_overlap(s, first, last))
			break;
		pthread_cond_wait(&s->alloc_done, &s->lock);
	}
	if (m.type == QCOW2_NORMAL && (m.entry & QCOW2_COPIED)) {
		pthread_mutex_unlock(&s->lock);
		unsigned k = iov_slice(iov, cnt, skip, m.len, wiov, cnt);
		*done = m.len;
		return s->file->ops->write(s->file, m.host, wiov, k, 0);
	}
	ret = write_allocating(s, &m, offset, end, first, last, iov, cnt, skip, wiov);
	pthread_mutex_unlock(&s->lock);
	*done = end - offset;
	return ret;
}

int qcow2_write(struct bnode *n, uint64_t offset, const struct iovec *iov, unsigned cnt,
		unsigned flags)
{
	struct qcow2 *s = to_qcow2(n);
	uint64_t total = iov_length(iov, cnt);
	struct iovec *wiov = malloc((cnt + 2) * sizeof(*wiov));
	int ret = 0;
	if (!wiov)
		return -ENOMEM;
	pthread_rwlock_rdlock(&s->free_lock);
	for (uint64_t done = 0, step; done < total && ret == 0; done += step)
		ret = write_run(s, offset + done, total - done, iov, cnt, done, wiov, &step);
	pthread_rwlock_unlock(&s->free_lock);
	free(wiov);

	pthread_mutex_lock(&s->lock);
	bool frees_ready = s->frees_ready != NULL;
	pthread_mutex_unlock(&s->lock);
	if (frees_ready)
		qcow2_apply_frees(s);
	if (ret == 0 && (flags & BLK_REQ_FUA))
		ret = qcow2_flush(n);
	return ret;
}

/* ---- discard and write-zeroes ---- */

/* How a whole cluster's entry changes */
enum zero_mode {
	ZERO_DISCARD,		/* a guest discard: free the cluster */
	ZERO_UNMAP,		/* write-zeroes that may free the cluster */
	ZERO_KEEP,		/* write-zeroes that keeps the allocation */
};

/* The new entry for a cluster set to zeroes (or discarded), and whether
 * its host cluster is freed */
static uint64_t zero_entry(const struct qcow2 *s, uint64_t old, enum zero_mode mode, bool *frees)
{
	enum qcow2_cluster_type t = qcow2_entry_type(s, old);
	bool has_host = t == QCOW2_NORMAL || t == QCOW2_ZERO_ALLOC || t == QCOW2_COMPRESSED_CLUSTER;
	*frees = false;
	if (s->version < 3) {
		/* no zero flag: only a discard or unmap without a backing file
		 * gets here (else zeroes are written) */
		*frees = has_host;
		return 0;
	}
	/* reads as zeroes already, and holds nothing to free */
	if (!has_host && (!s->backing || t == QCOW2_ZERO_PLAIN))
		return old;
	if (mode == ZERO_KEEP && (t == QCOW2_NORMAL || t == QCOW2_ZERO_ALLOC) &&
	    (old & QCOW2_COPIED))
		return (old & (QCOW2_OFFSET_MASK | QCOW2_COPIED)) | QCOW2_ZERO;
	*frees = has_host;
	return QCOW2_ZERO;
}

/* Whole guest clusters [first, end) set to zeroes or discarded, one L2
 * table at a time */
static int zero_clusters(struct qcow2 *s, uint64_t first, uint64_t end, enum zero_mode mode)
{
	unsigned cb = s->cluster_bits;
	int ret = 0;
	pthread_mutex_lock(&s->lock);
	for (uint64_t c = first; c < end && ret == 0;) {
		uint64_t table_end = ((c >> s->l2_bits) + 1) << s->l2_bits;
		uint64_t stop = end < table_end ? end : table_end;
		if (s->corrupt) {
			ret = -EIO;
			break;
		}
		if (allocs_overlap(s, c, stop)) {
			pthread_cond_wait(&s->alloc_done, &s->lock);
			continue;
		}
		/* look before touching: a table that would not change stays shared */
		uint8_t *l2;
		bool change = false, frees;
		ret = qcow2_l2_get(s, c << cb, &l2);
		if (ret < 0)
			break;
		for (uint64_t i = c; i < stop; i++) {
			uint64_t old = l2 ? be64_at(l2 + 8 * qcow2_l2_index(s, i << cb)) : 0;
			if (zero_entry(s, old, mode, &frees) != old)
				change = true;
		}
		if (l2)
			qcow2_cache_put(&s->l2_cache, l2);
		if (change) {
			ret = qcow2_l2_writable(s, c << cb, &l2);
			if (ret < 0)
				break;
			for (uint64_t i = c; i < stop; i++) {
				uint8_t *slot = l2 + 8 * qcow2_l2_index(s, i << cb);
				uint64_t old = be64_at(slot), new = zero_entry(s, old, mode, &frees);
				if (frees)
					free_entry_later(s, old, mode != ZERO_KEEP);
				put_be64(slot, new);
			}
			qcow2_cache_mark_dirty(&s->l2_cache, l2);
			qcow2_cache_put(&s->l2_cache, l2);
		}
		c = stop;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int qcow2_discard(struct bnode *n, uint64_t offset, uint64_t len)
{
	struct qcow2 *s = to_qcow2(n);
	/* only whole clusters can be let go; the rest is left as it is */
	uint64_t first = (offset + s->cluster_size - 1) >> s->cluster_bits;
	uint64_t end = (offset + len) >> s->cluster_bits;
	return first < end ? zero_clusters(s, first, end, ZERO_DISCARD) : 0;
}

/* Zeroes written as data, through the write path */
static int write_zero_data(struct qcow2 *s, uint64_t offset, uint64_t len)
{
	uint64_t chunk = len < QCOW2_ZERO_CHUNK ? len : QCOW2_ZERO_CHUNK;
	uint8_t *zero = calloc(1, chunk);
	int ret = 0;
	if (!zero)
		return -ENOMEM;
	for (uint64_t done = 0; done < len && ret == 0; done += chunk) {
		struct iovec iov = { zero, len - done < chunk ? len - done : chunk };
		ret = qcow2_write(&s->n, offset + done, &iov, 1, 0);
	}
	free(zero);
	return ret;
}

/* Guest [offset, offset + len) reads as zeroes already */
static int reads_zero(struct qcow2 *s, uint64_t offset, uint64_t len, bool *zero)
{
	*zero = false;
	for (uint64_t done = 0; done < len;) {
		struct qcow2_map m;
		pthread_mutex_lock(&s->lock);
		int ret = qcow2_map(s, offset + done, len - done, &m);
		pthread_mutex_unlock(&s->lock);
		if (ret < 0)
			return ret;
		bool backed = s->backing && offset + done < s->backing->size;
		if (!(m.type == QCOW2_ZERO_PLAIN || m.type == QCOW2_ZERO_ALLOC ||
		      (m.type == QCOW2_UNALLOCATED && !backed)))
			return 0;
		done += m.len;
	}
	*zero = true;
	return 0;
}

static int zero_partial(struct qcow2 *s, uint64_t offset, uint64_t len)
{
	bool zero;
	int ret = len ? reads_zero(s, offset, len, &zero) : 0;
	if (ret < 0 || !len || zero)
		return ret;
	return write_zero_data(s, offset, len);
}

int qcow2_write_zeroes(struct bnode *n, uint64_t offset, uint64_t len, unsigned flags)
{
	struct qcow2 *s = to_qcow2(n);
	uint64_t cs = s->cluster_size;
	uint64_t first = (offset + cs - 1) >> s->cluster_bits, end = (offset + len) >> s->cluster_bits;
	bool unmap = flags & BLK_REQ_UNMAP;
	if (first >= end)	/* within one cluster */
		return zero_partial(s, offset, len);
	int ret = zero_partial(s, offset, (first << s->cluster_bits) - offset);
	if (ret == 0) {
		uint64_t start = first << s->cluster_bits, bytes = (end - first) << s->cluster_bits;
		if (s->version >= 3)
			ret = zero_clusters(s, first, end, unmap ? ZERO_UNMAP : ZERO_KEEP);
		else if (unmap && !s->backing)
			ret = zero_clusters(s, first, end, ZERO_UNMAP);
		else
			ret = zero_partial(s, start, bytes);
	}
	if (ret == 0)
		ret = zero_partial(s, end << s->cluster_bits, offset + len - (end << s->cluster_bits));
	return ret;
}

int qcow2_flush(struct bnode *n)
{
	struct qcow2 *s = to_qcow2(n);
	pthread_mutex_lock(&s->lock);
	int ret = qcow2_flush_metadata(s);
	pthread_mutex_unlock(&s->lock);
	int r = qcow2_apply_frees(s);
	return ret < 0 ? ret : r;
}
