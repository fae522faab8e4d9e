// SPDX-License-Identifier: GPL-2.0
/*
 * pool.c - one mux over several TCP connections (docs/protocol.md §12,
 * AFMUX_ATTACH_POOL, AFMUX_IOC_JOIN): the offer and its refusal by a
 * version 1 peer, joining and the joins refused (wrong token, another
 * mux's peer, a closed mux), where streams go, a connection of the pool
 * reset while the others' streams finish with matching SHA-256, seed
 * case 1 over a pool of 4, and the memory budget spanning the pool.
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

#define FT_POOL		7
#define E_REFUSED_JOIN	7
#define POOL_LEN	24
#define JOIN_PREFACE_LEN 48

static const uint8_t hello[8] = { 'A', 'F', 'M', 'U', 'X', 0, 0, 2 };

static struct afmux_pool_info pool_info_fd(int fd)
{
	struct afmux_pool_info pi;
	socklen_t len = sizeof(pi);

	memset(&pi, 0xff, sizeof(pi));
	if (getsockopt(fd, SOL_AFMUX, AFMUX_POOL, &pi, &len) ||
	    len != sizeof(pi))
		memset(&pi, 0xff, sizeof(pi));
	return pi;
}

static struct afmux_pool_info pool_info(struct mux *m)
{
	return pool_info_fd(mux_fd(m));
}

/* One side's mux_join(), in a thread: the other side joins at once. */
struct joiner {
	struct mux *m;
	int fd;
	int link;
	int err;
};

static void *joiner_run(void *arg)
{
	struct joiner *j = arg;

	j->link = mux_join(j->m, j->fd);
	j->err = j->link < 0 ? errno : 0;
	return NULL;
}

/*
 * A new TCP connection between @a and @b, joined on both ends at once;
 * the TCP fds in @fa/@fb if not NULL (else closed).  Returns @a's link
 * number, or -1 with the two ends' errnos in @ea/@eb.
 */
static int join_both(struct mux *a, struct mux *b, int *fa, int *fb,
		     int *ea, int *eb)
{
	struct joiner ja = { .m = a }, jb = { .m = b };
	pthread_t t;

	*ea = *eb = 0;
	if (tcp_pair(&ja.fd, &jb.fd))
		return *ea = errno, -1;
	if (pthread_create(&t, NULL, joiner_run, &ja))
		return *ea = EAGAIN, -1;
	joiner_run(&jb);
	pthread_join(t, NULL);
	if (fa)
		*fa = ja.fd;
	else
		close(ja.fd);
	if (fb)
		*fb = jb.fd;
	else
		close(jb.fd);
	*ea = ja.err;
	*eb = jb.err;
	if (ja.err || jb.err)
		return -1;
	return ja.link == jb.link ? ja.link : -2;
}

/* Open @n streams on @a, accept them on @b: fb[i] is fa[i]'s peer. */
static void pool_streams(struct __test_metadata *_metadata, struct mux *a,
			 struct mux *b, int n, int *fa, int *fb)
{
	char key[32], got[64];
	int i, k, fd;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "pool-%d", i);
		fa[i] = mux_open(a, key, strlen(key), 0, NULL);
		ASSERT_GE(fa[i], 0) TH_LOG("open %d: %s", i, strerror(errno));
		fb[i] = -1;
	}
	/* Streams on different connections may arrive in any order. */
	for (i = 0; i < n; i++) {
		fd = mux_receive(b, got, sizeof(got));
		ASSERT_GE(fd, 0) TH_LOG("accept %d: %s", i, strerror(errno));
		ASSERT_EQ(1, sscanf(got, "pool-%d", &k));
		ASSERT_TRUE(k >= 0 && k < n && fb[k] < 0);
		fb[k] = fd;
		EXPECT_EQ(mux_stream_link(fa[k]), mux_stream_link(fd))
			TH_LOG("stream %d", k);
	}
}

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
	uint8_t buf[256], h[HEADER_LEN], p[64], cred[POOL_LEN];
	uint8_t mine[POOL_LEN] = { 0, 0, 0, 0, 0, 0, 0, 42 };
	int raw, tcp, rj, tj, n, i;
	struct afmux_join j;
	struct mux *m;

	ASSERT_EQ(0, tcp_pair(&raw, &tcp));
	m = mux_new_pool(tcp);
	ASSERT_NE(NULL, m);
	close(tcp);
	n = (int)put_preface(buf, 65536, 16);
	n += (int)put_frame(buf + n, FT_PING, 0, hello, 8);
	n += (int)put_frame(buf + n, FT_POOL, 0, mine, POOL_LEN);
	ASSERT_EQ(0, write_all(raw, buf, (size_t)n));
	ASSERT_EQ(PREFACE_LEN, read_full(raw, buf, PREFACE_LEN));
	/* HELLO, the ACK of ours, POOL: in some order after HELLO. */
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, raw_read_frame(raw, h, p, sizeof(p)));
		if (h[0] == FT_POOL) {
			ASSERT_EQ(POOL_LEN, get_be32(h + 4));
			memcpy(cred, p, POOL_LEN);
		}
	}
	EXPECT_EQ(pool_info(m).pool_id, (uint64_t)get_be32(cred) << 32 |
					 get_be32(cred + 4));
	EXPECT_EQ(42, pool_info(m).peer_pool_id);

	for (i = 0; i < 2; i++) {
		uint8_t jp[JOIN_PREFACE_LEN];

		ASSERT_EQ(0, tcp_pair(&rj, &tj));
		put_preface(jp, 65536, 16);
		put_be16(jp + 8, 2);
		put_be16(jp + 10, 1);
		memcpy(jp + 24, cred, POOL_LEN);
		if (!i)
			jp[47] ^= 1;		/* a wrong token */
		ASSERT_EQ(0, write_all(rj, jp, sizeof(jp)));
		j = (struct afmux_join){ .fd = tj };
		if (!i) {
			EXPECT_EQ(-1, ioctl(mux_fd(m), AFMUX_IOC_JOIN, &j));
			EXPECT_EQ(EACCES, errno);
		} else {
			/* Numbers are never reused: the refused one had 1. */
			EXPECT_EQ(0, ioctl(mux_fd(m), AFMUX_IOC_JOIN, &j))
				TH_LOG("join: %s", strerror(errno));
			EXPECT_EQ(2, j.link);
		}
		/* The mux's join preface presents our credentials. */
		ASSERT_EQ(JOIN_PREFACE_LEN, read_full(rj, jp, sizeof(jp)));
		EXPECT_EQ(0, memcmp(jp, "AFMUX\r\n\0\0\2\0\1", 12));
		EXPECT_EQ(0, memcmp(jp + 24, mine, POOL_LEN));
		if (!i) {
			ASSERT_EQ(0, raw_read_frame(rj, h, p, sizeof(p)));
			EXPECT_EQ(FT_GOAWAY, h[0]);
			EXPECT_EQ(E_REFUSED_JOIN, get_be32(p + 4));
		}
		close(tj);
		close(rj);
	}
	EXPECT_EQ(3, pool_info(m).next_link);
	mux_close(m);
	close(raw);
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
	int c, s;

	EXPECT_EQ(-1, ioctl(mux_fd(self->a), AFMUX_IOC_JOIN, &j));
	EXPECT_EQ(EBADF, errno);
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
	size_t len = flow_case1_len();
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

TEST_HARNESS_MAIN
