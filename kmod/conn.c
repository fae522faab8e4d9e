// SPDX-License-Identifier: GPL-2.0
/*
 * conn.c - a connection's life: taking the TCP socket over (attach),
 * ending it on error (fail), and giving the TCP socket back (teardown).
 *
 * Attach follows what KCM's bug history taught: the TCP socket is
 * claimed under its socket lock and sk_callback_lock, and refused if
 * anyone (kTLS or another ULP, sockmap, KCM, another mux) owns it
 * already.  While attached, a placeholder ULP ("afmux") sits in
 * icsk_ulp_ops so that nobody else can install one, and sk_user_data
 * points to the conn.  The attachment holds a conn reference and a file
 * reference to the TCP socket.
 *
 * Teardown runs in a work item once the connection has failed, or once
 * the mux fd is closed and no stream is left: it flushes what the pump
 * still has (GOAWAY), restores TCP's callbacks under the same locks,
 * waits for the receive work without holding the TCP lock, and drops
 * the TCP file.
 */
#include <linux/file.h>
#include <linux/net.h>
#include <linux/tcp.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "afmux.h"
#include "frame.h"

/* Not registered: it only marks an attached socket as taken. */
static struct tcp_ulp_ops afmux_ulp = {
	.name	= "afmux",
};

/* Queue @w holding a conn reference; none is kept if already queued. */
void afmux_conn_queue_work(struct afmux_conn *conn, struct work_struct *w)
{
	sock_hold(&conn->sk);
	if (!queue_work(afmux_wq, w))
		sock_put(&conn->sk);
}

/* TCP's state_change: a FIN or a reset; the receive path sorts it out. */
static void tcp_state_change(struct sock *tsk)
{
	struct afmux_conn *conn;

	read_lock_bh(&tsk->sk_callback_lock);
	conn = tsk->sk_user_data;
	if (conn)
		afmux_conn_queue_work(conn, &conn->rx_work);
	read_unlock_bh(&tsk->sk_callback_lock);
}

static int check_tcp(struct socket *tcp)
{
	struct sock *tsk = tcp->sk;

	if (tcp->type != SOCK_STREAM || tsk->sk_protocol != IPPROTO_TCP ||
	    (tsk->sk_family != AF_INET && tsk->sk_family != AF_INET6))
		return -EPROTONOSUPPORT;
	return 0;
}

/* What the attach sets TCP_NOTSENT_LOWAT to. */
#define AFMUX_TCP_NOTSENT_LOWAT	(128 * 1024)

/* Claim @tsk.  Caller holds its socket lock. */
static int claim(struct afmux_conn *conn, struct sock *tsk)
{
	struct inet_connection_sock *icsk = inet_csk(tsk);
	int err = 0;

	if (tsk->sk_state == TCP_LISTEN)
		return -EINVAL;
	if (!((1 << tsk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)))
		return -ENOTCONN;
	if (icsk->icsk_ulp_ops)
		return -EBUSY;

	write_lock_bh(&tsk->sk_callback_lock);
	if (tsk->sk_user_data) {
		err = -EBUSY;
		goto out;
	}
	conn->saved_data_ready = tsk->sk_data_ready;
	conn->saved_write_space = tsk->sk_write_space;
	conn->saved_state_change = tsk->sk_state_change;
	tsk->sk_data_ready = afmux_rx_data_ready;
	tsk->sk_write_space = afmux_tx_write_space;
	tsk->sk_state_change = tcp_state_change;
	icsk->icsk_ulp_ops = &afmux_ulp;
	rcu_assign_sk_user_data(tsk, conn);
out:
	write_unlock_bh(&tsk->sk_callback_lock);
	return err;
}

/* Give @tsk back.  Caller holds its socket lock. */
static void unclaim(struct afmux_conn *conn, struct sock *tsk)
{
	write_lock_bh(&tsk->sk_callback_lock);
	rcu_assign_sk_user_data(tsk, NULL);
	tsk->sk_data_ready = conn->saved_data_ready;
	tsk->sk_write_space = conn->saved_write_space;
	tsk->sk_state_change = conn->saved_state_change;
	inet_csk(tsk)->icsk_ulp_ops = NULL;
	write_unlock_bh(&tsk->sk_callback_lock);
}

static int send_preface(struct afmux_conn *conn)
{
	struct afmux_preface pf = {
		.window = conn->window,
		.max_streams = READ_ONCE(conn->sk.sk_max_ack_backlog) ?: 1,
	};
	u8 buf[AFMUX_PREFACE_LEN];
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	struct kvec vec = { .iov_base = buf, .iov_len = sizeof(buf) };
	int ret;

	afmux_preface_encode(buf, &pf);
	ret = kernel_sendmsg(conn->tcp, &msg, &vec, 1, sizeof(buf));
	if (ret < 0)
		return ret;
	return ret == sizeof(buf) ? 0 : -EPIPE;
}

/**
 * afmux_conn_attach - take over the connected TCP socket @fd
 * @conn: an unattached mux socket
 * @fd: the TCP socket's file descriptor in the calling task
 *
 * Context: process; takes the mux socket lock.
 * Return: 0 or the errno listed for struct afmux_attach.
 */
int afmux_conn_attach(struct afmux_conn *conn, int fd)
{
	struct socket *tcp;
	struct sock *tsk;
	int err;

	tcp = sockfd_lookup(fd, &err);
	if (!tcp)
		return err;
	err = check_tcp(tcp);
	if (err)
		goto err_put;
	tsk = tcp->sk;

	lock_sock(&conn->sk);
	if (test_bit(AFMUX_C_ATTACHED, &conn->flags)) {
		err = -EISCONN;
		goto err_unlock;
	}
	/* The preface must be the first thing the pump finds sent. */
	mutex_lock(&conn->tx_mutex);
	lock_sock(tsk);
	err = claim(conn, tsk);
	if (!err) {
		/*
		 * Keep little waiting unsent in TCP (unless the user chose a
		 * limit): frames wait in their streams, where the pump's
		 * round robin orders them, not behind megabytes of another
		 * stream's data in TCP's queue.
		 */
		if (!tcp_sk(tsk)->notsent_lowat)
			WRITE_ONCE(tcp_sk(tsk)->notsent_lowat,
				   AFMUX_TCP_NOTSENT_LOWAT);
		conn->tcp_file = tcp->file;
		conn->tcp = tcp;
		sock_hold(tsk);		/* for rx_work; put by the destructor */
		conn->tsk = tsk;
		sock_hold(&conn->sk);	/* the attachment's */
		spin_lock_bh(&conn->lock);
		set_bit(AFMUX_C_ATTACHED, &conn->flags);
		spin_unlock_bh(&conn->lock);
	}
	release_sock(tsk);
	if (!err) {
		tcp_sock_set_nodelay(tsk);
		err = send_preface(conn);
	}
	mutex_unlock(&conn->tx_mutex);
	release_sock(&conn->sk);
	if (!err) {
		/* Bytes that arrived before the attach are read now, and
		 * whatever was queued while we held tx_mutex goes out.
		 */
		afmux_conn_queue_work(conn, &conn->rx_work);
		afmux_tx_kick(conn);
		return 0;
	}
	if (test_bit(AFMUX_C_ATTACHED, &conn->flags)) {
		/* The attachment owns @tcp now; fail() gives it back. */
		afmux_conn_fail(conn, -err, AFMUX_NO_ERROR);
		return err;
	}
	goto err_put;

err_unlock:
	release_sock(&conn->sk);
err_put:
	sockfd_put(tcp);
	return err;
}

/**
 * afmux_conn_fail - end the connection
 * @conn: the connection; the caller holds a reference
 * @err: what the mux socket reports (0: a clean end); streams not
 *	finished see ECONNRESET
 * @code: if not AFMUX_NO_ERROR, tell the peer with GOAWAY(@code)
 *
 * Context: any; takes conn->lock.
 */
void afmux_conn_fail(struct afmux_conn *conn, int err, u32 code)
{
	struct afmux_stream *st, *tmp;
	struct xarray *tables[] = { &conn->local, &conn->remote };
	unsigned long nr;
	unsigned int i;

	spin_lock_bh(&conn->lock);
	if (test_and_set_bit(AFMUX_C_FAILED, &conn->flags)) {
		spin_unlock_bh(&conn->lock);
		return;
	}
	conn->err = err;
	if (code != AFMUX_NO_ERROR) {
		conn->stats.last_error = code;
		conn->goaway_code = code;
		set_bit(AFMUX_C_GOAWAY_WANTED, &conn->flags);
		__afmux_tx_want(conn, NULL);
	}
	list_for_each_entry_safe(st, tmp, &conn->accept_q, accept_node)
		__afmux_stream_kill(st, ECONNRESET, false);
	for (i = 0; i < ARRAY_SIZE(tables); i++) {
		xa_for_each(tables[i], nr, st) {
			__afmux_stream_kill(st, ECONNRESET, false);
			__afmux_stream_finish(st);
		}
	}
	if (err)
		WRITE_ONCE(conn->sk.sk_err, err);
	WRITE_ONCE(conn->sk.sk_shutdown, SHUTDOWN_MASK);
	spin_unlock_bh(&conn->lock);

	sk_error_report(&conn->sk);
	conn->sk.sk_state_change(&conn->sk);
	afmux_conn_maybe_teardown(conn);
}

/* Queue the teardown once it is due. */
void afmux_conn_maybe_teardown(struct afmux_conn *conn)
{
	bool due;

	spin_lock_bh(&conn->lock);
	due = test_bit(AFMUX_C_ATTACHED, &conn->flags) &&
	      !test_bit(AFMUX_C_DETACHED, &conn->flags) &&
	      (test_bit(AFMUX_C_FAILED, &conn->flags) ||
	       (test_bit(AFMUX_C_RELEASED, &conn->flags) && !conn->nr_streams));
	spin_unlock_bh(&conn->lock);
	if (due)
		afmux_conn_queue_work(conn, &conn->teardown_work);
}

static void cancel_conn_work(struct afmux_conn *conn, struct work_struct *w)
{
	if (cancel_work_sync(w))
		sock_put(&conn->sk);	/* the queued work's reference */
}

static int discard_actor(read_descriptor_t *desc, struct sk_buff *skb,
			 unsigned int off, size_t len)
{
	return len;
}

static void teardown_work(struct work_struct *work)
{
	struct afmux_conn *conn = container_of(work, struct afmux_conn,
					       teardown_work);
	struct sock *tsk = conn->tsk;
	bool failed;

	/* What the pump still has goes first (END, GOAWAY, RESET). */
	afmux_tx_kick(conn);

	mutex_lock(&conn->tx_mutex);
	spin_lock_bh(&conn->lock);
	failed = test_bit(AFMUX_C_FAILED, &conn->flags);
	if (test_bit(AFMUX_C_DETACHED, &conn->flags) ||
	    (!failed && (conn->nr_streams || READ_ONCE(conn->tx_more) ||
			 !list_empty(&conn->tx_new) ||
			 !list_empty(&conn->tx_ready) ||
			 test_bit(AFMUX_C_GOAWAY_WANTED, &conn->flags) ||
			 conn->txf.buf_len))) {
		/* Not due, or tx_work comes back here when TCP drains. */
		spin_unlock_bh(&conn->lock);
		mutex_unlock(&conn->tx_mutex);
		goto out;
	}
	set_bit(AFMUX_C_DETACHED, &conn->flags);
	spin_unlock_bh(&conn->lock);
	afmux_tx_drop(conn);
	mutex_unlock(&conn->tx_mutex);

	lock_sock(tsk);
	unclaim(conn, tsk);
	/*
	 * What the peer sent since (its last WINDOWs, its GOAWAY) is of no
	 * use, and unread bytes would make the final close of the TCP
	 * socket a reset that could drop our last frames.
	 */
	if (!failed)
		tcp_read_sock(tsk, &(read_descriptor_t){ .count = 1 },
			      discard_actor);
	release_sock(tsk);
	/* Works take the TCP lock: wait for them without holding it. */
	cancel_conn_work(conn, &conn->rx_work);
	cancel_conn_work(conn, &conn->tx_work);
	if (conn->rx_st) {
		sock_put(&conn->rx_st->sk);
		conn->rx_st = NULL;
	}
	if (failed)
		kernel_sock_shutdown(conn->tcp, SHUT_RDWR);
	fput(conn->tcp_file);
	sock_put(&conn->sk);	/* the attachment's */
out:
	sock_put(&conn->sk);	/* this work's */
}

void afmux_conn_init(struct afmux_conn *conn)
{
	spin_lock_init(&conn->lock);
	mutex_init(&conn->tx_mutex);
	xa_init_flags(&conn->local, XA_FLAGS_LOCK_BH);
	xa_init_flags(&conn->remote, XA_FLAGS_LOCK_BH);
	INIT_LIST_HEAD(&conn->accept_q);
	INIT_LIST_HEAD(&conn->tx_new);
	INIT_LIST_HEAD(&conn->tx_ready);
	INIT_WORK(&conn->rx_work, afmux_rx_work);
	INIT_WORK(&conn->tx_work, afmux_tx_work);
	INIT_WORK(&conn->teardown_work, teardown_work);
	afmux_parser_init(&conn->parser, &afmux_rx_ops);
	conn->window = AFMUX_WINDOW_DEFAULT;
	conn->next_nr = 1;
}
