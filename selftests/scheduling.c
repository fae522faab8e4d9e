// SPDX-License-Identifier: GPL-2.0
/*
 * scheduling.c - selftests for how the transmit pump shares one TCP
 * connection between streams: round robin, one DATA frame per stream per
 * turn, so a stream that queues much cannot make another wait for all of
 * it.  A raw TCP peer (docs/protocol.md wire format) reads the frames in
 * the order the mux wrote them.
 *
 * The mux's TCP socket gets a tiny send buffer and the raw peer reads
 * nothing until both streams have queued their data, so the data waits
 * in the streams, where the pump chooses the order.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"

#define PER_STREAM	(512 * 1024)	/* queued by each of the two */
#define FRAME_MAX	(64 * 1024)	/* what the mux puts in a frame */

/* Queue up to PER_STREAM bytes on non-blocking @fd: how many it took. */
static uint32_t queue_some(int fd)
{
	static char buf[PER_STREAM];
	uint32_t done = 0;
	ssize_t n;

	while (done < PER_STREAM &&
	       (n = write(fd, buf, PER_STREAM - done)) > 0)
		done += n;
	return done;
}

TEST(round_robin_between_streams)
{
	uint8_t pre[PREFACE_LEN], h[HEADER_LEN];
	static uint8_t payload[1 << 20];
	uint32_t id[2], left[2];
	int raw, c, fd[2], small = 4096, last = -1, runs = 0;
	int frames[2] = { 0, 0 }, repeats = 0;
	bool both = false;
	struct mux *m;

	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, tcp_pair(&c, &raw));
	ASSERT_EQ(0, setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small,
				sizeof(small)));
	m = mux_new(c);
	ASSERT_NE(NULL, m) TH_LOG("mux_new: %s", strerror(errno));
	close(c);
	/* Credit for everything: the order is the pump's alone. */
	ASSERT_EQ(PREFACE_LEN, write(raw, pre, put_preface(pre, 1 << 20, 16)));

	fd[0] = mux_open(m, "a", 1, O_NONBLOCK, &id[0]);
	fd[1] = mux_open(m, "b", 1, O_NONBLOCK, &id[1]);
	ASSERT_TRUE(fd[0] >= 0 && fd[1] >= 0) TH_LOG("%s", strerror(errno));
	left[0] = queue_some(fd[0]);
	left[1] = queue_some(fd[1]);
	/* Credit is plenty; each stream's send buffer holds >= 256 KiB. */
	ASSERT_GE(left[0], 4 * FRAME_MAX) TH_LOG("a took %u", left[0]);
	ASSERT_GE(left[1], 4 * FRAME_MAX) TH_LOG("b took %u", left[1]);

	ASSERT_EQ(PREFACE_LEN, read_full(raw, pre, sizeof(pre)));
	while (left[0] && left[1]) {
		uint32_t len, nr;
		int i;

		ASSERT_EQ(HEADER_LEN, read_full(raw, h, sizeof(h)));
		len = get_be32(h + 4);
		nr = get_be32(h + 8);
		ASSERT_LE(len, sizeof(payload));
		ASSERT_EQ((ssize_t)len, read_full(raw, payload, len));
		if (h[0] != FT_DATA)
			continue;
		ASSERT_TRUE(nr == id[0] || nr == id[1])
			TH_LOG("DATA for stream %u", nr);
		i = nr == id[1];
		ASSERT_LE(len, FRAME_MAX);
		ASSERT_LE(len, left[i]);
		left[i] -= len;
		frames[i]++;
		/* Once both have sent, no stream may send twice in a row. */
		if (frames[0] && frames[1]) {
			if (!both)
				both = true;
			else if (i == last)
				repeats++;
		}
		if (i != last)
			runs++;
		last = i;
	}
	TH_LOG("frames a %d, b %d; %d runs; %d repeats after both started",
	       frames[0], frames[1], runs, repeats);
	EXPECT_EQ(0, repeats)
		TH_LOG("a stream sent two frames in a row while the other had data queued");
	/* Most of each stream's data waited in the stream, not in TCP. */
	EXPECT_GE(runs, 8);
	close(fd[0]);
	close(fd[1]);
	close(raw);
	mux_close(m);
}

TEST_HARNESS_MAIN
