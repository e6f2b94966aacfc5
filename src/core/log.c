#include "core/log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* How long a message may wait for room on stderr before it is dropped: a
 * reader that stopped reading (stderr and the guest's console are often
 * the same pipe) must not stop the run, and the run is often being
 * stopped because of it (SIGTERM, Ctrl-A x) */
#define LOG_STALL_MS 200

/* One write per message, so lines from vCPU threads do not interleave;
 * messages are shorter than PIPE_BUF, so a pipe with room takes each whole */
static void log_write(const char *s, size_t len)
{
	struct pollfd pfd = { .fd = STDERR_FILENO, .events = POLLOUT };
	while (len) {
		int n = poll(&pfd, 1, LOG_STALL_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		ssize_t w = write(STDERR_FILENO, s, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

static void log_vprint(const char *prefix, const char *fmt, va_list ap)
{
	char msg[1024], line[1100];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	int n = snprintf(line, sizeof(line), "%s%s%s%s", prefix ? "minivmm: " : "",
			 prefix ? prefix : "", msg, prefix ? "\n" : "");
	if (n > 0)
		log_write(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void log_plain(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vprint(NULL, fmt, ap);
	va_end(ap);
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
