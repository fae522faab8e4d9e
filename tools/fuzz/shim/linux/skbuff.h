/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host shim (tools/fuzz): an skb is a flat buffer; skb_copy_bits() checks
 * its bounds as the kernel's does.
 */
#ifndef _FUZZ_SHIM_LINUX_SKBUFF_H
#define _FUZZ_SHIM_LINUX_SKBUFF_H
#include <errno.h>
#include <string.h>
#include <linux/types.h>

struct sk_buff {
	const u8 *data;
	unsigned int len;
};

static inline int skb_copy_bits(const struct sk_buff *skb, int off, void *to,
				int len)
{
	if (off < 0 || len < 0 || (unsigned int)off + len > skb->len)
		return -EFAULT;
	memcpy(to, skb->data + off, len);
	return 0;
}
#endif
