/* A small test harness: each tests/unit/test_*.c is one program made of
 * TEST functions run by RUN_TESTS; it prints one line per test and a
 * closing count that tests/run.sh adds up. */
#ifndef MINIVMM_TEST_H
#define MINIVMM_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_state {
	int failed_checks;	/* in the current test */
	const char *skip_reason;
};

extern struct test_state test_state;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			printf("  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			test_state.failed_checks++;                                   \
		}                                                                     \
	} while (0)

#define CHECK_EQ(a, b)                                                                     \
	do {                                                                               \
		unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
		if (_a != _b) {                                                            \
			printf("  %s:%d: %s == %s: 0x%llx != 0x%llx\n", __FILE__, __LINE__, #a, \
			       #b, _a, _b);                                                \
			test_state.failed_checks++;                                        \
		}                                                                          \
	} while (0)

#define CHECK_STR(a, b)                                                                   \
	do {                                                                              \
		const char *_a = (a), *_b = (b);                                          \
		if (!_a || !_b || strcmp(_a, _b)) {                                       \
			printf("  %s:%d: %s == %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, \
			       #b, _a ? _a : "(null)", _b ? _b : "(null)");               \
			test_state.failed_checks++;                                       \
		}                                                                         \
	} while (0)

/* End the current test as skipped, e.g. SKIP("no /dev/kvm") */
#define SKIP(reason)                            \
	do {                                    \
		test_state.skip_reason = reason; \
		return;                         \
	} while (0)

typedef void (*test_fn)(void);
struct test_case {
	const char *name;
	test_fn fn;
};

int test_run_all(const char *program, const struct test_case *cases, int n);

#define T(fn) { #fn, fn }
#define RUN_TESTS(...)                                                                  \
	int main(int argc, char **argv)                                                 \
	{                                                                               \
		(void)argc;                                                             \
		static const struct test_case cases[] = { __VA_ARGS__ };               \
		return test_run_all(argv[0], cases, (int)(sizeof(cases) / sizeof(cases[0]))); \
	}

#endif
