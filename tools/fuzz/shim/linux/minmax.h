/* SPDX-License-Identifier: GPL-2.0 */
/* Host shim (tools/fuzz). */
#ifndef _FUZZ_SHIM_LINUX_MINMAX_H
#define _FUZZ_SHIM_LINUX_MINMAX_H
#define min_t(t, a, b)	((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#endif
