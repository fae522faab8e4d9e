// SPDX-License-Identifier: GPL-2.0
/*
 * window-test.c - KUnit tests for the credit arithmetic of window.h
 * (docs/protocol.md §5): tables around the u32 wrap and the limits, and a
 * simulated stream whose counters cross the wrap.  #included at the end of
 * frame.c, after frame-test.c.
 */
#include <kunit/test.h>
#include <linux/prandom.h>

#include "../window.h"

#define WT_MIB		(1024 * 1024)

/* afmux_credit(limit, sent) */
struct afmux_window_test_credit {
	const char *name;
	u32 limit;
	u32 sent;
	u32 credit;
};

static const struct afmux_window_test_credit afmux_window_test_credits[] = {
	{ "fresh stream", AFMUX_WINDOW_DEFAULT, 0, AFMUX_WINDOW_DEFAULT },
	{ "partly spent", 4096, 1000, 3096 },
	{ "one byte left", 4096, 4095, 1 },
	{ "spent", 4096, 4096, 0 },
	{ "limit 0, nothing sent", 0, 0, 0 },
	{ "limit one behind sent", 4096, 4097, 0 },
	{ "limit far behind sent", 0x10, 0x7ffffff0, 0 },
	{ "max window", AFMUX_WINDOW_MAX, 0, AFMUX_WINDOW_MAX },
	{ "across the wrap", 0x10, 0xfffffff0, 0x20 },
	{ "limit just past the wrap", 0, 0xffffffff, 1 },
	{ "sent just past the wrap", 0x1000, 0x10, 0xff0 },
	{ "spent across the wrap", 0x10, 0x10, 0 },
	{ "limit behind sent across the wrap", 0xfffffff0, 0x10, 0 },
	{ "largest positive difference", 0x7fffffff, 0, 0x7fffffff },
	{ "difference 2^31 reads as negative", 0x80000000, 0, 0 },
};

static void afmux_window_test_credit_desc(const struct afmux_window_test_credit *c,
					  char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(afmux_window_test_credit, afmux_window_test_credits,
		  afmux_window_test_credit_desc);

static void afmux_window_test_credit(struct kunit *test)
{
	const struct afmux_window_test_credit *c = test->param_value;

	KUNIT_EXPECT_EQ(test, afmux_credit(c->limit, c->sent), c->credit);
}

/* afmux_window_fits(limit, recvd, len) */
struct afmux_window_test_fits {
	const char *name;
	u32 limit;
	u32 recvd;
	u32 len;
	bool fits;
};

static const struct afmux_window_test_fits afmux_window_test_fitss[] = {
	{ "1 byte, fresh stream", 4096, 0, 1, true },
	{ "whole window", 4096, 0, 4096, true },
	{ "window + 1", 4096, 0, 4097, false },
	{ "last byte", 4096, 4095, 1, true },
	{ "1 byte over", 4096, 4095, 2, false },
	{ "spent window", 4096, 4096, 1, false },
	{ "empty at the limit", 4096, 4096, 0, true },
	{ "largest DATA in the largest window", AFMUX_WINDOW_MAX, 0,
	  AFMUX_DATA_RECV_MAX, true },
	{ "largest DATA, 1 byte short", AFMUX_DATA_RECV_MAX - 1, 0,
	  AFMUX_DATA_RECV_MAX, false },
	{ "len 0xffffffff", AFMUX_WINDOW_MAX, 0, 0xffffffff, false },
	{ "across the wrap, exact", 0x10, 0xfffffff0, 0x20, true },
	{ "across the wrap, 1 over", 0x10, 0xfffffff0, 0x21, false },
	{ "recvd past the limit", 4096, 4097, 0, false },
	{ "recvd past the limit across the wrap", 0xfffffff0, 0x10, 1, false },
	{ "len wraps the limit", 0x10, 0xfffffff0, 0xffffffff, false },
};

static void afmux_window_test_fits_desc(const struct afmux_window_test_fits *c,
					char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(afmux_window_test_fits, afmux_window_test_fitss,
		  afmux_window_test_fits_desc);

static void afmux_window_test_fits(struct kunit *test)
{
	const struct afmux_window_test_fits *c = test->param_value;

	KUNIT_EXPECT_EQ(test, afmux_window_fits(c->limit, c->recvd, c->len),
			c->fits);
}

/* afmux_window_update_ok(old, new, sent) */
struct afmux_window_test_update {
	const char *name;
	u32 old;
	u32 new;
	u32 sent;
	bool ok;
};

static const struct afmux_window_test_update afmux_window_test_updates[] = {
	{ "same limit", 4096, 4096, 0, true },
	{ "same limit, window spent", 4096, 4096, 4096, true },
	{ "forward", 4096, 8192, 1000, true },
	{ "back by 1", 8192, 8191, 0, false },
	{ "back by a window", 8192, 4096, 0, false },
	{ "exactly max window ahead of sent", 4096, AFMUX_WINDOW_MAX, 0, true },
	{ "max window + 1 ahead of sent", 4096, AFMUX_WINDOW_MAX + 1, 0, false },
	{ "max window ahead of sent, sent > 0", 8192,
	  4096 + AFMUX_WINDOW_MAX, 4096, true },
	{ "max window + 1 ahead of sent, sent > 0", 8192,
	  4096 + AFMUX_WINDOW_MAX + 1, 4096, false },
	{ "forward across the wrap", 0xfffffff0, 0x10, 0xffffff00, true },
	{ "back across the wrap", 0x10, 0xfffffff0, 0, false },
	{ "max window ahead across the wrap", 0xfffffff0,
	  0xfffffff0 + AFMUX_WINDOW_MAX, 0xfffffff0, true },
	{ "max window + 1 ahead across the wrap", 0xfffffff0,
	  0xfffffff0 + AFMUX_WINDOW_MAX + 1, 0xfffffff0, false },
	{ "2^31 - 1 ahead", 0, 0x7fffffff, 0, false },
	{ "2^31 ahead", 0, 0x80000000, 0, false },
	/* ahead of old by less than 2^31, more than 2^31 ahead of sent */
	{ "2^31 - 1 ahead of a max window", AFMUX_WINDOW_MAX,
	  AFMUX_WINDOW_MAX + 0x7fffffffU, 0, false },
	{ "2^31 - 1 ahead of the initial window", 4096, 4096 + 0x7fffffffU, 0,
	  false },
};

static void afmux_window_test_update_desc(const struct afmux_window_test_update *c,
					  char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(afmux_window_test_update, afmux_window_test_updates,
		  afmux_window_test_update_desc);

static void afmux_window_test_update_ok(struct kunit *test)
{
	const struct afmux_window_test_update *c = test->param_value;

	KUNIT_EXPECT_EQ(test, afmux_window_update_ok(c->old, c->new, c->sent),
			c->ok);
}

/* afmux_window_next(granted, consumed, window) */
struct afmux_window_test_next {
	const char *name;
	u32 granted;
	u32 consumed;
	u32 window;
	u32 next;
};

#define WT_W	AFMUX_WINDOW_DEFAULT
#define WT_H	(AFMUX_WINDOW_DEFAULT / 2)

static const struct afmux_window_test_next afmux_window_test_nexts[] = {
	{ "nothing consumed", WT_W, 0, WT_W, WT_W },
	{ "1 byte consumed", WT_W, 1, WT_W, WT_W },
	{ "half - 1 consumed", WT_W, WT_H - 1, WT_W, WT_W },
	{ "half consumed", WT_W, WT_H, WT_W, WT_W + WT_H },
	{ "half + 1 consumed", WT_W, WT_H + 1, WT_W, WT_W + WT_H + 1 },
	{ "whole window consumed", WT_W, WT_W, WT_W, 2 * WT_W },
	{ "after a grant, half - 1 more", WT_W + WT_H, 2 * WT_H - 1, WT_W,
	  WT_W + WT_H },
	{ "after a grant, half more", WT_W + WT_H, 2 * WT_H, WT_W,
	  WT_W + 2 * WT_H },
	{ "min window, half - 1", 4096, 2047, 4096, 4096 },
	{ "min window, half", 4096, 2048, 4096, 6144 },
	{ "odd window, below", 4099, 2048, 4099, 4099 },
	{ "odd window, at", 4099, 2049, 4099, 6148 },
	{ "max window, half - 1", AFMUX_WINDOW_MAX, 32 * WT_MIB - 1,
	  AFMUX_WINDOW_MAX, AFMUX_WINDOW_MAX },
	{ "max window, half", AFMUX_WINDOW_MAX, 32 * WT_MIB,
	  AFMUX_WINDOW_MAX, 96 * WT_MIB },
	{ "below half across the wrap", 0xfffffff0, 0xfffffff0 - 4096 + 2047,
	  4096, 0xfffffff0 },
	{ "half across the wrap", 0xfffffff0, 0xfffffff0 - 4096 + 2048,
	  4096, 0x7f0 },
	{ "consumed before the wrap, below half", 0x400, 0xfffffbff, 4096,
	  0x400 },
	{ "consumed before the wrap, half", 0x400, 0xfffffc00, 4096, 0xc00 },
	{ "grown window", 4096, 0, WT_W, WT_W },
	{ "grown window, still below half", 4096, 0, 5000, 4096 },
	{ "shrunk window, limit stays", WT_W, 100000, 4096, WT_W },
	{ "shrunk window, nothing consumed", WT_W, 0, 4096, WT_W },
	{ "shrunk window, half - 1 past the limit", WT_W,
	  WT_W - 4096 + 2047, 4096, WT_W },
	{ "shrunk window, half past the limit", WT_W, WT_W - 4096 + 2048,
	  4096, WT_W + 2048 },
};

static void afmux_window_test_next_desc(const struct afmux_window_test_next *c,
					char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(afmux_window_test_next, afmux_window_test_nexts,
		  afmux_window_test_next_desc);

static void afmux_window_test_next(struct kunit *test)
{
	const struct afmux_window_test_next *c = test->param_value;

	KUNIT_EXPECT_EQ(test, afmux_window_next(c->granted, c->consumed,
						c->window), c->next);
}

/* A window that changes half way through a simulated stream. */
struct afmux_window_test_sim {
	const char *name;
	u32 window;
	u32 window2;
};

static const struct afmux_window_test_sim afmux_window_test_sims[] = {
	{ "min window", AFMUX_WINDOW_MIN, AFMUX_WINDOW_MIN },
	{ "default window", AFMUX_WINDOW_DEFAULT, AFMUX_WINDOW_DEFAULT },
	{ "max window", AFMUX_WINDOW_MAX, AFMUX_WINDOW_MAX },
	{ "odd window", 10001, 10001 },
	{ "shrinking window", AFMUX_WINDOW_DEFAULT, AFMUX_WINDOW_MIN },
	{ "growing window", AFMUX_WINDOW_MIN, AFMUX_WINDOW_DEFAULT },
};

static void afmux_window_test_sim_desc(const struct afmux_window_test_sim *c,
				       char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(afmux_window_test_sim, afmux_window_test_sims,
		  afmux_window_test_sim_desc);

/*
 * One direction of a stream, with every counter starting 1 MiB below the
 * wrap (the arithmetic only sees differences).  The sender sends what its
 * credit allows in DATA of up to 64 KiB, the receiver checks it against
 * what it granted, its reader consumes a random part of what is queued,
 * and the receiver grants more as afmux_window_next() says.  Every DATA
 * must fit, every WINDOW must be legal, the receiver never holds more than
 * its window unread, and a reader that has read everything never leaves
 * the sender without credit.
 */
static void afmux_window_test_stream(struct kunit *test)
{
	const struct afmux_window_test_sim *c = test->param_value;
	const u32 base = 0U - WT_MIB;
	const u32 most = max(c->window, c->window2);
	u32 sent = base, limit = base + c->window;		/* sender */
	u32 recvd = base, consumed = base, granted = limit;	/* receiver */
	struct rnd_state rnd;
	u64 total = 0;
	int i;

	prandom_seed_state(&rnd, 0xaf30c0de);
	for (i = 0; i < 4000; i++) {
		u32 window = i < 2000 ? c->window : c->window2;
		u32 len = afmux_credit(limit, sent);
		u32 next;

		len = min(len, 1 + prandom_u32_state(&rnd) % AFMUX_DATA_SEND_MAX);
		if (len) {
			KUNIT_ASSERT_TRUE(test,
					  afmux_window_fits(granted, recvd, len));
			sent += len;
			recvd += len;
			total += len;
		}
		KUNIT_ASSERT_LE(test, recvd - consumed, most);

		consumed += prandom_u32_state(&rnd) % (recvd - consumed + 1);
		next = afmux_window_next(granted, consumed, window);
		if (next != granted) {
			KUNIT_ASSERT_TRUE(test, afmux_window_update_ok(limit, next,
								       sent));
			KUNIT_ASSERT_GE(test, next - granted, window / 2);
			granted = next;
			limit = next;
		}
		if (consumed == recvd)
			KUNIT_ASSERT_GT(test, afmux_credit(limit, sent), 0U);
	}
	/* the counters crossed the wrap */
	KUNIT_EXPECT_GT(test, total, (u64)WT_MIB);
	KUNIT_EXPECT_LT(test, sent, base);
}

/* afmux_window_should_grow(bytes, window, elapsed, rtt) */
struct afmux_window_test_grow {
	const char *name;
	u32 bytes;
	u32 window;
	u64 elapsed_ns;
	u64 rtt_ns;
	bool grow;
};

#define WT_MS	NSEC_PER_MSEC

static const struct afmux_window_test_grow afmux_window_test_grows[] = {
	{ "half a window: not an epoch yet", 128 << 10, 256 << 10, 1, WT_MS, false },
	{ "just over half, fast", (128 << 10) + 1, 256 << 10, 1, WT_MS, true },
	{ "half+ in just under 2 RTT", (128 << 10) + 1, 256 << 10, 2 * WT_MS, WT_MS, true },
	{ "window in just over 4 RTT", 128 << 10, 128 << 10, 4 * WT_MS + 1, WT_MS, false },
	{ "whole window in 4 RTT - 1 ns", 256 << 10, 256 << 10, 4 * WT_MS - 1, WT_MS, true },
	{ "whole window in exactly 4 RTT", 256 << 10, 256 << 10, 4 * WT_MS, WT_MS, false },
	{ "slow reader on a long link", 200 << 10, 256 << 10, 2 * NSEC_PER_SEC, 50 * WT_MS, false },
	{ "fast reader on a long link", 200 << 10, 256 << 10, 60 * WT_MS, 50 * WT_MS, true },
	{ "zero window", 1000, 0, 0, WT_MS, false },
	{ "largest values do not overflow", AFMUX_WINDOW_MAX, AFMUX_WINDOW_MAX,
	  4 * NSEC_PER_SEC - 1, NSEC_PER_SEC, true },
	{ "largest values, too slow", AFMUX_WINDOW_MAX, AFMUX_WINDOW_MAX,
	  4 * NSEC_PER_SEC, NSEC_PER_SEC, false },
	/* elapsed * window is 2^64 here: it used to wrap to 0 and grow. */
	{ "2^38 ns (275 s) at 64 MiB does not wrap", AFMUX_WINDOW_MAX,
	  AFMUX_WINDOW_MAX, 1ULL << 38, WT_MS, false },
	{ "an hour at 64 MiB on a 1 s link", AFMUX_WINDOW_MAX,
	  AFMUX_WINDOW_MAX, 3600 * NSEC_PER_SEC, NSEC_PER_SEC, false },
	{ "largest count, largest rtt, fast", 0xffffffff, AFMUX_WINDOW_MAX,
	  NSEC_PER_SEC, NSEC_PER_SEC, true },
};

static void afmux_window_test_grow_desc(const struct afmux_window_test_grow *c,
					char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(afmux_window_test_grow, afmux_window_test_grows,
		  afmux_window_test_grow_desc);

static void afmux_window_test_grow(struct kunit *test)
{
	const struct afmux_window_test_grow *c = test->param_value;

	KUNIT_EXPECT_EQ(test, c->grow,
			afmux_window_should_grow(c->bytes, c->window,
						 c->elapsed_ns, c->rtt_ns));
}

static struct kunit_case afmux_window_test_cases[] = {
	KUNIT_CASE_PARAM(afmux_window_test_credit,
			 afmux_window_test_credit_gen_params),
	KUNIT_CASE_PARAM(afmux_window_test_fits,
			 afmux_window_test_fits_gen_params),
	KUNIT_CASE_PARAM(afmux_window_test_update_ok,
			 afmux_window_test_update_gen_params),
	KUNIT_CASE_PARAM(afmux_window_test_next,
			 afmux_window_test_next_gen_params),
	KUNIT_CASE_PARAM(afmux_window_test_stream,
			 afmux_window_test_sim_gen_params),
	KUNIT_CASE_PARAM(afmux_window_test_grow,
			 afmux_window_test_grow_gen_params),
	{}
};

static struct kunit_suite afmux_window_test_suite = {
	.name = "afmux_window",
	.test_cases = afmux_window_test_cases,
};

kunit_test_suite(afmux_window_test_suite);
