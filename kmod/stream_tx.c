// SPDX-License-Identifier: GPL-2.0
/*
 * stream_tx.c - the transmit side of a stream: sendmsg copies the user's
 * bytes once into page fragments of an skb on sk_write_queue (or hands
 * them to TCP at once, afmux_tx_direct()), sendfile/splice and
 * MSG_ZEROCOPY queue page references, all within the credit the peer
 * granted and sk_sndbuf; the tx pump (tx.c) hands those pages to TCP and
 * is the only one to unlink from the write queue.
 */
#include <linux/net.h>
#include <linux/sched/signal.h>
#include <linux/bvec.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "afmux.h"
#include "compat.h"
#include "frame.h"
#include "window.h"
#include "trace.h"

/*
 * The peer's credit not yet used by queued bytes.  Lockless: the writer
 * rechecks under conn->lock.  Pairs with the WRITE_ONCE()s of tx_limit
 * (rx.c) and tx_accepted (below).
 */
static u32 stream_tx_credit(const struct afmux_stream *st)
{
	return afmux_credit(READ_ONCE(st->tx_limit),
			    READ_ONCE(st->tx_accepted));
}

/* Bytes sendmsg may take now: credit, while the queue fits sk_sndbuf. */
u32 afmux_stream_tx_space(struct afmux_stream *st)
{
	struct sock *sk = &st->sk;

	if (atomic_read(&st->tx_mem) >= READ_ONCE(sk->sk_sndbuf))
		return 0;
	return stream_tx_credit(st);
}

/*
 * Space came back (credit, or queue memory).  As TCP does, wake only a
 * writer that found none: one whose poll or sendmsg set SOCK_NOSPACE.
 * Waking on every freed skb would hand an edge-triggered epoll loop an
 * EPOLLOUT, and a wake-up, per frame sent.  The socket (its inode) is
 * freed after an RCU grace period, so sk_socket may be read under RCU.
 */
void afmux_stream_write_space(struct sock *sk)
{
	struct socket_wq *wq;
	struct socket *sock;

	smp_mb();	/* space, then SOCK_NOSPACE: afmux_stream_set_nospace() */
	rcu_read_lock();
	sock = READ_ONCE(sk->sk_socket);
	if (sock && test_bit(SOCK_NOSPACE, &sock->flags) &&
	    afmux_stream_tx_space(afmux_stream(sk))) {
		clear_bit(SOCK_NOSPACE, &sock->flags);
		wq = rcu_dereference(sk->sk_wq);
		if (skwq_has_sleeper(wq))
			wake_up_interruptible_sync_poll(&wq->wait, EPOLLOUT |
						EPOLLWRNORM | EPOLLWRBAND);
		if (wq && wq->fasync_list)
			sk_wake_async(sk, SOCK_WAKE_SPACE, POLL_OUT);
	}
	rcu_read_unlock();
}

/**
 * afmux_stream_set_nospace - the writer found no space: ask for a wake-up
 * @sk: the stream
 * @sock: its socket
 *
 * Return: whether there is space after all (it came back meanwhile).
 */
bool afmux_stream_set_nospace(struct sock *sk, struct socket *sock)
{
	sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
	set_bit(SOCK_NOSPACE, &sock->flags);
	smp_mb__after_atomic();	/* pairs with afmux_stream_write_space() */
	return afmux_stream_tx_space(afmux_stream(sk));
}

/* Destructor of write-queue skbs: give the space back to the writer. */
static void stream_wfree(struct sk_buff *skb)
{
	struct sock *sk = skb->sk;

	atomic_sub(skb->truesize, &afmux_stream(sk)->tx_mem);
	atomic_sub(skb->truesize, &afmux_stream(sk)->conn->tx_queued);
	sk->sk_write_space(sk);
}

/* Wait until afmux_stream_tx_space() or an error; caller holds the lock. */
static int stream_wait_space(struct sock *sk, long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct afmux_stream *st = afmux_stream(sk);
	int err = 0;

	sock_owned_by_me(sk);
	add_wait_queue(sk_sleep(sk), &wait);
	for (;;) {
		if (sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN)) {
			err = -EPIPE;
			break;
		}
		if (afmux_stream_set_nospace(sk, sk->sk_socket))
			break;
		if (!*timeo) {
			err = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			err = sock_intr_errno(*timeo);
			break;
		}
		if (sk_wait_event(sk, timeo, afmux_stream_tx_space(st) ||
				  sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN),
				  &wait) && afmux_stream_tx_space(st))
			break;
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

/* Can the writer still queue data?  Caller holds conn->lock. */
static bool stream_can_send(const struct afmux_stream *st)
{
	lockdep_assert_held(&st->conn->lock);
	return !afmux_stream_tx_done(st) && !test_bit(AFMUX_C_FAILED, &st->conn->flags) &&
	       !test_bit(AFMUX_ST_RESET_WANTED, &st->flags);
}

/*
 * Credit the writer may use now, waiting for some if there is none.
 * Returns it, or -EPIPE, -EAGAIN, -EINTR/-ERESTARTSYS.  Caller holds the
 * socket lock.
 */
static long stream_send_space(struct sock *sk, long *timeo)
{
	struct afmux_stream *st = afmux_stream(sk);
	bool stalled = false;
	long err;
	u32 space;

	sock_owned_by_me(sk);
	for (;;) {
		if (sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN))
			return -EPIPE;
		space = afmux_stream_tx_space(st);
		if (space)
			return space;
		if (!stalled && !stream_tx_credit(st)) {
			stalled = true;	/* once per call, not per wake-up */
			afmux_count(st->conn, AFMUX_MIB_WINDOW_STALLS);
			trace_afmux_window_stall(st);
		}
		afmux_tx_kick(st->conn);
		err = stream_wait_space(sk, timeo);
		if (err)
			return err;
	}
}

/*
 * Charge @skb (payload in page fragments, @by_ref: the caller's pages) to
 * the writer and queue it.
 */
static int stream_queue_skb(struct afmux_stream *st, struct sk_buff *skb,
			    bool by_ref)
{
	struct afmux_conn *conn = st->conn;
	struct sock *sk = &st->sk;

	skb->sk = sk;
	skb->destructor = stream_wfree;
	atomic_add(skb->truesize, &st->tx_mem);
	atomic_add(skb->truesize, &conn->tx_queued);
	afmux_tx_cb_init(skb);

	spin_lock_bh(&conn->lock);
	if (!stream_can_send(st)) {
		spin_unlock_bh(&conn->lock);
		kfree_skb(skb);
		return -EPIPE;
	}
	WRITE_ONCE(st->tx_accepted, st->tx_accepted + skb->len);
	st->tx_bytes += skb->len;
	if (by_ref)
		conn->stats.bytes_tx_by_ref += skb->len;
	skb_queue_tail(&sk->sk_write_queue, skb);
	__afmux_tx_want(conn, st);
	spin_unlock_bh(&conn->lock);
	return 0;
}

/*
 * Queue @size bytes of @page at @off; the caller's page reference passes
 * to the write queue (or is dropped on error).  Pages are appended to the
 * last queued skb while the pump has not picked it, so pages that come a
 * piece at a time still make full-sized frames.  @by_ref: the caller's
 * own page (sendfile, splice, MSG_ZEROCOPY), not one we copied into;
 * @uarg: MSG_ZEROCOPY's completion for it (an skb carries pages of one
 * completion, or none).
 */
static int stream_queue_page(struct afmux_stream *st, struct page *page,
			     unsigned int off, unsigned int size, bool by_ref,
			     struct ubuf_info *uarg)
{
	struct afmux_conn *conn = st->conn;
	struct sock *sk = &st->sk;
	struct sk_buff *skb;
	int i;

	spin_lock_bh(&conn->lock);
	skb = skb_peek_tail(&sk->sk_write_queue);
	if (stream_can_send(st) && skb && !afmux_tx_cb(skb)->picked &&
	    !skb_headlen(skb) && skb_zcopy(skb) == uarg &&
	    skb->len + size <= AFMUX_DATA_SEND_MAX) {
		i = skb_shinfo(skb)->nr_frags;
		if (skb_can_coalesce(skb, i, page, off)) {
			skb_frag_size_add(&skb_shinfo(skb)->frags[i - 1], size);
			put_page(page);
		} else if (i < MAX_SKB_FRAGS) {
			skb_fill_page_desc(skb, i, page, off, size);
		} else {
			skb = NULL;
		}
		if (skb) {
			skb->len += size;
			skb->data_len += size;
			skb->truesize += size;
			atomic_add(size, &st->tx_mem);
			atomic_add(size, &conn->tx_queued);
			WRITE_ONCE(st->tx_accepted, st->tx_accepted + size);
			st->tx_bytes += size;
			if (by_ref)
				conn->stats.bytes_tx_by_ref += size;
			spin_unlock_bh(&conn->lock);
			return 0;
		}
	}
	spin_unlock_bh(&conn->lock);

	skb = alloc_skb(0, sk->sk_allocation);
	if (!skb) {
		afmux_count(conn, AFMUX_MIB_ALLOC_FAILURES);
		put_page(page);
		return -ENOMEM;
	}
	skb_fill_page_desc(skb, 0, page, off, size);
	skb->len = size;
	skb->data_len = size;
	skb->truesize += size;
	if (uarg)
		skb_zcopy_set(skb, uarg, NULL);
	return stream_queue_skb(st, skb, by_ref);
}

/*
 * Writes up to this size are copied into a linear skb, which the pump
 * copies into TCP with the frame header: cheaper than page fragments
 * handed over by reference.
 */
#define AFMUX_TX_COPYBREAK	1024

/*
 * Copy @n bytes from @from to the write queue: @n, fewer, or -errno if
 * none; @from is left just after what was queued.  Larger writes go into
 * the writer's page fragment (as TCP's sendmsg does), whose pages are
 * reused once TCP and the peer let go of them - fresh pages would each be
 * zeroed first (Debian's init_on_alloc).
 */
static int stream_queue_copy(struct afmux_stream *st, struct iov_iter *from,
			     size_t n)
{
	struct sock *sk = &st->sk;
	struct page_frag *pfrag;
	struct sk_buff *skb;
	size_t done = 0;
	int err = 0;

	if (n <= AFMUX_TX_COPYBREAK) {
		skb = alloc_skb(n, sk->sk_allocation);
		if (!skb) {
			afmux_count(st->conn, AFMUX_MIB_ALLOC_FAILURES);
			return -ENOMEM;
		}
		if (copy_from_iter(skb_put(skb, n), n, from) != n) {
			kfree_skb(skb);
			return -EFAULT;
		}
		err = stream_queue_skb(st, skb, false);
		return err ? err : n;
	}
	pfrag = sk_page_frag(sk);
	while (done < n) {
		unsigned int off;
		size_t copy, got;
		struct page *page;

		/* Not sk_page_frag_refill(): it would shrink sk_sndbuf */
		if (!skb_page_frag_refill(32U, pfrag, sk->sk_allocation)) {
			afmux_count(st->conn, AFMUX_MIB_ALLOC_FAILURES);
			err = -ENOMEM;
			break;
		}
		page = pfrag->page;
		off = pfrag->offset;
		copy = min_t(size_t, n - done, pfrag->size - off);
		got = copy_page_from_iter(page, off, copy, from);
		if (got != copy) {
			iov_iter_revert(from, got);
			err = -EFAULT;
			break;
		}
		/* Ours before anything that allocates can reuse the frag */
		pfrag->offset += copy;
		get_page(page);
		err = stream_queue_page(st, page, off, copy, false, NULL);
		if (err) {
			/* The caller goes on from what was queued. */
			iov_iter_revert(from, copy);
			break;
		}
		done += copy;
	}
	return done ? done : err;
}

/*
 * Take up to @n bytes of a bvec iterator (sendfile, splice) or of user
 * memory (MSG_ZEROCOPY, whose completion is @uarg) by page reference.
 * Returns the bytes taken, 0 if the next page cannot be sent by reference
 * (slab memory: the caller copies it), or -errno.
 */
static ssize_t stream_queue_pages(struct afmux_stream *st,
				  struct iov_iter *from, size_t n,
				  struct ubuf_info *uarg)
{
	struct page *pages[16];
	size_t start, off, done = 0;
	unsigned int i = 0, nr;
	ssize_t got;
	int err = 0;

	got = iov_iter_get_pages2(from, pages, n, ARRAY_SIZE(pages), &start);
	if (got <= 0)
		return got ? got : -EFAULT;
	nr = DIV_ROUND_UP(start + got, PAGE_SIZE);
	off = start;
	while (done < got) {
		size_t len = min_t(size_t, PAGE_SIZE - off, got - done);

		if (!sendpage_ok(pages[i]))
			break;
		err = stream_queue_page(st, pages[i++], off, len, true, uarg);
		if (err)
			break;
		done += len;
		off = 0;
	}
	if (done < got) {
		/* Give back what was not queued. */
		iov_iter_revert(from, got - done);
		while (i < nr)
			put_page(pages[i++]);
	}
	return done ? done : err;
}

/*
 * MSG_ZEROCOPY's completion for a send of @len bytes that will be copied
 * (@copy) or sent by reference: a new one, or the last queued skb's,
 * which then covers this send too, as TCP's sendmsg does (each takes
 * optmem: one per send would run out with a few dozen in flight).  NULL
 * if there is no optmem or RLIMIT_MEMLOCK is reached (-ENOBUFS).  A new
 * one for a copy says so at once (SO_EE_CODE_ZEROCOPY_COPIED), while
 * nothing else holds it.  Caller holds the socket lock.
 */
static struct ubuf_info *stream_zc_begin(struct afmux_stream *st,
					 size_t len, bool copy)
{
	struct sock *sk = &st->sk;
	struct ubuf_info *tail = NULL, *uarg;
	struct sk_buff *skb;

	sock_owned_by_me(sk);
	spin_lock_bh(&st->conn->lock);
	skb = skb_peek_tail(&sk->sk_write_queue);
	if (skb && !afmux_tx_cb(skb)->picked && skb_zcopy(skb)) {
		tail = skb_zcopy(skb);
		net_zcopy_get(tail);	/* the pump may send it meanwhile */
	}
	spin_unlock_bh(&st->conn->lock);
	uarg = msg_zerocopy_realloc(sk, len, tail);
	if (uarg && uarg != tail && copy)
		uarg_to_msgzc(uarg)->zerocopy = 0;
	if (tail)
		net_zcopy_put(tail);
	return uarg;
}

/*
 * The body of sendmsg and sendpage.  A bvec iterator with
 * MSG_SPLICE_PAGES (sendfile, splice), and a write larger than
 * AFMUX_TX_COPYBREAK with MSG_ZEROCOPY on a stream with SO_ZEROCOPY, are
 * queued by page reference; a small write goes straight to TCP if it can
 * (afmux_tx_direct()); anything else is copied to the write queue.
 * @push: start the pump when done (not while the caller has more pages of
 * the same splice to come).
 */
static int stream_send(struct sock *sk, struct msghdr *msg, size_t len,
		       bool push)
{
	struct afmux_stream *st = afmux_stream(sk);
	bool by_ref = (msg->msg_flags & MSG_SPLICE_PAGES) &&
		      iov_iter_is_bvec(&msg->msg_iter);
	struct ubuf_info *uarg = NULL;
	size_t sent = 0, direct = 0;
	long timeo, ret = 0;
	bool zc = false;

	if (msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;

	lock_sock(sk);
	if ((msg->msg_flags & MSG_ZEROCOPY) && len && !by_ref &&
	    sock_flag(sk, SOCK_ZEROCOPY) && user_backed_iter(&msg->msg_iter)) {
		/* Over kTLS the pages are free once kTLS has encrypted. */
		zc = len > AFMUX_TX_COPYBREAK;
		uarg = stream_zc_begin(st, len, !zc || st->conn->ktls);
		if (!uarg) {
			release_sock(sk);
			return -ENOBUFS;
		}
	}
	timeo = sock_sndtimeo(sk, msg->msg_flags & MSG_DONTWAIT);
	while (sent < len) {
		size_t n;

		ret = stream_send_space(sk, &timeo);
		if (ret < 0)
			break;
		n = min3(len - sent, (size_t)ret, (size_t)AFMUX_DATA_SEND_MAX);
		if (by_ref || zc) {
			ret = stream_queue_pages(st, &msg->msg_iter, n, uarg);
			if (!ret) {	/* slab memory: copied below */
				afmux_count(st->conn, AFMUX_MIB_TX_COPIES);
				if (uarg)
					uarg_to_msgzc(uarg)->zerocopy = 0;
			}
		} else if (n == len) {
			direct = afmux_tx_direct(st, &msg->msg_iter, n);
			ret = direct;
		} else {
			ret = 0;
		}
		if (!ret)
			ret = stream_queue_copy(st, &msg->msg_iter, n);
		if (ret < 0)
			break;
		sent += ret;
	}
	if (uarg) {
		if (sent)
			net_zcopy_put(uarg);
		else
			net_zcopy_put_abort(uarg, true);
	}
	release_sock(sk);
	if (sent > direct && (push || sent < len))
		afmux_tx_kick(st->conn);
	if (sent)
		return sent;
	if (ret == -EPIPE && !(msg->msg_flags & MSG_NOSIGNAL))
		send_sig(SIGPIPE, current, 0);
	return ret;
}

int afmux_stream_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	return stream_send(sock->sk, msg, len, true);
}

#if AFMUX_HAVE_SENDPAGE
ssize_t afmux_stream_sendpage(struct socket *sock, struct page *page,
			      int offset, size_t size, int flags)
{
	struct msghdr msg = {
		.msg_flags = (flags & ~MSG_SENDPAGE_NOTLAST) | MSG_SPLICE_PAGES,
	};
	struct bio_vec bv;

	bvec_set_page(&bv, page, size, offset);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bv, 1, size);
	return stream_send(sock->sk, &msg, size,
			   !(flags & MSG_SENDPAGE_NOTLAST));
}
#endif
