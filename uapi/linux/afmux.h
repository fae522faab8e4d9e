/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * afmux: many keyed byte streams over one connected TCP socket.
 *
 * The address family number.  Linux has no spare AF_* numbers for an
 * out-of-tree module (AF_MAX is 46 and sock_register() rejects anything
 * above it), so afmux takes a number that the running kernel does not use.
 * By default that is AFMUX_FAMILY_DEFAULT (19, the old AF_ECONET, whose
 * implementation was removed in Linux 3.5).  The module parameter "family"
 * overrides it; the number in use is published in AFMUX_FAMILY_PATH, and
 * userspace must read it from there rather than assume the default.
 */
#ifndef _UAPI_LINUX_AFMUX_H
#define _UAPI_LINUX_AFMUX_H

#include <linux/types.h>

#define AFMUX_FAMILY_DEFAULT	19
#define AFMUX_FAMILY_PATH	"/sys/module/afmux/parameters/family"

#endif /* _UAPI_LINUX_AFMUX_H */
