// SPDX-License-Identifier: GPL-2.0
/*
 * rx.c - the receive path: read TCP, parse, deliver to streams.
 *
 * TCP's data_ready callback reads the TCP socket with tcp_read_sock()
 * (softirq, under bh_lock_sock) unless a task owns the socket.  If that
 * task locked it with afmux_tcp_lock() (the pump, rx_work), the callback
 * comes from TCP's backlog in that task and reads there; otherwise
 * rx_work reads under lock_sock - the way strparser does.  The
 * parser (parser.c) copies headers and control payloads; DATA payload is
 * queued on the stream as clones of TCP's skbs (struct afmux_rx_cb says
 * which bytes).  The receive path never blocks: a stream's reader being
 * slow costs only that stream's window, never the connection.
 *
 * Everything here runs under the TCP socket lock (the receive
 * serialisation of afmux.h) and takes conn->lock for shared state.  Over
 * kTLS, rx_work alone reads, through ktls.c, which feeds afmux_rx_actor()
 * decrypted records under that same lock.
 */
#include <linux/sched/mm.h>
#include <linux/skbuff.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "afmux.h"
#include "compat.h"
#include "frame.h"
#include "window.h"
#include "trace.h"

/* Errors of the callbacks below, as connection error codes. */
#define RX_EFLOW	EOVERFLOW	/* FLOW_CONTROL_ERROR */

static struct afmux_conn *parser_conn(struct afmux_parser *p)
{
	return container_of(p, struct afmux_conn, parser);
}

/*
 * Malformed input: note which rule of §8 it broke, for the counters, and
 * return the parse's error.  Under the TCP socket lock, as the parser.
 */
static int rx_bad(struct afmux_conn *conn, enum afmux_bad why)
{
	conn->parser.bad = why;
	return why == AFMUX_BAD_FLOW ? -RX_EFLOW : -EPROTO;
}

static int rx_preface(struct afmux_parser *p, const struct afmux_preface *pf)
{
	struct afmux_conn *conn = parser_conn(p);
	struct afmux_stream *st;
	unsigned long nr;
	int err;

	if (conn->head) {		/* a link: its join preface */
		err = afmux_pool_rx_join(conn, pf);
		if (err)
			return err;
	}
	spin_lock_bh(&conn->lock);
	conn->peer_window = pf->window;
	set_bit(AFMUX_C_PEER_READY, &conn->flags);
	/* Streams opened before the preface had no credit yet. */
	xa_for_each(&conn->local, nr, st) {
		WRITE_ONCE(st->tx_limit, pf->window);
		st->sk.sk_write_space(&st->sk);
	}
	spin_unlock_bh(&conn->lock);
	return 0;
}

/*
 * The stream a frame names, NULL if it is over.  -EPROTO in @err if it
 * was never opened.  In a pool our numbers are the pool's: one we opened
 * on another connection is over here (§12.6).  Caller holds conn->lock.
 */
static struct afmux_stream *lookup(struct afmux_conn *conn, u32 stream,
				   int *err)
{
	u32 nr = stream & ~AFMUX_STREAM_R;

	lockdep_assert_held(&conn->lock);
	*err = 0;
	if (stream & AFMUX_STREAM_R) {
		if (nr >= afmux_conn_next_nr(conn)) {
			*err = rx_bad(conn, AFMUX_BAD_UNOPENED);
			return NULL;
		}
		return xa_load(&conn->local, nr);
	}
	if (nr > conn->rx_last_nr) {
		*err = rx_bad(conn, AFMUX_BAD_UNOPENED);
		return NULL;
	}
	return xa_load(&conn->remote, nr);
}

static bool rx_closed(const struct afmux_stream *st)
{
	return test_bit(AFMUX_ST_CLOSED, &st->flags) ||
	       test_bit(AFMUX_ST_RESET_WANTED, &st->flags) ||
	       test_bit(AFMUX_ST_RESET_SENT, &st->flags);
}

/* A DATA header: check it and choose where its payload goes. */
static int rx_data_hdr(struct afmux_conn *conn, const struct afmux_hdr *h,
		       bool *kick)
{
	struct afmux_stream *st;
	int err;

	lockdep_assert_held(&conn->lock);
	st = lookup(conn, h->stream, &err);
	if (err)
		return err;
	if (!st) {
		conn->stats.data_discarded += h->len;
		return 0;
	}
	if (test_bit(AFMUX_ST_PEER_END, &st->flags))
		return rx_bad(conn, AFMUX_BAD_AFTER_END);
	if (!afmux_window_fits(st->rx_limit, st->rx_recvd, h->len))
		return rx_bad(conn, AFMUX_BAD_FLOW);
	st->rx_recvd += h->len;
	st->rx_bytes += h->len;
	if (rx_closed(st)) {
		conn->stats.data_discarded += h->len;
		if (!test_bit(AFMUX_ST_RESET_WANTED, &st->flags) &&
		    !test_bit(AFMUX_ST_RESET_SENT, &st->flags)) {
			st->reset_code = AFMUX_CANCEL;
			afmux_stream_set(st, AFMUX_ST_RESET_WANTED);
			__afmux_tx_want(conn, st);
			*kick = true;
		}
		return 0;
	}
	conn->stats.bytes_rx += h->len;
	sock_hold(&st->sk);
	conn->rx_st = st;
	return 0;
}

/*
 * The rest of a DATA frame for a stream whose fd was closed after its
 * header came: dropped, and answered once with RESET CANCEL (§6), as
 * rx_data_hdr() answers a whole frame.
 */
static void rx_data_closed(struct afmux_conn *conn, struct afmux_stream *st,
			   unsigned int len, bool *kick)
{
	spin_lock_bh(&conn->lock);
	conn->stats.data_discarded += len;
	if (test_bit(AFMUX_ST_IN_TABLE, &st->flags) &&
	    !test_bit(AFMUX_ST_RESET_WANTED, &st->flags) &&
	    !test_bit(AFMUX_ST_RESET_SENT, &st->flags) &&
	    !test_bit(AFMUX_ST_PEER_RESET, &st->flags)) {
		st->reset_code = AFMUX_CANCEL;
		afmux_stream_set(st, AFMUX_ST_RESET_WANTED);
		__afmux_tx_want(conn, st);
		*kick = true;
	}
	spin_unlock_bh(&conn->lock);
}

/*
 * Wake the reader of the stream the read last queued bytes on.  The bytes
 * of one read pass (a tcp_read_sock() or a kTLS read) wake each reader
 * once per run of frames, not once per frame piece; the pass ends in
 * afmux_rx_parsed().
 */
static void rx_wake_reader(struct afmux_conn *conn)
{
	struct afmux_stream *st = conn->rx_wake;

	lockdep_assert(lockdep_sock_is_held(conn->tsk));
	if (st) {
		conn->rx_wake = NULL;
		st->sk.sk_data_ready(&st->sk);
		sock_put(&st->sk);
	}
}

static int rx_data(struct afmux_parser *p, const struct afmux_hdr *h,
		   struct sk_buff *skb, unsigned int off, unsigned int len)
{
	struct afmux_conn *conn = parser_conn(p);
	struct afmux_stream *st = conn->rx_st;
	bool kick = false;
	int err = 0;

	if (!st)
		return 0;
	err = afmux_stream_rx_queue(st, skb, off, len);
	if (!err && conn->rx_wake != st) {
		/* One wake-up per stream and run of its frames in a read. */
		rx_wake_reader(conn);
		sock_hold(&st->sk);
		conn->rx_wake = st;
	}
	if (err == -EPIPE) {
		rx_data_closed(conn, st, len, &kick);
		err = 0;
	}
	if (kick)
		afmux_conn_queue_work(conn, &conn->tx_work);
	if (p->data_left == len) {	/* the frame's last bytes */
		conn->rx_st = NULL;
		sock_put(&st->sk);
	}
	return err;
}

/*
 * Queue an answer to the peer.  Returns AFMUX_PARSE_PAUSE when that
 * filled the queue: the parse stops after this frame, and TCP is not read
 * until the pump has sent half of the answers (pick_reply()).  Caller
 * holds conn->lock.
 */
static int rx_reply(struct afmux_conn *conn, u8 type, u32 stream,
		    const u8 *data)
{
	struct afmux_reply *r;

	lockdep_assert_held(&conn->lock);
	if (WARN_ON_ONCE(conn->nr_replies >= AFMUX_REPLIES_MAX))
		return -ENOMEM;	/* the parse did not stop when it was full */
	r = &conn->replies[(conn->reply_head + conn->nr_replies++) %
			   AFMUX_REPLIES_MAX];
	r->type = type;
	r->stream = stream;
	memcpy(r->data, data, type == AFMUX_T_PING ? AFMUX_PING_LEN :
						     AFMUX_RESET_LEN);
	__afmux_tx_want(conn, NULL);
	if (conn->nr_replies < AFMUX_REPLIES_MAX)
		return 0;
	set_bit(AFMUX_C_RX_PAUSED, &conn->flags);
	afmux_count(conn, AFMUX_MIB_RX_PAUSED);
	return AFMUX_PARSE_PAUSE;
}

static int rx_open(struct afmux_conn *conn, const struct afmux_hdr *h,
		   const u8 *key, bool *kick)
{
	struct afmux_pool *pool = afmux_conn_pool(conn);
	struct afmux_stream *st = NULL;
	bool refuse;
	int err = 0;

	spin_lock_bh(&conn->lock);
	if (h->stream <= conn->rx_last_nr) {
		spin_unlock_bh(&conn->lock);
		return rx_bad(conn, AFMUX_BAD_OPEN);
	}
	conn->rx_last_nr = h->stream;
	refuse = test_bit(AFMUX_C_RELEASED, &conn->flags) ||
		 test_bit(AFMUX_C_GOAWAY_SENT, &conn->flags) ||
		 conn->accept_len >= READ_ONCE(conn->sk.sk_max_ack_backlog) ||
		 conn->nr_streams >=
			READ_ONCE(afmux_net(sock_net(&conn->sk))->max_streams);
	spin_unlock_bh(&conn->lock);

	if (!refuse) {
		/* Its memory is the mux socket owner's, not this CPU's task's. */
		struct mem_cgroup *old = set_active_memcg(conn->sk.sk_memcg);

		st = afmux_stream_new(conn, h->stream, false, key, h->len,
				      GFP_ATOMIC);
		set_active_memcg(old);
		refuse = !st;
		if (!st)
			afmux_count(conn, AFMUX_MIB_ALLOC_FAILURES);
	}

	spin_lock_bh(&conn->lock);
	if (test_bit(AFMUX_C_FAILED, &conn->flags)) {
		spin_unlock_bh(&conn->lock);
		if (st)
			sock_put(&st->sk);
		return -ESHUTDOWN;
	}
	if (!refuse && (test_bit(AFMUX_C_RELEASED, &conn->flags) ||
			!__afmux_stream_admit(st)))
		refuse = true;
	else if (!refuse && xa_insert(&conn->remote, st->nr, st, GFP_ATOMIC)) {
		__afmux_stream_uncharge(st);
		refuse = true;
	}
	if (!refuse) {
		st->tx_limit = conn->peer_window;
		afmux_stream_set(st, AFMUX_ST_IN_TABLE);
		afmux_stream_set(st, AFMUX_ST_ACCEPTABLE);
		sock_hold(&st->sk);	/* the table's; the queue has the first */
		if (pool)	/* accept takes the pool's oldest first */
			st->accept_seq = atomic_inc_return(&pool->accept_seq);
		list_add_tail(&st->accept_node, &conn->accept_q);
		conn->accept_len++;
		conn->nr_streams++;
		conn->stats.streams_accepted++;
		afmux_count(conn, AFMUX_MIB_STREAMS_INCOMING);
		trace_afmux_stream_incoming(st);
		conn->sk.sk_data_ready(&conn->sk);
		st = NULL;
	} else {
		__be32 code = cpu_to_be32(AFMUX_REFUSED_STREAM);

		conn->stats.streams_refused++;
		afmux_count(conn, AFMUX_MIB_STREAMS_REFUSED);
		err = rx_reply(conn, AFMUX_T_RESET, h->stream | AFMUX_STREAM_R,
			       (const u8 *)&code);
		*kick = true;
	}
	spin_unlock_bh(&conn->lock);
	if (st)
		sock_put(&st->sk);
	return err;
}

/* END, RESET, WINDOW.  Caller holds conn->lock. */
static int rx_stream_ctl(struct afmux_conn *conn, const struct afmux_hdr *h,
			 const u8 *payload)
{
	struct afmux_stream *st;
	u32 limit;
	int err;

	lockdep_assert_held(&conn->lock);
	st = lookup(conn, h->stream, &err);
	if (!st)
		return err;	/* 0: over, ignored */

	switch (h->type) {
	case AFMUX_T_END:
		if (test_bit(AFMUX_ST_PEER_END, &st->flags))
			return rx_bad(conn, AFMUX_BAD_AFTER_END);
		afmux_stream_set(st, AFMUX_ST_PEER_END);
		__afmux_stream_rx_end(st, 0, RCV_SHUTDOWN);
		st->sk.sk_data_ready(&st->sk);
		break;
	case AFMUX_T_RESET:
		conn->stats.resets_rx++;
		__afmux_stream_kill(st, ECONNRESET, true);
		afmux_stream_set(st, AFMUX_ST_PURGE);
		afmux_stream_set(st, AFMUX_ST_PEER_RESET);
		break;
	case AFMUX_T_WINDOW:
		limit = get_unaligned_be32(payload);
		if (!afmux_window_update_ok(st->tx_limit, limit,
					    st->tx_accepted))
			return rx_bad(conn, AFMUX_BAD_FLOW);
		WRITE_ONCE(st->tx_limit, limit);
		st->sk.sk_write_space(&st->sk);
		return 0;
	}
	__afmux_stream_finish(st);
	return 0;
}

static int rx_goaway(struct afmux_conn *conn, const u8 *payload)
{
	u32 last = get_unaligned_be32(payload);
	u32 code = get_unaligned_be32(payload + 4);
	struct afmux_stream *st;
	unsigned long nr;

	spin_lock_bh(&conn->lock);
	set_bit(AFMUX_C_PEER_GOAWAY, &conn->flags);
	if (code != AFMUX_NO_ERROR)
		conn->stats.last_error = code;
	/* Our streams above @last will never be accepted. */
	xa_for_each_start(&conn->local, nr, st, (unsigned long)last + 1) {
		__afmux_stream_kill(st, ECONNRESET, true);
		afmux_stream_set(st, AFMUX_ST_PEER_RESET);
		__afmux_stream_finish(st);
	}
	spin_unlock_bh(&conn->lock);
	conn->sk.sk_state_change(&conn->sk);
	if (code == AFMUX_REFUSED_JOIN && conn->head)
		afmux_conn_fail(conn, ECONNREFUSED, AFMUX_NO_ERROR);
	else if (code != AFMUX_NO_ERROR)
		afmux_conn_fail(conn, ECONNRESET, AFMUX_NO_ERROR);
	return 0;
}

/* Count and trace an END or a RESET from the peer. */
static void rx_count_end(struct afmux_conn *conn, const struct afmux_hdr *h,
			 const u8 *payload)
{
	bool reset = h->type == AFMUX_T_RESET;
	u32 code = reset ? get_unaligned_be32(payload) : 0;

	if (reset)
		afmux_count(conn, AFMUX_MIB_RESETS_RX + afmux_mib_code(code));
	/* R set: the stream is the one its receiver, this end, opened. */
	trace_afmux_stream_end(conn, h->stream & ~AFMUX_STREAM_R,
			       h->stream & AFMUX_STREAM_R, true, reset, code);
}

static int rx_frame(struct afmux_parser *p, const struct afmux_hdr *h,
		    const u8 *payload)
{
	struct afmux_conn *conn = parser_conn(p);
	bool kick = false;
	int err = 0;

	/* Nothing after the end counts (a GOAWAY may end it mid-read). */
	if (test_bit(AFMUX_C_FAILED, &conn->flags))
		return -ESHUTDOWN;
	if (!test_bit(AFMUX_C_FIRST_FRAME, &conn->flags))
		afmux_pool_rx_first(conn, h, payload);	/* a HELLO? */
	if (h->type == AFMUX_T_POOL) {
		err = afmux_pool_rx_pool(conn, payload);
		if (err)
			return err;
	}
	afmux_count(conn, AFMUX_MIB_FRAMES_RX + h->type);
	trace_afmux_frame_rx(conn, h->type, h->flags, h->len, h->stream);
	if (h->type == AFMUX_T_RESET || h->type == AFMUX_T_END)
		rx_count_end(conn, h, payload);
	spin_lock_bh(&conn->lock);
	conn->stats.frames_rx++;
	switch (h->type) {
	case AFMUX_T_DATA:
		err = rx_data_hdr(conn, h, &kick);
		break;
	case AFMUX_T_END:
	case AFMUX_T_RESET:
	case AFMUX_T_WINDOW:
		err = rx_stream_ctl(conn, h, payload);
		break;
	case AFMUX_T_PING:
		conn->stats.pings_rx++;
		if (h->flags & AFMUX_FLAG_ACK)
			break;
		err = rx_reply(conn, AFMUX_T_PING, 0, payload);
		kick = true;
		break;
	}
	spin_unlock_bh(&conn->lock);

	if (h->type == AFMUX_T_OPEN)
		err = rx_open(conn, h, payload, &kick);
	else if (h->type == AFMUX_T_GOAWAY)
		err = rx_goaway(conn, payload);
	if (kick)
		afmux_conn_queue_work(conn, &conn->tx_work);
	return err;
}

const struct afmux_parser_ops afmux_rx_ops = {
	.preface	= rx_preface,
	.frame		= rx_frame,
	.data		= rx_data,
};

/**
 * afmux_rx_actor - feed the parser what TCP (or kTLS) read
 * @desc: .arg.data is the connection; .error gets a parse error
 * @skb: the bytes' skb, which DATA payload is cloned from
 * @off: where they start in @skb
 * @len: how many
 *
 * A read_sock actor.  Caller holds the TCP socket lock.
 * Return: the bytes used; 0 while replies are full (the bytes stay).
 */
int afmux_rx_actor(read_descriptor_t *desc, struct sk_buff *skb,
		   unsigned int off, size_t len)
{
	struct afmux_conn *conn = desc->arg.data;
	int used;

	lockdep_assert(lockdep_sock_is_held(conn->tsk));
	WRITE_ONCE(conn->rx_stamp, jiffies);	/* for the keepalive */
	/* 0 ends tcp_read_sock(): the bytes stay in TCP's queue. */
	if (test_bit(AFMUX_C_RX_PAUSED, &conn->flags))
		return 0;
	used = afmux_parser_feed(&conn->parser, skb, off, len);
	if (used < 0) {
		desc->error = used;
		desc->count = 0;
		return len;
	}
	return used;
}

static u32 error_code(int err)
{
	switch (err) {
	case -EPROTONOSUPPORT:
		return AFMUX_VERSION_ERROR;
	case -ECONNREFUSED:
		return AFMUX_REFUSED_JOIN;
	case -RX_EFLOW:
		return AFMUX_FLOW_CONTROL_ERROR;
	case -ENOMEM:
		return AFMUX_INTERNAL_ERROR;
	default:
		return AFMUX_PROTOCOL_ERROR;
	}
}

/**
 * afmux_rx_parsed - a read pass ended: wake its last reader, and end
 * the connection if the parse failed
 * @conn: the connection
 * @error: the read's desc.error
 *
 * Caller holds the TCP socket lock.
 * Return: true if the connection is over (now or before).
 */
bool afmux_rx_parsed(struct afmux_conn *conn, int error)
{
	struct sock *tsk = conn->tsk;

	lockdep_assert(lockdep_sock_is_held(tsk));
	rx_wake_reader(conn);
	if (error == -ESHUTDOWN)
		return true;	/* failed while reading: already handled */
	if (!error)
		return false;
	spin_lock_bh(&conn->lock);
	conn->stats.protocol_errors++;
	spin_unlock_bh(&conn->lock);
	if (conn->parser.bad != AFMUX_BAD_NONE)	/* malformed */
		afmux_count(conn, AFMUX_MIB_BAD + conn->parser.bad);
	/* Counted above; a line only with dynamic debug on. */
	net_dbg_ratelimited("afmux: TCP port %u to %u: peer broke the protocol (%d, GOAWAY %u)\n",
			    tsk->sk_num, ntohs(tsk->sk_dport), error,
			    error_code(error));
	afmux_conn_fail(conn, error == -ENOMEM ? ENOMEM :
			conn->parser.bad == AFMUX_BAD_JOIN ? EACCES : EPROTO,
			error_code(error));
	return true;
}

/**
 * afmux_rx_ended - the peer's byte stream ended (FIN, reset, TLS end)
 * @conn: the connection
 * @err: the transport's error, 0 if none
 *
 * A clean end only after GOAWAY, with no stream left unfinished.
 */
void afmux_rx_ended(struct afmux_conn *conn, int err)
{
	if (!err && !(test_bit(AFMUX_C_PEER_GOAWAY, &conn->flags) &&
		      !READ_ONCE(conn->nr_streams)))
		err = ECONNRESET;
	afmux_conn_fail(conn, err, AFMUX_NO_ERROR);
}

/* Read what TCP has.  Caller holds the TCP socket lock. */
static void rx_read(struct afmux_conn *conn)
{
	struct sock *tsk = conn->tsk;
	read_descriptor_t desc = { .arg.data = conn, .count = 1 };

	sock_owned_by_me(conn->tsk);
	if (test_bit(AFMUX_C_LINGER, &conn->flags)) {
		afmux_conn_linger_read(conn);
		return;
	}
	if (conn->parser.state == AFMUX_PARSE_DEAD ||
	    test_bit(AFMUX_C_FAILED, &conn->flags))
		return;
	tcp_read_sock(tsk, &desc, afmux_rx_actor);
	if (afmux_rx_parsed(conn, desc.error))
		return;
	if ((READ_ONCE(tsk->sk_shutdown) & RCV_SHUTDOWN) &&
	    skb_queue_empty_lockless(&tsk->sk_receive_queue))
		afmux_rx_ended(conn, READ_ONCE(tsk->sk_err));
}

/**
 * afmux_tcp_lock - lock_sock() the TCP socket, to send or to read
 * @conn: the connection
 *
 * Segments that arrive while a task holds the lock wait on TCP's backlog,
 * which release_sock() (or TCP's sendmsg, now and then) processes in that
 * same task.  A task that locked the socket here reads TCP right there
 * (see afmux_rx_data_ready()) instead of waking rx_work for it: a pump
 * sending WINDOW frames while DATA pours in would otherwise hand every
 * burst of DATA to a worker.
 */
void afmux_tcp_lock(struct afmux_conn *conn)
{
	lock_sock(conn->tsk);
	WRITE_ONCE(conn->tcp_owner, current);
}

void afmux_tcp_unlock(struct afmux_conn *conn)
{
	release_sock(conn->tsk);
	/* A task that has locked it since has put itself there. */
	cmpxchg(&conn->tcp_owner, current, NULL);
}

/*
 * May data_ready read TCP in this context?  Yes from softirq under
 * bh_lock_sock, when no task owns the socket; and in the task that owns
 * it through afmux_tcp_lock(), processing TCP's backlog.  Any other
 * owner leaves it to rx_work, as strparser does.
 */
static bool rx_here(struct afmux_conn *conn, struct sock *tsk)
{
	return !sock_owned_by_user_nocheck(tsk) ||
	       (in_task() && READ_ONCE(conn->tcp_owner) == current);
}

/* TCP's data_ready callback. */
void afmux_rx_data_ready(struct sock *tsk)
{
	struct afmux_conn *conn;

	read_lock_bh(&tsk->sk_callback_lock);
	conn = tsk->sk_user_data;
	if (conn) {
		if (rx_here(conn, tsk))
			rx_read(conn);
		else
			afmux_conn_queue_work(conn, &conn->rx_work);
	}
	read_unlock_bh(&tsk->sk_callback_lock);
}

void afmux_rx_work(struct work_struct *work)
{
	struct afmux_conn *conn = container_of(work, struct afmux_conn,
					       rx_work);

	spin_lock_bh(&conn->lock);
	conn->stats.rx_worker_runs++;
	spin_unlock_bh(&conn->lock);
	if (conn->ktls) {
		/* Takes the TCP socket lock itself: kTLS's recvmsg does. */
		if (!test_bit(AFMUX_C_DETACHED, &conn->flags))
			afmux_ktls_rx(conn);
	} else {
		afmux_tcp_lock(conn);
		if (!test_bit(AFMUX_C_DETACHED, &conn->flags))
			rx_read(conn);
		afmux_tcp_unlock(conn);
	}
	afmux_conn_maybe_teardown(conn);
	sock_put(&conn->sk);
}
