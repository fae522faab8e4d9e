# SPDX-License-Identifier: GPL-2.0
# afmux top-level Makefile.
#
#   make            module for every installed linux-headers-*-amd64 (or
#                   KDIR=...), libafmux and its tools, the selftests
#   make deps       install the Debian packages everything needs
#   make check      the whole test suite in VMs (README's test command)
#   make bench      the benchmarks of docs/benchmarks.md on 6.1 and 6.12 in
#                   VMs -> bench/results.md, bench/results.png, the
#                   TLS rows -> bench/results-tls.md and the pool rows
#                   -> bench/results-pool.md
#   make lint       checkpatch --strict and sparse on kmod/ and uapi/
#   make install    the module for every kernel with headers here (into
#                   /lib/modules/<release>/updates/, then depmod), libafmux,
#                   its headers and afmux.pc, the tools and the man pages;
#                   PREFIX (/usr/local), DESTDIR; make uninstall undoes it
#   make dkms-install   the module's source into /usr/src/afmux-<version>/
#                   and "dkms install" (rebuilt for every new kernel)
#   make debug-module   build the debug kernel (cached) and the module for it
#
# Modules build out of tree in build/<kernel release>/ (a tree of symlinks
# to kmod/ and uapi/), so several kernels' objects never mix.
# "make -C $KDIR M=$PWD" from this directory also works (objects in kmod/).

KDIRS := $(if $(KDIR),$(KDIR),$(filter-out %-common,$(wildcard /usr/src/linux-headers-*-amd64)))
KTOOLS = $(shell tools/kernel-tools)
USERCFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror

PREFIX ?= /usr/local
MANDIR ?= $(PREFIX)/share/man
VERSION := $(shell cat VERSION)
MANPAGES := $(wildcard docs/man/*.[1-8])
DKMS_SRC := $(DESTDIR)/usr/src/afmux-$(VERSION)

.PHONY: all modules debug-module userspace selftests lint check bench deps clean \
	install uninstall install-module install-userspace install-man \
	dkms-source dkms-install dkms-uninstall

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
		-f $(filter-out kmod/compat.h kmod/takeover.c kmod/trace.h,$(wildcard kmod/*.c kmod/*.h kmod/test/*.c uapi/linux/*.h))
	@# trace.h is written in the TRACE_EVENT() layout of include/trace/events/.
	@kt=$(KTOOLS); $$kt/scripts/checkpatch.pl --strict --no-tree --quiet \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG,OPEN_ENDED_LINE,PARENTHESIS_ALIGNMENT \
		-f kmod/trace.h
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

install: install-module install-userspace install-man

install-module: modules
	tools/install-module $(KDIRS)

install-userspace: userspace
	$(MAKE) -C userspace-lib install PREFIX=$(PREFIX)

install-man:
	@for m in $(MANPAGES); do \
		s=$${m##*.}; \
		install -D -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/$${m##*/} || exit 1; \
	done

uninstall:
	tools/install-module --uninstall $(KDIRS)
	$(MAKE) -C userspace-lib uninstall PREFIX=$(PREFIX)
	@for m in $(MANPAGES); do \
		s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; \
	done

# The module's source as DKMS wants it; also what the afmux-dkms package
# ships (debian/rules).
dkms-source:
	install -d $(DKMS_SRC)/kmod/test $(DKMS_SRC)/uapi/linux
	install -m 644 Kbuild dkms.conf VERSION $(DKMS_SRC)/
	install -m 644 kmod/Kbuild kmod/*.c kmod/*.h $(DKMS_SRC)/kmod/
	install -m 644 kmod/test/*.c $(DKMS_SRC)/kmod/test/
	install -m 644 uapi/linux/afmux.h $(DKMS_SRC)/uapi/linux/

dkms-install: dkms-source
	dkms install afmux/$(VERSION)

dkms-uninstall:
	dkms remove afmux/$(VERSION) --all
	rm -rf $(DKMS_SRC)

bench: modules userspace
	$(MAKE) -C bench CFLAGS="$(USERCFLAGS)" run run-tls run-pool run-copy run-many

clean:
	rm -rf build
	$(MAKE) -C userspace-lib clean
	$(MAKE) -C selftests clean
	$(MAKE) -C bench clean
	$(MAKE) -C tools/fuzz clean
	$(MAKE) -C tools/syzkaller clean
	$(MAKE) -s -C $(firstword $(KDIRS)) M=$(CURDIR) clean 2>/dev/null || true
