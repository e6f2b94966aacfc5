#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void log_vprint(const char *prefix, const char *fmt, va_list ap)
{
	/* one fprintf per message, so lines from vCPU threads do not interleave */
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "minivmm: %s%s\n", prefix, buf);
}

void log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vprint("error: ", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vprint("warning: ", fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vprint("", fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vprint("debug: ", fmt, ap);
	va_end(ap);
}

static const struct {
	const char *name;
	unsigned mask;
	const char *help;
} debug_items[] = {
	{ "unimp", DEBUG_UNIMP, "accesses to unassigned I/O ports and MMIO" },
	{ "guest_errors", DEBUG_GUEST_ERRORS, "guest misuse of a device" },
	{ "int", DEBUG_INT, "interrupts and exceptions" },
	{ "cpu", DEBUG_CPU, "CPU state before each block" },
	{ "exec", DEBUG_EXEC, "each block executed" },
	{ "in_asm", DEBUG_IN_ASM, "each block decoded" },
	{ "exit", DEBUG_EXIT, "engine exits" },
};

int debug_mask_parse(const char *list, unsigned *mask, const char **bad, int *bad_len)
{
	const char *p = list;
	*mask = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		size_t i;
		for (i = 0; i < sizeof(debug_items) / sizeof(debug_items[0]); i++) {
			if (strlen(debug_items[i].name) == len &&
			    !strncmp(debug_items[i].name, p, len))
				break;
		}
		if (i == sizeof(debug_items) / sizeof(debug_items[0])) {
			*bad = p;
			*bad_len = (int)len;
			return -EINVAL;
		}
		*mask |= debug_items[i].mask;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

void debug_mask_print_help(void)
{
	printf("Log items (comma separated):\n");
	for (size_t i = 0; i < sizeof(debug_items) / sizeof(debug_items[0]); i++)
		printf("%-14s %s\n", debug_items[i].name, debug_items[i].help);
}
