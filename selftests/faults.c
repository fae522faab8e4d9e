// SPDX-License-Identifier: GPL-2.0
/*
 * faults.c - afmux under injected faults (docs/security.md, "Fault
 * injection").  Runs on the debug kernel only (selftests/run_tests adds
 * it there), which has failslab and fail_page_alloc.
 *
 * failslab is confined to this task (make-it-fail, task-filter) and, with
 * cache-filter, to the slab caches the kernel was booted to mark
 * (tools/vm-run: slub_debug=A,...): an allocation the test aims at fails,
 * not one of the many around it.  (fail_function would aim
 * better, but 6.1 draws its random numbers in the kprobe's NMI-like
 * context, which lockdep reports.)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"

#define FAILSLAB "/sys/kernel/debug/failslab"

static int put(const char *path, const char *s)
{
	FILE *f = fopen(path, "we");
	int ret;

	if (!f)
		return -1;
	ret = fputs(s, f) < 0 ? -1 : 0;
	return fclose(f) || ret ? -1 : 0;
}

static long get_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1000;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1000;
		fclose(f);
	}
	return v;
}

/* Is @cache one that failslab may fail (tools/vm-run's slub_debug=A)? */
static int cache_failslab(const char *cache)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/failslab", cache);
	return get_long(path) == 1 ? 0 : -1;
}

/*
 * Fail every allocation from slab @cache (sleeping ones too) in this task,
 * or with @all_tasks in every context, until failslab_off().
 */
static int failslab_on(const char *cache, bool all_tasks)
{
	if (cache_failslab(cache) ||
	    put(FAILSLAB "/cache-filter", "Y") ||
	    put(FAILSLAB "/ignore-gfp-wait", "N") ||
	    put(FAILSLAB "/task-filter", all_tasks ? "N" : "Y") ||
	    put(FAILSLAB "/interval", "1") ||
	    put(FAILSLAB "/verbose", "0") ||
	    put(FAILSLAB "/times", "-1") ||
	    put("/proc/self/make-it-fail", "1"))
		return -1;
	return put(FAILSLAB "/probability", "100");
}

static void failslab_off(void)
{
	put("/proc/self/make-it-fail", "0");
	put(FAILSLAB "/probability", "0");
}

static uint64_t tx_worker_runs(struct mux *m)
{
	struct afmux_stats st;
	socklen_t len = sizeof(st);

	if (getsockopt(mux_fd(m), SOL_AFMUX, AFMUX_STATS, &st, &len))
		return UINT64_MAX;
	return st.tx_worker_runs;
}

/*
 * For a second TCP cannot allocate the first skb of the pump's frame,
 * with nothing in flight.  TCP then calls write_space itself (to wake
 * edge-triggered pollers); the pump used to take that as room and run
 * again at once, a high-priority worker spinning for as long as memory
 * was short.  Now it tries again every HZ / 5, as TCP's own sendmsg
 * waits there, and sends once memory is back.  A write of a few bytes
 * goes to TCP inside write() (the pump runs in the writer on a
 * one-stream connection).
 */
TEST(pump_waits_while_tcp_has_no_memory)
{
	static char buf[256], got[256];
	struct timeval tv = { .tv_sec = 10 };
	struct tcp_info ti;
	socklen_t len;
	struct mux *a, *b;
	uint64_t runs;
	char key[8];
	int c, s, w, r, i;

	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(tcp_pair(&c, &s), 0);
	a = mux_new(c);
	b = mux_new(s);
	ASSERT_NE(a, NULL);
	ASSERT_NE(b, NULL);
	close(s);
	w = mux_send(a, "k");
	ASSERT_GE(w, 0);
	r = mux_receive(b, key, sizeof(key));
	ASSERT_GE(r, 0);
	ASSERT_EQ(setsockopt(r, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	/* Quiet: everything sent so far has arrived and been acknowledged. */
	ASSERT_EQ(write_all(w, "hi", 2), 0);
	ASSERT_EQ(read_full(r, got, 2), 2);
	for (i = 0; i < 500; i++) {
		len = sizeof(ti);
		ASSERT_EQ(getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
		if (!ti.tcpi_unacked)
			break;
		usleep(10000);
	}
	ASSERT_EQ(ti.tcpi_unacked, 0U) TH_LOG("TCP never went quiet");

	memset(buf, 'm', sizeof(buf));
	runs = tx_worker_runs(a);
	ASSERT_EQ(failslab_on("skbuff_fclone_cache", true), 0)
		TH_LOG("failslab: %s", strerror(errno));
	EXPECT_EQ(write(w, buf, 100), 100);
	usleep(1000 * 1000);
	runs = tx_worker_runs(a) - runs;
	failslab_off();
	EXPECT_LE(runs, 20U) TH_LOG("the pump ran %llu times in a second",
				    (unsigned long long)runs);
	EXPECT_GE(runs, 2U) TH_LOG("the pump did not retry");
	EXPECT_EQ(read_full(r, got, 100), 100)
		TH_LOG("the pump did not start again: %s", strerror(errno));
	EXPECT_EQ(memcmp(got, buf, 100), 0);
	close(w);
	close(r);
	close(c);
	mux_close(a);
	mux_close(b);
	EXPECT_EQ(afmux_wait_refcnt_zero(), 0);
}

TEST_HARNESS_MAIN
