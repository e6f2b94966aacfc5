/* For the command-line tests: run cli_parse on an argument list and keep
 * what it printed; check that it parses, or fails with exactly one line on
 * err that names the option. */
#ifndef MINIVMM_TEST_CLI_RUN_H
#define MINIVMM_TEST_CLI_RUN_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "test.h"

#define MAX_ARGS 48

struct cli_run {
	enum cli_result result;
	struct vm_config cfg;
	char out[16384];
	char err[2048];
};

static struct cli_run run;

/* Parse argv (NULL-terminated, without the program name) and keep what
 * cli_parse printed. */
static inline enum cli_result parse_argv(const char *const *args)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	char *out_buf = NULL, *err_buf = NULL;
	size_t out_len = 0, err_len = 0;

	argv[argc++] = (char *)"minivmm";
	for (int i = 0; args[i] && argc <= MAX_ARGS; i++)
		argv[argc++] = (char *)args[i];
	argv[argc] = NULL;

	FILE *out = open_memstream(&out_buf, &out_len);
	FILE *err = open_memstream(&err_buf, &err_len);
	memset(&run.cfg, 0x5a, sizeof(run.cfg));	/* cli_parse must set every field */
	run.result = cli_parse(argc, argv, &run.cfg, out, err);
	fclose(out);
	fclose(err);
	snprintf(run.out, sizeof(run.out), "%s", out_buf ? out_buf : "");
	snprintf(run.err, sizeof(run.err), "%s", err_buf ? err_buf : "");
	free(out_buf);
	free(err_buf);
	return run.result;
}

static inline int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static inline void print_args(const char *const *args)
{
	printf("  args:");
	for (int i = 0; args[i]; i++)
		printf(" '%s'", args[i]);
	printf("\n  out: %s  err: %s", run.out, run.err);
}

/* args plus "-kernel vmlinuz" parse to CLI_RUN with nothing printed */
static inline bool parses_ok(const char *const *args)
{
	const char *with_kernel[MAX_ARGS + 1];
	int n = 0;
	for (; args[n] && n < MAX_ARGS - 2; n++)
		with_kernel[n] = args[n];
	with_kernel[n++] = "-kernel";
	with_kernel[n++] = "vmlinuz";
	with_kernel[n] = NULL;
	if (parse_argv(with_kernel) == CLI_RUN && !run.err[0] && !run.out[0])
		return true;
	print_args(with_kernel);
	return false;
}

/* args (with a kernel) fail with exactly one line on err that names opt and
 * contains what, and nothing on out */
static inline bool fails_with(const char *opt, const char *what, const char *const *args)
{
	const char *with_kernel[MAX_ARGS + 1];
	int n = 0;
	for (; args[n] && n < MAX_ARGS - 2; n++)
		with_kernel[n] = args[n];
	with_kernel[n++] = "-kernel";
	with_kernel[n++] = "vmlinuz";
	with_kernel[n] = NULL;
	parse_argv(with_kernel);
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "minivmm: %s", opt);
	size_t len = strlen(run.err);
	if (run.result == CLI_ERROR && count_lines(run.err) == 1 && len &&
	    run.err[len - 1] == '\n' && (!strncmp(run.err, prefix, strlen(prefix)) || strstr(run.err, opt)) &&
	    strstr(run.err, what) && !run.out[0])
		return true;
	printf("  expected one error line naming '%s' with '%s'\n", opt, what);
	print_args(with_kernel);
	return false;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define OK(...) CHECK(parses_ok(ARGS(__VA_ARGS__)))
#define FAILS(opt, what, ...) CHECK(fails_with(opt, what, ARGS(__VA_ARGS__)))

#endif
