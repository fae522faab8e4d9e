// SPDX-License-Identifier: GPL-2.0
/*
 * stream_rx.c - the receive side of a stream: rx.c queues clones of the
 * TCP skbs on sk_receive_queue (afmux_stream_rx_queue()), each with the
 * range of its payload in struct afmux_rx_cb, or copies of small pieces;
 * recvmsg and splice_read hand them to the user (the only copy) and
 * grant credit back (WINDOW), charged to the connection's receive budget
 * and autotuned.  Readers are serialised by the stream's socket lock and
 * are the only ones to unlink from the receive queue.
 */
#include <linux/net.h>
#include <linux/sched/signal.h>
#include <linux/splice.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "afmux.h"
#include "compat.h"
#include "frame.h"
#include "window.h"

/*
 * The credit loop's round trip is TCP's smoothed RTT - but never taken
 * as less than this: on a local link the scheduler, not the wire, sets
 * how long a grant takes to come back as data.
 */
#define AFMUX_AUTOTUNE_MIN_RTT_NS	(1 * NSEC_PER_MSEC)

/*
 * Receive window autotuning, once per epoch of half a window consumed:
 * double the window while the reader keeps up with a window that fills
 * in under two round trips, up to the bound TCP's own receive autotuning
 * has (net.ipv4.tcp_rmem[2]); fall back to the connection's window under
 * TCP memory pressure.  A window the user set stays.  Grants already
 * made stand either way.  Caller holds conn->lock.
 */
static void stream_autotune(struct afmux_stream *st)
{
	struct afmux_conn *conn = st->conn;
	struct sock *tsk = conn->tsk;
	u32 bytes = st->rx_consumed - st->rx_epoch_consumed;
	u32 base = READ_ONCE(conn->window), max;
	u64 now, rtt;

	lockdep_assert_held(&conn->lock);
	if (bytes <= st->rx_window / 2 ||
	    test_bit(AFMUX_ST_WINDOW_SET, &st->flags))
		return;
	now = ktime_get_ns();
	rtt = (u64)(READ_ONCE(tcp_sk(tsk)->srtt_us) >> 3) * NSEC_PER_USEC;
	rtt = clamp_t(u64, rtt, AFMUX_AUTOTUNE_MIN_RTT_NS, NSEC_PER_SEC);
	max = min(READ_ONCE(sock_net(tsk)->ipv4.sysctl_tcp_rmem[2]),
		  READ_ONCE(afmux_net(sock_net(&conn->sk))->window_max));
	max = clamp_t(u32, max, base, AFMUX_WINDOW_MAX);
	if (tcp_under_memory_pressure(tsk) || afmux_memory_pressure())
		st->rx_window = min(st->rx_window, base);
	else if (afmux_window_should_grow(bytes, st->rx_window,
					  now - st->rx_epoch_ns, rtt))
		st->rx_window = min(2 * st->rx_window, max);
	st->rx_epoch_ns = now;
	st->rx_epoch_consumed = st->rx_consumed;
}

/*
 * Room left in the connection's receive budget: net.afmux.conn_mem_max,
 * but never less than one initial window for the first stream (the
 * sysctl may have been lowered below what is charged).  In a pool the
 * budget is the pool's (§12.4): each connection checks it under its own
 * lock, so connections charging at once may pass it by a grant each.
 */
static u32 stream_room(const struct afmux_conn *conn)
{
	u32 cap = READ_ONCE(afmux_net(sock_net(&conn->sk))->conn_mem_max);
	struct afmux_pool *pool = afmux_conn_pool(conn);
	u32 used = pool ? (u32)atomic_read(&pool->rx_charged) :
			  conn->rx_charged;

	lockdep_assert_held(&conn->lock);
	cap = max(cap, conn->window);
	return cap > used ? cap - used : 0;
}

/* Add @delta (may wrap: a decrease) to what @conn and its pool hold. */
static void stream_charged_add(struct afmux_conn *conn, u32 delta)
{
	struct afmux_pool *pool = afmux_conn_pool(conn);

	lockdep_assert_held(&conn->lock);
	conn->rx_charged += delta;
	if (pool)
		atomic_add((int)delta, &pool->rx_charged);
}

/**
 * __afmux_stream_admit - charge a new stream's initial window
 * @st: a stream about to enter its connection's table
 *
 * The initial window is credit the peer holds from the stream's first
 * frame, so it is charged to the connection's receive budget before the
 * stream exists for the peer.  Caller holds conn->lock.
 *
 * Return: false if the budget (net.afmux.conn_mem_max) has no room.
 */
bool __afmux_stream_admit(struct afmux_stream *st)
{
	struct afmux_conn *conn = st->conn;

	lockdep_assert_held(&conn->lock);
	if (st->rx_limit > stream_room(conn) ||
	    !afmux_memory_charge(conn, st->rx_limit))
		return false;
	st->rx_charge = st->rx_limit;
	stream_charged_add(conn, st->rx_charge);
	return true;
}

/* Give back what __afmux_stream_admit() and grants charged. */
void __afmux_stream_uncharge(struct afmux_stream *st)
{
	lockdep_assert_held(&st->conn->lock);
	afmux_memory_uncharge(st->conn, st->rx_charge);
	stream_charged_add(st->conn, -st->rx_charge);
	st->rx_charge = 0;
}

/*
 * A grant up to @next lets the peer send, and us hold, up to @next -
 * rx_consumed bytes: charge that to the connection's receive budget,
 * cutting the grant to what fits.  What is outstanding stays charged,
 * and so does min(window, initial window), which the stream was
 * admitted with: a stream whose reader keeps up never waits for others'
 * charges to go.  Returns the limit to grant.  Caller holds conn->lock.
 */
static u32 stream_charge(struct afmux_stream *st, u32 next)
{
	struct afmux_conn *conn = st->conn;
	u32 want = next - st->rx_consumed;
	u32 floor = min(st->rx_window, conn->window);
	u32 keep = max3(want, floor, st->rx_limit - st->rx_consumed);
	u32 more;

	lockdep_assert_held(&conn->lock);
	if (keep <= st->rx_charge) {
		afmux_memory_uncharge(conn, st->rx_charge - keep);
		stream_charged_add(conn, -(st->rx_charge - keep));
		st->rx_charge = keep;
		return next;
	}
	more = min(keep - st->rx_charge, stream_room(conn));
	if (more && !afmux_memory_charge(conn, more))
		more = 0;
	st->rx_charge += more;
	stream_charged_add(conn, more);
	if (st->rx_charge >= want)
		return next;
	conn->stats.grants_capped++;
	afmux_count(conn, AFMUX_MIB_GRANTS_CAPPED);
	/* What fits, once it is worth a frame. */
	next = st->rx_consumed + st->rx_charge;
	if ((s32)(next - st->rx_limit) < (s32)(floor / 2))
		return st->rx_limit;
	return next;
}

/*
 * The reader consumed @n bytes: grant more credit when it is worth a
 * frame.  Returns true if the pump has new work.  Caller holds the
 * stream's socket lock.
 */
bool afmux_stream_consumed(struct afmux_stream *st, u32 n)
{
	struct afmux_conn *conn = st->conn;
	bool kick = false;
	u32 next;

	sock_owned_by_me(&st->sk);
	st->rx_consumed += n;
	/* Most reads: neither a grant nor an autotuning epoch is due. */
	if ((st->rx_consumed - st->rx_epoch_consumed <= st->rx_window / 2 ||
	     test_bit(AFMUX_ST_WINDOW_SET, &st->flags)) &&
	    afmux_window_next(st->rx_limit, st->rx_consumed,
			      st->rx_window) == st->rx_limit)
		return false;
	spin_lock_bh(&conn->lock);
	stream_autotune(st);
	/* Out of the table its charge is given back: grant nothing. */
	if (afmux_stream_rx_done(st) || !test_bit(AFMUX_ST_IN_TABLE, &st->flags)) {
		spin_unlock_bh(&conn->lock);
		return false;
	}
	next = afmux_window_next(st->rx_limit, st->rx_consumed, st->rx_window);
	next = stream_charge(st, next);
	if (next != st->rx_limit) {
		st->rx_limit = next;
		afmux_stream_set(st, AFMUX_ST_WINDOW_WANTED);
		__afmux_tx_want(conn, st);
		kick = true;
	}
	spin_unlock_bh(&conn->lock);
	return kick;
}

/*
 * How much truesize a stream's receive queue may reach by referencing
 * TCP's skbs.  A clone charges its parent's whole truesize, so many small
 * frames cut from large TCP skbs weigh far more than their payload;
 * beyond this budget (and for every small piece) the payload is copied
 * into compact skbs instead, so a stream never holds much more than its
 * window however the peer cuts its frames.
 */
static unsigned int stream_rx_budget(const struct afmux_stream *st)
{
	return 2 * READ_ONCE(st->rx_window) + AFMUX_DATA_SEND_MAX;
}

/* Below this, payload is copied (and coalesced) rather than referenced. */
#define AFMUX_RX_COPYBREAK	256
/*
 * Size of the skbs small pieces are coalesced into: one page with its
 * overhead, which netdev_alloc_skb() carves from a per-CPU page fragment
 * cache.  Those pages are reused once their pieces are freed; a kmalloc()
 * buffer would be zeroed on every allocation (Debian's init_on_alloc),
 * which cost more than the copy for each 64-byte message.
 */
#define AFMUX_RX_COPY_SIZE	(SKB_WITH_OVERHEAD(PAGE_SIZE) - NET_SKB_PAD)

/* Largest piece stream_rx_copy() takes (alloc_skb_with_frags' limit). */
#define AFMUX_RX_COPY_MAX	(16 * PAGE_SIZE)

/* A compact copy of @len (<= AFMUX_RX_COPY_MAX) bytes of @skb at @off. */
static struct sk_buff *stream_rx_copy(struct sk_buff *skb,
				      unsigned int off, unsigned int len)
{
	struct sk_buff *nskb;
	unsigned int i, done = 0;
	int err;

	if (len <= AFMUX_RX_COPY_SIZE) {
		nskb = netdev_alloc_skb(NULL, AFMUX_RX_COPY_SIZE);
		if (nskb && skb_copy_bits(skb, off, skb_put(nskb, len), len))
			goto err_free;
		return nskb;
	}
	nskb = alloc_skb_with_frags(0, len, 0, &err, GFP_ATOMIC);
	if (!nskb)
		return NULL;
	nskb->data_len = len;
	nskb->len = len;
	for (i = 0; i < skb_shinfo(nskb)->nr_frags; i++) {
		skb_frag_t *frag = &skb_shinfo(nskb)->frags[i];

		if (skb_copy_bits(skb, off + done, skb_frag_address(frag),
				  skb_frag_size(frag)))
			goto err_free;
		done += skb_frag_size(frag);
	}
	return nskb;

err_free:
	kfree_skb(nskb);
	return NULL;
}

/* Queue one piece: a clone of TCP's skb, or a compact copy. */
static int stream_rx_queue(struct afmux_stream *st, struct sk_buff *skb,
			   unsigned int off, unsigned int len)
{
	struct sock *sk = &st->sk;
	struct sk_buff_head *q = &sk->sk_receive_queue;
	struct afmux_rx_cb *cb;
	struct sk_buff *nskb;
	bool copy;

	if (test_bit(AFMUX_ST_CLOSED, &st->flags))
		return -EPIPE;
	copy = len < AFMUX_RX_COPYBREAK ||
	       atomic_read(&sk->sk_rmem_alloc) + skb->truesize > stream_rx_budget(st);
	if (copy) {
		/* Append to the last copy if it has room. */
		spin_lock_bh(&q->lock);
		nskb = skb_peek_tail(q);
		if (test_bit(AFMUX_ST_CLOSED, &st->flags)) {
			spin_unlock_bh(&q->lock);
			return -EPIPE;
		}
		if (nskb && afmux_rx_cb(nskb)->copy &&
		    !skb_is_nonlinear(nskb) && skb_tailroom(nskb) >= len &&
		    !skb_copy_bits(skb, off, skb_put(nskb, len), len)) {
			afmux_rx_cb(nskb)->len += len;
			spin_unlock_bh(&q->lock);
			return 0;
		}
		spin_unlock_bh(&q->lock);
	}
	if (copy) {
		/* Over the budget a clone would pin: a copy, not a ref. */
		if (len >= AFMUX_RX_COPYBREAK)
			afmux_count(st->conn, AFMUX_MIB_RX_COPIES);
		nskb = stream_rx_copy(skb, off, len);
		off = 0;
	} else {
		nskb = skb_clone(skb, GFP_ATOMIC);
	}
	if (!nskb) {
		afmux_count(st->conn, AFMUX_MIB_ALLOC_FAILURES);
		return -ENOMEM;
	}
	cb = afmux_rx_cb(nskb);
	cb->off = off;
	cb->len = len;
	cb->copy = copy;
	skb_set_owner_r(nskb, sk);
	/* CLOSED is set under this lock before the reader's purge. */
	spin_lock_bh(&q->lock);
	if (test_bit(AFMUX_ST_CLOSED, &st->flags)) {
		spin_unlock_bh(&q->lock);
		kfree_skb(nskb);
		return -EPIPE;
	}
	__skb_queue_tail(q, nskb);
	spin_unlock_bh(&q->lock);
	return 0;
}

/**
 * afmux_stream_rx_queue - queue @len payload bytes of @skb at @off
 * @st: the stream they belong to
 * @skb: TCP's skb (not consumed)
 * @off: where the bytes start
 * @len: how many
 *
 * Context: the receive path (softirq or rx_work).  It does not wake the
 * reader: the caller does, once per read pass (rx.c, rx_wake_reader()).
 * Return: 0, -ENOMEM, or -EPIPE if the stream's fd is closed (nothing
 * will read them: the bytes were dropped).
 */
int afmux_stream_rx_queue(struct afmux_stream *st, struct sk_buff *skb,
			  unsigned int off, unsigned int len)
{
	unsigned int n;
	int err;

	/* Pieces that may have to be copied are copied in chunks. */
	while (len > AFMUX_RX_COPY_MAX) {
		n = AFMUX_RX_COPY_MAX;
		err = stream_rx_queue(st, skb, off, n);
		if (err)
			return err;
		off += n;
		len -= n;
	}
	return stream_rx_queue(st, skb, off, len);
}

/**
 * __afmux_stream_rx_end - no bytes will follow those queued on @st
 * @st: the stream
 * @err: its error (sk_err) if it has none yet, or 0 for a plain end
 * @how: RCV_SHUTDOWN, or SHUTDOWN_MASK when the stream is over both ways
 *
 * Set under the receive queue's lock, which the bytes before the end were
 * queued under: a reader that finds the queue empty under that lock and
 * the end set has read everything (stream_read()).  Caller holds
 * conn->lock, which serialises the writers of sk_shutdown.
 */
void __afmux_stream_rx_end(struct afmux_stream *st, int err, u8 how)
{
	struct sock *sk = &st->sk;

	lockdep_assert_held(&st->conn->lock);
	spin_lock_bh(&sk->sk_receive_queue.lock);
	if (err && !sk->sk_err)
		WRITE_ONCE(sk->sk_err, err);
	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | how);
	spin_unlock_bh(&sk->sk_receive_queue.lock);
}

/* Wait for data, an error or the end; caller holds the socket lock. */
static int stream_wait_data(struct sock *sk, long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	int rc;

	sock_owned_by_me(sk);
	add_wait_queue(sk_sleep(sk), &wait);
	sk_set_bit(SOCKWQ_ASYNC_WAITDATA, sk);
	rc = sk_wait_event(sk, timeo,
			   !skb_queue_empty_lockless(&sk->sk_receive_queue) ||
			   READ_ONCE(sk->sk_err) ||
			   (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN), &wait);
	sk_clear_bit(SOCKWQ_ASYNC_WAITDATA, sk);
	remove_wait_queue(sk_sleep(sk), &wait);
	return rc < 0 ? rc : 0;
}

/*
 * Where stream_read() hands bytes: @n bytes of @skb from @off.  Returns
 * the bytes taken (fewer than @n when the destination is full) or -errno.
 */
typedef int (*stream_read_actor_t)(struct sk_buff *skb, unsigned int off,
				   unsigned int n, void *arg);

/*
 * The body of recvmsg and splice_read: hand up to @len queued bytes to
 * @actor, waiting (unless MSG_DONTWAIT in @flags) until the low-water
 * mark (all of @len with MSG_WAITALL), the end or an error.  Then grant
 * the peer credit for what was consumed.
 */
static int stream_read(struct sock *sk, size_t len, int flags,
		       stream_read_actor_t actor, void *arg)
{
	struct afmux_stream *st = afmux_stream(sk);
	struct sk_buff_head *q = &sk->sk_receive_queue;
	size_t copied = 0, consumed = 0;
	int target, err = 0;
	bool kick;
	long timeo;

	lock_sock(sk);
	target = sock_rcvlowat(sk, flags & MSG_WAITALL, len);
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	if (test_bit(AFMUX_ST_PURGE, &st->flags)) {
		afmux_stream_clear(st, AFMUX_ST_PURGE);
		skb_queue_purge(q);
	}

	while (copied < len) {
		unsigned int avail = 0, off = 0, n;
		bool done, ended, failed;
		struct afmux_rx_cb *cb;
		struct sk_buff *skb;
		int ret;

		spin_lock_bh(&q->lock);
		skb = skb_peek(q);
		if (skb) {
			avail = afmux_rx_cb(skb)->len;
			off = afmux_rx_cb(skb)->off;
		}
		/* Seen with the queue: see __afmux_stream_rx_end(). */
		ended = READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN;
		failed = READ_ONCE(sk->sk_err);
		spin_unlock_bh(&q->lock);
		if (!skb) {
			if (copied >= target)
				break;
			if (failed) {
				err = copied ? 0 : sock_error(sk);
				break;
			}
			if (ended)
				break;
			if (!timeo) {
				err = copied ? 0 : -EAGAIN;
				break;
			}
			if (signal_pending(current)) {
				err = copied ? 0 : sock_intr_errno(timeo);
				break;
			}
			if (consumed && afmux_stream_consumed(st, consumed))
				afmux_tx_kick(st->conn);
			consumed = 0;
			err = stream_wait_data(sk, &timeo);
			if (err < 0) {
				err = copied ? 0 : err;
				break;
			}
			continue;
		}
		/* Bytes before off + avail are stable; rx may append after. */
		n = min_t(size_t, avail, len - copied);
		ret = actor(skb, off, n, arg);
		if (ret <= 0) {
			err = copied ? 0 : ret;
			break;
		}
		spin_lock_bh(&q->lock);
		cb = afmux_rx_cb(skb);
		cb->off += ret;
		cb->len -= ret;
		done = !cb->len;
		if (done)
			__skb_unlink(skb, q);
		spin_unlock_bh(&q->lock);
		if (done)
			consume_skb(skb);
		copied += ret;
		consumed += ret;
		if (ret < n)
			break;	/* the destination is full */
	}
	kick = consumed && afmux_stream_consumed(st, consumed);
	release_sock(sk);
	if (kick)
		afmux_tx_kick(st->conn);
	return copied ? copied : err;
}

static int stream_copy_actor(struct sk_buff *skb, unsigned int off,
			     unsigned int n, void *msg)
{
	return skb_copy_datagram_msg(skb, off, msg, n) ? -EFAULT : n;
}

int afmux_stream_recvmsg(struct socket *sock, struct msghdr *msg,
			 size_t len, int flags)
{
	/* MSG_ZEROCOPY's completions, in TCP over IPv4's format. */
	if (flags & MSG_ERRQUEUE)
		return sock_recv_errqueue(sock->sk, msg, len, SOL_IP,
					  IP_RECVERR);
	if (flags & (MSG_OOB | MSG_PEEK | MSG_TRUNC))
		return -EOPNOTSUPP;
	return stream_read(sock->sk, len, flags, stream_copy_actor, msg);
}

struct stream_splice {
	struct sock *sk;
	struct pipe_inode_info *pipe;
	unsigned int flags;
};

/* Payload pages go into the pipe by reference (small pieces copied). */
static int stream_splice_actor(struct sk_buff *skb, unsigned int off,
			       unsigned int n, void *arg)
{
	struct stream_splice *sp = arg;

	return skb_splice_bits(skb, sp->sk, off, sp->pipe, n, sp->flags);
}

ssize_t afmux_stream_splice_read(struct socket *sock, loff_t *ppos,
				 struct pipe_inode_info *pipe, size_t len,
				 unsigned int flags)
{
	struct stream_splice sp = { sock->sk, pipe, flags };
	bool nonblock = (sock->file->f_flags & O_NONBLOCK) ||
			(flags & SPLICE_F_NONBLOCK);

	struct afmux_conn *conn = afmux_stream(sock->sk)->conn;
	int ret;

	ret = stream_read(sock->sk, len, nonblock ? MSG_DONTWAIT : 0,
			  stream_splice_actor, &sp);
	if (ret > 0) {
		spin_lock_bh(&conn->lock);
		conn->stats.bytes_rx_spliced += ret;
		spin_unlock_bh(&conn->lock);
	}
	return ret;
}
