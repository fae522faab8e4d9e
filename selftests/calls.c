// SPDX-License-Identifier: GPL-2.0
/*
 * calls.c - what afmux(7) says every call does on a mux socket and on a
 * stream ("Other calls", "Reading", "Writing", "Shutdown", "POLL", the
 * end of a connection), checked one statement at a time against the
 * module, so that the manual page and the code cannot drift apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/afmux.h>
#include <linux/sockios.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"

FIXTURE(calls) {
	struct mux *a, *b;	/* two ends of one connection */
	int s, t;		/* a stream a opened, and b's end of it */
};

FIXTURE_SETUP(calls)
{
	char key[8];
	int c, d;

	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(tcp_pair(&c, &d), 0);
	self->a = mux_new(c);
	self->b = mux_new(d);
	close(c);
	close(d);
	ASSERT_TRUE(self->a && self->b);
	self->s = mux_send(self->a, "k");
	ASSERT_GE(self->s, 0);
	self->t = mux_receive(self->b, key, sizeof(key));
	ASSERT_GE(self->t, 0);
}

FIXTURE_TEARDOWN(calls)
{
	close(self->s);
	close(self->t);
	if (self->a)
		mux_close(self->a);
	if (self->b)
		mux_close(self->b);
}

/* Wait up to 10 s for @fd to be readable: 0 if it is. */
static int calls_wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 10000) == 1 ? 0 : -1;
}

/* -1 with errno @err? */
#define EXPECT_ERRNO(call, err) do {				\
	errno = 0;						\
	EXPECT_EQ(-1, (long)(call));				\
	EXPECT_EQ(err, errno) TH_LOG("%s: %s", #call, strerror(errno)); \
} while (0)

/* "Other calls": EOPNOTSUPP on both kinds of socket. */
TEST_F(calls, other_calls_not_supported)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fds[2] = { mux_fd(self->a), self->s }, i, v = 0;
	char c = 'x';

	for (i = 0; i < 2; i++) {
		int fd = fds[i];

		TH_LOG("%s", i ? "stream" : "mux socket");
		EXPECT_ERRNO(bind(fd, (struct sockaddr *)&sin, sizeof(sin)),
			     EOPNOTSUPP);
		EXPECT_ERRNO(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
			     EOPNOTSUPP);
		EXPECT_ERRNO(accept(fd, NULL, NULL), EOPNOTSUPP);
		len = sizeof(ss);
		EXPECT_ERRNO(getsockname(fd, (struct sockaddr *)&ss, &len),
			     EOPNOTSUPP);
		len = sizeof(ss);
		EXPECT_ERRNO(getpeername(fd, (struct sockaddr *)&ss, &len),
			     EOPNOTSUPP);
	}
	EXPECT_ERRNO(listen(self->s, 1), EOPNOTSUPP);
	EXPECT_ERRNO(shutdown(mux_fd(self->a), SHUT_WR), EOPNOTSUPP);
	EXPECT_ERRNO(ioctl(self->s, FIONREAD, &v), EOPNOTSUPP);
	EXPECT_ERRNO(ioctl(self->s, SIOCOUTQ, &v), EOPNOTSUPP);
	/* The mux socket carries no data. */
	EXPECT_ERRNO(read(mux_fd(self->a), &c, 1), EOPNOTSUPP);
	EXPECT_ERRNO(write(mux_fd(self->a), &c, 1), EOPNOTSUPP);
}

/* "Reading" and "Writing": the flags refused, and not waiting. */
TEST_F(calls, flags_and_nonblocking)
{
	char c = 'x', buf[4];

	EXPECT_ERRNO(recv(self->t, buf, 1, MSG_PEEK), EOPNOTSUPP);
	EXPECT_ERRNO(recv(self->t, buf, 1, MSG_OOB), EOPNOTSUPP);
	EXPECT_ERRNO(recv(self->t, buf, 1, MSG_TRUNC), EOPNOTSUPP);
	/* the error queue (MSG_ZEROCOPY completions): empty, never waits */
	EXPECT_ERRNO(recv(self->t, buf, 1, MSG_ERRQUEUE), EAGAIN);
	EXPECT_ERRNO(send(self->s, &c, 1, MSG_OOB), EOPNOTSUPP);
	EXPECT_ERRNO(recv(self->t, buf, 1, MSG_DONTWAIT), EAGAIN);
	ASSERT_EQ(0, fcntl(self->t, F_SETFL, O_NONBLOCK));
	EXPECT_ERRNO(read(self->t, buf, 1), EAGAIN);
	/* Ignored flags do no harm. */
	EXPECT_EQ(1, send(self->s, &c, 1, MSG_MORE | MSG_EOR));
	ASSERT_EQ(0, fcntl(self->t, F_SETFL, 0));
	EXPECT_EQ(1, recv(self->t, buf, sizeof(buf), MSG_CMSG_CLOEXEC));
	EXPECT_EQ('x', buf[0]);
}

/* "Shutdown": SHUT_WR ends one direction, SHUT_RD reads 0, else EINVAL. */
TEST_F(calls, shutdown_each_way)
{
	char c = 'y', buf[4];
	ssize_t n = 0;
	int i;

	EXPECT_ERRNO(shutdown(self->s, 3), EINVAL);
	EXPECT_ERRNO(shutdown(self->s, -1), EINVAL);

	/*
	 * SHUT_RD: nothing queued reads 0 at once (so poll says readable
	 * and cannot wait for the byte), but data still comes and is read.
	 */
	ASSERT_EQ(0, shutdown(self->t, SHUT_RD));
	EXPECT_EQ(0, read(self->t, buf, sizeof(buf)));
	ASSERT_EQ(1, write(self->s, &c, 1));
	for (i = 0; i < 1000 && (n = read(self->t, buf, sizeof(buf))) == 0; i++)
		usleep(10000);
	EXPECT_EQ(1, n);

	/* SHUT_WR: the peer reads EOF, writes fail with EPIPE. */
	ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
	EXPECT_ERRNO(send(self->s, &c, 1, MSG_NOSIGNAL), EPIPE);
	EXPECT_EQ(0, read(self->t, buf, sizeof(buf)));
	/* The other direction is unaffected. */
	ASSERT_EQ(1, write(self->t, &c, 1));
	EXPECT_EQ(1, read(self->s, buf, sizeof(buf)));
}

/*
 * "End of stream, resets and errors": the peer's RESET (its reader
 * closed with data unread) makes reads fail with ECONNRESET once, then
 * return 0; writes fail with EPIPE.
 */
TEST_F(calls, reset_reported_once)
{
	char c = 'z', buf[4];
	struct pollfd p = { .fd = self->s, .events = POLLIN };

	/* A byte each way; s reads its own, t does not. */
	ASSERT_EQ(1, write(self->s, &c, 1));
	ASSERT_EQ(1, write(self->t, &c, 1));
	EXPECT_EQ(1, read(self->s, buf, sizeof(buf)));
	/* t has unread data when it closes: RESET CANCEL. */
	ASSERT_EQ(0, calls_wait_readable(self->t));
	ASSERT_EQ(0, close(self->t));
	self->t = -1;
	ASSERT_EQ(1, poll(&p, 1, 10000));
	EXPECT_ERRNO(read(self->s, buf, sizeof(buf)), ECONNRESET);
	EXPECT_EQ(0, read(self->s, buf, sizeof(buf)));
	EXPECT_ERRNO(send(self->s, &c, 1, MSG_NOSIGNAL), EPIPE);
}

/*
 * "POLL" of the mux socket and "When the connection ends": POLLOUT
 * while attached, POLLIN with a stream queued; after the peer closes its
 * mux socket and the last stream is over, a clean end: POLLHUP, SO_ERROR
 * 0, OPEN and ACCEPT fail with EPIPE.
 */
TEST_F(calls, mux_poll_and_clean_end)
{
	struct pollfd p = { .fd = mux_fd(self->b), .events = POLLIN | POLLOUT };
	int err = -1, u;
	socklen_t len = sizeof(err);
	char key[8];

	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT, p.revents & (POLLIN | POLLOUT | POLLHUP | POLLERR));
	u = mux_send(self->a, "q");
	ASSERT_GE(u, 0);
	ASSERT_EQ(1, poll(&p, 1, 10000));
	EXPECT_TRUE(p.revents & POLLIN);
	close(u);
	u = mux_receive(self->b, key, sizeof(key));
	ASSERT_GE(u, 0);
	EXPECT_EQ(0, read(u, key, sizeof(key)));
	close(u);

	/* a closes everything: b sees a clean end once the streams are over. */
	close(self->s);
	self->s = -1;
	EXPECT_EQ(0, read(self->t, key, sizeof(key)));
	close(self->t);
	self->t = -1;
	mux_close(self->a);
	self->a = NULL;
	p.events = POLLIN;
	ASSERT_EQ(1, poll(&p, 1, 10000));
	EXPECT_TRUE(p.revents & POLLHUP);
	EXPECT_FALSE(p.revents & POLLERR);
	ASSERT_EQ(0, getsockopt(mux_fd(self->b), SOL_SOCKET, SO_ERROR, &err,
				&len));
	EXPECT_EQ(0, err);
	errno = 0;
	EXPECT_EQ(-1, mux_open(self->b, "n", 1, 0, NULL));
	EXPECT_EQ(EPIPE, errno);
	errno = 0;
	EXPECT_EQ(-1, mux_receive(self->b, key, sizeof(key)));
	EXPECT_EQ(EPIPE, errno);
}

TEST_HARNESS_MAIN
