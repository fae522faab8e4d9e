// SPDX-License-Identifier: GPL-2.0
/*
 * stream_close.c - selftests for how AF_MUX streams end: half-close,
 * reset (closing with unread data, SO_LINGER {1, 0}), and how a mux
 * reacts to a peer that resets the TCP connection or breaks the
 * protocol (docs/protocol.md §4, §8, §9).
 *
 * Half-close and reset use the "mux" fixture of stream_util.h.  The
 * "raw" and "malformed" fixtures put a mux on one end and a plain TCP
 * socket on the other, driven by hand with the wire format of
 * docs/protocol.md §2-§4 (the frames of util.h).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "sha256.h"
#include "util.h"
#include "stream_util.h"

/* SO_ERROR of @fd, or -errno if getsockopt fails. */
static int so_error(int fd)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return err;
}

/* ---- half-close and reset ------------------------------------------------ */

TEST_F(mux, half_close)
{
	uint8_t out[1000], back[2000], buf[4096];
	struct gen g;
	int c, s, rev;

	gen_init(&g, 2);
	gen_fill(&g, out, sizeof(out));
	gen_fill(&g, back, sizeof(back));
	c = mux_open(self->client, "half", 4, 0, NULL);
	ASSERT_GE(c, 0) TH_LOG("mux_open: %s", strerror(errno));
	ASSERT_EQ(0, write_all(c, out, sizeof(out)));
	ASSERT_EQ(0, shutdown(c, SHUT_WR)) TH_LOG("shutdown(SHUT_WR): %s",
						  strerror(errno));
	EXPECT_EQ(-1, send(c, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno)
		TH_LOG("writing after shutdown(SHUT_WR): expected EPIPE, got %s",
		       strerror(errno));

	s = mux_accept(self->server, buf, &(size_t){ sizeof(buf) }, 0, NULL);
	ASSERT_GE(s, 0) TH_LOG("mux_accept: %s", strerror(errno));
	ASSERT_EQ((ssize_t)sizeof(out), read_full(s, buf, sizeof(buf)))
		TH_LOG("expected %zu bytes, then EOF from the peer's SHUT_WR",
		       sizeof(out));
	EXPECT_EQ(0, memcmp(buf, out, sizeof(out)));
	EXPECT_EQ(0, read(s, buf, sizeof(buf)))
		TH_LOG("read after the peer's END: expected 0 (EOF)");
	rev = poll1(s, POLLIN | POLLRDHUP | POLLOUT, 0);
	EXPECT_EQ(POLLIN | POLLRDHUP | POLLOUT,
		  rev & (POLLIN | POLLRDHUP | POLLOUT | POLLERR))
		TH_LOG("revents 0x%x: after the peer's END expected POLLIN|POLLRDHUP, and POLLOUT (this direction is open), no POLLERR",
		       rev);

	/* The other direction still works. */
	ASSERT_EQ(0, write_all(s, back, sizeof(back)))
		TH_LOG("writing back on a half-closed stream: %s",
		       strerror(errno));
	ASSERT_EQ((ssize_t)sizeof(back), read_full(c, buf, sizeof(back)))
		TH_LOG("the opener should read what the peer wrote back");
	EXPECT_EQ(0, memcmp(buf, back, sizeof(back)));
	ASSERT_EQ(0, close(s));
	EXPECT_EQ(0, read(c, buf, sizeof(buf)))
		TH_LOG("after the peer closed: expected EOF");
	EXPECT_EQ(0, close(c));
}

/*
 * @s was reset by its peer.  poll reports it (POLLERR, or POLLHUP with
 * POLLIN), read fails with ECONNRESET (RESET drops queued data), and
 * write fails with EPIPE.  docs/protocol.md §4 says RESET "reports
 * ECONNRESET to its reader and writer"; like TCP, a write after the
 * reader has been told may say EPIPE, so either is accepted there.
 */
static void check_reset(struct __test_metadata *_metadata, int s)
{
	char buf[256];
	int rev;

	rev = poll1(s, 0, WAIT_MS);
	ASSERT_GT(rev, 0)
		TH_LOG("no POLLERR/POLLHUP within %d ms of the peer's RESET",
		       WAIT_MS);
	rev = poll1(s, POLLIN | POLLOUT, 0);
	EXPECT_TRUE((rev & POLLERR) ||
		    (rev & (POLLHUP | POLLIN)) == (POLLHUP | POLLIN))
		TH_LOG("revents 0x%x: expected POLLERR, or POLLHUP|POLLIN", rev);
	EXPECT_EQ(-1, read(s, buf, sizeof(buf)))
		TH_LOG("read after RESET should fail: queued data is dropped");
	EXPECT_EQ(ECONNRESET, errno)
		TH_LOG("read after RESET: expected ECONNRESET, got %s",
		       strerror(errno));
	EXPECT_EQ(-1, send(s, "x", 1, MSG_NOSIGNAL));
	EXPECT_TRUE(errno == EPIPE || errno == ECONNRESET)
		TH_LOG("write after RESET: expected EPIPE (or ECONNRESET), got %s",
		       strerror(errno));
}

static void check_reset_stats(struct __test_metadata *_metadata,
			      struct mux *sender, struct mux *receiver)
{
	struct afmux_stats st;

	ASSERT_EQ(0, mux_stats(sender, &st))
		TH_LOG("AFMUX_STATS: %s", strerror(errno));
	EXPECT_GE(st.resets_tx, 1ULL) TH_LOG("the closing end sent a RESET");
	ASSERT_EQ(0, mux_stats(receiver, &st));
	EXPECT_GE(st.resets_rx, 1ULL) TH_LOG("the other end received a RESET");
}

/* Closing a stream with unread data resets it (§9). */
TEST_F(mux, reset)
{
	uint8_t buf[100] = { 0 };
	int c, s;

	c = mux_open(self->client, "reset", 5, 0, NULL);
	ASSERT_GE(c, 0) TH_LOG("mux_open: %s", strerror(errno));
	ASSERT_EQ(0, write_all(c, buf, 10));
	s = mux_accept(self->server, buf, &(size_t){ sizeof(buf) }, 0, NULL);
	ASSERT_GE(s, 0) TH_LOG("mux_accept: %s", strerror(errno));
	/* The server leaves the 10 bytes unread: RESET must drop them. */
	ASSERT_EQ(0, write_all(s, buf, sizeof(buf)));
	ASSERT_TRUE(poll1(c, POLLIN, WAIT_MS) & POLLIN)
		TH_LOG("the server's 100 bytes did not arrive within %d ms",
		       WAIT_MS);
	ASSERT_EQ(0, close(c));		/* with 100 bytes unread: RESET */
	check_reset(_metadata, s);
	check_reset_stats(_metadata, self->client, self->server);
	EXPECT_EQ(0, close(s));
}

/* SO_LINGER {1, 0}: close resets even with nothing unread (§9). */
TEST_F(mux, reset_linger_zero)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	uint8_t buf[100] = { 0 };
	int c, s;

	c = mux_open(self->client, "linger", 6, 0, NULL);
	ASSERT_GE(c, 0) TH_LOG("mux_open: %s", strerror(errno));
	ASSERT_EQ(0, write_all(c, buf, 10));
	s = mux_accept(self->server, buf, &(size_t){ sizeof(buf) }, 0, NULL);
	ASSERT_GE(s, 0) TH_LOG("mux_accept: %s", strerror(errno));
	ASSERT_EQ(10, read_full(s, buf, 10));
	ASSERT_EQ(0, setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		TH_LOG("SO_LINGER on a stream: %s", strerror(errno));
	ASSERT_EQ(0, close(c));
	check_reset(_metadata, s);
	check_reset_stats(_metadata, self->client, self->server);
	EXPECT_EQ(0, close(s));
}

/* ---- a raw peer: TCP reset, malformed input ---------------------------- */

/*
 * @raw is a plain TCP socket whose other end is attached to @server; the
 * test speaks the wire protocol on @raw itself.
 */
static void raw_pair_setup(struct __test_metadata *_metadata, int *raw,
		      struct mux **server)
{
	int s;

	signal(SIGPIPE, SIG_IGN);
	*raw = -1;
	ASSERT_EQ(0, tcp_pair(raw, &s))
		TH_LOG("TCP connection over 127.0.0.1: %s", strerror(errno));
	*server = mux_new(s);
	ASSERT_NE(NULL, *server) TH_LOG("mux_new: %s", strerror(errno));
	close(s);
}

static void raw_pair_teardown(int raw, struct mux *server)
{
	if (raw >= 0)
		close(raw);
	if (server)
		mux_close(server);
}

/* Reads the mux's preface from @raw and returns its initial window. */
static uint32_t raw_read_preface(struct __test_metadata *_metadata, int raw)
{
	uint8_t p[PREFACE_LEN];

	ASSERT_GT(poll1(raw, POLLIN, WAIT_MS), 0)
		TH_LOG("the mux sent no preface within %d ms", WAIT_MS);
	ASSERT_EQ(PREFACE_LEN, read_full(raw, p, sizeof(p)))
		TH_LOG("expected the mux's 24-byte preface");
	EXPECT_EQ(0, memcmp(p, "AFMUX\r\n\0", 8)) TH_LOG("preface magic");
	EXPECT_EQ(1, p[8] << 8 | p[9]) TH_LOG("preface version");
	EXPECT_EQ(0U, get_be32(p + 20)) TH_LOG("preface reserved field");
	return get_be32(p + 12);
}

/*
 * After the mux's preface (read already if @had_preface) come frames;
 * expects a GOAWAY with @code and @last_stream among them, then EOF.
 */
static void raw_expect_goaway(struct __test_metadata *_metadata, int raw,
			      bool had_preface, uint32_t code,
			      uint32_t last_stream)
{
	uint8_t h[HEADER_LEN], p[8], skip[4096];
	uint32_t len, left;
	int frames = 0;
	ssize_t n;

	if (!had_preface)
		raw_read_preface(_metadata, raw);
	for (;; frames++) {
		ASSERT_LT(frames, 10000) TH_LOG("no GOAWAY among 10000 frames");
		ASSERT_GT(poll1(raw, POLLIN, WAIT_MS), 0)
			TH_LOG("no GOAWAY within %d ms of the bad input", WAIT_MS);
		ASSERT_EQ(HEADER_LEN, read_full(raw, h, sizeof(h)))
			TH_LOG("expected a GOAWAY frame; got EOF or an error after %d other frames",
			       frames);
		len = get_be32(h + 4);
		if (h[0] == FT_GOAWAY)
			break;
		ASSERT_LE(len, 16U << 20) TH_LOG("frame type %u, length %u",
						 h[0], len);
		for (left = len; left; left -= (uint32_t)n) {
			n = read_full(raw, skip, left < sizeof(skip) ?
					  left : sizeof(skip));
			ASSERT_GT(n, 0) TH_LOG("frame payload cut short");
		}
	}
	EXPECT_EQ(0, h[1]) TH_LOG("GOAWAY flags");
	EXPECT_EQ(0U, get_be32(h + 8)) TH_LOG("GOAWAY is on stream 0");
	ASSERT_EQ(8U, len) TH_LOG("GOAWAY payload is 8 bytes");
	ASSERT_EQ(8, read_full(raw, p, 8));
	EXPECT_EQ(code, get_be32(p + 4))
		TH_LOG("GOAWAY error code %u, expected %u", get_be32(p + 4), code);
	EXPECT_EQ(last_stream, get_be32(p))
		TH_LOG("GOAWAY last stream %u, expected %u (the highest the peer opened)",
		       get_be32(p), last_stream);
	ASSERT_GT(poll1(raw, POLLIN, WAIT_MS), 0)
		TH_LOG("after GOAWAY the mux should shut TCP down within %d ms",
		       WAIT_MS);
	n = read(raw, skip, sizeof(skip));
	EXPECT_EQ(0, n) TH_LOG("after GOAWAY: expected EOF, got %zd (%s)", n,
			       n < 0 ? strerror(errno) : "more data");
}

FIXTURE(raw) {
	int raw;
	struct mux *server;
};

FIXTURE_SETUP(raw)
{
	raw_pair_setup(_metadata, &self->raw, &self->server);
}

FIXTURE_TEARDOWN(raw)
{
	raw_pair_teardown(self->raw, self->server);
}

static volatile sig_atomic_t got_sigpipe;

static void on_sigpipe(int sig)
{
	(void)sig;
	got_sigpipe = 1;
}

/* The peer's TCP socket resets while streams carry data (§8). */
TEST_F(raw, peer_tcp_reset)
{
	enum { NS = 4, DLEN = 1000 };
	static const char *const keys[NS] = { "r1", "r2", "r3", "marker" };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct sigaction sa = { .sa_handler = on_sigpipe };
	uint8_t frames[8192], data[DLEN];
	int fd[NS], i, s, rev;
	size_t n = 0, klen;
	char key[64];
	uint32_t id;
	struct gen g;
	struct rx rx;

	n += put_preface(frames, AFMUX_WINDOW_DEFAULT, 128);
	for (i = 0; i < 3; i++)
		n += put_frame(frames + n, FT_OPEN, i + 1, keys[i], 2);
	for (i = 0; i < 3; i++) {
		gen_init(&g, stream_seed(keys[i], 2, i + 1));
		gen_fill(&g, data, DLEN);
		n += put_frame(frames + n, FT_DATA, i + 1, data, DLEN);
	}
	/* Accepting this one means the DATA before it has been parsed. */
	n += put_frame(frames + n, FT_OPEN, 4, keys[3], 6);
	ASSERT_EQ(0, write_all(self->raw, frames, n));
	for (i = 0; i < NS; i++)
		fd[i] = -1;
	for (i = 0; i < NS; i++) {
		klen = sizeof(key) - 1;
		s = mux_accept(self->server, key, &klen, 0, &id);
		ASSERT_GE(s, 0) TH_LOG("accept #%d: %s", i + 1, strerror(errno));
		key[klen] = '\0';
		ASSERT_TRUE(id >= 1 && id <= NS && !strcmp(key, keys[id - 1]))
			TH_LOG("accepted key \"%s\" with ID %u", key, id);
		fd[id - 1] = s;
	}

	ASSERT_EQ(0, setsockopt(self->raw, SOL_SOCKET, SO_LINGER, &lg,
				sizeof(lg)));
	ASSERT_EQ(0, close(self->raw));	/* RST */
	self->raw = -1;

	rev = poll1(mux_fd(self->server), 0, WAIT_MS);
	ASSERT_GT(rev, 0)
		TH_LOG("the mux fd showed no POLLERR/POLLHUP within %d ms of a TCP reset",
		       WAIT_MS);
	EXPECT_TRUE(rev & (POLLERR | POLLHUP)) TH_LOG("revents 0x%x", rev);
	EXPECT_EQ(ECONNRESET, so_error(mux_fd(self->server)))
		TH_LOG("SO_ERROR of the mux after a TCP reset: expected ECONNRESET");

	/* Queued data first, then ECONNRESET: never a silent EOF. */
	recv_payload(fd[0], stream_seed(keys[0], 2, 1), &rx);
	EXPECT_EQ((uint64_t)DLEN, rx.bytes)
		TH_LOG("stream r1: expected its %d queued bytes before the error",
		       DLEN);
	EXPECT_EQ(-1, rx.mismatch);
	EXPECT_EQ(ECONNRESET, rx.err)
		TH_LOG("stream r1 after its data: expected ECONNRESET, got %s",
		       rx.err ? strerror(rx.err) : "EOF");
	EXPECT_EQ(-1, send(fd[1], "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno)
		TH_LOG("write(MSG_NOSIGNAL) on a stream of a reset connection: expected EPIPE, got %s",
		       strerror(errno));
	ASSERT_EQ(0, sigaction(SIGPIPE, &sa, NULL));
	got_sigpipe = 0;
	EXPECT_EQ(-1, write(fd[2], "x", 1));
	EXPECT_EQ(EPIPE, errno)
		TH_LOG("write on a stream of a reset connection: expected EPIPE, got %s",
		       strerror(errno));
	EXPECT_EQ(1, got_sigpipe) TH_LOG("write without MSG_NOSIGNAL should raise SIGPIPE");
	signal(SIGPIPE, SIG_IGN);
	recv_payload(fd[3], 0, &rx);
	EXPECT_EQ(0U, rx.bytes);
	EXPECT_EQ(ECONNRESET, rx.err)
		TH_LOG("stream without data: expected ECONNRESET, got %s",
		       rx.err ? strerror(rx.err) : "EOF");

	ASSERT_EQ(0, mux_set_nonblock(self->server, 1));
	klen = sizeof(key);
	EXPECT_EQ(-1, mux_accept(self->server, key, &klen, 0, NULL));
	EXPECT_TRUE(errno == ECONNRESET || errno == EPIPE)
		TH_LOG("accept after a TCP reset: expected ECONNRESET or EPIPE, got %s",
		       strerror(errno));
	EXPECT_EQ(-1, mux_open(self->server, "late", 4, 0, NULL));
	EXPECT_EQ(EPIPE, errno)
		TH_LOG("open after the connection ended: expected EPIPE, got %s",
		       strerror(errno));
	for (i = 0; i < NS; i++)
		close(fd[i]);
}

enum bad_input { BAD_MAGIC, UNKNOWN_TYPE, DATA_BEYOND_CREDIT };

FIXTURE(malformed) {
	int raw;
	struct mux *server;
};

FIXTURE_VARIANT(malformed) {
	enum bad_input input;
	uint32_t code;		/* the GOAWAY error code expected */
	uint32_t last_stream;	/* and its last stream */
};

FIXTURE_VARIANT_ADD(malformed, bad_magic) {
	.input = BAD_MAGIC, .code = E_PROTOCOL, .last_stream = 0,
};

FIXTURE_VARIANT_ADD(malformed, unknown_type) {
	.input = UNKNOWN_TYPE, .code = E_PROTOCOL, .last_stream = 1,
};

FIXTURE_VARIANT_ADD(malformed, data_beyond_credit) {
	.input = DATA_BEYOND_CREDIT, .code = E_FLOW_CONTROL, .last_stream = 1,
};

FIXTURE_SETUP(malformed)
{
	raw_pair_setup(_metadata, &self->raw, &self->server);
}

FIXTURE_TEARDOWN(malformed)
{
	raw_pair_teardown(self->raw, self->server);
}

/*
 * Each bad input ends the connection (§8): GOAWAY with the code, then
 * the TCP connection is shut down; the mux reports EPROTO, counts a
 * protocol error, and its streams report ECONNRESET after their data.
 */
TEST_F(malformed, malformed_peer)
{
	uint8_t *buf = malloc(CHUNK + HEADER_LEN), data[100];
	uint64_t queued = 0, seed = stream_seed("m", 1, 1);
	bool had_preface = false;
	struct afmux_stats st;
	uint32_t win, sent, part;
	char key[16];
	size_t n = 0, klen;
	struct gen g;
	struct rx rx;
	int s = -1, rev;

	ASSERT_NE(NULL, buf);
	gen_init(&g, seed);
	switch (variant->input) {
	case BAD_MAGIC:
		n = put_preface(buf, AFMUX_WINDOW_DEFAULT, 128);
		memcpy(buf, "AFMUX\r\n\1", 8);
		ASSERT_EQ(0, write_all(self->raw, buf, n));
		break;
	case UNKNOWN_TYPE:
		n = put_preface(buf, AFMUX_WINDOW_DEFAULT, 128);
		n += put_frame(buf + n, FT_OPEN, 1, "m", 1);
		gen_fill(&g, data, sizeof(data));
		n += put_frame(buf + n, FT_DATA, 1, data, sizeof(data));
		queued = sizeof(data);
		ASSERT_EQ(0, write_all(self->raw, buf, n));
		break;
	case DATA_BEYOND_CREDIT:
		win = raw_read_preface(_metadata, self->raw);
		had_preface = true;
		EXPECT_EQ((uint32_t)AFMUX_WINDOW_DEFAULT, win)
			TH_LOG("the module's initial window");
		n = put_preface(buf, AFMUX_WINDOW_DEFAULT, 128);
		n += put_frame(buf + n, FT_OPEN, 1, "m", 1);
		ASSERT_EQ(0, write_all(self->raw, buf, n));
		/* Exactly the credit the mux granted... */
		for (sent = 0; sent < win; sent += part) {
			part = win - sent < CHUNK ? win - sent : CHUNK;
			put_frame(buf, FT_DATA, 1, NULL, part);
			gen_fill(&g, buf + HEADER_LEN, part);
			ASSERT_EQ(0, write_all(self->raw, buf, HEADER_LEN + part));
		}
		queued = win;
		break;
	}
	if (variant->input != BAD_MAGIC) {
		klen = sizeof(key) - 1;
		s = mux_accept(self->server, key, &klen, 0, NULL);
		ASSERT_GE(s, 0) TH_LOG("accepting the raw peer's stream: %s",
				       strerror(errno));
	}
	if (variant->input == UNKNOWN_TYPE) {
		n = put_frame(buf, 7, 1, NULL, 0);	/* 7: first unknown */
		ASSERT_EQ(0, write_all(self->raw, buf, n));
	} else if (variant->input == DATA_BEYOND_CREDIT) {
		n = put_frame(buf, FT_DATA, 1, "!", 1);	/* ...and one more */
		ASSERT_EQ(0, write_all(self->raw, buf, n));
	}

	rev = poll1(mux_fd(self->server), 0, WAIT_MS);
	ASSERT_GT(rev, 0)
		TH_LOG("the mux fd showed no POLLERR/POLLHUP within %d ms of bad input",
		       WAIT_MS);
	EXPECT_EQ(EPROTO, so_error(mux_fd(self->server)))
		TH_LOG("SO_ERROR after malformed input: expected EPROTO");
	ASSERT_EQ(0, mux_stats(self->server, &st))
		TH_LOG("AFMUX_STATS: %s", strerror(errno));
	EXPECT_GE(st.protocol_errors, 1ULL);
	EXPECT_EQ(variant->code, st.last_error)
		TH_LOG("AFMUX_STATS last_error %u, expected %u", st.last_error,
		       variant->code);

	if (s >= 0) {
		recv_payload(s, seed, &rx);
		EXPECT_EQ(queued, rx.bytes)
			TH_LOG("the stream should still yield its %llu queued bytes",
			       (unsigned long long)queued);
		EXPECT_EQ(-1, rx.mismatch);
		EXPECT_EQ(ECONNRESET, rx.err)
			TH_LOG("after its data: expected ECONNRESET, got %s",
			       rx.err ? strerror(rx.err) : "EOF");
		EXPECT_EQ(-1, send(s, "x", 1, MSG_NOSIGNAL));
		EXPECT_EQ(EPIPE, errno)
			TH_LOG("write: expected EPIPE, got %s", strerror(errno));
		close(s);
	}
	ASSERT_EQ(0, mux_set_nonblock(self->server, 1));
	klen = sizeof(key);
	EXPECT_EQ(-1, mux_accept(self->server, key, &klen, 0, NULL));
	EXPECT_TRUE(errno == EPROTO || errno == EPIPE)
		TH_LOG("accept after malformed input: expected EPROTO or EPIPE, got %s",
		       strerror(errno));
	EXPECT_EQ(-1, mux_open(self->server, "late", 4, 0, NULL));
	EXPECT_EQ(EPIPE, errno)
		TH_LOG("open after the connection ended: expected EPIPE, got %s",
		       strerror(errno));

	raw_expect_goaway(_metadata, self->raw, had_preface, variant->code,
			  variant->last_stream);
	free(buf);
}

TEST_HARNESS_MAIN
