// SPDX-License-Identifier: GPL-2.0
/*
 * codec.c - libFuzzer target for the module's codec: kmod/frame.c and
 * kmod/parser.c, compiled for the host against a thin shim of the kernel
 * types (tools/fuzz/shim), under ASan and UBSan.
 *
 * Input: 4 bytes that seed how the rest is cut and where callbacks
 * pause or fail, then the byte stream a peer sends.  Oracles:
 * - differential: the stream fed whole, and fed in random pieces with
 *   callbacks pausing the parse at random frames, give the same events
 *   (preface, every frame with its payload, every DATA byte) and the same
 *   error at the same point;
 * - a callback failing at event K stops the parse for good, with its
 *   error, in both feeds;
 * - every header the parser accepts re-encodes to the same 12 bytes, and
 *   every accepted preface to the same 24 (a join preface - the seed
 *   says whether one is expected - to the same 48); DATA ranges stay
 *   inside the
 *   piece fed and inside the frame; a paused feed returns fewer bytes
 *   than it was given, never 0.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kmod/parser.h"

/* The codec itself, as the module builds it. */
#include "../../kmod/frame.c"
#include "../../kmod/parser.c"

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "codec fuzz: %s:%d: %s\n", __FILE__,	\
			__LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* What one feed saw, as a byte log that two feeds can compare. */
struct rec {
	struct afmux_parser p;
	u8 *log;
	size_t len, cap;
	unsigned int events;	/* preface and frame callbacks */
	unsigned int fail_at;	/* the event whose callback fails */
	bool fail_in_data;	/* ... in its first data callback (DATA) */
	bool fail_data;		/* the current DATA frame's data fails */
	u32 rng;		/* pauses: 0 for none */
	const struct sk_buff *skb;	/* the piece being fed */
	unsigned int off, piece_len;
	u32 data_left;
};

static u32 rng_next(u32 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void log_put(struct rec *r, const void *b, size_t n)
{
	if (r->len + n > r->cap) {
		r->cap = (r->len + n) * 2 + 64;
		r->log = realloc(r->log, r->cap);
		CHECK(r->log);
	}
	memcpy(r->log + r->len, b, n);
	r->len += n;
}

/*
 * 0, the injected failure, or (now and then) a pause.  For DATA the
 * failure may wait for the frame's first data callback instead: the same
 * point in both feeds, however the payload is cut.
 */
static int verdict(struct rec *r, bool data_hdr)
{
	if (r->events++ == r->fail_at) {
		if (!data_hdr || !r->fail_in_data)
			return -ECANCELED;
		r->fail_data = true;
	}
	if (r->rng && !(rng_next(&r->rng) % 3))
		return AFMUX_PARSE_PAUSE;
	return 0;
}

static int cb_preface(struct afmux_parser *p, const struct afmux_preface *pf)
{
	struct rec *r = (struct rec *)p;
	u8 buf[AFMUX_JOIN_PREFACE_LEN], again[AFMUX_JOIN_PREFACE_LEN];
	struct afmux_preface back;
	unsigned int len;

	/* The preface the parser gathered re-encodes to itself. */
	CHECK(pf->join == p->join);
	len = afmux_preface_encode(buf, pf);
	CHECK(afmux_preface_decode(buf, pf->join, &back) == 0);
	CHECK(back.window == pf->window && back.max_streams == pf->max_streams);
	CHECK(afmux_preface_encode(again, &back) == len);
	CHECK(!memcmp(buf, again, len));
	log_put(r, "P", 1);
	log_put(r, buf, len);
	return verdict(r, false);
}

static int cb_frame(struct afmux_parser *p, const struct afmux_hdr *h,
		    const u8 *payload)
{
	struct rec *r = (struct rec *)p;
	u8 buf[AFMUX_HDR_LEN];
	struct afmux_hdr back;

	afmux_hdr_encode(buf, h);
	CHECK(afmux_hdr_decode(buf, &back) == 0);
	CHECK(back.type == h->type && back.flags == h->flags &&
	      back.len == h->len && back.stream == h->stream);
	CHECK(r->data_left == 0);	/* no frame inside a DATA frame */
	log_put(r, "F", 1);
	log_put(r, buf, sizeof(buf));
	if (h->type == AFMUX_T_DATA) {
		CHECK(!payload);
		r->data_left = h->len;
		return verdict(r, true);
	}
	CHECK(h->len <= AFMUX_CTL_MAX);
	CHECK(payload || !h->len);
	if (h->len)
		log_put(r, payload, h->len);
	return verdict(r, false);
}

static int cb_data(struct afmux_parser *p, const struct afmux_hdr *h,
		   struct sk_buff *skb, unsigned int off, unsigned int len)
{
	struct rec *r = (struct rec *)p;
	u8 tmp[4096];

	CHECK(h->type == AFMUX_T_DATA);
	CHECK(skb == r->skb);
	CHECK(len > 0 && len <= r->data_left);
	CHECK(off >= r->off && off + len <= r->off + r->piece_len);
	if (r->fail_data)
		return -ECANCELED;	/* logs nothing: cut-independent */
	r->data_left -= len;
	/* Bytes only, no marker: the log must not depend on the cuts. */
	while (len) {
		unsigned int n = len < sizeof(tmp) ? len : sizeof(tmp);

		CHECK(skb_copy_bits(skb, off, tmp, n) == 0);
		log_put(r, tmp, n);
		off += n;
		len -= n;
	}
	return 0;
}

static const struct afmux_parser_ops ops = {
	.preface = cb_preface,
	.frame = cb_frame,
	.data = cb_data,
};

static void rec_init(struct rec *r, unsigned int fail_at, bool in_data,
		     u32 rng, bool join)
{
	memset(r, 0, sizeof(*r));
	afmux_parser_init(&r->p, &ops, join);
	r->fail_at = fail_at;
	r->fail_in_data = in_data;
	r->rng = rng;
}

/* Feed [off, off + len) of @skb until used up or failed; the error. */
static int feed(struct rec *r, const struct sk_buff *skb, unsigned int off,
		unsigned int len)
{
	while (len) {
		int used;

		r->skb = skb;
		r->off = off;
		r->piece_len = len;
		used = afmux_parser_feed(&r->p, (struct sk_buff *)skb, off, len);
		if (used < 0) {
			/* Failed for good: again the same error. */
			CHECK(afmux_parser_feed(&r->p, (struct sk_buff *)skb,
						off, len) == used);
			return used;
		}
		CHECK(used > 0 && (unsigned int)used <= len);
		off += used;
		len -= used;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_buff skb;
	struct rec whole, cut;
	unsigned int fail_at, off = 0;
	struct afmux_hdr h;
	struct afmux_preface pf;
	int err_whole, err_cut = 0;
	bool join;
	u32 seed;

	if (size < 4)
		return 0;
	seed = (u32)data[0] << 24 | data[1] << 16 | data[2] << 8 | data[3];
	data += 4;
	size -= 4;
	if (size > (1 << 20))
		return 0;
	join = seed & 0x20;	/* a join preface expected (§12.3) */

	/* Accepted headers and prefaces are canonical. */
	if (size >= AFMUX_HDR_LEN && !afmux_hdr_decode(data, &h)) {
		u8 buf[AFMUX_HDR_LEN];

		afmux_hdr_encode(buf, &h);
		CHECK(!memcmp(buf, data, sizeof(buf)));
	}
	if (size >= AFMUX_PREFACE_LEN &&
	    size >= afmux_preface_len(data, join) &&
	    !afmux_preface_decode(data, join, &pf)) {
		u8 buf[AFMUX_JOIN_PREFACE_LEN];
		unsigned int len = afmux_preface_encode(buf, &pf);

		CHECK(len == afmux_preface_len(data, join));
		CHECK(!memcmp(buf, data, len));
	}

	skb.data = data;
	skb.len = size;
	/* A failing callback at event K (or none) in both feeds. */
	fail_at = seed & 0x80 ? (seed >> 8) % 64 : ~0u;

	rec_init(&whole, fail_at, seed & 0x40, 0, join);
	err_whole = feed(&whole, &skb, 0, size);

	rec_init(&cut, fail_at, seed & 0x40, seed | 1, join);
	while (off < size && !err_cut) {
		unsigned int n = 1 + rng_next(&seed) % 97;

		if (rng_next(&seed) % 8 == 0)
			n = 1 + rng_next(&seed) % 70000;
		if (n > size - off)
			n = size - off;
		err_cut = feed(&cut, &skb, off, n);
		off += n;
	}
	CHECK(err_whole == err_cut);
	if (!err_whole)
		CHECK(whole.data_left == cut.data_left);
	CHECK(whole.len == cut.len);
	CHECK(!whole.len || !memcmp(whole.log, cut.log, whole.len));
	if (err_whole == -ECANCELED)
		CHECK(whole.events == fail_at + 1);
	free(whole.log);
	free(cut.log);
	return 0;
}
