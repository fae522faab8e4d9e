// SPDX-License-Identifier: GPL-2.0
/*
 * frame.c - encode and check the preface and frame headers
 * (docs/protocol.md §2-§4).
 *
 * The decoders check everything that can be checked from the bytes
 * alone; what depends on connection state (stream numbers, credit) is
 * checked by rx.c.  Decoders return -EPROTO for malformed input and
 * -EPROTONOSUPPORT for a preface of another version.
 */
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/afmux.h>
#include "compat.h"

#include "frame.h"

static const u8 afmux_magic[8] = { 'A', 'F', 'M', 'U', 'X', '\r', '\n', 0 };

void afmux_hdr_encode(u8 *buf, const struct afmux_hdr *h)
{
	buf[0] = h->type;
	buf[1] = h->flags;
	put_unaligned_be16(0, buf + 2);
	put_unaligned_be32(h->len, buf + 4);
	put_unaligned_be32(h->stream, buf + 8);
}

/* Payload length range and defined flags of each frame type. */
static const struct {
	u32	min_len;
	u32	max_len;
	u8	flags;
} afmux_type_rules[__AFMUX_T_MAX] = {
	[AFMUX_T_DATA]	= { 1, AFMUX_DATA_RECV_MAX, 0 },
	[AFMUX_T_OPEN]	= { 0, AFMUX_KEY_MAX, 0 },
	[AFMUX_T_END]	= { 0, 0, 0 },
	[AFMUX_T_RESET]	= { AFMUX_RESET_LEN, AFMUX_RESET_LEN, 0 },
	[AFMUX_T_WINDOW]	= { AFMUX_WINDOW_LEN, AFMUX_WINDOW_LEN, 0 },
	[AFMUX_T_PING]	= { AFMUX_PING_LEN, AFMUX_PING_LEN, AFMUX_FLAG_ACK },
	[AFMUX_T_GOAWAY]	= { AFMUX_GOAWAY_LEN, AFMUX_GOAWAY_LEN, 0 },
};

static int afmux_hdr_bad(struct afmux_hdr *h, enum afmux_bad why)
{
	h->bad = why;
	return -EPROTO;
}

/**
 * afmux_hdr_decode - decode and check a frame header
 * @buf: AFMUX_HDR_LEN bytes
 * @h: filled in (also on error, for diagnostics)
 *
 * Return: 0, or -EPROTO if the header breaks a rule of §4 or §8 (which
 * one: @h->bad).
 */
int afmux_hdr_decode(const u8 *buf, struct afmux_hdr *h)
{
	bool conn_frame;

	h->type = buf[0];
	h->flags = buf[1];
	h->len = get_unaligned_be32(buf + 4);
	h->stream = get_unaligned_be32(buf + 8);
	h->bad = 0;

	if (get_unaligned_be16(buf + 2))
		return afmux_hdr_bad(h, AFMUX_BAD_RESERVED);
	if (h->type >= __AFMUX_T_MAX)
		return afmux_hdr_bad(h, AFMUX_BAD_TYPE);
	if (h->flags & ~afmux_type_rules[h->type].flags)
		return afmux_hdr_bad(h, AFMUX_BAD_FLAGS);
	if (h->len < afmux_type_rules[h->type].min_len ||
	    h->len > afmux_type_rules[h->type].max_len)
		return afmux_hdr_bad(h, AFMUX_BAD_LENGTH);

	conn_frame = h->type == AFMUX_T_PING || h->type == AFMUX_T_GOAWAY;
	if (conn_frame)
		return h->stream ? afmux_hdr_bad(h, AFMUX_BAD_STREAM) : 0;
	if (!(h->stream & ~AFMUX_STREAM_R))
		return afmux_hdr_bad(h, AFMUX_BAD_STREAM);
	if (h->type == AFMUX_T_OPEN && (h->stream & AFMUX_STREAM_R))
		return afmux_hdr_bad(h, AFMUX_BAD_OPEN);
	return 0;
}

void afmux_preface_encode(u8 *buf, const struct afmux_preface *p)
{
	memcpy(buf, afmux_magic, sizeof(afmux_magic));
	put_unaligned_be16(AFMUX_VERSION, buf + 8);
	put_unaligned_be16(0, buf + 10);
	put_unaligned_be32(p->window, buf + 12);
	put_unaligned_be32(p->max_streams, buf + 16);
	put_unaligned_be32(0, buf + 20);
}

/**
 * afmux_preface_decode - decode and check the peer's preface
 * @buf: AFMUX_PREFACE_LEN bytes
 * @p: filled in on success
 *
 * Return: 0; -EPROTONOSUPPORT for a version other than AFMUX_VERSION;
 * -EPROTO for anything else §2 forbids.
 */
int afmux_preface_decode(const u8 *buf, struct afmux_preface *p)
{
	u32 window = get_unaligned_be32(buf + 12);
	u32 max_streams = get_unaligned_be32(buf + 16);

	if (memcmp(buf, afmux_magic, sizeof(afmux_magic)))
		return -EPROTO;
	if (get_unaligned_be16(buf + 8) != AFMUX_VERSION)
		return -EPROTONOSUPPORT;
	if (get_unaligned_be16(buf + 10) || get_unaligned_be32(buf + 20))
		return -EPROTO;
	if (window < AFMUX_WINDOW_MIN || window > AFMUX_WINDOW_MAX)
		return -EPROTO;
	if (!max_streams)
		return -EPROTO;
	p->window = window;
	p->max_streams = max_streams;
	return 0;
}

#ifdef AFMUX_KUNIT
#include "test/frame-test.c"
#include "test/window-test.c"
#endif
