// SPDX-License-Identifier: LGPL-2.1-or-later
/* afmux.c - libafmux: finding the AF_MUX family and creating sockets. */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <linux/afmux.h>

#include "afmux.h"

int afmux_family(void)
{
	FILE *f = fopen(AFMUX_FAMILY_PATH, "re");
	int family = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &family) != 1 || family <= 0) {
		family = -1;
		errno = EIO;
	}
	fclose(f);
	return family;
}

int afmux_socket(int flags)
{
	int family = afmux_family();

	/* Not loaded yet: the default number autoloads the module. */
	if (family < 0 && errno == ENOENT)
		family = AFMUX_FAMILY_DEFAULT;
	if (family < 0)
		return -1;
	return socket(family, SOCK_STREAM | flags, 0);
}
