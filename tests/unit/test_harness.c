#include "test.h"

struct test_state test_state;

int test_run_all(const char *program, const struct test_case *cases, int n)
{
	int passed = 0, failed = 0, skipped = 0;
	const char *base = strrchr(program, '/');
	base = base ? base + 1 : program;
	for (int i = 0; i < n; i++) {
		test_state.failed_checks = 0;
		test_state.skip_reason = NULL;
		cases[i].fn();
		if (test_state.failed_checks) {
			printf("FAIL %s.%s\n", base, cases[i].name);
			failed++;
		} else if (test_state.skip_reason) {
			printf("skip %s.%s: skipped: %s\n", base, cases[i].name, test_state.skip_reason);
			skipped++;
		} else {
			printf("ok   %s.%s\n", base, cases[i].name);
			passed++;
		}
		fflush(stdout);
	}
	printf("%s: %d passed, %d failed, %d skipped\n", base, passed, failed, skipped);
	return failed ? 1 : 0;
}
