/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wire_gen.h - what the wire fuzzer (wire_fuzz.c) sends: byte streams a
 * peer may send to a mux, generated from docs/protocol.md with a model of
 * the receiver's state, each with the outcome the spec requires.
 *
 * Three kinds of case:
 * - valid: a preface and frames that break no rule (streams opened,
 *   DATA within the initial window, END, RESET, WINDOW, PING, frames on
 *   streams already over): the connection must live, every PING be
 *   answered, and every stream the peer ended arrive whole;
 * - violation: a valid prefix, then one input of §8's table: the
 *   connection must end with GOAWAY carrying that row's code;
 * - mutated: a valid case with bytes flipped, cut or inserted: any
 *   outcome the spec allows, nothing else (no crash, no leak, no hang).
 *
 * Stream keys tell the victim's application (wire_fuzz.c) what to do
 * with a stream: 'r' read to the end and close, 'h' read to the end and
 * hold it open, 'n' never read it, 'x' close it at once.
 */
#ifndef AFMUX_WIRE_GEN_H
#define AFMUX_WIRE_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "util.h"

#define WG_WINDOW	(256 * 1024)	/* the victim's initial window */
#define WG_MAX_STREAMS	48
#define WG_DATA_CAP	(4 << 20)	/* payload per case, all streams */

enum wg_kind { WG_VALID, WG_VIOLATION, WG_MUTATED };
enum { WG_FLOW = 2, WG_VERSION = 6 };	/* §7 codes besides util.h's */

/* A stream the fuzzer's peer opened. */
struct wg_stream {
	uint32_t nr;
	uint8_t key[64];
	uint32_t key_len;
	uint32_t sent;		/* DATA payload bytes */
	uint32_t wlimit;	/* credit we granted the victim on it */
	bool ended, reset;
	struct sha256 c;
	uint8_t sha[SHA256_LEN];	/* of what was sent, once ended */
};

struct wg_case {
	enum wg_kind kind;
	const char *what;	/* the violation, or the mutation */
	int code;		/* violation: the GOAWAY code expected */
	uint8_t *buf;
	size_t len, cap;
	uint32_t victim_opens;	/* streams the victim opens first: 1.. */
	uint32_t raw_window;	/* our preface's window */
	/* Valid steps open up to WG_MAX_STREAMS; a violation one more. */
	struct wg_stream st[WG_MAX_STREAMS + 1];
	unsigned int nst;
	uint32_t last_nr;	/* highest number we opened */
	uint32_t vlimit[8];	/* WINDOW limits we granted victim streams */
	bool vended[8];		/* we sent END on a victim stream */
	uint32_t vsent[8];	/* DATA we sent on victim streams */
	uint64_t data_total;
	uint32_t pings;		/* PINGs without ACK: each answered */
	uint64_t rng;
};

static uint32_t wg_rand(struct wg_case *c)
{
	/* splitmix64 */
	uint64_t z = (c->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 16);
}

static uint32_t wg_below(struct wg_case *c, uint32_t n)
{
	return n ? wg_rand(c) % n : 0;
}

static uint8_t *wg_room(struct wg_case *c, size_t n)
{
	if (c->len + n > c->cap) {
		c->cap = (c->len + n) * 2 + 4096;
		c->buf = realloc(c->buf, c->cap);
		if (!c->buf)
			abort();
	}
	c->len += n;
	return c->buf + c->len - n;
}

static void wg_hdr(struct wg_case *c, uint8_t type, uint8_t flags,
		   uint16_t rsv, uint32_t len, uint32_t stream)
{
	uint8_t *p = wg_room(c, HEADER_LEN);

	p[0] = type;
	p[1] = flags;
	put_be16(p + 2, rsv);
	put_be32(p + 4, len);
	put_be32(p + 8, stream);
}

static void wg_bytes(struct wg_case *c, const void *b, size_t n)
{
	memcpy(wg_room(c, n), b, n);
}

static void wg_be32(struct wg_case *c, uint32_t v)
{
	put_be32(wg_room(c, 4), v);
}

static void wg_preface(struct wg_case *c)
{
	put_preface(wg_room(c, PREFACE_LEN), c->raw_window,
		    1 + wg_below(c, 64));
}

/* A DATA length: small, at the edges that matter, or a full frame. */
static uint32_t wg_data_len(struct wg_case *c, uint32_t room)
{
	static const uint32_t edges[] = { 1, 2, 255, 256, 257, 1023, 1024,
					  1025, 4095, 4096, 4097, 65535,
					  65536, 65537, 131072 };
	uint32_t n;

	switch (wg_below(c, 4)) {
	case 0:
		n = edges[wg_below(c, sizeof(edges) / sizeof(edges[0]))];
		break;
	case 1:
		n = 1 + wg_below(c, 70000);
		break;
	default:
		n = 1 + wg_below(c, 300);
		break;
	}
	return n < room ? n : room;
}

/* DATA of @n bytes on stream field @stream; fills @s's hash if given. */
static void wg_data(struct wg_case *c, uint32_t stream, uint32_t n,
		    struct wg_stream *s)
{
	uint8_t *p;
	uint32_t i;

	wg_hdr(c, FT_DATA, 0, 0, n, stream);
	p = wg_room(c, n);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(wg_rand(c) >> (i & 7));
	if (s) {
		sha256_update(&s->c, p, n);
		s->sent += n;
	}
	c->data_total += n;
}

/* OPEN a stream; @mode is its key's first byte, or 0 for any. */
static struct wg_stream *wg_open(struct wg_case *c, uint8_t mode)
{
	static const char modes[] = "rrrrhhnx";
	struct wg_stream *s;
	uint32_t i;

	if (c->nst >= sizeof(c->st) / sizeof(c->st[0]))
		abort();	/* a generator bug: the case would be garbage */
	s = &c->st[c->nst++];

	c->last_nr += 1 + (wg_below(c, 8) ? 0 : wg_below(c, 1000));
	s->nr = c->last_nr;
	s->wlimit = c->raw_window;
	s->key_len = 5 + wg_below(c, sizeof(s->key) - 5);
	s->key[0] = mode ? mode : modes[wg_below(c, sizeof(modes) - 1)];
	/* Keys name streams uniquely: the number is in them. */
	put_be32(s->key + 1, s->nr);
	for (i = 5; i < s->key_len; i++)
		s->key[i] = (uint8_t)wg_rand(c);
	sha256_init(&s->c);
	wg_hdr(c, FT_OPEN, 0, 0, s->key_len, s->nr);
	wg_bytes(c, s->key, s->key_len);
	return s;
}

/* A live stream of ours, or NULL. */
static struct wg_stream *wg_live(struct wg_case *c)
{
	unsigned int i, start;

	if (!c->nst)
		return NULL;
	start = wg_below(c, c->nst);
	for (i = 0; i < c->nst; i++) {
		struct wg_stream *s = &c->st[(start + i) % c->nst];

		if (!s->ended && !s->reset)
			return s;
	}
	return NULL;
}

/* One valid frame (or a few). */
static void wg_valid_step(struct wg_case *c)
{
	struct wg_stream *s = wg_live(c);
	uint32_t v = 1 + wg_below(c, c->victim_opens), n;
	uint8_t ping[8];

	switch (wg_below(c, 16)) {
	case 0: case 1:
		if (c->nst < WG_MAX_STREAMS) {
			wg_open(c, 0);
			break;
		}
		/* fallthrough */
	case 2: case 3: case 4: case 5: case 6:
		if (s && s->sent < WG_WINDOW && c->data_total < WG_DATA_CAP &&
		    s->key[0] != 'x') {
			n = wg_data_len(c, WG_WINDOW - s->sent);
			wg_data(c, s->nr, n, s);
		}
		break;
	case 7:
		if (s) {
			wg_hdr(c, FT_END, 0, 0, 0, s->nr);
			s->ended = true;
			sha256_final(&s->c, s->sha);
		}
		break;
	case 8:
		if (s && !wg_below(c, 3)) {
			wg_hdr(c, FT_RESET, 0, 0, 4, s->nr);
			wg_be32(c, wg_below(c, 9));	/* unknown codes too */
			s->reset = true;
		}
		break;
	case 9:
		/* Frames on a stream over for the receiver are ignored. */
		for (n = 0; n < c->nst; n++) {
			if (c->st[n].reset) {
				wg_data(c, c->st[n].nr, 1 + wg_below(c, 100),
					NULL);
				break;
			}
		}
		break;
	case 10: case 11:
		memset(ping, 0, sizeof(ping));
		put_be32(ping, wg_rand(c));
		if (wg_below(c, 4)) {
			wg_hdr(c, FT_PING, 0, 0, 8, 0);
			c->pings++;
		} else {
			wg_hdr(c, FT_PING, 1, 0, 8, 0);	/* an ACK: no answer */
		}
		wg_bytes(c, ping, 8);
		break;
	case 12:
		/* Credit for a victim stream, never backwards. */
		c->vlimit[v] += wg_below(c, 1 << 20);
		if (c->vlimit[v] > (64u << 20))
			c->vlimit[v] = 64u << 20;
		wg_hdr(c, FT_WINDOW, 0, 0, 4, 0x80000000u | v);
		wg_be32(c, c->vlimit[v]);
		break;
	case 13:
		if (!c->vended[v] && c->vsent[v] < WG_WINDOW) {
			n = wg_data_len(c, WG_WINDOW - c->vsent[v]);
			wg_data(c, 0x80000000u | v, n, NULL);
			c->vsent[v] += n;
		}
		break;
	case 14:
		if (!c->vended[v]) {
			wg_hdr(c, FT_END, 0, 0, 0, 0x80000000u | v);
			c->vended[v] = true;
		}
		break;
	default:
		if (s) {	/* credit for the victim's side of our stream */
			s->wlimit += wg_below(c, 1 << 20);
			if (s->wlimit > (64u << 20))
				s->wlimit = 64u << 20;
			wg_hdr(c, FT_WINDOW, 0, 0, 4, s->nr);
			wg_be32(c, s->wlimit);
		}
		break;
	}
}

/* A stream of ours that the victim holds open ('h' or 'n'), or NULL. */
static struct wg_stream *wg_held(struct wg_case *c, bool need_end)
{
	unsigned int i;

	for (i = 0; i < c->nst; i++) {
		struct wg_stream *s = &c->st[i];

		if ((s->key[0] == 'h' || s->key[0] == 'n') && !s->reset &&
		    s->ended == need_end)
			return s;
	}
	return NULL;
}

/* Append one violation of §8; its code goes in c->code. */
static void wg_violation(struct wg_case *c)
{
	struct wg_stream *s;
	uint32_t v = 1 + wg_below(c, c->victim_opens);

	c->code = E_PROTOCOL;
	switch (wg_below(c, 14)) {
	case 0:
		c->what = "unknown frame type";
		wg_hdr(c, 7 + wg_below(c, 249), 0, 0, 0, 1);
		break;
	case 1:
		c->what = "undefined flag";
		wg_hdr(c, FT_PING, 1 << (1 + wg_below(c, 7)), 0, 8, 0);
		wg_be32(c, 0);
		wg_be32(c, 0);
		break;
	case 2:
		c->what = "nonzero reserved field";
		wg_hdr(c, FT_PING, 0, 1 + wg_below(c, 0xfffe), 8, 0);
		wg_be32(c, 0);
		wg_be32(c, 0);
		break;
	case 3:
		c->what = "length out of range";
		switch (wg_below(c, 4)) {
		case 0:
			wg_hdr(c, FT_DATA, 0, 0, 0, 1);
			break;
		case 1:
			wg_hdr(c, FT_OPEN, 0, 0, 1025, c->last_nr + 1);
			break;
		case 2:
			wg_hdr(c, FT_WINDOW, 0, 0, 3 + 2 * wg_below(c, 2), 1);
			break;
		default:
			wg_hdr(c, FT_DATA, 0, 0, (16u << 20) + 1, 1);
			break;
		}
		break;
	case 4:
		c->what = "PING on a stream";
		wg_hdr(c, FT_PING, 0, 0, 8, 1 + wg_below(c, 5));
		wg_be32(c, 0);
		wg_be32(c, 0);
		break;
	case 5:
		c->what = "END on stream 0";
		wg_hdr(c, FT_END, 0, 0, 0, 0);
		break;
	case 6:
		c->what = "OPEN with R = 1";
		wg_hdr(c, FT_OPEN, 0, 0, 0, 0x80000000u | (c->last_nr + 1));
		break;
	case 7:
		c->what = "OPEN not above the previous number";
		if (!c->last_nr)
			wg_open(c, 0);
		wg_hdr(c, FT_OPEN, 0, 0, 0,
		       c->last_nr - wg_below(c, c->last_nr + 1));
		break;
	case 8:
		c->what = "a frame for a never-opened stream";
		wg_hdr(c, FT_END, 0, 0, 0, c->last_nr + 1 + wg_below(c, 100));
		break;
	case 9:
		c->what = "a frame for a victim stream never opened";
		wg_hdr(c, FT_RESET, 0, 0, 4,
		       0x80000000u | (c->victim_opens + 1 + wg_below(c, 9)));
		wg_be32(c, 4);
		break;
	case 10:
		c->what = "END after END";
		s = wg_held(c, true);
		if (!s) {
			s = wg_held(c, false);
			if (!s)
				s = wg_open(c, 'h');
			wg_hdr(c, FT_END, 0, 0, 0, s->nr);
			s->ended = true;
		}
		if (wg_below(c, 2)) {
			wg_hdr(c, FT_END, 0, 0, 0, s->nr);
		} else {
			c->what = "DATA after END";
			wg_data(c, s->nr, 1 + wg_below(c, 10), NULL);
		}
		break;
	case 11:
		c->what = "DATA beyond credit";
		c->code = WG_FLOW;
		s = wg_open(c, 'n');
		wg_data(c, s->nr, WG_WINDOW, NULL);
		wg_data(c, s->nr, 1 + wg_below(c, 1000), NULL);
		break;
	case 12:
		/* Not on a stream over for the victim: it would be ignored. */
		if (c->vended[v]) {
			c->what = "unknown frame type";
			wg_hdr(c, 255, 0, 0, 0, 1);
			break;
		}
		c->what = "WINDOW going backwards";
		c->code = WG_FLOW;
		wg_hdr(c, FT_WINDOW, 0, 0, 4, 0x80000000u | v);
		wg_be32(c, c->vlimit[v] - 1 - wg_below(c, 4096));
		break;
	default:
		if (c->vended[v]) {
			c->what = "unknown frame type";
			wg_hdr(c, 254, 0, 0, 0, 1);
			break;
		}
		c->what = "WINDOW too far ahead";
		c->code = WG_FLOW;
		wg_hdr(c, FT_WINDOW, 0, 0, 4, 0x80000000u | v);
		/* The victim sent at most a few KiB on its streams. */
		wg_be32(c, (64u << 20) + (1u << 20) + wg_below(c, 1 << 20));
		break;
	}
}

/* A bad preface instead of a good one. */
static void wg_bad_preface(struct wg_case *c)
{
	uint8_t *p = wg_room(c, PREFACE_LEN);

	put_preface(p, c->raw_window, 16);
	c->code = E_PROTOCOL;
	switch (wg_below(c, 6)) {
	case 0:
		c->what = "preface: wrong magic";
		p[wg_below(c, 8)] ^= 1 << wg_below(c, 8);
		break;
	case 1:
		c->what = "preface: version";
		c->code = WG_VERSION;
		put_be16(p + 8, 2 + wg_below(c, 0xfffd));
		break;
	case 2:
		c->what = "preface: flags";
		put_be16(p + 10, 1 + wg_below(c, 0xfffe));
		break;
	case 3:
		c->what = "preface: window out of range";
		put_be32(p + 12, wg_below(c, 2) ? wg_below(c, 4096) :
				 (64u << 20) + 1 + wg_below(c, 1000));
		break;
	case 4:
		c->what = "preface: max streams 0";
		put_be32(p + 16, 0);
		break;
	default:
		c->what = "preface: reserved";
		put_be32(p + 20, 1 + wg_below(c, 1000));
		break;
	}
}

/* Flip, cut or insert bytes somewhere after the preface. */
static void wg_mutate(struct wg_case *c)
{
	unsigned int i, n = 1 + wg_below(c, 4);
	size_t at;

	if (c->len <= PREFACE_LEN + 1)
		return;
	for (i = 0; i < n; i++) {
		at = PREFACE_LEN + wg_below(c, (uint32_t)(c->len - PREFACE_LEN));
		switch (wg_below(c, 3)) {
		case 0:
			c->what = "bits flipped";
			c->buf[at] ^= (uint8_t)(1 << wg_below(c, 8));
			break;
		case 1:
			c->what = "cut";
			c->len = at;
			return;
		default:
			c->what = "bytes inserted";
			wg_room(c, 4);
			memmove(c->buf + at + 4, c->buf + at, c->len - 4 - at);
			put_be32(c->buf + at, wg_rand(c));
			break;
		}
	}
}

/* Generate case @seed into @c (whose buf may be reused). */
static void wg_generate(struct wg_case *c, uint64_t seed)
{
	uint8_t *buf = c->buf;
	size_t cap = c->cap;
	unsigned int i, steps;

	memset(c, 0, sizeof(*c));
	c->buf = buf;
	c->cap = cap;
	c->rng = seed;
	c->kind = wg_below(c, 10) < 6 ? WG_VALID :
		  wg_below(c, 2) ? WG_VIOLATION : WG_MUTATED;
	c->victim_opens = 1 + wg_below(c, 3);
	c->raw_window = wg_below(c, 2) ? WG_WINDOW :
			4096 + wg_below(c, (64u << 20) - 4096 + 1);
	for (i = 0; i < 8; i++)
		c->vlimit[i] = c->raw_window;
	if (c->kind == WG_VIOLATION && !wg_below(c, 4)) {
		wg_bad_preface(c);
		return;
	}
	wg_preface(c);
	steps = wg_below(c, 4) ? wg_below(c, 40) : wg_below(c, 400);
	for (i = 0; i < steps; i++)
		wg_valid_step(c);
	if (c->kind == WG_VIOLATION) {
		wg_violation(c);
		/* What follows an error is never looked at. */
		for (i = wg_below(c, 3); i; i--)
			wg_valid_step(c);
	} else if (c->kind == WG_MUTATED) {
		wg_mutate(c);
	}
}

#endif /* AFMUX_WIRE_GEN_H */
