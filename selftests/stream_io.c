// SPDX-License-Identifier: GPL-2.0
/*
 * stream_io.c - selftests for the I/O calls on AF_MUX streams (the mux
 * fixture of stream_util.h): the AFMUX_WINDOW socket option, eight
 * non-blocking streams both ways under epoll, and readv/writev,
 * recvmsg/sendmsg and MSG_DONTWAIT.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "sha256.h"
#include "util.h"
#include "stream_util.h"

/* ---- socket options ------------------------------------------------------ */

TEST_F(mux, window_sockopt)
{
	struct afmux_stream_info info;
	socklen_t len;
	uint32_t win;
	int c, s, v;

	c = mux_open(self->client, "window", 6, 0, NULL);
	ASSERT_GE(c, 0) TH_LOG("mux_open: %s", strerror(errno));
	len = sizeof(v);
	ASSERT_EQ(0, getsockopt(c, SOL_AFMUX, AFMUX_WINDOW, &v, &len))
		TH_LOG("getsockopt(AFMUX_WINDOW): %s", strerror(errno));
	EXPECT_EQ(AFMUX_WINDOW_DEFAULT, v);
	EXPECT_EQ((socklen_t)sizeof(v), len);

	v = AFMUX_WINDOW_MIN - 1;
	EXPECT_EQ(-1, setsockopt(c, SOL_AFMUX, AFMUX_WINDOW, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno) TH_LOG("window %d: expected EINVAL, got %s",
					v, strerror(errno));
	v = AFMUX_WINDOW_MAX + 1;
	EXPECT_EQ(-1, setsockopt(c, SOL_AFMUX, AFMUX_WINDOW, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno) TH_LOG("window %d: expected EINVAL, got %s",
					v, strerror(errno));
	v = -1;
	EXPECT_EQ(-1, setsockopt(c, SOL_AFMUX, AFMUX_WINDOW, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno) TH_LOG("window -1: expected EINVAL, got %s",
					strerror(errno));
	v = 65536;
	EXPECT_EQ(-1, setsockopt(c, SOL_AFMUX, AFMUX_WINDOW, &v, 2));
	EXPECT_EQ(EINVAL, errno) TH_LOG("optlen 2: expected EINVAL, got %s",
					strerror(errno));
	len = 2;
	EXPECT_EQ(-1, getsockopt(c, SOL_AFMUX, AFMUX_WINDOW, &v, &len));
	EXPECT_EQ(EINVAL, errno)
		TH_LOG("getsockopt with optlen 2: expected EINVAL, got %s",
		       strerror(errno));
	EXPECT_EQ(-1, mux_stream_set_window(c, AFMUX_WINDOW_MIN - 1));
	EXPECT_EQ(EINVAL, errno);
	len = sizeof(v);
	ASSERT_EQ(0, getsockopt(c, SOL_AFMUX, AFMUX_WINDOW, &v, &len));
	EXPECT_EQ(AFMUX_WINDOW_DEFAULT, v)
		TH_LOG("refused settings must not change the window");

	/* The bounds themselves are valid. */
	v = AFMUX_WINDOW_MIN;
	EXPECT_EQ(0, setsockopt(c, SOL_AFMUX, AFMUX_WINDOW, &v, sizeof(v)))
		TH_LOG("window AFMUX_WINDOW_MIN: %s", strerror(errno));
	v = AFMUX_WINDOW_MAX;
	EXPECT_EQ(0, setsockopt(c, SOL_AFMUX, AFMUX_WINDOW, &v, sizeof(v)))
		TH_LOG("window AFMUX_WINDOW_MAX: %s", strerror(errno));
	len = sizeof(v);
	ASSERT_EQ(0, getsockopt(c, SOL_AFMUX, AFMUX_WINDOW, &v, &len));
	EXPECT_EQ(AFMUX_WINDOW_MAX, v);

	v = 65536;
	ASSERT_EQ(0, setsockopt(c, SOL_AFMUX, AFMUX_WINDOW, &v, sizeof(v)))
		TH_LOG("window 65536: %s", strerror(errno));
	v = 0;
	len = sizeof(v);
	ASSERT_EQ(0, getsockopt(c, SOL_AFMUX, AFMUX_WINDOW, &v, &len));
	EXPECT_EQ(65536, v);
	ASSERT_EQ(0, mux_stream_info(c, NULL, NULL, &win));
	EXPECT_EQ(65536U, win);
	len = sizeof(info);
	ASSERT_EQ(0, getsockopt(c, SOL_AFMUX, AFMUX_STREAM_INFO, &info, &len));
	EXPECT_EQ(65536U, info.window);
	EXPECT_EQ(0, mux_stream_set_window(c, 131072))
		TH_LOG("mux_stream_set_window(131072): %s", strerror(errno));
	ASSERT_EQ(0, mux_stream_info(c, NULL, NULL, &win));
	EXPECT_EQ(131072U, win);

	/* Per stream: the peer's end of it keeps the default. */
	s = mux_accept(self->server, &info.key, &(size_t){ AFMUX_KEY_MAX }, 0,
		       NULL);
	ASSERT_GE(s, 0) TH_LOG("mux_accept: %s", strerror(errno));
	len = sizeof(v);
	ASSERT_EQ(0, getsockopt(s, SOL_AFMUX, AFMUX_WINDOW, &v, &len));
	EXPECT_EQ(AFMUX_WINDOW_DEFAULT, v);
	close(s);
	close(c);
}

/* ---- non-blocking streams under epoll ------------------------------------- */

#define NB_STREAMS	8
#define NB_LEN		(4ULL << 20)	/* per stream and direction: 64 MiB */

struct nb_end {
	int fd;
	int idx;
	bool server;
	/* sending */
	struct gen txg;
	struct sha256 txc;
	uint8_t txbuf[CHUNK];
	size_t txoff, txlen;
	uint64_t generated, tx;
	bool txdone;
	uint8_t txsha[SHA256_LEN];
	/* receiving */
	struct gen rxg;
	struct sha256 rxc;
	uint64_t rx;
	int64_t mismatch;
	bool rxeof, rdhup_at_eof;
	uint8_t rxsha[SHA256_LEN];
};

static uint64_t nb_seed(int idx, bool from_server)
{
	return 0xeb011000ULL + 2 * (uint64_t)idx + from_server;
}

static void nb_init(struct nb_end *e, int fd, int idx, bool server)
{
	e->fd = fd;
	e->idx = idx;
	e->server = server;
	gen_init(&e->txg, nb_seed(idx, server));
	gen_init(&e->rxg, nb_seed(idx, !server));
	sha256_init(&e->txc);
	sha256_init(&e->rxc);
	e->mismatch = -1;
}

/* Writes until EAGAIN or the end; 0, or -1 with errno. */
static int nb_out(struct nb_end *e)
{
	size_t n;
	ssize_t w;

	while (!e->txdone) {
		if (e->txoff == e->txlen) {
			if (e->generated == NB_LEN) {
				if (shutdown(e->fd, SHUT_WR))
					return -1;
				sha256_final(&e->txc, e->txsha);
				e->txdone = true;
				break;
			}
			n = NB_LEN - e->generated < CHUNK ?
				NB_LEN - e->generated : CHUNK;
			gen_fill(&e->txg, e->txbuf, n);
			sha256_update(&e->txc, e->txbuf, n);
			e->generated += n;
			e->txoff = 0;
			e->txlen = n;
		}
		w = write(e->fd, e->txbuf + e->txoff, e->txlen - e->txoff);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return 0;
		if (w < 0)
			return -1;
		e->txoff += (size_t)w;
		e->tx += (uint64_t)w;
	}
	return 0;
}

/* Reads until EAGAIN or EOF; 0, or -1 with errno. */
static int nb_in(struct nb_end *e, uint8_t *buf, uint8_t *want)
{
	ssize_t n, i;

	while (!e->rxeof) {
		n = read(e->fd, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -1;
		if (n == 0) {
			e->rxeof = true;
			sha256_final(&e->rxc, e->rxsha);
			e->rdhup_at_eof = poll1(e->fd, POLLRDHUP, 0) & POLLRDHUP;
			break;
		}
		gen_fill(&e->rxg, want, (size_t)n);
		if (e->mismatch < 0 && memcmp(buf, want, (size_t)n)) {
			for (i = 0; buf[i] == want[i]; i++)
				;
			e->mismatch = (int64_t)e->rx + i;
		}
		sha256_update(&e->rxc, buf, (size_t)n);
		e->rx += (uint64_t)n;
	}
	return 0;
}

static uint32_t nb_events(const struct nb_end *e)
{
	return (e->rxeof ? 0 : EPOLLIN | EPOLLRDHUP) |
	       (e->txdone ? 0 : EPOLLOUT);
}

TEST_F_TIMEOUT(mux, nonblocking_epoll, 300)
{
	struct nb_end *cl = calloc(NB_STREAMS, sizeof(*cl));
	struct nb_end *sv = calloc(NB_STREAMS, sizeof(*sv));
	uint8_t *buf = malloc(CHUNK), *want = malloc(CHUNK);
	struct epoll_event ev, evs[32];
	uint32_t seen = 0, want_ev;
	int ep, i, k, n, fd, idx, accepted = 0, finished = 0, rev;
	char key[AFMUX_KEY_MAX + 1];
	size_t klen;
	struct nb_end *e;

	ASSERT_TRUE(cl && sv && buf && want);

	ASSERT_EQ(0, mux_set_nonblock(self->server, 1));
	klen = sizeof(key);
	EXPECT_EQ(-1, mux_accept(self->server, key, &klen, 0, NULL));
	EXPECT_EQ(EAGAIN, errno)
		TH_LOG("accept on a non-blocking mux with nothing queued: expected EAGAIN, got %s",
		       strerror(errno));
	rev = poll1(mux_fd(self->server), POLLIN, 0);
	EXPECT_EQ(0, rev) TH_LOG("revents 0x%x with no stream waiting", rev);

	fd = mux_open(self->client, "nb0", 3, AFMUX_O_NONBLOCK | AFMUX_O_CLOEXEC,
		      NULL);
	ASSERT_GE(fd, 0) TH_LOG("mux_open(O_NONBLOCK): %s", strerror(errno));
	EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	nb_init(&cl[0], fd, 0, false);
	rev = poll1(mux_fd(self->server), POLLIN, WAIT_MS);
	ASSERT_TRUE(rev & POLLIN)
		TH_LOG("revents 0x%x: the mux fd should report POLLIN while a stream is waiting",
		       rev);
	klen = sizeof(key) - 1;
	fd = mux_accept(self->server, key, &klen, AFMUX_O_NONBLOCK, NULL);
	ASSERT_GE(fd, 0) TH_LOG("accept after POLLIN: %s", strerror(errno));
	key[klen] = '\0';
	EXPECT_STREQ("nb0", key);
	EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	nb_init(&sv[0], fd, 0, true);
	accepted = 1;
	EXPECT_EQ(-1, read(sv[0].fd, buf, CHUNK));
	EXPECT_EQ(EAGAIN, errno)
		TH_LOG("read on an empty non-blocking stream: expected EAGAIN, got %s",
		       strerror(errno));
	EXPECT_EQ(-1, read(cl[0].fd, buf, CHUNK));
	EXPECT_EQ(EAGAIN, errno);

	for (i = 1; i < NB_STREAMS; i++) {
		snprintf(key, sizeof(key), "nb%d", i);
		fd = mux_open(self->client, key, strlen(key),
			      AFMUX_O_NONBLOCK | AFMUX_O_CLOEXEC, NULL);
		ASSERT_GE(fd, 0) TH_LOG("mux_open(%s): %s", key, strerror(errno));
		nb_init(&cl[i], fd, i, false);
	}

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(ep, 0);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;	/* the server's mux */
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, mux_fd(self->server), &ev));
	for (i = 0; i < NB_STREAMS; i++) {
		ev.events = nb_events(&cl[i]);
		ev.data.ptr = &cl[i];
		ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, cl[i].fd, &ev));
	}
	ev.events = nb_events(&sv[0]);
	ev.data.ptr = &sv[0];
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, sv[0].fd, &ev));

	while (finished < 2 * NB_STREAMS) {
		n = epoll_wait(ep, evs, ARRAY_SIZE(evs), WAIT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		ASSERT_GT(n, 0)
			TH_LOG("no event for %d ms with %d of %d stream ends finished, %d of %d accepted (epoll_wait: %s)",
			       WAIT_MS, finished, 2 * NB_STREAMS, accepted,
			       NB_STREAMS, n < 0 ? strerror(errno) : "timeout");
		for (k = 0; k < n; k++) {
			e = evs[k].data.ptr;
			if (!e) {
				for (;;) {
					klen = sizeof(key) - 1;
					fd = mux_accept(self->server, key, &klen,
							AFMUX_O_NONBLOCK |
							AFMUX_O_CLOEXEC, NULL);
					if (fd < 0)
						break;
					key[klen] = '\0';
					ASSERT_EQ(1, sscanf(key, "nb%d", &idx))
						TH_LOG("unexpected key \"%s\"", key);
					ASSERT_TRUE(idx > 0 && idx < NB_STREAMS &&
						    !sv[idx].server)
						TH_LOG("unexpected or repeated key \"%s\"",
						       key);
					nb_init(&sv[idx], fd, idx, true);
					ev.events = nb_events(&sv[idx]);
					ev.data.ptr = &sv[idx];
					ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD,
							       fd, &ev));
					accepted++;
				}
				ASSERT_EQ(EAGAIN, errno)
					TH_LOG("non-blocking accept: %s",
					       strerror(errno));
				if (accepted == NB_STREAMS)
					ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_DEL,
							       mux_fd(self->server),
							       NULL));
				continue;
			}
			seen |= evs[k].events;
			if (evs[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP |
					     EPOLLERR))
				ASSERT_EQ(0, nb_in(e, buf, want))
					TH_LOG("%s stream %d: read after %llu bytes: %s",
					       e->server ? "server" : "client",
					       e->idx, (unsigned long long)e->rx,
					       strerror(errno));
			if (evs[k].events & (EPOLLOUT | EPOLLERR))
				ASSERT_EQ(0, nb_out(e))
					TH_LOG("%s stream %d: write after %llu bytes: %s",
					       e->server ? "server" : "client",
					       e->idx, (unsigned long long)e->tx,
					       strerror(errno));
			want_ev = nb_events(e);
			if (!want_ev) {
				ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_DEL, e->fd,
						       NULL));
				finished++;
			} else {
				ev.events = want_ev;
				ev.data.ptr = e;
				ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_MOD, e->fd,
						       &ev));
			}
		}
	}
	EXPECT_TRUE(seen & EPOLLIN) TH_LOG("never saw EPOLLIN");
	EXPECT_TRUE(seen & EPOLLOUT) TH_LOG("never saw EPOLLOUT");
	EXPECT_TRUE(seen & EPOLLRDHUP) TH_LOG("never saw EPOLLRDHUP");
	for (i = 0; i < 2 * NB_STREAMS; i++) {
		struct nb_end *me = i < NB_STREAMS ? &cl[i] : &sv[i - NB_STREAMS];
		struct nb_end *peer = i < NB_STREAMS ? &sv[i] : &cl[i - NB_STREAMS];
		const char *who = me->server ? "server" : "client";

		EXPECT_EQ(NB_LEN, me->rx)
			TH_LOG("%s stream %d: read %llu bytes before EOF, expected %llu",
			       who, me->idx, (unsigned long long)me->rx, NB_LEN);
		EXPECT_EQ(-1, me->mismatch)
			TH_LOG("%s stream %d: first wrong byte at %lld", who,
			       me->idx, (long long)me->mismatch);
		EXPECT_EQ(0, memcmp(me->rxsha, peer->txsha, SHA256_LEN))
			TH_LOG("%s stream %d: SHA-256 of what was read differs from what the peer wrote",
			       who, me->idx);
		EXPECT_TRUE(me->rdhup_at_eof)
			TH_LOG("%s stream %d: read returned EOF but poll showed no POLLRDHUP",
			       who, me->idx);
		close(me->fd);
	}
	close(ep);
	free(want);
	free(buf);
	free(sv);
	free(cl);
}

/*
 * Edge-triggered epoll sees EPOLLOUT again only after the writer ran out
 * of space, as on TCP: writes that fit, and their frames leaving, give no
 * new edge (each one was a wake-up of the event loop per frame sent);
 * space coming back after EAGAIN does.
 */
TEST_F(mux, epollet_out_edge_only_after_eagain)
{
	enum { MSG = 4096, ROUNDS = 16 };
	static uint8_t buf[CHUNK];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET };
	size_t queued = 0;
	int c, s, ep, i, n, spurious = 0;
	ssize_t w;

	memset(buf, 'e', sizeof(buf));
	c = mux_open(self->client, "et", 2, 0, NULL);
	ASSERT_GE(c, 0) TH_LOG("mux_open: %s", strerror(errno));
	s = mux_accept(self->server, buf, &(size_t){ AFMUX_KEY_MAX }, 0, NULL);
	ASSERT_GE(s, 0) TH_LOG("mux_accept: %s", strerror(errno));
	ASSERT_EQ(0, fcntl(c, F_SETFL, O_NONBLOCK));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev));
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, 0));
	EXPECT_EQ((uint32_t)EPOLLOUT, ev.events)
		TH_LOG("first edge: %#x, expected EPOLLOUT", ev.events);

	/* Each round's frame is out once the peer has read it. */
	for (i = 0; i < ROUNDS; i++) {
		ASSERT_EQ(MSG, write(c, buf, MSG)) TH_LOG("write: %s", strerror(errno));
		ASSERT_EQ(MSG, read_full(s, buf, MSG));
		n = epoll_wait(ep, &ev, 1, 0);
		ASSERT_GE(n, 0);
		spurious += n;
	}
	EXPECT_EQ(0, spurious)
		TH_LOG("%d EPOLLOUT edges for %d writes that never ran out of space",
		       spurious, ROUNDS);

	/* Fill it: no edge while full; one when the peer has read. */
	for (;;) {
		w = write(c, buf, CHUNK);
		if (w < 0)
			break;
		queued += (size_t)w;
	}
	ASSERT_EQ(EAGAIN, errno) TH_LOG("filling: %s", strerror(errno));
	ASSERT_GT(queued, 0U);
	n = epoll_wait(ep, &ev, 1, 0);
	EXPECT_EQ(0, n) TH_LOG("an edge (%#x) while still full", ev.events);
	while (queued) {
		size_t len = queued < CHUNK ? queued : CHUNK;

		ASSERT_EQ((ssize_t)len, read_full(s, buf, len));
		queued -= len;
	}
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, WAIT_MS))
		TH_LOG("no EPOLLOUT within %d ms of the peer reading all", WAIT_MS);
	EXPECT_TRUE(ev.events & EPOLLOUT) TH_LOG("edge %#x", ev.events);
	EXPECT_GT(write(c, buf, MSG), 0) TH_LOG("write after EPOLLOUT: %s",
						strerror(errno));
	close(ep);
	close(s);
	close(c);
}

/* ---- vectored I/O and message flags ------------------------------------ */

TEST_F(mux, readv_writev_recvmsg_sendmsg)
{
	enum { A = 100, B = 5000, C = 30000, T = A + B + C };
	static uint8_t out[T], in[T];
	struct iovec iov[3];
	struct msghdr msg;
	struct gen g;
	size_t got;
	ssize_t n;
	int c, s, rev;

	gen_init(&g, 3);
	gen_fill(&g, out, sizeof(out));
	c = mux_open(self->client, "vec", 3, 0, NULL);
	ASSERT_GE(c, 0) TH_LOG("mux_open: %s", strerror(errno));
	s = mux_accept(self->server, in, &(size_t){ sizeof(in) }, 0, NULL);
	ASSERT_GE(s, 0) TH_LOG("mux_accept: %s", strerror(errno));

	/* Nothing there yet: MSG_DONTWAIT on a blocking stream. */
	EXPECT_EQ(-1, recv(s, in, sizeof(in), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno)
		TH_LOG("recv(MSG_DONTWAIT) on an empty stream: expected EAGAIN, got %s",
		       strerror(errno));

	/* writev -> readv, with different segment boundaries. */
	iov[0] = (struct iovec){ out, A };
	iov[1] = (struct iovec){ out + A, B };
	iov[2] = (struct iovec){ out + A + B, C };
	ASSERT_EQ((ssize_t)T, writev(c, iov, 3))
		TH_LOG("writev of %d bytes in 3 segments: %s", T, strerror(errno));
	memset(in, 0, sizeof(in));
	for (got = 0; got < T; got += (size_t)n) {
		size_t r = T - got, a = r < 7 ? r : 7, b = r - a < 1000 ? r - a : 1000;

		iov[0] = (struct iovec){ in + got, a };
		iov[1] = (struct iovec){ in + got + a, b };
		iov[2] = (struct iovec){ in + got + a + b, r - a - b };
		n = readv(s, iov, 3);
		ASSERT_GT(n, 0) TH_LOG("readv after %zu of %d bytes: %zd (%s)",
				       got, T, n, n ? strerror(errno) : "EOF");
	}
	EXPECT_EQ(0, memcmp(in, out, T)) TH_LOG("readv returned other bytes than writev wrote");

	/* sendmsg -> recvmsg, the other way. */
	iov[0] = (struct iovec){ out, B };
	iov[1] = (struct iovec){ out + B, C };
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	ASSERT_EQ((ssize_t)(B + C), sendmsg(s, &msg, MSG_NOSIGNAL))
		TH_LOG("sendmsg: %s", strerror(errno));
	memset(in, 0, sizeof(in));
	for (got = 0; got < B + C; got += (size_t)n) {
		iov[0] = (struct iovec){ in + got, (B + C - got) / 2 };
		iov[1] = (struct iovec){ in + got + (B + C - got) / 2,
					 B + C - got - (B + C - got) / 2 };
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = 2;
		n = recvmsg(c, &msg, 0);
		ASSERT_GT(n, 0) TH_LOG("recvmsg after %zu of %d bytes: %zd (%s)",
				       got, B + C, n, n ? strerror(errno) : "EOF");
		EXPECT_EQ(0, msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
	}
	EXPECT_EQ(0, memcmp(in, out, B + C));

	/* MSG_DONTWAIT with data there: both directions. */
	EXPECT_EQ(100, send(c, out, 100, MSG_DONTWAIT | MSG_NOSIGNAL))
		TH_LOG("send(MSG_DONTWAIT) within the window: %s", strerror(errno));
	rev = poll1(s, POLLIN, WAIT_MS);
	ASSERT_TRUE(rev & POLLIN) TH_LOG("100 bytes did not arrive in %d ms",
					 WAIT_MS);
	memset(in, 0, 100);
	EXPECT_EQ(100, recv(s, in, sizeof(in), MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(in, out, 100));
	EXPECT_EQ(-1, recv(s, in, sizeof(in), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* EOF through recvmsg. */
	ASSERT_EQ(0, shutdown(c, SHUT_WR));
	iov[0] = (struct iovec){ in, sizeof(in) };
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = 1;
	EXPECT_EQ(0, recvmsg(s, &msg, 0)) TH_LOG("recvmsg after SHUT_WR: expected EOF");
	close(s);
	close(c);
}

TEST_HARNESS_MAIN
