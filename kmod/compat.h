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
#include <net/net_namespace.h>
#include <net/tcp.h>

/*
 * Hand @len bytes described by @bv[0..@n) to the TCP socket @tsk, whose
 * lock the caller holds, by page reference.  6.1 has ->sendpage; from 6.5
 * on the same is sendmsg(MSG_SPLICE_PAGES) over a bvec (6.1 defines the
 * flag, but its TCP ignores it).  Returns the bytes TCP took (perhaps
 * fewer than @len) or, if it took none, a negative errno.
 */
static inline int afmux_tcp_sendpages_locked(struct sock *tsk,
					     struct bio_vec *bv,
					     unsigned int n, size_t len,
					     int flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	struct msghdr msg = { .msg_flags = flags | MSG_SPLICE_PAGES };

	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, bv, n, len);
	return tcp_sendmsg_locked(tsk, &msg, len);
#else
	unsigned int i;
	int done = 0;

	for (i = 0; i < n; i++) {
		int more = i + 1 < n ? MSG_MORE | MSG_SENDPAGE_NOTLAST : 0;
		int ret = tcp_sendpage_locked(tsk, bv[i].bv_page,
					      bv[i].bv_offset, bv[i].bv_len,
					      flags | more);

		if (ret < 0)
			return done ? done : ret;
		done += ret;
		if (ret < bv[i].bv_len)
			break;
	}
	return done;
#endif
}

/*
 * The same into a kTLS socket, whose lock the caller does not hold (kTLS
 * takes it): kTLS takes references to the pages into its records, and
 * keeps a record open while MSG_MORE (6.1's sendpage:
 * MSG_SENDPAGE_NOTLAST) says more follows.
 */
static inline int afmux_tls_sendpages(struct sock *tsk, struct bio_vec *bv,
				      unsigned int n, size_t len, int flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	struct msghdr msg = { .msg_flags = flags | MSG_SPLICE_PAGES };

	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, bv, n, len);
	return tsk->sk_prot->sendmsg(tsk, &msg, len);
#else
	unsigned int i;
	int done = 0;

	for (i = 0; i < n; i++) {
		int more = i + 1 < n || (flags & MSG_MORE) ?
			   MSG_SENDPAGE_NOTLAST : 0;
		int ret = tsk->sk_prot->sendpage(tsk, bv[i].bv_page,
						 bv[i].bv_offset,
						 bv[i].bv_len,
						 (flags & ~MSG_MORE) | more);

		if (ret < 0)
			return done ? done : ret;
		done += ret;
		if (ret < bv[i].bv_len)
			break;
	}
	return done;
#endif
}

/*
 * kTLS reads decrypted records into a read_sock actor from 6.5 on
 * (tls_sw_read_sock()); 6.1's has only recvmsg and splice_read.
 */
#define AFMUX_HAVE_TLS_READ_SOCK \
	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0))

/*
 * Before 6.5, sendfile and splice hand a socket pages through
 * proto_ops->sendpage, a page at a time (MSG_SENDPAGE_NOTLAST when more
 * of the same splice follows); from 6.5 on through sendmsg with
 * MSG_SPLICE_PAGES over a bvec.
 */
#define AFMUX_HAVE_SENDPAGE	(LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0))

/*
 * Register @n entries of @table (followed by an empty sentinel) under
 * @path in @net.  6.6 took the size as an argument and stopped needing
 * the sentinel.
 */
static inline struct ctl_table_header *
afmux_register_net_sysctl(struct net *net, const char *path,
			  struct ctl_table *table, size_t n)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	return register_net_sysctl_sz(net, path, table, n);
#else
	return register_net_sysctl(net, path, table);
#endif
}

/*
 * From 6.5 on a socket may take its SOL_SOCKET options itself
 * (SOCK_CUSTOM_SOCKOPT): then SO_ZEROCOPY, which the core allows only
 * TCP, UDP and RDS sockets, reaches the stream's setsockopt.  6.1 hands
 * SOL_SOCKET to the core alone; there only AFMUX_ZEROCOPY sets the flag.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
#define afmux_sock_own_sol_socket(sock) \
	set_bit(SOCK_CUSTOM_SOCKOPT, &(sock)->flags)
#else
#define afmux_sock_own_sol_socket(sock) do { } while (0)
#endif

/*
 * 6.1's tcp_sendmsg_locked(), when it sends nothing, aborts a msg_ubuf as
 * if it had made it (msg_zerocopy_put_abort()); 6.12's leaves a caller's
 * alone (tx_zc.c).  The change lies between; 6.10 replaced ubuf_info's
 * callback, which the 6.1 code uses, with ops.
 */
#define AFMUX_TCP_ABORTS_MSG_UBUF \
	(LINUX_VERSION_CODE < KERNEL_VERSION(6, 10, 0))

#endif /* _AFMUX_COMPAT_H */
