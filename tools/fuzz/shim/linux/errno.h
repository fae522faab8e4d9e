/* SPDX-License-Identifier: GPL-2.0 */
/* Host shim (tools/fuzz): the system's errno values. */
#include_next <linux/errno.h>
