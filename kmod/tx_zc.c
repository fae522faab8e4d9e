// SPDX-License-Identifier: GPL-2.0
/*
 * tx_zc.c - MSG_ZEROCOPY pages from a stream's write queue into TCP.
 *
 * TCP's skbs take the writer's pages by reference and hold the writer's
 * completion (its ubuf_info, made by msg_zerocopy_realloc() in
 * stream_tx.c), so the writer hears of completion only once TCP has let
 * go of the pages too - after the ACK - and TCP copies them, and says so,
 * where it must (a local receiver: skb_orphan_frags_rx()).
 *
 * 6.12's tcp_sendmsg_locked() takes a caller's ubuf_info as msg_ubuf and
 * leaves it alone when it fails.  6.1's takes one too, but when it sends
 * nothing it "aborts" it as if it had made it for this call
 * (msg_zerocopy_put_abort()): it gives a number back to the socket that
 * owns it and shrinks its range - the stream's, whose numbering would
 * then skip or repeat (and a full TCP fails that way every time).  So on
 * 6.1 TCP gets a ubuf_info of its own per frame, which holds the
 * stream's and passes on whether TCP had to copy.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "afmux.h"
#include "compat.h"

#if AFMUX_TCP_ABORTS_MSG_UBUF
/* What TCP's skbs hold on 6.1: a reference to the stream's completion. */
struct afmux_zc_ref {
	struct ubuf_info ubuf;
	struct ubuf_info *user;		/* the stream's: one reference */
	bool copied;			/* TCP copied some of the pages */
};

/*
 * The ubuf_info callback: each TCP skb that held the pages lets go of
 * them; the last passes the stream's completion on.  Any context.
 */
static void afmux_zc_ref_callback(struct sk_buff *skb, struct ubuf_info *ubuf,
				  bool success)
{
	struct afmux_zc_ref *ref = container_of(ubuf, struct afmux_zc_ref,
						ubuf);

	if (!success)
		WRITE_ONCE(ref->copied, true);
	/* Orders the copied stores of the others before our look. */
	if (!refcount_dec_and_test(&ubuf->refcnt))
		return;
	ref->user->callback(NULL, ref->user, !READ_ONCE(ref->copied));
	kfree(ref);
	/* TCP's skbs may outlive every mux: this code must outlive them. */
	module_put(THIS_MODULE);
}
#endif

/**
 * afmux_tx_send_zc - hand TCP a MSG_ZEROCOPY frame's pages
 * @tsk: the TCP socket, whose lock the caller holds
 * @bv: the pages
 * @n: how many entries of @bv
 * @size: their bytes
 * @flags: sendmsg flags (MSG_DONTWAIT, MSG_MORE...)
 * @uarg: the stream's completion for them
 *
 * Return: the bytes TCP took, or a negative errno if it took none (an
 * allocation failure on 6.1 is -EAGAIN: the pump tries again later).
 */
int afmux_tx_send_zc(struct sock *tsk, struct bio_vec *bv, unsigned int n,
		     size_t size, int flags, struct ubuf_info *uarg)
{
	struct msghdr msg = { .msg_flags = flags | MSG_ZEROCOPY };
	int ret;
#if AFMUX_TCP_ABORTS_MSG_UBUF
	struct afmux_zc_ref *ref;

	ref = kmalloc(sizeof(*ref), GFP_KERNEL);
	if (!ref)
		return -EAGAIN;
	ref->ubuf.callback = afmux_zc_ref_callback;
	ref->ubuf.flags = uarg->flags;
	refcount_set(&ref->ubuf.refcnt, 1);
	net_zcopy_get(uarg);
	ref->user = uarg;
	ref->copied = false;
	__module_get(THIS_MODULE);
	msg.msg_ubuf = &ref->ubuf;
#else
	msg.msg_ubuf = uarg;
#endif
	sock_owned_by_me(tsk);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, bv, n, size);
	ret = tcp_sendmsg_locked(tsk, &msg, size);
#if AFMUX_TCP_ABORTS_MSG_UBUF
	net_zcopy_put(&ref->ubuf);	/* ours; TCP's skbs hold theirs */
#endif
	return ret;
}
