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
 *
 * The data-path test instead fails any slab and page allocation of its
 * two threads (a writer, a reader) at 1, 10 and 50 %: whatever fails
 * must come back as an errno or end the stream or connection with an
 * error, never as bytes silently lost or changed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"

#define FAILSLAB "/sys/kernel/debug/failslab"

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
	    write_file(FAILSLAB "/cache-filter", "Y") ||
	    write_file(FAILSLAB "/ignore-gfp-wait", "N") ||
	    write_file(FAILSLAB "/task-filter", all_tasks ? "N" : "Y") ||
	    write_file(FAILSLAB "/interval", "1") ||
	    write_file(FAILSLAB "/verbose", "0") ||
	    write_file(FAILSLAB "/times", "-1") ||
	    write_file("/proc/self/make-it-fail", "1"))
		return -1;
	return write_file(FAILSLAB "/probability", "100");
}

static void failslab_off(void)
{
	write_file("/proc/self/make-it-fail", "0");
	write_file(FAILSLAB "/probability", "0");
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

#define DP_STREAMS	4
#define DP_BYTES	(256 * 1024)	/* one window: writes never wait */
#define DP_CHUNK	16384
#define DP_ROUND_S	8		/* seconds of rounds per probability */

struct dp_run {
	struct mux *a, *b;		/* writer's end, reader's end */
	bool opened[DP_STREAMS];	/* writer: the OPEN succeeded */
	size_t written[DP_STREAMS];	/* writer: bytes write() took */
	size_t got[DP_STREAMS];		/* reader: bytes read, all checked */
	int end[DP_STREAMS];		/* reader: 1 EOF, -errno, 0 none */
	bool writer_done;		/* under dp_lock */
	bool accept_failed;		/* ACCEPT ended with an error */
	char bad[160];			/* the first broken rule */
	unsigned int errnos[160];	/* how often each errno came back */
};

static pthread_mutex_t dp_lock = PTHREAD_MUTEX_INITIALIZER;

static uint8_t dp_byte(unsigned int k, size_t i)
{
	return (uint8_t)(i * 131 + k * 7 + (i >> 12));
}

/* Fail this thread's allocations (failslab, fail_page_alloc) or stop. */
static void dp_inject(bool on)
{
	write_file("/proc/thread-self/make-it-fail", on ? "1" : "0");
}

static int dp_faults_on(unsigned int percent)
{
	static const char *const dirs[] = { FAILSLAB,
					    "/sys/kernel/debug/fail_page_alloc" };
	char p[16];
	unsigned int i;

	snprintf(p, sizeof(p), "%u", percent);
	for (i = 0; i < 2; i++) {
		char path[128];
		static const char *const kv[][2] = {
			{ "task-filter", "Y" }, { "interval", "1" },
			{ "verbose", "0" }, { "times", "-1" },
			{ "space", "0" },
		};
		unsigned int j;

		for (j = 0; j < sizeof(kv) / sizeof(kv[0]); j++) {
			snprintf(path, sizeof(path), "%s/%s", dirs[i],
				 kv[j][0]);
			if (write_file(path, kv[j][1]))
				return -1;
		}
		snprintf(path, sizeof(path), "%s/probability", dirs[i]);
		if (write_file(path, p))
			return -1;
	}
	return write_file(FAILSLAB "/cache-filter", "N") ||
	       write_file(FAILSLAB "/ignore-gfp-wait", "N") ||
	       write_file("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N") ||
	       write_file("/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem",
		   "N") ? -1 : 0;
}

static void dp_faults_off(void)
{
	write_file(FAILSLAB "/probability", "0");
	write_file("/sys/kernel/debug/fail_page_alloc/probability", "0");
}

/* An errno that came back: counted; one no failure may cause, noted. */
static void dp_errno(struct dp_run *r, const char *call, int err)
{
	pthread_mutex_lock(&dp_lock);
	if (err > 0 && err < 160)
		r->errnos[err]++;
	if (!r->bad[0] && (err <= 0 || err >= 512 || err == EFAULT ||
			   err == EBADF || err == ENOTSOCK || err == EINVAL))
		snprintf(r->bad, sizeof(r->bad), "%s: errno %d (%s)", call,
			 err, strerror(err));
	pthread_mutex_unlock(&dp_lock);
}

static void *dp_writer(void *arg)
{
	struct timeval tv = { .tv_sec = 10 };
	static __thread uint8_t buf[DP_CHUNK];
	struct dp_run *r = arg;
	unsigned int k;
	char key[8];

	dp_inject(true);
	for (k = 0; k < DP_STREAMS; k++) {
		int fd;

		snprintf(key, sizeof(key), "s%u", k);
		fd = mux_open(r->a, key, strlen(key), 0, NULL);
		if (fd < 0) {
			dp_errno(r, "open", errno);
			continue;
		}
		pthread_mutex_lock(&dp_lock);
		r->opened[k] = true;
		pthread_mutex_unlock(&dp_lock);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		while (r->written[k] < DP_BYTES) {
			size_t i, n = DP_BYTES - r->written[k];
			ssize_t w;

			n = n < DP_CHUNK ? n : DP_CHUNK;
			for (i = 0; i < n; i++)
				buf[i] = dp_byte(k, r->written[k] + i);
			w = write(fd, buf, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				dp_errno(r, "write", errno);
				break;
			}
			r->written[k] += (size_t)w;
		}
		close(fd);
	}
	dp_inject(false);
	pthread_mutex_lock(&dp_lock);
	r->writer_done = true;
	pthread_mutex_unlock(&dp_lock);
	return NULL;
}

/* Read stream @k to its end, checking every byte. */
static void dp_read_stream(struct dp_run *r, int fd, unsigned int k)
{
	struct timeval tv = { .tv_sec = 10 };
	static __thread uint8_t buf[DP_CHUNK];

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf)), i;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			pthread_mutex_lock(&dp_lock);
			if (!r->bad[0])
				snprintf(r->bad, sizeof(r->bad),
					 "stream %u stalled 10 s at %zu", k,
					 r->got[k]);
			pthread_mutex_unlock(&dp_lock);
			r->end[k] = -EAGAIN;
			return;
		}
		if (n < 0) {
			dp_errno(r, "read", errno);
			r->end[k] = -errno;
			return;
		}
		if (!n) {
			r->end[k] = 1;
			return;
		}
		for (i = 0; i < n; i++) {
			if (buf[i] != dp_byte(k, r->got[k] + (size_t)i)) {
				pthread_mutex_lock(&dp_lock);
				snprintf(r->bad, sizeof(r->bad),
					 "stream %u: byte %zu changed", k,
					 r->got[k] + (size_t)i);
				pthread_mutex_unlock(&dp_lock);
				r->end[k] = -EILSEQ;
				return;
			}
		}
		r->got[k] += (size_t)n;
	}
}

/*
 * Streams the reader's end refused: an allocation for the peer's OPEN
 * failed there, so it answered RESET REFUSED_STREAM and counted it.
 * Such a stream never reaches the accept queue; the writer, which
 * closed after one window, learns of it only from that RESET.
 */
static unsigned int dp_refused(struct dp_run *r)
{
	struct afmux_stats st;
	socklen_t len = sizeof(st);

	if (getsockopt(mux_fd(r->b), SOL_AFMUX, AFMUX_STATS, &st, &len))
		return 0;
	return (unsigned int)st.streams_refused;
}

/* Opened streams the reader has not seen end. */
static unsigned int dp_missing(struct dp_run *r)
{
	unsigned int k, n = 0;

	for (k = 0; k < DP_STREAMS; k++)
		if (r->opened[k] && !r->end[k])
			n++;
	return n;
}

/*
 * Every stream the writer opened has been read, or refused: refused
 * ones never arrive, so once no more are missing than were refused,
 * every other one has come.
 */
static bool dp_all_read(struct dp_run *r)
{
	bool all;

	pthread_mutex_lock(&dp_lock);
	all = r->writer_done && dp_missing(r) <= dp_refused(r);
	pthread_mutex_unlock(&dp_lock);
	return all;
}

/* Has the connection ended (POLLHUP on the mux socket)? */
static bool dp_conn_over(struct mux *m)
{
	struct pollfd p = { .fd = mux_fd(m) };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

static void *dp_reader(void *arg)
{
	struct dp_run *r = arg;
	time_t until = time(NULL) + 30;

	dp_inject(true);
	while (!dp_all_read(r)) {
		char key[16];
		size_t klen = sizeof(key) - 1;
		unsigned int k;
		int fd;

		if (time(NULL) > until) {
			pthread_mutex_lock(&dp_lock);
			snprintf(r->bad, sizeof(r->bad),
				 "an opened stream never came in 30 s");
			pthread_mutex_unlock(&dp_lock);
			break;
		}
		fd = mux_accept(r->b, key, &klen, 0, NULL);
		if (fd < 0 && errno == EAGAIN) {
			usleep(1000);
			continue;
		}
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0) {
			dp_errno(r, "accept", errno);
			/*
			 * Out of memory now, or the connection ended for
			 * lack of it (accept returns its SO_ERROR, ENOMEM):
			 * POLLHUP tells them apart.
			 */
			if ((errno == ENOMEM || errno == ENFILE) &&
			    !dp_conn_over(r->b))
				continue;
			r->accept_failed = true;
			break;
		}
		key[klen] = 0;
		if (sscanf(key, "s%u", &k) != 1 || k >= DP_STREAMS ||
		    r->end[k]) {
			snprintf(r->bad, sizeof(r->bad), "unexpected key %s",
				 key);
			close(fd);
			break;
		}
		dp_read_stream(r, fd, k);
		close(fd);
	}
	dp_inject(false);
	return NULL;
}

static void dp_log_file(struct __test_metadata *_metadata, const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	TH_LOG("%s:", path);
	while (fgets(line, sizeof(line), f))
		TH_LOG("  %s", strtok(line, "\n") ?: "");
	fclose(f);
}

/* One connection, DP_STREAMS streams, faults at @percent; 0 if sound. */
static int dp_round(struct __test_metadata *_metadata, unsigned int percent,
		    unsigned int errnos[160], unsigned int *nrefused)
{
	struct dp_run r = { 0 };
	pthread_t w, rd;
	int c, s, e_a = 0, e_b = 0;
	socklen_t len = sizeof(int);
	unsigned int k, i, refused;

	ASSERT_EQ(tcp_pair(&c, &s), 0);
	r.a = mux_new(c);
	r.b = mux_new(s);
	ASSERT_NE(r.a, NULL);
	ASSERT_NE(r.b, NULL);
	close(c);
	close(s);
	ASSERT_EQ(mux_set_nonblock(r.b, 1), 0);
	ASSERT_EQ(dp_faults_on(percent), 0) TH_LOG("fault injection: %s",
						   strerror(errno));
	ASSERT_EQ(pthread_create(&w, NULL, dp_writer, &r), 0);
	ASSERT_EQ(pthread_create(&rd, NULL, dp_reader, &r), 0);
	pthread_join(w, NULL);
	pthread_join(rd, NULL);
	dp_faults_off();

	getsockopt(mux_fd(r.a), SOL_SOCKET, SO_ERROR, &e_a, &len);
	len = sizeof(int);
	getsockopt(mux_fd(r.b), SOL_SOCKET, SO_ERROR, &e_b, &len);
	refused = dp_refused(&r);
	for (k = 0; k < DP_STREAMS && !r.bad[0]; k++) {
		if (r.end[k] == 1 && r.got[k] != r.written[k])
			snprintf(r.bad, sizeof(r.bad),
				 "stream %u: EOF after %zu of %zu bytes", k,
				 r.got[k], r.written[k]);
		else if (r.end[k] < 0 && r.got[k] > r.written[k])
			snprintf(r.bad, sizeof(r.bad),
				 "stream %u: %zu bytes read, %zu written", k,
				 r.got[k], r.written[k]);
		else if (!r.end[k] && r.opened[k] && !e_a && !e_b &&
			 !r.accept_failed && dp_missing(&r) > refused)
			snprintf(r.bad, sizeof(r.bad),
				 "stream %u (%zu bytes) vanished: no error",
				 k, r.written[k]);
	}
	for (i = 0; i < 160; i++)
		errnos[i] += r.errnos[i];
	*nrefused += refused;
	if (r.bad[0]) {		/* what the kernel holds, for the log */
		dp_log_file(_metadata, "/proc/net/afmux");
		dp_log_file(_metadata, "/proc/net/afmux_streams");
	}
	mux_close(r.a);
	mux_close(r.b);
	EXPECT_EQ(r.bad[0], 0) TH_LOG("at %u %%: %s", percent, r.bad);
	return r.bad[0] ? -1 : 0;
}

/*
 * The data path with allocations failing at 1, 10 and 50 %: every
 * stream's reader gets exactly what its writer's write() calls took and
 * EOF, or a prefix of it and an error, or the connection ends with an
 * error, or the reader's end refused the stream (and counted it in
 * streams_refused); and every socket is freed after.
 */
FIXTURE(dp) {
};

FIXTURE_SETUP(dp)
{
}

FIXTURE_TEARDOWN(dp)
{
	dp_faults_off();
}

TEST_F_TIMEOUT(dp, data_path_with_failing_allocations, 180)
{
	static const unsigned int pct[] = { 1, 10, 50 };
	unsigned int errnos[160] = { 0 }, i, e, rounds = 0, refused = 0;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(pct) / sizeof(pct[0]); i++) {
		time_t until = time(NULL) + DP_ROUND_S;

		while (time(NULL) < until) {
			if (dp_round(_metadata, pct[i], errnos, &refused))
				break;
			rounds++;
		}
	}
	dp_faults_off();
	for (e = 0; e < 160; e++)
		if (errnos[e])
			TH_LOG("%u x %s", errnos[e], strerror((int)e));
	TH_LOG("%u rounds, %u streams refused by the reader's end", rounds,
	       refused);
	EXPECT_EQ(afmux_wait_refcnt_zero(), 0);
}

TEST_HARNESS_MAIN
