// SPDX-License-Identifier: GPL-2.0
/*
 * tx.c - the transmit pump: turns queued work into frames on TCP.
 *
 * Work is queued under conn->lock: GOAWAY as a conn flag, answers to the
 * peer in conn->replies (PING ACKs, RESETs refusing streams), and streams
 * with something to send on conn->tx_new and conn->tx_ready (in the order
 * they became ready, so OPEN frames go out in number order).
 * The pump takes one frame at a time - tx_pick.c chooses it: a stream
 * that just became ready first, then round-robin across the others -
 * and writes it to TCP without blocking: the header and control payload
 * are copied into TCP (small), DATA payload pages are handed over by
 * reference.  When TCP is full the pump stops; TCP's write_space callback
 * restarts it.
 *
 * The pump runs under conn->tx_mutex: from tx_work (a high-priority
 * worker), or - small frames, and all of a connection's only stream - in
 * the context that queued the work (see afmux_tx_kick()).  It never
 * blocks and never takes a stream's socket lock.  A small write on a
 * stream with nothing queued skips the write queue: its frame is built
 * in the pump's own buffer (afmux_tx_direct()).
 */
#include <linux/net.h>
#include <linux/tcp.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "afmux.h"
#include "compat.h"
#include "frame.h"
#include "window.h"
#include "trace.h"

#define AFMUX_TX_FLAGS	(MSG_DONTWAIT | MSG_NOSIGNAL)

/*
 * Describe up to @f->data_left payload bytes from @f->data_off in @bv.
 * Write-queue skbs hold their payload either all in page fragments or,
 * for small writes, all in the linear part (sent as @f->ext).  Returns
 * the number of entries, 0 if the skb is shorter than the frame says.
 */
static unsigned int afmux_tx_bvec(const struct afmux_txf *f,
				  struct bio_vec *bv)
{
	const struct skb_shared_info *shi = skb_shinfo(f->skb);
	unsigned int off = f->data_off, left = f->data_left, i, n = 0;

	for (i = 0; i < shi->nr_frags && left; i++) {
		const skb_frag_t *frag = &shi->frags[i];
		unsigned int size = skb_frag_size(frag), len;

		if (off >= size) {
			off -= size;
			continue;
		}
		len = min(size - off, left);
		bvec_set_page(&bv[n++], skb_frag_page(frag),
			      len, skb_frag_off(frag) + off);
		left -= len;
		off = 0;
	}
	return left ? 0 : n;
}

/*
 * Write the rest of the current frame; 0 when all of it is in TCP.  The
 * caller holds the TCP socket lock (over kTLS, kTLS takes it).  The
 * frame's last byte goes without MSG_MORE (so TCP sends it now) unless
 * the pump already knows that another frame follows.
 */
static int afmux_tx_send_frame(struct afmux_conn *conn, struct afmux_txf *f)
{
	int more = f->more ? MSG_MORE : 0;
	struct sock *tsk = conn->tsk;
	int ret;

	if (!conn->ktls)
		sock_owned_by_me(conn->tsk);
	while (f->copy_off < f->buf_len + f->ext_len) {
		struct msghdr msg = { .msg_flags = AFMUX_TX_FLAGS };
		unsigned int n = 0, off = f->copy_off;
		size_t size = f->buf_len + f->ext_len - off;
		struct kvec vec[2];

		if (off < f->buf_len) {
			vec[n].iov_base = f->buf + off;
			vec[n++].iov_len = f->buf_len - off;
			off = 0;
		} else {
			off -= f->buf_len;
		}
		if (f->ext_len) {
			vec[n].iov_base = (void *)f->ext + off;
			vec[n++].iov_len = f->ext_len - off;
		}
		if (f->data_left || more)
			msg.msg_flags |= MSG_MORE;
		iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, vec, n, size);
		ret = conn->ktls ? afmux_ktls_sendmsg(conn, &msg, size) :
				   tcp_sendmsg_locked(tsk, &msg, size);
		if (ret < 0)
			return ret;
		f->copy_off += ret;
	}
	while (f->data_left) {
		struct bio_vec bv[MAX_SKB_FRAGS];
		unsigned int n = afmux_tx_bvec(f, bv);

		if (WARN_ON_ONCE(!n))
			return -EFAULT;
		if (conn->ktls)
			ret = afmux_tls_sendpages(tsk, bv, n, f->data_left,
						  AFMUX_TX_FLAGS | more);
		else if (skb_zcopy(f->skb))
			ret = afmux_tx_send_zc(tsk, bv, n, f->data_left,
					       AFMUX_TX_FLAGS | more,
					       skb_zcopy(f->skb));
		else
			ret = afmux_tcp_sendpages_locked(tsk, bv, n,
							 f->data_left,
							 AFMUX_TX_FLAGS | more);
		if (ret < 0)
			return ret;
		f->data_off += ret;
		f->data_left -= ret;
	}
	return 0;
}

/* Count and trace a frame now in TCP, from its header in @f->buf. */
static void afmux_tx_count(struct afmux_conn *conn, const struct afmux_txf *f)
{
	u8 type = f->buf[0];
	u32 stream = get_unaligned_be32(f->buf + 8);
	u32 code = 0;

	afmux_count(conn, AFMUX_MIB_FRAMES_TX + type);
	trace_afmux_frame_tx(conn, type, f->buf[1],
			     get_unaligned_be32(f->buf + 4), stream);
	if (type != AFMUX_T_RESET && type != AFMUX_T_END)
		return;
	if (type == AFMUX_T_RESET) {
		code = get_unaligned_be32(f->buf + AFMUX_HDR_LEN);
		afmux_count(conn, AFMUX_MIB_RESETS_TX + afmux_mib_code(code));
	}
	/* R clear: the stream is the one its sender, this end, opened. */
	trace_afmux_stream_end(conn, stream & ~AFMUX_STREAM_R,
			       !(stream & AFMUX_STREAM_R), false,
			       type == AFMUX_T_RESET, code);
}

/* The current frame is in TCP: account for it and let go of it. */
static void afmux_tx_frame_done(struct afmux_conn *conn,
				struct afmux_txf *f)
{
	struct afmux_stream *st = f->st;
	struct sk_buff *skb = f->skb;

	if (!f->preface)
		afmux_tx_count(conn, f);
	spin_lock_bh(&conn->lock);
	if (!f->preface)
		conn->stats.frames_tx++;
	if (skb) {
		afmux_tx_cb(skb)->sent = f->data_off;
		if (f->data_off == skb->len)
			skb_unlink(skb, &st->sk.sk_write_queue);
		else
			skb = NULL;
	}
	if (st)
		__afmux_stream_finish(st);
	spin_unlock_bh(&conn->lock);
	consume_skb(skb);	/* wakes the writer (stream_wfree) */
	if (st)
		sock_put(&st->sk);
	afmux_txf_clear(f);
}

/* Let go of an unfinished frame (the connection is over). */
void afmux_tx_drop(struct afmux_conn *conn)
{
	struct afmux_txf *f = &conn->txf;

	lockdep_assert_held(&conn->tx_mutex);
	if (f->st)
		sock_put(&f->st->sk);
	afmux_txf_clear(f);
}

/*
 * How long the pump waits before it tries again when TCP had no memory
 * for its frame and nothing is in flight - so no ACK will come to call
 * write_space, and the call TCP makes itself then is ignored (see
 * afmux_tx_write_space()).  TCP's own sendmsg waits at most HZ / 5 there.
 */
#define AFMUX_TX_RETRY		(HZ / 5)

/* TCP refused the frame: make sure something restarts the pump. */
static void afmux_tx_starved(struct afmux_conn *conn)
{
	if (!conn->ktls)
		sock_owned_by_me(conn->tsk);
	if (tcp_rtx_and_write_queues_empty(conn->tsk))
		sk_reset_timer(&conn->sk, &conn->tx_retry,
			       jiffies + AFMUX_TX_RETRY);
}

/* The tx_retry timer: the pump tries again (sk_reset_timer's reference). */
void afmux_tx_retry(struct timer_list *t)
{
	struct afmux_conn *conn = from_timer(conn, t, tx_retry);

	if (test_and_clear_bit(AFMUX_C_TX_BLOCKED, &conn->flags))
		afmux_conn_queue_work(conn, &conn->tx_work);
	sock_put(&conn->sk);
}

/* Push out what MSG_MORE held back: kTLS's open record, then TCP's. */
static void afmux_tx_push(struct afmux_conn *conn)
{
	if (conn->ktls)
		afmux_ktls_push(conn);
	tcp_sock_set_nodelay(conn->tsk);
}

/*
 * The pump's hold of the TCP socket while it writes frames: its lock,
 * taken once for many frames - except over kTLS, whose sendmsg takes it
 * (and kTLS's tx_lock before it) for each call.  Either way the pump is
 * the socket's owner for write_space's sake (afmux_tx_room()).
 */
static void afmux_tx_tcp_lock(struct afmux_conn *conn)
{
	if (conn->ktls)
		WRITE_ONCE(conn->tcp_owner, current);
	else
		afmux_tcp_lock(conn);
}

static void afmux_tx_tcp_unlock(struct afmux_conn *conn)
{
	if (conn->ktls)
		cmpxchg(&conn->tcp_owner, current, NULL);
	else
		afmux_tcp_unlock(conn);
}

/*
 * TCP_NOTSENT_LOWAT, unless the user set one: about a millisecond of
 * TCP's pacing rate, at least AFMUX_LOWAT_MIN, at most AFMUX_LOWAT_MAX.
 * TCP then takes only that much more than it can send at once, and the
 * rest waits in the streams, where the pump's turns order it: a small
 * frame waits behind about a millisecond of other streams' bytes in
 * TCP's queue, not megabytes, while the pump, which write_space wakes
 * below the mark, has that millisecond to refill TCP before it runs dry.
 */
#define AFMUX_LOWAT_MIN		(16 * 1024)
#define AFMUX_LOWAT_MAX		(128 * 1024)

/**
 * afmux_tx_lowat_init - the attach's TCP_NOTSENT_LOWAT
 * @conn: the connection being attached
 * @tsk: its TCP socket
 *
 * A socket whose TCP_NOTSENT_LOWAT is 0 gets AFMUX_LOWAT_MAX, which the
 * pump then follows the rate with; one the user set keeps its value.
 *
 * Context: holds tx_mutex and @tsk's socket lock.
 */
void afmux_tx_lowat_init(struct afmux_conn *conn, struct sock *tsk)
{
	struct tcp_sock *tp = tcp_sk(tsk);

	lockdep_assert_held(&conn->tx_mutex);
	sock_owned_by_me(tsk);
	conn->tx_lowat = 0;
	if (tp->notsent_lowat)
		return;
	WRITE_ONCE(tp->notsent_lowat, AFMUX_LOWAT_MAX);
	conn->tx_lowat = AFMUX_LOWAT_MAX;
}

/*
 * Set TCP_NOTSENT_LOWAT from TCP's pacing rate (bytes per second), once
 * per pump run, unless the user chose a value, before the attach or since
 * (then the pump leaves it be from then on).
 */
static void afmux_tx_follow_rate(struct afmux_conn *conn)
{
	struct tcp_sock *tp = tcp_sk(conn->tsk);
	unsigned long rate;
	u32 lowat;

	lockdep_assert_held(&conn->tx_mutex);
	if (!conn->tx_lowat)
		return;
	if (READ_ONCE(tp->notsent_lowat) != conn->tx_lowat) {
		conn->tx_lowat = 0;
		return;
	}
	rate = READ_ONCE(conn->tsk->sk_pacing_rate);
	lowat = clamp_t(unsigned long, rate >> 10, AFMUX_LOWAT_MIN,
			AFMUX_LOWAT_MAX);
	if (lowat != conn->tx_lowat) {
		conn->tx_lowat = lowat;
		WRITE_ONCE(tp->notsent_lowat, lowat);
	}
}

/*
 * How many bytes the pump writes in one run before it lets other
 * connections have the CPU (tx_work queues itself again).  An inline run
 * on a connection with more than one stream writes only one frame of up
 * to 4 KiB and leaves the rest to tx_work (see afmux_tx_kick()): a 4 KiB
 * request or reply is sent by its writer, not handed to a worker.
 */
#define AFMUX_TX_BUDGET		(1024 * 1024)
#define AFMUX_TX_INLINE_BUDGET	(AFMUX_HDR_LEN + 4096)

/*
 * Write frames until there are none, TCP is full or the next frame would
 * take the run over its budget, under one hold of the TCP socket lock (a
 * lock per frame or per page costs as much as the sending), taken once
 * there is a frame to write.  Returns true if it stopped for the budget:
 * tx_work must go on from the frame it stopped at, which stays in
 * conn->txf.  Runs under tx_mutex.
 */
static bool afmux_tx_pump(struct afmux_conn *conn, bool inline_run)
{
	struct afmux_txf *f = &conn->txf;
	unsigned int budget = AFMUX_TX_BUDGET, written = 0, left;
	bool corked = false, locked = false, over = false;
	int err = 0;

	lockdep_assert_held(&conn->tx_mutex);
	WRITE_ONCE(conn->tx_more, false);
	smp_mb();	/* tx_more cleared before looking; pairs with kick */
	if (!test_bit(AFMUX_C_ATTACHED, &conn->flags) ||
	    test_bit(AFMUX_C_DETACHED, &conn->flags))
		return false;
	afmux_tx_follow_rate(conn);
	for (;;) {
		if (!f->buf_len) {
			bool picked;

			spin_lock_bh(&conn->lock);
			picked = afmux_tx_pick(conn, f);
			if (inline_run && conn->nr_streams > 1)
				budget = AFMUX_TX_INLINE_BUDGET;
			spin_unlock_bh(&conn->lock);
			if (!picked)
				break;
		} else if (inline_run) {
			/* Left by a run that stopped for its budget or
			 * for a full TCP: tx_work is on its way.
			 */
			budget = AFMUX_TX_INLINE_BUDGET;
		}
		left = f->buf_len + f->ext_len - f->copy_off + f->data_left;
		if (written + left > budget) {
			over = true;
			break;
		}
		if (!locked) {
			afmux_tx_tcp_lock(conn);
			locked = true;
		}
		/*
		 * Armed before the attempt, so a write_space that comes
		 * between TCP's EAGAIN and our return is not lost.  Not
		 * retried on EAGAIN: TCP also says that when it is short of
		 * memory while "writeable", and then only write_space helps.
		 */
		set_bit(AFMUX_C_TX_BLOCKED, &conn->flags);
		smp_mb__after_atomic();	/* pairs with write_space */
		WRITE_ONCE(conn->tx_in_send, true);
		err = afmux_tx_send_frame(conn, f);
		WRITE_ONCE(conn->tx_in_send, false);
		if (err == -EAGAIN) {
			/*
			 * What an earlier frame's MSG_MORE held back may be
			 * all TCP has unsent - kTLS refuses before TCP is
			 * asked, and a record is above a small mark but below
			 * an MSS - and then no ACK comes to send it: push.
			 * Over plain TCP only with nothing in flight: else an
			 * ACK sends the tail, and a push at every stop slowed
			 * bulk over many streams (docs/design.md).
			 */
			corked = conn->ktls || tcp_rtx_queue_empty(conn->tsk);
			afmux_tx_starved(conn);
			break;
		}
		clear_bit(AFMUX_C_TX_BLOCKED, &conn->flags);
		if (err == -EINTR || err == -ERESTARTSYS) {
			/* kTLS's tx_lock, in a task a signal is for:
			 * tx_work (no signals) goes on from here.
			 */
			err = 0;
			over = true;
			break;
		}
		if (err)
			break;
		corked = f->more;
		written += left;
		afmux_tx_frame_done(conn, f);
	}
	if (locked)
		afmux_tx_tcp_unlock(conn);
	/* The frame we expected after the last one did not come (after a
	 * stop for the budget, the next run sends it).
	 */
	if (corked && !over)
		afmux_tx_push(conn);
	if (err && err != -EAGAIN) {
		afmux_tx_drop(conn);
		afmux_conn_fail(conn, err == -EPIPE ? ECONNRESET : -err,
				AFMUX_NO_ERROR);
		return false;
	}
	return over;
}

/* Take tx_mutex; inline, only if no other task holds it. */
static bool afmux_tx_pump_lock(struct afmux_conn *conn, bool inline_run)
{
	if (inline_run)
		return mutex_trylock(&conn->tx_mutex);
	mutex_lock(&conn->tx_mutex);
	return true;
}

/*
 * Pump, holding tx_mutex, which it lets go, until nothing is queued, TCP
 * is full or a run stops for its budget; returns true then: tx_work must
 * carry on.  Inline, gives up if another task holds tx_mutex: that holder
 * sees tx_more.
 */
static bool afmux_tx_run_locked(struct afmux_conn *conn, bool inline_run)
{
	bool again;

	do {
		again = afmux_tx_pump(conn, inline_run);
		mutex_unlock(&conn->tx_mutex);
		smp_mb();	/* pairs with the barrier in afmux_tx_pump() */
	} while (!again && READ_ONCE(conn->tx_more) &&
		 !test_bit(AFMUX_C_TX_BLOCKED, &conn->flags) &&
		 !test_bit(AFMUX_C_DETACHED, &conn->flags) &&
		 afmux_tx_pump_lock(conn, inline_run));
	return again;
}

static bool afmux_tx_run(struct afmux_conn *conn, bool inline_run)
{
	return afmux_tx_pump_lock(conn, inline_run) &&
	       afmux_tx_run_locked(conn, inline_run);
}

/**
 * afmux_tx_kick - send what was queued, or have tx_work send it
 * @conn: the connection; the caller holds a reference
 *
 * Frames of up to 4 KiB (a 64-byte message, a WINDOW, a 4 KiB request)
 * are sent here, at once and without a context switch, and so is
 * everything on a connection with a single stream.  Larger frames of a
 * connection with several streams are sent by tx_work, on a
 * high-priority workqueue.  The pump holds tx_mutex and the TCP socket
 * lock while it sends: a writer that pumped other streams' bulk data
 * would, whenever it is preempted there, make all of them (and TCP's
 * receive side, which backs up behind the socket lock) wait until it
 * runs again, while a high-priority worker is not preempted by ordinary
 * tasks.  That waiting was most of the latency of a 64-byte ping-pong
 * beside bulk streams.
 *
 * Context: process, no spinlocks; may take the TCP socket lock.
 */
void afmux_tx_kick(struct afmux_conn *conn)
{
	/* Our tx_more store before the holder's look; pairs with the
	 * barrier in afmux_tx_pump().
	 */
	smp_mb();
	if (test_bit(AFMUX_C_DETACHED, &conn->flags) ||
	    test_bit(AFMUX_C_TX_BLOCKED, &conn->flags))
		return;	/* write_space runs the pump */
	if (afmux_tx_run(conn, true))
		afmux_conn_queue_work(conn, &conn->tx_work);
}

/* What keeps a small write from going straight to TCP (stream flags). */
#define AFMUX_ST_NOT_DIRECT	(AFMUX_ST_TX_WANTED |			\
				 BIT(AFMUX_ST_END_SENT) |		\
				 BIT(AFMUX_ST_RESET_SENT) |		\
				 BIT(AFMUX_ST_PEER_RESET))

/**
 * afmux_tx_direct - write a small write's DATA frame to TCP at once
 * @st: the writer's stream
 * @from: the bytes
 * @n: how many, at most AFMUX_TX_DIRECT_MAX
 *
 * While the pump is idle and nothing of @st waits to be sent, the frame
 * is built in the pump's buffer and written as the pump writes any other
 * (the rest of it, if TCP is full, when TCP has room): a 64-byte message
 * costs no write-queue skb and two fewer holds of conn->lock.
 *
 * Context: process, holding @st's socket lock.
 * Return: @n, or 0 if the bytes must be queued (@from is left as it was).
 */
size_t afmux_tx_direct(struct afmux_stream *st, struct iov_iter *from,
		       size_t n)
{
	struct afmux_conn *conn = st->conn;
	struct afmux_txf *f = &conn->txf;
	u8 data[AFMUX_TX_DIRECT_MAX];
	bool ok = false;

	/* Copied first: a fault must not stall the pump. */
	if (n > AFMUX_TX_DIRECT_MAX || !copy_from_iter_full(data, n, from))
		return 0;
	if (!mutex_trylock(&conn->tx_mutex))
		goto requeue;
	if (f->buf_len)
		goto unlock;
	spin_lock_bh(&conn->lock);
	/* ATTACHED and DETACHED change under tx_mutex too. */
	ok = test_bit(AFMUX_C_ATTACHED, &conn->flags) &&
	     !test_bit(AFMUX_C_DETACHED, &conn->flags) &&
	     !test_bit(AFMUX_C_FAILED, &conn->flags) &&
	     test_bit(AFMUX_ST_IN_TABLE, &st->flags) &&
	     !(st->flags & AFMUX_ST_NOT_DIRECT) &&
	     skb_queue_empty(&st->sk.sk_write_queue) &&
	     afmux_credit(st->tx_limit, st->tx_accepted) >= n;
	if (ok) {
		struct afmux_hdr h = { .type = AFMUX_T_DATA, .len = n,
				       .stream = afmux_wire_stream(st) };

		WRITE_ONCE(st->tx_accepted, st->tx_accepted + n);
		st->tx_bytes += n;
		conn->stats.bytes_tx += n;
		afmux_hdr_encode(f->buf, &h);
		memcpy(f->buf + AFMUX_HDR_LEN, data, n);
		f->buf_len = AFMUX_HDR_LEN + n;
		sock_hold(&st->sk);
		f->st = st;
	}
	spin_unlock_bh(&conn->lock);
	if (ok) {
		if (afmux_tx_run_locked(conn, true))
			afmux_conn_queue_work(conn, &conn->tx_work);
		return n;
	}
unlock:
	mutex_unlock(&conn->tx_mutex);
requeue:
	iov_iter_revert(from, n);
	return 0;
}

void afmux_tx_work(struct work_struct *work)
{
	struct afmux_conn *conn = container_of(work, struct afmux_conn,
					       tx_work);

	spin_lock_bh(&conn->lock);
	conn->stats.tx_worker_runs++;
	spin_unlock_bh(&conn->lock);
	if (afmux_tx_run(conn, false))
		afmux_conn_queue_work(conn, &conn->tx_work);
	else
		afmux_conn_maybe_teardown(conn);
	sock_put(&conn->sk);
}

/**
 * afmux_tx_room - TCP has room: restart a pump that stopped on a full TCP
 * @conn: the connection that owns @tsk
 * @tsk: its TCP socket
 *
 * TCP calls write_space for every new segment it sends and every ACK
 * while SOCK_NOSPACE is set, which only a write_space callback clears: as
 * sk_stream_write_space() does, wait until TCP has room, clear the flag,
 * then restart the pump if it stopped on a full TCP.  Without that every
 * segment the pump itself sent woke tx_work once more.  Room is below
 * NOTSENT_LOWAT, not below half of it as for a task that writes to TCP:
 * the pump is cheap to restart and must keep TCP fed (waiting for half
 * cost a 6.1 single stream about 15 %).
 *
 * Context: any; the caller holds @tsk's sk_callback_lock for reading.
 */
void afmux_tx_room(struct afmux_conn *conn, struct sock *tsk)
{
	lockdep_assert_held(&tsk->sk_callback_lock);
	if (!tsk->sk_socket || !sk_stream_is_writeable(tsk))
		return;
	/*
	 * TCP calls this from inside the pump's own send when that failed
	 * with nothing in flight (to wake edge-triggered pollers).  Running
	 * the pump again at once would spin for as long as TCP has no
	 * memory: afmux_tx_starved() has the pump retry later instead.
	 * Over kTLS the call also comes for the ACKs release_sock() handles
	 * at the end of kTLS's sendmsg, and kTLS's write_space before ours
	 * (sk_stream_write_space()) has cleared SOCK_NOSPACE: set it again,
	 * or no later ACK would call us and the pump would never restart.
	 */
	if (in_task() && READ_ONCE(conn->tx_in_send) &&
	    READ_ONCE(conn->tcp_owner) == current) {
		set_bit(SOCK_NOSPACE, &tsk->sk_socket->flags);
		return;
	}
	clear_bit(SOCK_NOSPACE, &tsk->sk_socket->flags);
	if (test_and_clear_bit(AFMUX_C_TX_BLOCKED, &conn->flags))
		afmux_conn_queue_work(conn, &conn->tx_work);
}

/* TCP's write_space callback. */
void afmux_tx_write_space(struct sock *tsk)
{
	struct afmux_conn *conn;

	read_lock_bh(&tsk->sk_callback_lock);
	conn = tsk->sk_user_data;
	if (conn)
		afmux_tx_room(conn, tsk);
	read_unlock_bh(&tsk->sk_callback_lock);
}
