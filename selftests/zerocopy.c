// SPDX-License-Identifier: GPL-2.0
/*
 * zerocopy.c - MSG_ZEROCOPY on stream sockets (afmux(7), "MSG_ZEROCOPY"),
 * with TCP's contract: SO_ZEROCOPY (or AFMUX_ZEROCOPY) enables it; each
 * send with MSG_ZEROCOPY gets a number, and a completion on the stream's
 * error queue (SO_EE_ORIGIN_ZEROCOPY, ranges of numbers, cmsg SOL_IP /
 * IP_RECVERR) once the kernel has let go of the pages; small sends are
 * copied and say so (SO_EE_CODE_ZEROCOPY_COPIED), as is all over kTLS,
 * which encrypts from the pages; completions come when
 * the peer resets the stream or the connection dies mid-flight, after a
 * fork that wrote to the buffer, and to another process the fd was passed
 * to.  Every byte the peer reads is checked by SHA-256.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/afmux.h>
#include <linux/errqueue.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "ktls_util.h"
#include "sha256.h"
#include "util.h"

#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY	0x4000000
#endif
#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY	60
#endif

#define SEND_LEN	(256 * 1024)
#define NR_SENDS	64
#define BUF_LEN		(SEND_LEN * NR_SENDS)
#define IDS_MAX		1024
#define WAIT_MS		10000

/* What the error queue said so far. */
struct zc {
	bool seen[IDS_MAX];
	unsigned int nr_seen, copied, notes;
	int bad;		/* a notification that broke the contract */
};

/* Turn MSG_ZEROCOPY on for stream @fd (AFMUX_ZEROCOPY: every kernel). */
static int zc_enable(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_AFMUX, AFMUX_ZEROCOPY, &one, sizeof(one));
}

/* Read every completion waiting on @fd's error queue into @z. */
static void zc_drain(int fd, struct zc *z)
{
	for (;;) {
		char control[CMSG_SPACE(sizeof(struct sock_extended_err)) + 64];
		struct msghdr msg = { .msg_control = control,
				      .msg_controllen = sizeof(control) };
		struct sock_extended_err *ee;
		struct cmsghdr *cm;
		uint32_t id;

		if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			if (errno != EAGAIN)
				z->bad++;
			return;
		}
		z->notes++;
		cm = CMSG_FIRSTHDR(&msg);
		if (!cm || cm->cmsg_level != SOL_IP ||
		    cm->cmsg_type != IP_RECVERR) {
			z->bad++;
			continue;
		}
		ee = (struct sock_extended_err *)CMSG_DATA(cm);
		if (ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY || ee->ee_errno ||
		    ee->ee_data < ee->ee_info || ee->ee_data >= IDS_MAX) {
			z->bad++;
			continue;
		}
		for (id = ee->ee_info; id <= ee->ee_data; id++) {
			if (z->seen[id])
				z->bad++;	/* twice */
			z->seen[id] = true;
			z->nr_seen++;
			if (ee->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
				z->copied++;
		}
	}
}

/* Wait until ids 0..@n-1 have completed (or WAIT_MS): 0 or -1. */
static int zc_wait(int fd, struct zc *z, unsigned int n)
{
	struct pollfd pfd = { .fd = fd };
	int waited = 0;

	for (;;) {
		zc_drain(fd, z);
		if (z->nr_seen >= n || z->bad || waited >= WAIT_MS)
			break;
		if (poll(&pfd, 1, 100) == 0)
			waited += 100;
	}
	for (unsigned int i = 0; i < n; i++)
		if (!z->seen[i])
			return -1;
	return z->bad || z->nr_seen != n ? -1 : 0;
}

static uint8_t *zc_buffer(size_t len)
{
	uint8_t *buf = malloc(len);

	for (size_t i = 0; buf && i < len; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 11);
	return buf;
}

/* The next @len bytes of @fd are @want's: 0, else -1. */
static int zc_read_same(int fd, const uint8_t *want, size_t len)
{
	uint8_t got[4096];
	size_t have = 0;

	while (have < len) {
		size_t m = len - have < sizeof(got) ? len - have : sizeof(got);
		ssize_t n = read(fd, got, m);

		if (n <= 0 || memcmp(got, want + have, (size_t)n))
			return -1;
		have += (size_t)n;
	}
	return 0;
}

static void zc_sha(const uint8_t *buf, size_t len, uint8_t sha[SHA256_LEN])
{
	struct sha256 c;

	sha256_init(&c);
	sha256_update(&c, buf, len);
	sha256_final(&c, sha);
}

/* Reads @fd to EOF or error into a SHA-256; the byte count. */
struct reader {
	int fd;
	size_t got, stop_after;	/* stop_after: close early (0: never) */
	uint8_t sha[SHA256_LEN];
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	static __thread uint8_t buf[65536];
	struct sha256 c;
	ssize_t n;

	sha256_init(&c);
	while ((n = read(r->fd, buf, sizeof(buf))) > 0) {
		sha256_update(&c, buf, n);
		r->got += n;
		if (r->stop_after && r->got >= r->stop_after)
			break;
	}
	sha256_final(&c, r->sha);
	if (r->stop_after)
		close(r->fd);	/* unread data: RESET CANCEL */
	return NULL;
}

FIXTURE(zc) {
	struct mux *a, *b;
	int tx, rx;		/* a stream: a's end, b's end */
};

FIXTURE_SETUP(zc)
{
	char key[8];

	signal(SIGPIPE, SIG_IGN);
	self->tx = self->rx = -1;
	ASSERT_EQ(mux_pair(&self->a, &self->b, false, false), 0);
	self->tx = mux_send(self->a, "zc");
	ASSERT_GE(self->tx, 0);
	self->rx = mux_receive(self->b, key, sizeof(key));
	ASSERT_GE(self->rx, 0);
}

FIXTURE_TEARDOWN(zc)
{
	if (self->tx >= 0)
		close(self->tx);
	if (self->rx >= 0)
		close(self->rx);
	if (self->a)
		mux_close(self->a);
	if (self->b)
		mux_close(self->b);
}

/* Kernel release at least @maj.@min? */
static bool kernel_at_least(int maj, int min)
{
	struct utsname u;
	int a = 0, b = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return false;
	return a > maj || (a == maj && b >= min);
}

/*
 * AFMUX_ZEROCOPY sets the flag SO_ZEROCOPY reads; SO_ZEROCOPY itself
 * from 6.5 on (6.1's core refuses it for other families: EOPNOTSUPP).
 */
TEST_F(zc, options)
{
	int v = -1, two = 2, one = 1, zero = 0;
	socklen_t len = sizeof(v);

	ASSERT_EQ(getsockopt(self->tx, SOL_SOCKET, SO_ZEROCOPY, &v, &len), 0);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(setsockopt(self->tx, SOL_AFMUX, AFMUX_ZEROCOPY, &two,
			     sizeof(two)), -1);
	EXPECT_EQ(errno, EINVAL);
	ASSERT_EQ(zc_enable(self->tx), 0);
	ASSERT_EQ(getsockopt(self->tx, SOL_SOCKET, SO_ZEROCOPY, &v, &len), 0);
	EXPECT_EQ(v, 1);
	ASSERT_EQ(getsockopt(self->tx, SOL_AFMUX, AFMUX_ZEROCOPY, &v, &len),
		  0);
	EXPECT_EQ(v, 1);
	EXPECT_EQ(setsockopt(self->tx, SOL_AFMUX, AFMUX_ZEROCOPY, &zero,
			     sizeof(zero)), 0);
	if (kernel_at_least(6, 5)) {
		EXPECT_EQ(setsockopt(self->tx, SOL_SOCKET, SO_ZEROCOPY, &one,
				     sizeof(one)), 0);
		ASSERT_EQ(getsockopt(self->tx, SOL_SOCKET, SO_ZEROCOPY, &v,
				     &len), 0);
		EXPECT_EQ(v, 1);
		/* The other SOL_SOCKET options still work. */
		v = 1 << 20;
		EXPECT_EQ(setsockopt(self->tx, SOL_SOCKET, SO_SNDBUF, &v,
				     sizeof(v)), 0);
	} else {
		EXPECT_EQ(setsockopt(self->tx, SOL_SOCKET, SO_ZEROCOPY, &one,
				     sizeof(one)), -1);
		EXPECT_EQ(errno, EOPNOTSUPP);
	}
}

/*
 * 64 sends of 256 KiB: each completes once (numbers 0..63), the peer
 * reads every byte, and poll says POLLERR while completions wait.  Small
 * sends are copied and say so.
 */
TEST_F(zc, completions)
{
	struct reader r = { .fd = self->rx };
	struct pollfd pfd = { .fd = self->tx };
	uint8_t *buf = zc_buffer(BUF_LEN), want[SHA256_LEN];
	struct zc z = { 0 };
	pthread_t t;
	int i;

	ASSERT_NE(buf, NULL);
	ASSERT_EQ(zc_enable(self->tx), 0);
	ASSERT_EQ(pthread_create(&t, NULL, reader_main, &r), 0);
	for (i = 0; i < NR_SENDS; i++)
		ASSERT_EQ(send(self->tx, buf + (size_t)i * SEND_LEN, SEND_LEN,
			       MSG_ZEROCOPY), SEND_LEN);
	for (i = 0; i < 8; i++)	/* copied: numbers 64..71 */
		ASSERT_EQ(send(self->tx, buf, 100, MSG_ZEROCOPY), 100);
	ASSERT_EQ(poll(&pfd, 1, WAIT_MS), 1);
	EXPECT_TRUE(pfd.revents & POLLERR);
	EXPECT_EQ(zc_wait(self->tx, &z, NR_SENDS + 8), 0)
		TH_LOG("%u of %u numbers, %u bad", z.nr_seen, NR_SENDS + 8,
		       z.bad);
	/* The last 8 at least were copied. */
	EXPECT_GE(z.copied, 8);
	shutdown(self->tx, SHUT_WR);
	pthread_join(t, NULL);
	EXPECT_EQ(r.got, (size_t)BUF_LEN + 800);
	{
		struct sha256 c;

		sha256_init(&c);
		sha256_update(&c, buf, BUF_LEN);
		for (i = 0; i < 8; i++)
			sha256_update(&c, buf, 100);
		sha256_final(&c, want);
	}
	EXPECT_EQ(memcmp(r.sha, want, sizeof(want)), 0);
	free(buf);
}

/* Without SO_ZEROCOPY, MSG_ZEROCOPY is ignored, as on TCP. */
TEST_F(zc, ignored_unless_enabled)
{
	uint8_t *buf = zc_buffer(SEND_LEN);
	char control[128];
	struct msghdr msg = { .msg_control = control,
			      .msg_controllen = sizeof(control) };

	ASSERT_NE(buf, NULL);
	ASSERT_EQ(send(self->tx, buf, SEND_LEN, MSG_ZEROCOPY), SEND_LEN);
	ASSERT_EQ(zc_read_same(self->rx, buf, SEND_LEN), 0);
	EXPECT_EQ(recvmsg(self->tx, &msg, MSG_ERRQUEUE | MSG_DONTWAIT), -1);
	EXPECT_EQ(errno, EAGAIN);
	free(buf);
}

/*
 * No option memory for a completion (net.core.optmem_max 0): ENOBUFS, no
 * number taken, nothing sent; with memory again, numbers go on from 0.
 */
TEST_F(zc, enobufs_without_optmem)
{
	uint8_t *buf = zc_buffer(SEND_LEN);
	long old = -1;
	struct zc z = { 0 };
	FILE *f = fopen("/proc/sys/net/core/optmem_max", "r+");
	ssize_t n;

	ASSERT_NE(buf, NULL);
	ASSERT_NE(f, NULL);
	ASSERT_EQ(fscanf(f, "%ld", &old), 1);
	ASSERT_EQ(zc_enable(self->tx), 0);
	rewind(f);
	fprintf(f, "0\n");
	fflush(f);
	n = send(self->tx, buf, SEND_LEN, MSG_ZEROCOPY | MSG_DONTWAIT);
	rewind(f);
	fprintf(f, "%ld\n", old);
	fclose(f);
	EXPECT_EQ(n, -1);
	EXPECT_EQ(errno, ENOBUFS);
	ASSERT_EQ(send(self->tx, buf, SEND_LEN, MSG_ZEROCOPY), SEND_LEN);
	ASSERT_EQ(zc_read_same(self->rx, buf, SEND_LEN), 0);
	EXPECT_EQ(zc_wait(self->tx, &z, 1), 0)
		TH_LOG("%u numbers, %u bad", z.nr_seen, z.bad);
	free(buf);
}

/*
 * The peer resets the stream mid-flight (its reader closes with data
 * unread): the queued pages are let go, and every send that succeeded
 * completes.
 */
TEST_F(zc, peer_reset_mid_flight)
{
	struct reader r = { .fd = self->rx, .stop_after = 1 << 20 };
	uint8_t *buf = zc_buffer(BUF_LEN);
	struct zc z = { 0 };
	unsigned int ok = 0;
	pthread_t t;
	int i;

	ASSERT_NE(buf, NULL);
	ASSERT_EQ(zc_enable(self->tx), 0);
	ASSERT_EQ(pthread_create(&t, NULL, reader_main, &r), 0);
	for (i = 0; i < NR_SENDS; i++) {
		ssize_t n = send(self->tx, buf + (size_t)i * SEND_LEN,
				 SEND_LEN, MSG_ZEROCOPY);

		if (n < 0) {
			EXPECT_EQ(errno, EPIPE);
			break;
		}
		ok++;
	}
	pthread_join(t, NULL);
	self->rx = -1;		/* the reader closed it */
	EXPECT_LT(ok, NR_SENDS);
	EXPECT_EQ(zc_wait(self->tx, &z, ok), 0)
		TH_LOG("%u of %u numbers, %u bad", z.nr_seen, ok, z.bad);
	free(buf);
}

/*
 * The connection dies mid-flight (the peer's mux and TCP socket close
 * with data unread): every send that succeeded completes.
 */
TEST_F(zc, connection_dies_mid_flight)
{
	uint8_t *buf = zc_buffer(BUF_LEN);
	struct zc z = { 0 };
	unsigned int ok = 0;
	int i, sndbuf = 4 << 20;

	ASSERT_NE(buf, NULL);
	ASSERT_EQ(zc_enable(self->tx), 0);
	ASSERT_EQ(setsockopt(self->tx, SOL_SOCKET, SO_SNDBUF, &sndbuf,
			     sizeof(sndbuf)), 0);
	/* Nobody reads: queue what fits, then the peer goes. */
	for (i = 0; i < NR_SENDS; i++) {
		if (send(self->tx, buf + (size_t)i * SEND_LEN, SEND_LEN,
			 MSG_ZEROCOPY | MSG_DONTWAIT) < 0)
			break;
		ok++;
	}
	ASSERT_GT(ok, 0);
	close(self->rx);
	self->rx = -1;
	mux_close(self->b);
	self->b = NULL;
	EXPECT_EQ(zc_wait(self->tx, &z, ok), 0)
		TH_LOG("%u of %u numbers, %u bad", z.nr_seen, ok, z.bad);
	free(buf);
}

/*
 * A fork while the pages are in flight, whose child scribbles on the
 * buffer: the peer still reads the bytes as they were sent.
 */
TEST_F(zc, fork_while_pinned)
{
	struct reader r = { .fd = self->rx };
	uint8_t *buf = zc_buffer(BUF_LEN), want[SHA256_LEN];
	unsigned int ids = 0;
	struct zc z = { 0 };
	size_t part = 0;
	int status, i;
	pthread_t t;
	pid_t pid;

	ASSERT_NE(buf, NULL);
	zc_sha(buf, BUF_LEN, want);
	ASSERT_EQ(zc_enable(self->tx), 0);
	/* Queue what fits before anyone reads (the window, the buffer). */
	for (i = 0; i < NR_SENDS; i++) {
		ssize_t n = send(self->tx, buf + (size_t)i * SEND_LEN,
				 SEND_LEN, MSG_ZEROCOPY | MSG_DONTWAIT);

		if (n > 0)
			ids++;
		if (n != SEND_LEN) {
			part = n > 0 ? n : 0;
			break;
		}
	}
	ASSERT_GT(ids, 0);
	ASSERT_LT(i, NR_SENDS);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		memset(buf, 0xee, BUF_LEN);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_EQ(pthread_create(&t, NULL, reader_main, &r), 0);
	if (part) {
		ASSERT_EQ(send(self->tx, buf + (size_t)i * SEND_LEN + part,
			       SEND_LEN - part, MSG_ZEROCOPY),
			  (ssize_t)(SEND_LEN - part));
		ids++;
		i++;
	}
	for (; i < NR_SENDS; i++, ids++)
		ASSERT_EQ(send(self->tx, buf + (size_t)i * SEND_LEN, SEND_LEN,
			       MSG_ZEROCOPY), SEND_LEN);
	EXPECT_EQ(zc_wait(self->tx, &z, ids), 0)
		TH_LOG("%u of %u numbers, %u bad", z.nr_seen, ids, z.bad);
	shutdown(self->tx, SHUT_WR);
	pthread_join(t, NULL);
	EXPECT_EQ(r.got, (size_t)BUF_LEN);
	EXPECT_EQ(memcmp(r.sha, want, sizeof(want)), 0);
	free(buf);
}

/* Completions go to the socket, so to whoever holds the fd now. */
TEST_F(zc, fd_passed_to_another_process)
{
	struct reader r = { .fd = self->rx };
	uint8_t *buf = zc_buffer(BUF_LEN);
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	int sv[2], status, i;
	pthread_t t;
	pid_t pid;

	ASSERT_NE(buf, NULL);
	ASSERT_EQ(zc_enable(self->tx), 0);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char c, cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec ciov = { .iov_base = &c, .iov_len = 1 };
		struct msghdr cmsg = { .msg_iov = &ciov, .msg_iovlen = 1,
				       .msg_control = cbuf,
				       .msg_controllen = sizeof(cbuf) };
		struct zc z = { 0 };
		int fd;

		close(sv[0]);
		if (recvmsg(sv[1], &cmsg, 0) != 1 || !CMSG_FIRSTHDR(&cmsg))
			_exit(2);
		memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&cmsg)), sizeof(fd));
		if (read(sv[1], &c, 1) != 1)	/* the parent has sent */
			_exit(3);
		_exit(zc_wait(fd, &z, NR_SENDS) ? 1 : 0);
	}
	close(sv[1]);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &self->tx, sizeof(int));
	ASSERT_EQ(sendmsg(sv[0], &msg, 0), 1);
	ASSERT_EQ(pthread_create(&t, NULL, reader_main, &r), 0);
	for (i = 0; i < NR_SENDS; i++)
		ASSERT_EQ(send(self->tx, buf + (size_t)i * SEND_LEN, SEND_LEN,
			       MSG_ZEROCOPY), SEND_LEN);
	shutdown(self->tx, SHUT_WR);
	close(self->tx);	/* only the child holds it now */
	self->tx = -1;
	ASSERT_EQ(write(sv[0], "s", 1), 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("child: status %d", status);
	pthread_join(t, NULL);
	EXPECT_EQ(r.got, (size_t)BUF_LEN);
	close(sv[0]);
	free(buf);
}

/*
 * Over kTLS: kTLS encrypts from the pages, so every completion says
 * copied; the peer reads every byte.
 */
TEST(over_ktls)
{
	static const struct ktls_suite st = { "tls13_gcm128", TLS_1_3_VERSION,
					      TLS_CIPHER_AES_GCM_128 };
	uint8_t *buf = zc_buffer(BUF_LEN / 4), want[SHA256_LEN];
	struct mux *a, *b;
	struct reader r = { 0 };
	struct zc z = { 0 };
	int c, s, i, tx;
	char key[8];
	pthread_t t;

	signal(SIGPIPE, SIG_IGN);
	ASSERT_NE(buf, NULL);
	ASSERT_EQ(tcp_pair(&c, &s), 0);
	ASSERT_EQ(ktls_pair_keys(c, s, &st), 0) TH_LOG("kTLS: %s",
						      strerror(errno));
	a = mux_new(c);
	b = mux_new(s);
	ASSERT_TRUE(a && b);
	close(c);
	close(s);
	tx = mux_send(a, "tls");
	ASSERT_GE(tx, 0);
	r.fd = mux_receive(b, key, sizeof(key));
	ASSERT_GE(r.fd, 0);
	ASSERT_EQ(zc_enable(tx), 0);
	ASSERT_EQ(pthread_create(&t, NULL, reader_main, &r), 0);
	for (i = 0; i < NR_SENDS / 4; i++)
		ASSERT_EQ(send(tx, buf + (size_t)i * SEND_LEN, SEND_LEN,
			       MSG_ZEROCOPY), SEND_LEN);
	EXPECT_EQ(zc_wait(tx, &z, NR_SENDS / 4), 0)
		TH_LOG("%u of %u numbers, %u bad", z.nr_seen, NR_SENDS / 4,
		       z.bad);
	EXPECT_EQ(z.copied, NR_SENDS / 4);
	shutdown(tx, SHUT_WR);
	pthread_join(t, NULL);
	zc_sha(buf, BUF_LEN / 4, want);
	EXPECT_EQ(r.got, (size_t)BUF_LEN / 4);
	EXPECT_EQ(memcmp(r.sha, want, sizeof(want)), 0);
	close(tx);
	close(r.fd);
	mux_close(a);
	mux_close(b);
	free(buf);
}

TEST_HARNESS_MAIN
