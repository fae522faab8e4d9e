// SPDX-License-Identifier: GPL-2.0
/*
 * pool_wire.c - a pool against a raw peer that writes the frames by hand
 * (docs/protocol.md §12): a version 1 peer refuses the offer, HELLO and
 * POOL on the wire, joins presenting right and wrong credentials, a frame
 * naming a stream of another connection, and accept taking the pool's
 * streams in the order they came.  The pool between two muxes: pool.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"
#include "pool_util.h"

/* A peer that does not offer a pool: a version 1 connection, no join. */
TEST(v1_peer)
{
	struct mux *a, *b;
	int ea, eb, fa, fb;

	ASSERT_EQ(0, mux_pair(&a, &b, true, false));
	EXPECT_EQ(-1, join_both(a, b, NULL, NULL, &ea, &eb));
	EXPECT_EQ(EOPNOTSUPP, ea);
	EXPECT_EQ(EINVAL, eb);	/* b never offered */
	EXPECT_EQ(AFMUX_POOL_REFUSED, pool_info(a).state);
	EXPECT_EQ(AFMUX_POOL_OFF, pool_info(b).state);
	EXPECT_EQ(1, pool_info(a).links);
	/* The connection itself works. */
	pool_streams(_metadata, a, b, 1, &fa, &fb);
	EXPECT_EQ(0, mux_stream_link(fa));
	ASSERT_EQ(3, write(fa, "abc", 3));
	close(fa);
	{
		char buf[8];

		EXPECT_EQ(3, read_full(fb, buf, sizeof(buf)));
	}
	close(fb);
	mux_close(a);
	mux_close(b);
}

/*
 * The wire, as a version 1 peer sees it: the preface, then HELLO
 * (exactly "AFMUX\0\0\2" in a PING); its ACK is the peer's first frame,
 * so the offer is refused and nothing more comes.
 */
TEST(hello_on_the_wire)
{
	uint8_t buf[256], h[HEADER_LEN], p[64];
	int raw, tcp, n;
	struct mux *m;

	ASSERT_EQ(0, tcp_pair(&raw, &tcp));
	m = mux_new_pool(tcp);
	ASSERT_NE(NULL, m);
	close(tcp);
	ASSERT_EQ(PREFACE_LEN, read_full(raw, buf, PREFACE_LEN));
	EXPECT_EQ(0, memcmp(buf, "AFMUX\r\n\0\0\1\0\0", 12));
	ASSERT_EQ(0, raw_read_frame(raw, h, p, sizeof(p)));
	EXPECT_EQ(FT_PING, h[0]);
	EXPECT_EQ(0, h[1]);
	EXPECT_EQ(8, get_be32(h + 4));
	EXPECT_EQ(0, get_be32(h + 8));
	EXPECT_EQ(0, memcmp(p, hello, 8));
	/* A v1 peer: preface, the ACK, then a PING of its own. */
	n = (int)put_preface(buf, 65536, 16);
	n += (int)put_frame(buf + n, FT_PING, 0, hello, 8);
	buf[n - 20 + 1] = 1;		/* that frame's ACK flag */
	n += (int)put_frame(buf + n, FT_PING, 0, "v1-ping!", 8);
	ASSERT_EQ(0, write_all(raw, buf, (size_t)n));
	ASSERT_EQ(0, wait_ping_ack(raw, (const uint8_t *)"v1-ping!"));
	EXPECT_EQ(AFMUX_POOL_REFUSED, pool_info(m).state);
	mux_close(m);
	close(raw);
}

/*
 * A raw version 2 peer: it reads the mux's POOL (id, token), then joins
 * once with a wrong token (refused: EACCES here, GOAWAY REFUSED_JOIN on
 * the wire after the mux's own join preface) and once right.
 */
TEST(raw_join)
{
	uint8_t h[HEADER_LEN], p[64], cred[POOL_LEN];
	uint8_t mine[POOL_LEN] = { 0, 0, 0, 0, 0, 0, 0, 42 };
	int raw, rj, link, i;
	struct mux *m;

	m = raw_pool_peer(_metadata, &raw, cred);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(pool_info(m).pool_id, (uint64_t)get_be32(cred) << 32 |
					 get_be32(cred + 4));
	EXPECT_EQ(42, pool_info(m).peer_pool_id);

	for (i = 0; i < 2; i++) {
		uint8_t jp[JOIN_PREFACE_LEN];

		raw_join_one(_metadata, m, cred, !i, &rj, &link);
		/* Numbers are never reused: the refused one had 1. */
		EXPECT_EQ(i ? 2 : -EACCES, link);
		/* The mux's join preface presents our credentials. */
		ASSERT_EQ(JOIN_PREFACE_LEN, read_full(rj, jp, sizeof(jp)));
		EXPECT_EQ(0, memcmp(jp, "AFMUX\r\n\0\0\2\0\1", 12));
		EXPECT_EQ(0, memcmp(jp + 24, mine, POOL_LEN));
		if (!i) {
			ASSERT_EQ(0, raw_read_frame(rj, h, p, sizeof(p)));
			EXPECT_EQ(FT_GOAWAY, h[0]);
			EXPECT_EQ(E_REFUSED_JOIN, get_be32(p + 4));
		}
		close(rj);
	}
	EXPECT_EQ(3, pool_info(m).next_link);
	mux_close(m);
	close(raw);
}

/*
 * A raw peer's mux with a second connection joined (link 1), the mux's
 * join preface read: the mux, with the raw ends of the first and the
 * joined connection in *@raw and *@rj; NULL if any step failed.
 */
static struct mux *raw_pool_joined(struct __test_metadata *_metadata,
				   int *raw, int *rj)
{
	uint8_t cred[POOL_LEN], jp[JOIN_PREFACE_LEN];
	struct mux *m;
	int link = -1;

	*rj = -1;
	m = raw_pool_peer(_metadata, raw, cred);
	if (!m)
		return NULL;
	raw_join_one(_metadata, m, cred, false, rj, &link);
	EXPECT_EQ(1, link);
	if (link == 1 &&
	    read_full(*rj, jp, sizeof(jp)) == JOIN_PREFACE_LEN)
		return m;
	if (*rj >= 0)
		close(*rj);
	mux_close(m);
	close(*raw);
	return NULL;
}

/*
 * Stream numbers are the pool's (§12.4): a frame naming a stream the mux
 * opened on another connection is one for a stream that is over here
 * (§12.6), not for one never opened (it was once a PROTOCOL_ERROR when
 * the number was above the ones opened on this connection).
 */
TEST(frame_for_other_connections_stream)
{
	static const uint8_t ping[8] = "other-1";
	uint8_t h[HEADER_LEN], p[256], buf[64], inc[4] = { 0, 0, 4, 0 };
	int raw, rj, s0, s1, n;
	struct mux *m;

	m = raw_pool_joined(_metadata, &raw, &rj);
	ASSERT_NE(NULL, m);
	/* Idle connections: the first to the head, the second to link 1. */
	s0 = mux_open(m, "a", 1, 0, NULL);
	s1 = mux_open(m, "b", 1, 0, NULL);
	ASSERT_GE(s0, 0);
	ASSERT_GE(s1, 0);
	ASSERT_EQ(0, mux_stream_link(s0));
	ASSERT_EQ(1, mux_stream_link(s1));
	ASSERT_EQ(0, raw_read_frame(rj, h, p, sizeof(p)));
	ASSERT_EQ(FT_OPEN, h[0]);
	ASSERT_EQ(2, get_be32(h + 8));
	/* On the head, WINDOW for stream 2 (ours: R set), then a PING. */
	n = (int)put_frame(buf, FT_WINDOW, 0x80000000U | 2, inc, sizeof(inc));
	n += (int)put_frame(buf + n, FT_PING, 0, ping, sizeof(ping));
	ASSERT_EQ(0, write_all(raw, buf, (size_t)n));
	EXPECT_EQ(0, wait_ping_ack(raw, ping));
	EXPECT_EQ(0, mux_stats_of(m).protocol_errors);
	EXPECT_EQ(2, pool_info(m).links);
	close(s0);
	close(s1);
	close(rj);
	mux_close(m);
	close(raw);
}

/*
 * accept hands out the pool's streams in the order they came, whichever
 * connection each came on (it once emptied the first connection's queue
 * first, so under load a joined connection's streams could wait for
 * ever).
 */
TEST(accept_oldest_first)
{
	static const uint8_t ping[8] = "fifo-1";
	static const int on_link[3] = { 1, 0, 1 };
	uint8_t buf[64];
	int raw, rj, i;
	struct mux *m;

	m = raw_pool_joined(_metadata, &raw, &rj);
	ASSERT_NE(NULL, m);
	/* The peer opens 1 on link 1, 2 on the head, 3 on link 1. */
	for (i = 0; i < 3; i++) {
		int fd = on_link[i] ? rj : raw;
		char key[2] = { (char)('1' + i) };
		size_t n;

		n = put_frame(buf, FT_OPEN, (uint32_t)i + 1, key, 1);
		n += put_frame(buf + n, FT_PING, 0, ping, sizeof(ping));
		ASSERT_EQ(0, write_all(fd, buf, n));
		ASSERT_EQ(0, wait_ping_ack(fd, ping));
	}
	for (i = 0; i < 3; i++) {
		char key[16];
		size_t klen = sizeof(key) - 1;
		int fd = mux_accept(m, key, &klen, 0, NULL);

		ASSERT_GE(fd, 0);
		key[klen] = 0;
		EXPECT_EQ('1' + i, key[0]) TH_LOG("accept %d took stream %s",
						  i + 1, key);
		EXPECT_EQ(on_link[i], mux_stream_link(fd));
		close(fd);
	}
	close(rj);
	mux_close(m);
	close(raw);
}

TEST_HARNESS_MAIN
