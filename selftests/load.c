// SPDX-License-Identifier: GPL-2.0
/*
 * load.c - many connections at once (docs/security.md, "Load"): 1,000
 * connections whose readers stalled stay within their windows, and
 * 10,000 connections with 10 streams each open at once on one machine
 * all work and cost a bounded, reported amount of kernel memory.  Both
 * ends run in this process over loopback TCP.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/afmux.h>
#include <linux/sock_diag.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"

FIXTURE(load) {
	int listener;
	struct sockaddr_in addr;
};

FIXTURE_SETUP(load)
{
	socklen_t len = sizeof(self->addr);
	struct rlimit rl = { 1 << 20, 1 << 20 };

	ASSERT_EQ(afmux_wait_refcnt_zero(), 0);
	ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	self->addr.sin_family = AF_INET;
	self->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	self->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(self->listener, 0);
	ASSERT_EQ(bind(self->listener, (struct sockaddr *)&self->addr,
		       sizeof(self->addr)), 0);
	ASSERT_EQ(listen(self->listener, 64), 0);
	ASSERT_EQ(getsockname(self->listener, (struct sockaddr *)&self->addr,
			      &len), 0);
}

FIXTURE_TEARDOWN(load)
{
	close(self->listener);
	sysctl_put("window", 262144);
}

/* A connection to the fixture's listener, both ends attached. */
static int load_pair(struct __test_metadata *_metadata,
		     FIXTURE_DATA(load) *self, struct mux **a, struct mux **b)
{
	int c, s;

	(void)_metadata;
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&self->addr,
			     sizeof(self->addr)))
		return -1;
	s = accept4(self->listener, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		return -1;
	*a = mux_new(c);
	*b = mux_new(s);
	close(c);
	close(s);
	return *a && *b ? 0 : -1;
}

/* A field of /proc/meminfo, in KiB. */
static long load_meminfo(const char *name)
{
	char line[128];
	size_t n = strlen(name);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':') {
			v = atol(line + n + 1);
			break;
		}
	fclose(f);
	return v;
}

/* This process's resident memory, in KiB. */
static long load_rss(void)
{
	long pages = -1, rss = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = -1;
		fclose(f);
	}
	return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * The kernel's own memory in KiB: what is in use (not free, not page
 * cache) less this process's resident pages.
 */
static long load_kernel_kib(void)
{
	return load_meminfo("MemTotal") - load_meminfo("MemFree") -
	       load_meminfo("Buffers") - load_meminfo("Cached") - load_rss();
}

#define STALLED		1000
#define STALL_WINDOW	65536

/*
 * 1,000 connections, each with one stream whose reader never reads and
 * whose writer has written up to twice its window: every connection's credit
 * stays within its window, each stream's receive memory within the
 * documented 5 windows, and the total is reported.
 */
TEST_F_TIMEOUT(load, thousand_stalled_connections, 300)
{
	static uint8_t buf[2 * STALL_WINDOW];
	struct mux **a, **b;
	int *s, *t, i, w, stalled = 0;
	uint64_t total = 0, most = 0, credit = 0;

	ASSERT_EQ(sysctl_put("window", STALL_WINDOW), 0);
	a = calloc(STALLED, sizeof(*a));
	b = calloc(STALLED, sizeof(*b));
	s = calloc(STALLED, sizeof(*s));
	t = calloc(STALLED, sizeof(*t));
	ASSERT_TRUE(a && b && s && t);
	for (i = 0; i < STALLED; i++) {
		char key[8];

		ASSERT_EQ(load_pair(_metadata, self, &a[i], &b[i]), 0) TH_LOG("connection %d", i);
		s[i] = mux_open(a[i], "s", 1, AFMUX_O_NONBLOCK, NULL);
		ASSERT_GE(s[i], 0);
		t[i] = mux_receive(b[i], key, sizeof(key));
		ASSERT_GE(t[i], 0);
		/* Up to twice the window, as far as the stream takes it. */
		for (w = 0; w < (int)sizeof(buf);) {
			ssize_t n = write(s[i], buf, sizeof(buf) - w);

			if (n <= 0)
				break;
			w += n;
		}
		ASSERT_GE(w, STALL_WINDOW);
	}
	for (i = 0; i < STALLED; i++) {
		uint32_t mi[SK_MEMINFO_VARS];
		socklen_t len = sizeof(mi);
		struct afmux_stats st;
		uint64_t rmem;

		/* Everything the window lets through has arrived? */
		for (w = 0; w < 1000; w++) {
			len = sizeof(st);
			ASSERT_EQ(getsockopt(mux_fd(b[i]), SOL_AFMUX,
					     AFMUX_STATS, &st, &len), 0);
			if (st.bytes_rx >= STALL_WINDOW)
				break;
			usleep(10000);
		}
		stalled += st.bytes_rx == STALL_WINDOW;
		credit += st.rx_credit;
		EXPECT_LE(st.rx_credit, STALL_WINDOW);
		len = sizeof(mi);
		ASSERT_EQ(getsockopt(t[i], SOL_SOCKET, SO_MEMINFO, mi, &len), 0);
		rmem = mi[SK_MEMINFO_RMEM_ALLOC];
		EXPECT_LE(rmem, 5 * STALL_WINDOW);
		total += rmem;
		if (rmem > most)
			most = rmem;
	}
	EXPECT_EQ(stalled, STALLED) TH_LOG("streams not filled to their window");
	TH_LOG("%d stalled streams hold %llu KiB of receive memory (at most %llu KiB one, %llu KiB credit in all)",
	       STALLED, (unsigned long long)total >> 10,
	       (unsigned long long)most >> 10,
	       (unsigned long long)credit >> 10);
	for (i = 0; i < STALLED; i++) {
		close(s[i]);
		close(t[i]);
		mux_close(a[i]);
		mux_close(b[i]);
	}
	EXPECT_EQ(sysctl_put("window", 262144), 0);
	EXPECT_EQ(afmux_wait_refcnt_zero(), 0);
}

#define LOAD_CONNS	10000
#define LOAD_CONNS_DEBUG 1000	/* KASAN and lockdep: 5 to 10 times slower */
#define LOAD_STREAMS	10	/* per connection */
/* Kernel memory one stream (both ends) with its share of a connection
 * may cost at most; docs/security.md gives what was measured.
 */
#define LOAD_STREAM_MAX	(16 * 1024)

/*
 * 10,000 connections with 10 streams each, all open at once (both ends
 * here: 20,000 mux sockets, 200,000 stream fds) at the smallest window:
 * every stream carries a byte each way, the kernel memory they cost is
 * reported and bounded, and closing them all frees everything.  The
 * debug kernel runs a tenth of it: its checks, not its memory figures,
 * are what it is for, and the whole would take it 15 minutes.
 */
TEST_F_TIMEOUT(load, ten_thousand_connections, 1800)
{
	const char *kernel = getenv("AFMUX_VM_KERNEL");
	bool debug = kernel && !strcmp(kernel, "debug");
	const int conns = debug ? LOAD_CONNS_DEBUG : LOAD_CONNS;
	const int n = conns * LOAD_STREAMS;
	long kib0, slab0, kib, slab;
	struct mux **a, **b;
	int *s, *t, i, j;
	time_t t0;

	ASSERT_EQ(sysctl_put("window", AFMUX_WINDOW_MIN), 0);
	a = calloc(conns, sizeof(*a));
	b = calloc(conns, sizeof(*b));
	s = calloc(n, sizeof(*s));
	t = calloc(n, sizeof(*t));
	ASSERT_TRUE(a && b && s && t);
	kib0 = load_kernel_kib();
	slab0 = load_meminfo("Slab");
	t0 = time(NULL);
	for (i = 0; i < conns; i++) {
		ASSERT_EQ(load_pair(_metadata, self, &a[i], &b[i]), 0)
			TH_LOG("connection %d: %s", i, strerror(errno));
		for (j = 0; j < LOAD_STREAMS; j++) {
			int k = i * LOAD_STREAMS + j;
			char key[16], got[16];
			size_t klen = sizeof(got);

			snprintf(key, sizeof(key), "%d", k);
			s[k] = mux_open(a[i], key, strlen(key), 0, NULL);
			ASSERT_GE(s[k], 0)
				TH_LOG("stream %d: %s", k, strerror(errno));
			t[k] = mux_accept(b[i], got, &klen, 0, NULL);
			ASSERT_GE(t[k], 0)
				TH_LOG("accept %d: %s", k, strerror(errno));
			ASSERT_EQ(klen, strlen(key));
			ASSERT_EQ(memcmp(got, key, klen), 0);
		}
	}
	kib = load_kernel_kib() - kib0;
	slab = load_meminfo("Slab") - slab0;
	TH_LOG("%d connections x %d streams open in %ld s: kernel memory +%ld MiB (slab +%ld MiB), %ld bytes per stream with both ends",
	       conns, LOAD_STREAMS, (long)(time(NULL) - t0), kib >> 10,
	       slab >> 10, kib * 1024 / n);
	/* KASAN and slub_debug's redzones double the debug kernel's. */
	EXPECT_LE(kib * 1024 / n, debug ? 2 * LOAD_STREAM_MAX : LOAD_STREAM_MAX);

	/* Every one of them works, both ways: all writes, then all reads. */
	for (j = 0; j < 2; j++) {
		int *from = j ? t : s, *to = j ? s : t;

		for (i = 0; i < n; i++) {
			char c = (char)(i + j);

			ASSERT_EQ(write(from[i], &c, 1), 1);
		}
		for (i = 0; i < n; i++) {
			char d = 0;

			ASSERT_EQ(read(to[i], &d, 1), 1) TH_LOG("stream %d", i);
			ASSERT_EQ(d, (char)(i + j));
		}
	}
	for (i = 0; i < n; i++) {
		close(s[i]);
		close(t[i]);
	}
	for (i = 0; i < conns; i++) {
		mux_close(a[i]);
		mux_close(b[i]);
	}
	free(a);
	free(b);
	free(s);
	free(t);
	EXPECT_EQ(sysctl_put("window", 262144), 0);
	/* 20,000 connections end one by one, each with a FIN exchange. */
	t0 = time(NULL);
	EXPECT_EQ(afmux_wait_refcnt_zero_for(300), 0);
	TH_LOG("all freed %ld s after the last close", (long)(time(NULL) - t0));
}

TEST_HARNESS_MAIN
