// SPDX-License-Identifier: GPL-2.0
/*
 * muxbench-work.c - the client's workloads of docs/benchmarks.md (bulk,
 * with its sendfile and zerocopy modes, small, pingpong, openclose, idle,
 * many), their key=value parameters, and the table main() picks one from.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "muxbench.h"
#include "../selftests/util.h"

#define IDLE_BATCH	1000
#define SENDFILE_SIZE	(64u << 20)
#define SENDFILE_PATH	"/dev/shm/muxbench-64M"

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
			mb_die("%s: want key=value, got %s", workload, argv[i]);
		*eq = 0;
		q = find_param(p, argv[i]);
		if (!q)
			mb_die("%s: unknown parameter %s", workload, argv[i]);
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
			mb_die("%s: bad number %s=%s", workload, argv[i], eq + 1);
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
	bool zerocopy;		/* zerocopy mode: MSG_ZEROCOPY writes */
	bool splice_sink;	/* the server splices to /dev/null ('P') */
	uint64_t file_size;
	const uint8_t *buf;
};

static void *bulk_stream(void *arg)
{
	struct bulk_job *j = arg;
	int fd = mb_open_stream(j->splice_sink ? 'P' : 'S');
	struct mux_zerocopy zc = { 0 };
	uint64_t left = j->bytes;
	uint32_t calls = 0;

	if (j->zerocopy && mux_zerocopy_enable(fd))
		mb_die("MSG_ZEROCOPY:");
	while (left) {
		if (j->file >= 0) {
			off_t off = (off_t)((j->bytes - left) % j->file_size);
			uint64_t n = j->file_size - (uint64_t)off;
			ssize_t r;

			if (n > left)
				n = left;
			if (j->io && n > j->io)
				n = j->io;
			r = sendfile(fd, j->file, &off, n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				mb_die("sendfile:");
			left -= (uint64_t)r;
		} else if (j->zerocopy) {
			/* The same buffer every time: it never changes. */
			size_t n = left < j->io ? (size_t)left : j->io;
			ssize_t r = send(fd, j->buf, n, MSG_ZEROCOPY);

			if (r < 0 && errno == ENOBUFS) {
				if (mux_zerocopy_reap(fd, &zc, 100))
					mb_die("MSG_ERRQUEUE:");
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				mb_die("send MSG_ZEROCOPY:");
			calls++;
			left -= (uint64_t)r;
			if (mux_zerocopy_reap(fd, &zc, 0))
				mb_die("MSG_ERRQUEUE:");
		} else {
			size_t n = left < j->io ? (size_t)left : j->io;

			if (write_all(fd, j->buf, n))
				mb_die("write:");
			left -= n;
		}
	}
	while (zc.done < calls)
		if (mux_zerocopy_reap(fd, &zc, 1000))
			mb_die("MSG_ERRQUEUE:");
	mb_check_count(fd, j->bytes, true);
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
		mb_die("create %s:", path);
	{
		uint8_t *b = malloc(IO);

		if (!b)
			mb_die("out of memory");
		memset(b, 'x', IO);
		for (unsigned int i = 0; i < SENDFILE_SIZE / IO; i++)
			if (write_all(fd, b, IO))
				mb_die("write %s:", path);
		free(b);
	}
	*size = SENDFILE_SIZE;
	return fd;
}

static void w_bulk(int argc, char **argv)
{
	struct param p[] = {
		{ "streams", NULL, 1, false }, { "bytes", NULL, 1ull << 30, false },
		{ "io", NULL, 0, false }, { "mode", "rw", 0, true },
		{ "file", SENDFILE_PATH, 0, true }, { "sink", "", 0, true },
		{ NULL, NULL, 0, false },
	};
	const char *mode, *sink;
	uint64_t streams, per, io, fsize = 0;
	struct bulk_job *jobs;
	uint8_t *buf;
	bool zerocopy = false;
	int file = -1;
	double t0;

	parse_params(p, argc, argv, "bulk");
	streams = param(p, "streams");
	per = streams ? param(p, "bytes") / streams : 0;
	io = param(p, "io");
	mode = find_param(p, "mode")->sval;
	sink = find_param(p, "sink")->sval;
	if (!streams || streams > 4096 || !per)
		mb_die("bulk: want 1..4096 streams, bytes >= streams");
	if (!strcmp(mode, "sendfile"))
		file = sendfile_source(find_param(p, "file")->sval, &fsize);
	else if (!strcmp(mode, "zerocopy"))
		zerocopy = true;
	else if (strcmp(mode, "rw"))
		mb_die("bulk: mode is rw, sendfile or zerocopy");
	if (!*sink)
		sink = file >= 0 ? "splice" : "read";
	if (strcmp(sink, "splice") && strcmp(sink, "read"))
		mb_die("bulk: sink is read or splice");
	buf = malloc(io ? io : IO);
	jobs = calloc(streams, sizeof(*jobs));
	if (!buf || !jobs)
		mb_die("out of memory");
	memset(buf, 'x', io ? io : IO);

	t0 = mb_now();
	for (uint64_t i = 0; i < streams; i++) {
		/* io 0: IO per write, the whole file per sendfile() */
		jobs[i] = (struct bulk_job){ .bytes = per,
			.io = io ? io : file >= 0 ? 0 : IO, .file = file,
			.zerocopy = zerocopy, .splice_sink = !strcmp(sink, "splice"),
			.file_size = fsize, .buf = buf };
		if (pthread_create(&jobs[i].thread, NULL, bulk_stream, &jobs[i]))
			mb_die("pthread_create");
	}
	for (uint64_t i = 0; i < streams; i++)
		pthread_join(jobs[i].thread, NULL);
	printf("result bulk seconds=%.6f bytes=%llu%s%s\n", mb_now() - t0,
	       (unsigned long long)(per * streams), *mb_tls_cipher ? " cipher=" : "",
	       mb_tls_cipher);
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
		mb_die("small: want streams > 0, 0 < size <= 16 MiB");
	fd = calloc(streams, sizeof(*fd));
	msg = malloc(size);
	if (!fd || !msg)
		mb_die("out of memory");
	memset(msg, 'm', size);

	t0 = mb_now();
	for (uint64_t i = 0; i < streams; i++)
		fd[i] = mb_open_stream('S');
	for (uint64_t k = 0; k < msgs; k++)
		for (uint64_t i = 0; i < streams; i++)
			if (write_all(fd[i], msg, size))
				mb_die("write:");
	for (uint64_t i = 0; i < streams; i++)
		if (shutdown(fd[i], SHUT_WR))
			mb_die("shutdown:");
	for (uint64_t i = 0; i < streams; i++) {
		mb_check_count(fd[i], msgs * size, false);
		close(fd[i]);
	}
	printf("result small seconds=%.6f msgs=%llu\n", mb_now() - t0,
	       (unsigned long long)(streams * msgs));
}

static atomic_bool pp_stop;
static pthread_barrier_t pp_barrier;

/* A pingpong background stream: 64 KiB writes until the pings are done. */
static void *pp_bulk(void *arg)
{
	const uint8_t *buf = arg;
	int fd = mb_open_stream('S');
	uint64_t sent = 0;

	pthread_barrier_wait(&pp_barrier);
	while (!atomic_load(&pp_stop)) {
		if (write_all(fd, buf, IO))
			mb_die("write:");
		sent += IO;
	}
	mb_check_count(fd, sent, true);
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
		mb_die("pingpong: want count >= 2, 0 < size <= 64 KiB, bulk <= 1024");
	out = malloc(size);
	in = malloc(size);
	bulkbuf = malloc(IO);
	lat = calloc(count, sizeof(*lat));
	th = calloc(nbulk + 1, sizeof(*th));
	if (!out || !in || !bulkbuf || !lat || !th)
		mb_die("out of memory");
	memset(bulkbuf, 'b', IO);

	fd = mb_open_stream('E');
	pthread_barrier_init(&pp_barrier, NULL, (unsigned int)nbulk + 1);
	for (uint64_t i = 0; i < nbulk; i++)
		if (pthread_create(&th[i], NULL, pp_bulk, bulkbuf))
			mb_die("pthread_create");
	pthread_barrier_wait(&pp_barrier);
	for (uint64_t i = 0; i < count; i++) {
		double t;

		for (uint64_t k = 0; k < size; k++)
			out[k] = (uint8_t)(i + k);
		t = mb_now();
		if (write_all(fd, out, size))
			mb_die("write:");
		if (read_full(fd, in, size) != (ssize_t)size)
			mb_die("echo: short read:");
		lat[i] = (mb_now() - t) * 1e6;
		if (memcmp(in, out, size))
			mb_die("echo: data mismatch at round trip %llu",
			    (unsigned long long)i);
	}
	atomic_store(&pp_stop, true);
	for (uint64_t i = 0; i < nbulk; i++)
		pthread_join(th[i], NULL);
	if (shutdown(fd, SHUT_WR) || read_full(fd, in, 1) != 0)
		mb_die("echo stream: expected EOF after half-close");
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
		int fd = mb_open_stream('S');

		mb_check_count(fd, 0, true);
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
		mb_die("openclose: want count > 0, 1 <= parallel <= 1024");
	th = calloc(par, sizeof(*th));
	if (!th)
		mb_die("out of memory");
	t0 = mb_now();
	for (uint64_t i = 0; i < par; i++)
		if (pthread_create(&th[i], NULL, oc_worker, NULL))
			mb_die("pthread_create");
	for (uint64_t i = 0; i < par; i++)
		pthread_join(th[i], NULL);
	printf("result openclose seconds=%.6f streams=%llu\n", mb_now() - t0,
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
		mb_die("out of memory");
	for (uint64_t b = 0; b < streams; b += IDLE_BATCH) {
		uint64_t e = b + IDLE_BATCH < streams ? b + IDLE_BATCH : streams;

		for (uint64_t i = b; i < e; i++) {
			fd[i] = mb_open_stream('I');
			if (write_all(fd[i], "x", 1))
				mb_die("write:");
		}
		for (uint64_t i = b; i < e; i++)
			if (read_full(fd[i], buf, 1) != 1 || buf[0] != 'x')
				mb_die("idle stream %llu: no echo",
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

/* many: one stream's request/response rounds, driven by the epoll loop. */
struct many_stream {
	int fd;
	uint8_t val;		/* every byte of this round's request */
	enum { MANY_WRITE, MANY_READ, MANY_EOF } state;
	uint64_t round;		/* round trips done */
	size_t off;		/* of this round's request or response */
	double t;		/* when this round's request began */
};

struct many_run {
	uint64_t rounds;
	size_t size;
	uint8_t *out, *in;	/* scratch, all streams': request, response */
	double *lat;		/* µs per round trip, in the order done */
	uint64_t nlat;
};

/* Move @s on until it would block; true once it is over. */
static bool many_drive(struct many_run *r, struct many_stream *s)
{
	for (;;) {
		ssize_t n;

		if (s->state == MANY_WRITE) {
			if (!s->off)
				s->t = mb_now();
			/* Shared: another stream may have filled it since. */
			memset(r->out, s->val, r->size - s->off);
			n = write(s->fd, r->out, r->size - s->off);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return false;
			if (n < 0)
				mb_die("many: write:");
			s->off += (size_t)n;
			if (s->off == r->size) {
				s->state = MANY_READ;
				s->off = 0;
			}
			continue;
		}
		n = read(s->fd, r->in, s->state == MANY_EOF ? 1 : r->size - s->off);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		if (n < 0)
			mb_die("many: read:");
		if (s->state == MANY_EOF) {
			if (n)
				mb_die("many: bytes after the last response");
			close(s->fd);
			s->fd = -1;
			return true;
		}
		if (!n)
			mb_die("many: EOF in round %llu", (unsigned long long)s->round);
		for (ssize_t i = 0; i < n; i++)
			if (r->in[i] != s->val)
				mb_die("many: echo mismatch in round %llu",
				    (unsigned long long)s->round);
		s->off += (size_t)n;
		if (s->off < r->size)
			continue;
		/* Round 0 (all streams' first requests at once) is a warm-up. */
		if (s->round)
			r->lat[r->nlat++] = (mb_now() - s->t) * 1e6;
		s->off = 0;
		s->val++;
		if (++s->round < r->rounds) {
			s->state = MANY_WRITE;
		} else {
			if (shutdown(s->fd, SHUT_WR))
				mb_die("many: shutdown:");
			s->state = MANY_EOF;
		}
	}
}

/*
 * many: conns connections (afmux: muxes, each its own TCP connection;
 * tcp: streams TCP connections each), streams echo streams on each, all
 * driven by this one thread's epoll loop: each stream makes rounds round
 * trips of size bytes, the next as soon as the last came back.
 */
static void w_many(int argc, char **argv)
{
	struct param p[] = {
		{ "conns", NULL, 1000, false }, { "streams", NULL, 8, false },
		{ "rounds", NULL, 8, false }, { "size", NULL, 4096, false },
		{ NULL, NULL, 0, false },
	};
	struct many_run r = { 0 };
	struct many_stream *st;
	struct epoll_event ev[256];
	uint64_t conns, per, total, left;
	double t0, t1, sum = 0;
	int epfd;

	parse_params(p, argc, argv, "many");
	conns = param(p, "conns");
	per = param(p, "streams");
	r.rounds = param(p, "rounds");
	r.size = param(p, "size");
	total = conns * per;
	if (!conns || conns > 100000 || !per || per > 1024 || !r.rounds ||
	    !r.size || r.size > IO)
		mb_die("many: want 1..100000 conns, 1..1024 streams, rounds > 0, 0 < size <= 64 KiB");
	st = calloc(total, sizeof(*st));
	r.lat = calloc(total * r.rounds, sizeof(*r.lat));
	r.out = malloc(r.size);
	r.in = malloc(r.size);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!st || !r.lat || !r.out || !r.in || epfd < 0)
		mb_die("many: setup:");

	t0 = mb_now();
	for (uint64_t c = 0; c < conns; c++) {
		/* The first mux is mb_client_setup()'s. */
		struct mux *m = mb_use_afmux && c ? mb_new_mux() : NULL;

		for (uint64_t i = c * per; i < (c + 1) * per; i++) {
			struct epoll_event e = {
				.events = EPOLLIN | EPOLLOUT | EPOLLET,
				.data.ptr = &st[i] };

			st[i].fd = mb_open_stream_on(m, 'E');
			st[i].val = (uint8_t)i;
			if (fcntl(st[i].fd, F_SETFL, O_NONBLOCK) ||
			    epoll_ctl(epfd, EPOLL_CTL_ADD, st[i].fd, &e))
				mb_die("many: stream setup:");
		}
	}
	t1 = mb_now();
	left = total;
	for (uint64_t i = 0; i < total; i++)
		left -= many_drive(&r, &st[i]);
	while (left) {
		int n = epoll_wait(epfd, ev, 256, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			mb_die("many: epoll_wait:");
		for (int i = 0; i < n; i++) {
			struct many_stream *s = ev[i].data.ptr;

			if (s->fd >= 0 && many_drive(&r, s))
				left--;
		}
	}
	t0 = mb_now() - t0;
	t1 = mb_now() - t1;

	qsort(r.lat, r.nlat, sizeof(*r.lat), cmp_double);
	for (uint64_t i = 0; i < r.nlat; i++)
		sum += r.lat[i];
	printf("result many seconds=%.6f bytes=%llu streams=%llu setup_s=%.3f p50_us=%.1f p99_us=%.1f mean_us=%.1f\n",
	       t1, (unsigned long long)(total * r.rounds * r.size),
	       (unsigned long long)total, t0 - t1,
	       r.nlat ? r.lat[(r.nlat - 1) / 2] : 0.0,
	       r.nlat ? r.lat[(r.nlat * 99 + 99) / 100 - 1] : 0.0,
	       r.nlat ? sum / (double)r.nlat : 0.0);
	close(epfd);
	free(st);
	free(r.lat);
	free(r.out);
	free(r.in);
}

const struct mb_workload mb_workloads[] = {
	{ "bulk", w_bulk }, { "small", w_small }, { "pingpong", w_pingpong },
	{ "openclose", w_openclose }, { "idle", w_idle }, { "many", w_many },
};

const size_t mb_nworkloads = sizeof(mb_workloads) / sizeof(mb_workloads[0]);
