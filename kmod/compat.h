/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - every difference between the kernels afmux builds for
 * (Debian's 6.1 and 6.12), gated on LINUX_VERSION_CODE.  Nothing else in
 * the module tests kernel versions.
 */
#ifndef _AFMUX_COMPAT_H
#define _AFMUX_COMPAT_H

#include <linux/version.h>

/* 6.12 moved the unaligned accessors out of asm/. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#include <linux/net.h>
#include <linux/bvec.h>
#include <linux/uio.h>
#include <linux/socket.h>

/*
 * Hand @len bytes of @page at @off to TCP by reference.  6.1 has
 * ->sendpage; from 6.5 on the same is sendmsg(MSG_SPLICE_PAGES) over a
 * bvec (6.1 defines the flag, but its TCP ignores it).
 */
static inline int afmux_sendpage(struct socket *sock, struct page *page,
				 unsigned int off, size_t len, int flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	struct msghdr msg = { .msg_flags = flags | MSG_SPLICE_PAGES };
	struct bio_vec bv;

	bvec_set_page(&bv, page, len, off);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bv, 1, len);
	return sock_sendmsg(sock, &msg);
#else
	return kernel_sendpage(sock, page, off, len, flags);
#endif
}

#endif /* _AFMUX_COMPAT_H */
