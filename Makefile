# SPDX-License-Identifier: GPL-2.0
# afmux top-level Makefile.
#
#   make            module for every installed linux-headers-*-amd64 (or
#                   KDIR=...), libafmux and its tools, the selftests
#   make deps       install the Debian packages everything needs
#   make check      the whole test suite in VMs (README's test command)
#   make bench      the benchmarks of docs/benchmarks.md on 6.1 and 6.12 in
#                   VMs -> bench/results.md, bench/results.png
#   make lint       checkpatch --strict and sparse on kmod/ and uapi/
#   make debug-module   build the debug kernel (cached) and the module for it
#
# Modules build out of tree in build/<kernel release>/ (a tree of symlinks
# to kmod/ and uapi/), so several kernels' objects never mix.
# "make -C $KDIR M=$PWD" from this directory also works (objects in kmod/).

KDIRS := $(if $(KDIR),$(KDIR),$(filter-out %-common,$(wildcard /usr/src/linux-headers-*-amd64)))
KTOOLS = $(shell tools/kernel-tools)
USERCFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror

.PHONY: all modules debug-module userspace selftests lint check bench deps clean

all: modules userspace selftests

deps:
	tools/deps

modules:
	@[ -n "$(KDIRS)" ] || { echo "no kernel headers: run make deps or pass KDIR=" >&2; exit 1; }
	@for k in $(KDIRS); do tools/build-module $$k || exit 1; done

debug-module:
	@tools/build-module "$$(tools/debug-kernel/build)"

userspace:
	$(MAKE) -C userspace-lib CFLAGS="$(USERCFLAGS)"
	$(MAKE) -s -C tools/fuzz

selftests: userspace
	$(MAKE) -C selftests CFLAGS="$(USERCFLAGS)" KSFT_DIR=$(KTOOLS)/tools/testing/selftests

lint:
	@kt=$(KTOOLS); $$kt/scripts/checkpatch.pl --strict --no-tree --quiet \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG \
		-f $(filter-out kmod/compat.h kmod/takeover.c,$(wildcard kmod/*.c kmod/*.h kmod/test/*.c uapi/linux/*.h))
	@# takeover.c builds copies of TCP's proto_ops at run time, as kTLS does.
	@kt=$(KTOOLS); $$kt/scripts/checkpatch.pl --strict --no-tree --quiet \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG,CONST_STRUCT \
		-f kmod/takeover.c
	@# compat.h is where version tests belong (and the only place).
	@kt=$(KTOOLS); $$kt/scripts/checkpatch.pl --strict --no-tree --quiet \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG,LINUX_VERSION_CODE,CONSTANT_COMPARISON \
		-f kmod/compat.h
	@! grep -n LINUX_VERSION_CODE $(filter-out kmod/compat.h,$(wildcard kmod/*.c kmod/*.h))
	@for k in $(KDIRS); do \
		AFMUX_BUILD_TAG=sparse- tools/build-module $$k C=2 CHECK="sparse -Wno-decl" || exit 1; \
	done

check:
	tools/check

bench: modules userspace
	$(MAKE) -C bench CFLAGS="$(USERCFLAGS)" run

clean:
	rm -rf build
	$(MAKE) -C userspace-lib clean
	$(MAKE) -C selftests clean
	$(MAKE) -C bench clean
	$(MAKE) -C tools/fuzz clean
	$(MAKE) -s -C $(firstword $(KDIRS)) M=$(CURDIR) clean 2>/dev/null || true
