/* SPDX-License-Identifier: GPL-2.0 */
/*
 * frame.h - the afmux wire format, version 1 (docs/protocol.md).
 *
 * Encoding and checking of the preface and of frame headers.  Pure
 * functions on byte buffers: no locks, no allocation, usable from any
 * context.
 */
#ifndef _AFMUX_FRAME_H
#define _AFMUX_FRAME_H

#include <linux/types.h>
#include <linux/bits.h>

#define AFMUX_PREFACE_LEN	24
#define AFMUX_HDR_LEN		12
#define AFMUX_VERSION		1

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
 * struct afmux_preface - the settings a preface carries
 * @window: initial window the sender grants on every stream
 * @max_streams: peer-opened streams the sender is willing to hold
 */
struct afmux_preface {
	u32	window;
	u32	max_streams;
};

void afmux_hdr_encode(u8 *buf, const struct afmux_hdr *h);
int afmux_hdr_decode(const u8 *buf, struct afmux_hdr *h);
void afmux_preface_encode(u8 *buf, const struct afmux_preface *p);
int afmux_preface_decode(const u8 *buf, struct afmux_preface *p);

#endif /* _AFMUX_FRAME_H */
