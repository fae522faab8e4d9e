// SPDX-License-Identifier: GPL-2.0
/*
 * frame.c - encode and check the preface, the join preface, frame
 * headers and the POOL payload (docs/protocol.md §2-§4, §12).
 *
 * The decoders check everything that can be checked from the bytes
 * alone; what depends on connection state (stream numbers, credit,
 * whether the connection is pooled, which preface it expects) is checked
 * by rx.c.  Decoders return -EPROTO for malformed input and
 * -EPROTONOSUPPORT for a preface of another version.
 */
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/afmux.h>
#include "compat.h"

#include "frame.h"

static const u8 afmux_magic[8] = { 'A', 'F', 'M', 'U', 'X', '\r', '\n', 0 };

/* "AFMUX\0", then the version as 16 bits (§12.1). */
const u8 afmux_hello[AFMUX_PING_LEN] = {
	'A', 'F', 'M', 'U', 'X', 0, 0, AFMUX_VERSION_POOL
};

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
	[AFMUX_T_POOL]	= { AFMUX_POOL_LEN, AFMUX_POOL_LEN, 0 },
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

	conn_frame = h->type == AFMUX_T_PING || h->type == AFMUX_T_GOAWAY ||
		     h->type == AFMUX_T_POOL;
	if (conn_frame)
		return h->stream ? afmux_hdr_bad(h, AFMUX_BAD_STREAM) : 0;
	if (!(h->stream & ~AFMUX_STREAM_R))
		return afmux_hdr_bad(h, AFMUX_BAD_STREAM);
	if (h->type == AFMUX_T_OPEN && (h->stream & AFMUX_STREAM_R))
		return afmux_hdr_bad(h, AFMUX_BAD_OPEN);
	return 0;
}

/**
 * afmux_preface_encode - write our preface, or join preface, to @buf
 * @buf: room for AFMUX_JOIN_PREFACE_LEN bytes
 * @p: its settings; @p->join for a join preface presenting @p->pool
 *
 * Return: its length, AFMUX_PREFACE_LEN or AFMUX_JOIN_PREFACE_LEN.
 */
unsigned int afmux_preface_encode(u8 *buf, const struct afmux_preface *p)
{
	memcpy(buf, afmux_magic, sizeof(afmux_magic));
	put_unaligned_be16(p->join ? AFMUX_VERSION_POOL : AFMUX_VERSION,
			   buf + 8);
	put_unaligned_be16(p->join ? AFMUX_PREFACE_F_JOIN : 0, buf + 10);
	put_unaligned_be32(p->window, buf + 12);
	put_unaligned_be32(p->max_streams, buf + 16);
	put_unaligned_be32(0, buf + 20);
	if (!p->join)
		return AFMUX_PREFACE_LEN;
	afmux_pool_encode(buf + AFMUX_PREFACE_LEN, &p->pool);
	return AFMUX_JOIN_PREFACE_LEN;
}

/**
 * afmux_preface_len - how long the preface that starts in @buf is
 * @buf: its first AFMUX_PREFACE_LEN bytes
 * @join: a join preface is expected (a connection joining a pool)
 *
 * Return: AFMUX_JOIN_PREFACE_LEN if a join preface is expected and these
 * bytes begin one (the magic, version 2 and the JOIN flag), else
 * AFMUX_PREFACE_LEN: the decoder can judge those bytes alone.
 */
unsigned int afmux_preface_len(const u8 *buf, bool join)
{
	if (join && !memcmp(buf, afmux_magic, sizeof(afmux_magic)) &&
	    get_unaligned_be16(buf + 8) == AFMUX_VERSION_POOL &&
	    get_unaligned_be16(buf + 10) == AFMUX_PREFACE_F_JOIN)
		return AFMUX_JOIN_PREFACE_LEN;
	return AFMUX_PREFACE_LEN;
}

/**
 * afmux_preface_decode - decode and check the peer's preface
 * @buf: afmux_preface_len(@buf, @join) bytes
 * @join: a join preface is expected (§12.3), else a §2 preface
 * @p: filled in on success
 *
 * Return: 0; -EPROTONOSUPPORT for a version other than the one expected
 * (1, or 2 for a join; VERSION_ERROR); -ECONNREFUSED for a version 1
 * preface where a join preface is expected (REFUSED_JOIN); -EPROTO for
 * anything else §2 and §12.3 forbid.  The credentials a join preface
 * presents are the caller's to check.
 */
int afmux_preface_decode(const u8 *buf, bool join, struct afmux_preface *p)
{
	u16 version = get_unaligned_be16(buf + 8);
	u32 window = get_unaligned_be32(buf + 12);
	u32 max_streams = get_unaligned_be32(buf + 16);

	if (memcmp(buf, afmux_magic, sizeof(afmux_magic)))
		return -EPROTO;
	if (join && version == AFMUX_VERSION)
		return -ECONNREFUSED;
	if (version != (join ? AFMUX_VERSION_POOL : AFMUX_VERSION))
		return -EPROTONOSUPPORT;
	if (get_unaligned_be16(buf + 10) != (join ? AFMUX_PREFACE_F_JOIN : 0))
		return -EPROTO;
	if (get_unaligned_be32(buf + 20))
		return -EPROTO;
	if (window < AFMUX_WINDOW_MIN || window > AFMUX_WINDOW_MAX)
		return -EPROTO;
	if (!max_streams)
		return -EPROTO;
	p->window = window;
	p->max_streams = max_streams;
	p->join = join;
	if (join)
		return afmux_pool_decode(buf + AFMUX_PREFACE_LEN, &p->pool);
	return 0;
}

/* A PING without ACK that carries afmux_hello (§12.1). */
bool afmux_is_hello(const struct afmux_hdr *h, const u8 *payload)
{
	return h->type == AFMUX_T_PING && !(h->flags & AFMUX_FLAG_ACK) &&
	       !memcmp(payload, afmux_hello, sizeof(afmux_hello));
}

/* A pool's credentials, as POOL and the join preface carry them. */
void afmux_pool_encode(u8 *buf, const struct afmux_pool_id *pool)
{
	put_unaligned_be64(pool->id, buf);
	memcpy(buf + 8, pool->token, AFMUX_TOKEN_LEN);
}

/* Return: 0, or -EPROTO for pool id 0. */
int afmux_pool_decode(const u8 *buf, struct afmux_pool_id *pool)
{
	pool->id = get_unaligned_be64(buf);
	memcpy(pool->token, buf + 8, AFMUX_TOKEN_LEN);
	return pool->id ? 0 : -EPROTO;
}

#ifdef AFMUX_KUNIT
#include "test/frame-test.c"
#include "test/window-test.c"
#endif
