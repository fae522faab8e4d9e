// SPDX-License-Identifier: GPL-2.0
/*
 * scheduling.c - selftests for how the transmit pump shares one TCP
 * connection between streams: round robin, one DATA frame per stream per
 * turn, so a stream that queues much cannot make another wait for all of
 * it; and a stream that just got something to send goes before the
 * streams with long queues; and a stream's write queue is charged for
 * what it holds, so that small writes still fill its send buffer, and
 * small writes that go straight to TCP stay in order; streams that keep
 * becoming ready go first without starving the round robin.  A raw
 * TCP peer (docs/protocol.md wire format) reads the frames in the order
 * the mux wrote them.
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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/afmux.h>
#include <linux/sockios.h>

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

/*
 * A mux on TCP socket *@c with a tiny send buffer, its raw peer *@raw,
 * which allows @max_streams, gives credit for everything (the order is
 * the pump's alone) and has read the mux's preface.
 */
static struct mux *pump_mux(struct __test_metadata *_metadata, int *c,
			    int *raw, uint32_t max_streams)
{
	uint8_t pre[PREFACE_LEN];
	int small = 4096;
	struct mux *m;

	signal(SIGPIPE, SIG_IGN);
	if (tcp_pair(c, raw))
		return NULL;
	if (setsockopt(*c, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small))) {
		TH_LOG("SO_SNDBUF: %s", strerror(errno));
		return NULL;
	}
	m = mux_new(*c);
	if (!m) {
		TH_LOG("mux_new: %s", strerror(errno));
		return NULL;
	}
	if (write(*raw, pre, put_preface(pre, 1 << 20, max_streams)) !=
	    PREFACE_LEN || read_full(*raw, pre, sizeof(pre)) != PREFACE_LEN) {
		mux_close(m);
		return NULL;
	}
	return m;
}

FIXTURE(pump) {
	int c, raw;
	struct mux *m;
};

FIXTURE_SETUP(pump)
{
	self->c = self->raw = -1;
	self->m = pump_mux(_metadata, &self->c, &self->raw, 16);
	ASSERT_NE(NULL, self->m);
}

FIXTURE_TEARDOWN(pump)
{
	close(self->c);
	close(self->raw);
	if (self->m)
		mux_close(self->m);
}

TEST_F(pump, round_robin_between_streams)
{
	uint8_t h[HEADER_LEN];
	static uint8_t payload[1 << 20];
	uint32_t id[2], left[2];
	int raw = self->raw, fd[2], last = -1, runs = 0;
	int frames[2] = { 0, 0 }, repeats = 0;
	struct mux *m = self->m;
	bool both = false;

	fd[0] = mux_open(m, "a", 1, O_NONBLOCK, &id[0]);
	fd[1] = mux_open(m, "b", 1, O_NONBLOCK, &id[1]);
	ASSERT_TRUE(fd[0] >= 0 && fd[1] >= 0) TH_LOG("%s", strerror(errno));
	left[0] = queue_some(fd[0]);
	left[1] = queue_some(fd[1]);
	/* Credit is plenty; each stream's send buffer holds >= 256 KiB. */
	ASSERT_GE(left[0], 4 * FRAME_MAX) TH_LOG("a took %u", left[0]);
	ASSERT_GE(left[1], 4 * FRAME_MAX) TH_LOG("b took %u", left[1]);

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
}

/* Read one frame from @raw into @payload: its type; -1 on error. */
static int read_frame(int raw, uint8_t *payload, uint32_t *nr, uint32_t *len)
{
	uint8_t h[HEADER_LEN];

	if (read_full(raw, h, sizeof(h)) != HEADER_LEN)
		return -1;
	*len = get_be32(h + 4);
	*nr = get_be32(h + 8);
	if (*len > (1 << 20) || read_full(raw, payload, *len) != *len)
		return -1;
	return h[0];
}

/* Bytes written to TCP by @c and not yet read by @raw; -1 on error. */
static long in_tcp(int c, int raw)
{
	int outq, inq;

	if (ioctl(c, SIOCOUTQ, &outq) || ioctl(raw, SIOCINQ, &inq))
		return -1;
	return (long)outq + inq;
}

/*
 * Wait until TCP holds as much as it will (the pump waits for room);
 * then how much it holds, -1 on error.
 */
static long tcp_full(int c, int raw)
{
	long ahead, prev = -1;
	int i;

	for (i = 0; i < 250; i++) {
		ahead = in_tcp(c, raw);
		if (ahead < 0 || ahead == prev)
			return ahead;
		prev = ahead;
		usleep(20000);
	}
	return ahead;
}

/*
 * Eight streams take turns with long queues when TCP fills up and a ninth
 * writes 64 bytes, twice.  Ahead of those bytes on the wire may be only
 * what TCP already holds and the rest of the one frame the pump was
 * writing - not a frame of every busy stream, as plain round robin would
 * have it.  The second time too: the ninth stream's first frame emptied
 * it, so it is new again (before, it waited its turn in the round robin).
 * The raw end's small receive buffer keeps what TCP holds below a round.
 */
#define BUSY	8	/* < the 16 streams the peer allows */

TEST_F(pump, new_stream_goes_first)
{
	int raw = self->raw, c = self->c, fd[BUSY], pfd, i, type, seen = 0;
	static uint8_t payload[1 << 20];
	uint32_t id[BUSY], pid, nr, len;
	int rcvbuf = 64 * 1024, round;
	uint8_t ping[64] = "ping";
	struct mux *m = self->m;

	ASSERT_EQ(0, setsockopt(raw, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				sizeof(rcvbuf)));
	pfd = mux_open(m, "ping", 4, O_NONBLOCK, &pid);
	ASSERT_LE(0, pfd) TH_LOG("%s", strerror(errno));
	for (i = 0; i < BUSY; i++) {
		fd[i] = mux_open(m, "bulk", 4, O_NONBLOCK, &id[i]);
		ASSERT_LE(0, fd[i]) TH_LOG("%s", strerror(errno));
		ASSERT_GE(queue_some(fd[i]), 4 * FRAME_MAX);
	}
	/* Read until every busy stream has had its turn... */
	while (seen != (1 << BUSY) - 1) {
		type = read_frame(raw, payload, &nr, &len);
		ASSERT_LE(0, type);
		for (i = 0; i < BUSY; i++)
			if (type == FT_DATA && nr == id[i])
				seen |= 1 << i;
	}
	for (round = 0; round < 2; round++) {
		uint64_t offset = 0, busy_bytes = 0;
		long ahead;

		/* ...then no more, until TCP is full and the pump waits. */
		ASSERT_LE(0, tcp_full(c, raw));
		ping[4] = (uint8_t)round;
		ASSERT_EQ(sizeof(ping), write(pfd, ping, sizeof(ping)));
		/* Everything in TCP now was written before the ping's frame. */
		ahead = in_tcp(c, raw);
		ASSERT_LE(0, ahead);

		for (;;) {
			type = read_frame(raw, payload, &nr, &len);
			ASSERT_LE(0, type);
			if (type == FT_DATA && nr == pid) {
				ASSERT_EQ(sizeof(ping), len);
				ASSERT_EQ(0, memcmp(payload, ping, len));
				break;
			}
			offset += HEADER_LEN + len;
			if (type == FT_DATA)
				busy_bytes += len;
		}
		TH_LOG("ping %d after %llu bytes (%llu of them bulk data); %ld were in TCP when it was written",
		       round, (unsigned long long)offset,
		       (unsigned long long)busy_bytes, ahead);
		EXPECT_LE(offset, ahead + HEADER_LEN + FRAME_MAX)
			TH_LOG("ping %d waited for other streams' queued frames",
			       round);
	}
	for (i = 0; i < BUSY; i++)
		close(fd[i]);
	close(pfd);
}

/*
 * Streams that become ready all at once - or a few that keep becoming
 * ready, each small write emptying its stream - go first, but they do
 * not starve the round robin: a busy stream gets a frame once per 64 KiB
 * of theirs.  Before, 200 streams with a 1 KiB message each all went
 * ahead of it (about 200 KiB).
 */
#define SMALL_STREAMS	200
#define SMALL_MSG	1024	/* copied into a linear skb: a small frame */

TEST(new_streams_do_not_starve_the_round_robin)
{
	static uint8_t payload[1 << 20], msg[SMALL_MSG];
	int c, raw, bfd, fd[SMALL_STREAMS], i, type, got = 0;
	int rcvbuf = 64 * 1024;
	uint64_t between = 0, worst = 0;
	uint32_t bid, nr, len;
	struct mux *m;

	m = pump_mux(_metadata, &c, &raw, 1024);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, setsockopt(raw, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				sizeof(rcvbuf)));
	for (i = 0; i < SMALL_STREAMS; i++) {
		fd[i] = mux_open(m, "s", 1, O_NONBLOCK, NULL);
		ASSERT_LE(0, fd[i]) TH_LOG("%s", strerror(errno));
	}
	bfd = mux_open(m, "bulk", 4, O_NONBLOCK, &bid);
	ASSERT_LE(0, bfd) TH_LOG("%s", strerror(errno));
	ASSERT_GE(queue_some(bfd), 4 * FRAME_MAX);
	/*
	 * The busy stream's first DATA: the pump has passed every small
	 * stream (OPEN sent, nothing else) and dropped it from its lists.
	 */
	do {
		type = read_frame(raw, payload, &nr, &len);
		ASSERT_LE(0, type);
	} while (type != FT_DATA || nr != bid);
	ASSERT_LE(0, tcp_full(c, raw));
	for (i = 0; i < SMALL_STREAMS; i++)
		ASSERT_EQ(SMALL_MSG, write(fd[i], msg, SMALL_MSG));
	while (got < SMALL_STREAMS) {
		type = read_frame(raw, payload, &nr, &len);
		ASSERT_LE(0, type);
		if (type == FT_DATA && nr == bid) {
			worst = between > worst ? between : worst;
			between = 0;
			continue;
		}
		between += HEADER_LEN + len;
		if (type == FT_DATA)
			got++;
	}
	worst = between > worst ? between : worst;
	TH_LOG("at most %llu bytes of other frames between two of the busy stream's",
	       (unsigned long long)worst);
	EXPECT_LE(worst, 2 * FRAME_MAX)
		TH_LOG("the new streams starved the round robin");
	for (i = 0; i < SMALL_STREAMS; i++)
		close(fd[i]);
	close(bfd);
	mux_close(m);
	close(c);
	close(raw);
}

/*
 * A stream's write queue is charged for what it holds, not for a page
 * per write: with TCP full, 1100-byte writes (just over what goes into a
 * linear skb) fill about the stream's SO_SNDBUF with payload before
 * EAGAIN.  When each write took fresh pages, a quarter of it.
 */
TEST_F(pump, small_writes_fill_the_send_buffer)
{
	socklen_t sl = sizeof(int);
	static char buf[1100];
	long long taken = 0;
	int fd, sndbuf;
	ssize_t n;
	long in;

	fd = mux_open(self->m, "w", 1, O_NONBLOCK, NULL);
	ASSERT_LE(0, fd) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl));
	while ((n = write(fd, buf, sizeof(buf))) > 0)
		taken += n;
	ASSERT_EQ(EAGAIN, errno) TH_LOG("%s", strerror(errno));
	/* The peer reads nothing: TCP holds at least what it held then. */
	in = in_tcp(self->c, self->raw);
	ASSERT_LE(0, in);
	TH_LOG("took %lld bytes in %zu-byte writes; TCP holds %ld; SO_SNDBUF %d",
	       taken, sizeof(buf), in, sndbuf);
	EXPECT_GE(taken - in, sndbuf / 2)
		TH_LOG("the write queue held less than half its SO_SNDBUF in payload");
	/* ...and no more than SO_SNDBUF and the write that crossed it. */
	EXPECT_LE(taken - in, sndbuf + (long long)sizeof(buf))
		TH_LOG("the write queue held more than its SO_SNDBUF");
	close(fd);
}

/* The byte at offset @i of the stream in small_writes_keep_order. */
static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i ^ (i >> 8) ^ (i >> 16));
}

/*
 * Writes of 1 to 300 bytes, and now and then 5000, on one stream until
 * TCP and the stream are full: small writes go straight to TCP while
 * nothing of the stream is queued (so one of them meets a full TCP,
 * which takes part of its frame), the others through the write queue.
 * The peer must then read every byte once, in order, in DATA frames.
 */
TEST_F(pump, small_writes_keep_order)
{
	static uint8_t buf[5000], payload[1 << 20];
	uint64_t taken = 0, got = 0;
	uint32_t id, nr, len, i;
	size_t size = 0;
	int fd, type;
	ssize_t n;
	long in;

	fd = mux_open(self->m, "o", 1, O_NONBLOCK, &id);
	ASSERT_LE(0, fd) TH_LOG("%s", strerror(errno));
	for (;;) {
		size = size % 300 + 1;
		n = size == 150 ? sizeof(buf) : size;
		for (i = 0; i < n; i++)
			buf[i] = pattern(taken + i);
		n = write(fd, buf, n);
		if (n < 0)
			break;
		taken += n;
	}
	ASSERT_EQ(EAGAIN, errno) TH_LOG("%s", strerror(errno));
	/* TCP filled up: some of it waits in the stream. */
	in = in_tcp(self->c, self->raw);
	ASSERT_LT(in, (long)taken) TH_LOG("TCP holds %ld", in);

	while (got < taken) {
		type = read_frame(self->raw, payload, &nr, &len);
		ASSERT_LE(0, type);
		if (type == FT_OPEN)
			continue;
		ASSERT_EQ(FT_DATA, type) TH_LOG("frame type %d", type);
		ASSERT_EQ(id, nr);
		ASSERT_LE(got + len, taken);
		for (i = 0; i < len; i++)
			ASSERT_EQ(pattern(got + i), payload[i])
				TH_LOG("byte %llu of the stream",
				       (unsigned long long)(got + i));
		got += len;
	}
	TH_LOG("%llu bytes, in order; TCP held %ld", (unsigned long long)taken,
	       in);
	close(fd);
}

TEST_HARNESS_MAIN
