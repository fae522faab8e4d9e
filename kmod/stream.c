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
#include <net/sock.h>

#include "afmux.h"
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
	sock_put(&st->conn->sk);
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
	sk->sk_type = SOCK_STREAM;
	sk->sk_allocation = gfp == GFP_ATOMIC ? GFP_KERNEL : gfp;
	sk->sk_destruct = stream_destruct;
	sk->sk_write_space = stream_write_space;
	sk->sk_sndbuf = max_t(int, sk->sk_sndbuf, 2 * AFMUX_WINDOW_DEFAULT);

	st = afmux_stream(sk);
	/* Before anything can fail: the destructor puts it. */
	sock_hold(&conn->sk);
	st->conn = conn;
	st->key = key_len ? kmemdup(key, key_len, gfp) : NULL;
	if (key_len && !st->key) {
		sk_free(sk);
		return NULL;
	}
	st->key_len = key_len;
	st->nr = nr;
	st->flags = local ? BIT(AFMUX_ST_LOCAL) : 0;
	st->rx_window = READ_ONCE(conn->window);
	st->rx_limit = st->rx_window;
	INIT_LIST_HEAD(&st->tx_node);
	INIT_LIST_HEAD(&st->accept_node);
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
	xa_erase(test_bit(AFMUX_ST_LOCAL, &st->flags) ? &conn->local :
						       &conn->remote, st->nr);
	clear_bit(AFMUX_ST_IN_TABLE, &st->flags);
	/* The last stream of a closed mux socket: time to let TCP go. */
	if (!--conn->nr_streams && test_bit(AFMUX_C_RELEASED, &conn->flags))
		afmux_conn_queue_work(conn, &conn->teardown_work);
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
 * The reader consumed @n bytes: grant more credit when it is worth a
 * frame.  Returns true if the pump has new work.
 */
static bool stream_consumed(struct afmux_stream *st, u32 n)
{
	struct afmux_conn *conn = st->conn;
	bool kick = false;
	u32 next;

	spin_lock_bh(&conn->lock);
	st->rx_consumed += n;
	next = afmux_window_next(st->rx_limit, st->rx_consumed, st->rx_window);
	if (next != st->rx_limit && !rx_done(st) &&
	    test_bit(AFMUX_ST_IN_TABLE, &st->flags)) {
		st->rx_limit = next;
		set_bit(AFMUX_ST_WINDOW_WANTED, &st->flags);
		__afmux_tx_want(conn, st);
		kick = true;
	}
	spin_unlock_bh(&conn->lock);
	return kick;
}

static void stream_purge_rx(struct afmux_stream *st)
{
	skb_queue_purge(&st->sk.sk_receive_queue);
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
/* Size of the skbs small pieces are coalesced into. */
#define AFMUX_RX_COPY_SIZE	SKB_WITH_OVERHEAD(4096)

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
		nskb = alloc_skb(AFMUX_RX_COPY_SIZE, GFP_ATOMIC);
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

	copy = len < AFMUX_RX_COPYBREAK ||
	       atomic_read(&sk->sk_rmem_alloc) + skb->truesize > rx_budget(st);
	if (copy) {
		/* Append to the last copy if it has room. */
		spin_lock_bh(&q->lock);
		nskb = skb_peek_tail(q);
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
	skb_queue_tail(q, nskb);
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
 * Return: 0 or -ENOMEM.
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

static int stream_recvmsg(struct socket *sock, struct msghdr *msg,
			  size_t len, int flags)
{
	struct sock *sk = sock->sk;
	struct afmux_stream *st = afmux_stream(sk);
	struct sk_buff_head *q = &sk->sk_receive_queue;
	size_t copied = 0, consumed = 0;
	int target, err = 0;
	long timeo;

	if (flags & (MSG_OOB | MSG_PEEK | MSG_TRUNC | MSG_ERRQUEUE))
		return -EOPNOTSUPP;

	lock_sock(sk);
	target = sock_rcvlowat(sk, flags & MSG_WAITALL, len);
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	if (test_bit(AFMUX_ST_PURGE, &st->flags)) {
		clear_bit(AFMUX_ST_PURGE, &st->flags);
		stream_purge_rx(st);
	}

	while (copied < len) {
		unsigned int avail = 0, off = 0, n;
		struct afmux_rx_cb *cb;
		struct sk_buff *skb;
		bool done;

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
		if (skb_copy_datagram_msg(skb, off, msg, n)) {
			err = copied ? 0 : -EFAULT;
			break;
		}
		spin_lock_bh(&q->lock);
		cb = afmux_rx_cb(skb);
		cb->off += n;
		cb->len -= n;
		done = !cb->len;
		if (done)
			__skb_unlink(skb, q);
		spin_unlock_bh(&q->lock);
		if (done)
			consume_skb(skb);
		copied += n;
		consumed += n;
	}
	release_sock(sk);
	if (consumed && stream_consumed(st, consumed))
		afmux_tx_kick(st->conn);
	return copied ? copied : err;
}

/* Wait until stream_tx_space() or an error; caller holds the lock. */
static int stream_wait_space(struct sock *sk, long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct afmux_stream *st = afmux_stream(sk);
	int err = 0;

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

static int stream_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct sock *sk = sock->sk;
	struct afmux_stream *st = afmux_stream(sk);
	struct afmux_conn *conn = st->conn;
	size_t sent = 0;
	int err = 0;
	long timeo;

	if (msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;

	lock_sock(sk);
	timeo = sock_sndtimeo(sk, msg->msg_flags & MSG_DONTWAIT);
	while (sent < len) {
		struct sk_buff *skb;
		u32 space;
		size_t n;

		if (sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN)) {
			err = -EPIPE;
			break;
		}
		space = stream_tx_space(st);
		if (!space) {
			afmux_tx_kick(conn);
			err = stream_wait_space(sk, &timeo);
			if (err)
				break;
			continue;
		}
		n = min3(len - sent, (size_t)space, (size_t)AFMUX_DATA_SEND_MAX);
		skb = alloc_skb_with_frags(0, n, 0, &err, sk->sk_allocation);
		if (!skb)
			break;
		skb->data_len = n;
		skb->len = n;
		err = skb_copy_datagram_from_iter(skb, 0, &msg->msg_iter, n);
		if (err) {
			kfree_skb(skb);
			break;
		}
		skb->sk = sk;
		skb->destructor = stream_wfree;
		atomic_add(skb->truesize, &st->tx_mem);
		afmux_tx_cb_init(skb);

		spin_lock_bh(&conn->lock);
		if (tx_done(st) || test_bit(AFMUX_C_FAILED, &conn->flags) ||
		    test_bit(AFMUX_ST_RESET_WANTED, &st->flags)) {
			spin_unlock_bh(&conn->lock);
			kfree_skb(skb);
			err = -EPIPE;
			break;
		}
		WRITE_ONCE(st->tx_accepted, st->tx_accepted + n);
		skb_queue_tail(&sk->sk_write_queue, skb);
		__afmux_tx_want(conn, st);
		spin_unlock_bh(&conn->lock);
		sent += n;
	}
	release_sock(sk);
	if (sent)
		afmux_tx_kick(conn);
	if (sent)
		return sent;
	if (err == -EPIPE && !(msg->msg_flags & MSG_NOSIGNAL))
		send_sig(SIGPIPE, current, 0);
	return err;
}

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
	/* CLOSED first: from then on rx drops new data (and resets). */
	spin_lock_bh(&conn->lock);
	set_bit(AFMUX_ST_CLOSED, &st->flags);
	spin_unlock_bh(&conn->lock);
	abort = !skb_queue_empty(&sk->sk_receive_queue) ||
		(sock_flag(sk, SOCK_LINGER) && !sk->sk_lingertime);
	stream_purge_rx(st);
	spin_lock_bh(&conn->lock);
	if (test_bit(AFMUX_ST_IN_TABLE, &st->flags) &&
	    !test_bit(AFMUX_C_FAILED, &conn->flags)) {
		if (abort && !(tx_done(st) && rx_done(st))) {
			st->reset_code = AFMUX_CANCEL;
			set_bit(AFMUX_ST_RESET_WANTED, &st->flags);
			__afmux_tx_want(conn, st);
		} else if (!tx_done(st)) {
			set_bit(AFMUX_ST_END_WANTED, &st->flags);
			__afmux_tx_want(conn, st);
		}
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

	spin_lock_bh(&conn->lock);
	st->rx_window = val;
	spin_unlock_bh(&conn->lock);
	/* A larger window may be worth announcing right away. */
	kick = stream_consumed(st, 0);
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
	.recvmsg	= stream_recvmsg,
	.mmap		= sock_no_mmap,
};

/**
 * afmux_stream_file - give @st a socket and a file
 * @st: a stream with no socket yet; its reference passes to the file
 * @flags: O_NONBLOCK
 *
 * Return: the file, or an ERR_PTR; on error @st has been released as if
 * its fd were closed.
 */
struct file *afmux_stream_file(struct afmux_stream *st, int flags)
{
	struct socket *sock;

	sock = sock_alloc();
	if (!sock) {
		struct socket fake = { .sk = &st->sk };

		stream_release(&fake);
		return ERR_PTR(-ENFILE);
	}
	sock->type = SOCK_STREAM;
	sock->ops = &afmux_stream_ops;
	__module_get(THIS_MODULE);	/* sock_release() puts ops->owner */
	sock_graft(&st->sk, sock);
	return sock_alloc_file(sock, flags & O_NONBLOCK, NULL);
}
