/* Refcounts recomputed from what the image holds, as QEMU does for an
 * image left dirty (lazy refcounts, then a crash): every cluster the
 * header, the tables, the snapshots and the data use is counted, the
 * refcount blocks are corrected to match (new ones go past everything in
 * use), and the COPIED flags of the active tables follow the new counts. */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* Files this large in clusters are not rebuilt (the counts live in RAM) */
#define QCOW2_REBUILD_MAX_CLUSTERS (1ull << 30)

struct rebuild {
	struct qcow2 *s;
	uint32_t *counts;
	uint64_t nclusters;
	uint8_t *table;		/* an L2 table being walked */
};

static int count_range(struct rebuild *r, uint64_t offset, uint64_t len)
{
	struct qcow2 *s = r->s;
	if (!len)
		return 0;
	uint64_t first = offset >> s->cluster_bits, last = (offset + len - 1) >> s->cluster_bits;
	if (offset + len < offset || last >= r->nclusters)
		return qcow2_corrupt(s, "metadata points past the end of the file (%#llx)",
				     (unsigned long long)offset);
	for (uint64_t c = first; c <= last; c++) {
		if (r->counts[c] == UINT32_MAX)
			return qcow2_corrupt(s, "cluster %#llx is used too often",
					     (unsigned long long)c << s->cluster_bits);
		r->counts[c]++;
	}
	return 0;
}

/* An L1 table (host byte order) and everything below it */
static int count_l1(struct rebuild *r, const uint64_t *l1, uint32_t l1_size)
{
	struct qcow2 *s = r->s;
	for (uint32_t i = 0; i < l1_size; i++) {
		uint64_t table = l1[i] & QCOW2_OFFSET_MASK;
		if (!table)
			continue;
		if ((l1[i] & QCOW2_L1_RESERVED) || (table & (s->cluster_size - 1)))
			return qcow2_corrupt(s, "L1 entry %#llx is invalid",
					     (unsigned long long)l1[i]);
		int ret = count_range(r, table, s->cluster_size);
		if (ret == 0)
			ret = bnode_pread(s->file, table, r->table, s->cluster_size);
		for (uint64_t j = 0; ret == 0 && j < s->l2_entries; j++) {
			uint64_t e = be64_at(r->table + 8 * j), offset, len;
			switch (qcow2_entry_type(s, e)) {
			case QCOW2_NORMAL:
			case QCOW2_ZERO_ALLOC:
				if ((e & QCOW2_OFFSET_MASK) & (s->cluster_size - 1))
					return qcow2_corrupt(s, "L2 entry %#llx is not aligned",
							     (unsigned long long)e);
				ret = count_range(r, e & QCOW2_OFFSET_MASK, s->cluster_size);
				break;
			case QCOW2_COMPRESSED_CLUSTER:
				qcow2_compressed_range(s, e, &offset, &len);
				ret = count_range(r, offset, len);
				break;
			default:
				break;
			}
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int count_everything(struct rebuild *r)
{
	struct qcow2 *s = r->s;
	int ret = count_range(r, 0, s->cluster_size);
	if (ret == 0)
		ret = count_range(r, s->l1_offset, (uint64_t)s->l1_size * 8);
	if (ret == 0)
		ret = count_l1(r, s->l1, s->l1_size);
	if (ret == 0)
		ret = count_range(r, s->reftable_offset,
				  (uint64_t)s->reftable_clusters * s->cluster_size);
	for (uint64_t i = 0; ret == 0 && i < s->reftable_size; i++)
		ret = count_range(r, s->reftable[i], s->reftable[i] ? s->cluster_size : 0);
	if (ret == 0)
		ret = count_range(r, s->snapshots_offset, s->snapshots_size);
	for (uint32_t i = 0; ret == 0 && i < s->nb_snapshots; i++) {
		uint64_t off = s->snapshots[i].l1_offset, n = s->snapshots[i].l1_size;
		uint8_t *raw = malloc(n * 8 + 1);
		uint64_t *l1 = calloc(n + 1, sizeof(*l1));
		ret = raw && l1 ? count_range(r, off, n * 8) : -ENOMEM;
		if (ret == 0)
			ret = bnode_pread(s->file, off, raw, n * 8);
		for (uint64_t k = 0; ret == 0 && k < n; k++)
			l1[k] = be64_at(raw + 8 * k);
		if (ret == 0)
			ret = count_l1(r, l1, (uint32_t)n);
		free(raw);
		free(l1);
	}
	return ret;
}

/* Stored refcounts made equal to the counted ones.  First the clusters
 * past the end of the file that still have a refcount (leaks) are
 * cleared, so that the refcount blocks made for the corrections, which
 * go past the end, find them free. */
static int correct_refcounts(struct rebuild *r)
{
	struct qcow2 *s = r->s;
	for (uint64_t b = 0; b < s->reftable_size; b++) {
		if (!s->reftable[b])
			continue;
		uint64_t first = b << s->refblock_bits, end = (b + 1) << s->refblock_bits;
		for (uint64_t c = first < r->nclusters ? r->nclusters : first; c < end; c++) {
			uint64_t stored;
			int ret = qcow2_refcount_get(s, c, &stored);
			if (ret == 0 && stored)
				ret = qcow2_refcount_set(s, c, 0);
			if (ret < 0)
				return ret;
		}
	}
	for (uint64_t c = 0; c < r->nclusters; c++) {
		uint64_t stored;
		int ret = qcow2_refcount_get(s, c, &stored);
		if (ret < 0)
			return ret;
		if (r->counts[c] > s->refcount_max)
			return qcow2_corrupt(s, "cluster %#llx is used more often than %u-bit "
						"refcounts can count",
					     (unsigned long long)c << s->cluster_bits,
					     1u << s->refcount_order);
		if (stored != r->counts[c]) {
			ret = qcow2_refcount_set(s, c, r->counts[c]);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* COPIED on active L1 and L2 entries exactly where the refcount is one */
static int correct_copied(struct rebuild *r)
{
	struct qcow2 *s = r->s;
	for (uint32_t i = 0; i < s->l1_size; i++) {
		uint64_t table = s->l1[i] & QCOW2_OFFSET_MASK;
		if (!table)
			continue;
		uint64_t want = r->counts[table >> s->cluster_bits] == 1 ? QCOW2_COPIED : 0;
		if ((s->l1[i] & QCOW2_COPIED) != want) {
			s->l1[i] = (s->l1[i] & ~QCOW2_COPIED) | want;
			if (s->l1_dirty_lo >= s->l1_dirty_hi || i < s->l1_dirty_lo)
				s->l1_dirty_lo = i;
			if (i >= s->l1_dirty_hi)
				s->l1_dirty_hi = i + 1;
		}
		uint8_t *l2;
		int ret = qcow2_cache_get(s, &s->l2_cache, table, false, &l2);
		if (ret < 0)
			return ret;
		bool dirty = false;
		for (uint64_t j = 0; j < s->l2_entries; j++) {
			uint64_t e = be64_at(l2 + 8 * j);
			enum qcow2_cluster_type t = qcow2_entry_type(s, e);
			if (t != QCOW2_NORMAL && t != QCOW2_ZERO_ALLOC)
				continue;
			uint64_t w = r->counts[(e & QCOW2_OFFSET_MASK) >> s->cluster_bits] == 1 ?
					     QCOW2_COPIED :
					     0;
			if ((e & QCOW2_COPIED) != w) {
				put_be64(l2 + 8 * j, (e & ~QCOW2_COPIED) | w);
				dirty = true;
			}
		}
		if (dirty)
			qcow2_cache_mark_dirty(&s->l2_cache, l2);
		qcow2_cache_put(&s->l2_cache, l2);
	}
	return 0;
}

int qcow2_rebuild_refcounts(struct qcow2 *s)
{
	struct rebuild r = { .s = s, .nclusters = qcow2_cluster_index(s, s->end) };
	if (r.nclusters > QCOW2_REBUILD_MAX_CLUSTERS)
		return -EFBIG;
	log_info("%s: the image was not closed cleanly: rebuilding its refcounts", s->n.name);
	r.counts = calloc(r.nclusters + 1, sizeof(*r.counts));
	r.table = malloc(s->cluster_size);
	int ret = r.counts && r.table ? 0 : -ENOMEM;
	pthread_mutex_lock(&s->lock);
	if (ret == 0)
		ret = count_everything(&r);
	if (ret == 0)
		ret = correct_refcounts(&r);
	if (ret == 0)
		ret = correct_copied(&r);
	if (ret == 0)
		ret = qcow2_cache_write_dirty(s, &s->rb_cache);
	if (ret == 0)
		ret = qcow2_flush_metadata(s);
	pthread_mutex_unlock(&s->lock);
	free(r.counts);
	free(r.table);
	return ret;
}
