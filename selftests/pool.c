// SPDX-License-Identifier: GPL-2.0
/*
 * pool.c - one mux over several TCP connections (docs/protocol.md §12,
 * AFMUX_ATTACH_POOL, AFMUX_IOC_JOIN) between two muxes: joining and the
 * joins refused (another mux's peer, a closed mux, a peer that never
 * answers, bad arguments), where streams go, listen() across the pool, a
 * connection of the pool reset while the others' streams finish with
 * matching SHA-256, seed case 1 over a pool of 4, and the memory budget
 * spanning the pool.  Against a raw peer: pool_wire.c.  Helpers in
 * pool_util.h.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"
#include "sha256.h"
#include "flow.h"
#include "pool_util.h"

FIXTURE(pool) {
	struct mux *a, *b;
};

FIXTURE_SETUP(pool)
{
	ASSERT_EQ(0, mux_pair(&self->a, &self->b, true, true));
}

FIXTURE_TEARDOWN(pool)
{
	mux_close(self->a);
	mux_close(self->b);
}

/* Both offer: READY once a join has run; the pool ids cross. */
TEST_F_TIMEOUT(pool, join_and_info, 60)
{
	struct afmux_pool_info ia, ib;
	int ea, eb, link;

	link = join_both(self->a, self->b, NULL, NULL, &ea, &eb);
	ASSERT_EQ(1, link) TH_LOG("join: %s / %s", strerror(ea), strerror(eb));
	ia = pool_info(self->a);
	ib = pool_info(self->b);
	EXPECT_EQ(AFMUX_POOL_READY, ia.state);
	EXPECT_EQ(AFMUX_POOL_READY, ib.state);
	EXPECT_NE(0, ia.pool_id);
	EXPECT_EQ(ia.pool_id, ib.peer_pool_id);
	EXPECT_EQ(ib.pool_id, ia.peer_pool_id);
	EXPECT_EQ(2, ia.links);
	EXPECT_EQ(2, ib.links);
	EXPECT_EQ(2, ia.next_link);
	ASSERT_EQ(2, join_both(self->a, self->b, NULL, NULL, &ea, &eb));
	EXPECT_EQ(3, pool_info(self->a).links);
}

/*
 * 8 streams over 4 idle connections: two on each (loads count in 64 KiB
 * steps, so an OPEN not yet acknowledged does not tip the choice; the
 * stream count does), both ends agree where each lives, and each carries
 * 4 MiB both ways intact.
 */
TEST_F_TIMEOUT(pool, placement_and_flows, 300)
{
	int fa[8], fb[8], count[4] = { 0 }, i, ea, eb;
	struct flow w[16], r[16];

	for (i = 1; i < 4; i++)
		ASSERT_EQ(i, join_both(self->a, self->b, NULL, NULL, &ea, &eb));
	pool_streams(_metadata, self->a, self->b, 8, fa, fb);
	for (i = 0; i < 8; i++) {
		int link = mux_stream_link(fa[i]);

		ASSERT_TRUE(link >= 0 && link < 4) TH_LOG("link %d", link);
		count[link]++;
	}
	for (i = 0; i < 4; i++)
		EXPECT_EQ(2, count[i]) TH_LOG("link %d", i);
	for (i = 0; i < 8; i++) {
		w[i] = (struct flow){ .fd = fa[i], .len = 4 << 20, .seed = 1 + i };
		r[i] = (struct flow){ .fd = fb[i] };
		w[8 + i] = (struct flow){ .fd = fb[i], .len = 4 << 20,
					  .seed = 100 + i };
		r[8 + i] = (struct flow){ .fd = fa[i] };
	}
	run_flows(_metadata, w, r, 16);
	for (i = 0; i < 8; i++) {
		close(fa[i]);
		close(fb[i]);
	}
}

/*
 * A join whose peer never sends its join preface ends after the
 * keepalive timeout (here 1 s) with ETIMEDOUT, though SO_SNDTIMEO is
 * infinite: before, JOIN waited for ever.
 */
TEST_F_TIMEOUT(pool, join_deadline, 60)
{
	struct afmux_keepalive ka = { .idle_ms = 0, .timeout_ms = 1000 };
	struct afmux_join j;
	struct timespec t0, t1;
	int c, s, ea, eb, fd;
	double secs;

	ASSERT_EQ(1, join_both(self->a, self->b, NULL, NULL, &ea, &eb));
	ASSERT_EQ(0, setsockopt(mux_fd(self->a), SOL_AFMUX, AFMUX_KEEPALIVE,
				&ka, sizeof(ka)));
	ASSERT_EQ(0, tcp_pair(&c, &s));
	j = (struct afmux_join){ .fd = c };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_EQ(-1, ioctl(mux_fd(self->a), AFMUX_IOC_JOIN, &j));
	EXPECT_EQ(ETIMEDOUT, errno);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	EXPECT_TRUE(secs >= 0.9 && secs < 20) TH_LOG("%.1f s", secs);
	/* The pool carries on: 2 connections, and a stream still opens. */
	EXPECT_EQ(2, pool_info(self->a).links);
	fd = mux_open(self->a, "after", 5, 0, NULL);
	EXPECT_GE(fd, 0) TH_LOG("open: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	close(c);
	close(s);
}

/*
 * listen() after a join sets the backlog of every connection of the pool
 * (before, a joined connection kept the backlog it joined with).  With a
 * backlog of 1, streams go 0, 1, 0, 1 (queued and accepted ones count):
 * the first is accepted, the second and third wait in the queues of
 * connections 1 and 0, and the fourth finds connection 1's queue full.
 */
TEST_F_TIMEOUT(pool, listen_after_join, 60)
{
	struct afmux_stats st;
	int fd[4], in, ea, eb, i, tries;
	char key[16];

	ASSERT_EQ(1, join_both(self->a, self->b, NULL, NULL, &ea, &eb));
	ASSERT_EQ(0, listen(mux_fd(self->b), 1));
	for (i = 0; i < 4; i++) {
		fd[i] = mux_open(self->a, "k", 1, 0, NULL);
		ASSERT_GE(fd[i], 0) TH_LOG("open %d: %s", i, strerror(errno));
		EXPECT_EQ(i % 2, mux_stream_link(fd[i])) TH_LOG("stream %d", i);
		if (!i) {
			in = mux_receive(self->b, key, sizeof(key));
			ASSERT_GE(in, 0);
			EXPECT_EQ(0, mux_stream_link(in));
		}
	}
	/* Bounded: 10 s for the four OPENs to be queued or refused. */
	for (tries = 0; tries < 100; tries++) {
		st = mux_stats_of(self->b);
		if (st.streams_accepted + st.streams_refused >= 4)
			break;
		usleep(100 * 1000);
	}
	EXPECT_EQ(3, st.streams_accepted);
	EXPECT_EQ(1, st.streams_refused);
	for (i = 0; i < 4; i++)
		close(fd[i]);
	close(in);
}

/* A TCP connection to another mux's peer: both ends refuse it. */
TEST(join_other_mux)
{
	struct mux *a, *b, *c, *d;
	int ea, eb;

	ASSERT_EQ(0, mux_pair(&a, &b, true, true));
	ASSERT_EQ(0, mux_pair(&c, &d, true, true));
	ASSERT_EQ(1, join_both(a, b, NULL, NULL, &ea, &eb));
	ASSERT_EQ(1, join_both(c, d, NULL, NULL, &ea, &eb));
	EXPECT_EQ(-1, join_both(a, d, NULL, NULL, &ea, &eb));
	EXPECT_TRUE(ea == EACCES || ea == ECONNREFUSED) TH_LOG("%s", strerror(ea));
	EXPECT_TRUE(eb == EACCES || eb == ECONNREFUSED) TH_LOG("%s", strerror(eb));
	/* Both pools carry on as they were. */
	EXPECT_EQ(2, pool_info(a).links);
	EXPECT_EQ(2, pool_info(d).links);
	mux_close(a);
	mux_close(b);
	mux_close(c);
	mux_close(d);
}

/* Once the peer has closed its mux, nothing joins: EPIPE. */
TEST_F(pool, join_closed_mux)
{
	struct pollfd p = { .fd = mux_fd(self->a), .events = POLLOUT };
	int ea, eb, tries;

	ASSERT_EQ(1, join_both(self->a, self->b, NULL, NULL, &ea, &eb));
	mux_close(self->b);
	self->b = NULL;
	/* GOAWAY on both connections: no POLLOUT (bounded: 10 s). */
	for (tries = 0; tries < 100; tries++) {
		p.revents = 0;
		if (poll(&p, 1, 100) == 0 || !(p.revents & POLLOUT))
			break;
		usleep(100 * 1000);
	}
	ASSERT_FALSE(p.revents & POLLOUT);
	{
		int c, s;
		struct afmux_join j;

		ASSERT_EQ(0, tcp_pair(&c, &s));
		j = (struct afmux_join){ .fd = c };
		EXPECT_EQ(-1, ioctl(mux_fd(self->a), AFMUX_IOC_JOIN, &j));
		EXPECT_EQ(EPIPE, errno);
		close(c);
		close(s);
	}
}

struct poller {
	int fd;
	volatile int stop;
};

static void *poller_run(void *arg)
{
	struct poller *p = arg;
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN | POLLOUT };
	struct afmux_pool_info pi;
	socklen_t len;

	while (!p->stop) {
		poll(&pfd, 1, 0);
		len = sizeof(pi);
		getsockopt(p->fd, SOL_AFMUX, AFMUX_POOL, &pi, &len);
	}
	return NULL;
}

/*
 * An ATTACH with AFMUX_ATTACH_POOL that fails (here: the TCP socket is
 * not connected) while another thread polls the mux and reads
 * AFMUX_POOL: the pool it would have offered must never be seen (it was
 * once published before the attach could fail, then freed under the
 * poller: a use-after-free KASAN reports on the debug kernel).
 */
TEST(failed_pool_attach_while_polled)
{
	struct poller p = { 0 };
	struct afmux_attach at = { .flags = AFMUX_ATTACH_POOL };
	pthread_t t;
	int tcp, i;

	p.fd = afmux_socket(SOCK_CLOEXEC);
	ASSERT_GE(p.fd, 0);
	tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(tcp, 0);
	at.fd = tcp;
	ASSERT_EQ(0, pthread_create(&t, NULL, poller_run, &p));
	for (i = 0; i < 20000; i++) {
		ASSERT_EQ(-1, ioctl(p.fd, AFMUX_IOC_ATTACH, &at));
		ASSERT_EQ(ENOTCONN, errno);
	}
	p.stop = 1;
	pthread_join(t, NULL);
	EXPECT_EQ(AFMUX_POOL_OFF, pool_info_fd(p.fd).state);
	close(tcp);
	close(p.fd);
}

/* JOIN's argument checks. */
TEST_F(pool, join_args)
{
	struct afmux_join j = { .fd = -1 };
	struct mux *v1, *peer;
	int c, s, p[2];

	EXPECT_EQ(-1, ioctl(mux_fd(self->a), AFMUX_IOC_JOIN, &j));
	EXPECT_EQ(EBADF, errno);
	ASSERT_EQ(0, pipe(p));
	j = (struct afmux_join){ .fd = p[0] };
	EXPECT_EQ(-1, ioctl(mux_fd(self->a), AFMUX_IOC_JOIN, &j));
	EXPECT_EQ(ENOTSOCK, errno);
	close(p[0]);
	close(p[1]);
	/* Neither used up a connection number. */
	EXPECT_EQ(1, pool_info(self->a).next_link);
	j = (struct afmux_join){ .fd = 0, .flags = 1 };
	EXPECT_EQ(-1, ioctl(mux_fd(self->a), AFMUX_IOC_JOIN, &j));
	EXPECT_EQ(EINVAL, errno);
	/* Not attached. */
	c = afmux_socket(0);
	ASSERT_GE(c, 0);
	j = (struct afmux_join){ .fd = 0 };
	EXPECT_EQ(-1, ioctl(c, AFMUX_IOC_JOIN, &j));
	EXPECT_EQ(ENOTCONN, errno);
	close(c);
	/* Attached without a pool. */
	ASSERT_EQ(0, mux_pair(&v1, &peer, false, false));
	ASSERT_EQ(0, tcp_pair(&c, &s));
	j = (struct afmux_join){ .fd = c };
	EXPECT_EQ(-1, ioctl(mux_fd(v1), AFMUX_IOC_JOIN, &j));
	EXPECT_EQ(EINVAL, errno);
	close(c);
	close(s);
	mux_close(v1);
	mux_close(peer);
}

/*
 * A relay between the two ends of a connection of the pool, so that the
 * test can reset it: two TCP pairs, bytes copied both ways by a thread
 * each until either side ends.
 */
struct relay {
	int x, y;		/* the relay's ends of the two pairs */
	pthread_t t[2];
	/* Held by the test: x -> y stops after the read under way. */
	pthread_mutex_t gate;
};

struct relay_dir {
	int from, to;
	pthread_mutex_t *gate;	/* NULL: never stops */
};

static void *relay_copy(void *arg)
{
	struct relay_dir *d = arg;
	uint8_t buf[4096];
	ssize_t n;

	for (;;) {
		if (d->gate) {
			pthread_mutex_lock(d->gate);
			pthread_mutex_unlock(d->gate);
		}
		n = read(d->from, buf, sizeof(buf));
		if (n <= 0 || write_all(d->to, buf, (size_t)n))
			break;
	}
	shutdown(d->to, SHUT_WR);
	free(d);
	return NULL;
}

/* Joins a new connection through a relay; its link number, or -1. */
static int join_relayed(struct mux *a, struct mux *b, struct relay *r)
{
	struct joiner ja = { .m = a }, jb = { .m = b };
	struct relay_dir *d1, *d2;
	pthread_t t;

	if (tcp_pair(&ja.fd, &r->x) || tcp_pair(&r->y, &jb.fd))
		return -1;
	/* Little room in the relay: a stalled direction backs up into TCP. */
	setsockopt(r->x, SOL_SOCKET, SO_RCVBUF, &(int){ 4096 }, sizeof(int));
	d1 = malloc(sizeof(*d1));
	d2 = malloc(sizeof(*d2));
	if (!d1 || !d2)
		return -1;
	pthread_mutex_init(&r->gate, NULL);
	*d1 = (struct relay_dir){ r->x, r->y, &r->gate };
	*d2 = (struct relay_dir){ r->y, r->x, NULL };
	if (pthread_create(&r->t[0], NULL, relay_copy, d1) ||
	    pthread_create(&r->t[1], NULL, relay_copy, d2) ||
	    pthread_create(&t, NULL, joiner_run, &ja))
		return -1;
	joiner_run(&jb);
	pthread_join(t, NULL);
	close(ja.fd);
	close(jb.fd);
	return ja.err || jb.err ? -1 : ja.link;
}

/* Reset both TCP connections of the relay (SO_LINGER 0: RST). */
static void relay_reset(struct relay *r)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(r->x, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	setsockopt(r->y, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	shutdown(r->x, SHUT_RD);
	shutdown(r->y, SHUT_RD);
	pthread_join(r->t[0], NULL);
	pthread_join(r->t[1], NULL);
	close(r->x);
	close(r->y);
}

/*
 * New streams avoid a connection with bytes piled up: once link 1's
 * relay stops reading and a stream on it has filled its window into TCP,
 * the next six streams all go to link 0.  Then it drains intact.
 */
TEST_F_TIMEOUT(pool, placement_avoids_loaded, 120)
{
	int fa[8], fb[8], on1 = -1, n = 0, i, k, fd;
	static uint8_t buf[1 << 20];
	size_t queued = 0, got;
	struct relay rl;
	ssize_t w;
	char key[64];

	ASSERT_EQ(1, join_relayed(self->a, self->b, &rl));
	while (on1 < 0 && n < 8) {
		fa[n] = mux_open(self->a, "s", 1, AFMUX_O_NONBLOCK, NULL);
		ASSERT_GE(fa[n], 0);
		if (mux_stream_link(fa[n]) == 1)
			on1 = n;
		n++;
	}
	ASSERT_GE(on1, 0);
	pthread_mutex_lock(&rl.gate);
	memset(buf, 'q', sizeof(buf));
	while ((w = write(fa[on1], buf, sizeof(buf))) > 0)
		queued += (size_t)w;
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_GE(queued, 65536);
	for (i = 0; i < 6; i++) {
		fd = mux_open(self->a, "new", 3, 0, NULL);
		ASSERT_GE(fd, 0);
		EXPECT_EQ(0, mux_stream_link(fd)) TH_LOG("new stream %d", i);
		close(fd);
	}
	pthread_mutex_unlock(&rl.gate);
	/* Everything arrives: find link 1's stream among the accepted. */
	for (i = 0; i < n + 6; i++) {
		fb[0] = mux_receive(self->b, key, sizeof(key));
		ASSERT_GE(fb[0], 0);
		if (mux_stream_link(fb[0]) != 1 || strcmp(key, "s")) {
			close(fb[0]);
			continue;
		}
		for (got = 0; got < queued; got += (size_t)k) {
			k = (int)read(fb[0], buf, sizeof(buf));
			ASSERT_GT(k, 0);
		}
		EXPECT_EQ(queued, got);
		close(fb[0]);
		break;
	}
	for (i = 0; i < n; i++)
		close(fa[i]);
	relay_reset(&rl);
}

/*
 * A connection of the pool reset mid-transfer: the streams on it fail
 * (ECONNRESET), the streams on the first connection finish with matching
 * SHA-256, and new streams still open - on the connection left; then a
 * replacement joins and new streams go to it too.
 */
TEST_F_TIMEOUT(pool, member_reset, 300)
{
	int fa[4], fb[4], on1 = -1, on0 = -1, i, fd, fd2, ea, eb;
	struct flow w, r;
	struct relay rl;
	char buf[65536];
	pthread_t tw, tr;
	ssize_t n;

	ASSERT_EQ(1, join_relayed(self->a, self->b, &rl));
	pool_streams(_metadata, self->a, self->b, 4, fa, fb);
	for (i = 0; i < 4; i++) {
		if (mux_stream_link(fa[i]) == 1)
			on1 = i;
		else
			on0 = i;
	}
	ASSERT_GE(on1, 0);
	ASSERT_GE(on0, 0);
	/* A transfer on link 0 runs while link 1 is cut. */
	w = (struct flow){ .fd = fa[on0], .len = 32 << 20, .seed = 7 };
	r = (struct flow){ .fd = fb[on0] };
	ASSERT_EQ(0, pthread_create(&tr, NULL, flow_read, &r));
	ASSERT_EQ(0, pthread_create(&tw, NULL, flow_write, &w));
	memset(buf, 'x', sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf), write(fa[on1], buf, sizeof(buf)));
	ASSERT_EQ((ssize_t)sizeof(buf), read_full(fb[on1], buf, sizeof(buf)));
	relay_reset(&rl);
	/* Link 1's stream: its reader ends with ECONNRESET. */
	do
		n = read(fb[on1], buf, sizeof(buf));
	while (n > 0);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(ECONNRESET, errno);
	/* And on this end (then its connection has surely ended). */
	do
		n = read(fa[on1], buf, sizeof(buf));
	while (n > 0);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(ECONNRESET, errno);
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	EXPECT_EQ(0, w.err);
	EXPECT_EQ(0, r.err);
	EXPECT_EQ(w.len, r.len);
	EXPECT_EQ(0, memcmp(w.sha, r.sha, SHA256_LEN));
	/* The mux goes on: one connection left, no error. */
	EXPECT_EQ(1, pool_info(self->a).links);
	{
		int err = 0;
		socklen_t len = sizeof(err);

		EXPECT_EQ(0, getsockopt(mux_fd(self->a), SOL_SOCKET, SO_ERROR,
					&err, &len));
		EXPECT_EQ(0, err);
	}
	fd = mux_open(self->a, "after", 5, 0, NULL);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(0, mux_stream_link(fd));
	ASSERT_EQ(2, write(fd, "ok", 2));
	fd2 = mux_receive(self->b, buf, sizeof(buf));
	ASSERT_GE(fd2, 0);
	EXPECT_STREQ("after", buf);
	EXPECT_EQ(2, read(fd2, buf, sizeof(buf)));
	close(fd);
	close(fd2);
	/* A replacement joins (number 2: never reused) and takes streams. */
	ASSERT_EQ(2, join_both(self->a, self->b, NULL, NULL, &ea, &eb));
	EXPECT_EQ(2, pool_info(self->a).links);
	for (i = 0, n = -1; i < 4 && n != 2; i++) {
		fd = mux_open(self->a, "again", 5, 0, NULL);
		ASSERT_GE(fd, 0);
		n = mux_stream_link(fd);
		fd2 = mux_receive(self->b, buf, sizeof(buf));
		ASSERT_GE(fd2, 0);
		EXPECT_EQ(n, mux_stream_link(fd2));
		ASSERT_EQ(5, write(fd, "again", 5));
		EXPECT_EQ(5, read(fd2, buf, sizeof(buf)));
		close(fd);
		close(fd2);
	}
	EXPECT_EQ(2, n);
	for (i = 0; i < 4; i++) {
		close(fa[i]);
		close(fb[i]);
	}
}

/*
 * Seed case 1 over a pool of 4: 500 MB one way over one stream, then
 * 2 x 500 MB the other way at once, each checked by SHA-256 (flow.h;
 * 50 MB on the debug kernel).
 */
TEST_F_TIMEOUT(pool, case1_pool4, 900)
{
	size_t len = case1_len();
	struct timespec t0, t1;
	int i, ea, eb;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 1; i < 4; i++)
		ASSERT_EQ(i, join_both(self->a, self->b, NULL, NULL, &ea, &eb));
	flow_case1(_metadata, self->a, self->b, len, pool_streams);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("case1 over a pool of 4: 3 x %zu bytes verified in %.1f s", len,
	       t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9);
}

/*
 * net.afmux.conn_mem_max covers the pool: with room for 4 initial
 * windows, the 5th stream fails (ENOBUFS) however many connections.
 */
TEST(memory_cap_spans_pool)
{
	struct mux *a, *b;
	int fds[8], n = 0, ea, eb, i;

	ASSERT_EQ(0, netns_new());
	ASSERT_EQ(0, sysctl_put("conn_mem_max", 4 * 262144));
	ASSERT_EQ(0, sysctl_put("window", 262144));
	ASSERT_EQ(0, mux_pair(&a, &b, true, true));
	for (i = 1; i < 4; i++)
		ASSERT_EQ(i, join_both(a, b, NULL, NULL, &ea, &eb));
	for (i = 0; i < 8; i++) {
		fds[n] = mux_open(a, "m", 1, 0, NULL);
		if (fds[n] < 0)
			break;
		n++;
	}
	EXPECT_EQ(4, n);
	EXPECT_EQ(ENOBUFS, errno);
	for (i = 0; i < n; i++)
		close(fds[i]);
	mux_close(a);
	mux_close(b);
}

/*
 * A connection at net.afmux.max_streams is passed over for one that has
 * room, even a loaded one (before, the least loaded was picked and the
 * open failed with ENOBUFS while connection 1 had room).  Connection 1
 * runs through a relay held shut, so what is written there stays queued.
 */
TEST(placement_skips_full)
{
	static char buf[1 << 20];
	struct mux *a, *b;
	struct relay rl;
	size_t queued = 0;
	int s[4], i;
	ssize_t n;

	ASSERT_EQ(0, netns_new());
	ASSERT_EQ(0, sysctl_put("max_streams", 2));
	ASSERT_EQ(0, mux_pair(&a, &b, true, true));
	ASSERT_EQ(1, join_relayed(a, b, &rl));
	for (i = 0; i < 2; i++) {
		s[i] = mux_open(a, "s", 1, AFMUX_O_NONBLOCK, NULL);
		ASSERT_GE(s[i], 0);
		ASSERT_EQ(i, mux_stream_link(s[i]));
	}
	pthread_mutex_lock(&rl.gate);
	while ((n = write(s[1], buf, sizeof(buf))) > 0)
		queued += (size_t)n;
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_GE(queued, (size_t)65536);
	s[2] = mux_open(a, "s", 1, 0, NULL);
	ASSERT_GE(s[2], 0);
	EXPECT_EQ(0, mux_stream_link(s[2]));	/* the least loaded */
	s[3] = mux_open(a, "s", 1, 0, NULL);	/* connection 0 is full */
	EXPECT_GE(s[3], 0) TH_LOG("open: %s", strerror(errno));
	EXPECT_EQ(1, mux_stream_link(s[3]));
	pthread_mutex_unlock(&rl.gate);
	for (i = 0; i < 4; i++)
		if (s[i] >= 0)
			close(s[i]);
	relay_reset(&rl);
	mux_close(a);
	mux_close(b);
}

TEST_HARNESS_MAIN
