// SPDX-License-Identifier: GPL-2.0
/*
 * muxbench.c - the "tcp" and "afmux" contenders of docs/benchmarks.md:
 * the server and client of its command-line contract, nothing else.
 *
 *   muxbench tcp|afmux server PORT
 *   muxbench tcp|afmux client HOST PORT WORKLOAD [key=value ...]
 *
 * tcp:   every stream is its own TCP connection.  To 127.0.0.1 the client
 *        binds its connections to source addresses 127.0.0.2, 127.0.0.3,
 *        ... so 100000 connections do not run out of ephemeral ports:
 *        30000 each, or 90% of half of ip_local_port_range if that is
 *        less (connect() takes the even ports first, and scans all of
 *        them before it takes an odd one: past half the range every
 *        connect() costs a scan of the whole range).  The client
 *        also holds a session connection (first byte 'C') from start to
 *        end: the server exits once it has ended and every other
 *        connection is done ("until the client's last one").
 * afmux: one TCP connection attached to an AF_MUX socket (libafmux);
 *        streams are AF_MUX stream fds opened with an empty key.
 * ktls, afmux-ktls: the same inside TLS 1.3 with AES-128-GCM in the
 *        kernel (libafmux's mux_tls_handshake(), GnuTLS): ktls makes the
 *        handshake on every TCP connection, afmux-ktls on its one before
 *        the attach.  The server's certificate and key are the PEM files
 *        $MUXBENCH_CERT and $MUXBENCH_KEY; the client does not check them
 *        (as every TLS contender of bench/run).  bulk's result line
 *        names the cipher kTLS got (cipher=).
 * Both set TCP_NODELAY on their TCP sockets, as afmux's attach and Go's
 * net package (under yamux and smux) do.
 *
 * Beyond the contract, for the CPU cost of the zero-copy paths:
 *   role 'P'   the server sinks the stream with splice(stream -> pipe) and
 *              splice(pipe -> /dev/null) instead of read(2), then writes
 *              back the 8-byte count like 'S'.
 *   bulk mode=sendfile [file=PATH]   the client sends 'P', then moves its
 *              payload with sendfile(2) from PATH (default
 *              /dev/shm/muxbench-64M; created as 64 MiB of 'x' if absent
 *              or shorter), the whole file (or what is left to send) per
 *              call, over and over until bytes/streams are sent.
 *
 * The server is one accepting thread plus one epoll worker per CPU (at
 * most 4); streams are non-blocking and shared round-robin among workers.
 * The client uses a thread per stream for bulk and pingpong, one thread
 * for small and idle (idle opens in batches of 1000, so neither TCP's
 * listen backlog nor afmux's accept backlog overflows), and `parallel`
 * threads for openclose.  Any error, short count or mismatch ends the
 * process with status 1 and a message on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/tls.h>

#include <linux/afmux.h>
#include "afmux.h"
#include "../selftests/util.h"

#ifndef SOL_TLS
#define SOL_TLS		282
#endif

#define IO		(64 * 1024)
#define MAX_WORKERS	4
#define IDLE_BATCH	1000
#define PER_SRC_ADDR	30000
#define SENDFILE_SIZE	(64u << 20)
#define SENDFILE_PATH	"/dev/shm/muxbench-64M"

static bool use_afmux;
static bool use_tls;
static const char *tls_cipher = "";

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	fputs("muxbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (fmt[strlen(fmt) - 1] == ':')
		fprintf(stderr, " %s", strerror(err));
	fputc('\n', stderr);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* As many fds as the kernel lets a process have (fs.nr_open). */
static void raise_nofile(void)
{
	struct rlimit rl;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	unsigned long max = 0;

	if (f) {
		if (fscanf(f, "%lu", &max) != 1)
			max = 0;
		fclose(f);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (max > rl.rlim_max) {
		struct rlimit want = { max, max };

		if (!setrlimit(RLIMIT_NOFILE, &want))
			return;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/*
 * ktls, afmux-ktls: the TLS handshake on a connected TCP socket, its keys
 * to kTLS; the cipher kTLS got is remembered for the result line, named
 * as /proc/net/afmux names it.
 */
static void tls_handshake(int fd, bool server)
{
	struct mux_tls t = { .server = server, .insecure = !server };
	struct tls_crypto_info ci;	/* this size: the version and cipher */
	socklen_t len = sizeof(ci);

	if (server) {
		t.cert = getenv("MUXBENCH_CERT");
		t.key = getenv("MUXBENCH_KEY");
		if (!t.cert || !t.key)
			die("ktls: set MUXBENCH_CERT and MUXBENCH_KEY");
	}
	if (mux_tls_handshake(fd, &t))
		die("TLS: %s", mux_tls_error());
	if (getsockopt(fd, SOL_TLS, TLS_TX, &ci, &len))
		die("getsockopt(TLS_TX):");
	switch (ci.cipher_type) {
	case TLS_CIPHER_AES_GCM_128:
		tls_cipher = "aes-gcm-128";
		break;
	case TLS_CIPHER_AES_GCM_256:
		tls_cipher = "aes-gcm-256";
		break;
	case TLS_CIPHER_CHACHA20_POLY1305:
		tls_cipher = "chacha20-poly1305";
		break;
	default:
		tls_cipher = "other";
	}
}

/* ------------------------------------------------------------------ */
/* Server                                                              */
/* ------------------------------------------------------------------ */

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
		die("epoll_ctl MOD:");
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
			die("out of memory");
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
			die("splice to /dev/null:");
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
		if (!strchr(use_afmux ? "SPEI" : "SPEIC", s->role)) {
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
			die("epoll_wait:");
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
		die("out of memory");
	s->fd = fd;
	e.data.ptr = s;
	atomic_fetch_add(&live, 1);
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e))
		die("epoll_ctl ADD:");
}

static void start_workers(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	nworkers = cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS : (int)cpus;
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (devnull < 0 || wake_fd < 0)
		die("/dev/null or eventfd:");
	for (int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->buf = malloc(IO);
		if (w->epfd < 0 || !w->buf ||
		    pipe2(w->pipe, O_CLOEXEC | O_NONBLOCK))
			die("worker setup:");
		if (pthread_create(&w->thread, NULL, worker_main, w))
			die("pthread_create");
	}
}

static void epoll_add(int epfd, int fd)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e))
		die("epoll_ctl ADD:");
}

static int server(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)port) };
	struct mux *m = NULL;
	bool ended = false;
	int one = 1, lfd, epfd;

	raise_nofile();
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(lfd, 65535))
		die("listen on port %d:", port);
	start_workers();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1:");
	epoll_add(epfd, wake_fd);
	printf("ready\n");
	fflush(stdout);

	if (use_afmux) {
		int tcp = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (tcp < 0)
			die("accept:");
		close(lfd);
		nodelay(tcp);
		if (use_tls)
			tls_handshake(tcp, true);
		m = mux_new(tcp);
		if (!m)
			die("mux_new:");
		close(tcp);
		if (mux_set_nonblock(m, 1))
			die("mux_set_nonblock:");
		epoll_add(epfd, mux_fd(m));
	} else {
		if (fcntl(lfd, F_SETFL, O_NONBLOCK))
			die("fcntl:");
		epoll_add(epfd, lfd);
	}

	for (;;) {
		struct epoll_event ev[8];
		int n;

		if (use_afmux ? ended : atomic_load(&session_done))
			if (atomic_load(&live) == 0)
				break;
		n = epoll_wait(epfd, ev, 8, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait:");
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;

			if (fd == wake_fd) {
				uint64_t v;

				if (read(wake_fd, &v, sizeof(v)) < 0 &&
				    errno != EAGAIN)
					die("eventfd:");
			} else if (use_afmux) {
				for (;;) {
					char key[AFMUX_KEY_MAX];
					size_t klen = sizeof(key);
					int s = mux_accept(m, key, &klen,
							   AFMUX_O_NONBLOCK |
							   AFMUX_O_CLOEXEC, NULL);

					if (s >= 0) {
						add_stream(s);
						continue;
					}
					if (errno == EINTR)
						continue;
					if (errno == EAGAIN)
						break;
					/* The connection is over. */
					if (errno != EPIPE) {
						perror("muxbench server: the connection ended");
						atomic_fetch_add(&server_errors, 1);
					}
					ended = true;
					epoll_ctl(epfd, EPOLL_CTL_DEL, mux_fd(m), NULL);
					break;
				}
			} else {
				for (;;) {
					int s = accept4(lfd, NULL, NULL,
							SOCK_CLOEXEC | SOCK_NONBLOCK);

					if (s >= 0) {
						nodelay(s);
						if (use_tls)
							tls_handshake(s, true);
						add_stream(s);
						continue;
					}
					if (errno == EINTR || errno == ECONNABORTED)
						continue;
					if (errno == EAGAIN)
						break;
					die("accept:");
				}
			}
		}
	}
	if (m)
		mux_close(m);
	return atomic_load(&server_errors) ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Client: streams                                                     */
/* ------------------------------------------------------------------ */

static struct sockaddr_in peer;
static struct mux *cmux;
static int session_fd = -1;
static bool spread_src;		/* tcp to 127.0.0.1: vary the source address */
static unsigned long per_src;
static atomic_ulong nconnects;

static int tcp_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket:");
	if (spread_src) {
		unsigned long k = atomic_fetch_add(&nconnects, 1) / per_src;
		struct sockaddr_in src = { .sin_family = AF_INET };
		int one = 1;

		if (k > 250)
			die("too many connections for 127.0.0.2-252");
		src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)k);
		/* The port is picked at connect(), unique per 4-tuple. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
			   sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)))
			die("bind to 127.0.0.%lu:", k + 2);
	}
	if (connect(fd, (struct sockaddr *)&peer, sizeof(peer)))
		die("connect:");
	nodelay(fd);
	if (use_tls)
		tls_handshake(fd, false);
	return fd;
}

/* A new stream whose first byte says @role. */
static int open_stream(char role)
{
	int fd;

	if (use_afmux) {
		fd = mux_open(cmux, "", 0, AFMUX_O_CLOEXEC, NULL);
		if (fd < 0)
			die("mux_open:");
	} else {
		fd = tcp_connect();
	}
	if (write_all(fd, &role, 1))
		die("write role byte:");
	return fd;
}

/*
 * Half-close @fd (unless @shut is false: done already), then expect the
 * server's 8-byte count to be @sent.
 */
static void check_count(int fd, uint64_t sent, bool shut)
{
	uint8_t b[8];
	ssize_t n;

	if (shut && shutdown(fd, SHUT_WR))
		die("shutdown:");
	n = read_full(fd, b, sizeof(b));
	if (n < 0)
		die("read count:");
	if (n != 8)
		die("short count reply (%zd bytes)", n);
	if (get_be64(b) != sent)
		die("server counted %llu bytes, client sent %llu",
		    (unsigned long long)get_be64(b), (unsigned long long)sent);
}

static void client_setup(const char *host, int port)
{
	peer.sin_family = AF_INET;
	peer.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &peer.sin_addr) != 1)
		die("HOST must be an IPv4 address: %s", host);
	if (use_afmux) {
		int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (tcp < 0 || connect(tcp, (struct sockaddr *)&peer, sizeof(peer)))
			die("connect to %s:%d:", host, port);
		nodelay(tcp);
		if (use_tls)
			tls_handshake(tcp, false);
		cmux = mux_new(tcp);
		if (!cmux)
			die("mux_new:");
		close(tcp);
		return;
	}
	if (peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
		unsigned long lo = 32768, hi = 60999;
		FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

		if (f) {
			if (fscanf(f, "%lu %lu", &lo, &hi) != 2)
				lo = 32768, hi = 60999;
			fclose(f);
		}
		/*
		 * connect() tries the even ports of the range first and scans
		 * all of them before it takes an odd one: keep under half.
		 */
		spread_src = true;
		per_src = (hi - lo + 1) / 2 * 9 / 10;
		if (per_src > PER_SRC_ADDR)
			per_src = PER_SRC_ADDR;
		if (per_src < 1)
			per_src = 1;
	}
	session_fd = open_stream('C');
}

static void client_finish(void)
{
	if (cmux)
		mux_close(cmux);
	if (session_fd >= 0)
		close(session_fd);
}

/* ------------------------------------------------------------------ */
/* Client: parameters                                                  */
/* ------------------------------------------------------------------ */

struct param {
	const char *name;
	const char *sval;	/* string parameters (mode, file) */
	uint64_t val;
	bool is_str;
};

static struct param *find_param(struct param *p, const char *name)
{
	for (; p->name; p++)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

/* key=value arguments; numbers take a k, m or g (binary) suffix. */
static void parse_params(struct param *p, int argc, char **argv,
			 const char *workload)
{
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '='), *end;
		struct param *q;
		uint64_t v;

		if (!eq)
			die("%s: want key=value, got %s", workload, argv[i]);
		*eq = 0;
		q = find_param(p, argv[i]);
		if (!q)
			die("%s: unknown parameter %s", workload, argv[i]);
		if (q->is_str) {
			q->sval = eq + 1;
			continue;
		}
		errno = 0;
		v = strtoull(eq + 1, &end, 10);
		switch (*end) {
		case 'k': case 'K': v <<= 10; end++; break;
		case 'm': case 'M': v <<= 20; end++; break;
		case 'g': case 'G': v <<= 30; end++; break;
		}
		if (errno || end == eq + 1 || *end)
			die("%s: bad number %s=%s", workload, argv[i], eq + 1);
		q->val = v;
	}
}

static uint64_t param(struct param *p, const char *name)
{
	return find_param(p, name)->val;
}

/* ------------------------------------------------------------------ */
/* Client: workloads                                                   */
/* ------------------------------------------------------------------ */

struct bulk_job {
	pthread_t thread;
	uint64_t bytes;
	size_t io;
	int file;		/* sendfile mode: the source file, else -1 */
	uint64_t file_size;
	const uint8_t *buf;
};

static void *bulk_stream(void *arg)
{
	struct bulk_job *j = arg;
	int fd = open_stream(j->file >= 0 ? 'P' : 'S');
	uint64_t left = j->bytes;

	while (left) {
		if (j->file >= 0) {
			off_t off = (off_t)((j->bytes - left) % j->file_size);
			uint64_t n = j->file_size - (uint64_t)off;
			ssize_t r;

			if (n > left)
				n = left;
			r = sendfile(fd, j->file, &off, n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				die("sendfile:");
			left -= (uint64_t)r;
		} else {
			size_t n = left < j->io ? (size_t)left : j->io;

			if (write_all(fd, j->buf, n))
				die("write:");
			left -= n;
		}
	}
	check_count(fd, j->bytes, true);
	close(fd);
	return NULL;
}

/* The sendfile source: @path, made 64 MiB of 'x' unless it is already. */
static int sendfile_source(const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && !fstat(fd, &st) && st.st_size >= SENDFILE_SIZE) {
		*size = (uint64_t)st.st_size;
		return fd;
	}
	if (fd >= 0)
		close(fd);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("create %s:", path);
	{
		uint8_t *b = malloc(IO);

		if (!b)
			die("out of memory");
		memset(b, 'x', IO);
		for (unsigned int i = 0; i < SENDFILE_SIZE / IO; i++)
			if (write_all(fd, b, IO))
				die("write %s:", path);
		free(b);
	}
	*size = SENDFILE_SIZE;
	return fd;
}

static void w_bulk(int argc, char **argv)
{
	struct param p[] = {
		{ "streams", NULL, 1, false }, { "bytes", NULL, 1ull << 30, false },
		{ "io", NULL, IO, false }, { "mode", "rw", 0, true },
		{ "file", SENDFILE_PATH, 0, true }, { NULL, NULL, 0, false },
	};
	uint64_t streams, per, fsize = 0;
	struct bulk_job *jobs;
	uint8_t *buf;
	int file = -1;
	double t0;

	parse_params(p, argc, argv, "bulk");
	streams = param(p, "streams");
	per = streams ? param(p, "bytes") / streams : 0;
	if (!streams || streams > 4096 || !per || !param(p, "io"))
		die("bulk: want 1..4096 streams, bytes >= streams, io > 0");
	if (!strcmp(find_param(p, "mode")->sval, "sendfile"))
		file = sendfile_source(find_param(p, "file")->sval, &fsize);
	else if (strcmp(find_param(p, "mode")->sval, "rw"))
		die("bulk: mode is rw or sendfile");
	buf = malloc(param(p, "io"));
	jobs = calloc(streams, sizeof(*jobs));
	if (!buf || !jobs)
		die("out of memory");
	memset(buf, 'x', param(p, "io"));

	t0 = now();
	for (uint64_t i = 0; i < streams; i++) {
		jobs[i] = (struct bulk_job){ .bytes = per, .io = param(p, "io"),
			.file = file, .file_size = fsize, .buf = buf };
		if (pthread_create(&jobs[i].thread, NULL, bulk_stream, &jobs[i]))
			die("pthread_create");
	}
	for (uint64_t i = 0; i < streams; i++)
		pthread_join(jobs[i].thread, NULL);
	printf("result bulk seconds=%.6f bytes=%llu%s%s\n", now() - t0,
	       (unsigned long long)(per * streams), *tls_cipher ? " cipher=" : "",
	       tls_cipher);
}

static void w_small(int argc, char **argv)
{
	struct param p[] = {
		{ "streams", NULL, 1000, false }, { "msgs", NULL, 100, false },
		{ "size", NULL, 256, false }, { NULL, NULL, 0, false },
	};
	uint64_t streams, msgs, size;
	uint8_t *msg;
	int *fd;
	double t0;

	parse_params(p, argc, argv, "small");
	streams = param(p, "streams");
	msgs = param(p, "msgs");
	size = param(p, "size");
	if (!streams || !size || size > (1 << 24))
		die("small: want streams > 0, 0 < size <= 16 MiB");
	fd = calloc(streams, sizeof(*fd));
	msg = malloc(size);
	if (!fd || !msg)
		die("out of memory");
	memset(msg, 'm', size);

	t0 = now();
	for (uint64_t i = 0; i < streams; i++)
		fd[i] = open_stream('S');
	for (uint64_t k = 0; k < msgs; k++)
		for (uint64_t i = 0; i < streams; i++)
			if (write_all(fd[i], msg, size))
				die("write:");
	for (uint64_t i = 0; i < streams; i++)
		if (shutdown(fd[i], SHUT_WR))
			die("shutdown:");
	for (uint64_t i = 0; i < streams; i++) {
		check_count(fd[i], msgs * size, false);
		close(fd[i]);
	}
	printf("result small seconds=%.6f msgs=%llu\n", now() - t0,
	       (unsigned long long)(streams * msgs));
}

static atomic_bool pp_stop;
static pthread_barrier_t pp_barrier;

/* A pingpong background stream: 64 KiB writes until the pings are done. */
static void *pp_bulk(void *arg)
{
	const uint8_t *buf = arg;
	int fd = open_stream('S');
	uint64_t sent = 0;

	pthread_barrier_wait(&pp_barrier);
	while (!atomic_load(&pp_stop)) {
		if (write_all(fd, buf, IO))
			die("write:");
		sent += IO;
	}
	check_count(fd, sent, true);
	close(fd);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void w_pingpong(int argc, char **argv)
{
	struct param p[] = {
		{ "count", NULL, 2000, false }, { "size", NULL, 64, false },
		{ "bulk", NULL, 0, false }, { NULL, NULL, 0, false },
	};
	uint64_t count, size, nbulk, skip, n;
	uint8_t *out, *in, *bulkbuf;
	pthread_t *th;
	double *lat, sum = 0;
	int fd;

	parse_params(p, argc, argv, "pingpong");
	count = param(p, "count");
	size = param(p, "size");
	nbulk = param(p, "bulk");
	skip = count / 10;
	if (count - skip < 1 || !size || size > IO || nbulk > 1024)
		die("pingpong: want count >= 2, 0 < size <= 64 KiB, bulk <= 1024");
	out = malloc(size);
	in = malloc(size);
	bulkbuf = malloc(IO);
	lat = calloc(count, sizeof(*lat));
	th = calloc(nbulk + 1, sizeof(*th));
	if (!out || !in || !bulkbuf || !lat || !th)
		die("out of memory");
	memset(bulkbuf, 'b', IO);

	fd = open_stream('E');
	pthread_barrier_init(&pp_barrier, NULL, (unsigned int)nbulk + 1);
	for (uint64_t i = 0; i < nbulk; i++)
		if (pthread_create(&th[i], NULL, pp_bulk, bulkbuf))
			die("pthread_create");
	pthread_barrier_wait(&pp_barrier);
	for (uint64_t i = 0; i < count; i++) {
		double t;

		for (uint64_t k = 0; k < size; k++)
			out[k] = (uint8_t)(i + k);
		t = now();
		if (write_all(fd, out, size))
			die("write:");
		if (read_full(fd, in, size) != (ssize_t)size)
			die("echo: short read:");
		lat[i] = (now() - t) * 1e6;
		if (memcmp(in, out, size))
			die("echo: data mismatch at round trip %llu",
			    (unsigned long long)i);
	}
	atomic_store(&pp_stop, true);
	for (uint64_t i = 0; i < nbulk; i++)
		pthread_join(th[i], NULL);
	if (shutdown(fd, SHUT_WR) || read_full(fd, in, 1) != 0)
		die("echo stream: expected EOF after half-close");
	close(fd);

	n = count - skip;
	for (uint64_t i = skip; i < count; i++)
		sum += lat[i];
	qsort(lat + skip, n, sizeof(*lat), cmp_double);
	printf("result pingpong p50_us=%.1f p99_us=%.1f mean_us=%.1f\n",
	       lat[skip + (n - 1) / 2], lat[skip + (n * 99 + 99) / 100 - 1],
	       sum / (double)n);
}

static atomic_ulong oc_next;
static uint64_t oc_count;

static void *oc_worker(void *arg)
{
	(void)arg;
	while (atomic_fetch_add(&oc_next, 1) < oc_count) {
		int fd = open_stream('S');

		check_count(fd, 0, true);
		close(fd);
	}
	return NULL;
}

static void w_openclose(int argc, char **argv)
{
	struct param p[] = {
		{ "count", NULL, 2000, false }, { "parallel", NULL, 8, false },
		{ NULL, NULL, 0, false },
	};
	uint64_t par;
	pthread_t *th;
	double t0;

	parse_params(p, argc, argv, "openclose");
	oc_count = param(p, "count");
	par = param(p, "parallel");
	if (!oc_count || !par || par > 1024)
		die("openclose: want count > 0, 1 <= parallel <= 1024");
	th = calloc(par, sizeof(*th));
	if (!th)
		die("out of memory");
	t0 = now();
	for (uint64_t i = 0; i < par; i++)
		if (pthread_create(&th[i], NULL, oc_worker, NULL))
			die("pthread_create");
	for (uint64_t i = 0; i < par; i++)
		pthread_join(th[i], NULL);
	printf("result openclose seconds=%.6f streams=%llu\n", now() - t0,
	       (unsigned long long)oc_count);
}

static void w_idle(int argc, char **argv)
{
	struct param p[] = {
		{ "streams", NULL, 10000, false }, { NULL, NULL, 0, false },
	};
	uint64_t streams;
	char buf[256];
	int *fd;

	parse_params(p, argc, argv, "idle");
	streams = param(p, "streams");
	fd = calloc(streams ? streams : 1, sizeof(*fd));
	if (!fd)
		die("out of memory");
	for (uint64_t b = 0; b < streams; b += IDLE_BATCH) {
		uint64_t e = b + IDLE_BATCH < streams ? b + IDLE_BATCH : streams;

		for (uint64_t i = b; i < e; i++) {
			fd[i] = open_stream('I');
			if (write_all(fd[i], "x", 1))
				die("write:");
		}
		for (uint64_t i = b; i < e; i++)
			if (read_full(fd[i], buf, 1) != 1 || buf[0] != 'x')
				die("idle stream %llu: no echo",
				    (unsigned long long)i);
	}
	printf("ready streams=%llu\n", (unsigned long long)streams);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	for (uint64_t i = 0; i < streams; i++)
		close(fd[i]);
	printf("result idle streams=%llu\n", (unsigned long long)streams);
}

static const struct {
	const char *name;
	void (*run)(int argc, char **argv);
} workloads[] = {
	{ "bulk", w_bulk }, { "small", w_small }, { "pingpong", w_pingpong },
	{ "openclose", w_openclose }, { "idle", w_idle },
};

static void __attribute__((noreturn)) usage(void)
{
	fputs("usage: muxbench tcp|afmux|ktls|afmux-ktls server PORT\n"
	      "       muxbench tcp|afmux|ktls|afmux-ktls client HOST PORT WORKLOAD [key=value ...]\n"
	      "WORKLOAD: bulk small pingpong openclose idle (docs/benchmarks.md)\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 4)
		usage();
	use_afmux = !strncmp(argv[1], "afmux", 5);
	use_tls = strstr(argv[1], "ktls");
	if (strcmp(argv[1], "afmux") && strcmp(argv[1], "tcp") &&
	    strcmp(argv[1], "ktls") && strcmp(argv[1], "afmux-ktls"))
		usage();
	if (!strcmp(argv[2], "server") && argc == 4)
		return server(atoi(argv[3]));
	if (strcmp(argv[2], "client") || argc < 6)
		usage();
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		if (strcmp(workloads[i].name, argv[5]))
			continue;
		raise_nofile();
		client_setup(argv[3], atoi(argv[4]));
		workloads[i].run(argc - 6, argv + 6);
		client_finish();
		fflush(stdout);
		return 0;
	}
	usage();
}
