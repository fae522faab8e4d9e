// SPDX-License-Identifier: GPL-2.0
/*
 * stream.c - stream sockets: the fds AFMUX_IOC_OPEN and AFMUX_IOC_ACCEPT
 * return, which behave like connected TCP sockets.  Their life: creation,
 * the end (finish, kill), orphans, close, shutdown, poll and options.
 * What moves bytes is in stream_rx.c (receive) and stream_tx.c (send).
 */
#include <linux/file.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <net/sock.h>

#include "afmux.h"
#include "compat.h"
#include "frame.h"

struct proto afmux_stream_proto = {
	.name		= "AF_MUX-stream",
	.owner		= THIS_MODULE,
	.obj_size	= sizeof(struct afmux_stream),
};

static void stream_destruct(struct sock *sk)
{
	struct afmux_stream *st = afmux_stream(sk);

	skb_queue_purge(&sk->sk_receive_queue);
	skb_queue_purge(&sk->sk_write_queue);
	skb_queue_purge(&sk->sk_error_queue);	/* MSG_ZEROCOPY's */
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
	afmux_stream_set(st, AFMUX_ST_RESET_WANTED);
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
	if (kick) {
		conn->stats.orphans_reset++;
		afmux_count(conn, AFMUX_MIB_ORPHANS_RESET);
	}
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
	sk->sk_write_space = afmux_stream_write_space;
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
	if (!failed && !(afmux_stream_tx_done(st) && afmux_stream_rx_done(st)))
		return;
	if (test_and_clear_bit(AFMUX_ST_ON_TX, &st->flags))
		list_del_init(&st->tx_node);
	if (test_and_clear_bit(AFMUX_ST_ORPHAN, &st->flags)) {
		conn->nr_orphans--;
		sk_stop_timer(&st->sk, &st->orphan_timer);
	}
	xa_erase(test_bit(AFMUX_ST_LOCAL, &st->flags) ? &conn->local :
						       &conn->remote, st->nr);
	afmux_stream_clear(st, AFMUX_ST_IN_TABLE);
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
	/* After the peer's END the reader has all there is: no error. */
	if (!reset && test_bit(AFMUX_ST_PEER_END, &st->flags))
		err = 0;
	__afmux_stream_rx_end(st, err, SHUTDOWN_MASK);
	sk_error_report(sk);
	sk->sk_state_change(sk);
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
	if (READ_ONCE(sk->sk_err) ||
	    !skb_queue_empty_lockless(&sk->sk_error_queue))
		mask |= EPOLLERR;
	if (shutdown == SHUTDOWN_MASK)
		mask |= EPOLLHUP;
	if (shutdown & RCV_SHUTDOWN)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	if (!skb_queue_empty_lockless(&sk->sk_receive_queue))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (shutdown & SEND_SHUTDOWN)
		mask |= EPOLLOUT | EPOLLWRNORM;
	else if (afmux_stream_tx_space(st) ||
		 afmux_stream_set_nospace(sk, sock))
		mask |= EPOLLOUT | EPOLLWRNORM;
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
	    test_bit(AFMUX_ST_IN_TABLE, &st->flags) && !afmux_stream_tx_done(st)) {
		afmux_stream_set(st, AFMUX_ST_END_WANTED);
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
	if (afmux_stream_tx_done(st) && afmux_stream_rx_done(st))
		return;		/* over once the pump has sent what it has */
	if (conn->nr_orphans >= READ_ONCE(an->orphans_max)) {
		if (stream_reset_cancel(st)) {
			conn->stats.orphans_reset++;
			afmux_count(conn, AFMUX_MIB_ORPHANS_RESET);
		}
		return;
	}
	afmux_stream_set(st, AFMUX_ST_ORPHAN);
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
	afmux_stream_set(st, AFMUX_ST_CLOSED);
	spin_unlock(&sk->sk_receive_queue.lock);
	spin_unlock_bh(&conn->lock);
	abort = !skb_queue_empty(&sk->sk_receive_queue) ||
		(sock_flag(sk, SOCK_LINGER) && !sk->sk_lingertime);
	skb_queue_purge(&st->sk.sk_receive_queue);
	spin_lock_bh(&conn->lock);
	if (test_bit(AFMUX_ST_IN_TABLE, &st->flags) &&
	    !test_bit(AFMUX_C_FAILED, &conn->flags)) {
		if (abort && !(afmux_stream_tx_done(st) && afmux_stream_rx_done(st))) {
			stream_reset_cancel(st);
		} else if (!afmux_stream_tx_done(st)) {
			afmux_stream_set(st, AFMUX_ST_END_WANTED);
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

/* SO_ZEROCOPY, or AFMUX_ZEROCOPY: MSG_ZEROCOPY is taken (stream_tx.c). */
static int stream_set_zerocopy(struct sock *sk, sockptr_t optval,
			       unsigned int optlen)
{
	int val;

	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;
	if (val < 0 || val > 1)
		return -EINVAL;
	lock_sock(sk);
	sock_valbool_flag(sk, SOCK_ZEROCOPY, val);
	release_sock(sk);
	return 0;
}

static int stream_setsockopt(struct socket *sock, int level, int optname,
			     sockptr_t optval, unsigned int optlen)
{
	struct afmux_stream *st = afmux_stream(sock->sk);
	struct afmux_conn *conn = st->conn;
	bool kick = false;
	int val;

	/*
	 * SOL_SOCKET comes here from 6.5 on (afmux_sock_own_sol_socket()):
	 * the core's options, but SO_ZEROCOPY, which it refuses us.
	 */
	if (level == SOL_SOCKET && optname != SO_ZEROCOPY)
		return sock_setsockopt(sock, level, optname, optval, optlen);
	if ((level == SOL_SOCKET && optname == SO_ZEROCOPY) ||
	    (level == SOL_AFMUX && optname == AFMUX_ZEROCOPY))
		return stream_set_zerocopy(sock->sk, optval, optlen);
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
	afmux_stream_set(st, AFMUX_ST_WINDOW_SET);
	spin_unlock_bh(&conn->lock);
	/* A larger window may be worth announcing right away. */
	kick = afmux_stream_consumed(st, 0);
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
	case AFMUX_ZEROCOPY:
		if (len < sizeof(int))
			return -EINVAL;
		len = sizeof(int);
		val = optname == AFMUX_WINDOW ? READ_ONCE(st->rx_window) :
			sock_flag(sock->sk, SOCK_ZEROCOPY);
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
		info->link = conn->link;
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
	.sendmsg	= afmux_stream_sendmsg,
#if AFMUX_HAVE_SENDPAGE
	.sendpage	= afmux_stream_sendpage,
#endif
	.splice_read	= afmux_stream_splice_read,
	.recvmsg	= afmux_stream_recvmsg,
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
	afmux_sock_own_sol_socket(sock);
	__module_get(THIS_MODULE);	/* sock_release() puts ops->owner */
	return sock_alloc_file(sock, flags & O_NONBLOCK, NULL);
}

/* Put @st (its reference passes to the file) into @file's socket. */
void afmux_stream_graft(struct file *file, struct afmux_stream *st)
{
	struct socket *sock = file->private_data;

	WRITE_ONCE(st->ino, file_inode(file)->i_ino);
	sock_graft(&st->sk, sock);
}

#ifdef AFMUX_KUNIT
#include "test/state-test.c"
#endif

