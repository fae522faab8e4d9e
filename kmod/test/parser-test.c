// SPDX-License-Identifier: GPL-2.0
/*
 * parser-test.c - KUnit tests for parser.c, #included at its end.  A byte
 * stream of preface and frames is cut into skbs every way TCP may hand it
 * over (one linear skb, split at any byte, at offsets inside an skb,
 * random pieces, page frags, frag_list) and the parser must report the
 * same preface, frames and DATA bytes, each as soon as its bytes are in.
 * The helpers here serve parser-stop-test.c too, #included after it.
 */
#include <kunit/test.h>
#include <linux/afmux.h>
#include <linux/mm.h>
#include <linux/prandom.h>
#include <linux/slab.h>
#include <linux/string.h>

/* Filler around the bytes the parser is given: not a valid header. */
#define PT_GARBAGE	0xee
/* What a failing callback returns. */
#define PT_CB_ERR	(-ECANCELED)

/* A frame of a test stream; its payload is pt_byte(index, offset). */
struct pt_frame {
	u8 type;
	u8 flags;
	u32 stream;
	u32 len;
};

/* The many-sized stream, about 170 KB. */
static const struct pt_frame pt_full[] = {
	{ AFMUX_T_OPEN, 0, 1, 0 },
	{ AFMUX_T_OPEN, 0, 2, AFMUX_KEY_MAX },
	{ AFMUX_T_DATA, 0, 1, 1 },
	{ AFMUX_T_WINDOW, 0, AFMUX_STREAM_R | 1, AFMUX_WINDOW_LEN },
	{ AFMUX_T_DATA, 0, AFMUX_STREAM_R | 1, 100 * 1024 },
	{ AFMUX_T_PING, 0, 0, AFMUX_PING_LEN },
	{ AFMUX_T_DATA, 0, 2, AFMUX_DATA_SEND_MAX },
	{ AFMUX_T_PING, AFMUX_FLAG_ACK, 0, AFMUX_PING_LEN },
	{ AFMUX_T_DATA, 0, 2, AFMUX_HDR_LEN },
	{ AFMUX_T_END, 0, 1, 0 },
	{ AFMUX_T_RESET, 0, 2, AFMUX_RESET_LEN },
	{ AFMUX_T_DATA, 0, AFMUX_STREAM_R | 3, 4097 },
	{ AFMUX_T_OPEN, 0, 3, 5 },
	{ AFMUX_T_END, 0, 3, 0 },
	{ AFMUX_T_GOAWAY, 0, 0, AFMUX_GOAWAY_LEN },
	{ AFMUX_T_DATA, 0, AFMUX_STREAM_R | 1, 2 },
};

/* A stream short enough to cut at every byte, still with both keys. */
static const struct pt_frame pt_short[] = {
	{ AFMUX_T_OPEN, 0, 1, 0 },
	{ AFMUX_T_OPEN, 0, 2, AFMUX_KEY_MAX },
	{ AFMUX_T_DATA, 0, 1, 1 },
	{ AFMUX_T_OPEN, 0, 3, 0 },
	{ AFMUX_T_WINDOW, 0, AFMUX_STREAM_R | 1, AFMUX_WINDOW_LEN },
	{ AFMUX_T_DATA, 0, AFMUX_STREAM_R | 1, 100 },
	{ AFMUX_T_PING, 0, 0, AFMUX_PING_LEN },
	{ AFMUX_T_END, 0, 1, 0 },
	{ AFMUX_T_END, 0, 3, 0 },
	{ AFMUX_T_PING, AFMUX_FLAG_ACK, 0, AFMUX_PING_LEN },
	{ AFMUX_T_RESET, 0, 2, AFMUX_RESET_LEN },
	{ AFMUX_T_DATA, 0, 3, 3 },
	{ AFMUX_T_GOAWAY, 0, 0, AFMUX_GOAWAY_LEN },
	{ AFMUX_T_DATA, 0, AFMUX_STREAM_R | 1, 2 },
};

/* The frames a malformed header follows. */
static const struct pt_frame pt_before_bad[] = {
	{ AFMUX_T_OPEN, 0, 1, 3 },
	{ AFMUX_T_DATA, 0, 1, 100 },
	{ AFMUX_T_WINDOW, 0, AFMUX_STREAM_R | 1, AFMUX_WINDOW_LEN },
};

static const struct afmux_preface pt_pf = {
	.window = 0x00123456,
	.max_streams = 0x01020304,
};

/**
 * struct pt_stream - a test stream and what the parser must report
 * @frames: its frames
 * @nr: how many
 * @bytes: the wire bytes, preface first
 * @len: how many
 * @end: per frame, the stream offset after which its frame callback is
 *	due: the end of the header for DATA, of the payload for the others
 * @pay: per frame, the stream offset of its payload
 * @data: all DATA payload, in order
 * @data_len: how much
 */
struct pt_stream {
	const struct pt_frame *frames;
	unsigned int nr;
	u8 *bytes;
	size_t len;
	size_t *end;
	size_t *pay;
	u8 *data;
	size_t data_len;
};

static u8 pt_byte(unsigned int frame, u32 i)
{
	return frame * 31 + i * 7 + (i >> 8) + 1;
}

static void pt_build(struct kunit *test, struct pt_stream *s,
		     const struct pt_frame *frames, unsigned int nr)
{
	size_t pos = AFMUX_PREFACE_LEN, data = 0;
	unsigned int i;
	u32 j;

	s->frames = frames;
	s->nr = nr;
	s->len = AFMUX_PREFACE_LEN;
	s->data_len = 0;
	for (i = 0; i < nr; i++) {
		s->len += AFMUX_HDR_LEN + frames[i].len;
		if (frames[i].type == AFMUX_T_DATA)
			s->data_len += frames[i].len;
	}
	s->bytes = kunit_kmalloc(test, s->len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, s->bytes);
	s->data = kunit_kmalloc(test, s->data_len + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, s->data);
	s->end = kunit_kcalloc(test, nr, sizeof(*s->end), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, s->end);
	s->pay = kunit_kcalloc(test, nr, sizeof(*s->pay), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, s->pay);

	afmux_preface_encode(s->bytes, &pt_pf);
	for (i = 0; i < nr; i++) {
		struct afmux_hdr h = {
			.type = frames[i].type,
			.flags = frames[i].flags,
			.len = frames[i].len,
			.stream = frames[i].stream,
		};

		afmux_hdr_encode(s->bytes + pos, &h);
		pos += AFMUX_HDR_LEN;
		s->pay[i] = pos;
		for (j = 0; j < h.len; j++)
			s->bytes[pos + j] = pt_byte(i, j);
		if (h.type == AFMUX_T_DATA) {
			s->end[i] = pos;
			memcpy(s->data + data, s->bytes + pos, h.len);
			data += h.len;
		} else {
			s->end[i] = pos + h.len;
		}
		pos += h.len;
	}
}

/**
 * struct pt_rec - a fake consumer of the parser that checks as it goes
 * @parser: the parser under test
 * @s: the stream it is expected to report
 * @why: the first thing a callback found wrong, or empty
 * @prefaces: preface callbacks
 * @pf: what the last one reported
 * @hdrs: the headers of the frame callbacks, in order
 * @nr_frames: frame callbacks
 * @data: the bytes of the data callbacks, in order
 * @data_len: how many
 * @data_left: bytes still due in the current DATA frame
 * @calls: callbacks of any kind
 * @empty_data: data callbacks of 0 bytes during feeds of 0 bytes
 * @fail_at: number of the callback that fails with PT_CB_ERR
 * @pause: the preface and frame callbacks of non-DATA frames pause
 * @skb: the skb of the current afmux_parser_feed() call
 * @off: its offset
 * @len: its length
 */
struct pt_rec {
	struct afmux_parser parser;
	const struct pt_stream *s;
	char why[128];
	unsigned int prefaces;
	struct afmux_preface pf;
	struct afmux_hdr *hdrs;
	unsigned int nr_frames;
	u8 *data;
	size_t data_len;
	u32 data_left;
	unsigned int calls;
	unsigned int empty_data;
	unsigned int fail_at;
	bool pause;
	struct sk_buff *skb;
	unsigned int off;
	size_t len;
};

static __printf(2, 3) int pt_bad(struct pt_rec *rec, const char *fmt, ...)
{
	va_list args;

	if (!rec->why[0]) {
		va_start(args, fmt);
		vscnprintf(rec->why, sizeof(rec->why), fmt, args);
		va_end(args);
	}
	return 0;
}

static bool pt_fail_now(struct pt_rec *rec)
{
	return rec->calls++ == rec->fail_at;
}

static int pt_cb_preface(struct afmux_parser *p, const struct afmux_preface *pf)
{
	struct pt_rec *rec = container_of(p, struct pt_rec, parser);

	if (pt_fail_now(rec))
		return PT_CB_ERR;
	if (rec->prefaces++)
		return pt_bad(rec, "second preface");
	if (rec->nr_frames || rec->data_len)
		return pt_bad(rec, "preface after frames");
	rec->pf = *pf;
	return rec->pause ? AFMUX_PARSE_PAUSE : 0;
}

static int pt_cb_frame(struct afmux_parser *p, const struct afmux_hdr *h,
		       const u8 *payload)
{
	struct pt_rec *rec = container_of(p, struct pt_rec, parser);
	const struct pt_stream *s = rec->s;
	unsigned int i = rec->nr_frames;
	const struct pt_frame *f;

	if (pt_fail_now(rec))
		return PT_CB_ERR;
	if (!rec->prefaces)
		return pt_bad(rec, "frame %u before the preface", i);
	if (rec->data_left)
		return pt_bad(rec, "frame %u with %u DATA bytes due", i,
			      rec->data_left);
	if (i >= s->nr)
		return pt_bad(rec, "frame %u of %u", i, s->nr);
	f = &s->frames[i];
	rec->hdrs[rec->nr_frames++] = *h;
	if (h->type != f->type || h->flags != f->flags || h->len != f->len ||
	    h->stream != f->stream)
		return pt_bad(rec, "frame %u: type %u flags %#x len %u stream %#x",
			      i, h->type, h->flags, h->len, h->stream);
	if (h->type == AFMUX_T_DATA) {
		if (payload)
			return pt_bad(rec, "frame %u: DATA with a payload", i);
		rec->data_left = h->len;
		return 0;
	}
	if (h->len && !payload)
		return pt_bad(rec, "frame %u: no payload", i);
	if (h->len && memcmp(payload, s->bytes + s->pay[i], h->len))
		return pt_bad(rec, "frame %u: wrong payload", i);
	return rec->pause ? AFMUX_PARSE_PAUSE : 0;
}

static int pt_cb_data(struct afmux_parser *p, const struct afmux_hdr *h,
		      struct sk_buff *skb, unsigned int off, unsigned int len)
{
	struct pt_rec *rec = container_of(p, struct pt_rec, parser);
	const struct pt_stream *s = rec->s;
	const struct afmux_hdr *last;

	if (pt_fail_now(rec))
		return PT_CB_ERR;
	last = rec->nr_frames ? &rec->hdrs[rec->nr_frames - 1] : NULL;
	if (!last || h->type != AFMUX_T_DATA || h->type != last->type ||
	    h->len != last->len || h->stream != last->stream)
		return pt_bad(rec, "data for another header than frame %u",
			      rec->nr_frames);
	if (!len && !rec->len) {
		rec->empty_data++;
		return 0;
	}
	if (!len || len > rec->data_left)
		return pt_bad(rec, "data of %u bytes, %u due", len,
			      rec->data_left);
	if (skb != rec->skb || off < rec->off ||
	    off + len > rec->off + rec->len)
		return pt_bad(rec, "data [%u, +%u) outside [%u, +%zu)", off, len,
			      rec->off, rec->len);
	if (rec->data_len + len > s->data_len)
		return pt_bad(rec, "more data than %zu bytes", s->data_len);
	if (skb_copy_bits(skb, off, rec->data + rec->data_len, len))
		return pt_bad(rec, "data [%u, +%u) not in the skb", off, len);
	if (memcmp(rec->data + rec->data_len, s->data + rec->data_len, len))
		return pt_bad(rec, "wrong data at %zu", rec->data_len);
	rec->data_len += len;
	rec->data_left -= len;
	return 0;
}

static const struct afmux_parser_ops pt_ops = {
	.preface = pt_cb_preface,
	.frame = pt_cb_frame,
	.data = pt_cb_data,
};

static void pt_rec_reset(struct pt_rec *rec)
{
	afmux_parser_init(&rec->parser, &pt_ops, false);
	rec->why[0] = 0;
	rec->prefaces = 0;
	rec->nr_frames = 0;
	rec->data_len = 0;
	rec->data_left = 0;
	rec->calls = 0;
	rec->empty_data = 0;
	rec->fail_at = UINT_MAX;
	rec->pause = false;
}

static struct pt_rec *pt_rec_new(struct kunit *test, const struct pt_stream *s)
{
	struct pt_rec *rec;

	rec = kunit_kzalloc(test, sizeof(*rec), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, rec);
	rec->s = s;
	rec->hdrs = kunit_kcalloc(test, s->nr, sizeof(*rec->hdrs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, rec->hdrs);
	rec->data = kunit_kmalloc(test, s->data_len + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, rec->data);
	pt_rec_reset(rec);
	return rec;
}

static int pt_feed(struct pt_rec *rec, struct sk_buff *skb, unsigned int off,
		   size_t len)
{
	rec->skb = skb;
	rec->off = off;
	rec->len = len;
	return afmux_parser_feed(&rec->parser, skb, off, len);
}

/* How many frame callbacks and DATA bytes the first @fed bytes make due. */
static void pt_due(const struct pt_stream *s, size_t fed,
		   unsigned int *frames, size_t *data)
{
	unsigned int i;

	*frames = 0;
	*data = 0;
	for (i = 0; i < s->nr; i++) {
		*frames += s->end[i] <= fed;
		if (s->frames[i].type == AFMUX_T_DATA && fed > s->pay[i])
			*data += min_t(size_t, fed - s->pay[i], s->frames[i].len);
	}
}

/* pt_check() without the details, for use while an skb is held. */
static bool pt_ok(const struct pt_rec *rec, size_t fed)
{
	unsigned int frames;
	size_t data;

	pt_due(rec->s, fed, &frames, &data);
	return !rec->why[0] && rec->prefaces == (fed >= AFMUX_PREFACE_LEN) &&
	       rec->nr_frames == frames && rec->data_len == data;
}

/*
 * The parser has been given the first @fed bytes of the stream: it must
 * have reported the preface if it is in, every frame whose callback is
 * due, and every DATA byte, and nothing more.  Called with no skb held,
 * as it may end the test.
 */
static void pt_check(struct kunit *test, struct pt_rec *rec, size_t fed)
{
	unsigned int frames;
	size_t data;

	pt_due(rec->s, fed, &frames, &data);
	KUNIT_ASSERT_TRUE_MSG(test, !rec->why[0], "after %zu bytes: %s", fed,
			      rec->why);
	KUNIT_ASSERT_EQ_MSG(test, rec->prefaces, fed >= AFMUX_PREFACE_LEN,
			    "after %zu bytes", fed);
	if (rec->prefaces) {
		KUNIT_ASSERT_EQ(test, rec->pf.window, pt_pf.window);
		KUNIT_ASSERT_EQ(test, rec->pf.max_streams, pt_pf.max_streams);
	}
	KUNIT_ASSERT_EQ_MSG(test, rec->nr_frames, frames, "after %zu bytes",
			    fed);
	KUNIT_ASSERT_EQ_MSG(test, rec->data_len, data, "after %zu bytes", fed);
}

/* The whole stream has been fed: everything arrived, nothing is due. */
static void pt_check_all(struct kunit *test, struct pt_rec *rec)
{
	const struct pt_stream *s = rec->s;
	unsigned int i;

	pt_check(test, rec, s->len);
	KUNIT_EXPECT_EQ(test, rec->data_left, 0U);
	KUNIT_EXPECT_EQ(test, memcmp(rec->data, s->data, s->data_len), 0);
	for (i = 0; i < s->nr; i++) {
		KUNIT_EXPECT_EQ(test, rec->hdrs[i].type, s->frames[i].type);
		KUNIT_EXPECT_EQ(test, rec->hdrs[i].len, s->frames[i].len);
		KUNIT_EXPECT_EQ(test, rec->hdrs[i].stream, s->frames[i].stream);
	}
}

/* A linear skb holding @len bytes of @src after @head bytes of garbage. */
static struct sk_buff *pt_skb(const u8 *src, size_t len, unsigned int head,
			      unsigned int tail)
{
	struct sk_buff *skb;

	skb = alloc_skb(head + len + tail, GFP_KERNEL);
	if (!skb)
		return NULL;
	memset(skb_put(skb, head), PT_GARBAGE, head);
	skb_put_data(skb, src, len);
	memset(skb_put(skb, tail), PT_GARBAGE, tail);
	return skb;
}

/* Feed @len bytes of @src in an skb of their own, between garbage. */
static int pt_feed_copy(struct pt_rec *rec, const u8 *src, size_t len,
			unsigned int head, unsigned int tail)
{
	struct sk_buff *skb = pt_skb(src, len, head, tail);
	int ret;

	if (!skb)
		return -ENOMEM;
	ret = pt_feed(rec, skb, head, len);
	kfree_skb(skb);
	return ret;
}

static void pt_setup(struct kunit *test, struct pt_stream *s,
		     struct pt_rec **rec, const struct pt_frame *frames,
		     unsigned int nr)
{
	pt_build(test, s, frames, nr);
	*rec = pt_rec_new(test, s);
}

/* The whole stream in one linear skb, in one call. */
static void afmux_parser_test_linear(struct kunit *test)
{
	struct pt_stream s;
	struct pt_rec *rec;

	pt_setup(test, &s, &rec, pt_full, ARRAY_SIZE(pt_full));
	KUNIT_ASSERT_EQ(test, pt_feed_copy(rec, s.bytes, s.len, 0, 0),
			(int)s.len);
	pt_check_all(test, rec);
}

/*
 * Split into two skbs at every byte: the first part's frames arrive at
 * once, the 1024-byte and the empty key arrive whole.
 */
static void afmux_parser_test_split_two(struct kunit *test)
{
	struct pt_stream s;
	struct pt_rec *rec;
	size_t i;

	pt_setup(test, &s, &rec, pt_short, ARRAY_SIZE(pt_short));
	for (i = 1; i < s.len; i++) {
		pt_rec_reset(rec);
		KUNIT_ASSERT_EQ(test, pt_feed_copy(rec, s.bytes, i, 0, 0),
				(int)i);
		pt_check(test, rec, i);
		KUNIT_ASSERT_EQ(test, pt_feed_copy(rec, s.bytes + i, s.len - i,
						   0, 0), (int)(s.len - i));
		pt_check_all(test, rec);
	}
}

/* One byte per call, at increasing offsets inside one skb. */
static void afmux_parser_test_byte_at_a_time(struct kunit *test)
{
	struct pt_stream s;
	struct pt_rec *rec;
	struct sk_buff *skb;
	size_t i;
	int ret = 0;

	pt_setup(test, &s, &rec, pt_short, ARRAY_SIZE(pt_short));
	skb = pt_skb(s.bytes, s.len, 3, 5);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, skb);
	for (i = 0; i < s.len; i++) {
		ret = pt_feed(rec, skb, 3 + i, 1);
		if (ret != 1 || !pt_ok(rec, i + 1))
			break;
	}
	kfree_skb(skb);
	KUNIT_ASSERT_EQ_MSG(test, ret, 1, "at byte %zu", i);
	if (i < s.len)
		pt_check(test, rec, i + 1);
	pt_check_all(test, rec);
}

/*
 * Chunks of sizes around the preface, header and key lengths, fed as
 * (skb, off, len) ranges of one skb that has garbage on both sides.
 */
static void afmux_parser_test_offsets(struct kunit *test)
{
	static const unsigned int sizes[] = {
		1, 11, 12, 13, 23, 24, 25, 1023, 1024, 1025, 1036, 4096,
		65535, 65536, 65537, 2, 100 * 1024, 3,
	};
	const unsigned int head = 1000;
	struct pt_stream s;
	struct pt_rec *rec;
	struct sk_buff *skb;
	unsigned int round;
	size_t pos = 0, n;
	int ret = 0;

	pt_setup(test, &s, &rec, pt_full, ARRAY_SIZE(pt_full));
	skb = pt_skb(s.bytes, s.len, head, 7);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, skb);
	for (round = 0; round < ARRAY_SIZE(sizes); round++) {
		unsigned int k = round;

		pt_rec_reset(rec);
		for (pos = 0; pos < s.len; pos += n) {
			n = min_t(size_t, sizes[k++ % ARRAY_SIZE(sizes)],
				  s.len - pos);
			ret = pt_feed(rec, skb, head + pos, n);
			if (ret != n || !pt_ok(rec, pos + n))
				break;
		}
		if (pos < s.len)
			break;
	}
	kfree_skb(skb);
	if (pos < s.len && ret == n)
		pt_check(test, rec, pos + n);
	KUNIT_ASSERT_EQ_MSG(test, pos, s.len, "round %u: %d", round, ret);
	pt_check_all(test, rec);
}

/* Random pieces (fixed seeds), each in an skb of its own. */
static void afmux_parser_test_random_splits(struct kunit *test)
{
	struct rnd_state rnd;
	struct pt_stream s;
	struct pt_rec *rec;
	unsigned int seed, pieces = 0;
	size_t pos, n;

	pt_setup(test, &s, &rec, pt_full, ARRAY_SIZE(pt_full));
	for (seed = 1; seed <= 16; seed++) {
		prandom_seed_state(&rnd, seed);
		pt_rec_reset(rec);
		for (pos = 0; pos < s.len; pos += n, pieces++) {
			u32 r = prandom_u32_state(&rnd);

			/* sizes spread evenly over the powers of two */
			n = 1 + prandom_u32_state(&rnd) % (1U << (r % 18));
			n = min(n, s.len - pos);
			KUNIT_ASSERT_EQ(test,
					pt_feed_copy(rec, s.bytes + pos, n,
						     (r >> 8) % 16, (r >> 12) % 16),
					(int)n);
			pt_check(test, rec, pos + n);
		}
		pt_check_all(test, rec);
	}
	kunit_info(test, "%u pieces\n", pieces);
}

/*
 * Add up to @len bytes of @src to @skb as page frags at random offsets in
 * fresh pages, as many as fit; return how many.
 */
static size_t pt_add_frags(struct sk_buff *skb, const u8 *src, size_t len,
			   struct rnd_state *rnd)
{
	size_t done = 0;
	int i;

	for (i = skb_shinfo(skb)->nr_frags; i < MAX_SKB_FRAGS && done < len;
	     i++) {
		unsigned int poff = prandom_u32_state(rnd) % (PAGE_SIZE / 2);
		size_t size = 1 + prandom_u32_state(rnd) % (PAGE_SIZE - poff);
		struct page *page = alloc_page(GFP_KERNEL);

		if (!page)
			break;
		size = min(size, len - done);
		memset(page_address(page), PT_GARBAGE, PAGE_SIZE);
		memcpy(page_address(page) + poff, src + done, size);
		skb_fill_page_desc(skb, i, page, poff, size);
		skb->len += size;
		skb->data_len += size;
		skb->truesize += PAGE_SIZE;
		done += size;
	}
	return done;
}

/*
 * An skb with up to 63 bytes of @src in its head and the rest of what fits
 * in page frags; @used says how much of @src it holds.
 */
static struct sk_buff *pt_skb_frags(const u8 *src, size_t len,
				    struct rnd_state *rnd, size_t *used)
{
	size_t head = min_t(size_t, prandom_u32_state(rnd) % 64, len);
	struct sk_buff *skb = pt_skb(src, head, 0, 0);

	if (skb)
		*used = head + pt_add_frags(skb, src + head, len - head, rnd);
	return skb;
}

/*
 * Feed @skb, which holds the stream's bytes from @pos on, as a few ranges
 * cut at random; free it.  Return the stream offset reached.
 */
static size_t pt_feed_ranges(struct pt_rec *rec, struct sk_buff *skb,
			     size_t pos, struct rnd_state *rnd)
{
	unsigned int off = 0, n;
	int ret;

	while (off < skb->len) {
		n = 1 + prandom_u32_state(rnd) % skb->len;
		n = min(n, skb->len - off);
		ret = pt_feed(rec, skb, off, n);
		if (ret != n || rec->why[0])
			break;
		off += n;
	}
	kfree_skb(skb);
	return pos + off;
}

/* Nonlinear skbs: a small head and the rest in page frags. */
static void afmux_parser_test_page_frags(struct kunit *test)
{
	struct rnd_state rnd;
	struct pt_stream s;
	struct pt_rec *rec;
	struct sk_buff *skb;
	unsigned int seed;
	size_t pos, used, end;

	pt_setup(test, &s, &rec, pt_full, ARRAY_SIZE(pt_full));
	for (seed = 1; seed <= 4; seed++) {
		prandom_seed_state(&rnd, seed);
		pt_rec_reset(rec);
		for (pos = 0; pos < s.len; pos = end) {
			skb = pt_skb_frags(s.bytes + pos, s.len - pos, &rnd,
					   &used);
			KUNIT_ASSERT_NOT_ERR_OR_NULL(test, skb);
			KUNIT_EXPECT_EQ(test, skb_is_nonlinear(skb),
					used > skb_headlen(skb));
			end = pt_feed_ranges(rec, skb, pos, &rnd);
			KUNIT_ASSERT_GT(test, used, 0);
			KUNIT_ASSERT_EQ(test, end, pos + used);
			pt_check(test, rec, end);
		}
		pt_check_all(test, rec);
	}
}

/*
 * Append @child to @skb's frag_list, as GRO does; @last is the list's
 * tail so far, or NULL.
 */
static void pt_chain(struct sk_buff *skb, struct sk_buff **last,
		     struct sk_buff *child)
{
	if (*last)
		(*last)->next = child;
	else
		skb_shinfo(skb)->frag_list = child;
	*last = child;
	skb->len += child->len;
	skb->data_len += child->len;
	skb->truesize += child->truesize;
}

/*
 * An skb from pt_skb_frags() with a frag_list of up to three more: paged,
 * linear, paged.  @used says how much of @src it holds.
 */
static struct sk_buff *pt_skb_frag_list(const u8 *src, size_t len,
					struct rnd_state *rnd, size_t *used)
{
	struct sk_buff *skb, *child, *last = NULL;
	size_t n;
	int k;

	skb = pt_skb_frags(src, len, rnd, used);
	for (k = 0; skb && k < 3 && *used < len; k++) {
		if (k == 1) {
			n = 1 + prandom_u32_state(rnd) % 2000;
			n = min(n, len - *used);
			child = pt_skb(src + *used, n, 0, 0);
		} else {
			child = pt_skb_frags(src + *used, len - *used, rnd, &n);
		}
		if (!child) {
			kfree_skb(skb);
			return NULL;
		}
		pt_chain(skb, &last, child);
		*used += n;
	}
	return skb;
}

/* skbs with a frag_list of paged and linear skbs. */
static void afmux_parser_test_frag_list(struct kunit *test)
{
	struct rnd_state rnd;
	struct pt_stream s;
	struct pt_rec *rec;
	struct sk_buff *skb;
	unsigned int seed, lists = 0;
	size_t pos, used, end;

	pt_setup(test, &s, &rec, pt_full, ARRAY_SIZE(pt_full));
	for (seed = 1; seed <= 4; seed++) {
		prandom_seed_state(&rnd, seed);
		pt_rec_reset(rec);
		for (pos = 0; pos < s.len; pos = end) {
			skb = pt_skb_frag_list(s.bytes + pos, s.len - pos, &rnd,
					       &used);
			KUNIT_ASSERT_NOT_ERR_OR_NULL(test, skb);
			KUNIT_EXPECT_EQ(test, skb->len, used);
			lists += skb_has_frag_list(skb);
			end = pt_feed_ranges(rec, skb, pos, &rnd);
			KUNIT_ASSERT_GT(test, used, 0);
			KUNIT_ASSERT_EQ(test, end, pos + used);
			pt_check(test, rec, end);
		}
		pt_check_all(test, rec);
	}
	KUNIT_EXPECT_GT(test, lists, 4U);
}

/*
 * Feeding no bytes, at every position, returns 0, takes nothing and
 * reports nothing: no preface, no frame, no 0-byte ->data call.
 */
static void afmux_parser_test_zero_len_feed(struct kunit *test)
{
	unsigned int calls = 0, empty = 0;
	struct pt_stream s;
	struct pt_rec *rec;
	struct sk_buff *skb;
	size_t i;
	int ret = 0;

	pt_setup(test, &s, &rec, pt_short, ARRAY_SIZE(pt_short));
	skb = pt_skb(s.bytes, s.len, 0, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, skb);
	for (i = 0; i < s.len; i++) {
		calls = rec->calls;
		empty = rec->empty_data;
		ret = pt_feed(rec, skb, i, 0);
		if (ret || rec->calls - calls != rec->empty_data - empty)
			break;
		ret = pt_feed(rec, skb, i, 1);
		if (ret != 1)
			break;
	}
	kfree_skb(skb);
	KUNIT_ASSERT_EQ_MSG(test, i, s.len, "at byte %zu: %d, %u calls", i, ret,
			    rec->calls - calls);
	pt_check_all(test, rec);
	KUNIT_EXPECT_EQ(test, rec->empty_data, 0U);
}

static struct kunit_case afmux_parser_test_cases[] = {
	KUNIT_CASE(afmux_parser_test_linear),
	KUNIT_CASE(afmux_parser_test_split_two),
	KUNIT_CASE(afmux_parser_test_byte_at_a_time),
	KUNIT_CASE(afmux_parser_test_offsets),
	KUNIT_CASE(afmux_parser_test_random_splits),
	KUNIT_CASE(afmux_parser_test_page_frags),
	KUNIT_CASE(afmux_parser_test_frag_list),
	KUNIT_CASE(afmux_parser_test_zero_len_feed),
	{}
};

static struct kunit_suite afmux_parser_test_suite = {
	.name = "afmux_parser",
	.test_cases = afmux_parser_test_cases,
};

kunit_test_suite(afmux_parser_test_suite);
