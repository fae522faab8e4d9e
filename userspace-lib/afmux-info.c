// SPDX-License-Identifier: GPL-2.0
/*
 * afmux-info.c - report whether AF_MUX works here: the family number in
 * use and whether a mux socket can be created.  Exit status 0 if it can.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "afmux.h"

int main(void)
{
	int fd = afmux_socket(SOCK_CLOEXEC);
	int err = errno;	/* afmux_family() would overwrite it */
	int family = afmux_family();

	if (fd < 0) {
		fprintf(stderr, "afmux-info: cannot create an AF_MUX socket: %s\n",
			strerror(err));
		return 1;
	}
	printf("AF_MUX is address family %d; mux socket created (fd %d)\n",
	       family, fd);
	close(fd);
	return 0;
}
