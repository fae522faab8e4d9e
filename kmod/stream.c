// SPDX-License-Identifier: GPL-2.0
/*
 * stream.c - stream sockets: the fds AFMUX_IOC_OPEN and AFMUX_IOC_ACCEPT
 * return, which behave like connected TCP sockets.
 *
 * Receive: rx.c queues clones of the TCP skbs on sk_receive_queue, each
 * with the range of its payload in struct afmux_rx_cb; recvmsg copies
 * them to the user (the only copy) and grants credit back (WINDOW).
 * Readers are serialised by the stream's socket lock and are the only
 * ones to unlink from the receive queue.
 *
 * Transmit: sendmsg copies the user's bytes once into page fragments of
 * an skb on sk_write_queue, within the credit the peer granted; the tx
 * pump (tx.c) hands those pages to TCP.  The pump is the only one to
 * unlink from the write queue.
 */
#include <linux/file.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/splice.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "afmux.h"
#include "compat.h"
#include "frame.h"
#include "window.h"

struct proto afmux_stream_proto = {
	.name		= "AF_MUX-stream",
	.owner		= THIS_MODULE,
	.obj_size	= sizeof(struct afmux_stream),
};

static bool tx_done(const struct afmux_stream *st)
{
	return test_bit(AFMUX_ST_END_SENT, &st->flags) ||
	       test_bit(AFMUX_ST_RESET_SENT, &st->flags) ||
	       test_bit(AFMUX_ST_PEER_RESET, &st->flags);
}

static bool rx_done(const struct afmux_stream *st)
{
	return test_bit(AFMUX_ST_PEER_END, &st->flags) ||
	       test_bit(AFMUX_ST_PEER_RESET, &st->flags) ||
	       test_bit(AFMUX_ST_RESET_SENT, &st->flags);
}

/*
 * Bytes sendmsg may take now: the peer's credit not yet used by queued
 * bytes, while the write queue stays within sk_sndbuf.  Lockless: the
 * writer rechecks under conn->lock.  Pairs with the WRITE_ONCE()s of
 * tx_limit (rx.c) and tx_accepted (below).
 */
static u32 stream_tx_space(struct afmux_stream *st)
{
	struct sock *sk = &st->sk;

	if (atomic_read(&st->tx_mem) >= READ_ONCE(sk->sk_sndbuf))
		return 0;
	return afmux_credit(READ_ONCE(st->tx_limit),
			    READ_ONCE(st->tx_accepted));
}

static void stream_write_space(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	if (stream_tx_space(afmux_stream(sk))) {
		wq = rcu_dereference(sk->sk_wq);
		if (skwq_has_sleeper(wq))
			wake_up_interruptible_sync_poll(&wq->wait, EPOLLOUT |
						EPOLLWRNORM | EPOLLWRBAND);
		if (wq && wq->fasync_list)
			sk_wake_async(sk, SOCK_WAKE_SPACE, POLL_OUT);
	}
	rcu_read_unlock();
}

/* Destructor of write-queue skbs: give the space back to the writer. */
static void stream_wfree(struct sk_buff *skb)
{
	struct sock *sk = skb->sk;

	atomic_sub(skb->truesize, &afmux_stream(sk)->tx_mem);
	sk->sk_write_space(sk);
}

static void stream_destruct(struct sock *sk)
{
	struct afmux_stream *st = afmux_stream(sk);

	skb_queue_purge(&sk->sk_receive_queue);
	skb_queue_purge(&sk->sk_write_queue);
	kfree(st->key);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
	sock_put(&st->conn->sk);
}

/*
 * Reset @st (RESET CANCEL, queued output dropped) unless it is over or
 * being reset.  Returns true if the pump has new work.  Caller holds
 * conn->lock.
 */
static bool stream_reset_cancel(struct afmux_stream *st)
{
	struct afmux_conn *conn = st->conn;

	lockdep_assert_held(&conn->lock);
	if (!test_bit(AFMUX_ST_IN_TABLE, &st->flags) ||
	    test_bit(AFMUX_C_FAILED, &conn->flags) ||
	    test_bit(AFMUX_ST_RESET_WANTED, &st->flags) ||
	    test_bit(AFMUX_ST_RESET_SENT, &st->flags) ||
	    test_bit(AFMUX_ST_PEER_RESET, &st->flags))
		return false;
	st->reset_code = AFMUX_CANCEL;
	set_bit(AFMUX_ST_RESET_WANTED, &st->flags);
	__afmux_tx_want(conn, st);
	return true;
}

/*
 * A closed stream waited net.afmux.orphan_timeout_ms for the peer to end
 * it: reset it, so that it does not pin the connection (sk_reset_timer()'s
 * reference is ours).
 */
static void stream_orphan_timeout(struct timer_list *t)
{
	struct afmux_stream *st = from_timer(st, t, orphan_timer);
	struct afmux_conn *conn = st->conn;
	bool kick;

	spin_lock_bh(&conn->lock);
	kick = test_bit(AFMUX_ST_ORPHAN, &st->flags) && stream_reset_cancel(st);
	if (kick)
		conn->stats.orphans_reset++;
	spin_unlock_bh(&conn->lock);
	if (kick)
		afmux_conn_queue_work(conn, &conn->tx_work);
	sock_put(&st->sk);
}

/**
 * afmux_stream_new - allocate a stream of @conn
 * @conn: the connection, referenced by the new stream
 * @nr: its number, 0 if not assigned yet
 * @local: this end opens it
 * @key: its key, copied
 * @key_len: at most AFMUX_KEY_MAX
 * @gfp: allocation context
 *
 * Return: the stream, with one reference (the fd's, or the accept
 * queue's until accepted), or NULL.
 */
struct afmux_stream *afmux_stream_new(struct afmux_conn *conn, u32 nr,
				      bool local, const u8 *key, u16 key_len,
				      gfp_t gfp)
{
	struct afmux_stream *st;
	struct sock *sk;

	sk = sk_alloc(sock_net(&conn->sk), afmux_family_nr(), gfp,
		      &afmux_stream_proto, 0);
	if (!sk)
		return NULL;
	sock_init_data(NULL, sk);
	/* /proc/net/protocols counts it until stream_destruct(). */
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
	sk->sk_type = SOCK_STREAM;
	sk->sk_allocation = gfp == GFP_ATOMIC ? GFP_KERNEL : gfp;
	sk->sk_destruct = stream_destruct;
	sk->sk_write_space = stream_write_space;
	sk->sk_sndbuf = max_t(int, sk->sk_sndbuf, 2 * AFMUX_WINDOW_DEFAULT);

	st = afmux_stream(sk);
	/* Before anything can fail: the destructor puts it. */
	sock_hold(&conn->sk);
	st->conn = conn;
	st->key = key_len ? kmemdup(key, key_len, gfp | __GFP_ACCOUNT) : NULL;
	if (key_len && !st->key) {
		sk_free(sk);
		return NULL;
	}
	st->key_len = key_len;
	st->nr = nr;
	st->flags = local ? BIT(AFMUX_ST_LOCAL) : 0;
	st->rx_window = READ_ONCE(conn->window);
	st->rx_limit = st->rx_window;
	st->rx_epoch_ns = ktime_get_ns();
	INIT_LIST_HEAD(&st->tx_node);
	INIT_LIST_HEAD(&st->accept_node);
	timer_setup(&st->orphan_timer, stream_orphan_timeout, 0);
	return st;
}

/*
 * Take @st out of its table once both directions are over.  Drops the
 * table's reference and, for a stream nobody accepted, the accept
 * queue's.  Caller holds conn->lock and a reference to the conn.
 */
void __afmux_stream_finish(struct afmux_stream *st)
{
	struct afmux_conn *conn = st->conn;
	bool failed = test_bit(AFMUX_C_FAILED, &conn->flags);

	lockdep_assert_held(&conn->lock);
	if (!test_bit(AFMUX_ST_IN_TABLE, &st->flags))
		return;
	if (!failed && !(tx_done(st) && rx_done(st)))
		return;
	if (test_and_clear_bit(AFMUX_ST_ON_TX, &st->flags))
		list_del_init(&st->tx_node);
	if (test_and_clear_bit(AFMUX_ST_ORPHAN, &st->flags)) {
		conn->nr_orphans--;
		sk_stop_timer(&st->sk, &st->orphan_timer);
	}
	xa_erase(test_bit(AFMUX_ST_LOCAL, &st->flags) ? &conn->local :
						       &conn->remote, st->nr);
	clear_bit(AFMUX_ST_IN_TABLE, &st->flags);
	__afmux_stream_uncharge(st);
	/* The last stream of a closed mux socket: time to let TCP go. */
	if (!--conn->nr_streams && test_bit(AFMUX_C_RELEASED, &conn->flags))
		afmux_conn_queue_teardown(conn, 0);
	/* A stream nobody accepted stays acceptable if it is complete. */
	if ((!test_bit(AFMUX_ST_PEER_END, &st->flags) ||
	     test_bit(AFMUX_ST_PEER_RESET, &st->flags)) &&
	    test_and_clear_bit(AFMUX_ST_ACCEPTABLE, &st->flags)) {
		list_del_init(&st->accept_node);
		conn->accept_len--;
		sock_put(&st->sk);
	}
	/* The stream's destructor never takes conn->lock. */
	sock_put(&st->sk);
}

/*
 * The stream has ended abnormally (@err: ECONNRESET): writers get EPIPE;
 * readers get what is queued (unless AFMUX_ST_PURGE) and then @err - but
 * when the connection ended after the peer's END had arrived
 * (!@reset), the reader has everything and just sees the end.
 * Caller holds conn->lock.
 */
void __afmux_stream_kill(struct afmux_stream *st, int err, bool reset)
{
	struct sock *sk = &st->sk;

	lockdep_assert_held(&st->conn->lock);
	if ((reset || !test_bit(AFMUX_ST_PEER_END, &st->flags)) &&
	    !READ_ONCE(sk->sk_err))
		WRITE_ONCE(sk->sk_err, err);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	sk_error_report(sk);
	sk->sk_state_change(sk);
}

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
 * sysctl may have been lowered below what is charged).
 */
static u32 stream_room(const struct afmux_conn *conn)
{
	u32 cap = READ_ONCE(afmux_net(sock_net(&conn->sk))->conn_mem_max);

	lockdep_assert_held(&conn->lock);
	cap = max(cap, conn->window);
	return cap > conn->rx_charged ? cap - conn->rx_charged : 0;
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
	conn->rx_charged += st->rx_charge;
	return true;
}

/* Give back what __afmux_stream_admit() and grants charged. */
void __afmux_stream_uncharge(struct afmux_stream *st)
{
	lockdep_assert_held(&st->conn->lock);
	afmux_memory_uncharge(st->conn, st->rx_charge);
	st->conn->rx_charged -= st->rx_charge;
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
		conn->rx_charged -= st->rx_charge - keep;
		st->rx_charge = keep;
		return next;
	}
	more = min(keep - st->rx_charge, stream_room(conn));
	if (more && !afmux_memory_charge(conn, more))
		more = 0;
	st->rx_charge += more;
	conn->rx_charged += more;
	if (st->rx_charge >= want)
		return next;
	conn->stats.grants_capped++;
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
static bool stream_consumed(struct afmux_stream *st, u32 n)
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
	if (rx_done(st) || !test_bit(AFMUX_ST_IN_TABLE, &st->flags)) {
		spin_unlock_bh(&conn->lock);
		return false;
	}
	next = afmux_window_next(st->rx_limit, st->rx_consumed, st->rx_window);
	next = stream_charge(st, next);
	if (next != st->rx_limit) {
		st->rx_limit = next;
		set_bit(AFMUX_ST_WINDOW_WANTED, &st->flags);
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
static unsigned int rx_budget(const struct afmux_stream *st)
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

/* Largest piece rx_copy() takes (alloc_skb_with_frags' limit). */
#define AFMUX_RX_COPY_MAX	(16 * PAGE_SIZE)

/* A compact copy of @len (<= AFMUX_RX_COPY_MAX) bytes of @skb at @off. */
static struct sk_buff *rx_copy(struct sk_buff *skb, unsigned int off,
			       unsigned int len)
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
static int rx_queue(struct afmux_stream *st, struct sk_buff *skb,
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
	       atomic_read(&sk->sk_rmem_alloc) + skb->truesize > rx_budget(st);
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
			goto queued;
		}
		spin_unlock_bh(&q->lock);
	}
	if (copy) {
		nskb = rx_copy(skb, off, len);
		off = 0;
	} else {
		nskb = skb_clone(skb, GFP_ATOMIC);
	}
	if (!nskb)
		return -ENOMEM;
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
queued:
	sk->sk_data_ready(sk);
	return 0;
}

/**
 * afmux_stream_rx_queue - queue @len payload bytes of @skb at @off
 * @st: the stream they belong to
 * @skb: TCP's skb (not consumed)
 * @off: where the bytes start
 * @len: how many
 *
 * Context: the receive path (softirq or rx_work).
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
		err = rx_queue(st, skb, off, n);
		if (err)
			return err;
		off += n;
		len -= n;
	}
	return rx_queue(st, skb, off, len);
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
		clear_bit(AFMUX_ST_PURGE, &st->flags);
		skb_queue_purge(q);
	}

	while (copied < len) {
		unsigned int avail = 0, off = 0, n;
		struct afmux_rx_cb *cb;
		struct sk_buff *skb;
		bool done;
		int ret;

		spin_lock_bh(&q->lock);
		skb = skb_peek(q);
		if (skb) {
			avail = afmux_rx_cb(skb)->len;
			off = afmux_rx_cb(skb)->off;
		}
		spin_unlock_bh(&q->lock);
		if (!skb) {
			if (copied >= target)
				break;
			if (sk->sk_err) {
				err = copied ? 0 : sock_error(sk);
				break;
			}
			if (sk->sk_shutdown & RCV_SHUTDOWN)
				break;
			if (!timeo) {
				err = copied ? 0 : -EAGAIN;
				break;
			}
			if (signal_pending(current)) {
				err = copied ? 0 : sock_intr_errno(timeo);
				break;
			}
			if (consumed && stream_consumed(st, consumed))
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
	kick = consumed && stream_consumed(st, consumed);
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

static int stream_recvmsg(struct socket *sock, struct msghdr *msg,
			  size_t len, int flags)
{
	if (flags & (MSG_OOB | MSG_PEEK | MSG_TRUNC | MSG_ERRQUEUE))
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

static ssize_t stream_splice_read(struct socket *sock, loff_t *ppos,
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

/* Wait until stream_tx_space() or an error; caller holds the lock. */
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
		if (!*timeo) {
			err = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			err = sock_intr_errno(*timeo);
			break;
		}
		sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
		if (sk_wait_event(sk, timeo, stream_tx_space(st) ||
				  sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN),
				  &wait) && stream_tx_space(st))
			break;
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

/* Can the writer still queue data?  Caller holds conn->lock. */
static bool stream_can_send(const struct afmux_stream *st)
{
	lockdep_assert_held(&st->conn->lock);
	return !tx_done(st) && !test_bit(AFMUX_C_FAILED, &st->conn->flags) &&
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
	long err;
	u32 space;

	sock_owned_by_me(sk);
	for (;;) {
		if (sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN))
			return -EPIPE;
		space = stream_tx_space(st);
		if (space)
			return space;
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
	afmux_tx_cb_init(skb);

	spin_lock_bh(&conn->lock);
	if (!stream_can_send(st)) {
		spin_unlock_bh(&conn->lock);
		kfree_skb(skb);
		return -EPIPE;
	}
	WRITE_ONCE(st->tx_accepted, st->tx_accepted + skb->len);
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
 * own page (sendfile, splice), not one we copied into.
 */
static int stream_queue_page(struct afmux_stream *st, struct page *page,
			     unsigned int off, unsigned int size, bool by_ref)
{
	struct afmux_conn *conn = st->conn;
	struct sock *sk = &st->sk;
	struct sk_buff *skb;
	int i;

	spin_lock_bh(&conn->lock);
	skb = skb_peek_tail(&sk->sk_write_queue);
	if (stream_can_send(st) && skb && !afmux_tx_cb(skb)->picked &&
	    !skb_headlen(skb) && skb->len + size <= AFMUX_DATA_SEND_MAX) {
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
			WRITE_ONCE(st->tx_accepted, st->tx_accepted + size);
			if (by_ref)
				conn->stats.bytes_tx_by_ref += size;
			spin_unlock_bh(&conn->lock);
			return 0;
		}
	}
	spin_unlock_bh(&conn->lock);

	skb = alloc_skb(0, sk->sk_allocation);
	if (!skb) {
		put_page(page);
		return -ENOMEM;
	}
	skb_fill_page_desc(skb, 0, page, off, size);
	skb->len = size;
	skb->data_len = size;
	skb->truesize += size;
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
		if (!skb)
			return -ENOMEM;
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
		err = stream_queue_page(st, page, off, copy, false);
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
 * Take up to @n bytes of a bvec iterator (sendfile, splice) by page
 * reference.  Returns the bytes taken, 0 if the next page cannot be sent
 * by reference (slab memory: the caller copies it), or -errno.
 */
static ssize_t stream_queue_pages(struct afmux_stream *st,
				  struct iov_iter *from, size_t n)
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
		err = stream_queue_page(st, pages[i++], off, len, true);
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
 * The body of sendmsg and sendpage.  A bvec iterator with
 * MSG_SPLICE_PAGES (sendfile, splice) is queued by page reference; a
 * small write goes straight to TCP if it can (afmux_tx_direct());
 * anything else is copied to the write queue.  @push: start the pump when
 * done (not while the caller has more pages of the same splice to come).
 */
static int stream_send(struct sock *sk, struct msghdr *msg, size_t len,
		       bool push)
{
	struct afmux_stream *st = afmux_stream(sk);
	bool by_ref = (msg->msg_flags & MSG_SPLICE_PAGES) &&
		      iov_iter_is_bvec(&msg->msg_iter);
	size_t sent = 0, direct = 0;
	long timeo, ret = 0;

	if (msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;

	lock_sock(sk);
	timeo = sock_sndtimeo(sk, msg->msg_flags & MSG_DONTWAIT);
	while (sent < len) {
		size_t n;

		ret = stream_send_space(sk, &timeo);
		if (ret < 0)
			break;
		n = min3(len - sent, (size_t)ret, (size_t)AFMUX_DATA_SEND_MAX);
		if (by_ref) {
			ret = stream_queue_pages(st, &msg->msg_iter, n);
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
	release_sock(sk);
	if (sent > direct && (push || sent < len))
		afmux_tx_kick(st->conn);
	if (sent)
		return sent;
	if (ret == -EPIPE && !(msg->msg_flags & MSG_NOSIGNAL))
		send_sig(SIGPIPE, current, 0);
	return ret;
}

static int stream_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	return stream_send(sock->sk, msg, len, true);
}

#if AFMUX_HAVE_SENDPAGE
static ssize_t stream_sendpage(struct socket *sock, struct page *page,
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

static __poll_t stream_poll(struct file *file, struct socket *sock,
			    poll_table *wait)
{
	struct sock *sk = sock->sk;
	struct afmux_stream *st = afmux_stream(sk);
	u8 shutdown;
	__poll_t mask = 0;

	sock_poll_wait(file, sock, wait);
	shutdown = READ_ONCE(sk->sk_shutdown);
	if (READ_ONCE(sk->sk_err))
		mask |= EPOLLERR;
	if (shutdown == SHUTDOWN_MASK)
		mask |= EPOLLHUP;
	if (shutdown & RCV_SHUTDOWN)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	if (!skb_queue_empty_lockless(&sk->sk_receive_queue))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (shutdown & SEND_SHUTDOWN)
		mask |= EPOLLOUT | EPOLLWRNORM;
	else if (stream_tx_space(st))
		mask |= EPOLLOUT | EPOLLWRNORM;
	else
		sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
	return mask;
}

static int stream_shutdown(struct socket *sock, int how)
{
	struct sock *sk = sock->sk;
	struct afmux_stream *st = afmux_stream(sk);
	struct afmux_conn *conn = st->conn;
	bool kick = false;

	how++;	/* SHUT_RD/WR/RDWR -> RCV_SHUTDOWN/SEND_SHUTDOWN/both */
	if (how <= 0 || how > SHUTDOWN_MASK)
		return -EINVAL;
	lock_sock(sk);
	spin_lock_bh(&conn->lock);
	if ((how & SEND_SHUTDOWN) && !(sk->sk_shutdown & SEND_SHUTDOWN) &&
	    test_bit(AFMUX_ST_IN_TABLE, &st->flags) && !tx_done(st)) {
		set_bit(AFMUX_ST_END_WANTED, &st->flags);
		__afmux_tx_want(conn, st);
		kick = true;
	}
	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | how);
	spin_unlock_bh(&conn->lock);
	sk->sk_state_change(sk);
	release_sock(sk);
	if (kick)
		afmux_tx_kick(conn);
	return 0;
}

/*
 * The fd of @st, not over yet, is closed: it waits for the peer's END (or
 * for its own queued data to go) as an orphan, for a while and only so
 * many per connection; beyond either it is reset, as TCP resets orphans
 * beyond tcp_max_orphans.  Caller holds conn->lock.
 */
static void stream_orphan(struct afmux_stream *st)
{
	struct afmux_conn *conn = st->conn;
	struct afmux_net *an = afmux_net(sock_net(&conn->sk));

	lockdep_assert_held(&conn->lock);
	if (tx_done(st) && rx_done(st))
		return;		/* over once the pump has sent what it has */
	if (conn->nr_orphans >= READ_ONCE(an->orphans_max)) {
		if (stream_reset_cancel(st))
			conn->stats.orphans_reset++;
		return;
	}
	set_bit(AFMUX_ST_ORPHAN, &st->flags);
	conn->nr_orphans++;
	sk_reset_timer(&st->sk, &st->orphan_timer, jiffies +
		       msecs_to_jiffies(READ_ONCE(an->orphan_timeout_ms)));
}

static int stream_release(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct afmux_stream *st;
	struct afmux_conn *conn;
	bool abort;

	if (!sk)
		return 0;
	st = afmux_stream(sk);
	conn = st->conn;

	lock_sock(sk);
	/*
	 * CLOSED first, under the receive queue's lock too: from then on rx
	 * queues nothing more (it drops new data and resets), so the purge
	 * below leaves the queue empty for good.
	 */
	spin_lock_bh(&conn->lock);
	spin_lock(&sk->sk_receive_queue.lock);
	set_bit(AFMUX_ST_CLOSED, &st->flags);
	spin_unlock(&sk->sk_receive_queue.lock);
	spin_unlock_bh(&conn->lock);
	abort = !skb_queue_empty(&sk->sk_receive_queue) ||
		(sock_flag(sk, SOCK_LINGER) && !sk->sk_lingertime);
	skb_queue_purge(&st->sk.sk_receive_queue);
	spin_lock_bh(&conn->lock);
	if (test_bit(AFMUX_ST_IN_TABLE, &st->flags) &&
	    !test_bit(AFMUX_C_FAILED, &conn->flags)) {
		if (abort && !(tx_done(st) && rx_done(st))) {
			stream_reset_cancel(st);
		} else if (!tx_done(st)) {
			set_bit(AFMUX_ST_END_WANTED, &st->flags);
			__afmux_tx_want(conn, st);
		}
		stream_orphan(st);
	}
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	spin_unlock_bh(&conn->lock);
	release_sock(sk);

	sock_orphan(sk);
	sock->sk = NULL;
	afmux_tx_kick(conn);
	sock_put(sk);
	return 0;
}

static int stream_setsockopt(struct socket *sock, int level, int optname,
			     sockptr_t optval, unsigned int optlen)
{
	struct afmux_stream *st = afmux_stream(sock->sk);
	struct afmux_conn *conn = st->conn;
	bool kick = false;
	int val;

	if (level != SOL_AFMUX)
		return -ENOPROTOOPT;
	if (optname != AFMUX_WINDOW)
		return -ENOPROTOOPT;
	if (optlen != sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;
	if (val < AFMUX_WINDOW_MIN || val > AFMUX_WINDOW_MAX)
		return -EINVAL;

	lock_sock(sock->sk);
	spin_lock_bh(&conn->lock);
	st->rx_window = val;
	set_bit(AFMUX_ST_WINDOW_SET, &st->flags);
	spin_unlock_bh(&conn->lock);
	/* A larger window may be worth announcing right away. */
	kick = stream_consumed(st, 0);
	release_sock(sock->sk);
	if (kick)
		afmux_tx_kick(conn);
	return 0;
}

static int stream_getsockopt(struct socket *sock, int level, int optname,
			     char __user *optval, int __user *optlen)
{
	struct afmux_stream *st = afmux_stream(sock->sk);
	struct afmux_conn *conn = st->conn;
	struct afmux_stream_info *info;
	int len, val, err = 0;

	if (level != SOL_AFMUX)
		return -ENOPROTOOPT;
	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;

	switch (optname) {
	case AFMUX_WINDOW:
		if (len < sizeof(int))
			return -EINVAL;
		len = sizeof(int);
		val = READ_ONCE(st->rx_window);
		if (copy_to_user(optval, &val, len))
			return -EFAULT;
		break;
	case AFMUX_STREAM_INFO:
		info = kzalloc(sizeof(*info), GFP_KERNEL);
		if (!info)
			return -ENOMEM;
		spin_lock_bh(&conn->lock);
		info->stream_id = st->nr;
		info->flags = test_bit(AFMUX_ST_LOCAL, &st->flags) ?
			      AFMUX_STREAM_F_LOCAL : 0;
		info->window = st->rx_window;
		spin_unlock_bh(&conn->lock);
		info->key_len = st->key_len;
		memcpy(info->key, st->key, st->key_len);
		len = min_t(unsigned int, len, sizeof(*info));
		if (copy_to_user(optval, info, len))
			err = -EFAULT;
		kfree(info);
		if (err)
			return err;
		break;
	default:
		return -ENOPROTOOPT;
	}
	return put_user(len, optlen);
}

const struct proto_ops afmux_stream_ops = {
	.family		= AFMUX_FAMILY_DEFAULT,
	.owner		= THIS_MODULE,
	.release	= stream_release,
	.bind		= sock_no_bind,
	.connect	= sock_no_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= sock_no_getname,
	.poll		= stream_poll,
	.ioctl		= sock_no_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= stream_shutdown,
	.setsockopt	= stream_setsockopt,
	.getsockopt	= stream_getsockopt,
	.sendmsg	= stream_sendmsg,
#if AFMUX_HAVE_SENDPAGE
	.sendpage	= stream_sendpage,
#endif
	.splice_read	= stream_splice_read,
	.recvmsg	= stream_recvmsg,
	.mmap		= sock_no_mmap,
};

/**
 * afmux_stream_file_alloc - a stream socket and its file, with no stream
 * @flags: O_NONBLOCK
 *
 * Made before the stream is taken (OPEN, ACCEPT), so that nothing fails
 * once it is; fput() of it alone releases nothing but itself.
 *
 * Return: the file, or an ERR_PTR (ENFILE, ENOMEM).
 */
struct file *afmux_stream_file_alloc(int flags)
{
	struct socket *sock;

	sock = sock_alloc();
	if (!sock)
		return ERR_PTR(-ENFILE);
	sock->type = SOCK_STREAM;
	sock->ops = &afmux_stream_ops;
	__module_get(THIS_MODULE);	/* sock_release() puts ops->owner */
	return sock_alloc_file(sock, flags & O_NONBLOCK, NULL);
}

/* Put @st (its reference passes to the file) into @file's socket. */
void afmux_stream_graft(struct file *file, struct afmux_stream *st)
{
	struct socket *sock = file->private_data;

	sock_graft(&st->sk, sock);
}
