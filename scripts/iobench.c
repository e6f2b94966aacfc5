/* The guest side of scripts/bench-io.sh, built static into its initrd
 * (busybox has no fio, and its dd and date cannot time anything):
 *   iobench run CMD ARGS...    run CMD, print "ns=N" (CLOCK_MONOTONIC)
 *   iobench rand DEV N SPAN    N reads of 4 KiB with O_DIRECT, one at a
 *                              time, at random 4 KiB-aligned offsets in
 *                              the first SPAN MiB of DEV; "ns=N reads=N"
 * Every read is checked to return 4 KiB, so a failing disk cannot look
 * fast. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int run(char **argv)
{
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "iobench: %s failed\n", argv[0]);
		return 1;
	}
	printf("ns=%llu\n", (unsigned long long)(now_ns() - t0));
	return 0;
}

static int rand_reads(const char *dev, unsigned long n, unsigned long span_mib)
{
	int fd = open(dev, O_RDONLY | O_DIRECT);
	void *buf;
	if (fd < 0 || posix_memalign(&buf, 4096, 4096)) {
		perror(dev);
		return 1;
	}
	uint64_t blocks = (uint64_t)span_mib * 256, x = 0x9e3779b97f4a7c15ull;
	uint64_t t0 = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		x ^= x << 13;	/* xorshift64 */
		x ^= x >> 7;
		x ^= x << 17;
		if (pread(fd, buf, 4096, (off_t)((x % blocks) * 4096)) != 4096) {
			perror("iobench: pread");
			return 1;
		}
	}
	printf("ns=%llu reads=%lu\n", (unsigned long long)(now_ns() - t0), n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "run"))
		return run(argv + 2);
	if (argc == 5 && !strcmp(argv[1], "rand"))
		return rand_reads(argv[2], strtoul(argv[3], NULL, 0), strtoul(argv[4], NULL, 0));
	fprintf(stderr, "usage: iobench run CMD ARGS... | iobench rand DEV N SPAN_MIB\n");
	return 2;
}
