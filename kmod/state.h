/* SPDX-License-Identifier: GPL-2.0 */
/*
 * state.h - the stream state bits (st->flags) and which changes of them
 * are legal: the table "Stream states" of docs/design.md, as code.  Pure
 * functions of the flag word; afmux.h's afmux_stream_set() and
 * afmux_stream_clear() WARN when a change breaks them.
 */
#ifndef _AFMUX_STATE_H
#define _AFMUX_STATE_H

#include <linux/bits.h>
#include <linux/types.h>

/* stream->flags, changed under conn->lock (PURGE: under the socket lock) */
enum {
	AFMUX_ST_LOCAL,		/* we opened it */
	AFMUX_ST_IN_TABLE,	/* in conn->local/remote, holds a ref */
	AFMUX_ST_ACCEPTABLE,	/* on conn->accept_q */
	AFMUX_ST_ON_TX,		/* on conn->tx_new or tx_ready */
	AFMUX_ST_OPEN_WANTED,	/* tx: OPEN not sent yet */
	AFMUX_ST_WINDOW_WANTED,	/* tx: send WINDOW rx_limit */
	AFMUX_ST_END_WANTED,	/* tx: END after the write queue */
	AFMUX_ST_END_SENT,
	AFMUX_ST_RESET_WANTED,	/* tx: RESET reset_code, drop the queue */
	AFMUX_ST_RESET_SENT,
	AFMUX_ST_PEER_END,	/* the peer's END arrived */
	AFMUX_ST_PEER_RESET,	/* the peer's RESET arrived */
	AFMUX_ST_PURGE,		/* reader: drop what is queued */
	AFMUX_ST_CLOSED,	/* the fd is closed (or never existed) */
	AFMUX_ST_WINDOW_SET,	/* the user chose rx_window: no autotuning */
	AFMUX_ST_ORPHAN,	/* closed, not over: counted in nr_orphans */
	AFMUX_ST_NR_BITS
};

/* The bits that come and go; every other one is set once, never cleared. */
#define AFMUX_ST_TRANSIENT						\
	(BIT(AFMUX_ST_IN_TABLE) | BIT(AFMUX_ST_ACCEPTABLE) |		\
	 BIT(AFMUX_ST_ON_TX) | BIT(AFMUX_ST_OPEN_WANTED) |		\
	 BIT(AFMUX_ST_WINDOW_WANTED) | BIT(AFMUX_ST_END_WANTED) |	\
	 BIT(AFMUX_ST_RESET_WANTED) | BIT(AFMUX_ST_PURGE) |		\
	 BIT(AFMUX_ST_ORPHAN))

/* Frames a stream has to send other than DATA (the tx pump's). */
#define AFMUX_ST_TX_WANTED						\
	(BIT(AFMUX_ST_OPEN_WANTED) | BIT(AFMUX_ST_WINDOW_WANTED) |	\
	 BIT(AFMUX_ST_END_WANTED) | BIT(AFMUX_ST_RESET_WANTED))

/*
 * May a stream whose flags are @f gain @bit?  Each rule is the "what must
 * hold" column of docs/design.md; setting a bit already set is illegal
 * except for the two that only ever say "at least once" (PURGE,
 * WINDOW_SET).
 */
static inline bool afmux_st_may_set(unsigned long f, unsigned int bit)
{
#define ST(b)	BIT(AFMUX_ST_##b)
	bool in_table = f & ST(IN_TABLE);

	switch (bit) {
	case AFMUX_ST_IN_TABLE:		/* a new stream, once */
		return !(f & ~ST(LOCAL));
	case AFMUX_ST_ACCEPTABLE:	/* the peer's, not yet accepted */
		return !(f & (ST(LOCAL) | ST(ACCEPTABLE) | ST(CLOSED))) &&
		       (in_table || (f & ST(PEER_END)));
	case AFMUX_ST_ON_TX:
		return in_table && !(f & ST(ON_TX));
	case AFMUX_ST_OPEN_WANTED:
		return in_table && (f & ST(LOCAL)) &&
		       !(f & (ST(OPEN_WANTED) | ST(END_SENT) |
			      ST(RESET_WANTED) | ST(RESET_SENT)));
	case AFMUX_ST_WINDOW_WANTED:	/* only while the stream receives */
		return in_table &&
		       !(f & (ST(PEER_END) | ST(PEER_RESET) | ST(RESET_SENT)));
	case AFMUX_ST_END_WANTED:
		return in_table && !(f & (ST(END_SENT) | ST(RESET_SENT)));
	case AFMUX_ST_END_SENT:
		return !(f & (ST(END_SENT) | ST(RESET_SENT)));
	case AFMUX_ST_RESET_WANTED:	/* one RESET per stream, never two */
		return in_table && !(f & (ST(RESET_WANTED) | ST(RESET_SENT) |
					  ST(PEER_RESET)));
	case AFMUX_ST_RESET_SENT:
		return !(f & ST(RESET_SENT));
	case AFMUX_ST_PEER_END:
		return !(f & (ST(PEER_END) | ST(PEER_RESET)));
	case AFMUX_ST_PEER_RESET:
		return !(f & ST(PEER_RESET));
	case AFMUX_ST_CLOSED:
		return !(f & ST(CLOSED));
	case AFMUX_ST_ORPHAN:		/* a closed stream still in the table */
		return in_table && (f & ST(CLOSED)) && !(f & ST(ORPHAN));
	case AFMUX_ST_PURGE:
	case AFMUX_ST_WINDOW_SET:
		return true;
	default:			/* LOCAL is set at birth only */
		return false;
	}
#undef ST
}

/* May @bit be cleared?  Only the transient ones. */
static inline bool afmux_st_may_clear(unsigned int bit)
{
	return bit < AFMUX_ST_NR_BITS && (AFMUX_ST_TRANSIENT & BIT(bit));
}

#endif /* _AFMUX_STATE_H */
