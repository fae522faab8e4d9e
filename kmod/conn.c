// SPDX-License-Identifier: GPL-2.0
/*
 * conn.c - a connection's life: taking the TCP socket over (attach),
 * ending it on error (fail), and giving the TCP socket back (teardown).
 *
 * Attach claims the TCP socket (takeover.c: refused if anyone - another
 * ULP, sockmap, KCM, another mux - owns it already; a kTLS socket with
 * both directions keyed is taken as it is, and the connection runs over
 * kTLS, ktls.c) and puts the preface first in the pump's way.  The
 * attachment holds a conn reference and a file reference to the TCP
 * socket.
 *
 * Teardown runs in a work item once the connection has failed, or once
 * the mux fd is closed and no stream is left: it flushes what the pump
 * still has (GOAWAY), ends a clean connection with a FIN and lingers
 * until the peer's, gives TCP's callbacks back, waits for the works
 * without holding the TCP lock, and drops the TCP file.
 */
#include <linux/file.h>
#include <linux/net.h>
#include <linux/tcp.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "afmux.h"
#include "frame.h"
#include "takeover.h"
#include "trace.h"

/*
 * Queue @w holding a conn reference; none is kept if already queued.
 * Over kTLS rx_work decrypts: it goes to an unbound queue, so that it
 * runs on an idle CPU rather than on the one whose softirq queued it -
 * on loopback the sender's, which then encrypts and decrypts alone.
 */
void afmux_conn_queue_work(struct afmux_conn *conn, struct work_struct *w)
{
	struct workqueue_struct *wq = afmux_wq;

	if (conn->ktls && w == &conn->rx_work)
		wq = afmux_unbound_wq;
	sock_hold(&conn->sk);
	if (!queue_work(wq, w))
		sock_put(&conn->sk);
}

/* Run teardown_work after @delay, unless it is queued already. */
void afmux_conn_queue_teardown(struct afmux_conn *conn, unsigned long delay)
{
	sock_hold(&conn->sk);
	if (!queue_delayed_work(afmux_wq, &conn->teardown_work, delay))
		sock_put(&conn->sk);
}

/* Run teardown_work now, even if it waits for a delay. */
void afmux_conn_teardown_now(struct afmux_conn *conn)
{
	sock_hold(&conn->sk);
	if (mod_delayed_work(afmux_wq, &conn->teardown_work, 0))
		sock_put(&conn->sk);	/* it was queued: it has its own */
}

/*
 * Have rx_work look at the TCP socket: TCP's state_change (a FIN or a
 * reset; the receive path sorts it out), and over kTLS also its
 * error_report and kTLS's "a record is whole".
 */
void afmux_conn_wake_rx(struct sock *tsk)
{
	struct afmux_conn *conn;

	read_lock_bh(&tsk->sk_callback_lock);
	conn = tsk->sk_user_data;
	if (conn)
		afmux_conn_queue_work(conn, &conn->rx_work);
	read_unlock_bh(&tsk->sk_callback_lock);
}

static const struct afmux_tcp_cbs afmux_conn_tcp_cbs = {
	.data_ready	= afmux_rx_data_ready,
	.write_space	= afmux_tx_write_space,
	.state_change	= afmux_conn_wake_rx,
};

static int afmux_conn_check_tcp(struct socket *tcp)
{
	struct sock *tsk = tcp->sk;

	if (tcp->type != SOCK_STREAM || tsk->sk_protocol != IPPROTO_TCP ||
	    (tsk->sk_family != AF_INET && tsk->sk_family != AF_INET6))
		return -EPROTONOSUPPORT;
	return 0;
}

/*
 * The preface is the first thing the pump sends: it goes into the pump's
 * frame buffer, so attach never waits for room in TCP.  Caller holds
 * tx_mutex.
 */
static void afmux_conn_queue_preface(struct afmux_conn *conn)
{
	struct afmux_preface pf = {
		.window = conn->window,
		.max_streams = READ_ONCE(conn->sk.sk_max_ack_backlog) ?: 1,
	};
	struct afmux_txf *f = &conn->txf;

	lockdep_assert_held(&conn->tx_mutex);
	BUILD_BUG_ON(sizeof(f->buf) < AFMUX_JOIN_PREFACE_LEN);
	if (conn->head) {
		/*
		 * A link: it presents the credentials the peer gave the
		 * head (the JOIN waited for them: constant now; read under
		 * the lock that wrote them, which orders the two).
		 */
		pf.join = true;
		spin_lock_bh(&conn->head->lock);
		pf.pool = conn->head->pool->peer;
		spin_unlock_bh(&conn->head->lock);
	}
	f->buf_len = afmux_preface_encode(f->buf, &pf);
	f->preface = true;
}

/**
 * afmux_conn_attach - take over the connected TCP socket @fd
 * @conn: an unattached mux socket, or a new link (pool.c)
 * @fd: the TCP socket's file descriptor in the calling task
 * @pool: offer a pool (AFMUX_ATTACH_POOL): HELLO follows the preface
 *
 * Context: process; takes the mux socket lock.
 * Return: 0 or the errno listed for struct afmux_attach.
 */
int afmux_conn_attach(struct afmux_conn *conn, int fd, bool pool)
{
	struct afmux_pool *offer = NULL;
	struct afmux_ktls *kt = NULL;
	struct socket *tcp;
	struct sock *tsk;
	int err;

	tcp = sockfd_lookup(fd, &err);
	if (!tcp)
		return err;
	err = afmux_conn_check_tcp(tcp);
	if (err)
		goto err_put;
	tsk = tcp->sk;

	lock_sock(&conn->sk);
	if (test_bit(AFMUX_C_ATTACHED, &conn->flags)) {
		err = -EISCONN;
		goto err_unlock;
	}
	if (pool) {
		offer = afmux_pool_new();
		if (!offer) {
			err = -ENOMEM;
			goto err_unlock;
		}
	}
	/* The preface must be the first thing the pump finds to send. */
	mutex_lock(&conn->tx_mutex);
	lock_sock(tsk);
	if (afmux_takeover_is_tls(tsk)) {
		/*
		 * Set before the claim: its callbacks may queue rx_work at
		 * once, which must take the kTLS path.
		 */
		kt = afmux_ktls_new(tcp);
		conn->ktls = kt;
		err = kt ? afmux_takeover_claim_tls(tsk, conn, &afmux_ktls_cbs,
						    &conn->saved) : -ENOMEM;
	} else {
		err = afmux_takeover_claim(tsk, conn, &afmux_conn_tcp_cbs,
					   &conn->saved);
	}
	if (err) {
		conn->ktls = NULL;
		release_sock(tsk);
		mutex_unlock(&conn->tx_mutex);
		afmux_ktls_free(kt);
		goto err_unlock;
	}
	afmux_tx_lowat_init(conn, tsk);
	conn->tcp_file = tcp->file;
	conn->tcp = tcp;
	sock_hold(tsk);		/* for rx_work; put by the destructor */
	conn->tsk = tsk;
	sock_hold(&conn->sk);	/* the attachment's */
	WRITE_ONCE(conn->rx_stamp, jiffies);
	afmux_conn_queue_preface(conn);
	spin_lock_bh(&conn->lock);
	if (conn->head)		/* a link: the peer must join in time */
		conn->join_by = jiffies + conn->ka_timeout;
	if (offer) {
		/* HELLO: the first frame after the preface (§12.1). */
		atomic_set(&offer->alive, 1);
		/* Filled in first: lockless readers (pool.c) acquire it. */
		smp_store_release(&conn->pool, offer);
		set_bit(AFMUX_C_HELLO_WANTED, &conn->flags);
		__afmux_tx_want(conn, NULL);
	}
	set_bit(AFMUX_C_ATTACHED, &conn->flags);
	spin_unlock_bh(&conn->lock);
	afmux_count(conn, AFMUX_MIB_CONN_ATTACHED);
	trace_afmux_conn_attach(conn);
	release_sock(tsk);
	tcp_sock_set_nodelay(tsk);
	mutex_unlock(&conn->tx_mutex);
	release_sock(&conn->sk);
	/*
	 * Bytes that arrived before the attach are read now, and the
	 * preface (and whatever was queued meanwhile) goes out.
	 */
	afmux_conn_queue_work(conn, &conn->rx_work);
	afmux_tx_kick(conn);
	afmux_conn_keepalive_arm(conn);
	return 0;

err_unlock:
	kfree(offer);		/* never published */
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
	if (err) {
		afmux_count(conn, AFMUX_MIB_CONN_FAILED);
		trace_afmux_conn_error(conn, err, code);
	}
	/*
	 * The mux socket's error first: whoever a stream's error wakes
	 * finds it there (the test that reads both raced this).  In a pool
	 * only once the last connection has ended.
	 */
	afmux_pool_ended(conn, err);
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
	      !test_bit(AFMUX_C_LINGER, &conn->flags) &&
	      !test_bit(AFMUX_C_DETACHED, &conn->flags) &&
	      (test_bit(AFMUX_C_FAILED, &conn->flags) ||
	       (test_bit(AFMUX_C_RELEASED, &conn->flags) && !conn->nr_streams));
	spin_unlock_bh(&conn->lock);
	if (due)
		afmux_conn_teardown_now(conn);
}

static void afmux_conn_cancel_work(struct afmux_conn *conn,
				   struct work_struct *w)
{
	if (cancel_work_sync(w))
		sock_put(&conn->sk);	/* the queued work's reference */
}

static int afmux_conn_discard_actor(read_descriptor_t *desc,
				    struct sk_buff *skb, unsigned int off,
				    size_t len)
{
	return len;
}

/**
 * afmux_conn_linger_read - drop what the peer sends after our FIN
 * @conn: a connection in AFMUX_C_LINGER, over plain TCP
 *
 * Unread bytes would turn the final close of the TCP socket into a reset,
 * which could drop our last frames on their way.  Once the peer has ended
 * its side too (FIN, reset, error), the teardown finishes at once.  (Over
 * kTLS, afmux_ktls_rx() does the same.)
 *
 * Context: holding the TCP socket lock (the receive path).
 */
void afmux_conn_linger_read(struct afmux_conn *conn)
{
	struct sock *tsk = conn->tsk;

	tcp_read_sock(tsk, &(read_descriptor_t){ .count = 1 },
		      afmux_conn_discard_actor);
	if ((READ_ONCE(tsk->sk_shutdown) & RCV_SHUTDOWN) ||
	    READ_ONCE(tsk->sk_err) || tsk->sk_state == TCP_CLOSE)
		afmux_conn_teardown_now(conn);
}

/*
 * Is the connection over, with nothing left for the pump?  Then a clean
 * end may start.  Caller holds tx_mutex and conn->lock.
 */
static bool afmux_conn_drained(struct afmux_conn *conn)
{
	lockdep_assert_held(&conn->tx_mutex);
	lockdep_assert_held(&conn->lock);
	return !conn->nr_streams && !READ_ONCE(conn->tx_more) &&
	       list_empty(&conn->tx_new) && list_empty(&conn->tx_ready) &&
	       !test_bit(AFMUX_C_GOAWAY_WANTED, &conn->flags) &&
	       !test_bit(AFMUX_C_HELLO_WANTED, &conn->flags) &&
	       !test_bit(AFMUX_C_POOL_WANTED, &conn->flags) &&
	       !conn->nr_replies && !conn->txf.buf_len;
}

/* net.afmux.linger_ms, in jiffies: how long a clean end waits for a FIN. */
static unsigned long afmux_conn_linger(struct afmux_conn *conn)
{
	return msecs_to_jiffies(READ_ONCE(afmux_net(sock_net(&conn->sk))->
					  linger_ms));
}

/*
 * Has the pump written what must precede the shutdown of a failed
 * connection (the rest of a frame it started, the GOAWAY)?  Caller holds
 * tx_mutex and conn->lock.
 */
static bool afmux_conn_flushed(struct afmux_conn *conn)
{
	lockdep_assert_held(&conn->tx_mutex);
	lockdep_assert_held(&conn->lock);
	return !test_bit(AFMUX_C_GOAWAY_WANTED, &conn->flags) &&
	       !conn->txf.buf_len;
}

/*
 * A failed connection waits (at most net.afmux.linger_ms) for the pump
 * to get its GOAWAY into TCP, which a peer that reads slowly makes wait:
 * true if it must wait on, and teardown_work is queued again then (the
 * pump's tx_work brings it back sooner).  Caller holds tx_mutex and
 * conn->lock.
 */
static bool afmux_conn_flush_wait(struct afmux_conn *conn)
{
	unsigned long now = jiffies;

	lockdep_assert_held(&conn->lock);
	if (afmux_conn_flushed(conn))
		return false;
	if (!conn->flush_deadline)
		conn->flush_deadline = (now + afmux_conn_linger(conn)) ?: 1;
	if (!time_before(now, conn->flush_deadline))
		return false;
	afmux_conn_queue_teardown(conn, conn->flush_deadline - now);
	return true;
}

/*
 * End our side of TCP: SHUT_WR for a clean end (over kTLS after a
 * close_notify alert), SHUT_RDWR for a failed one.
 */
static void afmux_conn_shutdown(struct afmux_conn *conn, int how)
{
	if (conn->ktls && how == SHUT_WR)
		afmux_ktls_close_notify(conn);
	afmux_takeover_shutdown(conn->tcp, how);
}

/*
 * The teardown, in two steps for a clean end: once the pump has sent
 * everything, a FIN follows the last frame and the connection lingers
 * (reading and dropping what still comes) until the peer's FIN or
 * net.afmux.linger_ms; then the TCP socket is given back.  A failed
 * connection waits as long at most for its GOAWAY to get into TCP, skips
 * the lingering and shuts TCP down both ways.
 */
static void afmux_conn_teardown_work(struct work_struct *work)
{
	struct afmux_conn *conn = container_of(to_delayed_work(work),
					       struct afmux_conn,
					       teardown_work);
	struct sock *tsk = conn->tsk;
	bool failed, linger;

	/* What the pump still has goes first (END, GOAWAY, RESET). */
	afmux_tx_kick(conn);

	mutex_lock(&conn->tx_mutex);
	spin_lock_bh(&conn->lock);
	failed = test_bit(AFMUX_C_FAILED, &conn->flags);
	linger = test_bit(AFMUX_C_LINGER, &conn->flags);
	if (test_bit(AFMUX_C_DETACHED, &conn->flags) ||
	    (!failed && !linger && !afmux_conn_drained(conn)) ||
	    (failed && afmux_conn_flush_wait(conn))) {
		/* Not due, or tx_work comes back here when TCP drains. */
		spin_unlock_bh(&conn->lock);
		mutex_unlock(&conn->tx_mutex);
		goto out;
	}
	if (!failed && !linger && afmux_conn_linger(conn)) {
		set_bit(AFMUX_C_LINGER, &conn->flags);
		spin_unlock_bh(&conn->lock);
		mutex_unlock(&conn->tx_mutex);
		afmux_conn_shutdown(conn, SHUT_WR);
		afmux_conn_queue_teardown(conn, afmux_conn_linger(conn));
		/* The peer's FIN may be there already. */
		afmux_conn_queue_work(conn, &conn->rx_work);
		goto out;
	}
	set_bit(AFMUX_C_DETACHED, &conn->flags);
	afmux_count(conn, AFMUX_MIB_CONN_DETACHED);
	if (!conn->err)
		afmux_count(conn, AFMUX_MIB_CONN_CLEAN);
	trace_afmux_conn_detach(conn);
	spin_unlock_bh(&conn->lock);
	afmux_tx_drop(conn);
	mutex_unlock(&conn->tx_mutex);

	lock_sock(tsk);
	afmux_takeover_unclaim(tsk, &conn->saved);
	if (!failed && !conn->ktls)
		tcp_read_sock(tsk, &(read_descriptor_t){ .count = 1 },
			      afmux_conn_discard_actor);
	release_sock(tsk);
	if (!failed && conn->ktls)
		afmux_ktls_discard(conn);
	/* Works take the TCP lock: wait for them without holding it. */
	afmux_conn_cancel_work(conn, &conn->rx_work);
	afmux_conn_cancel_work(conn, &conn->tx_work);
	sk_stop_timer_sync(&conn->sk, &conn->tx_retry);
	sk_stop_timer_sync(&conn->sk, &conn->ka_timer);
	if (conn->rx_st) {
		sock_put(&conn->rx_st->sk);
		conn->rx_st = NULL;
	}
	if (failed || !afmux_conn_linger(conn))
		afmux_conn_shutdown(conn, failed ? SHUT_RDWR : SHUT_WR);
	fput(conn->tcp_file);
	sock_put(&conn->sk);	/* the attachment's */
out:
	sock_put(&conn->sk);	/* this work's */
}

/* A link whose peer's join preface has not been checked yet? */
static bool afmux_conn_join_pending(const struct afmux_conn *conn)
{
	return conn->head && !test_bit(AFMUX_C_JOINED, &conn->flags);
}

/*
 * Attached and not over: may the keepalive timer run?  The teardown sets
 * DETACHED under conn->lock before it stops the timer, so testing under
 * the lock is enough.
 */
static bool afmux_conn_running(struct afmux_conn *conn)
{
	lockdep_assert_held(&conn->lock);
	return test_bit(AFMUX_C_ATTACHED, &conn->flags) &&
	       !test_bit(AFMUX_C_FAILED, &conn->flags) &&
	       !test_bit(AFMUX_C_LINGER, &conn->flags) &&
	       !test_bit(AFMUX_C_DETACHED, &conn->flags);
}

/*
 * The keepalive timer: once nothing has come from the peer for ka_idle,
 * queue a PING; if nothing comes within ka_timeout after it, the peer is
 * gone: end the connection with ETIMEDOUT (no GOAWAY: nobody reads it).
 * A link not joined yet has only its join deadline (join_by).
 * Holds a conn reference while queued (sk_reset_timer()).
 */
static void afmux_conn_keepalive(struct timer_list *t)
{
	struct afmux_conn *conn = from_timer(conn, t, ka_timer);
	unsigned long now = jiffies, last, next = 0;
	bool dead = false, kick = false;

	spin_lock_bh(&conn->lock);
	last = READ_ONCE(conn->rx_stamp);
	if (!afmux_conn_running(conn)) {
		/* Over: no more. */
	} else if (afmux_conn_join_pending(conn)) {
		if (time_after_eq(now, conn->join_by))
			dead = true;
		else
			next = conn->join_by;
	} else if (!conn->ka_idle) {
		/* Off. */
	} else if (conn->ka_sent && time_before(last, conn->ka_sent)) {
		/* (Bytes in the PING's own jiffy count as an answer.) */
		if (time_after_eq(now, conn->ka_sent + conn->ka_timeout))
			dead = true;
		else
			next = conn->ka_sent + conn->ka_timeout;
	} else if (time_after_eq(now, last + conn->ka_idle)) {
		conn->ka_sent = now ?: 1;
		conn->ka_count++;
		conn->stats.keepalive_pings++;
		set_bit(AFMUX_C_PING_WANTED, &conn->flags);
		__afmux_tx_want(conn, NULL);
		kick = true;
		next = now + conn->ka_timeout;
	} else {
		conn->ka_sent = 0;
		next = last + conn->ka_idle;
	}
	spin_unlock_bh(&conn->lock);
	if (next)
		sk_reset_timer(&conn->sk, &conn->ka_timer, next);
	if (kick)
		afmux_conn_queue_work(conn, &conn->tx_work);
	if (dead) {
		afmux_count(conn, AFMUX_MIB_CONN_KEEPALIVE);
		afmux_conn_fail(conn, ETIMEDOUT, AFMUX_NO_ERROR);
	}
	sock_put(&conn->sk);	/* the timer's */
}

/**
 * afmux_conn_keepalive_arm - (re)start the keepalive after a change
 * @conn: the connection
 *
 * Only while the connection runs (afmux_conn_running()): armed after the
 * teardown stopped it, the timer's reference would pin the connection
 * for up to an hour (found by sys_fuzz).  A link not joined yet is armed
 * for its join deadline instead.
 *
 * Context: process or softirq; takes conn->lock.
 */
void afmux_conn_keepalive_arm(struct afmux_conn *conn)
{
	bool running;

	spin_lock_bh(&conn->lock);
	running = afmux_conn_running(conn);
	if (running && afmux_conn_join_pending(conn))
		sk_reset_timer(&conn->sk, &conn->ka_timer, conn->join_by);
	else if (running && conn->ka_idle)
		sk_reset_timer(&conn->sk, &conn->ka_timer,
			       jiffies + conn->ka_idle);
	spin_unlock_bh(&conn->lock);
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
	INIT_LIST_HEAD(&conn->link_node);
	INIT_WORK(&conn->rx_work, afmux_rx_work);
	INIT_WORK(&conn->tx_work, afmux_tx_work);
	INIT_DELAYED_WORK(&conn->teardown_work, afmux_conn_teardown_work);
	timer_setup(&conn->tx_retry, afmux_tx_retry, 0);
	timer_setup(&conn->ka_timer, afmux_conn_keepalive, 0);
	afmux_parser_init(&conn->parser, &afmux_rx_ops, false);
	conn->window = AFMUX_WINDOW_DEFAULT;
	conn->next_nr = 1;
}
