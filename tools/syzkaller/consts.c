// SPDX-License-Identifier: GPL-2.0
/*
 * consts.c - print afmux.txt.const from uapi/linux/afmux.h, so that
 * "make -C tools/syzkaller check" (run by make check) catches a constant
 * that drifted from the header.
 */
#include <stdio.h>
#include <linux/afmux.h>

/* AFMUX_IOC_OPEN with a 40-byte struct: the extensible-size path. */
#define AFMUX_IOC_OPEN_BIG	_IOC(_IOC_READ | _IOC_WRITE, 0xaf, 2, 40)

#define C(name)	printf("%s = %lu\n", #name, (unsigned long)(name))

int main(void)
{
	printf("# Made by hand from uapi/linux/afmux.h (afmux is out of tree, so\n"
	       "# syz-extract cannot make it); check with tools/syzkaller/consts.c.\n"
	       "arches = amd64\n");
	C(AFMUX_FAMILY_DEFAULT);
	C(AFMUX_IOC_ACCEPT);
	C(AFMUX_IOC_ATTACH);
	C(AFMUX_IOC_OPEN);
	C(AFMUX_IOC_OPEN_BIG);
	C(AFMUX_KEEPALIVE);
	C(AFMUX_KEY_MAX);
	C(AFMUX_O_CLOEXEC);
	C(AFMUX_O_NONBLOCK);
	C(AFMUX_STATS);
	C(AFMUX_STREAM_INFO);
	C(AFMUX_WINDOW);
	C(AFMUX_WINDOW_MAX);
	C(AFMUX_WINDOW_MIN);
	C(SOL_AFMUX);
	return 0;
}
