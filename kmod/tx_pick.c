// SPDX-License-Identifier: GPL-2.0
/*
 * tx_pick.c - what the transmit pump sends next: the queue of work
 * (__afmux_tx_want()) and the choice of the next frame (afmux_tx_pick()).
 *
 * Connection frames come first (HELLO, GOAWAY, keepalive PING, POOL),
 * then answers to the peer in order, then streams: one that just became
 * ready (tx_new) before the round robin of the others (tx_ready), as in
 * struct afmux_conn.  Everything here runs under conn->lock; tx.c writes
 * the frame chosen to TCP.
 */
#include <linux/skbuff.h>
#include <net/sock.h>

#include "afmux.h"
#include "frame.h"
#include "trace.h"

/* Queue @st (may be NULL) for the pump.  Caller holds conn->lock. */
void __afmux_tx_want(struct afmux_conn *conn, struct afmux_stream *st)
{
	lockdep_assert_held(&conn->lock);
	/* Only a stream in a table is reachable to take it off the list. */
	if (st && WARN_ON_ONCE(!test_bit(AFMUX_ST_IN_TABLE, &st->flags)))
		return;
	if (st && !test_and_set_bit(AFMUX_ST_ON_TX, &st->flags))
		list_add_tail(&st->tx_node, &conn->tx_new);
	WRITE_ONCE(conn->tx_more, true);
}

static void afmux_txf_ctl(struct afmux_txf *f, u8 type, u8 flags,
			  u32 stream, const void *payload, unsigned int len)
{
	struct afmux_hdr h = { .type = type, .flags = flags, .len = len,
			       .stream = stream };

	afmux_hdr_encode(f->buf, &h);
	memcpy(f->buf + AFMUX_HDR_LEN, payload, len);
	f->buf_len = AFMUX_HDR_LEN + len;
}

/*
 * Build @st's next frame into @f.  Returns false if @st has nothing to
 * send.  Caller holds conn->lock.
 */
static bool afmux_tx_pick_stream(struct afmux_conn *conn,
				 struct afmux_stream *st, struct afmux_txf *f)
{
	u32 wire = afmux_wire_stream(st);
	struct sk_buff *skb;
	__be32 be;

	lockdep_assert_held(&conn->lock);
	if (test_and_clear_bit(AFMUX_ST_RESET_WANTED, &st->flags)) {
		/* The pump alone consumes the write queue. */
		skb_queue_purge(&st->sk.sk_write_queue);
		afmux_stream_clear(st, AFMUX_ST_END_WANTED);
		afmux_stream_clear(st, AFMUX_ST_WINDOW_WANTED);
		afmux_stream_set(st, AFMUX_ST_RESET_SENT);
		if (test_and_clear_bit(AFMUX_ST_OPEN_WANTED, &st->flags))
			return false;	/* the peer never heard of it */
		be = cpu_to_be32(st->reset_code);
		afmux_txf_ctl(f, AFMUX_T_RESET, 0, wire, &be, sizeof(be));
		conn->stats.resets_tx++;
		return true;
	}
	if (test_bit(AFMUX_ST_RESET_SENT, &st->flags) ||
	    test_bit(AFMUX_ST_PEER_RESET, &st->flags)) {
		skb_queue_purge(&st->sk.sk_write_queue);
		return false;
	}
	if (test_and_clear_bit(AFMUX_ST_OPEN_WANTED, &st->flags)) {
		struct afmux_hdr h = { .type = AFMUX_T_OPEN,
				       .len = st->key_len, .stream = st->nr };

		afmux_hdr_encode(f->buf, &h);
		f->buf_len = AFMUX_HDR_LEN;
		f->ext = st->key;
		f->ext_len = st->key_len;
		return true;
	}
	if (test_and_clear_bit(AFMUX_ST_WINDOW_WANTED, &st->flags)) {
		be = cpu_to_be32(st->rx_limit);
		afmux_txf_ctl(f, AFMUX_T_WINDOW, 0, wire, &be, sizeof(be));
		trace_afmux_window_grant(st, st->rx_limit);
		return true;
	}
	skb = skb_peek(&st->sk.sk_write_queue);
	if (skb) {
		u32 sent = afmux_tx_cb(skb)->sent;
		u32 len = min_t(u32, skb->len - sent, AFMUX_DATA_SEND_MAX);
		struct afmux_hdr h = { .type = AFMUX_T_DATA, .len = len,
				       .stream = wire };

		afmux_hdr_encode(f->buf, &h);
		f->buf_len = AFMUX_HDR_LEN;
		afmux_tx_cb(skb)->picked = true;
		f->skb = skb;
		if (skb_headlen(skb)) {
			/* A small write: copied into TCP with the header. */
			f->ext = skb->data + sent;
			f->ext_len = len;
			f->data_off = sent + len;
		} else {
			f->data_off = sent;
			f->data_left = len;
		}
		conn->stats.bytes_tx += len;
		return true;
	}
	if (test_and_clear_bit(AFMUX_ST_END_WANTED, &st->flags) &&
	    !test_bit(AFMUX_ST_END_SENT, &st->flags)) {
		afmux_txf_ctl(f, AFMUX_T_END, 0, wire, NULL, 0);
		afmux_stream_set(st, AFMUX_ST_END_SENT);
		return true;
	}
	return false;
}

/*
 * Is it tx_new's turn?  It goes first, but the round robin (if anything
 * waits there) gets a frame once tx_new's frames since its last one have
 * reached AFMUX_DATA_SEND_MAX bytes.  Caller holds conn->lock.
 */
static bool afmux_tx_new_turn(const struct afmux_conn *conn)
{
	lockdep_assert_held(&conn->lock);
	return !list_empty(&conn->tx_new) &&
	       (conn->tx_new_sent < AFMUX_DATA_SEND_MAX ||
		list_empty(&conn->tx_ready));
}

/*
 * The stream the pump serves next: one that just became ready, else the
 * head of the round robin.  Caller holds conn->lock.
 */
static struct afmux_stream *afmux_tx_next(struct afmux_conn *conn)
{
	lockdep_assert_held(&conn->lock);
	return list_first_entry_or_null(afmux_tx_new_turn(conn) ?
					&conn->tx_new : &conn->tx_ready,
					struct afmux_stream, tx_node);
}

/*
 * Did @f, a small DATA frame (a write of up to AFMUX_TX_COPYBREAK bytes,
 * no page payload), take all that @st had to send?  Then @st leaves the
 * round robin at once rather than at its next turn, and its next write
 * joins tx_new again: a stream that writes now and then (a request, a
 * ping) waits for no round of the busy streams' 64 KiB frames, which on
 * a slow link takes seconds.  A stream whose frames carry pages stays in
 * the round robin, so a bulk writer cannot go first by emptying its
 * queue each turn.  Caller holds conn->lock.
 */
static bool afmux_tx_sparse(const struct afmux_stream *st,
			    const struct afmux_txf *f)
{
	lockdep_assert_held(&st->conn->lock);
	return f->skb && !f->data_left && f->data_off >= f->skb->len &&
	       skb_queue_is_last(&st->sk.sk_write_queue, f->skb) &&
	       !(st->flags & AFMUX_ST_TX_WANTED);
}

/*
 * Is another DATA frame sure to follow @f (so TCP may hold back a partial
 * segment)?  Only the pump takes data off write queues, so queued data
 * stays until it is sent or the stream is reset - which sends a frame
 * too.  A wrong "no" costs a push; the pump pushes after a wrong "yes".
 * Caller holds conn->lock.
 */
static bool afmux_tx_more_follows(struct afmux_conn *conn,
				  const struct afmux_txf *f)
{
	struct afmux_stream *next = afmux_tx_next(conn);

	lockdep_assert_held(&conn->lock);
	if (f->skb && (f->data_off + f->data_left < f->skb->len ||
		       !skb_queue_is_last(&f->st->sk.sk_write_queue, f->skb)))
		return true;
	return next && next != f->st &&
	       !skb_queue_empty(&next->sk.sk_write_queue);
}

/*
 * The oldest answer to the peer, into @f; the receive path goes on once
 * half the room is free again.  Caller holds conn->lock.
 */
static void afmux_tx_pick_reply(struct afmux_conn *conn,
				struct afmux_txf *f)
{
	struct afmux_reply *r = &conn->replies[conn->reply_head];

	lockdep_assert_held(&conn->lock);
	if (r->type == AFMUX_T_PING) {
		afmux_txf_ctl(f, AFMUX_T_PING, AFMUX_FLAG_ACK, 0, r->data,
			      AFMUX_PING_LEN);
	} else {
		afmux_txf_ctl(f, AFMUX_T_RESET, 0, r->stream, r->data,
			      AFMUX_RESET_LEN);
		conn->stats.resets_tx++;
	}
	conn->reply_head = (conn->reply_head + 1) % AFMUX_REPLIES_MAX;
	conn->nr_replies--;
	if (conn->nr_replies <= AFMUX_REPLIES_MAX / 2 &&
	    test_and_clear_bit(AFMUX_C_RX_PAUSED, &conn->flags))
		afmux_conn_queue_work(conn, &conn->rx_work);
}

/**
 * afmux_tx_pick - choose the pump's next frame
 * @conn: the connection
 * @f: its frame buffer, cleared and filled in here
 *
 * Context: the caller holds conn->lock and tx_mutex.
 * Return: false if there is nothing to send.
 */
bool afmux_tx_pick(struct afmux_conn *conn, struct afmux_txf *f)
{
	struct afmux_stream *st;
	__be32 be[2];

	lockdep_assert_held(&conn->lock);
	afmux_txf_clear(f);
	/* Offering a pool: HELLO is the first frame (§12.1). */
	if (test_and_clear_bit(AFMUX_C_HELLO_WANTED, &conn->flags)) {
		afmux_txf_ctl(f, AFMUX_T_PING, 0, 0, afmux_hello, AFMUX_PING_LEN);
		return true;
	}
	if (test_and_clear_bit(AFMUX_C_GOAWAY_WANTED, &conn->flags)) {
		be[0] = cpu_to_be32(conn->rx_last_nr);
		be[1] = cpu_to_be32(conn->goaway_code);
		afmux_txf_ctl(f, AFMUX_T_GOAWAY, 0, 0, be, sizeof(be));
		set_bit(AFMUX_C_GOAWAY_SENT, &conn->flags);
		return true;
	}
	if (test_bit(AFMUX_C_FAILED, &conn->flags))
		return false;
	if (test_and_clear_bit(AFMUX_C_PING_WANTED, &conn->flags)) {
		u8 data[AFMUX_PING_LEN];

		put_unaligned_be64(conn->ka_count, data);
		afmux_txf_ctl(f, AFMUX_T_PING, 0, 0, data, sizeof(data));
		return true;
	}
	if (test_and_clear_bit(AFMUX_C_POOL_WANTED, &conn->flags)) {
		u8 data[AFMUX_POOL_LEN];

		afmux_pool_encode(data, &conn->pool->ours);
		afmux_txf_ctl(f, AFMUX_T_POOL, 0, 0, data, sizeof(data));
		return true;
	}
	if (conn->nr_replies) {
		afmux_tx_pick_reply(conn, f);
		return true;
	}
	while ((st = afmux_tx_next(conn))) {
		bool new = afmux_tx_new_turn(conn);

		if (afmux_tx_pick_stream(conn, st, f)) {
			conn->tx_new_sent = !new ? 0 :
				min_t(u32, conn->tx_new_sent + f->buf_len +
				      f->ext_len + f->data_left,
				      AFMUX_DATA_SEND_MAX);
			/* Round robin: to the back, or off if sparse. */
			if (afmux_tx_sparse(st, f)) {
				list_del_init(&st->tx_node);
				afmux_stream_clear(st, AFMUX_ST_ON_TX);
			} else {
				list_move_tail(&st->tx_node, &conn->tx_ready);
			}
			sock_hold(&st->sk);
			f->st = st;
			f->more = afmux_tx_more_follows(conn, f);
			return true;
		}
		if (new) {
			/* Leaves only from tx_ready, so that a stream cannot
			 * stay first by emptying its queue each turn.
			 */
			list_move_tail(&st->tx_node, &conn->tx_ready);
			continue;
		}
		list_del_init(&st->tx_node);
		afmux_stream_clear(st, AFMUX_ST_ON_TX);
		__afmux_stream_finish(st);
	}
	return false;
}
