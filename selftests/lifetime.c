// SPDX-License-Identifier: GPL-2.0
/*
 * lifetime.c - afmux objects outlive, or die with, what holds them
 * (docs/security.md, "Lifetime"): the module cannot be unloaded while a
 * mux or stream exists; a process killed with thousands of streams, a
 * network namespace deleted under live transfers, a stream fd passed to
 * another process that outlives the opener, and one inherited over fork
 * all end with every afmux socket freed (the module's reference count
 * back to 0) and, where the data had somewhere to go, every byte there.
 * A peer that vanishes without a word is noticed by keepalive in time.
 * Many connections at once: selftests/load.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/afmux.h>
#include <linux/sock_diag.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "sha256.h"
#include "util.h"

FIXTURE(lt) {
};

FIXTURE_SETUP(lt)
{
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(afmux_wait_refcnt_zero(), 0);
}

FIXTURE_TEARDOWN(lt)
{
	sysctl_put("window", 262144);
}

/* Two muxes over loopback TCP in this process. */
static int lt_pair(struct mux **a, struct mux **b)
{
	return mux_pair(a, b, false, false);
}

/* A deterministic payload for @len bytes, and its SHA-256. */
static void lt_fill(uint8_t *p, size_t len, uint8_t sha[SHA256_LEN])
{
	struct sha256 c;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + (i >> 9));
	sha256_init(&c);
	sha256_update(&c, p, len);
	sha256_final(&c, sha);
}

/* Read @fd to EOF; its SHA-256 and length. */
static ssize_t lt_drain(int fd, uint8_t sha[SHA256_LEN])
{
	struct sha256 c;
	uint8_t buf[16384];
	ssize_t n, total = 0;

	sha256_init(&c);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		sha256_update(&c, buf, (size_t)n);
		total += n;
	}
	sha256_final(&c, sha);
	return n < 0 ? -1 : total;
}

/*
 * rmmod is refused (EWOULDBLOCK: in use) while a mux and a stream exist,
 * even with their fds closed but a stream still open; tools/vm-run
 * unloads the module after the run and fails if that does not work.
 */
TEST_F(lt, rmmod_refused_while_in_use)
{
	struct mux *a, *b;
	char key[8];
	int s, t;

	ASSERT_EQ(lt_pair(&a, &b), 0);
	s = mux_send(a, "k");
	ASSERT_GE(s, 0);
	t = mux_receive(b, key, sizeof(key));
	ASSERT_GE(t, 0);
	EXPECT_EQ(syscall(SYS_delete_module, "afmux", O_NONBLOCK), -1);
	EXPECT_EQ(errno, EWOULDBLOCK);
	mux_close(a);
	mux_close(b);
	/* Only two stream fds left: still in use. */
	EXPECT_EQ(syscall(SYS_delete_module, "afmux", O_NONBLOCK), -1);
	EXPECT_EQ(errno, EWOULDBLOCK);
	close(s);
	close(t);
	EXPECT_EQ(afmux_wait_refcnt_zero(), 0);
}

#define KILL_STREAMS	1000	/* each way */

/*
 * A process with 2 x 1000 streams (half of them holding unread data)
 * is killed: everything is freed.  Windows of 64 KiB keep the credit
 * within the connections' budgets.
 */
TEST_F_TIMEOUT(lt, killed_with_thousands_of_streams, 300)
{
	int ready[2], status, i;
	char c;
	pid_t pid;

	ASSERT_EQ(sysctl_put("window", 65536), 0);
	ASSERT_EQ(pipe(ready), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct rlimit rl = { 8192, 8192 };
		struct mux *a, *b;
		char key[16];

		if (setrlimit(RLIMIT_NOFILE, &rl) || lt_pair(&a, &b))
			_exit(1);
		for (i = 0; i < KILL_STREAMS; i++) {
			int s, t;

			snprintf(key, sizeof(key), "%d", i);
			s = mux_send(i & 1 ? a : b, key);
			t = mux_receive(i & 1 ? b : a, key, sizeof(key));
			if (s < 0 || t < 0)
				_exit(2);
			if ((i & 3) == 0 && write(s, key, 8) != 8)
				_exit(3);
		}
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		pause();
		_exit(5);
	}
	close(ready[1]);
	EXPECT_EQ(read(ready[0], &c, 1), 1) TH_LOG("the child failed");
	close(ready[0]);
	EXPECT_GT(afmux_module_refcnt(), 2 * KILL_STREAMS);
	kill(pid, SIGKILL);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(sysctl_put("window", 262144), 0);
	EXPECT_EQ(afmux_wait_refcnt_zero(), 0);
}

#define NETNS_BYTES	(8 << 20)

/*
 * In a network namespace of its own, a child moves data over 4 streams
 * whose reader has stopped reading, then dies with the namespace:
 * nothing is left.
 */
TEST_F_TIMEOUT(lt, netns_dies_with_live_transfers, 120)
{
	int ready[2], status;
	char c;
	pid_t pid;

	ASSERT_EQ(pipe(ready), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		static uint8_t buf[65536];
		struct mux *a, *b;
		char key[8];
		int i, s[4];

		if (unshare(CLONE_NEWNET) ||
		    system("ip link set lo up") != 0 || lt_pair(&a, &b))
			_exit(1);
		for (i = 0; i < 4; i++) {
			s[i] = mux_open(a, "n", 1, AFMUX_O_NONBLOCK, NULL);
			if (s[i] < 0 || mux_receive(b, key, sizeof(key)) < 0)
				_exit(2);
			/* Fill the window and the send buffer. */
			while (write(s[i], buf, sizeof(buf)) > 0)
				;
		}
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		pause();
		_exit(4);
	}
	close(ready[1]);
	EXPECT_EQ(read(ready[0], &c, 1), 1) TH_LOG("the child failed");
	close(ready[0]);
	kill(pid, SIGKILL);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(afmux_wait_refcnt_zero(), 0);
}

static uint64_t lt_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The peer vanishes mid-transfer (netem drops every packet, no FIN, no
 * reset): with keepalive (idle 300 ms, timeout 700 ms) the receiving
 * mux ends the connection within idle + timeout, its stream reader gets
 * ECONNRESET after the bytes that had come, and the mux ETIMEDOUT.
 */
TEST_F_TIMEOUT(lt, keepalive_ends_a_vanished_peer, 60)
{
	static uint8_t buf[65536];
	struct afmux_keepalive ka = { .idle_ms = 300, .timeout_ms = 700 };
	struct pollfd pfd;
	struct mux *a, *b;
	int s, t, err = 0;
	socklen_t len = sizeof(err);
	uint64_t t0, dt;
	ssize_t n;
	char key[8];

	ASSERT_EQ(unshare(CLONE_NEWNET), 0);
	ASSERT_EQ(system("ip link set lo up"), 0);
	ASSERT_EQ(lt_pair(&a, &b), 0);
	ASSERT_EQ(setsockopt(mux_fd(a), SOL_AFMUX, AFMUX_KEEPALIVE, &ka,
			     sizeof(ka)), 0);
	s = mux_open(b, "v", 1, AFMUX_O_NONBLOCK, NULL);
	ASSERT_GE(s, 0);
	t = mux_receive(a, key, sizeof(key));
	ASSERT_GE(t, 0);
	ASSERT_EQ(write_all(s, buf, 16384), 0);
	ASSERT_EQ(read_full(t, buf, 16384), 16384);

	ASSERT_EQ(system("tc qdisc add dev lo root netem loss 100%"), 0)
		TH_LOG("tc netem (needs tc, sch_netem)");
	t0 = lt_ms();
	while (write(s, buf, sizeof(buf)) > 0)
		;
	pfd = (struct pollfd){ .fd = t, .events = POLLIN };
	for (;;) {
		ASSERT_EQ(poll(&pfd, 1, 10000), 1) TH_LOG("no end in 10 s");
		n = read(t, buf, sizeof(buf));
		if (n <= 0)
			break;
	}
	dt = lt_ms() - t0;
	EXPECT_EQ(n, -1);
	EXPECT_EQ(errno, ECONNRESET);
	EXPECT_EQ(getsockopt(mux_fd(a), SOL_SOCKET, SO_ERROR, &err, &len), 0);
	EXPECT_EQ(err, ETIMEDOUT);
	/* (Sooner when a PING sent just before was lost: no lower bound.) */
	EXPECT_LE(dt, 300 + 700 + 1500) TH_LOG("ended after %llu ms",
					       (unsigned long long)dt);
	TH_LOG("ended %llu ms after the peer vanished",
	       (unsigned long long)dt);
	/* The peer comes back to see the end; then all is freed. */
	EXPECT_EQ(system("tc qdisc del dev lo root"), 0);
	close(s);
	close(t);
	mux_close(a);
	mux_close(b);
	EXPECT_EQ(afmux_wait_refcnt_zero(), 0);
}

/* Pass @fd over the UNIX socket @u. */
static int lt_send_fd(int u, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&mh);

	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	return sendmsg(u, &mh, 0) == 1 ? 0 : -1;
}

static int lt_recv_fd(int u)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	char c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *h;
	int fd;

	if (recvmsg(u, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	h = CMSG_FIRSTHDR(&mh);
	if (!h || h->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(h), sizeof(int));
	return fd;
}

#define PASS_BYTES	(4 << 20)

/*
 * The opener passes its stream fd to another process and exits (its mux
 * and everything else closed); the receiver writes 4 MiB on it and
 * closes; the other end gets every byte, by SHA-256.  Then the same
 * with an fd inherited over fork, the parent's copy closed first.
 */
TEST_F_TIMEOUT(lt, stream_fd_outlives_its_opener, 120)
{
	static uint8_t data[PASS_BYTES];
	uint8_t want[SHA256_LEN], got[SHA256_LEN];
	int u[2], status, round;
	struct mux *b;
	char key[8];
	pid_t opener, writer;

	lt_fill(data, sizeof(data), want);
	for (round = 0; round < 2; round++) {
		int c, s, t;

		ASSERT_EQ(tcp_pair(&c, &s), 0);
		b = mux_new(s);
		ASSERT_NE(b, NULL);
		close(s);
		ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, u), 0);
		opener = fork();
		ASSERT_GE(opener, 0);
		if (!opener) {
			struct mux *a = mux_new(c);
			int fd = a ? mux_send(a, "p") : -1;

			if (fd < 0)
				_exit(1);
			if (round == 0) {
				/* Pass it on, then go. */
				_exit(lt_send_fd(u[0], fd) ? 2 : 0);
			}
			/* Fork a writer with it; our copies go first. */
			writer = fork();
			if (!writer) {
				if (read(u[1], key, 1) != 1 ||
				    write_all(fd, data, sizeof(data)))
					_exit(3);
				_exit(0);
			}
			close(fd);
			mux_close(a);
			_exit(write(u[0], "g", 1) == 1 ? 0 : 4);
		}
		close(c);
		if (round == 0) {
			/* Gone: the stream lives only in the UNIX socket. */
			ASSERT_EQ(waitpid(opener, &status, 0), opener);
			EXPECT_EQ(status, 0);
			writer = fork();
			ASSERT_GE(writer, 0);
			if (!writer) {
				int fd = lt_recv_fd(u[1]);

				if (fd < 0)
					_exit(1);
				_exit(write_all(fd, data, sizeof(data)) ? 3 : 0);
			}
		}
		t = mux_receive(b, key, sizeof(key));
		ASSERT_GE(t, 0);
		EXPECT_EQ(lt_drain(t, got), (ssize_t)sizeof(data));
		EXPECT_EQ(memcmp(got, want, SHA256_LEN), 0)
			TH_LOG("round %d: bytes differ", round);
		close(t);
		ASSERT_EQ(waitpid(round == 0 ? writer : opener, &status, 0),
			  round == 0 ? writer : opener);
		EXPECT_EQ(status, 0);
		close(u[0]);
		close(u[1]);
		mux_close(b);
	}
	EXPECT_EQ(afmux_wait_refcnt_zero(), 0);
}

TEST_HARNESS_MAIN
