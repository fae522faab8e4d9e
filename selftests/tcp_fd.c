// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_fd.c - the user's TCP fd once it is attached (docs/security.md,
 * afmux(7) "The attached TCP socket"): whatever the user does with it is
 * refused with EBUSY or harmless, never takes bytes from the mux, and
 * the mux carries its streams intact (SHA-256) through all of it; the
 * socket stays marked with the "afmux" ULP for life; attaching never
 * waits for room in TCP; and TCP_NOTSENT_LOWAT follows TCP's pacing rate
 * unless the user set it (afmux(7), "The TCP socket after ATTACH").
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <linux/afmux.h>
#include <linux/sockios.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "sha256.h"
#include "util.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif
#ifndef TCP_REPAIR
#define TCP_REPAIR 19
#endif
#ifndef TCP_ZEROCOPY_RECEIVE
#define TCP_ZEROCOPY_RECEIVE 35
#endif

FIXTURE(tfd) {
	int c, s;		/* the two TCP fds, kept open */
	struct mux *a, *b;	/* attached to c and s */
};

FIXTURE_SETUP(tfd)
{
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(afmux_wait_refcnt_zero(), 0);
	ASSERT_EQ(tcp_pair(&self->c, &self->s), 0);
	self->a = mux_new(self->c);
	ASSERT_NE(self->a, NULL);
	self->b = mux_new(self->s);
	ASSERT_NE(self->b, NULL);
}

FIXTURE_TEARDOWN(tfd)
{
	if (self->a)
		mux_close(self->a);
	if (self->b)
		mux_close(self->b);
	close(self->c);
	close(self->s);
	EXPECT_EQ(afmux_wait_refcnt_zero(), 0);
}

static void ulp_name(int fd, char *name, size_t size)
{
	socklen_t len = size - 1;

	memset(name, 0, size);
	if (getsockopt(fd, IPPROTO_TCP, TCP_ULP, name, &len))
		snprintf(name, size, "(%s)", strerror(errno));
}

struct xfer {
	int from, to;
	size_t len;
	uint8_t sent[32], got[32];
	int err;
};

static void *xfer_writer(void *arg)
{
	struct xfer *x = arg;
	static __thread uint8_t buf[65536];
	struct sha256 c;
	size_t done = 0;

	sha256_init(&c);
	while (done < x->len) {
		size_t n = x->len - done < sizeof(buf) ? x->len - done :
							 sizeof(buf);
		size_t i;

		for (i = 0; i < n; i++)
			buf[i] = (uint8_t)((done + i) * 2654435761u >> 13);
		sha256_update(&c, buf, n);
		if (write_all(x->from, buf, n)) {
			x->err = errno;
			break;
		}
		done += n;
	}
	sha256_final(&c, x->sent);
	shutdown(x->from, SHUT_WR);
	return NULL;
}

/* @len bytes from one stream fd to another, checked with SHA-256. */
static int xfer_check(int from, int to, size_t len)
{
	static uint8_t buf[65536];
	struct xfer x = { .from = from, .to = to, .len = len };
	struct sha256 c;
	size_t got = 0;
	pthread_t t;
	ssize_t n;

	if (pthread_create(&t, NULL, xfer_writer, &x))
		return -1;
	sha256_init(&c);
	while ((n = read(to, buf, sizeof(buf))) > 0) {
		sha256_update(&c, buf, n);
		got += n;
	}
	sha256_final(&c, x.got);
	pthread_join(t, NULL);
	return n == 0 && !x.err && got == len &&
	       !memcmp(x.sent, x.got, sizeof(x.sent)) ? 0 : -1;
}

/* Every way to use the attached TCP fd is refused; the mux is untouched. */
TEST_F(tfd, ops_refused)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr sa = { .sa_family = AF_UNSPEC };
	struct tcp_info ti;
	struct pollfd pfd = { .fd = self->c, .events = POLLIN | POLLOUT };
	socklen_t len;
	char name[32], buf[16] = "stolen";
	int pipefd[2], one = 1, fs, fr;
	off_t off = 0;

	ulp_name(self->c, name, sizeof(name));
	EXPECT_STREQ(name, "afmux");

	EXPECT_EQ(read(self->c, buf, sizeof(buf)), -1);
	EXPECT_EQ(errno, EBUSY);
	EXPECT_EQ(recv(self->c, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT), -1);
	EXPECT_EQ(errno, EBUSY);
	EXPECT_EQ(write(self->c, buf, sizeof(buf)), -1);
	EXPECT_EQ(errno, EBUSY);
	EXPECT_EQ(send(self->c, buf, 1, MSG_DONTWAIT), -1);
	EXPECT_EQ(errno, EBUSY);
	ASSERT_EQ(pipe(pipefd), 0);
	EXPECT_EQ(splice(self->c, NULL, pipefd[1], NULL, 4096,
			 SPLICE_F_NONBLOCK), -1);
	EXPECT_EQ(errno, EBUSY);
	EXPECT_EQ(write(pipefd[1], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	EXPECT_EQ(splice(pipefd[0], NULL, self->c, NULL, sizeof(buf), 0), -1);
	EXPECT_EQ(errno, EBUSY);
	close(pipefd[0]);
	close(pipefd[1]);
	fs = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fs, 0);
	EXPECT_EQ(sendfile(self->c, fs, &off, 4096), -1);
	EXPECT_EQ(errno, EBUSY);
	close(fs);
	EXPECT_EQ(shutdown(self->c, SHUT_RDWR), -1);
	EXPECT_EQ(errno, EBUSY);
	EXPECT_EQ(connect(self->c, &sa, sizeof(sa)), -1);	/* disconnect */
	EXPECT_EQ(errno, EBUSY);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(9);
	EXPECT_EQ(connect(self->c, (struct sockaddr *)&sin, sizeof(sin)), -1);
	EXPECT_EQ(errno, EBUSY);
	EXPECT_EQ(setsockopt(self->c, IPPROTO_TCP, TCP_ULP, "tls", 4), -1);
	EXPECT_EQ(errno, EEXIST);
	EXPECT_EQ(setsockopt(self->c, IPPROTO_TCP, TCP_REPAIR, &one,
			     sizeof(one)), -1);
	EXPECT_EQ(errno, EBUSY);
	len = sizeof(buf);
	EXPECT_EQ(getsockopt(self->c, IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, buf,
			     &len), -1);
	EXPECT_EQ(errno, EBUSY);
	EXPECT_EQ(listen(self->c, 1), -1);
	/* Harmless ones work: options, TCP_INFO, poll without IN/OUT. */
	EXPECT_EQ(setsockopt(self->c, IPPROTO_TCP, TCP_NODELAY, &one,
			     sizeof(one)), 0);
	len = sizeof(ti);
	EXPECT_EQ(getsockopt(self->c, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	EXPECT_EQ(ti.tcpi_state, TCP_ESTABLISHED);
	EXPECT_EQ(poll(&pfd, 1, 0), 0);

	/* The mux never saw any of it: 8 MiB each way, checked. */
	fs = mux_send(self->a, "after");
	ASSERT_GE(fs, 0);
	fr = mux_receive(self->b, name, sizeof(name));
	ASSERT_GE(fr, 0);
	EXPECT_STREQ(name, "after");
	EXPECT_EQ(xfer_check(fs, fr, 8 << 20), 0);
	EXPECT_EQ(xfer_check(fr, fs, 8 << 20), 0);
	close(fs);
	close(fr);
}

/*
 * The "afmux" ULP mark stays on the TCP socket after the mux let go of
 * it, for as long as the socket lives (it used to be cleared at
 * teardown, under a lockless getsockopt(TCP_ULP) reader): the socket
 * stays unusable for anything else, and holds the module until closed.
 */
TEST_F(tfd, mark_outlives_the_mux)
{
	char name[32];
	int i, n = -1;

	ASSERT_EQ(mux_close(self->a), 0);
	self->a = NULL;
	ASSERT_EQ(mux_close(self->b), 0);
	self->b = NULL;
	/* Both muxes gone: only the two marks hold the module. */
	for (i = 0; i < 2000; i++) {
		n = afmux_module_refcnt();
		if (n <= 2)
			break;
		usleep(10000);
	}
	EXPECT_EQ(n, 2);
	ulp_name(self->c, name, sizeof(name));
	EXPECT_STREQ(name, "afmux");
	ulp_name(self->s, name, sizeof(name));
	EXPECT_STREQ(name, "afmux");
	EXPECT_EQ(read(self->c, name, 1), -1);
	EXPECT_EQ(errno, EBUSY);
	/* A new mux cannot take it either. */
	n = afmux_socket(SOCK_CLOEXEC);
	ASSERT_GE(n, 0);
	EXPECT_EQ(ioctl(n, AFMUX_IOC_ATTACH,
			&(struct afmux_attach){ .fd = self->c }), -1);
	EXPECT_EQ(errno, EBUSY);
	close(n);
}

/* setsockopt(TCP_ULP, "afmux") is not a way to attach. */
TEST(ulp_by_setsockopt)
{
	char name[32];
	int c, s;

	ASSERT_EQ(tcp_pair(&c, &s), 0);
	EXPECT_EQ(setsockopt(c, IPPROTO_TCP, TCP_ULP, "afmux", 6), -1);
	EXPECT_EQ(errno, EOPNOTSUPP);
	ulp_name(c, name, sizeof(name));
	EXPECT_STREQ(name, "");
	EXPECT_EQ(write(c, "x", 1), 1);
	close(c);
	close(s);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * Attaching a TCP socket whose send buffer is full returns at once: the
 * preface waits in the mux for room (it used to block in the ioctl, and
 * a signal then left errno 512 in SO_ERROR).  The peer finds the preface
 * right after the bytes that were queued before it.
 */
TEST(attach_with_full_send_buffer)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	static uint8_t filler[65536], got[65536];
	uint8_t pf[PREFACE_LEN];
	size_t queued = 0, have = 0;
	int c, s, mux, err = -1, sz = 16384, ret;
	socklen_t len = sizeof(err);
	struct timeval tv = { .tv_sec = 10 };
	ssize_t w;

	ASSERT_EQ(tcp_pair(&c, &s), 0);
	ASSERT_EQ(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)), 0);
	ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	memset(filler, 'F', sizeof(filler));
	while ((w = send(c, filler, sizeof(filler), MSG_DONTWAIT)) > 0)
		queued += w;
	ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);

	mux = afmux_socket(SOCK_CLOEXEC);
	ASSERT_GE(mux, 0);
	ASSERT_EQ(sigaction(SIGALRM, &sa, NULL), 0);
	alarm(2);
	ret = ioctl(mux, AFMUX_IOC_ATTACH, &(struct afmux_attach){ .fd = c });
	err = errno;
	alarm(0);
	EXPECT_EQ(ret, 0) TH_LOG("attach: %s", strerror(err));
	len = sizeof(err);
	ASSERT_EQ(getsockopt(mux, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	EXPECT_EQ(err, 0);

	while (have < queued) {
		size_t want = queued - have < sizeof(got) ? queued - have :
							    sizeof(got);

		ASSERT_EQ(read_full(s, got, want), (ssize_t)want);
		ASSERT_EQ(memcmp(got, filler, want), 0);
		have += want;
	}
	ASSERT_EQ(read_full(s, pf, sizeof(pf)), (ssize_t)sizeof(pf));
	EXPECT_EQ(memcmp(pf, "AFMUX\r\n\0", 8), 0);
	close(mux);
	close(c);
	close(s);
}

/*
 * A TCP connection of another network namespace attaches like any other
 * (docs/security.md): the mux was made in this namespace, the TCP pair
 * in a new one, and a stream carries data between them.
 */
TEST(attach_other_netns)
{
	int ma, mb, c, s, fs, fr;
	char key[8], buf[8];

	ma = afmux_socket(SOCK_CLOEXEC);
	mb = afmux_socket(SOCK_CLOEXEC);
	ASSERT_GE(ma, 0);
	ASSERT_GE(mb, 0);
	ASSERT_EQ(netns_new(), 0) TH_LOG("new netns: %s", strerror(errno));
	ASSERT_EQ(tcp_pair(&c, &s), 0);
	ASSERT_EQ(ioctl(ma, AFMUX_IOC_ATTACH, &(struct afmux_attach){ .fd = c }),
		  0);
	ASSERT_EQ(ioctl(mb, AFMUX_IOC_ATTACH, &(struct afmux_attach){ .fd = s }),
		  0);
	close(c);
	close(s);
	fs = ioctl(ma, AFMUX_IOC_OPEN, &(struct afmux_open){
		.key = (uintptr_t)"netns", .key_len = 5 });
	ASSERT_GE(fs, 0) TH_LOG("open: %s", strerror(errno));
	ASSERT_EQ(write_all(fs, "across", 6), 0);
	close(fs);
	fr = ioctl(mb, AFMUX_IOC_ACCEPT, &(struct afmux_accept){
		.key = (uintptr_t)key, .key_len = sizeof(key) });
	ASSERT_GE(fr, 0) TH_LOG("accept: %s", strerror(errno));
	EXPECT_EQ(read_full(fr, buf, sizeof(buf)), 6);
	EXPECT_EQ(memcmp(buf, "across", 6), 0);
	close(fr);
	close(ma);
	close(mb);
	EXPECT_EQ(afmux_wait_refcnt_zero(), 0);
}

/* TCP_NOTSENT_LOWAT of TCP socket @fd, or -1. */
static int tfd_lowat(int fd)
{
	socklen_t len = sizeof(int);
	int v;

	return getsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, &len) ?
	       -1 : v;
}

static int tfd_set_lowat(int fd, int v)
{
	return setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof(v));
}

/* Samples the unsent bytes in TCP socket @fd (SIOCOUTQNSD) until @stop. */
struct tfd_sampler {
	int fd;
	volatile bool stop;
	int max, samples;
};

static void *tfd_sample(void *arg)
{
	struct tfd_sampler *smp = arg;
	int n;

	while (!smp->stop) {
		if (!ioctl(smp->fd, SIOCOUTQNSD, &n)) {
			smp->samples++;
			if (n > smp->max)
				smp->max = n;
		}
		usleep(1000);
	}
	return NULL;
}

/*
 * Two muxes over a new TCP connection whose fds stay open (c, s), with
 * TCP_NOTSENT_LOWAT set first on c and s where @lowat_c, @lowat_s are
 * not 0, and a stream from a to b (fs, fr) if @stream.
 */
struct tfd_link {
	int c, s, fs, fr;
	struct mux *a, *b;
};

static int tfd_link_open(struct tfd_link *l, int lowat_c, int lowat_s,
			 bool stream)
{
	char key[8];

	*l = (struct tfd_link){ .c = -1, .s = -1, .fs = -1, .fr = -1 };
	if (tcp_pair(&l->c, &l->s) ||
	    (lowat_c && tfd_set_lowat(l->c, lowat_c)) ||
	    (lowat_s && tfd_set_lowat(l->s, lowat_s)))
		return -1;
	l->a = mux_new(l->c);
	l->b = mux_new(l->s);
	if (!l->a || !l->b || !stream)
		return l->a && l->b ? 0 : -1;
	l->fs = mux_send(l->a, "lowat");
	if (l->fs < 0)
		return -1;
	l->fr = mux_receive(l->b, key, sizeof(key));
	return l->fr < 0 ? -1 : 0;
}

static void tfd_link_close(struct tfd_link *l)
{
	int *fd[] = { &l->fs, &l->fr, &l->c, &l->s };

	for (unsigned int i = 0; i < sizeof(fd) / sizeof(fd[0]); i++)
		if (*fd[i] >= 0)
			close(*fd[i]);
	if (l->a)
		mux_close(l->a);
	if (l->b)
		mux_close(l->b);
}

/*
 * The attach sets TCP_NOTSENT_LOWAT if it is 0 - and the pump, which
 * sends the preface at once, puts it between 16384 and 131072 (a debug
 * kernel's loopback can take 10 ms for the handshake: 108 KiB) - and
 * leaves a value the user set before it.
 */
TEST(notsent_lowat_at_attach)
{
	struct tfd_link l;

	ASSERT_EQ(tfd_link_open(&l, 0, 4096, false), 0);
	EXPECT_GE(tfd_lowat(l.c), 16384);
	EXPECT_LE(tfd_lowat(l.c), 131072);
	EXPECT_EQ(tfd_lowat(l.s), 4096);
	tfd_link_close(&l);
}

/*
 * On a slow link the pump keeps TCP_NOTSENT_LOWAT at 16384 (a
 * millisecond of the link is far less), and while a stream sends 1 MiB
 * TCP holds no more unsent bytes than that and the skb it was filling
 * (up to 64 KiB): a small frame queued behind them waits for that, not
 * for 128 KiB more (a quarter of a second at 4 Mbit/s).  Before the
 * pump followed the rate TCP held up to 170 KiB here.
 */
TEST(notsent_lowat_follows_a_slow_link)
{
	struct tfd_sampler smp = { 0 };
	struct tfd_link l;
	pthread_t t;

	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(netns_slow_link(), 0)
		TH_LOG("netns with netem on lo (needs ip, tc, sch_netem)");
	ASSERT_EQ(tfd_link_open(&l, 0, 0, true), 0);
	smp.fd = l.c;
	ASSERT_EQ(pthread_create(&t, NULL, tfd_sample, &smp), 0);
	EXPECT_EQ(xfer_check(l.fs, l.fr, 1 << 20), 0);
	smp.stop = true;
	pthread_join(t, NULL);
	EXPECT_EQ(tfd_lowat(l.c), 16384);
	EXPECT_LT(smp.max, 16384 + 65536 + 16384)
		TH_LOG("%d samples", smp.samples);
	EXPECT_GE(smp.max, 8192) TH_LOG("%d samples", smp.samples);
	tfd_link_close(&l);
}

/*
 * A TCP_NOTSENT_LOWAT the user set stays as set, on a link where the
 * pump would choose another: set before the attach (c) or after it,
 * through the TCP fd (s).
 */
TEST(notsent_lowat_the_user_set_stays)
{
	struct tfd_link l;

	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(netns_slow_link(), 0)
		TH_LOG("netns with netem on lo (needs ip, tc, sch_netem)");
	ASSERT_EQ(tfd_link_open(&l, 65536, 0, true), 0);
	ASSERT_EQ(tfd_set_lowat(l.s, 50000), 0);
	EXPECT_EQ(xfer_check(l.fs, l.fr, 256 << 10), 0);
	EXPECT_EQ(xfer_check(l.fr, l.fs, 256 << 10), 0);
	EXPECT_EQ(tfd_lowat(l.c), 65536);
	EXPECT_EQ(tfd_lowat(l.s), 50000);
	tfd_link_close(&l);
}

TEST_HARNESS_MAIN
