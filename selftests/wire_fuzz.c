// SPDX-License-Identifier: GPL-2.0
/*
 * wire_fuzz.c - a hostile peer for a real attached mux (docs/security.md,
 * "Fuzzers").  Each case is a fresh TCP connection: the victim is a mux
 * with an application thread behind it (accepting, reading, holding and
 * closing streams as their keys say, and opening streams of its own); the
 * fuzzer is the raw peer, sending a case from wire_gen.h cut into random
 * pieces (a byte at a time now and then), reading what the mux answers -
 * or for a while not reading it.  Each case's outcome is checked against
 * what docs/protocol.md requires, then every socket must be freed (the
 * module's reference count back to 0).  A third of the victims offer a
 * pool (AFMUX_ATTACH_POOL: their first frame is a HELLO, which changes
 * nothing for a peer that does not answer it), and half of those get a
 * HELLO and a POOL back before the valid case's frames (docs/protocol.md
 * §12.1-§12.2): a pooled connection must take the same cases.
 *
 *   wire_fuzz [--time S] [--seed N] [--cases N] [--case-seed X] [-v]
 *
 * --time defaults to $AFMUX_FUZZ_TIME, else 60 s (make check's budget).
 * Prints TAP; a failure names the seed of its case: --case-seed replays it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/afmux.h>

#include "afmux.h"
#include "wire_gen.h"

#define WF_WAIT_MS	20000	/* for what must come */
#define WF_APP_MAX	(WG_MAX_STREAMS + 16)

/* A stream as the victim's application sees it. */
struct app_stream {
	uint8_t key[AFMUX_KEY_MAX];
	uint32_t key_len;
	int fd;
	uint64_t got;
	struct sha256 c;
	uint8_t sha[SHA256_LEN];
	int end;		/* 0: open; 1: EOF; else -errno */
	uint32_t to_write;	/* victim-opened: bytes still to send */
};

struct app {
	int mux, ep, stop[2];
	pthread_t thread;
	pthread_mutex_t lock;	/* s[], ns */
	struct app_stream s[WF_APP_MAX];
	unsigned int ns;
};

static int verbose;
static char why[512];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define FAIL(...) do {							\
	snprintf(why, sizeof(why), __VA_ARGS__);			\
	return -1;							\
} while (0)

static void app_add(struct app *a, int fd, const uint8_t *key, uint32_t len,
		    uint32_t to_write)
{
	struct app_stream *s;
	struct epoll_event ev = { .events = EPOLLIN };

	pthread_mutex_lock(&a->lock);
	s = &a->s[a->ns];
	memset(s, 0, sizeof(*s));
	memcpy(s->key, key, len);
	s->key_len = len;
	s->fd = fd;
	s->to_write = to_write;
	sha256_init(&s->c);
	ev.data.u32 = a->ns++;
	if (to_write)
		ev.events |= EPOLLOUT;
	pthread_mutex_unlock(&a->lock);
	if (key[0] != 'n')	/* 'n': never read */
		epoll_ctl(a->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void app_read(struct app *a, struct app_stream *s)
{
	static __thread uint8_t buf[65536];
	ssize_t n;

	for (;;) {
		n = read(s->fd, buf, sizeof(buf));
		if (n > 0) {
			pthread_mutex_lock(&a->lock);
			sha256_update(&s->c, buf, n);
			s->got += n;
			pthread_mutex_unlock(&a->lock);
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			return;
		pthread_mutex_lock(&a->lock);
		sha256_final(&s->c, s->sha);
		s->end = n == 0 ? 1 : -errno;
		pthread_mutex_unlock(&a->lock);
		epoll_ctl(a->ep, EPOLL_CTL_DEL, s->fd, NULL);
		if (s->key[0] == 'r' || s->key[0] == 'v') {
			close(s->fd);
			s->fd = -1;
		}
		return;
	}
}

static void app_write(struct app *a, struct app_stream *s, unsigned int i)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
	uint8_t buf[4096];
	ssize_t n;

	memset(buf, 'v', sizeof(buf));
	while (s->to_write) {
		n = write(s->fd, buf, s->to_write < sizeof(buf) ?
				      s->to_write : sizeof(buf));
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		s->to_write -= n;
	}
	s->to_write = 0;
	shutdown(s->fd, SHUT_WR);
	epoll_ctl(a->ep, EPOLL_CTL_MOD, s->fd, &ev);
}

static int app_accept_one(struct app *a, uint8_t *key, size_t *len)
{
	struct afmux_accept acc = {
		.key = (uintptr_t)key, .key_len = *len,
		.flags = AFMUX_O_NONBLOCK | AFMUX_O_CLOEXEC,
	};
	int fd = ioctl(a->mux, AFMUX_IOC_ACCEPT, &acc);

	if (fd >= 0)
		*len = acc.key_len;
	return fd;
}

static void app_accept(struct app *a)
{
	uint8_t key[AFMUX_KEY_MAX];
	int fd;

	for (;;) {
		size_t len = sizeof(key);

		if (a->ns >= WF_APP_MAX)
			return;
		fd = app_accept_one(a, key, &len);
		if (fd < 0)
			return;
		if (key[0] == 'x' || !len) {
			close(fd);
			continue;
		}
		app_add(a, fd, key, len, 0);
	}
}

static void *app_main(void *arg)
{
	struct app *a = arg;
	struct epoll_event ev[16];
	int i, n;

	for (;;) {
		n = epoll_wait(a->ep, ev, 16, -1);
		for (i = 0; i < n; i++) {
			uint32_t id = ev[i].data.u32;

			if (id == UINT32_MAX - 1)
				return NULL;		/* stop */
			if (id == UINT32_MAX) {
				app_accept(a);
				if (ev[i].events & (EPOLLHUP | EPOLLERR))
					epoll_ctl(a->ep, EPOLL_CTL_DEL, a->mux,
						  NULL);
				continue;
			}
			if (ev[i].events & EPOLLOUT)
				app_write(a, &a->s[id], id);
			if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				app_read(a, &a->s[id]);
		}
	}
}

/* The raw peer's view of what the mux sent. */
struct raw {
	int fd;
	uint8_t in[1 << 17];
	size_t have;
	bool got_preface, eof;
	int err;		/* read error (ECONNRESET) */
	int goaway;		/* code of the first GOAWAY, or -1 */
	uint32_t acks;		/* PING ACKs */
	bool final_ack;
	uint8_t final[8];
	uint64_t frames;
};

/* Take whatever the mux sent; parse it.  0, or -1 on a malformed frame. */
static int raw_read(struct raw *r)
{
	for (;;) {
		ssize_t n = recv(r->fd, r->in + r->have, sizeof(r->in) - r->have,
				 MSG_DONTWAIT);
		size_t off = 0;

		if (n == 0) {
			r->eof = true;
			return 0;
		}
		if (n < 0) {
			if (errno != EAGAIN)
				r->err = errno;
			return 0;
		}
		r->have += n;
		if (!r->got_preface) {
			if (r->have < PREFACE_LEN)
				continue;
			if (memcmp(r->in, "AFMUX\r\n\0", 8))
				FAIL("the mux's preface is wrong");
			r->got_preface = true;
			off = PREFACE_LEN;
		}
		while (r->have - off >= HEADER_LEN) {
			const uint8_t *h = r->in + off;
			uint32_t len = get_be32(h + 4);

			if (h[0] == FT_DATA) {
				/* Skip the payload as it comes. */
				if (r->have - off < HEADER_LEN + len &&
				    len > sizeof(r->in) - HEADER_LEN) {
					FAIL("a DATA frame of %u bytes", len);
				}
			} else if (len > 1024) {
				FAIL("a control frame of %u bytes", len);
			}
			if (r->have - off < HEADER_LEN + len)
				break;
			r->frames++;
			if (h[0] == FT_PING && (h[1] & 1)) {
				r->acks++;
				if (!memcmp(h + HEADER_LEN, r->final, 8))
					r->final_ack = true;
			} else if (h[0] == FT_GOAWAY && r->goaway < 0) {
				r->goaway = (int)get_be32(h + HEADER_LEN + 4);
			}
			off += HEADER_LEN + len;
		}
		memmove(r->in, r->in + off, r->have - off);
		r->have -= off;
	}
}

static struct {
	uint64_t cases[3], bytes, frames_in, acks, stream_bytes;
	const char *names[32];
	uint32_t counts[32];
} tally;

static void tally_what(const char *what)
{
	unsigned int i;

	for (i = 0; i < 32 && tally.names[i]; i++)
		if (!strcmp(tally.names[i], what))
			break;
	if (i < 32) {
		tally.names[i] = what;
		tally.counts[i]++;
	}
}

/* Send the case, reading (or now and then not) as it goes. */
static int raw_send(struct raw *r, struct wg_case *c, uint64_t deadline)
{
	bool deaf = !wg_below(c, 4), bytewise = !wg_below(c, 8);
	uint64_t blocked_since = 0;
	size_t pos = 0;

	while (pos < c->len) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLOUT };
		/* A byte at a time for a stretch: every cut a parser sees. */
		size_t n = bytewise && pos < 3000 ? 1 + wg_below(c, 2) :
			   1 + wg_below(c, 9000);
		ssize_t w;

		if (!deaf)
			pfd.events |= POLLIN;
		if (now_ms() > deadline)
			FAIL("sending: no progress (hang) at byte %zu of %zu",
			     pos, c->len);
		if (poll(&pfd, 1, 100) < 0)
			FAIL("poll: %s", strerror(errno));
		if (pfd.revents & POLLIN && raw_read(r))
			return -1;
		if (r->eof || r->err)
			return 0;	/* the mux ended it: judged later */
		if (!(pfd.revents & POLLOUT)) {
			/* Not reading makes the mux stop reading: give in. */
			if (!blocked_since)
				blocked_since = now_ms();
			else if (now_ms() - blocked_since > 300)
				deaf = false;
			continue;
		}
		blocked_since = 0;
		if (n > c->len - pos)
			n = c->len - pos;
		w = send(r->fd, c->buf + pos, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EAGAIN)
			continue;
		if (w < 0)
			return 0;	/* reset by the mux: judged later */
		pos += w;
		tally.bytes += w;
	}
	return 0;
}

/* Read until @done says so, the end, or the deadline. */
static int raw_wait(struct raw *r, bool (*done)(struct raw *r),
		    uint64_t deadline)
{
	while (!done(r) && !r->eof && !r->err) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

		if (now_ms() > deadline)
			FAIL("waiting for the mux: nothing came (hang)");
		poll(&pfd, 1, 100);
		if (raw_read(r))
			return -1;
	}
	return 0;
}

static bool raw_final_acked(struct raw *r)
{
	return r->final_ack || r->goaway >= 0;
}

static bool raw_goaway(struct raw *r)
{
	return r->goaway >= 0;
}

static bool raw_never(struct raw *r)
{
	(void)r;
	return false;
}

static struct afmux_stats wf_mux_stats(int mux)
{
	struct afmux_stats st;
	socklen_t len = sizeof(st);

	memset(&st, 0xff, sizeof(st));
	getsockopt(mux, SOL_AFMUX, AFMUX_STATS, &st, &len);
	return st;
}

static int so_error(int fd)
{
	int err = -1;
	socklen_t len = sizeof(err);

	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	return err;
}

/* The app stream of key @key, waiting until it ended (or NULL). */
static struct app_stream *app_ended(struct app *a, const uint8_t *key,
				    uint32_t len, uint64_t deadline)
{
	unsigned int i;

	for (;;) {
		struct app_stream *found = NULL;
		int end = 0;

		pthread_mutex_lock(&a->lock);
		for (i = 0; i < a->ns; i++) {
			if (a->s[i].key_len == len &&
			    !memcmp(a->s[i].key, key, len)) {
				found = &a->s[i];
				end = found->end;
			}
		}
		pthread_mutex_unlock(&a->lock);
		if ((found && end) || now_ms() > deadline)
			return found && end ? found : NULL;
		usleep(2000);
	}
}

static int check_valid(struct wg_case *c, struct raw *r, struct app *a)
{
	struct afmux_stats st = wf_mux_stats(a->mux);
	uint64_t deadline = now_ms() + WF_WAIT_MS;
	unsigned int i;

	if (!r->final_ack)
		FAIL("valid case: the final PING was not answered (GOAWAY %d, eof %d, err %d)",
		     r->goaway, r->eof, r->err);
	if (r->goaway >= 0)
		FAIL("valid case: GOAWAY %d", r->goaway);
	if (r->acks != c->pings + 1)
		FAIL("valid case: %u PINGs answered, %u sent", r->acks,
		     c->pings + 1);
	if (so_error(a->mux))
		FAIL("valid case: SO_ERROR %d", so_error(a->mux));
	if (st.protocol_errors)
		FAIL("valid case: %" PRIu64 " protocol errors",
		     (uint64_t)st.protocol_errors);
	for (i = 0; i < c->nst; i++) {
		struct wg_stream *s = &c->st[i];
		struct app_stream *as;

		if (!s->ended || s->reset || s->key[0] == 'x' ||
		    s->key[0] == 'n')
			continue;
		as = app_ended(a, s->key, s->key_len, deadline);
		if (!as)
			FAIL("valid case: stream %u (key %c) did not end",
			     s->nr, s->key[0]);
		if (as->end != 1 || as->got != s->sent ||
		    memcmp(as->sha, s->sha, SHA256_LEN))
			FAIL("valid case: stream %u: end %d, %" PRIu64 " of %u bytes%s",
			     s->nr, as->end, as->got, s->sent,
			     as->got == s->sent ? ", wrong SHA-256" : "");
		tally.stream_bytes += as->got;
	}
	return 0;
}

static int check_violation(struct wg_case *c, struct raw *r, struct app *a)
{
	struct afmux_stats st = wf_mux_stats(a->mux);
	struct pollfd pfd = { .fd = a->mux, .events = POLLIN };
	uint64_t deadline = now_ms() + WF_WAIT_MS;
	unsigned int i;

	if (r->goaway != c->code)
		FAIL("%s: GOAWAY %d, wanted %d (eof %d, err %d)", c->what,
		     r->goaway, c->code, r->eof, r->err);
	if (so_error(a->mux) != EPROTO)
		FAIL("%s: SO_ERROR %d", c->what, so_error(a->mux));
	if (st.protocol_errors != 1)
		FAIL("%s: %" PRIu64 " protocol errors", c->what,
		     (uint64_t)st.protocol_errors);
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLHUP))
		FAIL("%s: the mux does not report POLLHUP", c->what);
	/* Every stream ends: none waits for what will never come. */
	for (i = 0; i < a->ns; i++) {
		struct app_stream *s = &a->s[i];

		if (s->key[0] == 'n') {
			static uint8_t buf[1 << 16];
			ssize_t n;

			while ((n = read(s->fd, buf, sizeof(buf))) > 0)
				;
			if (n < 0 && errno == EAGAIN)
				FAIL("%s: a stream never read still waits",
				     c->what);
			continue;
		}
		if (!app_ended(a, s->key, s->key_len, deadline))
			FAIL("%s: stream %c did not end", c->what, s->key[0]);
	}
	return 0;
}

static void app_stop(struct app *a)
{
	unsigned int i;

	if (write(a->stop[1], "x", 1) != 1)
		abort();
	pthread_join(a->thread, NULL);
	for (i = 0; i < a->ns; i++)
		if (a->s[i].fd >= 0)
			close(a->s[i].fd);
	close(a->ep);
	close(a->stop[0]);
	close(a->stop[1]);
	close(a->mux);
}

static int app_start(struct app *a, struct wg_case *c, int tcp, bool pool)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };
	struct afmux_attach at = { .fd = tcp,
				   .flags = pool ? AFMUX_ATTACH_POOL : 0 };
	unsigned int i;

	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	a->mux = afmux_socket(SOCK_CLOEXEC);
	if (a->mux < 0 || ioctl(a->mux, AFMUX_IOC_ATTACH, &at) ||
	    fcntl(a->mux, F_SETFL, O_NONBLOCK) || pipe(a->stop))
		FAIL("victim setup: %s", strerror(errno));
	a->ep = epoll_create1(EPOLL_CLOEXEC);
	epoll_ctl(a->ep, EPOLL_CTL_ADD, a->mux, &ev);
	ev.data.u32 = UINT32_MAX - 1;
	epoll_ctl(a->ep, EPOLL_CTL_ADD, a->stop[0], &ev);
	/* The victim's own streams, numbered 1.. before the peer speaks. */
	for (i = 1; i <= c->victim_opens; i++) {
		uint8_t key[2] = { 'v', (uint8_t)('0' + i) };
		int fd = ioctl(a->mux, AFMUX_IOC_OPEN, &(struct afmux_open){
			.key = (uintptr_t)key, .key_len = 2,
			.flags = AFMUX_O_NONBLOCK | AFMUX_O_CLOEXEC });

		if (fd < 0)
			FAIL("victim open: %s", strerror(errno));
		app_add(a, fd, key, 2, 1 + wg_below(c, 4096));
	}
	if (pthread_create(&a->thread, NULL, app_main, a))
		FAIL("pthread_create");
	return 0;
}

static uint64_t mix(uint64_t x);

/*
 * A valid case answering the victim's offer of a pool: HELLO and POOL
 * right after its preface.  The HELLO is a PING the victim answers.
 */
static void pool_answer(struct wg_case *c)
{
	static const uint8_t hello[8] = { 'A', 'F', 'M', 'U', 'X', 0, 0, 2 };
	uint8_t cred[24] = { 0, 0, 0, 0, 0, 0, 0, 1 };
	const size_t n = 2 * HEADER_LEN + sizeof(hello) + sizeof(cred);
	size_t rest = c->len - PREFACE_LEN;

	wg_room(c, n);
	memmove(c->buf + PREFACE_LEN + n, c->buf + PREFACE_LEN, rest);
	put_frame(c->buf + PREFACE_LEN, FT_PING, 0, hello, sizeof(hello));
	put_frame(c->buf + PREFACE_LEN + HEADER_LEN + sizeof(hello), 7, 0,
		  cred, sizeof(cred));
	c->pings++;
}

static int run_case(struct wg_case *c, uint64_t cseed)
{
	uint64_t deadline;
	static struct raw r;
	struct app a;
	int tcp, one = 1, ret, n;
	bool pool = mix(cseed ^ 0x9001) % 3 == 0;

	wg_generate(c, cseed);
	if (pool && c->kind == WG_VALID && (mix(cseed ^ 0x9002) & 1))
		pool_answer(c);
	tally.cases[c->kind]++;
	if (c->what)
		tally_what(c->what);
	memset(&r, 0, sizeof(r));
	r.goaway = -1;
	put_be32(r.final, (uint32_t)cseed);
	memcpy(r.final + 4, "end!", 4);
	if (tcp_pair(&r.fd, &tcp))
		FAIL("tcp_pair: %s", strerror(errno));
	setsockopt(r.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ret = app_start(&a, c, tcp, pool);
	close(tcp);
	if (ret) {
		close(r.fd);
		return ret;
	}
	deadline = now_ms() + 4 * WF_WAIT_MS;
	ret = raw_send(&r, c, deadline);
	if (!ret && c->kind != WG_VIOLATION) {
		uint8_t ping[HEADER_LEN + 8];

		put_frame(ping, FT_PING, 0, r.final, 8);
		send(r.fd, ping, sizeof(ping), MSG_NOSIGNAL);
		if (c->kind == WG_MUTATED)
			shutdown(r.fd, SHUT_WR);
	}
	deadline = now_ms() + WF_WAIT_MS;
	if (!ret && c->kind == WG_VALID) {
		ret = raw_wait(&r, raw_final_acked, deadline);
		if (!ret)
			ret = check_valid(c, &r, &a);
	} else if (!ret && c->kind == WG_VIOLATION) {
		ret = raw_wait(&r, raw_goaway, deadline);
		if (!ret)
			ret = check_violation(c, &r, &a);
	} else if (!ret) {
		/* Mutated: the mux ends it (error or clean) after our FIN. */
		ret = raw_wait(&r, raw_never, deadline);
	}
	tally.frames_in += r.frames;
	tally.acks += r.acks;
	app_stop(&a);
	shutdown(r.fd, SHUT_WR);
	if (!ret)
		ret = raw_wait(&r, raw_never, now_ms() + WF_WAIT_MS);
	close(r.fd);
	n = afmux_wait_refcnt_zero();
	if (!ret && n)
		FAIL("the connection was not freed: module refcount %d", n);
	return ret;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

int main(int argc, char **argv)
{
	uint64_t seed = mix((uint64_t)time(NULL) ^ (uint64_t)getpid() << 32);
	uint64_t case_seed = 0, start, budget_ms = 60000, cases = 0, i, ncases, t0;
	static struct wg_case c;
	int opt, time_set = 0;

	for (opt = 1; opt < argc; opt++) {
		if (!strcmp(argv[opt], "--time") && opt + 1 < argc)
			budget_ms = strtoull(argv[++opt], NULL, 0) * 1000,
			time_set = 1;
		else if (!strcmp(argv[opt], "--seed") && opt + 1 < argc)
			seed = strtoull(argv[++opt], NULL, 0);
		else if (!strcmp(argv[opt], "--cases") && opt + 1 < argc)
			cases = strtoull(argv[++opt], NULL, 0);
		else if (!strcmp(argv[opt], "--case-seed") && opt + 1 < argc)
			case_seed = strtoull(argv[++opt], NULL, 0);
		else if (!strcmp(argv[opt], "-v"))
			verbose = 1;
		else {
			fprintf(stderr, "usage: %s [--time S] [--seed N] [--cases N] [--case-seed X] [-v]\n",
				argv[0]);
			return 2;
		}
	}
	if (getenv("AFMUX_FUZZ_TIME") && !time_set)
		budget_ms = strtoull(getenv("AFMUX_FUZZ_TIME"), NULL, 0) * 1000;
	signal(SIGPIPE, SIG_IGN);
	printf("TAP version 13\n1..1\n# wire_fuzz: seed %#" PRIx64 "\n", seed);
	fflush(stdout);
	if (afmux_wait_refcnt_zero()) {
		printf("not ok 1 wire_fuzz: afmux sockets left from before\n");
		return 1;
	}
	start = now_ms();
	for (i = 0; case_seed ? i < 1 :
	     cases ? i < cases : now_ms() - start < budget_ms; i++) {
		uint64_t cs = case_seed ? case_seed : mix(seed + i);

		if (verbose) {
			printf("# case %" PRIu64 " seed %#" PRIx64 "\n", i, cs);
			fflush(stdout);
		}
		t0 = now_ms();
		if (run_case(&c, cs)) {
			printf("# case %" PRIu64 ": %s%s%s, %zu bytes\n", i,
			       c.kind == WG_VALID ? "valid" :
			       c.kind == WG_VIOLATION ? "violation" : "mutated",
			       c.what ? ": " : "", c.what ? c.what : "", c.len);
			printf("not ok 1 wire_fuzz: %s (replay: %s --case-seed %#" PRIx64 ")\n",
			       why, argv[0], cs);
			return 1;
		}
		if (verbose) {
			printf("# case %" PRIu64 ": %s, %zu bytes, %" PRIu64 " ms\n",
			       i, c.what ? c.what : "valid", c.len, now_ms() - t0);
			fflush(stdout);
		}
	}
	ncases = i;
	printf("# %" PRIu64 " cases in %" PRIu64 " s: %" PRIu64 " valid, %" PRIu64 " violations, %" PRIu64 " mutated\n",
	       ncases, (now_ms() - start) / 1000, tally.cases[WG_VALID],
	       tally.cases[WG_VIOLATION], tally.cases[WG_MUTATED]);
	printf("# sent %" PRIu64 " bytes; got %" PRIu64 " frames, %" PRIu64 " PING answers; %" PRIu64 " stream bytes checked\n",
	       tally.bytes, tally.frames_in, tally.acks, tally.stream_bytes);
	for (i = 0; i < 32 && tally.names[i]; i++)
		printf("#   %5u x %s\n", tally.counts[i], tally.names[i]);
	printf("ok 1 wire_fuzz: %" PRIu64 " cases, seed %#" PRIx64 "\n", ncases,
	       seed);
	return 0;
}
