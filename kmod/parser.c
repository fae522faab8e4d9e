// SPDX-License-Identifier: GPL-2.0
/*
 * parser.c - the receive-side framing state machine (see parser.h).
 *
 * States: PREFACE (24 bytes, or 48 for a join preface: its first 24 say
 * so) -> HDR (12 bytes) -> CTL (control payload) or DATA (payload ranges
 * handed on) -> HDR ...  Any error -> DEAD.
 */
#include <linux/errno.h>
#include <linux/minmax.h>
#include <linux/skbuff.h>

#include "parser.h"

void afmux_parser_init(struct afmux_parser *p,
		       const struct afmux_parser_ops *ops, bool join)
{
	p->ops = ops;
	p->join = join;
	p->state = AFMUX_PARSE_PREFACE;
	p->err = 0;
	p->bad = AFMUX_BAD_NONE;
	p->have = 0;
	p->data_left = 0;
	p->paused = false;
}

/* Gather bytes into p->buf until it holds @want; return bytes taken. */
static int gather(struct afmux_parser *p, struct sk_buff *skb,
		  unsigned int off, size_t len, unsigned int want)
{
	unsigned int n = min_t(size_t, len, want - p->have);

	if (skb_copy_bits(skb, off, p->buf + p->have, n))
		return -EFAULT;
	p->have += n;
	return n;
}

static int got_preface(struct afmux_parser *p)
{
	struct afmux_preface pf;
	int err;

	err = afmux_preface_decode(p->buf, p->join, &pf);
	if (err == -EPROTONOSUPPORT)
		p->bad = AFMUX_BAD_VERSION;
	else if (err == -ECONNREFUSED)
		p->bad = AFMUX_BAD_JOIN;
	else if (err)
		p->bad = AFMUX_BAD_PREFACE;
	else
		err = p->ops->preface(p, &pf);
	p->state = AFMUX_PARSE_HDR;
	return err;
}

static int got_header(struct afmux_parser *p)
{
	int err;

	err = afmux_hdr_decode(p->buf, &p->hdr);
	if (err) {
		p->bad = p->hdr.bad;
		return err;
	}
	if (p->hdr.type == AFMUX_T_DATA) {
		err = p->ops->frame(p, &p->hdr, NULL);
		p->data_left = p->hdr.len;
		p->state = AFMUX_PARSE_DATA;
		return err;
	}
	p->state = AFMUX_PARSE_CTL;
	return 0;
}

static int got_control(struct afmux_parser *p)
{
	p->state = AFMUX_PARSE_HDR;
	return p->ops->frame(p, &p->hdr, p->buf);
}

/* One step: consume some of [off, off + len); return bytes or -errno. */
static int step(struct afmux_parser *p, struct sk_buff *skb,
		unsigned int off, size_t len)
{
	unsigned int n;
	int used, err = 0;

	switch (p->state) {
	case AFMUX_PARSE_PREFACE:
		n = p->have < AFMUX_PREFACE_LEN ? AFMUX_PREFACE_LEN :
				afmux_preface_len(p->buf, p->join);
		used = gather(p, skb, off, len, n);
		if (used < 0 || p->have < n)
			return used;
		if (n < afmux_preface_len(p->buf, p->join))
			return used;	/* a join preface: 24 more bytes */
		p->have = 0;
		err = got_preface(p);
		break;
	case AFMUX_PARSE_HDR:
		used = gather(p, skb, off, len, AFMUX_HDR_LEN);
		if (used < 0 || p->have < AFMUX_HDR_LEN)
			return used;
		p->have = 0;
		err = got_header(p);
		break;
	case AFMUX_PARSE_CTL:
		used = 0;
		if (p->have < p->hdr.len) {
			used = gather(p, skb, off, len, p->hdr.len);
			if (used < 0 || p->have < p->hdr.len)
				return used;
		}
		p->have = 0;
		err = got_control(p);
		break;
	case AFMUX_PARSE_DATA:
		n = min_t(size_t, len, p->data_left);
		err = p->ops->data(p, &p->hdr, skb, off, n);
		p->data_left -= n;
		if (!p->data_left)
			p->state = AFMUX_PARSE_HDR;
		used = n;
		break;
	default:
		return p->err;
	}
	if (err == AFMUX_PARSE_PAUSE) {
		p->paused = true;
		err = 0;
	}
	return err ? err : used;
}

/**
 * afmux_parser_feed - parse @len bytes of @skb starting at @off
 * @p: the parser
 * @skb: received data; not consumed, the caller still owns it
 * @off: where the new bytes start in @skb
 * @len: how many
 *
 * Context: the connection's receive serialisation; may be softirq.
 * Return: the bytes used: @len, or fewer if a callback paused the parse
 * (they end with that frame); or a negative errno once parsing has failed
 * (the error of the decoder or of a callback); the parser then stays
 * failed.
 */
int afmux_parser_feed(struct afmux_parser *p, struct sk_buff *skb,
		      unsigned int off, size_t len)
{
	size_t done = 0;
	int used;

	if (p->state == AFMUX_PARSE_DEAD)
		return p->err;
	if (!len)
		return 0;	/* no 0-byte ->data calls */
	/* A zero-length control payload completes without new bytes. */
	do {
		used = step(p, skb, off + done, len - done);
		if (used < 0) {
			p->state = AFMUX_PARSE_DEAD;
			p->err = used;
			return used;
		}
		done += used;
		if (p->paused) {
			p->paused = false;
			return done;
		}
	} while (done < len ||
		 (p->state == AFMUX_PARSE_CTL && p->have == p->hdr.len));
	return len;
}

#ifdef AFMUX_KUNIT
#include "test/parser-test.c"
#include "test/parser-stop-test.c"
#include "test/pool-test.c"
#endif
