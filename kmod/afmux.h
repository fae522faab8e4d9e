/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afmux.h - declarations shared by the afmux module's files.
 *
 * Objects: an AF_MUX socket ("mux socket") is the control socket of one
 * multiplexed connection.  For now it carries no state of its own.
 */
#ifndef _AFMUX_H
#define _AFMUX_H

#include <linux/types.h>

/* family.c: the AF_MUX socket family */
int afmux_family_check(int family);
int afmux_family_register(int family);
void afmux_family_unregister(int family);

#endif /* _AFMUX_H */
