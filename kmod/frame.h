/* SPDX-License-Identifier: GPL-2.0 */
/*
 * frame.h - the afmux wire format, versions 1 and 2 (docs/protocol.md;
 * version 2 adds pools, §12).
 *
 * Encoding and checking of the preface, the join preface, frame headers
 * and the payloads that carry pool credentials.  Pure functions on byte
 * buffers: no locks, no allocation, usable from any context.
 */
#ifndef _AFMUX_FRAME_H
#define _AFMUX_FRAME_H

#include <linux/types.h>
#include <linux/bits.h>

#define AFMUX_PREFACE_LEN	24
#define AFMUX_HDR_LEN		12
#define AFMUX_VERSION		1
/* Version 2: the join preface of a TCP connection that joins a pool. */
#define AFMUX_VERSION_POOL	2
#define AFMUX_PREFACE_F_JOIN	0x0001
#define AFMUX_JOIN_PREFACE_LEN	48
/* A pool's credentials (POOL frame, join preface): id, then token. */
#define AFMUX_TOKEN_LEN		16
#define AFMUX_POOL_LEN		(8 + AFMUX_TOKEN_LEN)

/* DATA: what senders use, and what receivers accept. */
#define AFMUX_DATA_SEND_MAX	(64 * 1024)
#define AFMUX_DATA_RECV_MAX	(16 * 1024 * 1024)

enum afmux_type {
	AFMUX_T_DATA	= 0,
	AFMUX_T_OPEN	= 1,
	AFMUX_T_END	= 2,
	AFMUX_T_RESET	= 3,
	AFMUX_T_WINDOW	= 4,
	AFMUX_T_PING	= 5,
	AFMUX_T_GOAWAY	= 6,
	AFMUX_T_POOL	= 7,	/* version 2: pooled connections only */
	__AFMUX_T_MAX
};

#define AFMUX_FLAG_ACK		0x01	/* PING */

/* Error codes in RESET and GOAWAY. */
enum afmux_code {
	AFMUX_NO_ERROR		= 0,
	AFMUX_PROTOCOL_ERROR	= 1,
	AFMUX_FLOW_CONTROL_ERROR = 2,
	AFMUX_REFUSED_STREAM	= 3,
	AFMUX_CANCEL		= 4,
	AFMUX_INTERNAL_ERROR	= 5,
	AFMUX_VERSION_ERROR	= 6,
	AFMUX_REFUSED_JOIN	= 7,	/* GOAWAY: a join preface refused */
};

/* stream field: R bit, then the opener's 31-bit number */
#define AFMUX_STREAM_R		BIT(31)
#define AFMUX_STREAM_NR_MAX	(BIT(31) - 1)

/* Payload sizes of the fixed-size control frames. */
#define AFMUX_RESET_LEN		4
#define AFMUX_WINDOW_LEN	4
#define AFMUX_PING_LEN		8
#define AFMUX_GOAWAY_LEN	8
/* Longest control payload a receiver buffers (OPEN's key). */
#define AFMUX_CTL_MAX		1024

/*
 * The rows of docs/protocol.md §8: which rule malformed input broke.
 * /proc/net/afmux_stat counts each (Malformed:, in this order).
 */
enum afmux_bad {
	AFMUX_BAD_PREFACE,	/* magic, flags, reserved, window, max streams */
	AFMUX_BAD_VERSION,	/* preface version other than 1 */
	AFMUX_BAD_TYPE,		/* unknown frame type */
	AFMUX_BAD_FLAGS,	/* a flag the type does not define */
	AFMUX_BAD_RESERVED,	/* nonzero reserved header field */
	AFMUX_BAD_LENGTH,	/* outside the type's range */
	AFMUX_BAD_STREAM,	/* stream field wrong for the type */
	AFMUX_BAD_OPEN,		/* OPEN with R, or its number not above */
	AFMUX_BAD_UNOPENED,	/* a frame for a never-opened stream */
	AFMUX_BAD_AFTER_END,	/* DATA or END after END */
	AFMUX_BAD_FLOW,		/* DATA beyond credit, bad WINDOW */
	AFMUX_BAD_POOL,		/* POOL: second, on a joined conn, id 0 */
	AFMUX_BAD_JOIN,		/* join preface refused (REFUSED_JOIN) */
	__AFMUX_BAD_MAX
};

/* No rule broken (yet): the parser's @bad until malformed input. */
#define AFMUX_BAD_NONE		__AFMUX_BAD_MAX

/**
 * struct afmux_hdr - a decoded frame header, in host order
 * @type: enum afmux_type
 * @flags: AFMUX_FLAG_*
 * @len: payload length
 * @stream: R bit and number, as on the wire
 * @bad: when afmux_hdr_decode() refused it, the rule it broke
 */
struct afmux_hdr {
	u8	type;
	u8	flags;
	u32	len;
	u32	stream;
	u8	bad;
};

/**
 * struct afmux_pool_id - a pool's credentials (§12.2): what a POOL frame
 * carries, and what a join preface presents to the pool's owner
 * @id: nonzero
 * @token: random bytes
 */
struct afmux_pool_id {
	u64	id;
	u8	token[AFMUX_TOKEN_LEN];
};

/**
 * struct afmux_preface - the settings a preface carries
 * @window: initial window the sender grants on every stream
 * @max_streams: peer-opened streams the sender is willing to hold
 * @join: a join preface (version 2, §12.3)
 * @pool: if @join, the credentials it presents
 */
struct afmux_preface {
	u32	window;
	u32	max_streams;
	bool	join;
	struct afmux_pool_id pool;
};

/* A PING's payload that offers pooling, as the first frame (§12.1). */
extern const u8 afmux_hello[AFMUX_PING_LEN];

void afmux_hdr_encode(u8 *buf, const struct afmux_hdr *h);
int afmux_hdr_decode(const u8 *buf, struct afmux_hdr *h);
unsigned int afmux_preface_encode(u8 *buf, const struct afmux_preface *p);
unsigned int afmux_preface_len(const u8 *buf, bool join);
int afmux_preface_decode(const u8 *buf, bool join, struct afmux_preface *p);
bool afmux_is_hello(const struct afmux_hdr *h, const u8 *payload);
void afmux_pool_encode(u8 *buf, const struct afmux_pool_id *pool);
int afmux_pool_decode(const u8 *buf, struct afmux_pool_id *pool);

#endif /* _AFMUX_FRAME_H */
