/* SPDX-License-Identifier: GPL-2.0 */
/* Host shim (tools/fuzz). */
#ifndef _FUZZ_SHIM_LINUX_BITS_H
#define _FUZZ_SHIM_LINUX_BITS_H
#define BIT(n)	(1UL << (n))
#endif
