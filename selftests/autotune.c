// SPDX-License-Identifier: GPL-2.0
/*
 * autotune.c - selftests for per-stream receive window autotuning
 * (docs/design.md, "Windows"): over a link with a 50 ms round trip a
 * stream's window grows beyond its initial 256 KiB (up to
 * net.ipv4.tcp_rmem[2]), so one stream is not held at window/RTT; a
 * window the user set stays as set.
 *
 * Each test runs in a network namespace of its own whose loopback device
 * delays every packet by 25 ms (tc netem), so 127.0.0.1 has a 50 ms RTT.
 * With a fixed 256 KiB window, XFER_LEN cannot take less than
 * XFER_LEN / 256 KiB round trips (4.8 s); that bound, not a guess about
 * this machine's speed, is what the timing checks compare with.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"

#define XFER_LEN	(24u << 20)
#define CHUNK		(64 * 1024)
#define RTT_MS		50

/* A namespace of our own whose loopback has RTT_MS round trips. */
static int slow_loopback(void)
{
	char cmd[128];

	if (unshare(CLONE_NEWNET))
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "ip link set lo up && tc qdisc add dev lo root netem delay %dms",
		 RTT_MS / 2);
	return system(cmd) == 0 ? 0 : -1;
}

static long tcp_rmem_max(void)
{
	long a, b, c = -1;
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_rmem", "r");

	if (f) {
		if (fscanf(f, "%ld %ld %ld", &a, &b, &c) != 3)
			c = -1;
		fclose(f);
	}
	return c;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct writer {
	int fd, err;
};

static void *writer_main(void *arg)
{
	static char buf[CHUNK];
	struct writer *w = arg;
	size_t left = XFER_LEN;

	memset(buf, 'a', sizeof(buf));
	while (left) {
		if (write_all(w->fd, buf, CHUNK)) {
			w->err = errno;
			break;
		}
		left -= CHUNK;
	}
	shutdown(w->fd, SHUT_WR);
	return NULL;
}

/*
 * Move XFER_LEN bytes over one stream; @window: set the receiver's window
 * first (0: leave it to autotuning).  Returns the seconds it took and
 * the receiver's window at the end in *@final.
 */
static double transfer(struct __test_metadata *_metadata, uint32_t window,
		       uint32_t *final)
{
	struct mux *client, *server;
	struct writer w = { 0 };
	static char buf[CHUNK];
	pthread_t t;
	size_t got = 0;
	double t0, t1;
	ssize_t n;
	int c, s;

	ASSERT_EQ(0, tcp_pair(&c, &s)) TH_LOG("tcp_pair: %s", strerror(errno));
	client = mux_new(c);
	server = mux_new(s);
	ASSERT_TRUE(client && server) TH_LOG("mux_new: %s", strerror(errno));
	close(c);
	close(s);
	w.fd = mux_open(client, "bulk", 4, 0, NULL);
	ASSERT_GE(w.fd, 0) TH_LOG("mux_open: %s", strerror(errno));
	/* One byte first, so the receiver can set its window in time. */
	ASSERT_EQ(0, write_all(w.fd, "x", 1));
	s = mux_accept(server, (char[64]){ 0 }, &(size_t){ 64 }, 0, NULL);
	ASSERT_GE(s, 0) TH_LOG("mux_accept: %s", strerror(errno));
	if (window)
		ASSERT_EQ(0, mux_stream_set_window(s, window));
	ASSERT_EQ(1, read(s, buf, 1));

	t0 = now_s();
	ASSERT_EQ(0, pthread_create(&t, NULL, writer_main, &w));
	while ((n = read(s, buf, sizeof(buf))) > 0)
		got += n;
	t1 = now_s();
	pthread_join(t, NULL);
	EXPECT_EQ(0, n) TH_LOG("read: %s", strerror(errno));
	EXPECT_EQ(0, w.err) TH_LOG("writer: %s", strerror(w.err));
	EXPECT_EQ(XFER_LEN, got);
	ASSERT_EQ(0, mux_stream_info(s, NULL, NULL, final));
	close(w.fd);
	close(s);
	mux_close(client);
	mux_close(server);
	return t1 - t0;
}

/* The floor a fixed window of @window bytes puts on XFER_LEN's time. */
static double window_bound_s(uint32_t window)
{
	return (double)XFER_LEN / window * RTT_MS / 1000;
}

TEST(window_grows_on_a_long_link)
{
	long max = tcp_rmem_max();
	uint32_t final;
	double fixed, tuned;

	ASSERT_EQ(0, slow_loopback())
		TH_LOG("netns with netem on lo (needs ip, tc, sch_netem)");
	ASSERT_GT(max, AFMUX_WINDOW_DEFAULT) TH_LOG("tcp_rmem[2] = %ld", max);

	/* The reference: a window fixed at the default. */
	fixed = transfer(_metadata, AFMUX_WINDOW_DEFAULT, &final);
	EXPECT_EQ(AFMUX_WINDOW_DEFAULT, final)
		TH_LOG("a window the user set changed to %u", final);
	EXPECT_GE(fixed, window_bound_s(AFMUX_WINDOW_DEFAULT) * 0.95)
		TH_LOG("fixed window faster than window/RTT allows: %.2f s",
		       fixed);

	tuned = transfer(_metadata, 0, &final);
	TH_LOG("%u MiB at %d ms RTT: fixed 256 KiB window %.2f s, autotuned %.2f s (window now %u KiB, bound %ld KiB)",
	       XFER_LEN >> 20, RTT_MS, fixed, tuned, final >> 10, max >> 10);
	EXPECT_GT(final, AFMUX_WINDOW_DEFAULT)
		TH_LOG("the window did not grow");
	EXPECT_LE(final, max) TH_LOG("the window outgrew tcp_rmem[2]");
	/* Faster than any stream held at 256 KiB per round trip can be. */
	EXPECT_LT(tuned, window_bound_s(AFMUX_WINDOW_DEFAULT))
		TH_LOG("autotuned: %.2f s, not under the fixed window's bound %.2f s",
		       tuned, window_bound_s(AFMUX_WINDOW_DEFAULT));
}

/* A window the user chose is left alone even when it limits. */
TEST(user_window_stays)
{
	uint32_t final;

	ASSERT_EQ(0, slow_loopback());
	transfer(_metadata, 1 << 20, &final);
	EXPECT_EQ(1u << 20, final);
}

TEST_HARNESS_MAIN
