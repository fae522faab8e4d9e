// SPDX-License-Identifier: GPL-2.0
/*
 * conn_memory.c - a connection's receive budget (net.afmux.conn_mem_max,
 * docs/security.md): the receive credit the peer holds over all streams
 * never exceeds it.  A new stream is admitted with its initial window
 * charged, or refused (the peer's OPEN with RESET REFUSED_STREAM, our own
 * open with ENOBUFS); window grants beyond it are cut; what a stream
 * charged comes back when it is over; and a stream whose reader keeps up
 * keeps going however much the others hold.
 *
 * The credit is charged as the mux socket's memory to the memory cgroup
 * of its creator: a cgroup's memory.max refuses streams as the budget
 * does, and memory.stat's "sock" shows the charge.
 *
 * A raw TCP peer (the test, speaking docs/protocol.md by hand) plays the
 * other end, so it can see every credit the mux grants.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"

#define W		262144		/* net.afmux.window, the default */
#define MEM_DEFAULT	268435456	/* net.afmux.conn_mem_max's */

FIXTURE(cmem) {
	int raw;		/* the test's end: plain TCP */
	struct mux *mux;	/* the mux's end */
};

FIXTURE_SETUP(cmem)
{
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(sysctl_get("window"), W);
	ASSERT_EQ(afmux_wait_refcnt_zero(), 0);
	self->mux = raw_peer_new(&self->raw, W);
	ASSERT_NE(self->mux, NULL);
}

FIXTURE_TEARDOWN(cmem)
{
	EXPECT_EQ(sysctl_put("conn_mem_max", MEM_DEFAULT), 0);
	if (self->mux)
		mux_close(self->mux);
	close(self->raw);
	EXPECT_EQ(afmux_wait_refcnt_zero(), 0);
}

/*
 * Send @len bytes of frames and a PING; read the mux's frames until the
 * PING's answer, counting RESETs (of any stream) with code @code.
 */
static int cmem_sync(int raw, const uint8_t *frames, size_t len,
		     uint32_t code, int *resets)
{
	static const uint8_t ping[8] = "cmemsync";
	uint8_t buf[1024], h[HEADER_LEN], payload[64];

	if (len + HEADER_LEN + 8 > sizeof(buf))
		return -1;
	memcpy(buf, frames, len);
	len += put_frame(buf + len, FT_PING, 0, ping, 8);
	if (write_all(raw, buf, len))
		return -1;
	*resets = 0;
	for (;;) {
		if (raw_read_frame(raw, h, payload, sizeof(payload)))
			return -1;
		if (h[0] == FT_RESET && get_be32(payload) == code)
			(*resets)++;
		if (h[0] == FT_PING && (h[1] & 1) && !memcmp(payload, ping, 8))
			return 0;
	}
}

static size_t cmem_open(uint8_t *p, uint32_t nr)
{
	uint8_t key[4];

	put_be32(key, nr);
	return put_frame(p, FT_OPEN, nr, key, 4);
}

/*
 * With room for three initial windows, the peer's fourth OPEN is refused
 * and our own open fails with ENOBUFS; a stream that is over gives its
 * window back, and the next OPEN is accepted.
 */
TEST_F(cmem, opens_past_the_budget_refused)
{
	uint8_t frames[512], code[4];
	struct afmux_stats st;
	int resets = -1, fd;
	size_t n = 0;
	uint32_t i;

	ASSERT_EQ(sysctl_put("conn_mem_max", 3 * W), 0);
	for (i = 1; i <= 4; i++)
		n += cmem_open(frames + n, i);
	ASSERT_EQ(cmem_sync(self->raw, frames, n, E_REFUSED_STREAM, &resets),
		  0);
	EXPECT_EQ(resets, 1);
	st = mux_stats_of(self->mux);
	EXPECT_EQ(st.streams_accepted, 3);
	EXPECT_EQ(st.streams_refused, 1);
	EXPECT_EQ(st.rx_credit, 3 * W);

	EXPECT_EQ(mux_send(self->mux, "ours"), -1);
	EXPECT_EQ(errno, ENOBUFS);

	/* The peer resets stream 1: over, its window charged no more. */
	put_be32(code, E_CANCEL);
	n = put_frame(frames, FT_RESET, 1, code, 4);
	n += cmem_open(frames + n, 5);
	ASSERT_EQ(cmem_sync(self->raw, frames, n, E_REFUSED_STREAM, &resets),
		  0);
	EXPECT_EQ(resets, 0);
	st = mux_stats_of(self->mux);
	EXPECT_EQ(st.streams_accepted, 4);
	EXPECT_EQ(st.streams_refused, 1);
	EXPECT_EQ(st.rx_credit, 3 * W);

	/* Lowering the sysctl below what is charged refuses, breaks nothing. */
	ASSERT_EQ(sysctl_put("conn_mem_max", W), 0);
	fd = mux_send(self->mux, "ours");
	EXPECT_EQ(fd, -1);
	EXPECT_EQ(errno, ENOBUFS);
	ASSERT_EQ(sysctl_put("conn_mem_max", 4 * W), 0);
	fd = mux_send(self->mux, "ours");
	EXPECT_GE(fd, 0) TH_LOG("open with room again: %s", strerror(errno));
	EXPECT_EQ(mux_stats_of(self->mux).rx_credit, 4 * W);
	close(fd);
}

/*
 * A stream over (both ENDs) has given its charge back, and a window set
 * on its still-open fd charges nothing (it did, and the charge outlived
 * the connection: found by sys_fuzz).
 */
TEST_F(cmem, over_stream_charges_nothing)
{
	uint8_t frames[64], h[HEADER_LEN], payload[64], key[16];
	int fd, resets, big = 1 << 20;
	size_t n;

	n = cmem_open(frames, 1);
	n += put_frame(frames + n, FT_END, 1, NULL, 0);
	ASSERT_EQ(cmem_sync(self->raw, frames, n, E_REFUSED_STREAM, &resets),
		  0);
	fd = mux_receive(self->mux, (char *)key, sizeof(key));
	ASSERT_GE(fd, 0);
	EXPECT_EQ(mux_stats_of(self->mux).rx_credit, W);
	EXPECT_EQ(read(fd, key, sizeof(key)), 0);
	ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
	do {
		ASSERT_EQ(raw_read_frame(self->raw, h, payload,
					 sizeof(payload)), 0);
	} while (h[0] != FT_END);
	ASSERT_EQ(cmem_sync(self->raw, frames, 0, E_REFUSED_STREAM, &resets),
		  0);
	EXPECT_EQ(mux_stats_of(self->mux).rx_credit, 0);
	ASSERT_EQ(setsockopt(fd, SOL_AFMUX, AFMUX_WINDOW, &big, sizeof(big)),
		  0);
	EXPECT_EQ(read(fd, key, sizeof(key)), 0);
	EXPECT_EQ(mux_stats_of(self->mux).rx_credit, 0);
	close(fd);
}

#define BIG_WINDOW	(4 << 20)
#define TOTAL		(8 << 20)
#define CHUNK		16384

/*
 * Stream 1 is never read and holds its initial window; stream 2's reader
 * asks for a 4 MiB window and reads 8 MiB.  With a budget of two initial
 * windows, no grant on stream 2 reaches past what is left (W): the peer
 * never holds more than the budget, grants are counted as cut, and
 * stream 2 still gets all of its bytes.
 */
TEST_F_TIMEOUT(cmem, grants_cut_to_the_budget, 120)
{
	static uint8_t frame[HEADER_LEN + CHUNK], rbuf[65536];
	uint8_t frames[256], h[HEADER_LEN], payload[64], key[64];
	uint32_t limit = W, sent = 0, got = 0, most = 0;
	int one = BIG_WINDOW, resets, fd, f1;
	struct afmux_stats st;
	size_t n;

	ASSERT_EQ(sysctl_put("conn_mem_max", 2 * W), 0);
	n = cmem_open(frames, 1);
	n += cmem_open(frames + n, 2);
	ASSERT_EQ(cmem_sync(self->raw, frames, n, E_REFUSED_STREAM, &resets),
		  0);
	ASSERT_EQ(resets, 0);
	f1 = mux_receive(self->mux, (char *)key, sizeof(key));
	ASSERT_GE(f1, 0);
	fd = mux_receive(self->mux, (char *)key, sizeof(key));
	ASSERT_GE(fd, 0);
	ASSERT_EQ(setsockopt(fd, SOL_AFMUX, AFMUX_WINDOW, &one, sizeof(one)),
		  0);

	/* Stream 1: its whole initial window, never read. */
	memset(frame + HEADER_LEN, 'u', CHUNK);
	for (n = 0; n < W; n += CHUNK) {
		put_frame(frame, FT_DATA, 1, NULL, CHUNK);
		ASSERT_EQ(write_all(self->raw, frame, sizeof(frame)), 0);
	}

	memset(frame + HEADER_LEN, 'd', CHUNK);
	while (got < TOTAL) {
		struct pollfd p[2] = {
			{ .fd = self->raw, .events = POLLIN },
			{ .fd = fd, .events = POLLIN },
		};
		bool moved = false;
		ssize_t r;

		if (sent < TOTAL && limit - sent >= CHUNK) {
			put_frame(frame, FT_DATA, 2, NULL, CHUNK);
			ASSERT_EQ(write_all(self->raw, frame, sizeof(frame)), 0);
			sent += CHUNK;
			moved = true;
		}
		r = recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT);
		if (r > 0) {
			ASSERT_EQ(rbuf[0], 'd');
			got += r;
			moved = true;
		} else {
			ASSERT_EQ(errno, EAGAIN) TH_LOG("read: %s",
						       strerror(errno));
		}
		if (!poll(p, 1, 0)) {
			if (moved)
				continue;
			/* Wait for data to read or a frame to take. */
			ASSERT_GT(poll(p, 2, 10000), 0)
				TH_LOG("stalled: sent %u, read %u, limit %u",
				       sent, got, limit);
			if (!(p[0].revents & POLLIN))
				continue;
		}
		ASSERT_EQ(raw_read_frame(self->raw, h, payload, sizeof(payload)),
			  0);
		if (h[0] == FT_WINDOW && (get_be32(h + 8) & 0x7fffffff) == 2) {
			limit = get_be32(payload);
			if (limit - sent > most)
				most = limit - sent;
		}
	}
	EXPECT_EQ(got, TOTAL);
	EXPECT_LE(most, W) TH_LOG("stream 2 got credit past the budget");
	st = mux_stats_of(self->mux);
	EXPECT_GT(st.grants_capped, 0);
	EXPECT_LE(st.rx_credit, 2 * W);
	close(f1);
	close(fd);
}

#define CG	"/sys/fs/cgroup"
#define CGT	CG "/afmux_cmem"

/* A line "@key value" of @path (memory.stat), or a one-number file. */
static long long cg_get(const char *path, const char *key)
{
	char line[256];
	long long v = -1;
	size_t kl = key ? strlen(key) : 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!key) {
			v = atoll(line);
			break;
		}
		if (!strncmp(line, key, kl) && line[kl] == ' ') {
			v = atoll(line + kl + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

/*
 * In a memory cgroup, a mux's credit shows in memory.stat's "sock": the
 * initial window of each stream opened.  With memory.max a little above
 * what the cgroup uses, opens fail with ENOBUFS after at most two
 * windows and the peer's OPEN is refused, though the budget has room.
 * Everything is uncharged once the connection is gone.
 */
TEST(memcg_charged_and_limited)
{
	uint8_t buf[PREFACE_LEN], frames[64];
	long long sock0, sock1, cur;
	int raw, tcp, fds[16], n = 0, i, resets = -1;
	struct mux *m;
	char val[32];

	signal(SIGPIPE, SIG_IGN);
	if (access(CG "/cgroup.controllers", F_OK))
		ASSERT_EQ(mount("none", CG, "cgroup2", 0, NULL), 0)
			TH_LOG("mount cgroup2: %s", strerror(errno));
	ASSERT_EQ(write_file(CG "/cgroup.subtree_control", "+memory"), 0);
	rmdir(CGT);
	ASSERT_EQ(mkdir(CGT, 0755), 0);
	ASSERT_EQ(write_file(CGT "/cgroup.procs", "0"), 0);

	ASSERT_EQ(tcp_pair(&raw, &tcp), 0);
	m = mux_new(tcp);
	ASSERT_NE(m, NULL);
	close(tcp);
	put_preface(buf, W, 16);
	ASSERT_EQ(write_all(raw, buf, sizeof(buf)), 0);
	ASSERT_EQ(read_full(raw, buf, sizeof(buf)), sizeof(buf));

	sock0 = cg_get(CGT "/memory.stat", "sock");
	ASSERT_GE(sock0, 0);
	for (i = 0; i < 4; i++) {
		fds[n] = mux_send(m, "c");
		ASSERT_GE(fds[n], 0);
		n++;
	}
	sock1 = cg_get(CGT "/memory.stat", "sock");
	EXPECT_GE(sock1 - sock0, 4 * W);
	EXPECT_LE(sock1 - sock0, 4 * W + 4 * 4096);

	cur = cg_get(CGT "/memory.current", NULL);
	ASSERT_GT(cur, 0);
	snprintf(val, sizeof(val), "%lld", cur + 2 * W + W / 2);
	ASSERT_EQ(write_file(CGT "/memory.max", val), 0);
	for (i = 0; i < 12; i++) {
		fds[n] = mux_send(m, "l");
		if (fds[n] < 0)
			break;
		n++;
	}
	EXPECT_LT(i, 12) TH_LOG("memory.max did not stop the opens");
	EXPECT_LE(i, 2);
	EXPECT_EQ(errno, ENOBUFS);
	ASSERT_EQ(cmem_sync(raw, frames, cmem_open(frames, 1),
			    E_REFUSED_STREAM, &resets), 0);
	EXPECT_EQ(resets, 1) TH_LOG("the peer's OPEN was taken");
	ASSERT_EQ(write_file(CGT "/memory.max", "max"), 0);

	while (n--)
		close(fds[n]);
	mux_close(m);
	close(raw);
	EXPECT_EQ(afmux_wait_refcnt_zero(), 0);
	EXPECT_LE(cg_get(CGT "/memory.stat", "sock"), sock0);
	EXPECT_EQ(write_file(CG "/cgroup.procs", "0"), 0);
	EXPECT_EQ(rmdir(CGT), 0);
}

TEST_HARNESS_MAIN
