/* SPDX-License-Identifier: GPL-2.0 */
/*
 * parser.h - cut the peer's byte stream into preface and frames.
 *
 * The parser is fed whatever pieces of skbs TCP hands over, split
 * anywhere.  It copies only the preface, frame headers and control
 * payloads (at most AFMUX_CTL_MAX bytes); DATA payload is passed on as
 * (skb, offset, length) ranges for the caller to clone, never copied.
 *
 * Locking: one parser belongs to one connection and is only fed under
 * that connection's receive serialisation (see conn.h); it has no lock
 * of its own.
 */
#ifndef _AFMUX_PARSER_H
#define _AFMUX_PARSER_H

#include <linux/skbuff.h>

#include "frame.h"

struct afmux_parser;

/**
 * struct afmux_parser_ops - what the parser reports
 * @preface: the peer's preface arrived and decoded
 * @frame: a header (DATA) or a whole frame (every other type) arrived;
 *	@payload points to the control payload, NULL for DATA
 * @data: the next @len DATA payload bytes of the current DATA frame are
 *	in @skb at @off
 *
 * A negative return ends parsing: afmux_parser_feed() returns it, and
 * every later call returns it again.  AFMUX_PARSE_PAUSE from @preface or
 * @frame stops the parse right after that frame: afmux_parser_feed()
 * returns the bytes used so far, and the next call goes on from there.
 */
#define AFMUX_PARSE_PAUSE	1

struct afmux_parser_ops {
	int (*preface)(struct afmux_parser *p, const struct afmux_preface *pf);
	int (*frame)(struct afmux_parser *p, const struct afmux_hdr *h,
		     const u8 *payload);
	int (*data)(struct afmux_parser *p, const struct afmux_hdr *h,
		    struct sk_buff *skb, unsigned int off, unsigned int len);
};

enum afmux_parser_state {
	AFMUX_PARSE_PREFACE,
	AFMUX_PARSE_HDR,
	AFMUX_PARSE_CTL,
	AFMUX_PARSE_DATA,
	AFMUX_PARSE_DEAD,
};

/**
 * struct afmux_parser - state of one direction's parse
 * @ops: callbacks
 * @join: the preface expected is a join preface (docs/protocol.md §12.3)
 * @state: what the next bytes are
 * @err: the error that ended parsing, once in AFMUX_PARSE_DEAD
 * @bad: if that was malformed input, the rule it broke (enum afmux_bad;
 *	the decoders set it, and so do the callbacks), else AFMUX_BAD_NONE
 * @have: bytes of the current preface, header or control payload
 *	gathered in @buf
 * @data_left: DATA payload bytes still to come in the current frame
 * @paused: a callback asked to stop after the frame just handled
 * @hdr: the current frame's header
 * @buf: preface, header, then control payload
 */
struct afmux_parser {
	const struct afmux_parser_ops *ops;
	bool join;
	enum afmux_parser_state state;
	int err;
	u8 bad;
	unsigned int have;
	u32 data_left;
	bool paused;
	struct afmux_hdr hdr;
	u8 buf[AFMUX_CTL_MAX];
};

void afmux_parser_init(struct afmux_parser *p,
		       const struct afmux_parser_ops *ops, bool join);
int afmux_parser_feed(struct afmux_parser *p, struct sk_buff *skb,
		      unsigned int off, size_t len);

#endif /* _AFMUX_PARSER_H */
