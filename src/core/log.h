/* Messages to the user and per-subsystem debug output.
 * Errors and warnings go to stderr at the point where the user can act.
 * Debug output is switched per subsystem with -d and is rate limited by the
 * caller where a guest could flood it. */
#ifndef MINIVMM_LOG_H
#define MINIVMM_LOG_H

#include <stdarg.h>

/* -d categories, as in QEMU's -d list */
enum debug_mask {
	DEBUG_UNIMP = 1u << 0,	/* accesses to unassigned ports and MMIO */
	DEBUG_GUEST_ERRORS = 1u << 1,	/* guest misuse of a device */
	DEBUG_INT = 1u << 2,	/* interrupts and exceptions */
	DEBUG_CPU = 1u << 3,	/* CPU state at block entry */
	DEBUG_EXEC = 1u << 4,	/* blocks executed */
	DEBUG_IN_ASM = 1u << 5,	/* blocks decoded */
	DEBUG_EXIT = 1u << 6,	/* engine exits */
};

__attribute__((format(printf, 1, 2))) void log_error(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_warn(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_info(const char *fmt, ...);
/* Debug output; callers test the mask first so that formatting costs
 * nothing when a category is off. */
__attribute__((format(printf, 1, 2))) void log_debug(const char *fmt, ...);
/* Text for the user as it is (no "minivmm:", no newline added), e.g. the
 * console's help.  Like every message here it waits only a moment for a
 * stderr whose reader stalled, then it is dropped. */
__attribute__((format(printf, 1, 2))) void log_plain(const char *fmt, ...);

/* Parse "unimp,int" into a mask. Returns 0 or -EINVAL, naming the bad item
 * in *bad. "help" sets *bad to "help". */
int debug_mask_parse(const char *list, unsigned *mask, const char **bad, int *bad_len);
void debug_mask_print_help(void);

#endif
