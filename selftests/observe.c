// SPDX-License-Identifier: GPL-2.0
/*
 * observe.c - what docs/observe.md promises a watcher: /proc/net/afmux
 * and /proc/net/afmux_streams show every connection and stream with
 * exact numbers (inodes that match fstat(), addresses that match
 * getsockname(), bytes, credit, queues), a listing read in small pieces
 * shows every stream exactly once, /proc/net/afmux_stat counts exactly
 * what happened, and the afmux: tracepoints fire.  Each test runs in a
 * network namespace of its own, so the namespace's counters start at 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"
#include "proc_util.h"

static unsigned long long ob_num(const char *path, const char *key_col,
				 const char *key, const char *col)
{
	char v[64];

	if (proc_field(path, key_col, key, col, v, sizeof(v)))
		return ~0ULL;
	return strtoull(v, NULL, 10);
}

/* The line of a stream in /proc/net/afmux_streams by its inode. */
static unsigned long long ob_stream(int fd, const char *col)
{
	struct stat st;
	char ino[32];

	if (fstat(fd, &st))
		return ~0ULL;
	snprintf(ino, sizeof(ino), "%lu", (unsigned long)st.st_ino);
	return ob_num("/proc/net/afmux_streams", "inode", ino, col);
}

static unsigned long long ob_conn(struct mux *m, const char *col)
{
	char v[64];

	if (proc_conn_field(m, col, v, sizeof(v)))
		return ~0ULL;
	return strtoull(v, NULL, 10);
}

/* Counter @name of group @group in /proc/net/afmux_stat, or ~0. */
static unsigned long long ob_stat(const char *group, const char *name)
{
	char *text = proc_read("/proc/net/afmux_stat", 4096), *line, *save = NULL;
	char *names = NULL;
	unsigned long long v = ~0ULL;
	size_t gl = strlen(group);

	if (!text)
		return v;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *s1 = NULL, *s2 = NULL, *a, *b;

		if (strncmp(line, group, gl) || line[gl] != ':')
			continue;
		if (!names) {
			names = line + gl + 1;
			continue;
		}
		a = strtok_r(names, " ", &s1);
		b = strtok_r(line + gl + 1, " ", &s2);
		for (; a && b; a = strtok_r(NULL, " ", &s1),
		     b = strtok_r(NULL, " ", &s2))
			if (!strcmp(a, name))
				v = strtoull(b, NULL, 10);
		break;
	}
	free(text);
	return v;
}

/* Wait up to 10 s for @expr, re-evaluated every 10 ms. */
#define OB_WAIT(expr) ({						\
	int __i;							\
	for (__i = 0; __i < 1000 && !(expr); __i++)			\
		usleep(10000);						\
	(expr);								\
})

static void ob_addr(int fd, bool peer, char *out, size_t outsz)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char a[INET_ADDRSTRLEN];

	if (peer)
		getpeername(fd, (struct sockaddr *)&sin, &len);
	else
		getsockname(fd, (struct sockaddr *)&sin, &len);
	inet_ntop(AF_INET, &sin.sin_addr, a, sizeof(a));
	snprintf(out, outsz, "%s:%u", a, ntohs(sin.sin_port));
}

static int ob_accept(struct mux *m)
{
	char key[AFMUX_KEY_MAX];
	size_t len = sizeof(key);

	return mux_accept(m, key, &len, 0, NULL);
}

/* Read the mux's frames up to the answer to our PING @ping. */
static int ob_synced(int raw, const char *ping)
{
	uint8_t h[HEADER_LEN], p[8192];

	for (;;) {
		if (raw_read_frame(raw, h, p, sizeof(p)))
			return -1;
		if (h[0] == FT_PING && (h[1] & 1) && !memcmp(p, ping, 8))
			return 0;
	}
}

FIXTURE(ob) {
	struct mux *a, *b;
	char a_local[64], a_peer[64];
};

FIXTURE_SETUP(ob)
{
	int c, s;

	ASSERT_EQ(netns_new(), 0) TH_LOG("netns: %s", strerror(errno));
	ASSERT_EQ(tcp_pair(&c, &s), 0);
	ob_addr(c, false, self->a_local, sizeof(self->a_local));
	ob_addr(c, true, self->a_peer, sizeof(self->a_peer));
	self->a = mux_new(c);
	self->b = mux_new(s);
	ASSERT_NE(self->a, NULL);
	ASSERT_NE(self->b, NULL);
	close(c);
	close(s);
}

FIXTURE_TEARDOWN(ob)
{
	if (self->a)
		mux_close(self->a);
	if (self->b)
		mux_close(self->b);
	/* Both lines go once the connection is torn down and freed. */
	EXPECT_TRUE(OB_WAIT(ob_num("/proc/net/afmux", NULL, NULL, "id") ==
			    ~0ULL));
}

/* Every column of a connection and of its stream, at each step. */
TEST_F(ob, lines_follow_a_stream)
{
	unsigned long long window = (unsigned long long)sysctl_get("window");
	char buf[1000], v[64];
	int fd, sfd;

	memset(buf, 'o', sizeof(buf));
	fd = mux_open(self->a, "obs-key", 7, 0, NULL);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));

	/* a's end: addresses, the stream, bytes, credit used. */
	ASSERT_EQ(proc_conn_field(self->a, "local", v, sizeof(v)), 0);
	EXPECT_STREQ(v, self->a_local);
	ASSERT_EQ(proc_conn_field(self->a, "peer", v, sizeof(v)), 0);
	EXPECT_STREQ(v, self->a_peer);
	EXPECT_TRUE(OB_WAIT(ob_conn(self->a, "tx_bytes") == sizeof(buf)));
	EXPECT_EQ(ob_conn(self->a, "streams"), 1);
	EXPECT_EQ(ob_conn(self->a, "opened"), 1);
	EXPECT_EQ(ob_conn(self->a, "err"), 0);
	ASSERT_EQ(proc_conn_field(self->a, "state", v, sizeof(v)), 0);
	EXPECT_STREQ(v, "open");
	ASSERT_EQ(proc_conn_field(self->a, "tls", v, sizeof(v)), 0);
	EXPECT_STREQ(v, "-");	/* plain TCP */
	EXPECT_EQ(ob_stream(fd, "id"), 1);
	EXPECT_EQ(ob_stream(fd, "tx_bytes"), sizeof(buf));
	EXPECT_EQ(ob_stream(fd, "tx_credit"), window - sizeof(buf));

	/* b's end: the stream waits in the backlog with its bytes. */
	EXPECT_TRUE(OB_WAIT(ob_conn(self->b, "rx_bytes") == sizeof(buf)));
	EXPECT_EQ(ob_conn(self->b, "backlog"), 1);
	EXPECT_EQ(proc_field("/proc/net/afmux_streams", "side", "peer", "state",
			     v, sizeof(v)), 0);
	EXPECT_STREQ(v, "backlog");
	EXPECT_EQ(proc_field("/proc/net/afmux_streams", "side", "peer", "key",
			     v, sizeof(v)), 0);
	EXPECT_STREQ(v, "6f62732d6b6579");	/* "obs-key" */
	EXPECT_EQ(proc_field("/proc/net/afmux_streams", "side", "peer", "fd",
			     v, sizeof(v)), 0);
	EXPECT_STREQ(v, "none");

	/* Accepted: an fd whose inode is the line's; queued, then read. */
	sfd = ob_accept(self->b);
	ASSERT_GE(sfd, 0);
	EXPECT_EQ(ob_conn(self->b, "backlog"), 0);
	EXPECT_EQ(ob_conn(self->b, "accepted"), 1);
	EXPECT_EQ(ob_stream(sfd, "rx_bytes"), sizeof(buf));
	EXPECT_EQ(ob_stream(sfd, "rx_queued"), sizeof(buf));
	ASSERT_EQ(read_full(sfd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	EXPECT_EQ(ob_stream(sfd, "rx_queued"), 0);

	/* Half-closed, each way, then gone from the listing. */
	ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
	EXPECT_EQ(read(sfd, buf, 1), 0);
	EXPECT_EQ(proc_field("/proc/net/afmux_streams", "side", "peer", "state",
			     v, sizeof(v)), 0);
	EXPECT_STREQ(v, "half-closed-remote");
	close(sfd);
	EXPECT_EQ(read(fd, buf, 1), 0);
	close(fd);
	EXPECT_TRUE(OB_WAIT(ob_num("/proc/net/afmux_streams", NULL, NULL,
				   "id") == ~0ULL));
}

/*
 * 1 000 streams each way, read 97 bytes at a time (a restart every few
 * lines) and at once: every stream exactly once, in order.  (1 000: the
 * default window times that is within net.afmux.conn_mem_max.)
 */
TEST_F(ob, listing_read_in_pieces_shows_each_stream_once)
{
	enum { N = 1000 };
	struct rlimit rl = { 4096, 4096 };
	static const size_t chunks[] = { 97, 1 << 20 };
	unsigned int i, k;
	static int fds[N];

	ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	for (i = 0; i < N; i++) {
		fds[i] = mux_open(self->a, "k", 1, 0, NULL);
		ASSERT_GE(fds[i], 0);
	}
	ASSERT_TRUE(OB_WAIT(ob_conn(self->b, "backlog") == N));
	for (k = 0; k < 2; k++) {
		char *text = proc_read("/proc/net/afmux_streams", chunks[k]);
		char *line, *save = NULL;
		unsigned int seen[2] = { 0 }, lines = 0;

		ASSERT_NE(text, NULL);
		line = strtok_r(text, "\n", &save);	/* the header */
		while ((line = strtok_r(NULL, "\n", &save))) {
			char side[8];
			unsigned long long conn;
			unsigned int id, s;

			lines++;
			ASSERT_EQ(sscanf(line, "%llu %7s %u", &conn, side,
					 &id), 3) TH_LOG("%s", line);
			s = !strcmp(side, "peer");
			/* Each side's streams come in order, 1, 2, ... */
			EXPECT_EQ(id, seen[s] + 1) TH_LOG("%s", line);
			seen[s] = id;
		}
		EXPECT_EQ(lines, 2 * N) TH_LOG("read %zu at a time", chunks[k]);
		EXPECT_EQ(seen[0], N);
		EXPECT_EQ(seen[1], N);
		free(text);
	}
	for (i = 0; i < N; i++)
		close(fds[i]);
}

/* In a fresh namespace the counters say exactly what happened. */
TEST_F(ob, counters_count_exactly)
{
	char buf[64] = "x";
	int fd, sfd;

	EXPECT_EQ(ob_stat("Conns", "Attached"), 2);
	EXPECT_EQ(ob_stat("Streams", "Opened"), 0);
	fd = mux_open(self->a, "c", 1, 0, NULL);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, buf, 1), 1);
	sfd = ob_accept(self->b);
	ASSERT_GE(sfd, 0);
	ASSERT_EQ(read(sfd, buf, sizeof(buf)), 1);
	EXPECT_EQ(ob_stat("Streams", "Opened"), 1);
	EXPECT_EQ(ob_stat("Streams", "Incoming"), 1);
	EXPECT_EQ(ob_stat("Streams", "Accepted"), 1);
	EXPECT_EQ(ob_stat("Frames", "OutOpen"), 1);
	EXPECT_EQ(ob_stat("Frames", "InOpen"), 1);
	EXPECT_EQ(ob_stat("Frames", "InData"), 1);
	EXPECT_EQ(ob_stat("Frames", "OutData"), 1);
	EXPECT_EQ(ob_stat("Streams", "Refused"), 0);
	EXPECT_EQ(ob_stat("Malformed", "Type"), 0);
	close(fd);
	close(sfd);
}

/*
 * A raw peer: a RESET with CANCEL and one with an unknown code are
 * counted by code; a writer out of credit is a window stall; a frame of
 * type 9 is Malformed Type and ends the connection (Failed, GOAWAY).
 */
TEST(counters_from_a_raw_peer)
{
	uint8_t f[64], h[HEADER_LEN], p[8192];
	uint8_t chunk[4096] = { 0 };
	struct mux *m;
	size_t n;
	int raw, fd;

	ASSERT_EQ(netns_new(), 0);
	m = raw_peer_new(&raw, 4096);
	ASSERT_NE(m, NULL);
	fd = mux_open(m, "s", 1, SOCK_NONBLOCK, NULL);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
	EXPECT_EQ(write(fd, chunk, 1), -1);
	EXPECT_EQ(errno, EAGAIN);
	EXPECT_EQ(ob_stat("Flow", "WindowStalls"), 1);

	/* RESET CANCEL for our stream 1, RESET 99 for the peer's own 3. */
	n = put_frame(f, FT_OPEN, 3, "r", 1);
	put_be32(p, 4);
	n += put_frame(f + n, FT_RESET, 1 | 0x80000000u, p, 4);
	put_be32(p, 99);
	n += put_frame(f + n, FT_RESET, 3, p, 4);
	ASSERT_EQ(write_all(raw, f, n), 0);
	put_frame(f, FT_PING, 0, "counted", 8);
	ASSERT_EQ(write_all(raw, f, HEADER_LEN + 8), 0);
	ASSERT_EQ(ob_synced(raw, "counted"), 0);
	EXPECT_EQ(ob_stat("Resets", "InCancel"), 1);
	EXPECT_EQ(ob_stat("Resets", "InOther"), 1);
	EXPECT_EQ(ob_stat("Frames", "InReset"), 2);

	/* Type 9: the end, with GOAWAY PROTOCOL_ERROR. */
	put_frame(f, 9, 0, NULL, 0);
	ASSERT_EQ(write_all(raw, f, HEADER_LEN), 0);
	do {
		ASSERT_EQ(raw_read_frame(raw, h, p, sizeof(p)), 0);
	} while (h[0] != FT_GOAWAY);
	EXPECT_EQ(get_be32(p + 4), 1U);
	EXPECT_EQ(ob_stat("Malformed", "Type"), 1);
	EXPECT_EQ(ob_stat("Conns", "Failed"), 1);
	EXPECT_EQ(ob_stat("Frames", "OutGoaway"), 1);
	close(fd);
	mux_close(m);
	close(raw);
}

/* tracefs, where it is mounted. */
static const char *ob_tracefs(void)
{
	if (!access("/sys/kernel/tracing/events/afmux/enable", W_OK))
		return "/sys/kernel/tracing";
	if (!access("/sys/kernel/debug/tracing/events/afmux/enable", W_OK))
		return "/sys/kernel/debug/tracing";
	return NULL;
}

static int ob_trace_write(const char *fs, const char *file, const char *s)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", fs, file);
	return write_file(path, s);
}

/* The afmux: events fire with the ids /proc shows. */
TEST_F(ob, tracepoints_fire)
{
	static const struct {
		const char *event;
		bool a;			/* on a's connection, else b's */
		const char *rest;
	} events[] = {
		{ "afmux_stream_open", true, "stream=1 local=1 key_len=6" },
		{ "afmux_stream_incoming", false, "stream=1 local=0" },
		{ "afmux_stream_accept", false, "stream=1 local=0" },
		{ "afmux_frame_tx", true,
		  "type=DATA flags=0x0 len=5 stream=0x1" },
		{ "afmux_frame_rx", false,
		  "type=DATA flags=0x0 len=5 stream=0x1" },
		{ "afmux_stream_end", true, "stream=1 local=1 tx END" },
		{ "afmux_stream_end", false, "stream=1 local=0 rx END" },
	};
	const char *fs = ob_tracefs();
	char path[256], want[128], id_a[32], id_b[32], *trace;
	char buf[16] = "hello";
	unsigned int i;
	int fd, sfd;

	ASSERT_NE(fs, NULL) TH_LOG("no tracefs with afmux events");
	ASSERT_EQ(proc_conn_field(self->a, "id", id_a, sizeof(id_a)), 0);
	ASSERT_EQ(proc_conn_field(self->b, "id", id_b, sizeof(id_b)), 0);
	ASSERT_EQ(ob_trace_write(fs, "trace", ""), 0);	/* clear */
	ASSERT_EQ(ob_trace_write(fs, "events/afmux/enable", "1"), 0);
	fd = mux_open(self->a, "traced", 6, 0, NULL);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, buf, 5), 5);
	ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
	sfd = ob_accept(self->b);
	ASSERT_GE(sfd, 0);
	ASSERT_EQ(read_full(sfd, buf, 5), 5);
	EXPECT_EQ(read(sfd, buf, 1), 0);
	close(sfd);
	EXPECT_EQ(read(fd, buf, 1), 0);
	close(fd);
	ASSERT_EQ(ob_trace_write(fs, "events/afmux/enable", "0"), 0);

	snprintf(path, sizeof(path), "%s/trace", fs);
	trace = proc_read(path, 65536);
	ASSERT_NE(trace, NULL);
	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		snprintf(want, sizeof(want), "%s: conn=%s %s", events[i].event,
			 events[i].a ? id_a : id_b, events[i].rest);
		EXPECT_NE(strstr(trace, want), NULL) TH_LOG("no %s", want);
	}
	if (!_metadata->passed)	/* for the log */
		fputs(trace, stderr);
	free(trace);
}

TEST_HARNESS_MAIN
