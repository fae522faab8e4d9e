// SPDX-License-Identifier: GPL-2.0
/*
 * pool-test.c - KUnit tests of version 2's wire format (docs/protocol.md
 * §12), #included at the end of parser.c: the exact bytes of HELLO, POOL
 * and the join preface, every check of §12.3's table that the bytes alone
 * show, and the parser reading a join preface cut at every byte.
 */
#include <kunit/test.h>

static const struct afmux_pool_id pool_test_id = {
	.id = 0x0102030405060708ull,
	.token = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
		   0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf },
};

/* A join preface: window 0x10000, 100 streams, pool_test_id. */
static const u8 pool_test_join[AFMUX_JOIN_PREFACE_LEN] = {
	0x41, 0x46, 0x4d, 0x55, 0x58, 0x0d, 0x0a, 0x00,
	0x00, 0x02, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
	0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
};

/* The same settings in a version 1 preface. */
static const u8 pool_test_v1[AFMUX_PREFACE_LEN] = {
	0x41, 0x46, 0x4d, 0x55, 0x58, 0x0d, 0x0a, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00,
};

static void afmux_pool_test_join_round_trip(struct kunit *test)
{
	struct afmux_preface pf = {
		.window = 0x10000, .max_streams = 100, .join = true,
		.pool = pool_test_id,
	};
	struct afmux_preface out = { };
	u8 buf[AFMUX_JOIN_PREFACE_LEN + 1];

	memset(buf, 0xa5, sizeof(buf));
	KUNIT_EXPECT_EQ(test, afmux_preface_encode(buf, &pf),
			AFMUX_JOIN_PREFACE_LEN);
	KUNIT_EXPECT_EQ(test, memcmp(buf, pool_test_join, sizeof(pool_test_join)),
			0);
	KUNIT_EXPECT_EQ(test, buf[AFMUX_JOIN_PREFACE_LEN], 0xa5);
	KUNIT_EXPECT_EQ(test, afmux_preface_len(buf, true),
			AFMUX_JOIN_PREFACE_LEN);
	KUNIT_EXPECT_EQ(test, afmux_preface_len(buf, false), AFMUX_PREFACE_LEN);
	KUNIT_EXPECT_EQ(test, afmux_preface_len(pool_test_v1, true),
			AFMUX_PREFACE_LEN);
	KUNIT_ASSERT_EQ(test, afmux_preface_decode(buf, true, &out), 0);
	KUNIT_EXPECT_TRUE(test, out.join);
	KUNIT_EXPECT_EQ(test, out.window, 0x10000);
	KUNIT_EXPECT_EQ(test, out.max_streams, 100);
	KUNIT_EXPECT_EQ(test, out.pool.id, pool_test_id.id);
	KUNIT_EXPECT_EQ(test, memcmp(out.pool.token, pool_test_id.token,
				     AFMUX_TOKEN_LEN), 0);

	/* Without join, the same settings give the v1 bytes. */
	pf.join = false;
	memset(buf, 0xa5, sizeof(buf));
	KUNIT_EXPECT_EQ(test, afmux_preface_encode(buf, &pf), AFMUX_PREFACE_LEN);
	KUNIT_EXPECT_EQ(test, memcmp(buf, pool_test_v1, sizeof(pool_test_v1)), 0);
	KUNIT_EXPECT_EQ(test, buf[AFMUX_PREFACE_LEN], 0xa5);
}

/* One change to pool_test_join (or its v1 twin) and the verdict. */
struct pool_test_pf {
	const char *name;
	bool v1;		/* start from pool_test_v1 */
	bool join;		/* a join preface is expected */
	unsigned int at;	/* change byte @at to @val (unless @at == 0) */
	u8 val;
	int err;
};

static const struct pool_test_pf pool_test_pfs[] = {
	{ "join where join expected", false, true, 0, 0, 0 },
	{ "v1 where v1 expected", true, false, 0, 0, 0 },
	{ "v1 where join expected", true, true, 0, 0, -ECONNREFUSED },
	{ "join where v1 expected", false, false, 0, 0, -EPROTONOSUPPORT },
	{ "join: version 3", false, true, 9, 3, -EPROTONOSUPPORT },
	{ "join: version 0", false, true, 9, 0, -EPROTONOSUPPORT },
	{ "join: flags 0", false, true, 11, 0, -EPROTO },
	{ "join: flags 3", false, true, 11, 3, -EPROTO },
	{ "join: flags 0x8001", false, true, 10, 0x80, -EPROTO },
	{ "join: reserved", false, true, 23, 1, -EPROTO },
	{ "join: window 0", false, true, 13, 0, -EPROTO },
	{ "join: window 64 MiB + 64 KiB", false, true, 12, 4, -EPROTO },
	{ "join: max streams 0", false, true, 19, 0, -EPROTO },
	{ "join: magic", false, true, 0 + 4, 'x', -EPROTO },
	{ "join: token (not the decoder's to judge)", false, true, 47, 0, 0 },
	{ "v1 expected: magic", true, false, 1, 'f', -EPROTO },
};

static void afmux_pool_test_pf_desc(const struct pool_test_pf *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(afmux_pool_test_pf, pool_test_pfs, afmux_pool_test_pf_desc);

static void afmux_pool_test_preface_check(struct kunit *test)
{
	const struct pool_test_pf *c = test->param_value;
	struct afmux_preface pf = { };
	u8 buf[AFMUX_JOIN_PREFACE_LEN];

	memcpy(buf, c->v1 ? pool_test_v1 : pool_test_join,
	       c->v1 ? AFMUX_PREFACE_LEN : AFMUX_JOIN_PREFACE_LEN);
	if (c->at)
		buf[c->at] = c->val;
	KUNIT_EXPECT_EQ(test, afmux_preface_decode(buf, c->join, &pf), c->err);
	if (!c->err)
		KUNIT_EXPECT_EQ(test, pf.join, c->join);
}

/* A join preface whose pool id is 0 is malformed. */
static void afmux_pool_test_id_zero(struct kunit *test)
{
	struct afmux_preface pf;
	struct afmux_pool_id id;
	u8 buf[AFMUX_JOIN_PREFACE_LEN];

	memcpy(buf, pool_test_join, sizeof(buf));
	memset(buf + AFMUX_PREFACE_LEN, 0, 8);
	KUNIT_EXPECT_EQ(test, afmux_preface_decode(buf, true, &pf), -EPROTO);
	KUNIT_EXPECT_EQ(test, afmux_pool_decode(buf + AFMUX_PREFACE_LEN, &id),
			-EPROTO);
	KUNIT_EXPECT_EQ(test, afmux_pool_decode(pool_test_join +
						AFMUX_PREFACE_LEN, &id), 0);
	KUNIT_EXPECT_EQ(test, id.id, pool_test_id.id);
}

/* POOL's header: type 7, 24 bytes, stream 0, no flags (§12.2). */
static void afmux_pool_test_pool_header(struct kunit *test)
{
	static const struct {
		int err;
		u8 bad;
		u8 wire[AFMUX_HDR_LEN];
	} rows[] = {
		{ 0, 0, { 0x07, 0x00, 0x00, 0x00, 0, 0, 0, 24, 0, 0, 0, 0 } },
		{ -EPROTO, AFMUX_BAD_LENGTH,
		  { 0x07, 0x00, 0x00, 0x00, 0, 0, 0, 23, 0, 0, 0, 0 } },
		{ -EPROTO, AFMUX_BAD_LENGTH,
		  { 0x07, 0x00, 0x00, 0x00, 0, 0, 0, 25, 0, 0, 0, 0 } },
		{ -EPROTO, AFMUX_BAD_STREAM,
		  { 0x07, 0x00, 0x00, 0x00, 0, 0, 0, 24, 0, 0, 0, 1 } },
		{ -EPROTO, AFMUX_BAD_FLAGS,
		  { 0x07, 0x01, 0x00, 0x00, 0, 0, 0, 24, 0, 0, 0, 0 } },
	};
	struct afmux_pool_id id;
	struct afmux_hdr h;
	u8 payload[AFMUX_POOL_LEN];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		KUNIT_EXPECT_EQ_MSG(test, afmux_hdr_decode(rows[i].wire, &h),
				    rows[i].err, "row %u", i);
		if (rows[i].err)
			KUNIT_EXPECT_EQ_MSG(test, h.bad, rows[i].bad, "row %u", i);
	}
	afmux_pool_encode(payload, &pool_test_id);
	KUNIT_EXPECT_EQ(test, memcmp(payload, pool_test_join + AFMUX_PREFACE_LEN,
				     AFMUX_POOL_LEN), 0);
	KUNIT_EXPECT_EQ(test, afmux_pool_decode(payload, &id), 0);
	KUNIT_EXPECT_EQ(test, memcmp(&id, &pool_test_id, sizeof(id)), 0);
}

/* HELLO: exactly "AFMUX\0\0\2" in a PING without ACK (§12.1). */
static void afmux_pool_test_hello(struct kunit *test)
{
	static const u8 wire[AFMUX_PING_LEN] = {
		0x41, 0x46, 0x4d, 0x55, 0x58, 0x00, 0x00, 0x02
	};
	struct afmux_hdr ping = { .type = AFMUX_T_PING, .len = AFMUX_PING_LEN };
	struct afmux_hdr ack = ping;
	u8 p[AFMUX_PING_LEN];
	unsigned int i;

	ack.flags = AFMUX_FLAG_ACK;
	KUNIT_EXPECT_EQ(test, memcmp(afmux_hello, wire, sizeof(wire)), 0);
	KUNIT_EXPECT_TRUE(test, afmux_is_hello(&ping, wire));
	KUNIT_EXPECT_FALSE(test, afmux_is_hello(&ack, wire));
	for (i = 0; i < AFMUX_PING_LEN; i++) {
		memcpy(p, wire, sizeof(p));
		p[i] ^= 1;
		KUNIT_EXPECT_FALSE_MSG(test, afmux_is_hello(&ping, p),
				       "byte %u", i);
	}
}

/* What the parser reported, for the tests below. */
struct pool_test_rec {
	struct afmux_parser parser;
	unsigned int prefaces;
	unsigned int frames;
	struct afmux_preface pf;
	struct afmux_hdr hdr;
	u8 payload[AFMUX_POOL_LEN];
};

static int pool_test_cb_preface(struct afmux_parser *p,
				const struct afmux_preface *pf)
{
	struct pool_test_rec *r = container_of(p, struct pool_test_rec, parser);

	r->prefaces++;
	r->pf = *pf;
	return 0;
}

static int pool_test_cb_frame(struct afmux_parser *p,
			      const struct afmux_hdr *h, const u8 *payload)
{
	struct pool_test_rec *r = container_of(p, struct pool_test_rec, parser);

	r->frames++;
	r->hdr = *h;
	if (payload && h->len <= sizeof(r->payload))
		memcpy(r->payload, payload, h->len);
	return 0;
}

static int pool_test_cb_data(struct afmux_parser *p, const struct afmux_hdr *h,
			     struct sk_buff *skb, unsigned int off,
			     unsigned int len)
{
	return -EINVAL;		/* no DATA in these streams */
}

static const struct afmux_parser_ops pool_test_ops = {
	.preface = pool_test_cb_preface,
	.frame = pool_test_cb_frame,
	.data = pool_test_cb_data,
};

/*
 * A join preface and a POOL frame, cut into two pieces at every byte:
 * the preface is reported once all 48 bytes are in, never after 24.
 */
static void afmux_pool_test_parse_join(struct kunit *test)
{
	const unsigned int len = AFMUX_JOIN_PREFACE_LEN + AFMUX_HDR_LEN +
				 AFMUX_POOL_LEN;
	struct pool_test_rec *r;
	struct afmux_hdr h = {
		.type = AFMUX_T_POOL, .len = AFMUX_POOL_LEN, .stream = 0,
	};
	struct sk_buff *skb;
	unsigned int cut;
	u8 *b;

	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, r);
	skb = alloc_skb(len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, skb);
	b = skb_put(skb, len);
	memcpy(b, pool_test_join, AFMUX_JOIN_PREFACE_LEN);
	afmux_hdr_encode(b + AFMUX_JOIN_PREFACE_LEN, &h);
	afmux_pool_encode(b + AFMUX_JOIN_PREFACE_LEN + AFMUX_HDR_LEN,
			  &pool_test_id);

	for (cut = 1; cut < len; cut++) {
		memset(r, 0, sizeof(*r));
		afmux_parser_init(&r->parser, &pool_test_ops, true);
		KUNIT_EXPECT_EQ(test, afmux_parser_feed(&r->parser, skb, 0, cut),
				(int)cut);
		KUNIT_EXPECT_EQ_MSG(test, r->prefaces,
				    cut >= AFMUX_JOIN_PREFACE_LEN ? 1u : 0u,
				    "cut %u", cut);
		KUNIT_EXPECT_EQ(test, afmux_parser_feed(&r->parser, skb, cut,
							len - cut),
				(int)(len - cut));
		KUNIT_EXPECT_EQ_MSG(test, r->prefaces, 1u, "cut %u", cut);
		KUNIT_EXPECT_EQ_MSG(test, r->frames, 1u, "cut %u", cut);
		KUNIT_EXPECT_TRUE(test, r->pf.join);
		KUNIT_EXPECT_EQ(test, r->pf.pool.id, pool_test_id.id);
		KUNIT_EXPECT_EQ(test, r->hdr.type, AFMUX_T_POOL);
		KUNIT_EXPECT_EQ(test, memcmp(r->payload,
					     b + AFMUX_JOIN_PREFACE_LEN +
					     AFMUX_HDR_LEN, AFMUX_POOL_LEN), 0);
	}
	kfree_skb(skb);
}

/*
 * The wrong kind of preface fails as soon as its first 24 bytes are in,
 * with the row §12.3 gives it.
 */
static void afmux_pool_test_parse_wrong_kind(struct kunit *test)
{
	static const struct {
		const u8 *bytes;
		bool join;
		int err;
		u8 bad;
	} rows[] = {
		{ pool_test_v1, true, -ECONNREFUSED, AFMUX_BAD_JOIN },
		{ pool_test_join, false, -EPROTONOSUPPORT, AFMUX_BAD_VERSION },
	};
	struct pool_test_rec *r;
	struct sk_buff *skb;
	unsigned int i;

	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, r);
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		skb = alloc_skb(AFMUX_PREFACE_LEN, GFP_KERNEL);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, skb);
		skb_put_data(skb, rows[i].bytes, AFMUX_PREFACE_LEN);
		memset(r, 0, sizeof(*r));
		afmux_parser_init(&r->parser, &pool_test_ops, rows[i].join);
		KUNIT_EXPECT_EQ_MSG(test, afmux_parser_feed(&r->parser, skb, 0,
							    AFMUX_PREFACE_LEN),
				    rows[i].err, "row %u", i);
		KUNIT_EXPECT_EQ_MSG(test, r->parser.bad, rows[i].bad, "row %u", i);
		KUNIT_EXPECT_EQ(test, r->prefaces, 0u);
		kfree_skb(skb);
	}
}

static struct kunit_case afmux_pool_test_cases[] = {
	KUNIT_CASE(afmux_pool_test_join_round_trip),
	KUNIT_CASE_PARAM(afmux_pool_test_preface_check,
			 afmux_pool_test_pf_gen_params),
	KUNIT_CASE(afmux_pool_test_id_zero),
	KUNIT_CASE(afmux_pool_test_pool_header),
	KUNIT_CASE(afmux_pool_test_hello),
	KUNIT_CASE(afmux_pool_test_parse_join),
	KUNIT_CASE(afmux_pool_test_parse_wrong_kind),
	{}
};

static struct kunit_suite afmux_pool_test_suite = {
	.name = "afmux_pool_wire",
	.test_cases = afmux_pool_test_cases,
};

kunit_test_suite(afmux_pool_test_suite);
