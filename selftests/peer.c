// SPDX-License-Identifier: GPL-2.0
/*
 * peer.c - frame sequences from a raw peer (the test, writing frames by
 * hand) that a mux must take apart correctly: a RESET after END, frames
 * after a GOAWAY that ends the connection.  Each sequence is followed by
 * a PING; its answer says the mux has processed everything before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
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
	uint8_t buf[PREFACE_LEN];
	int tcp;

	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(afmux_wait_refcnt_zero(), 0);
	ASSERT_EQ(tcp_pair(&self->raw, &tcp), 0);
	self->mux = mux_new(tcp);
	ASSERT_NE(self->mux, NULL);
	close(tcp);
	put_preface(buf, AFMUX_WINDOW_DEFAULT, 16);
	ASSERT_EQ(write_all(self->raw, buf, sizeof(buf)), 0);
	ASSERT_EQ(read_full(self->raw, buf, sizeof(buf)), sizeof(buf));
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

TEST_HARNESS_MAIN
