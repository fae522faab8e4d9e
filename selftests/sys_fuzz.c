// SPDX-License-Identifier: GPL-2.0
/*
 * sys_fuzz.c - the syscall fuzzer (docs/security.md, "Fuzzers"): random
 * sequences of what a local user can do with afmux fds - socket, the
 * ioctls with any struct size, options, read/write in every form,
 * splice, sendfile, poll, epoll, shutdown, close, dup, fork and fd
 * passing - from several threads at once on one shared table of fds,
 * so that closes race everything else and a number may be reused by
 * another kind of fd while a thread still uses it.
 *
 * Whatever the sequence, the kernel must never block a call past its
 * timeout (every fd is non-blocking or has 50 ms timeouts; a watchdog
 * fails the run when a thread makes no progress for 20 s), never return
 * a kernel-internal errno (>= 512) or EFAULT for the valid buffers we
 * pass, never claim more bytes than asked, and free every afmux socket
 * once every fd is closed (the module's reference count goes back to 0).
 * The kernel's own checks (KASAN, lockdep, kmemleak on the debug kernel)
 * and tools/vm-run's console scan catch the rest.
 *
 *   sys_fuzz [--time S] [--seed N] [--threads N] [-v]
 *
 * The budget defaults to $AFMUX_FUZZ_TIME or 60 s.  Threads make the
 * order of calls differ between runs with one seed; --threads 1 replays
 * a sequence closely.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/afmux.h>
#include <linux/sockios.h>

#include "afmux.h"
#include "util.h"

#define SF_SLOTS	192
#define SF_THREADS_MAX	8
#define SF_CHILDREN	64
#define SF_BUF		(256 * 1024)

enum sf_kind { K_NONE, K_MUX, K_STREAM, K_TCP, K_PIPE_R, K_PIPE_W, K_EPOLL,
	       K_UNIX, K_FILE, K_KINDS };

static const char *const sf_kind_names[K_KINDS] = {
	"none", "mux", "stream", "tcp", "pipe_r", "pipe_w", "epoll", "unix",
	"file",
};

struct sf_slot {
	int fd;
	enum sf_kind kind;
};

static struct {
	pthread_mutex_t lock;		/* the table */
	struct sf_slot slot[SF_SLOTS];
	int family;
	atomic_bool stop;
	atomic_int failures;
	pid_t children[SF_CHILDREN];	/* under lock */
	int nchildren;
	bool verbose;
	bool in_child;
} sf = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct sf_thread {
	pthread_t tid;
	uint64_t rng;
	atomic_ulong progress;
	atomic_int op;			/* running now, for the watchdog */
	uint8_t *buf;			/* SF_BUF bytes */
};

static uint64_t sf_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t sf_below(uint64_t *s, uint32_t n)
{
	return n ? (uint32_t)(sf_rand(s) % n) : 0;
}

/* A length: mostly small, sometimes at a boundary, sometimes large. */
static size_t sf_len(uint64_t *s, size_t max)
{
	static const size_t edges[] = { 0, 1, 255, 256, 4095, 4096, 4097,
					65535, 65536, 65537, 131072 };
	size_t n;

	switch (sf_below(s, 4)) {
	case 0:
		n = edges[sf_below(s, sizeof(edges) / sizeof(edges[0]))];
		break;
	case 1:
		n = sf_below(s, (uint32_t)max + 1);
		break;
	default:
		n = sf_below(s, 2048);
		break;
	}
	return n > max ? max : n;
}

static void sf_fail(const char *what, int op, const char *detail)
{
	atomic_fetch_add(&sf.failures, 1);
	printf("# FAIL %s%s: op %d: %s\n", sf.in_child ? "(child) " : "", what,
	       op, detail);
	fflush(stdout);
}

/* What every call must hold: no internal errno, no EFAULT, no overrun. */
static void sf_check(int op, long ret, size_t asked)
{
	char msg[96];

	if (ret < 0 && (errno >= 512 || errno == EFAULT)) {
		snprintf(msg, sizeof(msg), "errno %d (%s)", errno,
			 strerror(errno));
		sf_fail("bad errno", op, msg);
	} else if (ret > 0 && asked != (size_t)-1 && (size_t)ret > asked) {
		snprintf(msg, sizeof(msg), "returned %ld for %zu bytes", ret,
			 asked);
		sf_fail("overrun", op, msg);
	}
}

/* Add @fd to the table, or close it if the table is full. */
static void sf_add(int fd, enum sf_kind kind)
{
	unsigned int i;

	if (fd < 0)
		return;
	pthread_mutex_lock(&sf.lock);
	for (i = 0; i < SF_SLOTS; i++) {
		if (sf.slot[i].kind == K_NONE) {
			sf.slot[i].fd = fd;
			sf.slot[i].kind = kind;
			pthread_mutex_unlock(&sf.lock);
			return;
		}
	}
	pthread_mutex_unlock(&sf.lock);
	close(fd);
}

/* A random fd of @kind (K_NONE: any kind), or -1.  It may go stale. */
static int sf_pick(uint64_t *s, enum sf_kind kind, enum sf_kind *got)
{
	unsigned int i, start = sf_below(s, SF_SLOTS);
	int fd = -1;

	pthread_mutex_lock(&sf.lock);
	for (i = 0; i < SF_SLOTS; i++) {
		struct sf_slot *sl = &sf.slot[(start + i) % SF_SLOTS];

		if (sl->kind != K_NONE && (kind == K_NONE || sl->kind == kind)) {
			fd = sl->fd;
			if (got)
				*got = sl->kind;
			break;
		}
	}
	pthread_mutex_unlock(&sf.lock);
	return fd;
}

/* Take a random fd of @kind out of the table (the caller closes it). */
static int sf_take(uint64_t *s, enum sf_kind kind)
{
	unsigned int i, start = sf_below(s, SF_SLOTS);
	int fd = -1;

	pthread_mutex_lock(&sf.lock);
	for (i = 0; i < SF_SLOTS; i++) {
		struct sf_slot *sl = &sf.slot[(start + i) % SF_SLOTS];

		if (sl->kind != K_NONE && (kind == K_NONE || sl->kind == kind)) {
			fd = sl->fd;
			sl->kind = K_NONE;
			break;
		}
	}
	pthread_mutex_unlock(&sf.lock);
	return fd;
}

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
	return sf_sock_setup(socket(sf.family, SOCK_STREAM | SOCK_CLOEXEC,
				    0));
}

/* Two muxes over a fresh TCP connection; the TCP fds stay sometimes. */
static void sf_op_connect(uint64_t *s)
{
	int c, t, m1, m2;

	if (tcp_pair(&c, &t))
		return;
	sf_sock_setup(c);
	sf_sock_setup(t);
	m1 = sf_mux();
	m2 = sf_below(s, 8) ? sf_mux() : -1;	/* else a raw TCP peer */
	if (m1 >= 0)
		ioctl(m1, AFMUX_IOC_ATTACH, &(struct afmux_attach){ .fd = c });
	if (m2 >= 0)
		ioctl(m2, AFMUX_IOC_ATTACH, &(struct afmux_attach){ .fd = t });
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

/* An ioctl with a struct of any size; nr 1..3 mostly, others at times. */
static void sf_op_mux_ioctl(struct sf_thread *t, int op)
{
	uint64_t *s = &t->rng;
	static const unsigned int dirs[] = { _IOC_READ | _IOC_WRITE, _IOC_WRITE,
					     _IOC_READ, _IOC_NONE };
	unsigned int nr = sf_below(s, 10) ? 1 + sf_below(s, 3) :
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

static void sf_op_write(struct sf_thread *t, int op)
{
	uint64_t *s = &t->rng;
	int fd = sf_pick(s, sf_below(s, 6) ? K_STREAM : K_NONE, NULL);
	size_t n = sf_len(s, SF_BUF);
	struct iovec iov[4];
	struct msghdr mh = { .msg_iov = iov };
	int flags = MSG_DONTWAIT | MSG_NOSIGNAL;
	long r;

	if (fd < 0)
		return;
	if (!sf_below(s, 4))
		flags |= (int)(sf_rand(s) & (MSG_MORE | MSG_OOB | MSG_EOR |
					     MSG_ZEROCOPY | MSG_CONFIRM));
	switch (sf_below(s, 4)) {
	case 0:
		r = write(fd, t->buf, n);
		break;
	case 1:
		r = send(fd, t->buf, n, flags);
		break;
	default:
		mh.msg_iovlen = 1 + sf_below(s, 4);
		for (size_t i = 0; i < mh.msg_iovlen; i++) {
			iov[i].iov_base = t->buf + i * (SF_BUF / 4);
			iov[i].iov_len = n / 4;
		}
		n = mh.msg_iovlen * (n / 4);
		r = sendmsg(fd, &mh, flags);
		break;
	}
	sf_check(op, r, n);
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

static void sf_op_read(struct sf_thread *t, int op)
{
	uint64_t *s = &t->rng;
	int fd = sf_pick(s, sf_below(s, 6) ? K_STREAM : K_NONE, NULL);
	size_t n = sf_len(s, SF_BUF);
	uint8_t cbuf[256];
	struct iovec iov[3];
	struct msghdr mh = { .msg_iov = iov, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	int flags = MSG_DONTWAIT;
	long r;

	if (fd < 0)
		return;
	if (!sf_below(s, 4))
		flags |= (int)(sf_rand(s) & (MSG_PEEK | MSG_TRUNC | MSG_OOB |
					     MSG_WAITALL | MSG_ERRQUEUE));
	switch (sf_below(s, 4)) {
	case 0:
		r = read(fd, t->buf, n);
		break;
	case 1:
		r = recv(fd, t->buf, n, flags);
		break;
	default:
		mh.msg_iovlen = 1 + sf_below(s, 3);
		for (size_t i = 0; i < mh.msg_iovlen; i++) {
			iov[i].iov_base = t->buf + i * (SF_BUF / 3);
			iov[i].iov_len = n / 3;
		}
		n = mh.msg_iovlen * (n / 3);
		r = recvmsg(fd, &mh, flags);
		if (r >= 0)
			sf_close_passed(&mh);
		break;
	}
	/*
	 * MSG_TRUNC may report more than asked, as on TCP; MSG_OOB on a
	 * UNIX socket (a stale number) reports its byte even into nothing.
	 */
	sf_check(op, r, (flags & (MSG_TRUNC | MSG_OOB)) ? (size_t)-1 : n);
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

static void sf_run_ops(struct sf_thread *t, unsigned long n);

/* A child with copies of every fd: some calls, then exit. */
static void sf_op_fork(struct sf_thread *t)
{
	pid_t pid;

	pthread_mutex_lock(&sf.lock);
	if (sf.in_child || sf.nchildren >= SF_CHILDREN) {
		pthread_mutex_unlock(&sf.lock);
		return;
	}
	pid = fork();
	if (!pid) {
		/* Alone in here: the lock was ours at fork. */
		sf.in_child = true;
		atomic_store(&sf.failures, 0);	/* the parent's, not ours */
		pthread_mutex_unlock(&sf.lock);
		alarm(30);
		sf_run_ops(t, 50 + sf_below(&t->rng, 200));
		_exit(atomic_load(&sf.failures) ? 1 : 0);
	}
	if (pid > 0)
		sf.children[sf.nchildren++] = pid;
	pthread_mutex_unlock(&sf.lock);
}

static void sf_op_new(uint64_t *s)
{
	int p[2];

	switch (sf_below(s, 6)) {
	case 0:
	case 1:
		sf_op_connect(s);
		break;
	case 2:
		sf_add(sf_mux(), K_MUX);
		break;
	case 3:
		if (!pipe2(p, O_NONBLOCK | O_CLOEXEC)) {
			sf_add(p[0], K_PIPE_R);
			sf_add(p[1], K_PIPE_W);
		}
		break;
	case 4:
		sf_add(epoll_create1(EPOLL_CLOEXEC), K_EPOLL);
		break;
	default:
		sf_add(open("/proc/self/exe", O_RDONLY | O_CLOEXEC), K_FILE);
		break;
	}
}

static void sf_run_ops(struct sf_thread *t, unsigned long n)
{
	uint64_t *s = &t->rng;
	unsigned long i;
	int op, fd;

	for (i = 0; i < n && !atomic_load(&sf.stop); i++) {
		op = (int)sf_below(s, 32);
		atomic_store(&t->op, op);
		switch (op) {
		case 0: case 1:
			sf_op_new(s);
			break;
		case 2: case 3: case 4: case 5: case 6: case 7:
			sf_op_mux_ioctl(t, op);
			break;
		case 8: case 9: case 10: case 11: case 12:
			sf_op_write(t, op);
			break;
		case 13: case 14: case 15: case 16: case 17:
			sf_op_read(t, op);
			break;
		case 18: case 19:
			sf_op_splice(t, op);
			break;
		case 20: case 21: case 22:
			sf_op_poll(t, op);
			break;
		case 23: case 24: case 25:
			sf_op_sockopt(t, op);
			break;
		case 26: case 27:
			sf_op_misc(t, op);
			break;
		case 28:
			sf_op_pass(t, op);
			break;
		case 29:
			if (!sf_below(s, 16))
				sf_op_fork(t);
			break;
		default:
			/* Close: the table stays between 1/4 and full. */
			fd = sf_take(s, sf_below(s, 2) ? K_STREAM : K_NONE);
			if (fd >= 0)
				close(fd);
			break;
		}
		atomic_fetch_add(&t->progress, 1);
	}
}

static void *sf_thread_main(void *arg)
{
	struct sf_thread *t = arg;

	while (!atomic_load(&sf.stop))
		sf_run_ops(t, 1000);
	return NULL;
}

/* Reap children that exited; with @wait, all of them (for up to 60 s). */
static void sf_reap(bool wait)
{
	time_t until = time(NULL) + 60;
	int i, status;

	pthread_mutex_lock(&sf.lock);
	for (i = 0; i < sf.nchildren; i++) {
		pid_t r;

		for (;;) {
			r = waitpid(sf.children[i], &status, WNOHANG);
			if (r || !wait || time(NULL) > until)
				break;
			usleep(10000);
		}
		if (!r && !wait)
			continue;
		if (!r) {
			sf_fail("child hung", -1, "no exit in 60 s");
			kill(sf.children[i], SIGKILL);
		} else if (r > 0 && (!WIFEXITED(status) ||
				     WEXITSTATUS(status))) {
			char msg[64];

			snprintf(msg, sizeof(msg), "status %#x", status);
			sf_fail("child", -1, msg);
		}
		sf.children[i--] = sf.children[--sf.nchildren];
	}
	pthread_mutex_unlock(&sf.lock);
}

/* What still holds the module: afmux sockets, TCP sockets by state. */
static void sf_print_holders(void)
{
	unsigned int states[16] = { 0 };
	char line[512], st[8];
	FILE *f;

	f = fopen("/proc/net/protocols", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char name[32];
		int sockets;

		if (sscanf(line, "%31s %*u %d", name, &sockets) == 2 &&
		    !strncmp(name, "AF_MUX", 6))
			printf("# %s: %d sockets\n", name, sockets);
	}
	if (f)
		fclose(f);
	f = fopen("/proc/net/sockstat", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "TCP:", 4))
			printf("# %s", line);
	if (f)
		fclose(f);
	f = fopen("/proc/net/tcp", "re");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned int s;

		if (sscanf(line, "%*s %*s %*s %7s", st) == 1 &&
		    sscanf(st, "%x", &s) == 1 && s < 16)
			states[s]++;
	}
	if (f)
		fclose(f);
	printf("# tcp sockets by state (1 ESTABLISHED .. 11 CLOSING):");
	for (unsigned int s = 1; s < 16; s++)
		if (states[s])
			printf(" %u:%u", s, states[s]);
	printf(", module refcount %d\n", afmux_module_refcnt());
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static struct sf_thread th[SF_THREADS_MAX];
	const char *env = getenv("AFMUX_FUZZ_TIME");
	unsigned long last[SF_THREADS_MAX] = { 0 }, total = 0;
	time_t start, stuck[SF_THREADS_MAX];
	uint64_t seed = 0;
	int budget = env ? atoi(env) : 60, nthreads = 4, i, refs;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--time") && i + 1 < argc)
			budget = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-v"))
			sf.verbose = true;
		else {
			fprintf(stderr, "usage: sys_fuzz [--time S] [--seed N] [--threads N] [-v]\n");
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > SF_THREADS_MAX || budget < 1)
		return 2;
	if (!seed)
		seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^
		       (uint64_t)getpid();
	signal(SIGPIPE, SIG_IGN);
	printf("TAP version 13\n1..1\n# sys_fuzz: seed %#llx, %d threads, %d s\n",
	       (unsigned long long)seed, nthreads, budget);
	fflush(stdout);
	sf.family = afmux_family();
	if (sf.family < 0) {
		printf("not ok 1 sys_fuzz: no afmux family: %s\n",
		       strerror(errno));
		return 1;
	}

	start = time(NULL);
	for (i = 0; i < nthreads; i++) {
		th[i].rng = seed + (uint64_t)i * 0x632be59bd9b4e019ULL;
		th[i].buf = calloc(1, SF_BUF);
		if (!th[i].buf || pthread_create(&th[i].tid, NULL,
						 sf_thread_main, &th[i]))
			return 1;
		stuck[i] = start;
	}
	while (time(NULL) - start < budget && !atomic_load(&sf.failures)) {
		sleep(1);
		sf_reap(false);
		for (i = 0; i < nthreads; i++) {
			unsigned long p = atomic_load(&th[i].progress);

			if (p != last[i]) {
				last[i] = p;
				stuck[i] = time(NULL);
			} else if (time(NULL) - stuck[i] > 20) {
				char msg[64];

				snprintf(msg, sizeof(msg),
					 "thread %d made no progress for 20 s",
					 i);
				sf_fail("hang", atomic_load(&th[i].op), msg);
				printf("not ok 1 sys_fuzz: seed %#llx\n",
				       (unsigned long long)seed);
				fflush(stdout);
				_exit(1);
			}
		}
	}
	atomic_store(&sf.stop, true);
	for (i = 0; i < nthreads; i++) {
		pthread_join(th[i].tid, NULL);
		total += atomic_load(&th[i].progress);
		free(th[i].buf);
	}
	sf_reap(true);
	for (i = 0; i < SF_SLOTS; i++) {
		if (sf.slot[i].kind != K_NONE) {
			if (sf.verbose)
				printf("# closing %s %d\n",
				       sf_kind_names[sf.slot[i].kind],
				       sf.slot[i].fd);
			close(sf.slot[i].fd);
			sf.slot[i].kind = K_NONE;
		}
	}
	/* Nothing may be left open here: else it is the fuzzer's leak. */
	for (i = 3; i < 4096; i++) {
		char link[64], path[32];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", i);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = 0;
		printf("# still open: fd %d %s\n", i, link);
		close(i);
	}
	/* Every afmux socket freed once every fd is gone (linger included). */
	for (i = 0; i < 6000; i++) {
		refs = afmux_module_refcnt();
		if (refs <= 0)
			break;
		if (sf.verbose && !(i % 1000))
			sf_print_holders();
		usleep(10000);
	}
	printf("# %lu calls in %ld s\n", total, (long)(time(NULL) - start));
	if (refs != 0) {
		char msg[64];

		snprintf(msg, sizeof(msg), "module refcount %d after 60 s",
			 refs);
		sf_fail("leak", -1, msg);
	}
	if (atomic_load(&sf.failures)) {
		printf("not ok 1 sys_fuzz: seed %#llx\n",
		       (unsigned long long)seed);
		return 1;
	}
	printf("ok 1 sys_fuzz: %lu calls, seed %#llx\n", total,
	       (unsigned long long)seed);
	return 0;
}
