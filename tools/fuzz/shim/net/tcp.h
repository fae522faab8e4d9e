/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host shim (tools/fuzz): just enough of the socket types for compat.h's
 * inline helpers to compile; the codec never calls them.
 */
#ifndef _FUZZ_SHIM_NET_TCP_H
#define _FUZZ_SHIM_NET_TCP_H
#include <stddef.h>

#define ITER_SOURCE		1
#define MSG_SPLICE_PAGES	0x8000000

struct msghdr;
struct sock;
struct proto {
	int (*sendmsg)(struct sock *sk, struct msghdr *msg, size_t len);
};
struct sock {
	struct proto *sk_prot;
};
struct page;
struct bio_vec {
	struct page *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
};
struct iov_iter {
	int unused;
};
struct msghdr {
	int msg_flags;
	struct iov_iter msg_iter;
};

void iov_iter_bvec(struct iov_iter *i, unsigned int direction,
		   const struct bio_vec *bvec, unsigned long nr_segs,
		   size_t count);
int tcp_sendmsg_locked(struct sock *sk, struct msghdr *msg, size_t size);
#endif
