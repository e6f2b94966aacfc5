/* -object: the memory back-ends QEMU describes guest RAM with.  Only
 * memory-backend-memfd is built (guest RAM in a memfd, which vhost-user
 * back-ends can map); -machine memory-backend=ID picks one as the
 * machine's RAM, and -m, when given too, must agree with its size, as in
 * QEMU. */
#include "cli/cli_internal.h"

#include <string.h>

#include "mem/guest_mem.h"

static enum cli_result object_memfd(struct cli *c, struct kv_iter *it)
{
	struct cli_mem_backend mb = { .share = true };	/* QEMU's memfd default */
	bool have_size = false;
	struct kv kv;

	while (kv_next(it, &kv)) {
		if (kv_key_is(&kv, "id")) {
			if (kv_string(c, &kv, &mb.id) != CLI_RUN)
				return CLI_ERROR;
		} else if (kv_key_is(&kv, "size")) {
			int ret = parse_size(kv.val, kv.val_len, &mb.size);
			if (ret < 0 || mb.size == 0 || mb.size > GUEST_MEM_MAX_SIZE)
				return cli_fail(c, "size '%.*s': want 1 byte to %llu MiB",
						(int)kv.val_len, kv.val,
						(unsigned long long)(GUEST_MEM_MAX_SIZE >> 20));
			have_size = true;
		} else if (kv_key_is(&kv, "share")) {
			if (kv_bool(c, &kv, &mb.share) != CLI_RUN)
				return CLI_ERROR;
		} else if (kv_key_is(&kv, "hugetlb") || kv_key_is(&kv, "hugetlbsize") ||
			   kv_key_is(&kv, "seal") || kv_key_is(&kv, "prealloc") ||
			   kv_key_is(&kv, "host-nodes") || kv_key_is(&kv, "policy") ||
			   kv_key_is(&kv, "merge") || kv_key_is(&kv, "dump") ||
			   kv_key_is(&kv, "reserve")) {
			return cli_fail(c, "memory-backend-memfd: '%.*s' is not supported",
					(int)kv.key_len, kv.key);
		} else {
			return kv_unknown(c, &kv);
		}
	}
	if (!mb.id)
		return cli_fail(c, "memory-backend-memfd: missing id=");
	if (!have_size)
		return cli_fail(c, "memory-backend-memfd: missing size=");
	for (unsigned i = 0; i < c->nr_mem_backends; i++)
		if (!strcmp(c->mem_backends[i].id, mb.id))
			return cli_fail(c, "duplicate object id '%s'", mb.id);
	if (c->nr_mem_backends == CLI_MAX_OBJECTS)
		return cli_fail(c, "at most %d objects", CLI_MAX_OBJECTS);
	mb.size = (mb.size + RAM_SIZE_ALIGN - 1) & ~(RAM_SIZE_ALIGN - 1);
	c->mem_backends[c->nr_mem_backends++] = mb;
	return CLI_RUN;
}

enum cli_result cli_opt_object(struct cli *c, const char *arg)
{
	struct kv_iter it = { .p = arg, .implied = "qom-type" };
	struct kv kv;

	if (!kv_next(&it, &kv) || !kv_key_is(&kv, "qom-type"))
		return cli_fail(c, "the object's type comes first (memory-backend-memfd)");
	if (kv_val_is(&kv, "help")) {
		fprintf(c->out, "memory-backend-memfd,id=ID,size=SIZE[,share=on|off]\n");
		return CLI_DONE;
	}
	if (kv_val_is(&kv, "memory-backend-memfd"))
		return object_memfd(c, &it);
	if (kv_val_is(&kv, "memory-backend-ram") || kv_val_is(&kv, "memory-backend-file"))
		return cli_fail(c, "'%.*s' is not supported (memory-backend-memfd is)",
				(int)kv.val_len, kv.val);
	return cli_fail(c, "unknown object type '%.*s' (-object help lists them)", (int)kv.val_len,
			kv.val);
}

enum cli_result cli_objects_finish(struct cli *c)
{
	if (!c->memory_backend)
		return CLI_RUN;
	const struct cli_mem_backend *mb = NULL;
	for (unsigned i = 0; i < c->nr_mem_backends; i++)
		if (!strcmp(c->mem_backends[i].id, c->memory_backend))
			mb = &c->mem_backends[i];
	c->opt = "-machine";
	if (!mb)
		return cli_fail(c, "memory-backend '%s': no -object with that id",
				c->memory_backend);
	if (c->ram_size_given && c->cfg->ram_size != mb->size)
		return cli_fail(c, "-m (%llu MiB) and the size of memory-backend '%s' (%llu MiB) "
				   "differ",
				(unsigned long long)(c->cfg->ram_size >> 20), mb->id,
				(unsigned long long)(mb->size >> 20));
	c->cfg->ram_size = mb->size;
	c->cfg->ram_memfd = true;
	c->cfg->ram_shared = mb->share;
	return CLI_RUN;
}
