// SPDX-License-Identifier: GPL-2.0
/*
 * parser-stop-test.c - KUnit tests for parser.c, #included at its end
 * after parser-test.c, whose streams and helpers they use: malformed input
 * and a failing callback stop the parser for good (it reports what came
 * before, then the same error at every later feed without calling back),
 * and a callback's pause stops it where the next feed goes on.
 */
/*
 * Feed @n bytes of @bytes, in which the byte at @err_at completes a bad
 * preface or header, first in one call and then a byte per call: the
 * parser must report what came before (@fed bytes of rec->s), fail with
 * @err when it gets byte @err_at, and from then on fail the same way
 * without calling back.
 */
static void pt_run_malformed(struct kunit *test, struct pt_rec *rec,
			     const u8 *bytes, size_t n, size_t err_at,
			     size_t fed, int err)
{
	unsigned int calls = 0;
	struct sk_buff *skb;
	int ret[3];
	size_t i;

	skb = pt_skb(bytes, n, 0, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, skb);
	pt_rec_reset(rec);
	ret[0] = pt_feed(rec, skb, 0, n);
	calls = rec->calls;
	ret[1] = pt_feed(rec, skb, 0, n);
	ret[2] = pt_feed(rec, skb, n - 1, 1);
	kfree_skb(skb);
	KUNIT_EXPECT_EQ(test, ret[0], err);
	KUNIT_EXPECT_EQ(test, ret[1], err);
	KUNIT_EXPECT_EQ(test, ret[2], err);
	KUNIT_EXPECT_EQ(test, rec->calls, calls);
	pt_check(test, rec, fed);

	skb = pt_skb(bytes, n, 0, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, skb);
	pt_rec_reset(rec);
	for (i = 0; i < n; i++) {
		ret[0] = pt_feed(rec, skb, i, 1);
		if (ret[0] != (i < err_at ? 1 : err))
			break;
		if (i == err_at)
			calls = rec->calls;
		if (i > err_at && rec->calls != calls)
			break;
	}
	kfree_skb(skb);
	KUNIT_ASSERT_EQ_MSG(test, i, n, "byte %zu of %zu: %d, %u calls", i, n,
			    ret[0], rec->calls);
	pt_check(test, rec, fed);
}

/* Header bytes that §8 forbids, with the error expected. */
struct pt_bad_hdr {
	const char *name;
	int err;
	u8 wire[AFMUX_HDR_LEN];
};

static const struct pt_bad_hdr pt_bad_hdrs[] = {
	{ "type 8", -EPROTO,
	  { 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 } },
	{ "type 255", -EPROTO,
	  { 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00 } },
	{ "DATA flag 0x01", -EPROTO,
	  { 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01 } },
	{ "PING flag 0x02", -EPROTO,
	  { 0x05, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00 } },
	{ "reserved 0x0001", -EPROTO,
	  { 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01 } },
	{ "DATA len 0", -EPROTO,
	  { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 } },
	{ "DATA len 16 MiB + 1", -EPROTO,
	  { 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01 } },
	{ "OPEN len 1025", -EPROTO,
	  { 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00, 0x02 } },
	{ "OPEN with R", -EPROTO,
	  { 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x02 } },
	{ "END len 1", -EPROTO,
	  { 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01 } },
	{ "RESET len 3", -EPROTO,
	  { 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01 } },
	{ "WINDOW len 5", -EPROTO,
	  { 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01 } },
	{ "PING on stream 1", -EPROTO,
	  { 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01 } },
	{ "GOAWAY on stream 0x80000000", -EPROTO,
	  { 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x80, 0x00, 0x00, 0x00 } },
	{ "DATA on stream 0", -EPROTO,
	  { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00 } },
	{ "END on stream 0x80000000", -EPROTO,
	  { 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00 } },
};

static void pt_bad_hdr_desc(const struct pt_bad_hdr *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(pt_bad_hdr, pt_bad_hdrs, pt_bad_hdr_desc);

/* A malformed header after a few frames, then more valid bytes. */
static void afmux_parser_test_bad_header(struct kunit *test)
{
	const struct pt_bad_hdr *c = test->param_value;
	struct pt_stream s;
	struct pt_rec *rec;
	size_t n;
	u8 *bytes;

	pt_setup(test, &s, &rec, pt_before_bad, ARRAY_SIZE(pt_before_bad));
	/* the bad header, then the stream again from its first frame */
	n = 2 * s.len - AFMUX_PREFACE_LEN + AFMUX_HDR_LEN;
	bytes = kunit_kmalloc(test, n, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bytes);
	memcpy(bytes, s.bytes, s.len);
	memcpy(bytes + s.len, c->wire, AFMUX_HDR_LEN);
	memcpy(bytes + s.len + AFMUX_HDR_LEN, s.bytes + AFMUX_PREFACE_LEN,
	       s.len - AFMUX_PREFACE_LEN);
	pt_run_malformed(test, rec, bytes, n, s.len + AFMUX_HDR_LEN - 1, s.len,
			 c->err);
}

/* Prefaces that §2 forbids (the full table is in frame-test.c). */
struct pt_bad_pf {
	const char *name;
	int err;
	unsigned int at;	/* offset of the bad 16 or 32-bit field */
	u32 value;
	bool be16;
};

static const struct pt_bad_pf pt_bad_pfs[] = {
	{ "wrong magic", -EPROTO, 4, 0x580d0a01 },
	{ "version 0", -EPROTONOSUPPORT, 8, 0, true },
	{ "version 2", -EPROTONOSUPPORT, 8, 2, true },
	{ "flags 1", -EPROTO, 10, 1, true },
	{ "window 4095", -EPROTO, 12, AFMUX_WINDOW_MIN - 1 },
	{ "window 64 MiB + 1", -EPROTO, 12, AFMUX_WINDOW_MAX + 1 },
	{ "max_streams 0", -EPROTO, 16, 0 },
	{ "reserved 1", -EPROTO, 20, 1 },
};

static void pt_bad_pf_desc(const struct pt_bad_pf *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(pt_bad_pf, pt_bad_pfs, pt_bad_pf_desc);

/* A malformed preface followed by valid frames: nothing is reported. */
static void afmux_parser_test_bad_preface(struct kunit *test)
{
	const struct pt_bad_pf *c = test->param_value;
	struct pt_stream s;
	struct pt_rec *rec;
	u8 *bytes;

	pt_setup(test, &s, &rec, pt_short, ARRAY_SIZE(pt_short));
	bytes = kunit_kmalloc(test, s.len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bytes);
	memcpy(bytes, s.bytes, s.len);
	if (c->be16) {
		__be16 v = cpu_to_be16(c->value);

		memcpy(bytes + c->at, &v, sizeof(v));
	} else {
		__be32 v = cpu_to_be32(c->value);

		memcpy(bytes + c->at, &v, sizeof(v));
	}
	pt_run_malformed(test, rec, bytes, s.len, AFMUX_PREFACE_LEN - 1, 0,
			 c->err);
}

/*
 * The n-th callback fails, for every n: the feed returns its error, and
 * later feeds return it again without calling back.  Fed whole, and in
 * 7-byte pieces of one skb.
 */
static void afmux_parser_test_callback_error(struct kunit *test)
{
	unsigned int fail_at = 0, calls, step;
	struct pt_stream s;
	struct pt_rec *rec;
	struct sk_buff *skb;
	size_t pos = 0, n = 0;
	int ret = 0;

	pt_setup(test, &s, &rec, pt_short, ARRAY_SIZE(pt_short));
	skb = pt_skb(s.bytes, s.len, 0, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, skb);
	for (step = s.len; step; step = step == 7 ? 0 : 7) {
		for (fail_at = 0; ; fail_at++) {
			pt_rec_reset(rec);
			rec->fail_at = fail_at;
			for (pos = 0; pos < s.len; pos += n) {
				n = min_t(size_t, step, s.len - pos);
				ret = pt_feed(rec, skb, pos, n);
				if (ret != n)
					break;
			}
			if (ret == n || ret != PT_CB_ERR ||
			    rec->calls != fail_at + 1 || rec->why[0])
				break;
			calls = rec->calls;
			ret = pt_feed(rec, skb, pos, s.len - pos);
			if (ret != PT_CB_ERR || rec->calls != calls)
				break;
			ret = pt_feed(rec, skb, 0, s.len);
			if (ret != PT_CB_ERR || rec->calls != calls)
				break;
		}
		/* only the run without a failing callback may complete */
		if (ret != n || pos < s.len)
			break;
		KUNIT_EXPECT_EQ(test, rec->calls, fail_at);
	}
	kfree_skb(skb);
	KUNIT_ASSERT_EQ_MSG(test, step, 0U,
			    "step %u, callback %u: %d after %u calls%s%s",
			    step, fail_at, ret, rec->calls,
			    rec->why[0] ? ": " : "", rec->why);
	pt_check_all(test, rec);
}

/*
 * Callbacks that pause: each call stops right after the preface or a
 * control frame (the rx path's backpressure on replies), and the next
 * call on the rest of the same skb goes on from there.
 */
static void afmux_parser_test_pause(struct kunit *test)
{
	struct sk_buff *skb;
	struct pt_stream s;
	struct pt_rec *rec;
	size_t fed = 0, stop;
	unsigned int i = 0;
	int ret;

	pt_setup(test, &s, &rec, pt_full, ARRAY_SIZE(pt_full));
	rec->pause = true;
	skb = pt_skb(s.bytes, s.len, 0, 0);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	for (;;) {
		/* Where the next stop is due: the next control frame's end. */
		stop = fed ? s.len : AFMUX_PREFACE_LEN;
		for (; fed && i < s.nr; i++) {
			if (s.frames[i].type != AFMUX_T_DATA) {
				stop = s.end[i++];
				break;
			}
		}
		ret = pt_feed(rec, skb, fed, s.len - fed);
		if (ret <= 0 || fed + ret != stop || !pt_ok(rec, fed + ret))
			break;
		fed += ret;
		if (fed == s.len)
			break;
	}
	kfree_skb(skb);
	KUNIT_ASSERT_EQ_MSG(test, fed, s.len, "returned %d at %zu (stop due at %zu)",
			    ret, fed, stop);
	pt_check_all(test, rec);
}

static struct kunit_case afmux_parser_stop_test_cases[] = {
	KUNIT_CASE_PARAM(afmux_parser_test_bad_header,
			 pt_bad_hdr_gen_params),
	KUNIT_CASE_PARAM(afmux_parser_test_bad_preface,
			 pt_bad_pf_gen_params),
	KUNIT_CASE(afmux_parser_test_callback_error),
	KUNIT_CASE(afmux_parser_test_pause),
	{}
};

static struct kunit_suite afmux_parser_stop_test_suite = {
	.name = "afmux_parser_stop",
	.test_cases = afmux_parser_stop_test_cases,
};

kunit_test_suite(afmux_parser_stop_test_suite);
