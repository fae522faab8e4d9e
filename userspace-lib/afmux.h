/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * afmux.h - libafmux, the userspace side of AF_MUX.
 *
 * Errors are reported as -1 with errno set.
 */
#ifndef AFMUX_H
#define AFMUX_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The address family number the loaded module registered, read from
 * /sys/module/afmux/parameters/family.  -1 with errno ENOENT when the
 * module is not loaded (socket(2) on the default number would autoload
 * it; afmux_socket() tries that).
 */
int afmux_family(void);

/* A new mux socket: socket(afmux_family(), SOCK_STREAM | flags, 0). */
int afmux_socket(int flags);

#ifdef __cplusplus
}
#endif
#endif /* AFMUX_H */
