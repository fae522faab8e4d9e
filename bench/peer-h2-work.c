// SPDX-License-Identifier: GPL-2.0
/*
 * peer-h2-work.c - the client's workloads of docs/benchmarks.md (bulk,
 * small, pingpong, openclose, idle) over peer-h2's connection, their
 * key=value parameters, and the table main() picks one from.
 */
#include <unistd.h>

#include "peer-h2.h"

struct param {
	const char *key;
	uint64_t val;
};

static void parse_params(struct param *p, int argc, char **argv,
			 const char *workload)
{
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		struct param *q;
		char *end;

		for (q = p; q->key && eq; q++)
			if (strlen(q->key) == (size_t)(eq - argv[i]) &&
			    !strncmp(q->key, argv[i], (size_t)(eq - argv[i])))
				break;
		if (!eq || !q->key)
			h2_die("%s: unknown parameter %s", workload, argv[i]);
		errno = 0;
		q->val = strtoull(eq + 1, &end, 0);
		if (errno || end == eq + 1 || *end)
			h2_die("%s: bad value in %s", workload, argv[i]);
	}
}

static void w_bulk(struct conn *c, int argc, char **argv)
{
	struct param p[] = { { "streams", 1 }, { "bytes", 1ull << 30 },
			     { "io", IO }, { NULL, 0 } };
	uint64_t streams, bytes, per;
	uint8_t *buf;
	double t0, secs;

	parse_params(p, argc, argv, "bulk");
	streams = p[0].val;
	bytes = p[1].val;
	if (!streams || streams > MAX_STREAMS || !p[2].val || p[2].val > 1 << 30 ||
	    !bytes || bytes % streams)
		h2_die("bulk: want 0 < streams <= %u dividing bytes, 0 < io <= 1 GiB",
		    MAX_STREAMS);
	per = bytes / streams;
	buf = h2_xmalloc(p[2].val);
	memset(buf, 'x', p[2].val);

	t0 = h2_now();
	for (uint64_t i = 0; i < streams; i++) {
		struct stream *s = h2_open_stream(c, 'S');

		s->gen = buf;
		s->gen_io = p[2].val;
		s->gen_left = per;
		s->fin = true;
	}
	h2_run_until(c, &c->completed, streams);
	secs = h2_now() - t0;
	if (c->sunk != bytes)
		h2_die("bulk: server counted %llu bytes in all",
		    (unsigned long long)c->sunk);
	h2_client_close(c);
	free(buf);
	printf("result bulk seconds=%.6f bytes=%llu%s%s\n", secs,
	       (unsigned long long)bytes, c->ssl ? " cipher=" : "",
	       c->ssl ? SSL_get_cipher_name(c->ssl) : "");
}

static void w_small(struct conn *c, int argc, char **argv)
{
	struct param p[] = { { "streams", 1000 }, { "msgs", 100 },
			     { "size", 256 }, { NULL, 0 } };
	uint64_t streams, msgs, size;
	uint8_t *msg;
	double t0, secs;

	parse_params(p, argc, argv, "small");
	streams = p[0].val;
	msgs = p[1].val;
	size = p[2].val;
	if (!streams || streams > MAX_STREAMS || !size || size > (1 << 24))
		h2_die("small: want 0 < streams <= %u, 0 < size <= 16 MiB",
		    MAX_STREAMS);
	msg = h2_xmalloc(size);
	memset(msg, 'm', size);

	t0 = h2_now();
	for (uint64_t i = 0; i < streams; i++) {
		struct stream *s = h2_open_stream(c, 'S');

		s->gen = msg;		/* msgs writes of size bytes */
		s->gen_io = size;
		s->gen_left = msgs * size;
		s->fin = true;
	}
	h2_run_until(c, &c->completed, streams);
	secs = h2_now() - t0;
	if (c->sunk != streams * msgs * size)
		h2_die("small: server counted %llu bytes in all",
		    (unsigned long long)c->sunk);
	h2_client_close(c);
	free(msg);
	printf("result small seconds=%.6f msgs=%llu\n", secs,
	       (unsigned long long)(streams * msgs));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void w_pingpong(struct conn *c, int argc, char **argv)
{
	struct param p[] = { { "count", 2000 }, { "size", 64 }, { "bulk", 0 },
			     { NULL, 0 } };
	uint64_t count, size, nbulk, skip, n;
	struct stream *es, **bs;
	uint8_t *out, *bulkbuf;
	double *lat, sum = 0;

	parse_params(p, argc, argv, "pingpong");
	count = p[0].val;
	size = p[1].val;
	nbulk = p[2].val;
	skip = count / 10;
	if (count < 2 || count > 1u << 30 || !size || size > IO || nbulk > 1024)
		h2_die("pingpong: want 2 <= count <= 2^30, 0 < size <= 64 KiB, "
		    "bulk <= 1024");
	out = h2_xmalloc(size);
	bulkbuf = h2_xmalloc(IO);
	lat = h2_xmalloc(count * sizeof(*lat));
	bs = h2_xmalloc((nbulk + 1) * sizeof(*bs));
	memset(bulkbuf, 'b', IO);

	es = h2_open_stream(c, 'E');
	for (uint64_t i = 0; i < nbulk; i++) {
		bs[i] = h2_open_stream(c, 'S');
		bs[i]->gen = bulkbuf;	/* 64 KiB writes until stopped */
		bs[i]->gen_io = IO;
		bs[i]->gen_left = UINT64_MAX;
		bs[i]->fin = true;
	}
	while (!es->got_headers)	/* the server has the streams */
		h2_run_once(c, -1);
	for (uint64_t i = 0; i < count; i++) {
		double t;

		for (uint64_t k = 0; k < size; k++)
			out[k] = (uint8_t)(i + k);
		t = h2_now();
		h2_buf_put(&es->ob, out, size);
		h2_stream_kick(c, es);
		while (es->ib.len < size)
			h2_run_once(c, -1);
		lat[i] = (h2_now() - t) * 1e6;
		if (es->ib.len != size || memcmp(es->ib.p + es->ib.off, out, size))
			h2_die("echo: data mismatch at round trip %llu",
			    (unsigned long long)i);
		h2_buf_take(&es->ib, size);
	}
	/* Stop the bulk streams after their current write, end the echo
	 * stream, and check every count (streams are freed as they close). */
	for (uint64_t i = 0; i < nbulk; i++) {
		bs[i]->gen_left = 0;
		h2_stream_kick(c, bs[i]);
	}
	es->fin = true;
	h2_stream_kick(c, es);
	h2_run_until(c, &c->completed, nbulk + 1);
	h2_client_close(c);

	n = count - skip;
	for (uint64_t i = skip; i < count; i++)
		sum += lat[i];
	qsort(lat + skip, n, sizeof(*lat), cmp_double);
	printf("result pingpong p50_us=%.1f p99_us=%.1f mean_us=%.1f\n",
	       lat[skip + n * 50 / 100], lat[skip + n * 99 / 100],
	       sum / (double)n);
	free(out);
	free(bulkbuf);
	free(lat);
	free(bs);
}

static void w_openclose(struct conn *c, int argc, char **argv)
{
	struct param p[] = { { "count", 2000 }, { "parallel", 8 }, { NULL, 0 } };
	uint64_t count, par, opened = 0;
	double t0, secs;

	parse_params(p, argc, argv, "openclose");
	count = p[0].val;
	par = p[1].val;
	if (!count || !par || par > MAX_STREAMS)
		h2_die("openclose: want count > 0, 0 < parallel <= %u", MAX_STREAMS);

	t0 = h2_now();
	while (c->completed < count) {
		/* `par` requests outstanding: S, END_STREAM, count (0) back */
		while (opened < count && opened - c->completed < par) {
			h2_open_stream(c, 'S')->fin = true;
			opened++;
		}
		h2_run_once(c, -1);
	}
	secs = h2_now() - t0;
	h2_client_close(c);
	printf("result openclose seconds=%.6f streams=%llu\n", secs,
	       (unsigned long long)count);
}

static void w_idle(struct conn *c, int argc, char **argv)
{
	struct param p[] = { { "streams", 10000 }, { NULL, 0 } };
	uint64_t streams, opened = 0;
	char buf[256];

	parse_params(p, argc, argv, "idle");
	streams = p[0].val;
	if (streams > MAX_STREAMS)
		h2_die("idle: want streams <= %u", MAX_STREAMS);
	while (c->ready < streams) {
		/* IDLE_BATCH at a time: I, x, wait for x */
		while (opened < streams && opened - c->ready < IDLE_BATCH) {
			h2_buf_put(&h2_open_stream(c, 'I')->ob, "x", 1);
			opened++;
		}
		h2_run_once(c, -1);
	}
	printf("ready streams=%llu\n", (unsigned long long)streams);
	fflush(stdout);
	for (;;) {	/* keep serving the connection until stdin's EOF */
		if (h2_run_once(c, 0)) {
			ssize_t n = read(0, buf, sizeof(buf));

			if (n == 0)
				break;
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				h2_die("stdin:");
		}
	}
	h2_client_close(c);
	printf("result idle streams=%llu\n", (unsigned long long)streams);
}

const struct h2_workload h2_workloads[] = {
	{ "bulk", w_bulk }, { "small", w_small }, { "pingpong", w_pingpong },
	{ "openclose", w_openclose }, { "idle", w_idle },
};

const size_t h2_nworkloads = sizeof(h2_workloads) / sizeof(h2_workloads[0]);
