// SPDX-License-Identifier: GPL-2.0
/*
 * muxbench-work.c - the client's workloads of docs/benchmarks.md (bulk,
 * with its sendfile and zerocopy modes, small, pingpong, openclose, idle), their
 * key=value parameters, and the table main() picks one from.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
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
	uint64_t file_size;
	const uint8_t *buf;
};

static void *bulk_stream(void *arg)
{
	struct bulk_job *j = arg;
	int fd = mb_open_stream(j->file >= 0 ? 'P' : 'S');
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
		{ "io", NULL, IO, false }, { "mode", "rw", 0, true },
		{ "file", SENDFILE_PATH, 0, true }, { NULL, NULL, 0, false },
	};
	uint64_t streams, per, fsize = 0;
	struct bulk_job *jobs;
	uint8_t *buf;
	bool zerocopy = false;
	int file = -1;
	double t0;

	parse_params(p, argc, argv, "bulk");
	streams = param(p, "streams");
	per = streams ? param(p, "bytes") / streams : 0;
	if (!streams || streams > 4096 || !per || !param(p, "io"))
		mb_die("bulk: want 1..4096 streams, bytes >= streams, io > 0");
	if (!strcmp(find_param(p, "mode")->sval, "sendfile"))
		file = sendfile_source(find_param(p, "file")->sval, &fsize);
	else if (!strcmp(find_param(p, "mode")->sval, "zerocopy"))
		zerocopy = true;
	else if (strcmp(find_param(p, "mode")->sval, "rw"))
		mb_die("bulk: mode is rw, sendfile or zerocopy");
	buf = malloc(param(p, "io"));
	jobs = calloc(streams, sizeof(*jobs));
	if (!buf || !jobs)
		mb_die("out of memory");
	memset(buf, 'x', param(p, "io"));

	t0 = mb_now();
	for (uint64_t i = 0; i < streams; i++) {
		jobs[i] = (struct bulk_job){ .bytes = per, .io = param(p, "io"),
			.file = file, .zerocopy = zerocopy, .file_size = fsize,
			.buf = buf };
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

const struct mb_workload mb_workloads[] = {
	{ "bulk", w_bulk }, { "small", w_small }, { "pingpong", w_pingpong },
	{ "openclose", w_openclose }, { "idle", w_idle },
};

const size_t mb_nworkloads = sizeof(mb_workloads) / sizeof(mb_workloads[0]);
