// SPDX-License-Identifier: GPL-2.0
/*
 * muxstat.c - show afmux connections and streams the way ss shows TCP
 * sockets, from /proc/net/afmux, /proc/net/afmux_streams and
 * /proc/net/afmux_stat (docs/observe.md; muxstat(8)).  Columns are found
 * by the names in each file's header line, so files with more columns
 * still read.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_MAX_COLS	32

/* One file of lines of space-separated fields, under a header line. */
struct ms_table {
	char *names[MS_MAX_COLS];
	unsigned int nr_names;
	char ***rows;			/* rows[i][col] */
	size_t nr_rows;
	char *text;			/* the file; fields point into it */
};

struct ms_filter {
	const char *src, *dst, *state, *key_hex;
	unsigned long long id;
	bool have_id;
};

static const char *ms_prog = "muxstat";

static void ms_die(const char *what, const char *path)
{
	fprintf(stderr, "%s: %s %s: %s\n", ms_prog, what, path,
		strerror(errno));
	exit(1);
}

static char *ms_slurp(const char *path)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		free(buf);
		if (errno == ENOENT)
			fprintf(stderr, "%s: %s does not exist: is the afmux module loaded (modprobe afmux)?\n",
				ms_prog, path);
		else
			ms_die("cannot open", path);
		exit(1);
	}
	if (!buf)
		ms_die("out of memory reading", path);
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *nbuf = realloc(buf, cap * 2);

			if (!nbuf)
				ms_die("out of memory reading", path);
			buf = nbuf;
			cap *= 2;
		}
	}
	if (ferror(f))
		ms_die("cannot read", path);
	fclose(f);
	buf[len] = 0;
	return buf;
}

static unsigned int ms_split(char *line, char **out, unsigned int max)
{
	unsigned int n = 0;
	char *save = NULL, *tok;

	for (tok = strtok_r(line, " \t", &save); tok && n < max;
	     tok = strtok_r(NULL, " \t", &save))
		out[n++] = tok;
	return n;
}

static void ms_table_read(struct ms_table *t, const char *path)
{
	char *line, *save = NULL;
	size_t cap = 0;

	memset(t, 0, sizeof(*t));
	t->text = ms_slurp(path);
	line = strtok_r(t->text, "\n", &save);
	if (!line) {
		fprintf(stderr, "%s: %s: no header line\n", ms_prog, path);
		exit(1);
	}
	t->nr_names = ms_split(line, t->names, MS_MAX_COLS);
	while ((line = strtok_r(NULL, "\n", &save))) {
		char **row = calloc(MS_MAX_COLS, sizeof(*row));

		if (!row)
			ms_die("out of memory reading", path);
		if (ms_split(line, row, MS_MAX_COLS) < t->nr_names) {
			free(row);
			continue;	/* a line cut short: not ours */
		}
		if (t->nr_rows == cap) {
			char ***nrows;

			cap = cap ? cap * 2 : 64;
			nrows = realloc(t->rows, cap * sizeof(*t->rows));
			if (!nrows)
				ms_die("out of memory reading", path);
			t->rows = nrows;
		}
		t->rows[t->nr_rows++] = row;
	}
}

static void ms_table_free(struct ms_table *t)
{
	size_t i;

	for (i = 0; i < t->nr_rows; i++)
		free(t->rows[i]);
	free(t->rows);
	free(t->text);
}

/* The field @name of @row; "-" if the file has no such column. */
static const char *ms_get(const struct ms_table *t, char **row,
			  const char *name)
{
	unsigned int i;

	for (i = 0; i < t->nr_names; i++)
		if (!strcmp(t->names[i], name))
			return row[i];
	return "-";
}

/* Split "1.2.3.4:80" / "[::1]:80" into a normalised host and a port. */
static void ms_addr_split(const char *s, char *host, size_t hostsz,
			  char *port, size_t portsz)
{
	const char *colon = strrchr(s, ':');
	unsigned char bin[16];
	char tmp[64];
	size_t hl;

	host[0] = port[0] = 0;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end)
			return;
		hl = (size_t)(end - s - 1);
		snprintf(port, portsz, "%s", end[1] == ':' ? end + 2 : "");
		snprintf(tmp, sizeof(tmp), "%.*s", (int)hl, s + 1);
	} else if (colon && strchr(s, ':') == colon) {	/* one colon */
		snprintf(port, portsz, "%s", colon + 1);
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(colon - s), s);
	} else {					/* v4 or bare v6 */
		snprintf(tmp, sizeof(tmp), "%s", s);
	}
	if (inet_pton(AF_INET, tmp, bin) == 1)
		inet_ntop(AF_INET, bin, host, (socklen_t)hostsz);
	else if (inet_pton(AF_INET6, tmp, bin) == 1)
		inet_ntop(AF_INET6, bin, host, (socklen_t)hostsz);
	else
		snprintf(host, hostsz, "%s", tmp);
}

/* Does the address @have match the filter @want (ADDR, :PORT, both)? */
static bool ms_addr_match(const char *have, const char *want)
{
	char hh[64], hp[16], wh[64], wp[16];

	ms_addr_split(have, hh, sizeof(hh), hp, sizeof(hp));
	ms_addr_split(want, wh, sizeof(wh), wp, sizeof(wp));
	return (!wh[0] || !strcmp(hh, wh)) && (!wp[0] || !strcmp(hp, wp));
}

/* A key as hex (the files' form) from text, or from hex with -x. */
static char *ms_key_hex(const char *key, bool hex)
{
	size_t i, n = strlen(key);
	char *out = malloc(2 * n + 1);

	if (!out)
		ms_die("out of memory for", "the key");
	if (hex) {
		for (i = 0; i < n; i++)
			out[i] = (char)tolower((unsigned char)key[i]);
		out[n] = 0;
		if (n % 2 || strspn(out, "0123456789abcdef") != n) {
			fprintf(stderr, "%s: key %s is not hex\n", ms_prog,
				key);
			exit(2);
		}
		return out;
	}
	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", (unsigned char)key[i]);
	out[2 * n] = 0;
	return out;
}

/* Print a hex key as text if it is printable, else as 0x... */
static void ms_print_key(const char *hex)
{
	size_t i, n = strlen(hex) / 2;
	bool text = n > 0;
	unsigned int c;

	if (!strcmp(hex, "-")) {
		fputs("\"\"", stdout);
		return;
	}
	for (i = 0; i < n && text; i++)
		if (sscanf(hex + 2 * i, "%2x", &c) != 1 || c < 0x20 ||
		    c > 0x7e || c == '"' || c == '\\')
			text = false;
	if (!text) {
		printf("0x%s", hex);
		return;
	}
	putchar('"');
	for (i = 0; i < n; i++) {
		sscanf(hex + 2 * i, "%2x", &c);
		putchar((int)c);
	}
	putchar('"');
}

static bool ms_stream_match(const struct ms_table *s, char **row,
			    const struct ms_filter *f)
{
	return !f->key_hex || !strcmp(ms_get(s, row, "key"), f->key_hex);
}

static bool ms_conn_match(const struct ms_table *c, char **row,
			  const struct ms_table *s, const struct ms_filter *f)
{
	const char *id = ms_get(c, row, "id");
	size_t i;

	if (f->have_id && strtoull(id, NULL, 10) != f->id)
		return false;
	if (f->state && strcmp(ms_get(c, row, "state"), f->state))
		return false;
	if (f->src && !ms_addr_match(ms_get(c, row, "local"), f->src))
		return false;
	if (f->dst && !ms_addr_match(ms_get(c, row, "peer"), f->dst))
		return false;
	if (!f->key_hex)
		return true;
	for (i = 0; i < s->nr_rows; i++)
		if (!strcmp(ms_get(s, s->rows[i], "conn"), id) &&
		    ms_stream_match(s, s->rows[i], f))
			return true;
	return false;
}

static void ms_print_streams(const struct ms_table *s, const char *id,
			     const struct ms_filter *f)
{
	size_t i;

	for (i = 0; i < s->nr_rows; i++) {
		char **r = s->rows[i];

		if (strcmp(ms_get(s, r, "conn"), id) ||
		    !ms_stream_match(s, r, f))
			continue;
		printf("\tstream %s %s %s key ", ms_get(s, r, "id"),
		       ms_get(s, r, "side"), ms_get(s, r, "state"));
		ms_print_key(ms_get(s, r, "key"));
		printf(" fd:%s sent:%s recv:%s credit:%s window:%s rxq:%s txq:%s ino:%s\n",
		       ms_get(s, r, "fd"), ms_get(s, r, "tx_bytes"),
		       ms_get(s, r, "rx_bytes"), ms_get(s, r, "tx_credit"),
		       ms_get(s, r, "rx_window"), ms_get(s, r, "rx_queued"),
		       ms_get(s, r, "tx_queued"), ms_get(s, r, "inode"));
	}
}

static void ms_list(const char *dir, const struct ms_filter *f, bool ext,
		    bool header)
{
	struct ms_table c, s;
	char path[4096];
	size_t i;

	snprintf(path, sizeof(path), "%s/afmux", dir);
	ms_table_read(&c, path);
	snprintf(path, sizeof(path), "%s/afmux_streams", dir);
	ms_table_read(&s, path);
	if (header)
		printf("%-10s %6s %7s %7s %12s %12s %-24s %s\n", "State", "Id",
		       "Streams", "Backlog", "Sent", "Recv",
		       "Local Address:Port", "Peer Address:Port");
	for (i = 0; i < c.nr_rows; i++) {
		char **r = c.rows[i];

		if (!ms_conn_match(&c, r, &s, f))
			continue;
		printf("%-10s %6s %7s %7s %12s %12s %-24s %s",
		       ms_get(&c, r, "state"), ms_get(&c, r, "id"),
		       ms_get(&c, r, "streams"), ms_get(&c, r, "backlog"),
		       ms_get(&c, r, "tx_bytes"), ms_get(&c, r, "rx_bytes"),
		       ms_get(&c, r, "local"), ms_get(&c, r, "peer"));
		if (strcmp(ms_get(&c, r, "err"), "0"))
			printf(" err:%s (%s)", ms_get(&c, r, "err"),
			       strerror(atoi(ms_get(&c, r, "err"))));
		putchar('\n');
		if (ext) {
			printf("\t ino:%s uid:%s opened:%s accepted:%s orphans:%s frames_tx:%s frames_rx:%s rx_credit:%s tls:%s pool:%s\n",
			       ms_get(&c, r, "inode"), ms_get(&c, r, "uid"),
			       ms_get(&c, r, "opened"),
			       ms_get(&c, r, "accepted"),
			       ms_get(&c, r, "orphans"),
			       ms_get(&c, r, "frames_tx"),
			       ms_get(&c, r, "frames_rx"),
			       ms_get(&c, r, "rx_credit"),
			       ms_get(&c, r, "tls"), ms_get(&c, r, "pool"));
			ms_print_streams(&s, ms_get(&c, r, "id"), f);
		}
	}
	ms_table_free(&c);
	ms_table_free(&s);
}

/* " (STATE N, STATE N...)" over @t's rows, in order of first sight. */
static void ms_by_state(const struct ms_table *t)
{
	size_t k, j, n;

	for (k = 0; k < t->nr_rows; k++) {
		const char *st = ms_get(t, t->rows[k], "state");

		for (j = 0; j < k; j++)
			if (!strcmp(ms_get(t, t->rows[j], "state"), st))
				break;
		if (j < k)
			continue;	/* counted at its first row */
		for (n = 0, j = k; j < t->nr_rows; j++)
			n += !strcmp(ms_get(t, t->rows[j], "state"), st);
		printf("%s%s %zu", k ? ", " : " (", st, n);
	}
	if (t->nr_rows)
		putchar(')');
}

/* -s: connections by state, streams by state, then every counter. */
static void ms_summary(const char *dir)
{
	struct ms_table c, s;
	char path[4096], *text, *line, *save = NULL;
	char *names[64], *vals[64];
	unsigned int nn = 0, i;

	snprintf(path, sizeof(path), "%s/afmux", dir);
	ms_table_read(&c, path);
	snprintf(path, sizeof(path), "%s/afmux_streams", dir);
	ms_table_read(&s, path);
	printf("Connections: %zu", c.nr_rows);
	ms_by_state(&c);
	printf("\nStreams: %zu", s.nr_rows);
	ms_by_state(&s);
	printf("\n\n");
	ms_table_free(&c);
	ms_table_free(&s);

	snprintf(path, sizeof(path), "%s/afmux_stat", dir);
	text = ms_slurp(path);
	/* Pairs of lines: "Group: names", then "Group: values". */
	while ((line = strtok_r(save ? NULL : text, "\n", &save))) {
		char *colon = strchr(line, ':');

		if (!colon)
			continue;
		*colon = 0;
		if (!nn) {
			nn = ms_split(colon + 1, names, 64);
			continue;
		}
		if (ms_split(colon + 1, vals, 64) != nn) {
			fprintf(stderr, "%s: %s: group %s is malformed\n",
				ms_prog, path, line);
			exit(1);
		}
		printf("%s:", line);
		for (i = 0; i < nn; i++)
			printf(" %s %s", names[i], vals[i]);
		putchar('\n');
		nn = 0;
	}
	free(text);
}

static void ms_usage(FILE *out)
{
	fprintf(out,
		"usage: muxstat [-e] [-s] [-H] [-x] [-P DIR] [FILTER...]\n"
		"\n"
		"Shows afmux connections (one line each), like ss shows TCP.\n"
		"\n"
		"Options:\n"
		"  -e       also each connection's details and streams\n"
		"  -s       summary: connections and streams by state, counters\n"
		"  -H       no header line\n"
		"  -x       the KEY of a key filter is hex\n"
		"  -P DIR   read afmux, afmux_streams and afmux_stat from DIR\n"
		"           (default /proc/net; /proc/PID/net: PID's namespace)\n"
		"  -h       this help\n"
		"\n"
		"Filters (all must hold):\n"
		"  src ADDR[:PORT] | src :PORT    this end's address or port\n"
		"  dst ADDR[:PORT] | dst :PORT    the peer's\n"
		"  key KEY        a stream with this key (-e: only those)\n"
		"  state STATE    open, preface, goaway, linger, failed, ended,\n"
		"                 closed, unattached\n"
		"  id N           the connection with this id\n");
}

int main(int argc, char **argv)
{
	struct ms_filter f = { 0 };
	const char *dir = "/proc/net", *key = NULL;
	bool ext = false, summary = false, header = true, hex = false;
	int opt, i;

	while ((opt = getopt(argc, argv, "esHxP:h")) != -1) {
		switch (opt) {
		case 'e':
			ext = true;
			break;
		case 's':
			summary = true;
			break;
		case 'H':
			header = false;
			break;
		case 'x':
			hex = true;
			break;
		case 'P':
			dir = optarg;
			break;
		case 'h':
			ms_usage(stdout);
			return 0;
		default:
			ms_usage(stderr);
			return 2;
		}
	}
	for (i = optind; i < argc; i += 2) {
		const char *what = argv[i], *arg = argv[i + 1];

		if (!arg) {
			fprintf(stderr, "%s: filter %s needs a value\n",
				ms_prog, what);
			return 2;
		}
		if (!strcmp(what, "src")) {
			f.src = arg;
		} else if (!strcmp(what, "dst")) {
			f.dst = arg;
		} else if (!strcmp(what, "key")) {
			key = arg;
		} else if (!strcmp(what, "state")) {
			f.state = arg;
		} else if (!strcmp(what, "id")) {
			f.id = strtoull(arg, NULL, 10);
			f.have_id = true;
		} else {
			fprintf(stderr, "%s: unknown filter %s\n", ms_prog,
				what);
			return 2;
		}
	}
	if (key)
		f.key_hex = ms_key_hex(key, hex);
	if (summary)
		ms_summary(dir);
	else
		ms_list(dir, &f, ext, header);
	free((char *)f.key_hex);
	return 0;
}
