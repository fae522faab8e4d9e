// SPDX-License-Identifier: GPL-2.0
/*
 * state-test.c - KUnit tests for the stream state rules of state.h: every
 * legal step of a stream's life in both directions passes them, and each
 * illegal change the design's table names is refused.  #included at the
 * end of stream.c.
 */
#include <kunit/test.h>

#include "../state.h"

#define S(b)	BIT(AFMUX_ST_##b)

struct afmux_state_test_step {
	const char *name;
	unsigned long flags;
	unsigned int bit;
	bool legal;
};

static const struct afmux_state_test_step afmux_state_test_steps[] = {
	/* our stream: open, send, end, the peer's END, finish */
	{ "open: into the table", S(LOCAL), AFMUX_ST_IN_TABLE, true },
	{ "open: OPEN wanted", S(LOCAL) | S(IN_TABLE),
	  AFMUX_ST_OPEN_WANTED, true },
	{ "grant while receiving", S(LOCAL) | S(IN_TABLE),
	  AFMUX_ST_WINDOW_WANTED, true },
	{ "grant again before the pump ran",
	  S(LOCAL) | S(IN_TABLE) | S(WINDOW_WANTED),
	  AFMUX_ST_WINDOW_WANTED, true },
	{ "shutdown(SHUT_WR)", S(LOCAL) | S(IN_TABLE), AFMUX_ST_END_WANTED,
	  true },
	{ "close after shutdown", S(LOCAL) | S(IN_TABLE) | S(END_WANTED),
	  AFMUX_ST_END_WANTED, true },
	{ "END sent", S(LOCAL) | S(IN_TABLE), AFMUX_ST_END_SENT, true },
	{ "the peer's END", S(LOCAL) | S(IN_TABLE) | S(END_SENT),
	  AFMUX_ST_PEER_END, true },
	{ "RESET after our END", S(LOCAL) | S(IN_TABLE) | S(END_SENT),
	  AFMUX_ST_RESET_WANTED, true },
	/* the peer's stream: queued, accepted, closed as an orphan */
	{ "peer's open: into the table", 0, AFMUX_ST_IN_TABLE, true },
	{ "peer's open: acceptable", S(IN_TABLE), AFMUX_ST_ACCEPTABLE, true },
	{ "complete, out of the table, requeued", S(PEER_END) | S(END_SENT),
	  AFMUX_ST_ACCEPTABLE, true },
	{ "refused at mux close", S(IN_TABLE) | S(CLOSED),
	  AFMUX_ST_RESET_WANTED, true },
	{ "closed, waiting", S(IN_TABLE) | S(CLOSED), AFMUX_ST_ORPHAN, true },
	{ "the peer's RESET, purge", S(IN_TABLE) | S(PURGE),
	  AFMUX_ST_PURGE, true },
	{ "the peer's RESET after its END", S(IN_TABLE) | S(PEER_END),
	  AFMUX_ST_PEER_RESET, true },
	{ "window set twice", S(IN_TABLE) | S(WINDOW_SET),
	  AFMUX_ST_WINDOW_SET, true },
	{ "on the pump's list", S(IN_TABLE), AFMUX_ST_ON_TX, true },

	/* illegal: what the table forbids */
	{ "into the table twice", S(IN_TABLE), AFMUX_ST_IN_TABLE, false },
	{ "back into the table after finish", S(END_SENT) | S(PEER_END),
	  AFMUX_ST_IN_TABLE, false },
	{ "OPEN for the peer's stream", S(IN_TABLE), AFMUX_ST_OPEN_WANTED,
	  false },
	{ "OPEN after RESET", S(LOCAL) | S(IN_TABLE) | S(RESET_SENT),
	  AFMUX_ST_OPEN_WANTED, false },
	{ "our stream acceptable", S(LOCAL) | S(IN_TABLE),
	  AFMUX_ST_ACCEPTABLE, false },
	{ "acceptable twice", S(IN_TABLE) | S(ACCEPTABLE),
	  AFMUX_ST_ACCEPTABLE, false },
	{ "closed stream acceptable", S(IN_TABLE) | S(CLOSED),
	  AFMUX_ST_ACCEPTABLE, false },
	{ "reset and gone, requeued", S(PEER_RESET), AFMUX_ST_ACCEPTABLE,
	  false },
	{ "grant after the peer's END", S(IN_TABLE) | S(PEER_END),
	  AFMUX_ST_WINDOW_WANTED, false },
	{ "grant out of the table", S(LOCAL), AFMUX_ST_WINDOW_WANTED, false },
	{ "END after END", S(LOCAL) | S(IN_TABLE) | S(END_SENT),
	  AFMUX_ST_END_WANTED, false },
	{ "END after RESET", S(IN_TABLE) | S(RESET_SENT),
	  AFMUX_ST_END_SENT, false },
	{ "END sent twice", S(IN_TABLE) | S(END_SENT), AFMUX_ST_END_SENT,
	  false },
	{ "second RESET wanted", S(IN_TABLE) | S(RESET_WANTED),
	  AFMUX_ST_RESET_WANTED, false },
	{ "RESET after RESET sent", S(IN_TABLE) | S(RESET_SENT),
	  AFMUX_ST_RESET_WANTED, false },
	{ "RESET answering the peer's", S(IN_TABLE) | S(PEER_RESET),
	  AFMUX_ST_RESET_WANTED, false },
	{ "RESET out of the table", S(PEER_END), AFMUX_ST_RESET_WANTED,
	  false },
	{ "RESET sent twice", S(RESET_SENT), AFMUX_ST_RESET_SENT, false },
	{ "the peer's END twice", S(IN_TABLE) | S(PEER_END),
	  AFMUX_ST_PEER_END, false },
	{ "the peer's END after its RESET", S(PEER_RESET),
	  AFMUX_ST_PEER_END, false },
	{ "the peer's RESET twice", S(PEER_RESET), AFMUX_ST_PEER_RESET,
	  false },
	{ "closed twice", S(IN_TABLE) | S(CLOSED), AFMUX_ST_CLOSED, false },
	{ "orphan with its fd open", S(IN_TABLE), AFMUX_ST_ORPHAN, false },
	{ "orphan twice", S(IN_TABLE) | S(CLOSED) | S(ORPHAN),
	  AFMUX_ST_ORPHAN, false },
	{ "orphan out of the table", S(CLOSED), AFMUX_ST_ORPHAN, false },
	{ "on the pump's list out of the table", S(PEER_RESET),
	  AFMUX_ST_ON_TX, false },
	{ "LOCAL after birth", S(IN_TABLE), AFMUX_ST_LOCAL, false },
	{ "no such bit", 0, AFMUX_ST_NR_BITS, false },
};

static void afmux_state_test_step_desc(const struct afmux_state_test_step *c,
				       char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(afmux_state_test_step, afmux_state_test_steps,
		  afmux_state_test_step_desc);

static void afmux_state_test_set(struct kunit *test)
{
	const struct afmux_state_test_step *c = test->param_value;

	KUNIT_EXPECT_EQ(test, c->legal, afmux_st_may_set(c->flags, c->bit));
}

/* Set-once bits are never cleared; the transient ones may be. */
static void afmux_state_test_clear(struct kunit *test)
{
	static const unsigned int once[] = {
		AFMUX_ST_LOCAL, AFMUX_ST_END_SENT, AFMUX_ST_RESET_SENT,
		AFMUX_ST_PEER_END, AFMUX_ST_PEER_RESET, AFMUX_ST_CLOSED,
		AFMUX_ST_WINDOW_SET, AFMUX_ST_NR_BITS,
	};
	static const unsigned int transient[] = {
		AFMUX_ST_IN_TABLE, AFMUX_ST_ACCEPTABLE, AFMUX_ST_ON_TX,
		AFMUX_ST_OPEN_WANTED, AFMUX_ST_WINDOW_WANTED,
		AFMUX_ST_END_WANTED, AFMUX_ST_RESET_WANTED, AFMUX_ST_PURGE,
		AFMUX_ST_ORPHAN,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(once); i++)
		KUNIT_EXPECT_FALSE_MSG(test, afmux_st_may_clear(once[i]),
				       "bit %u", once[i]);
	for (i = 0; i < ARRAY_SIZE(transient); i++)
		KUNIT_EXPECT_TRUE_MSG(test, afmux_st_may_clear(transient[i]),
				      "bit %u", transient[i]);
}

/*
 * A whole life by the rules, in the order the code takes it: every step
 * must be legal from the flags the steps before it left.
 */
static void afmux_state_test_life(struct kunit *test)
{
	static const struct { unsigned int bit; bool set; } life[] = {
		{ AFMUX_ST_IN_TABLE, true }, { AFMUX_ST_ACCEPTABLE, true },
		{ AFMUX_ST_ACCEPTABLE, false }, { AFMUX_ST_WINDOW_SET, true },
		{ AFMUX_ST_WINDOW_WANTED, true }, { AFMUX_ST_ON_TX, true },
		{ AFMUX_ST_WINDOW_WANTED, false }, { AFMUX_ST_ON_TX, false },
		{ AFMUX_ST_END_WANTED, true }, { AFMUX_ST_END_WANTED, false },
		{ AFMUX_ST_END_SENT, true }, { AFMUX_ST_CLOSED, true },
		{ AFMUX_ST_ORPHAN, true }, { AFMUX_ST_PEER_END, true },
		{ AFMUX_ST_ORPHAN, false }, { AFMUX_ST_IN_TABLE, false },
	};
	unsigned long f = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(life); i++) {
		if (life[i].set) {
			bool ok = afmux_st_may_set(f, life[i].bit);

			KUNIT_EXPECT_TRUE_MSG(test, ok, "step %u: %#lx + bit %u",
					      i, f, life[i].bit);
			f |= BIT(life[i].bit);
		} else {
			KUNIT_EXPECT_TRUE(test, afmux_st_may_clear(life[i].bit));
			f &= ~BIT(life[i].bit);
		}
	}
	KUNIT_EXPECT_EQ(test, f, S(WINDOW_SET) | S(END_SENT) | S(CLOSED) |
			S(PEER_END));
}

#undef S

static struct kunit_case afmux_state_test_cases[] = {
	KUNIT_CASE_PARAM(afmux_state_test_set,
			 afmux_state_test_step_gen_params),
	KUNIT_CASE(afmux_state_test_clear),
	KUNIT_CASE(afmux_state_test_life),
	{}
};

static struct kunit_suite afmux_state_test_suite = {
	.name = "afmux_state",
	.test_cases = afmux_state_test_cases,
};

kunit_test_suite(afmux_state_test_suite);
