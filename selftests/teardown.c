// SPDX-License-Identifier: GPL-2.0
/*
 * teardown.c - whatever order the two ends close their mux sockets and
 * streams in, every connection is torn down: the TCP socket is let go
 * and every afmux socket freed, which the module's reference count
 * (/sys/module/afmux/refcnt back to 0) shows.
 *
 * Each variant is a script of steps: "as" A closes its stream, "aw" A
 * shuts its stream down for writing, "am" A closes its mux socket; "b.."
 * the same for B.  Before the script, A opens a stream, B accepts it and
 * both have read everything the other sent (so a close is an END, not a
 * RESET) - except in the "unread" variants, where B sends bytes A never
 * reads (so A's close is a RESET).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"

static int xfer(int from, int to, size_t len)
{
	char buf[4096];
	size_t done = 0;

	memset(buf, 'x', sizeof(buf));
	while (done < len) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		ssize_t w = write(from, buf, n);

		if (w <= 0)
			return -1;
		for (ssize_t got = 0; got < w;) {
			ssize_t r = read(to, buf, w - got);

			if (r <= 0)
				return -1;
			got += r;
		}
		done += w;
	}
	return 0;
}

FIXTURE(td) {
	struct mux *a, *b;
	int s, t;	/* A's stream and B's end of it */
};

FIXTURE_VARIANT(td) {
	const char *steps;
	int unread;	/* bytes B sends that A never reads */
};

FIXTURE_VARIANT_ADD(td, streams_then_muxes) { "as bs am bm" };
FIXTURE_VARIANT_ADD(td, muxes_then_streams) { "am bm as bs" };
FIXTURE_VARIANT_ADD(td, a_all_then_b_all) { "am as bm bs" };
FIXTURE_VARIANT_ADD(td, b_mux_first) { "bm aw am as bs" };
FIXTURE_VARIANT_ADD(td, half_closes_first) { "aw bw bm am bs as" };
FIXTURE_VARIANT_ADD(td, b_stream_last) { "as am bm bs" };
FIXTURE_VARIANT_ADD(td, unread_reset_then_muxes) { "as am bm bs", 100 };
FIXTURE_VARIANT_ADD(td, muxes_then_unread_reset) { "bm am as bs", 100 };

FIXTURE_SETUP(td)
{
	char key[8];
	int c, a;

	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(afmux_wait_refcnt_zero(), 0) TH_LOG("afmux sockets left by others");
	ASSERT_EQ(tcp_pair(&c, &a), 0);
	self->a = mux_new(c);
	self->b = mux_new(a);
	ASSERT_NE(self->a, NULL);
	ASSERT_NE(self->b, NULL);
	/* The muxes hold the only references to the TCP sockets now. */
	close(c);
	close(a);
	self->s = mux_send(self->a, "k");
	ASSERT_GE(self->s, 0);
	self->t = mux_receive(self->b, key, sizeof(key));
	ASSERT_GE(self->t, 0);
	ASSERT_EQ(xfer(self->s, self->t, 10000), 0);
	ASSERT_EQ(xfer(self->t, self->s, 10000), 0);
	if (variant->unread) {
		char buf[256] = { 0 };

		ASSERT_EQ(write(self->t, buf, variant->unread), variant->unread);
	}
}

FIXTURE_TEARDOWN(td)
{
}

TEST_F(td, every_order_lets_go)
{
	const char *p = variant->steps;

	while (*p) {
		struct mux **m = p[0] == 'a' ? &self->a : &self->b;
		int *fd = p[0] == 'a' ? &self->s : &self->t;

		switch (p[1]) {
		case 's':
			if (variant->unread && p[0] == 'a') {
				char c;

				/* Make sure the unread bytes are queued. */
				ASSERT_EQ(recv(*fd, &c, 1, MSG_WAITALL), 1);
			}
			EXPECT_EQ(close(*fd), 0);
			break;
		case 'w':
			EXPECT_EQ(shutdown(*fd, SHUT_WR), 0);
			break;
		case 'm':
			EXPECT_EQ(mux_close(*m), 0);
			*m = NULL;
			break;
		}
		p += p[2] ? 3 : 2;
	}
	EXPECT_EQ(afmux_wait_refcnt_zero(), 0)
		TH_LOG("steps \"%s\": connections or sockets left behind",
		       variant->steps);
}

TEST_HARNESS_MAIN
