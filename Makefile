# minivmm build.  Sources are found by folder, so a new file needs no edit
# here: src/**/*.c make the program, tests/unit/test_*.c are one test
# program each, tests/fuzz/fuzz_*.c are libFuzzer targets, guests/ holds
# the test guests.
#
#   make                 build/minivmm
#   make test            every test (unit, device, loader, guest), after
#                        building the Linux kit they boot (make kit)
#   make test SANITIZE=1 the same, built with AddressSanitizer and UBSan
#   make check           both of the above (what CI runs)
#   make fuzz            run each fuzzer for FUZZ_SECONDS
#   make bench           CPU benchmark guest under minivmm (and QEMU, if installed)
#   make bench-boot      Linux boot time under minivmm (and QEMU, if installed)
#   make bench-linux     compute inside Linux under minivmm (and QEMU, if installed)
#   make bench-net       TCP throughput over virtio-net, user and tap, against QEMU's
#   make bench-io        Linux disk throughput and IOPS under minivmm (and QEMU)

CC ?= gcc
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD ?= build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT ?= -O1
else
BUILD ?= build
SAN_FLAGS :=
OPT ?= -O2
endif

CFLAGS := -std=gnu11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Werror -Isrc -MMD -MP -pthread $(SAN_FLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(SAN_FLAGS)
# the block layer's libraries (scripts/setup-deps.sh installs them).  A
# static build (the nested-KVM kit's) leaves NBD out: libnbd has no static
# form with its TLS and XML libraries.
ifneq ($(findstring -static,$(LDFLAGS)),)
NBD ?= 0
endif
NBD ?= 1
PKGS := liburing zlib libzstd
ifeq ($(NBD),1)
PKGS += libnbd
else
CFLAGS += -DMINIVMM_NO_NBD
endif
CFLAGS += $(shell pkg-config --cflags $(PKGS))
LDLIBS := $(shell pkg-config --libs $(PKGS)) -lm
# libslirp (the user network back-end); its .pc needs glib's.  Debian ships
# no static libslirp, so a static build (the nested-KVM kit's) goes without.
ifeq ($(filter -static,$(LDFLAGS)),)
SLIRP_CFLAGS := $(shell pkg-config --cflags slirp)
SLIRP_LIBS := $(shell pkg-config --libs slirp)
ifeq ($(SLIRP_LIBS),)
$(error libslirp not found by pkg-config: run scripts/setup-deps.sh)
endif
LDLIBS += $(SLIRP_LIBS)
else
NO_SLIRP_SRCS := src/net/user.c
CFLAGS += -DMINIVMM_NO_SLIRP
endif

SRCS := $(filter-out $(NO_SLIRP_SRCS),$(shell find src -name '*.c' ! -path src/main.c | sort))
OBJS := $(SRCS:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libminivmm.a
# test_harness.c is the harness linked into every test, not a test program
UNIT_SRCS := $(filter-out tests/unit/test_harness.c,$(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_HELPER_SRCS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
TEST_HELPER_OBJS := $(TEST_HELPER_SRCS:%.c=$(BUILD)/%.o)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_SECONDS ?= 60

.PHONY: all test check unit guests kit fuzz bench bench-boot bench-linux bench-net bench-io difftest clean
all: $(BUILD)/minivmm

$(BUILD)/minivmm: $(BUILD)/src/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB): $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/src/net/user.o: CFLAGS += $(SLIRP_CFLAGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(TEST_HELPER_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

guests:
	$(MAKE) -C guests

unit: $(UNIT_BINS)

# Debian's kernel and a busybox initramfs (cached in ~/.cache/minivmm),
# before the tests that boot them: test_bzimage's and the Linux guest tests
kit:
	@scripts/linux-kit.sh >/dev/null || \
		echo "warning: cannot build the Linux kit (scripts/linux-kit.sh): the Linux tests cannot run" >&2

test: all unit guests kit
	BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run.sh
	BUILD=$(BUILD) SANITIZE=$(SANITIZE) scripts/test-jit-off.sh

# what CI runs: the tests, then the tests again under ASan and UBSan
check:
	$(MAKE) test
	$(MAKE) test SANITIZE=1

fuzz:
	BUILD=build/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_LDLIBS="$(LDLIBS)" tests/fuzz/run.sh $(FUZZ_SRCS)

bench: all guests
	BUILD=$(BUILD) scripts/bench.sh

bench-boot: all guests
	BUILD=$(BUILD) scripts/bench-boot.sh

bench-linux: all kit
	BUILD=$(BUILD) scripts/bench-linux.sh

bench-net: all
	BUILD=$(BUILD) scripts/bench-net.sh

bench-io: all kit
	BUILD=$(BUILD) scripts/bench-io.sh

difftest: unit
	$(BUILD)/tests/test_difftest $(N)

clean:
	rm -rf build
	$(MAKE) -C guests clean

-include $(OBJS:.o=.d) $(BUILD)/src/main.d $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%.d)
