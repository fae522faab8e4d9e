// SPDX-License-Identifier: GPL-2.0
/*
 * muxbench-server.c - muxbench's server: the accepting thread (TCP
 * connections, or the AF_MUX streams of one attached connection) and the
 * epoll workers that sink, count and echo the streams' bytes.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <linux/afmux.h>
#include "afmux.h"
#include "muxbench.h"

#define MAX_WORKERS	4

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

struct sstream {
	int fd;
	char role;		/* 0 until the first byte has arrived */
	bool eof;		/* E/I: close once pend is written */
	uint64_t count;		/* S/P/C: bytes after the role byte */
	uint8_t *pend;		/* bytes still to write back */
	size_t pend_len, pend_off;
	uint8_t reply[8];
};

struct worker {
	pthread_t thread;
	int epfd;
	int pipe[2];		/* P streams: stream -> pipe -> /dev/null */
	uint8_t *buf;
};

static struct worker workers[MAX_WORKERS];
static int nworkers;
static int devnull = -1;
static int wake_fd = -1;		/* eventfd: tells main to look again */
static atomic_long live;		/* streams not yet closed */
static atomic_int server_errors;
static atomic_bool session_done;	/* tcp: the 'C' connection ended */

static void wake_main(void)
{
	uint64_t one = 1;

	if (write(wake_fd, &one, sizeof(one)) < 0)
		perror("muxbench: eventfd");
}

static void stream_close(struct sstream *s)
{
	if (s->role == 'C')
		atomic_store(&session_done, true);
	close(s->fd);
	if (s->pend != s->reply)
		free(s->pend);
	free(s);
	if (atomic_fetch_sub(&live, 1) == 1 || atomic_load(&session_done))
		wake_main();
}

static void stream_fail(struct sstream *s, const char *what, int err)
{
	fprintf(stderr, "muxbench server: stream (role %c): %s: %s\n",
		s->role ? s->role : '?', what, strerror(err));
	atomic_fetch_add(&server_errors, 1);
	stream_close(s);
}

static void set_interest(struct worker *w, struct sstream *s, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = s };

	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, s->fd, &e))
		mb_die("epoll_ctl MOD:");
}

/*
 * Write what is pending; 1 if all of it is out, 0 if it must wait for
 * EPOLLOUT, -1 on error.
 */
static int flush_pending(struct sstream *s)
{
	while (s->pend_off < s->pend_len) {
		ssize_t n = write(s->fd, s->pend + s->pend_off,
				  s->pend_len - s->pend_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -1;
		s->pend_off += (size_t)n;
	}
	if (s->pend != s->reply)
		free(s->pend);
	s->pend = NULL;
	s->pend_len = s->pend_off = 0;
	return 1;
}

/* Queue @len bytes of @p to go back to the client and try to send them. */
static int send_back(struct sstream *s, const uint8_t *p, size_t len)
{
	ssize_t n;

	for (;;) {
		n = write(s->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -1;
		break;
	}
	if (n < 0)
		n = 0;
	if ((size_t)n == len)
		return 1;
	if (p == s->reply) {
		s->pend = s->reply;
		s->pend_off = (size_t)n;
		s->pend_len = len;
	} else {
		s->pend = malloc(len - (size_t)n);
		if (!s->pend)
			mb_die("out of memory");
		memcpy(s->pend, p + n, len - (size_t)n);
		s->pend_off = 0;
		s->pend_len = len - (size_t)n;
	}
	return 0;
}

/* S/P reached EOF: write back the count; the stream closes after that. */
static void reply_count(struct worker *w, struct sstream *s)
{
	int r;

	put_be64(s->reply, s->count);
	s->eof = true;
	r = send_back(s, s->reply, sizeof(s->reply));
	if (r < 0)
		stream_fail(s, "write count", errno);
	else if (r > 0)
		stream_close(s);
	else
		set_interest(w, s, EPOLLOUT);
}

/* A P stream: move what is there through the pipe to /dev/null. */
static void splice_some(struct worker *w, struct sstream *s)
{
	ssize_t n = splice(s->fd, NULL, w->pipe[1], NULL, IO,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		stream_fail(s, "splice from stream", errno);
		return;
	}
	if (n == 0) {
		reply_count(w, s);
		return;
	}
	s->count += (uint64_t)n;
	while (n > 0) {
		ssize_t m = splice(w->pipe[0], NULL, devnull, NULL, (size_t)n,
				   SPLICE_F_MOVE);

		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0)
			mb_die("splice to /dev/null:");
		n -= m;
	}
}

static void handle(struct worker *w, struct sstream *s, uint32_t ev)
{
	uint8_t *data = w->buf;
	ssize_t n;
	int r;

	if (s->pend) {
		r = flush_pending(s);
		if (r < 0) {
			stream_fail(s, "write", errno);
		} else if (r > 0) {
			if (s->eof)
				stream_close(s);
			else
				set_interest(w, s, EPOLLIN);
		} else if (ev & (EPOLLERR | EPOLLHUP) && !(ev & EPOLLOUT)) {
			stream_fail(s, "write", EPIPE);
		}
		return;
	}
	if (s->role == 'P') {
		splice_some(w, s);
		return;
	}
	n = read(s->fd, data, IO);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		stream_fail(s, "read", errno);
		return;
	}
	if (n == 0) {
		switch (s->role) {
		case 0:
			stream_fail(s, "EOF before the role byte", EPROTO);
			break;
		case 'S':
		case 'P':
			reply_count(w, s);
			break;
		default:	/* E, I, C */
			stream_close(s);
		}
		return;
	}
	if (!s->role) {
		s->role = (char)data[0];
		if (!strchr(mb_use_afmux ? "SPEI" : "SPEIC", s->role)) {
			stream_fail(s, "unknown role byte", EPROTO);
			return;
		}
		data++;
		n--;
	}
	if (s->role == 'E' || s->role == 'I') {
		r = n ? send_back(s, data, (size_t)n) : 1;
		if (r < 0)
			stream_fail(s, "write", errno);
		else if (r == 0)
			set_interest(w, s, EPOLLOUT);
	} else {
		s->count += (uint64_t)n;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[64];

	for (;;) {
		int n = epoll_wait(w->epfd, ev, 64, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			mb_die("epoll_wait:");
		for (int i = 0; i < n; i++)
			handle(w, ev[i].data.ptr, ev[i].events);
	}
	return NULL;
}

/* A new non-blocking stream fd: count it and give it to the next worker. */
static void add_stream(int fd)
{
	static unsigned int next;
	struct worker *w = &workers[next++ % nworkers];
	struct sstream *s = calloc(1, sizeof(*s));
	struct epoll_event e = { .events = EPOLLIN };

	if (!s)
		mb_die("out of memory");
	s->fd = fd;
	e.data.ptr = s;
	atomic_fetch_add(&live, 1);
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e))
		mb_die("epoll_ctl ADD:");
}

static void start_workers(void)
{
	const char *env = getenv("MUXBENCH_WORKERS");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (env && atol(env) > 0)
		cpus = atol(env);
	nworkers = cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS : (int)cpus;
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (devnull < 0 || wake_fd < 0)
		mb_die("/dev/null or eventfd:");
	for (int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->buf = malloc(IO);
		if (w->epfd < 0 || !w->buf ||
		    pipe2(w->pipe, O_CLOEXEC | O_NONBLOCK))
			mb_die("worker setup:");
		if (pthread_create(&w->thread, NULL, worker_main, w))
			mb_die("pthread_create");
	}
}

/* What an epoll event of the main loop is about. */
static char tag_wake, tag_listen;

/* afmux: every mux attached, closed once all have ended. */
static struct mux **muxes;
static long nmuxes;

static void epoll_add(int epfd, int fd, void *tag)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = tag };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e))
		mb_die("epoll_ctl ADD:");
}

/* accept() on the non-blocking listener, waiting for a connection. */
static int accept_wait(int lfd)
{
	for (;;) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0)
			return fd;
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			mb_die("accept:");
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			mb_die("poll:");
	}
}

/*
 * afmux: a new TCP connection @tcp is a new mux (a client opens one, or
 * many for the many workload); a pool's further connections follow it
 * on the listener and join it.
 */
static void attach_mux(int lfd, int tcp, int epfd)
{
	struct mux *m;

	mb_nodelay(tcp);
	if (mb_use_tls)
		mb_tls_handshake(tcp, true);
	m = mb_connections > 1 ? mux_new_pool(tcp) : mux_new(tcp);
	if (!m)
		mb_die("mux_new:");
	close(tcp);
	for (int i = 1; i < mb_connections; i++) {
		tcp = accept_wait(lfd);
		mb_nodelay(tcp);
		if (mux_join(m, tcp) < 0)
			mb_die("mux_join:");
		close(tcp);
	}
	if (mux_set_nonblock(m, 1))
		mb_die("mux_set_nonblock:");
	epoll_add(epfd, mux_fd(m), m);
	muxes = realloc(muxes, (size_t)(nmuxes + 1) * sizeof(*muxes));
	if (!muxes)
		mb_die("out of memory");
	muxes[nmuxes++] = m;
}

/* Take the streams @m has for us; false once its connection is over. */
static bool accept_streams(struct mux *m)
{
	for (;;) {
		char key[AFMUX_KEY_MAX];
		size_t klen = sizeof(key);
		int s = mux_accept(m, key, &klen,
				   AFMUX_O_NONBLOCK | AFMUX_O_CLOEXEC, NULL);

		if (s >= 0) {
			add_stream(s);
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return true;
		if (errno != EPIPE) {
			perror("muxbench server: the connection ended");
			atomic_fetch_add(&server_errors, 1);
		}
		return false;
	}
}

/* Take every connection waiting on the listener; how many came. */
static int accept_connections(int lfd, int epfd)
{
	int n = 0;

	for (;;) {
		int s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC |
				(mb_use_afmux ? 0 : SOCK_NONBLOCK));

		if (s < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN)
				return n;
			mb_die("accept:");
		}
		n++;
		if (mb_use_afmux) {
			attach_mux(lfd, s, epfd);
			continue;
		}
		mb_nodelay(s);
		if (mb_use_tls)
			mb_tls_handshake(s, true);
		add_stream(s);
	}
}

int mb_server(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)port) };
	long muxes_ended = 0;
	int one = 1, lfd, epfd;

	mb_raise_nofile();
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(lfd, 65535) || fcntl(lfd, F_SETFL, O_NONBLOCK))
		mb_die("listen on port %d:", port);
	start_workers();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		mb_die("epoll_create1:");
	epoll_add(epfd, wake_fd, &tag_wake);
	epoll_add(epfd, lfd, &tag_listen);
	printf("ready\n");
	fflush(stdout);

	/*
	 * The end: tcp once the session connection has ended, afmux once
	 * every mux has; then every stream must be done.  A client connects
	 * all its TCP connections before it ends any, so none can still be
	 * on its way once the last mux known has ended and the listener is
	 * found empty.
	 */
	for (;;) {
		struct epoll_event ev[8];
		int n;

		if ((mb_use_afmux ? nmuxes && muxes_ended == nmuxes :
		     atomic_load(&session_done)) && atomic_load(&live) == 0 &&
		    !accept_connections(lfd, epfd))
			break;
		n = epoll_wait(epfd, ev, 8, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			mb_die("epoll_wait:");
		for (int i = 0; i < n; i++) {
			void *tag = ev[i].data.ptr;

			if (tag == &tag_wake) {
				uint64_t v;

				if (read(wake_fd, &v, sizeof(v)) < 0 &&
				    errno != EAGAIN)
					mb_die("eventfd:");
			} else if (tag == &tag_listen) {
				accept_connections(lfd, epfd);
			} else if (!accept_streams(tag)) {
				/* Closed at the end: streams may be live. */
				epoll_ctl(epfd, EPOLL_CTL_DEL, mux_fd(tag), NULL);
				muxes_ended++;
			}
		}
	}
	for (long i = 0; i < nmuxes; i++)
		mux_close(muxes[i]);
	free(muxes);
	close(lfd);
	return atomic_load(&server_errors) ? 1 : 0;
}
