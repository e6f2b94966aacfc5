/* bench: CPU-heavy work with a checksum per part, the same C built as a
 * 64-bit guest and as a host program (src/bench_host.c) so the guest's
 * results can be checked exactly.  BENCH_SCALE sets the problem size. */
#include <stdint.h>

#ifndef BENCH_SCALE
#define BENCH_SCALE 1
#endif

#define HASH_BYTES (BENCH_SCALE * 256u * 1024)
#define SORT_COUNT (BENCH_SCALE * 16u * 1024)
#define MANDEL_W (64u * (BENCH_SCALE >= 4 ? BENCH_SCALE / 4 : 1))
#define MANDEL_H 48u
#define MANDEL_ITER (100u * (BENCH_SCALE >= 4 ? 4 : 1))
#define NBODY_STEPS (BENCH_SCALE * 2000u)
#define VM_LIMIT (BENCH_SCALE * 3000u)

void bench_print(const char *name, uint64_t value);

static uint8_t hash_buf[HASH_BYTES];
static uint32_t sort_buf[SORT_COUNT];

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t xorshift64(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static uint64_t fnv1a64(const uint8_t *p, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (uint32_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint32_t crc32(const uint8_t *p, uint32_t n)
{
	uint32_t table[256];
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
	uint32_t crc = 0xffffffffu;
	for (uint32_t i = 0; i < n; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}

static void quicksort(uint32_t *a, int lo, int hi)
{
	while (lo < hi) {
		uint32_t pivot = a[lo + (hi - lo) / 2];
		int i = lo, j = hi;
		while (i <= j) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i <= j) {
				uint32_t t = a[i];
				a[i++] = a[j];
				a[j--] = t;
			}
		}
		/* recurse into the smaller half, loop on the larger */
		if (j - lo < hi - i) {
			quicksort(a, lo, j);
			lo = i;
		} else {
			quicksort(a, i, hi);
			hi = j;
		}
	}
}

static uint64_t sort_checksum(void)
{
	for (uint32_t i = 0; i < SORT_COUNT; i++)
		sort_buf[i] = (uint32_t)xorshift64();
	quicksort(sort_buf, 0, SORT_COUNT - 1);
	uint64_t h = 0;
	for (uint32_t i = 0; i < SORT_COUNT; i++) {
		if (i && sort_buf[i - 1] > sort_buf[i])
			return 0;	/* not sorted: a checksum no run can match */
		h = h * 31 + sort_buf[i];
	}
	return h;
}

static uint64_t mandelbrot(void)
{
	uint64_t total = 0;
	for (uint32_t y = 0; y < MANDEL_H; y++) {
		for (uint32_t x = 0; x < MANDEL_W; x++) {
			double cr = -2.0 + 2.5 * x / MANDEL_W, ci = -1.25 + 2.5 * y / MANDEL_H;
			double zr = 0, zi = 0;
			uint32_t n = 0;
			while (n < MANDEL_ITER && zr * zr + zi * zi <= 4.0) {
				double t = zr * zr - zi * zi + cr;
				zi = 2 * zr * zi + ci;
				zr = t;
				n++;
			}
			total = total * 7 + n;
		}
	}
	return total;
}

struct body {
	double x, y, z, vx, vy, vz, m;
};

static double nbody_energy(struct body *b, int n)
{
	double e = 0;
	for (int i = 0; i < n; i++) {
		e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
		for (int j = i + 1; j < n; j++) {
			double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
			e -= b[i].m * b[j].m / __builtin_sqrt(dx * dx + dy * dy + dz * dz);
		}
	}
	return e;
}

static uint64_t nbody(void)
{
	struct body b[5] = {
		{ 0, 0, 0, 0, 0, 0, 39.47 },
		{ 4.84, -1.16, -0.10, 0.606, 2.81, -0.02, 0.037 },
		{ 8.34, 4.12, -0.40, -1.01, 1.82, 0.008, 0.011 },
		{ 12.89, -15.11, -0.22, 1.08, 0.868, -0.01, 0.0017 },
		{ 15.37, -25.91, 0.179, 0.979, 0.594, -0.034, 0.002 },
	};
	const double dt = 0.01;
	for (uint32_t s = 0; s < NBODY_STEPS; s++) {
		for (int i = 0; i < 5; i++) {
			for (int j = i + 1; j < 5; j++) {
				double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
				double d2 = dx * dx + dy * dy + dz * dz;
				double mag = dt / (d2 * __builtin_sqrt(d2));
				b[i].vx -= dx * b[j].m * mag;
				b[i].vy -= dy * b[j].m * mag;
				b[i].vz -= dz * b[j].m * mag;
				b[j].vx += dx * b[i].m * mag;
				b[j].vy += dy * b[i].m * mag;
				b[j].vz += dz * b[i].m * mag;
			}
		}
		for (int i = 0; i < 5; i++) {
			b[i].x += dt * b[i].vx;
			b[i].y += dt * b[i].vy;
			b[i].z += dt * b[i].vz;
		}
	}
	union { double d; uint64_t u; } e = { nbody_energy(b, 5) };
	return e.u;
}

/* A tiny stack machine: one byte per opcode, a switch per instruction. */
enum { OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_SUB, OP_MUL, OP_DIV2, OP_ODD, OP_JZ, OP_JMP,
       OP_LT, OP_DUP, OP_POP, OP_HALT };

static uint64_t vm_run(const uint8_t *code, int64_t limit)
{
	int64_t stack[16], vars[4] = { 0, 0, 0, limit };
	int sp = 0, pc = 0;
	for (;;) {
		switch (code[pc++]) {
		case OP_PUSH: stack[sp++] = (int8_t)code[pc++]; break;
		case OP_LOAD: stack[sp++] = vars[code[pc++]]; break;
		case OP_STORE: vars[code[pc++]] = stack[--sp]; break;
		case OP_ADD: sp--; stack[sp - 1] += stack[sp]; break;
		case OP_SUB: sp--; stack[sp - 1] -= stack[sp]; break;
		case OP_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
		case OP_DIV2: stack[sp - 1] >>= 1; break;
		case OP_ODD: stack[sp - 1] &= 1; break;
		case OP_LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
		case OP_DUP: stack[sp] = stack[sp - 1]; sp++; break;
		case OP_POP: sp--; break;
		case OP_JZ: pc = stack[--sp] ? pc + 1 : code[pc]; break;	/* jump if zero */
		case OP_JMP: pc = code[pc]; break;
		case OP_HALT: return vars[2];
		default: return 0;
		}
	}
}

/* Total Collatz steps for n = 1 .. limit.  vars: 0 n, 1 x, 2 total, 3 limit */
static uint64_t bytecode(void)
{
	static const uint8_t prog[] = {
		/*  0 */ OP_PUSH, 1, OP_STORE, 0,
		/*  4 outer */ OP_LOAD, 0, OP_LOAD, 3, OP_PUSH, 1, OP_ADD, OP_LT, OP_JZ, 65,
		/* 14 */ OP_LOAD, 0, OP_STORE, 1,
		/* 18 inner */ OP_LOAD, 1, OP_PUSH, 1, OP_SUB, OP_JZ, 56,
		/* 25 */ OP_LOAD, 2, OP_PUSH, 1, OP_ADD, OP_STORE, 2,
		/* 32 */ OP_LOAD, 1, OP_ODD, OP_JZ, 49,
		/* 37 x = 3x + 1 */ OP_LOAD, 1, OP_PUSH, 3, OP_MUL, OP_PUSH, 1, OP_ADD, OP_STORE, 1, OP_JMP, 18,
		/* 49 even: x /= 2 */ OP_LOAD, 1, OP_DIV2, OP_STORE, 1, OP_JMP, 18,
		/* 56 next */ OP_LOAD, 0, OP_PUSH, 1, OP_ADD, OP_STORE, 0, OP_JMP, 4,
		/* 65 done */ OP_HALT,
	};
	return vm_run(prog, VM_LIMIT);
}

void bench_run(void)
{
	for (uint32_t i = 0; i < HASH_BYTES; i += 8) {
		uint64_t r = xorshift64();
		for (int k = 0; k < 8; k++)
			hash_buf[i + k] = r >> (8 * k);
	}
	bench_print("fnv1a64", fnv1a64(hash_buf, HASH_BYTES));
	bench_print("crc32", crc32(hash_buf, HASH_BYTES));
	bench_print("quicksort", sort_checksum());
	bench_print("mandelbrot", mandelbrot());
	bench_print("nbody", nbody());
	bench_print("bytecode", bytecode());
}
