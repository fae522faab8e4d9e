// SPDX-License-Identifier: GPL-2.0
/*
 * peer.c - frame sequences from a raw peer (the test, writing frames by
 * hand) that a mux must take apart correctly: a RESET after END, frames
 * after a GOAWAY that ends the connection, floods of PINGs and OPENs
 * (every one answered, and a peer that does not read the answers meets
 * TCP's flow control), DATA for a stream closed mid-frame, and frames
 * that come after the mux said goodbye.  Sequences are followed by a
 * PING; its answer says the mux has processed everything before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"

FIXTURE(peer) {
	int raw;		/* the test's end: plain TCP */
	struct mux *mux;	/* the mux's end */
};

FIXTURE_SETUP(peer)
{
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(afmux_wait_refcnt_zero(), 0);
	self->mux = raw_peer_new(&self->raw, AFMUX_WINDOW_DEFAULT);
	ASSERT_NE(self->mux, NULL);
}

FIXTURE_TEARDOWN(peer)
{
	if (self->mux)
		mux_close(self->mux);
	close(self->raw);
	/* Every connection is torn down, every socket freed. */
	EXPECT_EQ(afmux_wait_refcnt_zero(), 0);
}

/* Send @len bytes of frames then a PING, and wait for its answer. */
static int send_synced(int raw, const uint8_t *frames, size_t len)
{
	static const uint8_t ping[8] = "synced!";
	uint8_t buf[4096];
	size_t n;

	if (len + HEADER_LEN + 8 > sizeof(buf))
		return -1;
	memcpy(buf, frames, len);
	n = len + put_frame(buf + len, FT_PING, 0, ping, 8);
	if (write_all(raw, buf, n))
		return -1;
	return wait_ping_ack(raw, ping);
}

static size_t reset_frame(uint8_t *p, uint32_t stream, uint32_t code)
{
	uint8_t be[4];

	put_be32(be, code);
	return put_frame(p, FT_RESET, stream, be, 4);
}

/*
 * OPEN, DATA, END, then RESET before anyone accepted the stream: the
 * reset stream is gone, not offered as a complete one; closing the mux
 * then must not touch it (it used to be freed while still queued for a
 * RESET frame: a use-after-free on the debug kernel).
 */
TEST_F(peer, reset_after_end_unaccepted)
{
	uint8_t buf[256];
	size_t n = 0;
	char key[8];

	n += put_frame(buf + n, FT_OPEN, 1, "k", 1);
	n += put_frame(buf + n, FT_DATA, 1, "hello", 5);
	n += put_frame(buf + n, FT_END, 1, NULL, 0);
	n += reset_frame(buf + n, 1, E_CANCEL);
	ASSERT_EQ(send_synced(self->raw, buf, n), 0);

	ASSERT_EQ(mux_set_nonblock(self->mux, 1), 0);
	EXPECT_EQ(mux_receive(self->mux, key, sizeof(key)), -1);
	EXPECT_EQ(errno, EAGAIN);
	EXPECT_EQ(mux_close(self->mux), 0);
	self->mux = NULL;
}

/*
 * The same after the stream was accepted: RESET drops what is queued and
 * the reader gets ECONNRESET, not a clean (and silently short) EOF.
 */
TEST_F(peer, reset_after_end_accepted)
{
	uint8_t buf[256];
	size_t n = 0;
	char key[8], c;
	int fd;

	n += put_frame(buf + n, FT_OPEN, 1, "k", 1);
	n += put_frame(buf + n, FT_DATA, 1, "hello", 5);
	n += put_frame(buf + n, FT_END, 1, NULL, 0);
	ASSERT_EQ(send_synced(self->raw, buf, n), 0);
	fd = mux_receive(self->mux, key, sizeof(key));
	ASSERT_GE(fd, 0);

	n = reset_frame(buf, 1, E_CANCEL);
	ASSERT_EQ(send_synced(self->raw, buf, n), 0);
	EXPECT_EQ(read(fd, &c, 1), -1);
	EXPECT_EQ(errno, ECONNRESET);
	close(fd);
}

/*
 * A GOAWAY with an error code ends the connection; an OPEN right behind
 * it in the same segment must not create a stream (it used to, and its
 * reader then waited forever while the connection leaked).
 */
TEST_F(peer, open_after_fatal_goaway)
{
	uint8_t buf[256], payload[8];
	size_t n = 0;
	char key[8];

	put_be32(payload, 0);
	put_be32(payload + 4, E_PROTOCOL);
	n += put_frame(buf + n, FT_GOAWAY, 0, payload, 8);
	n += put_frame(buf + n, FT_OPEN, 1, "late", 4);
	n += put_frame(buf + n, FT_DATA, 1, "x", 1);
	ASSERT_EQ(write_all(self->raw, buf, n), 0);

	EXPECT_EQ(mux_receive(self->mux, key, sizeof(key)), -1);
	EXPECT_EQ(errno, ECONNRESET);
}

/*
 * With the accept backlog full (listen(mux, 2)), a third OPEN is refused:
 * the peer gets RESET REFUSED_STREAM for it, the two queued streams stay
 * acceptable, and the refusal is counted.
 */
TEST_F(peer, backlog_full_refuses)
{
	uint8_t buf[256], h[HEADER_LEN], code[4];
	struct afmux_stats st;
	socklen_t len = sizeof(st);
	size_t n = 0;
	char key[8];
	int i, fd;

	ASSERT_EQ(listen(mux_fd(self->mux), 2), 0);
	n += put_frame(buf + n, FT_OPEN, 1, "a", 1);
	n += put_frame(buf + n, FT_OPEN, 2, "b", 1);
	n += put_frame(buf + n, FT_OPEN, 3, "c", 1);
	ASSERT_EQ(write_all(self->raw, buf, n), 0);

	/* The refusal: RESET for our stream 3, seen from the mux (R bit). */
	ASSERT_EQ(read_full(self->raw, h, sizeof(h)), sizeof(h));
	EXPECT_EQ(h[0], FT_RESET);
	EXPECT_EQ(get_be32(h + 4), 4U);
	EXPECT_EQ(get_be32(h + 8), 0x80000003U);
	ASSERT_EQ(read_full(self->raw, code, sizeof(code)), sizeof(code));
	EXPECT_EQ(get_be32(code), (uint32_t)E_REFUSED_STREAM);

	ASSERT_EQ(getsockopt(mux_fd(self->mux), SOL_AFMUX, AFMUX_STATS, &st,
			     &len), 0);
	EXPECT_EQ(st.streams_refused, 1U);
	EXPECT_EQ(st.streams_accepted, 2U);
	for (i = 0; i < 2; i++) {
		fd = mux_receive(self->mux, key, sizeof(key));
		ASSERT_GE(fd, 0);
		EXPECT_EQ(key[0], "ab"[i]);
		close(fd);
	}
}

/*
 * docs/protocol.md §4: each PING is answered.  100 PINGs in one write
 * get 100 ACKs carrying their bytes, in order (they used to be merged
 * into one answer).
 */
TEST_F(peer, every_ping_answered)
{
	enum { N = 100 };
	uint8_t buf[N * (HEADER_LEN + 8)], h[HEADER_LEN], payload[1024];
	size_t n = 0;
	uint32_t i;

	for (i = 0; i < N; i++) {
		uint8_t data[8] = { 'p' };

		put_be32(data + 4, i);
		n += put_frame(buf + n, FT_PING, 0, data, 8);
	}
	ASSERT_EQ(write_all(self->raw, buf, n), 0);
	for (i = 0; i < N; i++) {
		ASSERT_EQ(raw_read_frame(self->raw, h, payload, sizeof(payload)), 0)
			TH_LOG("answer %u of %u did not come", i, N);
		ASSERT_EQ(h[0], FT_PING);
		EXPECT_EQ(h[1], 1);	/* ACK */
		ASSERT_EQ(get_be32(h + 4), 8U);
		EXPECT_EQ(payload[0], 'p');
		EXPECT_EQ(get_be32(payload + 4), i);
	}
	EXPECT_EQ(mux_stats_of(self->mux).pings_rx, (uint64_t)N);
}

/*
 * §2/§6: OPENs beyond the accept backlog are refused each with RESET
 * REFUSED_STREAM, however many come in one write; the connection lives
 * on.  (Beyond 64 pending refusals it used to end with INTERNAL_ERROR.)
 */
TEST_F(peer, open_burst_refused_each)
{
	enum { N = 300 };
	static uint8_t buf[(N + 1) * HEADER_LEN + 8];
	static const uint8_t ping[8] = "burst";
	uint8_t h[HEADER_LEN], payload[1024];
	struct afmux_stats st;
	uint32_t next = 2, i;
	size_t n = 0;
	char key[8];
	int fd, err;
	socklen_t len = sizeof(err);

	ASSERT_EQ(listen(mux_fd(self->mux), 1), 0);
	for (i = 1; i <= N; i++)
		n += put_frame(buf + n, FT_OPEN, i, NULL, 0);
	n += put_frame(buf + n, FT_PING, 0, ping, 8);
	ASSERT_EQ(write_all(self->raw, buf, n), 0);
	for (;;) {
		ASSERT_EQ(raw_read_frame(self->raw, h, payload, sizeof(payload)), 0)
			TH_LOG("after %u refusals", next - 2);
		if (h[0] == FT_PING)
			break;
		ASSERT_EQ(h[0], FT_RESET) TH_LOG("frame type %u", h[0]);
		EXPECT_EQ(get_be32(h + 8), 0x80000000U | next);
		EXPECT_EQ(get_be32(payload), (uint32_t)E_REFUSED_STREAM);
		next++;
	}
	EXPECT_EQ(next, N + 1U) TH_LOG("%u refusals", next - 2);
	EXPECT_EQ(memcmp(payload, ping, 8), 0);
	st = mux_stats_of(self->mux);
	EXPECT_EQ(st.streams_refused, N - 1U);
	EXPECT_EQ(st.streams_accepted, 1U);
	EXPECT_EQ(st.protocol_errors, 0U);
	ASSERT_EQ(getsockopt(mux_fd(self->mux), SOL_SOCKET, SO_ERROR, &err,
			     &len), 0);
	EXPECT_EQ(err, 0);
	fd = mux_receive(self->mux, key, sizeof(key));
	EXPECT_GE(fd, 0);
	close(fd);
}

/*
 * A peer that sends PINGs and never reads the answers: the mux stops
 * reading once its answers cannot leave, so the flood stops at TCP's
 * buffers (here a few hundred KiB) instead of queueing without bound.
 * Once the peer reads, every PING it sent is answered, in order.
 */
TEST_F_TIMEOUT(peer, ping_flood_unread_is_bounded, 300)
{
	enum { CHUNK = 1000, PING = HEADER_LEN + 8, LIMIT = 64 << 20 };
	static uint8_t buf[CHUNK * PING];
	uint8_t h[HEADER_LEN], payload[1024];
	uint32_t sent = 0, i;
	size_t written = 0, off = 0, n = 0;
	int sz = 64 * 1024;
	ssize_t w = 0;

	ASSERT_EQ(setsockopt(self->raw, SOL_SOCKET, SO_SNDBUF, &sz,
			     sizeof(sz)), 0);
	ASSERT_EQ(setsockopt(self->raw, SOL_SOCKET, SO_RCVBUF, &sz,
			     sizeof(sz)), 0);
	while (written < LIMIT) {
		for (n = 0, i = 0; i < CHUNK; i++) {
			uint8_t data[8] = { 'f' };

			put_be32(data + 4, sent + i);
			n += put_frame(buf + n, FT_PING, 0, data, 8);
		}
		for (off = 0; off < n; off += w) {
			w = send(self->raw, buf + off, n - off, MSG_DONTWAIT);
			if (w <= 0)
				break;
		}
		written += off;
		if (off < n)
			break;
		sent += CHUNK;
	}
	EXPECT_LT(written, (size_t)LIMIT)
		TH_LOG("the mux took %zu bytes of PINGs without their answers being read",
		       written);
	ASSERT_TRUE(w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		TH_LOG("send: %s", strerror(errno));
	/* Every whole PING is answered once the answers are read ... */
	sent += off / PING;
	for (i = 0; i < sent; i++) {
		ASSERT_EQ(raw_read_frame(self->raw, h, payload, sizeof(payload)), 0)
			TH_LOG("answer %u of %u did not come", i, sent);
		ASSERT_EQ(h[0], FT_PING);
		ASSERT_EQ(get_be32(payload + 4), i);
	}
	/* ... and the one the flood cut, once it is whole. */
	if (off % PING) {
		ASSERT_EQ(write_all(self->raw, buf + off, PING - off % PING), 0);
		ASSERT_EQ(raw_read_frame(self->raw, h, payload, sizeof(payload)), 0);
		ASSERT_EQ(h[0], FT_PING);
		EXPECT_EQ(get_be32(payload + 4), sent);
	}
	EXPECT_EQ(mux_stats_of(self->mux).protocol_errors, 0U);
}

/*
 * The reader closes its stream while a DATA frame is half received: the
 * rest is dropped (counted in data_discarded) and answered with RESET
 * CANCEL, not queued on the closed stream (where it used to pin memory
 * until the stream was freed).
 */
TEST_F(peer, data_after_close_mid_frame)
{
	enum { LEN = 100000, FIRST = 10 };
	static uint8_t buf[HEADER_LEN * 2 + 1 + LEN];
	static const uint8_t ping[8] = "midfrm";
	uint8_t h[HEADER_LEN], payload[1024];
	bool reset = false;
	size_t n = 0;
	char key[8], got[FIRST];
	int fd;

	n += put_frame(buf + n, FT_OPEN, 1, "k", 1);
	n += put_frame(buf + n, FT_DATA, 1, NULL, LEN) - LEN;
	memset(buf + n, 'd', LEN);
	ASSERT_EQ(write_all(self->raw, buf, n + FIRST), 0);
	fd = mux_receive(self->mux, key, sizeof(key));
	ASSERT_GE(fd, 0);
	ASSERT_EQ(read_full(fd, got, FIRST), FIRST);
	close(fd);

	ASSERT_EQ(write_all(self->raw, buf + n + FIRST, LEN - FIRST), 0);
	ASSERT_EQ(write_all(self->raw, payload,
			    put_frame(payload, FT_PING, 0, ping, 8)), 0);
	for (;;) {
		ASSERT_EQ(raw_read_frame(self->raw, h, payload, sizeof(payload)), 0);
		if (h[0] == FT_PING && !memcmp(payload, ping, 8))
			break;
		if (h[0] == FT_RESET && get_be32(h + 8) == 0x80000001U) {
			EXPECT_EQ(get_be32(payload), (uint32_t)E_CANCEL);
			reset = true;
		}
	}
	EXPECT_TRUE(reset) TH_LOG("no RESET CANCEL for the closed stream");
	EXPECT_EQ(mux_stats_of(self->mux).data_discarded,
		  (uint64_t)(LEN - FIRST));
}

/* TCP state of @fd, from TCP_INFO. */
static int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -1;
	return ti.tcpi_state;
}

/*
 * §9: a clean close ends with a FIN after GOAWAY, and a frame the peer
 * sends after that (it had not seen the GOAWAY yet) is dropped, not
 * answered with a TCP reset, which could have cost the mux's last
 * frames.  The peer's own FIN then ends it: no error on either side.
 */
TEST_F(peer, late_frame_after_close_no_reset)
{
	static const uint8_t ping[8] = "late!";
	uint8_t h[HEADER_LEN], payload[1024], c;
	int i, err = -1;
	socklen_t len = sizeof(err);

	ASSERT_EQ(mux_close(self->mux), 0);
	self->mux = NULL;
	ASSERT_EQ(raw_read_frame(self->raw, h, payload, sizeof(payload)), 0);
	ASSERT_EQ(h[0], FT_GOAWAY);
	EXPECT_EQ(get_be32(payload + 4), (uint32_t)E_NO_ERROR);
	EXPECT_EQ(read(self->raw, &c, 1), 0) TH_LOG("no FIN after GOAWAY");

	ASSERT_EQ(write_all(self->raw, payload,
			    put_frame(payload, FT_PING, 0, ping, 8)), 0);
	ASSERT_EQ(shutdown(self->raw, SHUT_WR), 0);
	for (i = 0; i < 1000 && tcp_state(self->raw) != TCP_CLOSE; i++)
		usleep(10000);
	EXPECT_EQ(tcp_state(self->raw), TCP_CLOSE);
	ASSERT_EQ(getsockopt(self->raw, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	EXPECT_EQ(err, 0) TH_LOG("the mux's end reset the connection: %s",
				 strerror(err));
}

/*
 * protocol.md §8: after a fatal GOAWAY, a queued stream whose END had
 * arrived is still handed out with all its data and a clean EOF; one cut
 * off is dropped; then accept fails with SO_ERROR's errno, and poll says
 * POLLHUP and POLLERR, POLLIN only while a stream is queued, never
 * POLLOUT.
 */
TEST_F(peer, fatal_end_keeps_complete_streams)
{
	struct pollfd pfd = { .fd = mux_fd(self->mux),
			      .events = POLLIN | POLLOUT };
	uint8_t buf[256], payload[8];
	char key[8], got[16];
	size_t n = 0;
	int fd, err = 0;
	socklen_t len = sizeof(err);

	n += put_frame(buf + n, FT_OPEN, 1, "a", 1);
	n += put_frame(buf + n, FT_DATA, 1, "hello", 5);
	n += put_frame(buf + n, FT_END, 1, NULL, 0);
	n += put_frame(buf + n, FT_OPEN, 2, "b", 1);
	n += put_frame(buf + n, FT_DATA, 2, "cut", 3);
	ASSERT_EQ(send_synced(self->raw, buf, n), 0);
	put_be32(payload, 2);
	put_be32(payload + 4, E_PROTOCOL);
	n = put_frame(buf, FT_GOAWAY, 0, payload, 8);
	ASSERT_EQ(write_all(self->raw, buf, n), 0);

	ASSERT_EQ(poll(&pfd, 1, 10000), 1);
	for (int i = 0; i < 1000 && !(pfd.revents & POLLHUP); i++) {
		usleep(10000);
		ASSERT_EQ(poll(&pfd, 1, 0), 1);
	}
	EXPECT_EQ(pfd.revents, POLLIN | POLLHUP | POLLERR);
	ASSERT_EQ(getsockopt(mux_fd(self->mux), SOL_SOCKET, SO_ERROR, &err,
			     &len), 0);
	EXPECT_EQ(err, ECONNRESET);

	fd = mux_receive(self->mux, key, sizeof(key));
	ASSERT_GE(fd, 0) TH_LOG("accept: %s", strerror(errno));
	EXPECT_EQ(key[0], 'a');
	EXPECT_EQ(read_full(fd, got, sizeof(got)), 5);
	EXPECT_EQ(memcmp(got, "hello", 5), 0);
	close(fd);
	EXPECT_EQ(mux_receive(self->mux, key, sizeof(key)), -1);
	EXPECT_EQ(errno, ECONNRESET);
	EXPECT_EQ(poll(&pfd, 1, 0), 1);
	EXPECT_EQ(pfd.revents, POLLHUP);
}

/*
 * §8: a malformed frame ends the connection with GOAWAY even when the
 * peer is not reading and the mux's TCP is full: the GOAWAY waits its
 * turn and reaches the peer once it reads (the teardown used to shut TCP
 * down at once, and the peer saw the data and then a FIN with no GOAWAY;
 * found by wire_fuzz).
 */
TEST_F_TIMEOUT(peer, goaway_reaches_a_slow_reader, 120)
{
	static uint8_t buf[65536];
	uint8_t h[HEADER_LEN], payload[1024], limit[4];
	int fd, last_type = -1, code = -1;
	size_t n, written = 0;
	ssize_t w;

	fd = mux_open(self->mux, "big", 3, AFMUX_O_NONBLOCK, NULL);
	ASSERT_GE(fd, 0);
	put_be32(limit, 64 << 20);
	n = put_frame(buf, FT_WINDOW, 0x80000001u, limit, 4);
	ASSERT_EQ(send_synced(self->raw, buf, n), 0);

	/* Fill the stream, the pump and TCP: until no room comes back. */
	memset(buf, 'b', sizeof(buf));
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };

		while ((w = write(fd, buf, sizeof(buf))) > 0)
			written += w;
		ASSERT_EQ(errno, EAGAIN);
		if (poll(&pfd, 1, 300) == 0)
			break;
	}
	ASSERT_GT(written, (size_t)(256 << 10));

	n = put_frame(buf, 9, 0, NULL, 0);	/* no such frame type */
	ASSERT_EQ(write_all(self->raw, buf, n), 0);
	for (;;) {
		uint32_t len;

		if (read_full(self->raw, h, sizeof(h)) != sizeof(h))
			break;
		len = get_be32(h + 4);
		if (h[0] == FT_DATA) {
			while (len) {
				size_t m = len < sizeof(buf) ? len : sizeof(buf);

				ASSERT_EQ(read_full(self->raw, buf, m), (ssize_t)m);
				len -= m;
			}
		} else {
			ASSERT_LE(len, sizeof(payload));
			ASSERT_EQ(read_full(self->raw, payload, len), (ssize_t)len);
			if (h[0] == FT_GOAWAY)
				code = (int)get_be32(payload + 4);
		}
		last_type = h[0];
	}
	EXPECT_EQ(code, E_PROTOCOL) TH_LOG("no GOAWAY reached the peer");
	EXPECT_EQ(last_type, FT_GOAWAY);
	close(fd);
}

TEST_HARNESS_MAIN
