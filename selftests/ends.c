// SPDX-License-Identifier: GPL-2.0
/*
 * ends.c - a stream's reader gets every byte before the end: EOF after
 * the peer's END, or the connection's error, only once the bytes that
 * came before it are read (docs/protocol.md §8).
 *
 * A raw peer opens a stream; once the reader spins on non-blocking reads
 * of it, DATA and the end (END, or a frame that breaks the protocol)
 * come in one TCP segment.  Nagle holds that segment back until the
 * mux's delayed ACK of the OPEN comes, and it then goes out from that
 * softirq: the receive path often runs on the reader's CPU as the reader
 * leaves a bh-disabled section - between its look at its queue and its
 * look at the end.  A reader that judged the end on the stale look
 * returned EOF (or the error) with the bytes still queued.  The same for
 * accept: a stream that came whole before the connection's end is handed
 * out before the end is reported.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"

#define ENDS_BYTES	3000	/* one DATA frame, one segment with the end */
#define ENDS_ROUNDS	4000
#define ENDS_SECONDS	10	/* whichever comes first */
#define ENDS_WARM	12	/* streams before the error */

/* Read @fd with non-blocking reads, spinning, to EOF or an error. */
static ssize_t ends_spin_read(int fd, uint8_t *buf, size_t max, int *err)
{
	size_t got = 0;

	*err = 0;
	for (;;) {
		ssize_t n = recv(fd, buf + got, max - got, MSG_DONTWAIT);

		if (n > 0) {
			got += (size_t)n;
			if (got == max)
				return (ssize_t)got;
			continue;
		}
		if (!n)
			return (ssize_t)got;
		if (errno == EAGAIN || errno == EINTR)
			continue;
		*err = errno;
		return (ssize_t)got;
	}
}

/* The peer opens stream @nr; the stream's fd, accepted. */
static int ends_open(int raw, struct mux *m, uint32_t nr)
{
	uint8_t open[HEADER_LEN + 1];
	char key[16];
	size_t klen = sizeof(key);

	if (write_all(raw, open, put_frame(open, FT_OPEN, nr, "k", 1)))
		return -1;
	return mux_accept(m, key, &klen, 0, NULL);
}

/* Throw away what the mux sent the raw peer (WINDOW, END). */
static void ends_drain(int raw)
{
	uint8_t junk[4096];

	while (recv(raw, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
}

static uint8_t ends_byte(unsigned int round, size_t i)
{
	return (uint8_t)(round * 7 + i * 13);
}

/* The raw peer's DATA frame for stream @nr, then END or a bad frame. */
static size_t ends_frames(uint8_t *p, uint32_t nr, unsigned int round,
			  bool error)
{
	uint8_t data[ENDS_BYTES];
	size_t n, i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = ends_byte(round, i);
	n = put_frame(p, FT_DATA, nr, data, sizeof(data));
	if (error)	/* an unknown frame type: PROTOCOL_ERROR */
		return n + put_frame(p + n, 0x7f, 0, NULL, 0);
	return n + put_frame(p + n, FT_END, nr, NULL, 0);
}

/*
 * One round on stream @nr: the peer opens it, then sends ENDS_BYTES and
 * END (or, with @error, breaks the protocol) while the reader spins.
 * Returns 0 if the reader got every byte and then EOF (ECONNRESET).
 */
static int ends_round(struct __test_metadata *_metadata, int raw,
		      struct mux *m, uint32_t nr, unsigned int round,
		      bool error)
{
	static uint8_t frames[ENDS_BYTES + 2 * HEADER_LEN];
	const char *end = error ? "ECONNRESET" : "EOF";
	uint8_t buf[ENDS_BYTES + 1];
	ssize_t got;
	int fd, err;
	size_t i;

	fd = ends_open(raw, m, nr);
	EXPECT_GE(fd, 0) TH_LOG("accept: %s", strerror(errno));
	if (fd < 0)
		return -1;
	if (write_all(raw, frames, ends_frames(frames, nr, round, error))) {
		close(fd);
		return -1;
	}
	got = ends_spin_read(fd, buf, sizeof(buf), &err);
	close(fd);
	ends_drain(raw);
	EXPECT_EQ(err, error ? ECONNRESET : 0)
		TH_LOG("round %u: %s after %zd bytes, %s wanted", round,
		       strerror(err), got, end);
	EXPECT_EQ(got, ENDS_BYTES)
		TH_LOG("round %u: %s after %zd of %d bytes", round, end, got,
		       ENDS_BYTES);
	if (err != (error ? ECONNRESET : 0) || got != ENDS_BYTES)
		return -1;
	for (i = 0; i < ENDS_BYTES; i++)
		if (buf[i] != ends_byte(round, i)) {
			EXPECT_EQ(buf[i], ends_byte(round, i))
				TH_LOG("round %u: byte %zu changed", round, i);
			return -1;
		}
	return 0;
}

FIXTURE(ends) {
};

FIXTURE_SETUP(ends)
{
}

FIXTURE_TEARDOWN(ends)
{
}

/* One connection, a stream per round: EOF after all ENDS_BYTES. */
TEST_F_TIMEOUT(ends, eof_after_every_byte, 60)
{
	time_t until = time(NULL) + ENDS_SECONDS;
	unsigned int round;
	struct mux *m;
	int raw;

	m = raw_peer_new(&raw, 1 << 20);
	ASSERT_NE(m, NULL);
	for (round = 0; round < ENDS_ROUNDS && time(NULL) < until; round++)
		if (ends_round(_metadata, raw, m, round + 1, round, false))
			break;
	TH_LOG("%u rounds", round);
	close(raw);
	mux_close(m);
}

/*
 * A connection per round, warmed by ENDS_WARM streams (so that the mux
 * delays its ACKs), then a stream whose DATA comes with a frame that
 * ends the connection: the reader gets every byte, then ECONNRESET.
 */
TEST_F_TIMEOUT(ends, error_after_every_byte, 60)
{
	time_t until = time(NULL) + ENDS_SECONDS;
	unsigned int round, i;

	for (round = 0; round < ENDS_ROUNDS && time(NULL) < until; round++) {
		struct mux *m;
		int raw, bad = 0;

		m = raw_peer_new(&raw, 1 << 20);
		ASSERT_NE(m, NULL);
		for (i = 0; i < ENDS_WARM && !bad; i++)
			bad = ends_round(_metadata, raw, m, i + 1, i, false);
		if (!bad)
			bad = ends_round(_metadata, raw, m, i + 1, round, true);
		close(raw);
		mux_close(m);
		if (bad)
			break;
	}
	TH_LOG("%u connections", round);
}

/*
 * A connection per round, warmed as above; then, while the mux's accept
 * spins (non-blocking), a whole stream (OPEN, DATA, END) comes with a
 * frame that ends the connection.  accept hands the stream out, with
 * every byte and EOF, and only then reports the end (EPROTO).
 */
TEST_F_TIMEOUT(ends, accept_before_the_end, 60)
{
	static uint8_t frames[ENDS_BYTES + 4 * HEADER_LEN + 4];
	time_t until = time(NULL) + ENDS_SECONDS;
	uint8_t buf[ENDS_BYTES + 1];
	unsigned int round, i;

	for (round = 0; round < ENDS_ROUNDS && time(NULL) < until; round++) {
		uint8_t window[HEADER_LEN + 4], limit[4] = { 0, 0x10 };
		size_t n, klen;
		struct mux *m;
		char key[16];
		int raw, fd, bad = 0;

		m = raw_peer_new(&raw, 1 << 20);
		ASSERT_NE(m, NULL);
		for (i = 0; i < ENDS_WARM && !bad; i++)
			bad = ends_round(_metadata, raw, m, i + 1, i, false);
		if (bad) {
			close(raw);
			mux_close(m);
			break;
		}
		/*
		 * A frame the mux ignores (WINDOW for a stream that is
		 * over) goes out at once; Nagle holds the rest for its ACK.
		 */
		ASSERT_EQ(write_all(raw, window, put_frame(window, FT_WINDOW, 1,
							   limit, 4)), 0);
		n = put_frame(frames, FT_OPEN, i + 1, "k", 1);
		n += ends_frames(frames + n, i + 1, round, false);
		n += put_frame(frames + n, 0x7f, 0, NULL, 0);
		ASSERT_EQ(mux_set_nonblock(m, 1), 0);
		ASSERT_EQ(write_all(raw, frames, n), 0);
		do {
			klen = sizeof(key);
			fd = mux_accept(m, key, &klen, 0, NULL);
		} while (fd < 0 && errno == EAGAIN);
		EXPECT_GE(fd, 0) TH_LOG("round %u: accept: %s, not the stream",
					round, strerror(errno));
		if (fd >= 0) {
			EXPECT_EQ(read_full(fd, buf, sizeof(buf)), ENDS_BYTES);
			close(fd);
			klen = sizeof(key);
			EXPECT_EQ(mux_accept(m, key, &klen, 0, NULL), -1);
			EXPECT_EQ(errno, EPROTO);
		}
		close(raw);
		mux_close(m);
		if (fd < 0)
			break;
	}
	TH_LOG("%u connections", round);
}

TEST_HARNESS_MAIN
