/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sys_fuzz_ops.h - the calls selftests/sys_fuzz makes: new fds (TCP
 * pairs attached or not, with kTLS or not, mux sockets, pipes, epoll), the mux ioctls with
 * any size and direction, I/O in every form, splice and sendfile, poll
 * and epoll, options, shutdown/dup/fcntl and fd passing.  Each picks its
 * fds from the shared table, so any of them may be stale.
 */
#ifndef AFMUX_SYS_FUZZ_OPS_H
#define AFMUX_SYS_FUZZ_OPS_H

#include "sys_fuzz.h"
#include "ktls_util.h"

/*
 * Make a socket safe to call anything on: non-blocking, and short
 * timeouts should it ever block.  Every fd in the table is non-blocking
 * (pipes, UNIX sockets included), so no call waits for an event no
 * thread will cause.
 */
static int sf_sock_setup(int fd)
{
	struct timeval tv = { .tv_usec = 50 * 1000 };

	if (fd < 0)
		return fd;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int sf_mux(void)
{
	return sf_sock_setup(socket(sf.family, SOCK_STREAM | SOCK_NONBLOCK |
				    SOCK_CLOEXEC, 0));
}

/*
 * A connected pair of loopback TCP sockets, every socket non-blocking
 * from its birth: another thread may reach any of them, the listener
 * too, through a stale number before this one is done (a blocking
 * listener there once left a thread in accept(2) for good).
 */
static int sf_tcp_pair(int *client, int *server)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct pollfd p;
	int l, c = -1, t = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -1;
	if (bind(l, (struct sockaddr *)&sin, len) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&sin, &len))
		goto fail;
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c < 0 || (connect(c, (struct sockaddr *)&sin, len) &&
		      errno != EINPROGRESS))
		goto fail;
	p = (struct pollfd){ .fd = l, .events = POLLIN };
	if (poll(&p, 1, 1000) != 1)
		goto fail;
	t = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	p = (struct pollfd){ .fd = c, .events = POLLOUT };
	if (t < 0 || poll(&p, 1, 1000) != 1)
		goto fail;
	close(l);
	*client = sf_sock_setup(c);
	*server = sf_sock_setup(t);
	return 0;
fail:
	if (t >= 0)
		close(t);
	if (c >= 0)
		close(c);
	close(l);
	return -1;
}

/*
 * kTLS on both ends of a TCP pair, in one of the suites afmux takes; now
 * and then one direction of @c stays without keys (attach refuses it).
 */
static void sf_ktls(int c, int t, uint64_t *s)
{
	static const struct ktls_suite suites[] = {
		{ "1.2/gcm128", TLS_1_2_VERSION, TLS_CIPHER_AES_GCM_128 },
		{ "1.3/gcm256", TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_256 },
		{ "1.3/chacha", TLS_1_3_VERSION, TLS_CIPHER_CHACHA20_POLY1305 },
	};
	const struct ktls_suite *st = &suites[sf_below(s, 3)];

	if (ktls_ulp(c) || ktls_ulp(t))
		return;
	ktls_key(c, TLS_TX, st, 1);
	ktls_key(t, TLS_RX, st, 1);
	ktls_key(t, TLS_TX, st, 2);
	if (sf_below(s, 8))
		ktls_key(c, TLS_RX, st, 2);
}

/*
 * Two muxes over a fresh TCP connection (over kTLS a third of the time);
 * the TCP fds stay sometimes.
 */
static void sf_op_connect(uint64_t *s)
{
	int c, t, m1, m2;

	if (sf_tcp_pair(&c, &t))
		return;
	if (!sf_below(s, 3))
		sf_ktls(c, t, s);
	m1 = sf_mux();
	m2 = sf_below(s, 8) ? sf_mux() : -1;	/* else a raw TCP peer */
	/* Half offer a pool (JOIN in sf_op_mux_ioctl). */
	if (m1 >= 0)
		ioctl(m1, AFMUX_IOC_ATTACH, &(struct afmux_attach){
			.fd = c, .flags = (uint32_t)sf_below(s, 2) });
	if (m2 >= 0)
		ioctl(m2, AFMUX_IOC_ATTACH, &(struct afmux_attach){
			.fd = t, .flags = (uint32_t)sf_below(s, 2) });
	if (m1 >= 0 && !sf_below(s, 3))
		listen(m1, (int)sf_below(s, 20) - 2);
	sf_add(m1, K_MUX);
	sf_add(m2, K_MUX);
	if (sf_below(s, 4))
		close(c);
	else
		sf_add(c, K_TCP);
	if (m2 >= 0 && sf_below(s, 4))
		close(t);
	else
		sf_add(t, K_TCP);
}

/* An ioctl with a struct of any size; nr 1..4 mostly, others at times. */
static void sf_op_mux_ioctl(struct sf_thread *t, int op)
{
	uint64_t *s = &t->rng;
	static const unsigned int dirs[] = { _IOC_READ | _IOC_WRITE, _IOC_WRITE,
					     _IOC_READ, _IOC_NONE };
	unsigned int nr = sf_below(s, 10) ? 1 + sf_below(s, 4) :
			  sf_below(s, 8);
	unsigned int size = sf_below(s, 4) ? 24 : sf_below(s, 64);
	unsigned int dir = sf_below(s, 6) ? dirs[0] : dirs[sf_below(s, 4)];
	uint8_t *arg = t->buf;
	int fd = sf_pick(s, sf_below(s, 8) ? K_MUX : K_NONE, NULL);
	long r;

	if (fd < 0)
		return;
	memset(arg, 0, 256);
	if (!sf_below(s, 4)) {			/* garbage in the fields */
		for (unsigned int i = 0; i < size; i++)
			arg[i] = (uint8_t)sf_rand(s);
	}
	if (nr == 1 && sf_below(s, 4)) {	/* ATTACH a real fd */
		*(int32_t *)arg = sf_pick(s, sf_below(s, 2) ? K_TCP : K_NONE,
					  NULL);
		memset(arg + 4, 0, 12);
	} else if (nr == 2 && sf_below(s, 4)) {	/* OPEN a real key */
		struct afmux_open *o = (struct afmux_open *)arg;

		memset(o, 0, sizeof(*o));
		o->key = (uintptr_t)(arg + 64);
		o->key_len = (uint32_t)sf_len(s, AFMUX_KEY_MAX + 2);
		o->flags = O_NONBLOCK | (sf_below(s, 8) ? O_CLOEXEC : 0);
		size = sizeof(*o);
		dir = dirs[0];
	} else if (nr == 4 && sf_below(s, 4)) {	/* JOIN a real fd */
		memset(arg, 0, sizeof(struct afmux_join));
		*(int32_t *)arg = sf_pick(s, sf_below(s, 4) ? K_TCP : K_NONE,
					  NULL);
		size = sizeof(struct afmux_join);
		dir = dirs[0];
	} else if (nr == 3 && sf_below(s, 4)) {	/* ACCEPT into a buffer */
		struct afmux_accept *a = (struct afmux_accept *)arg;

		memset(a, 0, sizeof(*a));
		a->key = (uintptr_t)(arg + 64);
		a->key_len = (uint32_t)sf_len(s, AFMUX_KEY_MAX + 2);
		a->flags = O_NONBLOCK | O_CLOEXEC;
		size = sizeof(*a);
		dir = dirs[0];
	}
	r = ioctl(fd, _IOC(dir, 0xaf, nr, size), arg);
	sf_check(op, r, (size_t)-1);
	/* OPEN and ACCEPT return a new stream fd. */
	if (r > 0 && (nr == 2 || nr == 3) && dir == dirs[0])
		sf_add(sf_sock_setup((int)r), K_STREAM);
}

/* A stale number may be a UNIX socket with fds in flight: close them. */
static void sf_close_passed(struct msghdr *mh)
{
	struct cmsghdr *h;

	for (h = CMSG_FIRSTHDR(mh); h; h = CMSG_NXTHDR(mh, h)) {
		size_t i, n;

		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
}

/*
 * write, send or sendmsg (or, with @rx, read, recv or recvmsg) of a
 * random size, sometimes with odd flags.
 */
static void sf_op_io(struct sf_thread *t, int op, bool rx)
{
	uint64_t *s = &t->rng;
	int fd = sf_pick(s, sf_below(s, 6) ? K_STREAM : K_NONE, NULL);
	size_t n = sf_len(s, SF_BUF), i;
	uint8_t cbuf[256];
	struct iovec iov[4];
	struct msghdr mh = { .msg_iov = iov };
	int flags = rx ? MSG_DONTWAIT : MSG_DONTWAIT | MSG_NOSIGNAL;
	int odd = rx ? MSG_PEEK | MSG_TRUNC | MSG_OOB | MSG_WAITALL |
		       MSG_ERRQUEUE :
		       MSG_MORE | MSG_OOB | MSG_EOR | MSG_ZEROCOPY | MSG_CONFIRM;
	long r;

	if (fd < 0)
		return;
	if (!sf_below(s, 4))
		flags |= (int)(sf_rand(s) & odd);
	switch (sf_below(s, 4)) {
	case 0:
		r = rx ? read(fd, t->buf, n) : write(fd, t->buf, n);
		break;
	case 1:
		r = rx ? recv(fd, t->buf, n, flags) : send(fd, t->buf, n, flags);
		break;
	default:
		mh.msg_iovlen = 1 + sf_below(s, 4);
		for (i = 0; i < mh.msg_iovlen; i++) {
			iov[i].iov_base = t->buf + i * (SF_BUF / 4);
			iov[i].iov_len = n / 4;
		}
		n = mh.msg_iovlen * (n / 4);
		if (!rx) {
			r = sendmsg(fd, &mh, flags);
			break;
		}
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		r = recvmsg(fd, &mh, flags);
		if (r >= 0)
			sf_close_passed(&mh);
		break;
	}
	/*
	 * MSG_TRUNC may report more than asked, as on TCP; MSG_OOB on a
	 * UNIX socket (a stale number) reports its byte even into nothing.
	 */
	sf_check(op, r, rx && (flags & (MSG_TRUNC | MSG_OOB)) ? (size_t)-1 : n);
}

static void sf_op_splice(struct sf_thread *t, int op)
{
	uint64_t *s = &t->rng;
	int st = sf_pick(s, K_STREAM, NULL);
	size_t n = sf_len(s, SF_BUF);
	unsigned int fl = SPLICE_F_NONBLOCK |
			  (sf_below(s, 2) ? SPLICE_F_MORE : 0);
	int p;
	long r;

	if (st < 0)
		return;
	switch (sf_below(s, 3)) {
	case 0:
		p = sf_pick(s, K_PIPE_W, NULL);
		r = splice(st, NULL, p, NULL, n, fl);
		break;
	case 1:
		p = sf_pick(s, K_PIPE_R, NULL);
		r = splice(p, NULL, st, NULL, n, fl);
		break;
	default:
		p = sf_pick(s, K_FILE, NULL);
		r = sendfile(st, p, &(off_t){ (off_t)sf_len(s, 65536) }, n);
		break;
	}
	sf_check(op, r, n);
}

static void sf_op_poll(struct sf_thread *t, int op)
{
	uint64_t *s = &t->rng;
	struct pollfd p[6];
	struct epoll_event ev[8];
	int ep, fd;
	unsigned int i;
	long r;

	switch (sf_below(s, 3)) {
	case 0:
		for (i = 0; i < 6; i++) {
			p[i].fd = sf_pick(s, K_NONE, NULL);
			p[i].events = (short)(sf_rand(s) & 0xffff);
		}
		r = poll(p, 6, sf_below(s, 3) ? 0 : 5);
		sf_check(op, r, 6);
		break;
	case 1:
		ep = sf_pick(s, K_EPOLL, NULL);
		fd = sf_pick(s, K_NONE, NULL);
		ev[0].events = (uint32_t)sf_rand(s) &
			       (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET |
				EPOLLONESHOT | EPOLLPRI | EPOLLEXCLUSIVE);
		ev[0].data.u64 = 0;
		r = epoll_ctl(ep, 1 + (int)sf_below(s, 3), fd, ev);
		sf_check(op, r, (size_t)-1);
		break;
	default:
		ep = sf_pick(s, K_EPOLL, NULL);
		r = epoll_wait(ep, ev, 8, sf_below(s, 3) ? 0 : 5);
		sf_check(op, r, 8);
		break;
	}
}

static void sf_op_sockopt(struct sf_thread *t, int op)
{
	/* Not SO_LINGER or the timeouts: they may make calls block. */
	static const int sol[] = { SO_RCVBUF, SO_SNDBUF, SO_RCVLOWAT,
				   SO_ZEROCOPY, SO_ERROR, SO_MEMINFO,
				   SO_KEEPALIVE, SO_PRIORITY };
	uint64_t *s = &t->rng;
	int fd = sf_pick(s, sf_below(s, 2) ? K_STREAM : K_MUX, NULL);
	socklen_t len = sf_below(s, 72);
	int level = sf_below(s, 3) ? SOL_AFMUX : SOL_SOCKET;
	int name = level == SOL_AFMUX ? (int)sf_below(s, 7) :
		   sol[sf_below(s, sizeof(sol) / sizeof(sol[0]))];
	long r;

	if (fd < 0)
		return;
	if (sf_below(s, 2)) {
		socklen_t in = len;

		memset(t->buf, 0x5a, 128);
		r = getsockopt(fd, level, name, t->buf, &len);
		sf_check(op, r, (size_t)-1);
		if (!r && len > in)
			sf_fail("optlen grew", op, "getsockopt");
	} else {
		for (unsigned int i = 0; i < len; i++)
			t->buf[i] = (uint8_t)(sf_below(s, 2) ? 0 : sf_rand(s));
		if (sf_below(s, 2))
			*(int *)t->buf = (int)sf_len(s, 1 << 27);
		r = setsockopt(fd, level, name, t->buf, len);
		sf_check(op, r, (size_t)-1);
	}
}

static void sf_op_misc(struct sf_thread *t, int op)
{
	uint64_t *s = &t->rng;
	enum sf_kind k = K_NONE;
	int fd = sf_pick(s, K_NONE, &k), v = 0;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	long r = 0;

	if (fd < 0)
		return;
	switch (sf_below(s, 8)) {
	case 0:
		r = shutdown(fd, (int)sf_below(s, 4));
		break;
	case 1:
		r = ioctl(fd, sf_below(s, 2) ? FIONREAD : SIOCOUTQ, &v);
		break;
	case 2:
		v = 1;				/* never blocking: see above */
		r = ioctl(fd, FIONBIO, &v);
		break;
	case 3:
		r = getpeername(fd, (struct sockaddr *)&ss, &sl);
		break;
	case 4:
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = (sa_family_t)(sf_below(s, 2) ? AF_UNSPEC :
					     sf.family);
		r = connect(fd, (struct sockaddr *)&ss, sizeof(ss));
		break;
	case 5:
		r = listen(fd, (int)sf_below(s, 10));
		break;
	case 6:
		r = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (r >= 0)
			sf_add(sf_sock_setup((int)r), k);
		break;
	default:
		r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (r >= 0)
			sf_add((int)r, k);
		break;
	}
	sf_check(op, r, (size_t)-1);
}

/* Pass a fd over a UNIX socket pair; maybe leave it in flight. */
static void sf_op_pass(struct sf_thread *t, int op)
{
	uint64_t *s = &t->rng;
	enum sf_kind k = K_NONE;
	int fd = sf_pick(s, sf_below(s, 2) ? K_STREAM : K_NONE, &k);
	int u[2];
	char c = 'x';
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *h;
	long r;

	(void)t;
	if (fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
				 SOCK_CLOEXEC, 0, u))
		return;
	h = CMSG_FIRSTHDR(&mh);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	r = sendmsg(u[0], &mh, MSG_DONTWAIT);
	sf_check(op, r, 1);
	if (r == 1 && sf_below(s, 4)) {
		mh.msg_controllen = sizeof(cm.buf);
		r = recvmsg(u[1], &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		sf_check(op, r, 1);
		h = CMSG_FIRSTHDR(&mh);
		if (r == 1 && h && h->cmsg_type == SCM_RIGHTS) {
			memcpy(&fd, CMSG_DATA(h), sizeof(int));
			sf_add(fd, k);
		}
	}
	if (sf_below(s, 3)) {
		close(u[0]);
		close(u[1]);		/* a fd in flight dies with them */
	} else {
		sf_add(u[0], K_UNIX);
		sf_add(u[1], K_UNIX);
	}
}

#endif /* AFMUX_SYS_FUZZ_OPS_H */
