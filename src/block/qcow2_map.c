/* qcow2 cluster mapping: guest offset -> L1 entry -> L2 table -> L2 entry,
 * every entry checked before it is used; an L2 table made private before
 * it is changed (a new one, or a copy of one a snapshot shares); and the
 * ordered flush that puts these changes on disk. */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum qcow2_cluster_type qcow2_entry_type(const struct qcow2 *s, uint64_t entry)
{
	if (entry & QCOW2_COMPRESSED)
		return QCOW2_COMPRESSED_CLUSTER;
	if (s->version >= 3 && (entry & QCOW2_ZERO))
		return entry & QCOW2_OFFSET_MASK ? QCOW2_ZERO_ALLOC : QCOW2_ZERO_PLAIN;
	return entry & QCOW2_OFFSET_MASK ? QCOW2_NORMAL : QCOW2_UNALLOCATED;
}

static int check_l2_entry(struct qcow2 *s, uint64_t entry)
{
	if (entry & QCOW2_COMPRESSED)
		return entry & QCOW2_COPIED ? qcow2_corrupt(s, "compressed cluster marked copied") : 0;
	uint64_t reserved = QCOW2_L2_RESERVED | (s->version < 3 ? QCOW2_ZERO : 0);
	if (entry & reserved)
		return qcow2_corrupt(s, "L2 entry %#llx has reserved bits set",
				     (unsigned long long)entry);
	if (entry & QCOW2_OFFSET_MASK & (s->cluster_size - 1))
		return qcow2_corrupt(s, "L2 entry %#llx is not cluster aligned",
				     (unsigned long long)entry);
	return 0;
}

static uint64_t l2_entry(const uint8_t *l2, uint64_t index)
{
	return be64_at(l2 + 8 * index);
}

int qcow2_l2_get(struct qcow2 *s, uint64_t offset, uint8_t **l2)
{
	uint64_t l1_index = offset >> (s->cluster_bits + s->l2_bits);
	*l2 = NULL;
	if (l1_index >= s->l1_size)
		return 0;
	uint64_t e = s->l1[l1_index], table = e & QCOW2_OFFSET_MASK;
	if (!table)
		return 0;
	if ((e & QCOW2_L1_RESERVED) || (table & (s->cluster_size - 1)))
		return qcow2_corrupt(s, "L1 entry %llu (%#llx) is invalid",
				     (unsigned long long)l1_index, (unsigned long long)e);
	if (table + s->cluster_size > s->end)
		return qcow2_corrupt(s, "L2 table %#llx lies past the end of the image",
				     (unsigned long long)table);
	return qcow2_cache_get(s, &s->l2_cache, table, false, l2);
}

/* Two neighbouring entries answer alike (and NORMAL ones lie one after
 * the other, with the same COPIED flag) */
static bool same_run(const struct qcow2 *s, uint64_t prev, uint64_t next)
{
	enum qcow2_cluster_type t = qcow2_entry_type(s, prev);
	if (t != qcow2_entry_type(s, next) || t == QCOW2_COMPRESSED_CLUSTER)
		return false;
	if (t != QCOW2_NORMAL)
		return true;
	return (next & QCOW2_OFFSET_MASK) == (prev & QCOW2_OFFSET_MASK) + s->cluster_size &&
	       (next & QCOW2_COPIED) == (prev & QCOW2_COPIED);
}

int qcow2_map(struct qcow2 *s, uint64_t offset, uint64_t max, struct qcow2_map *map)
{
	uint64_t in_cluster = offset & (s->cluster_size - 1);
	uint64_t index = qcow2_l2_index(s, offset);
	uint8_t *l2;
	int ret = qcow2_l2_get(s, offset, &l2);
	if (ret < 0)
		return ret;
	*map = (struct qcow2_map){ .type = QCOW2_UNALLOCATED };
	if (!l2) {
		/* the rest of this L2 table's range */
		uint64_t len = ((s->l2_entries - index) << s->cluster_bits) - in_cluster;
		map->len = len < max ? len : max;
		return 0;
	}
	uint64_t e = l2_entry(l2, index);
	ret = check_l2_entry(s, e);
	uint64_t len = s->cluster_size - in_cluster;
	for (uint64_t i = index + 1; ret == 0 && len < max && i < s->l2_entries; i++) {
		uint64_t next = l2_entry(l2, i);
		if (check_l2_entry(s, next) < 0 || !same_run(s, l2_entry(l2, i - 1), next))
			break;
		len += s->cluster_size;
	}
	qcow2_cache_put(&s->l2_cache, l2);
	if (ret < 0)
		return ret;
	map->type = qcow2_entry_type(s, e);
	map->entry = e;
	map->host = (e & QCOW2_OFFSET_MASK) + in_cluster;
	map->len = len < max ? len : max;
	return 0;
}

bool qcow2_map_cached(const struct qcow2 *s, uint64_t offset)
{
	uint64_t l1_index = offset >> (s->cluster_bits + s->l2_bits);
	if (l1_index >= s->l1_size)
		return true;
	uint64_t table = s->l1[l1_index] & QCOW2_OFFSET_MASK;
	return !table || qcow2_cache_holds(&s->l2_cache, table, 1);
}

int qcow2_l2_writable(struct qcow2 *s, uint64_t offset, uint8_t **l2)
{
	uint64_t l1_index = offset >> (s->cluster_bits + s->l2_bits);
	if (l1_index >= s->l1_size)
		return qcow2_corrupt(s, "guest offset %#llx is past the L1 table",
				     (unsigned long long)offset);
	uint64_t e = s->l1[l1_index], old = e & QCOW2_OFFSET_MASK;
	if (old && (e & QCOW2_COPIED))
		return qcow2_l2_get(s, offset, l2);

	uint8_t *old_table = NULL, *table;
	uint64_t new_offset;
	int ret = 0;
	if (old) {
		/* shared with a snapshot: the copy is ours */
		ret = qcow2_l2_get(s, offset, &old_table);
		if (ret < 0)
			return ret;
	}
	ret = qcow2_alloc_clusters(s, 1, &new_offset);
	if (ret == 0)
		ret = qcow2_cache_get(s, &s->l2_cache, new_offset, true, &table);
	if (ret < 0) {
		if (old_table)
			qcow2_cache_put(&s->l2_cache, old_table);
		return ret;
	}
	if (old_table) {
		/* every cluster the shared table maps is shared too */
		for (uint64_t i = 0; i < s->l2_entries; i++)
			put_be64(table + 8 * i, l2_entry(old_table, i) & ~QCOW2_COPIED);
		qcow2_cache_put(&s->l2_cache, old_table);
		qcow2_free_later(s, old, s->cluster_size, false);
	}
	qcow2_cache_mark_dirty(&s->l2_cache, table);
	s->l1[l1_index] = new_offset | QCOW2_COPIED;
	if (s->l1_dirty_lo >= s->l1_dirty_hi) {
		s->l1_dirty_lo = (uint32_t)l1_index;
		s->l1_dirty_hi = (uint32_t)l1_index + 1;
	} else {
		if (l1_index < s->l1_dirty_lo)
			s->l1_dirty_lo = (uint32_t)l1_index;
		if (l1_index >= s->l1_dirty_hi)
			s->l1_dirty_hi = (uint32_t)l1_index + 1;
	}
	*l2 = table;
	return 0;
}

static int write_l1_dirty(struct qcow2 *s)
{
	uint32_t lo = s->l1_dirty_lo, hi = s->l1_dirty_hi;
	if (lo >= hi)
		return 0;
	uint8_t *buf = malloc((size_t)(hi - lo) * 8);
	if (!buf)
		return -ENOMEM;
	for (uint32_t i = lo; i < hi; i++)
		put_be64(buf + 8 * (i - lo), s->l1[i]);
	int ret = bnode_pwrite(s->file, s->l1_offset + (uint64_t)lo * 8, buf, (uint64_t)(hi - lo) * 8,
			       0);
	free(buf);
	if (ret == 0)
		s->l1_dirty_lo = s->l1_dirty_hi = 0;
	return ret;
}

static bool cache_dirty(const struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->t[i].offset && c->t[i].dirty)
			return true;
	return false;
}

int qcow2_flush_metadata(struct qcow2 *s)
{
	int ret = 0;
	/* refcounts (unless lazy) and data before the tables that use them */
	if (!s->lazy_refcounts)
		ret = qcow2_cache_write_dirty(s, &s->rb_cache);
	if (ret == 0)
		ret = bnode_flush(s->file);
	/* L2 tables before the L1 entries that point at them */
	if (ret == 0 && cache_dirty(&s->l2_cache)) {
		ret = qcow2_cache_write_dirty(s, &s->l2_cache);
		if (ret == 0)
			ret = bnode_flush(s->file);
	}
	if (ret == 0 && s->l1_dirty_lo < s->l1_dirty_hi) {
		ret = write_l1_dirty(s);
		if (ret == 0)
			ret = bnode_flush(s->file);
	}
	/* what the tables on disk no longer use may now be given back */
	if (ret == 0)
		qcow2_frees_covered(s);
	return ret;
}
