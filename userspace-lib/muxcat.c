// SPDX-License-Identifier: GPL-2.0
/*
 * muxcat - the streams of an AF_MUX connection from the shell, in the
 * spirit of nc and socat.
 *
 *   muxcat [-l] [-4|-6] [-x] [-v] [-w BYTES] HOST PORT MODE [ARGS...]
 *
 *   send KEY [FILE]            one outgoing stream: FILE (or stdin) in,
 *                              the peer's reply to stdout
 *   send KEY FILE KEY FILE...  several at once, concurrently, no reply
 *   recv [-n N] [-d DIR]       N incoming streams to stdout, or to files
 *   exec [-n N] CMD [ARG...]   CMD per incoming stream, on the stream
 *   run KEY CMD [ARG...]       CMD on one outgoing stream
 *
 * usage_text below is the full description.  How it works:
 *
 * - Data moves with sendfile() from regular files and splice() through a
 *   pipe otherwise, falling back to read()/write() where the kernel says
 *   EINVAL, ENOSYS or EOPNOTSUPP (a tty, an O_APPEND file).
 * - send copies both directions at once (a thread per stream sends), so a
 *   peer that answers while it reads cannot deadlock on the stream windows.
 *   With several streams the main thread polls them all for replies.
 * - A stream is ended (END) only once everything received on it has been
 *   written out, so "send" exiting 0 means the peer stored all of it.  On
 *   an error the stream is reset (SO_LINGER 0, RESET CANCEL) rather than
 *   ended, so the peer never takes a cut-off transfer for a complete one;
 *   send then resets every stream that is not over and exits.
 * - recv -d copies the streams concurrently (a thread each), exec runs
 *   the commands concurrently (like inetd); recv to stdout is sequential.
 * - Keys: bytes as given (-x: in hex).  Shown and used as file names
 *   percent-encoded: bytes other than [A-Za-z0-9._-] become %XX.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/afmux.h>

#include "afmux.h"

#define EXIT_USAGE	2
#define PARSE_HELP	(-1)
#define COPY_CHUNK	(64 * 1024)
#define SENDFILE_CHUNK	(1024 * 1024)
#define PIPE_SIZE	(256 * 1024)

static const char usage_text[] =
"usage: muxcat [-l] [-4|-6] [-x] [-v] [-w BYTES] HOST PORT MODE [ARGS...]\n"
"\n"
"Connects to HOST PORT over TCP (with -l: listens there and accepts one\n"
"connection), attaches the connection to an AF_MUX socket and runs MODE\n"
"on its streams.  The other end must be AF_MUX too, e.g. another muxcat.\n"
"\n"
"Options:\n"
"  -l        listen on HOST PORT ('' or '*' as HOST: every address)\n"
"  -4, -6    IPv4 or IPv6 only\n"
"  -x        KEY is hex (any bytes: -x 00ff)\n"
"  -v        report the connection and each stream (ID, key; send: the\n"
"            bytes sent and received) on stderr\n"
"  -w BYTES  receive window of each stream, 4k to 64m (suffix k, m)\n"
"  -h        this help\n"
"\n"
"Modes:\n"
"  send KEY [FILE]\n"
"      open a stream under KEY, send FILE (default or -: stdin) on it and\n"
"      end it; meanwhile copy what the peer sends back to stdout until\n"
"      the peer ends the stream\n"
"  send KEY FILE KEY FILE...\n"
"      several streams at once: open one per KEY FILE pair, send the\n"
"      FILEs concurrently (one FILE may be -: stdin) and end each stream\n"
"      when its FILE is sent; the peer must send nothing back (else\n"
"      muxcat names the stream and exits 1) and end every stream\n"
"  recv [-n N] [-d DIR]\n"
"      accept N streams (default 1; 0: until the connection ends) and\n"
"      write their data to stdout one stream after the other, or with -d\n"
"      concurrently, each into the file DIR/ID-KEY (ID: the stream ID;\n"
"      KEY: bytes other than A-Z a-z 0-9 . _ - as %XX, cut to a 255-byte\n"
"      name ending in + if too long; existing files are overwritten)\n"
"  exec [-n N] CMD [ARG...]\n"
"      for each of N accepted streams (default 1; 0: until the connection\n"
"      ends) run CMD, concurrently, with stdin and stdout on the stream\n"
"      and MUXCAT_KEY (the key up to any NUL byte), MUXCAT_KEY_HEX and\n"
"      MUXCAT_STREAM_ID in its environment\n"
"  run KEY CMD [ARG...]\n"
"      open a stream under KEY and run CMD on it like exec does\n"
"\n"
"A KEY or CMD that starts with - needs -- before it.\n"
"\n"
"Exit status: 2 on usage errors; 1 if muxcat failed (it says why, as\n"
"\"muxcat: what: why\"; a stream cut short is reset, not ended); else,\n"
"for exec and run, the status of the first CMD (in stream order) that\n"
"failed: its exit status, 128+N if killed by signal N, 126 or 127 if it\n"
"could not be run; else 0: every stream went through (the peer ended\n"
"it and all of its data was written out).\n";

enum mode { MODE_SEND, MODE_RECV, MODE_EXEC, MODE_RUN };

struct opts {
	int listen;
	int family;			/* AF_UNSPEC, AF_INET, AF_INET6 */
	int hexkey;
	int verbose;
	uint32_t window;		/* 0: the default */
	const char *host, *port;
	enum mode mode;
	unsigned char key[AFMUX_KEY_MAX];	/* run */
	size_t key_len;
	char **pairs;			/* send: KEY FILE ... in argv (a FILE */
	size_t npairs;			/* that is NULL or - is stdin) */
	unsigned long count;		/* recv, exec: 0 = until the end */
	const char *dir;		/* recv -d */
	char **cmd;			/* exec, run: NULL-terminated */
};

static int verbose;

/* "muxcat: WHAT: strerror(err)", or without the ": ..." if err is 0. */
__attribute__((format(printf, 2, 3)))
static void msg(int err, const char *fmt, ...)
{
	char what[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* One fprintf, so lines from several threads do not mix. */
	if (err)
		fprintf(stderr, "muxcat: %s: %s\n", what, strerror(err));
	else
		fprintf(stderr, "muxcat: %s\n", what);
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "muxcat: %s\nTry 'muxcat -h' for more information.\n",
		what);
	return EXIT_USAGE;
}

/* Keys as text */

static int key_byte_plain(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static size_t escape_byte(char *out, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";

	if (key_byte_plain(c)) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '%';
	out[1] = hex[c >> 4];
	out[2] = hex[c & 15];
	return 3;
}

/* Percent-encodes @key into @out, which has room for 3 * @len + 1. */
static void escape_key(char *out, const unsigned char *key, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += escape_byte(out + n, key[i]);
	out[n] = '\0';
}

/*
 * The file name recv -d gives a stream: "ID-" then the escaped key.  The
 * ID prefix makes it unique on a connection and never empty, ".", ".."
 * or an option; it never contains "/".  A name that would be longer than
 * NAME_MAX is cut at an escape boundary and ends in "+", which an escaped
 * key never contains.
 */
static void stream_filename(char name[NAME_MAX + 1], uint32_t id,
			    const unsigned char *key, size_t len)
{
	size_t n, full, i;
	char esc[3];
	int cut;

	n = (size_t)snprintf(name, NAME_MAX + 1, "%" PRIu32 "-", id);
	full = n;
	for (i = 0; i < len; i++)
		full += key_byte_plain(key[i]) ? 1 : 3;
	cut = full > NAME_MAX;
	for (i = 0; i < len; i++) {
		size_t e = escape_byte(esc, key[i]);

		if (cut && n + e + 1 > NAME_MAX)
			break;
		memcpy(name + n, esc, e);
		n += e;
	}
	if (cut)
		name[n++] = '+';
	name[n] = '\0';
}

static void hex_encode(char *out, const unsigned char *key, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[key[i] >> 4];
		out[2 * i + 1] = hex[key[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Argument parsing */

/* A decimal number, digits only (no sign, no spaces). */
static int parse_count(const char *s, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (*s < '0' || *s > '9' || v > (ULONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* BYTES[k|K|m|M], within the kernel's window limits. */
static int parse_window(const char *s, uint32_t *out)
{
	char digits[32];
	size_t len = strlen(s);
	unsigned long v, mult = 1;

	if (len && (s[len - 1] == 'k' || s[len - 1] == 'K'))
		mult = 1024;
	else if (len && (s[len - 1] == 'm' || s[len - 1] == 'M'))
		mult = 1024 * 1024;
	if (mult != 1)
		len--;
	if (len >= sizeof(digits))
		return -1;
	memcpy(digits, s, len);
	digits[len] = '\0';
	if (parse_count(digits, &v) < 0 || v > AFMUX_WINDOW_MAX / mult)
		return -1;
	v *= mult;
	if (v < AFMUX_WINDOW_MIN)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* KEY as given on the command line into @key; 0, or EXIT_USAGE. */
static int parse_key(const char *arg, int hex, unsigned char *key,
		     size_t *key_len)
{
	size_t len = strlen(arg), i;

	if (!hex) {
		if (len > AFMUX_KEY_MAX)
			return usage_error("KEY is longer than %d bytes",
					   AFMUX_KEY_MAX);
		memcpy(key, arg, len);
		*key_len = len;
		return 0;
	}
	if (len % 2)
		return usage_error("hex KEY has an odd number of digits: %s",
				   arg);
	if (len / 2 > AFMUX_KEY_MAX)
		return usage_error("KEY is longer than %d bytes",
				   AFMUX_KEY_MAX);
	for (i = 0; i < len; i += 2) {
		int hi = hex_digit(arg[i]), lo = hex_digit(arg[i + 1]);

		if (hi < 0 || lo < 0)
			return usage_error("KEY is not hex: %s", arg);
		key[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	*key_len = len / 2;
	return 0;
}

static int set_key(struct opts *o, const char *arg)
{
	return parse_key(arg, o->hexkey, o->key, &o->key_len);
}

/*
 * send's arguments, KEY [FILE] or KEY FILE pairs, into o->pairs and
 * o->npairs.  The keys are checked here and decoded again by send.
 */
static int send_args(int argc, char **argv, struct opts *o)
{
	unsigned char key[AFMUX_KEY_MAX];
	size_t i, len, stdins = 0;
	int r;

	if (argc < 1)
		return usage_error("send: missing KEY");
	if (argc > 2 && argc % 2)
		return usage_error("send: KEY without FILE: %s",
				   argv[argc - 1]);
	o->pairs = argv;
	o->npairs = argc > 2 ? (size_t)argc / 2 : 1;
	for (i = 0; i < o->npairs; i++) {
		const char *file = argv[2 * i + 1];

		r = parse_key(argv[2 * i], o->hexkey, key, &len);
		if (r)
			return r;
		if (!file || !strcmp(file, "-"))
			stdins++;
	}
	if (stdins > 1)
		return usage_error("send: stdin (-) can feed one stream only");
	return 0;
}

/* A mode's own options; argv[0] is the mode's name. */
static int mode_options(int argc, char **argv, const char *optstring,
			struct opts *o)
{
	int c;

	optind = 0;		/* glibc: start over, at argv[1] */
	opterr = 0;
	while ((c = getopt(argc, argv, optstring)) != -1) {
		switch (c) {
		case 'n':
			if (parse_count(optarg, &o->count) < 0)
				return usage_error("%s: -n: not a count: %s",
						   argv[0], optarg);
			break;
		case 'd':
			if (!*optarg)
				return usage_error("%s: -d: empty DIR",
						   argv[0]);
			o->dir = optarg;
			break;
		case ':':
			return usage_error("%s: option -%c needs an argument",
					   argv[0], optopt);
		default:
			return usage_error("%s: unknown option -%c", argv[0],
					   optopt);
		}
	}
	return 0;
}

/*
 * Fills @o from the command line.  Returns 0, PARSE_HELP for -h, or
 * EXIT_USAGE after printing what is wrong.  @argv must be NULL-terminated
 * (o->cmd points into it).
 */
static int parse_args(int argc, char **argv, struct opts *o)
{
	int c, r, left, fam4 = 0, fam6 = 0, sargc;
	const char *mode;
	char **sargv;

	memset(o, 0, sizeof(*o));
	o->family = AF_UNSPEC;
	o->count = 1;
	optind = 0;
	opterr = 0;
	/* "+": stop at HOST, so a mode's options stay the mode's. */
	while ((c = getopt(argc, argv, "+:46hlvxw:")) != -1) {
		switch (c) {
		case '4':
			fam4 = 1;
			o->family = AF_INET;
			break;
		case '6':
			fam6 = 1;
			o->family = AF_INET6;
			break;
		case 'h':
			return PARSE_HELP;
		case 'l':
			o->listen = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'x':
			o->hexkey = 1;
			break;
		case 'w':
			if (parse_window(optarg, &o->window) < 0)
				return usage_error("-w: not a window size from %d to %d bytes: %s",
						   AFMUX_WINDOW_MIN,
						   AFMUX_WINDOW_MAX, optarg);
			break;
		case ':':
			return usage_error("option -%c needs an argument",
					   optopt);
		default:
			return usage_error("unknown option -%c", optopt);
		}
	}
	if (fam4 && fam6)
		return usage_error("-4 and -6 exclude each other");
	left = argc - optind;
	if (left < 3)
		return usage_error(left == 0 ? "missing HOST, PORT and MODE" :
				   left == 1 ? "missing PORT and MODE" :
				   "missing MODE");
	o->host = argv[optind];
	o->port = argv[optind + 1];
	if (!*o->port)
		return usage_error("empty PORT");
	if (!o->listen && (!*o->host || !strcmp(o->host, "*")))
		return usage_error("'%s' as HOST needs -l", o->host);
	mode = argv[optind + 2];
	sargc = left - 2;
	sargv = argv + optind + 2;

	if (!strcmp(mode, "send")) {
		o->mode = MODE_SEND;
		r = mode_options(sargc, sargv, "+:", o);
		if (r)
			return r;
		r = send_args(sargc - optind, sargv + optind, o);
		if (r)
			return r;
	} else if (!strcmp(mode, "recv")) {
		o->mode = MODE_RECV;
		r = mode_options(sargc, sargv, "+:n:d:", o);
		if (r)
			return r;
		if (optind < sargc)
			return usage_error("recv: unexpected argument: %s",
					   sargv[optind]);
	} else if (!strcmp(mode, "exec")) {
		o->mode = MODE_EXEC;
		r = mode_options(sargc, sargv, "+:n:", o);
		if (r)
			return r;
		if (optind >= sargc)
			return usage_error("exec: missing CMD");
		o->cmd = sargv + optind;
	} else if (!strcmp(mode, "run")) {
		o->mode = MODE_RUN;
		r = mode_options(sargc, sargv, "+:", o);
		if (r)
			return r;
		left = sargc - optind;
		if (left < 1)
			return usage_error("run: missing KEY and CMD");
		if (left < 2)
			return usage_error("run: missing CMD");
		r = set_key(o, sargv[optind]);
		if (r)
			return r;
		o->cmd = sargv + optind + 1;
	} else {
		return usage_error("unknown MODE: %s (send, recv, exec or run)",
				   mode);
	}
	if (o->hexkey && o->mode != MODE_SEND && o->mode != MODE_RUN)
		return usage_error("-x: %s takes no KEY", mode);
	return 0;
}

/* Copying data */

static void wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

static int write_all(int fd, const char *buf, size_t len, const char *name)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			wait_fd(fd, POLLOUT);
			continue;
		}
		if (n <= 0) {
			msg(n < 0 ? errno : EIO, "writing %s", name);
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Errors that say "this fd does not do splice/sendfile", not "failed". */
static int no_splice(int err)
{
	return err == EINVAL || err == ENOSYS || err == EOPNOTSUPP;
}

static int copy_rw(int in, const char *iname, int out, const char *oname,
		   char *buf, uint64_t *bytes)
{
	for (;;) {
		ssize_t n = read(in, buf, COPY_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			wait_fd(in, POLLIN);
			continue;
		}
		if (n < 0) {
			msg(errno, "reading %s", iname);
			return -1;
		}
		if (n == 0)
			return 0;
		if (write_all(out, buf, (size_t)n, oname) < 0)
			return -1;
		*bytes += (uint64_t)n;
	}
}

/* 0: done, -1: failed (reported), 1: use read/write for the rest. */
static int copy_sendfile(int in, const char *iname, int out,
			 const char *oname, uint64_t *bytes)
{
	for (;;) {
		ssize_t n = sendfile(out, in, NULL, SENDFILE_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			wait_fd(out, POLLOUT);
			continue;
		}
		if (n < 0 && no_splice(errno))
			return 1;	/* the file offset is where it stopped */
		if (n < 0) {
			if (errno == EIO)
				msg(errno, "reading %s", iname);
			else
				msg(errno, "writing %s", oname);
			return -1;
		}
		if (n == 0)
			return 0;
		*bytes += (uint64_t)n;
	}
}

/*
 * splice() through a pipe of our own, so every error belongs to one side.
 * 0: done, -1: failed (reported), 1: use read/write for the rest (any
 * data already in the pipe has been written out).
 */
static int copy_splice(int in, const char *iname, int out, const char *oname,
		       char *buf, uint64_t *bytes)
{
	int p[2], ret = -1, size;

	if (pipe2(p, O_CLOEXEC) < 0)
		return 1;
	fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE);	/* only a hint */
	size = fcntl(p[1], F_GETPIPE_SZ);
	if (size <= 0)
		size = COPY_CHUNK;
	for (;;) {
		ssize_t n = splice(in, NULL, p[1], NULL, (size_t)size,
				   SPLICE_F_MOVE);
		size_t left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			wait_fd(in, POLLIN);	/* our pipe is empty */
			continue;
		}
		if (n < 0 && no_splice(errno)) {
			ret = 1;
			goto out;
		}
		if (n < 0) {
			msg(errno, "reading %s", iname);
			goto out;
		}
		if (n == 0) {
			ret = 0;
			goto out;
		}
		left = (size_t)n;
		while (left) {
			ssize_t m = splice(p[0], NULL, out, NULL, left,
					   SPLICE_F_MOVE);

			if (m < 0 && errno == EINTR)
				continue;
			if (m < 0 && errno == EAGAIN) {
				wait_fd(out, POLLOUT);
				continue;
			}
			if (m < 0 && no_splice(errno))
				goto drain;
			if (m <= 0) {
				msg(m < 0 ? errno : EIO, "writing %s", oname);
				goto out;
			}
			left -= (size_t)m;
			*bytes += (uint64_t)m;
		}
	}

drain:	/* @out takes no splice: write what is in the pipe by hand. */
	while (1) {
		int avail = 0;
		ssize_t n;

		if (ioctl(p[0], FIONREAD, &avail) < 0 || avail <= 0)
			break;
		n = read(p[0], buf, COPY_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			msg(n < 0 ? errno : EIO, "reading a pipe");
			goto out;
		}
		if (write_all(out, buf, (size_t)n, oname) < 0)
			goto out;
		*bytes += (uint64_t)n;
	}
	ret = 1;
out:
	close(p[0]);
	close(p[1]);
	return ret;
}

/*
 * Copies @in to @out until EOF on @in, adding the bytes written to
 * *@bytes.  0 on success; -1 after reporting "reading INAME" or "writing
 * ONAME".
 */
static int copy_count(int in, const char *iname, int out, const char *oname,
		      uint64_t *bytes)
{
	char buf[COPY_CHUNK];
	struct stat st;
	int r;

	if (fstat(in, &st) == 0 && S_ISREG(st.st_mode))
		r = copy_sendfile(in, iname, out, oname, bytes);
	else
		r = copy_splice(in, iname, out, oname, buf, bytes);
	if (r <= 0)
		return r;
	return copy_rw(in, iname, out, oname, buf, bytes);
}

static int copy(int in, const char *iname, int out, const char *oname)
{
	uint64_t bytes = 0;

	return copy_count(in, iname, out, oname, &bytes);
}

/* Streams */

/* Close @fd with RESET CANCEL (docs/protocol.md §9), not END. */
static void reset_stream(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

static void abort_stream(int fd)
{
	reset_stream(fd);
	close(fd);
}

static void report_stream(const char *what, uint32_t id,
			  const unsigned char *key, size_t len)
{
	char esc[3 * AFMUX_KEY_MAX + 1];

	if (!verbose)
		return;
	escape_key(esc, key, len);
	msg(0, "%s stream %" PRIu32 " key '%s'", what, id, esc);
}

static int set_window(int fd, uint32_t id, uint32_t window)
{
	if (window && mux_stream_set_window(fd, window) < 0) {
		msg(errno, "setting the window of stream %" PRIu32, id);
		return -1;
	}
	return 0;
}

struct stream {
	int fd;
	uint32_t id;
	size_t key_len;
	unsigned char key[AFMUX_KEY_MAX];
};

/* The next incoming stream into @s: 0, or -1 with errno set. */
static int accept_stream(struct mux *m, struct stream *s)
{
	for (;;) {
		s->key_len = sizeof(s->key);
		s->fd = mux_accept(m, s->key, &s->key_len, AFMUX_O_CLOEXEC,
				   &s->id);
		if (s->fd >= 0)
			break;
		if (errno != EINTR)
			return -1;
	}
	report_stream("accepted", s->id, s->key, s->key_len);
	return 0;
}

/*
 * After accepting @done of @count streams (0: no limit) accept failed
 * with @err: 0 if that is the expected end, else 1 (reported).
 */
static int accept_failed(int err, unsigned long done, unsigned long count)
{
	if (err == EPIPE && !count)
		return 0;
	if (err == EPIPE)
		msg(0, "the connection ended after %lu of %lu streams", done,
		    count);
	else
		msg(err, "accepting a stream");
	return 1;
}

static int finish_mux(struct mux *m, int status)
{
	if (mux_close(m) < 0) {
		msg(errno, "closing the mux socket");
		return status ? status : 1;
	}
	return status;
}

/* send */

/* One stream of send: KEY and FILE. */
struct xfer {
	unsigned char key[AFMUX_KEY_MAX];
	size_t key_len;
	const char *iname;		/* FILE, or "stdin" */
	int in;				/* FILE's fd; -1: not open */
	int fd;				/* the stream; -1: not open */
	uint32_t id;
	uint64_t sent, received;
	pthread_t sender;
	char sname[3 * AFMUX_KEY_MAX + 32];	/* "stream ID[ key 'KEY']" */
};

/* Global, so that any thread can reset them all (die_sending). */
static struct xfer *xfers;
static size_t nxfers;

/* Opens every FILE of send, before we connect.  0, or -1 (reported). */
static int open_inputs(const struct opts *o)
{
	size_t i;

	xfers = calloc(o->npairs, sizeof(*xfers));
	if (!xfers) {
		msg(errno, "allocating memory");
		return -1;
	}
	nxfers = o->npairs;
	for (i = 0; i < nxfers; i++)
		xfers[i].in = xfers[i].fd = -1;
	for (i = 0; i < nxfers; i++) {
		struct xfer *x = &xfers[i];
		const char *file = o->pairs[2 * i + 1];
		struct stat st;

		/* Cannot fail: parse_args checked every KEY. */
		parse_key(o->pairs[2 * i], o->hexkey, x->key, &x->key_len);
		if (!file || !strcmp(file, "-")) {
			x->in = STDIN_FILENO;
			x->iname = "stdin";
			continue;
		}
		x->iname = file;
		x->in = open(file, O_RDONLY | O_CLOEXEC);
		if (x->in < 0 || fstat(x->in, &st) < 0) {
			msg(errno, "%s", file);
			return -1;
		}
		if (S_ISDIR(st.st_mode)) {
			msg(EISDIR, "%s", file);
			return -1;
		}
	}
	return 0;
}

static void close_inputs(void)
{
	size_t i;

	for (i = 0; i < nxfers; i++)
		if (xfers[i].in > STDIN_FILENO)
			close(xfers[i].in);
	free(xfers);
	xfers = NULL;
	nxfers = 0;
}

/*
 * send failed, in any thread: resets every stream that is open (the peer
 * sees RESET CANCEL, not END, so it never takes a cut-off transfer for a
 * complete one) and exits.  The exit closes the fds, which sends the
 * RESETs; streams the peer has ended too are over and stay so.
 */
__attribute__((noreturn))
static void die_sending(void)
{
	size_t i;

	for (i = 0; i < nxfers; i++)
		if (xfers[i].fd >= 0)
			reset_stream(xfers[i].fd);
	_exit(1);
}

/* A sender thread: FILE onto the stream, then END. */
static void *sender_main(void *arg)
{
	struct xfer *x = arg;

	if (copy_count(x->in, x->iname, x->fd, x->sname, &x->sent) < 0)
		die_sending();
	if (shutdown(x->fd, SHUT_WR) < 0) {
		msg(errno, "ending %s", x->sname);
		die_sending();
	}
	return NULL;
}

/*
 * With several streams: reads what the peer sends back on each, to the
 * peer's END, counting it in x->received (it must be nothing: the caller
 * checks).  0, or -1 (reported).
 */
static int read_replies(void)
{
	struct pollfd *p = calloc(nxfers, sizeof(*p));
	size_t i, open = nxfers;
	char buf[COPY_CHUNK];

	if (!p) {
		msg(errno, "allocating memory");
		return -1;
	}
	for (i = 0; i < nxfers; i++)
		p[i] = (struct pollfd){ .fd = xfers[i].fd, .events = POLLIN };
	while (open) {
		if (poll(p, (nfds_t)nxfers, -1) < 0) {
			if (errno == EINTR)
				continue;
			msg(errno, "waiting for the streams");
			goto fail;
		}
		for (i = 0; i < nxfers; i++) {
			ssize_t n;

			if (!p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n < 0) {
				msg(errno, "reading %s", xfers[i].sname);
				goto fail;
			}
			if (n == 0) {		/* the peer's END */
				p[i].fd = -1;	/* poll skips it now */
				open--;
			}
			xfers[i].received += (uint64_t)n;
		}
	}
	free(p);
	return 0;
fail:
	free(p);
	return -1;
}

/*
 * Opens a stream per KEY FILE pair and sends the FILEs concurrently (a
 * thread each), ending each stream when its FILE is sent.  With one
 * stream, what the peer sends back goes to stdout; with several, it must
 * be nothing.  Each stream is closed once the peer has ended it too.
 */
static int do_send(struct mux *m, const struct opts *o)
{
	char esc[3 * AFMUX_KEY_MAX + 1];
	size_t i;
	int err, status = 0;

	for (i = 0; i < nxfers; i++) {
		struct xfer *x = &xfers[i];

		x->fd = mux_open(m, x->key, x->key_len, AFMUX_O_CLOEXEC,
				 &x->id);
		if (x->fd < 0) {
			msg(errno, "opening a stream");
			goto fail;
		}
		report_stream("opened", x->id, x->key, x->key_len);
		escape_key(esc, x->key, x->key_len);
		/* One stream keeps "stream ID"; several name their keys. */
		snprintf(x->sname, sizeof(x->sname),
			 nxfers > 1 ? "stream %" PRIu32 " key '%s'" :
				      "stream %" PRIu32,
			 x->id, esc);
		if (set_window(x->fd, x->id, o->window) < 0)
			goto fail;
	}
	for (i = 0; i < nxfers; i++) {
		err = pthread_create(&xfers[i].sender, NULL, sender_main,
				     &xfers[i]);
		if (err) {
			msg(err, "creating a thread");
			die_sending();
		}
	}
	if (nxfers == 1) {
		if (copy_count(xfers[0].fd, xfers[0].sname, STDOUT_FILENO,
			       "stdout", &xfers[0].received) < 0)
			die_sending();
	} else if (read_replies() < 0) {
		die_sending();
	}
	/* A sender exits the process itself if it fails. */
	for (i = 0; i < nxfers; i++)
		pthread_join(xfers[i].sender, NULL);

	for (i = 0; i < nxfers; i++) {
		struct xfer *x = &xfers[i];

		if (nxfers > 1 && x->received) {
			msg(0, "%s: the peer sent %" PRIu64 " bytes back (with several streams there must be no reply)",
			    x->sname, x->received);
			status = 1;
		} else if (verbose) {
			escape_key(esc, x->key, x->key_len);
			msg(0, "stream %" PRIu32 " key '%s': sent %" PRIu64 " bytes, received %" PRIu64,
			    x->id, esc, x->sent, x->received);
		}
		if (close(x->fd) < 0) {
			msg(errno, "closing %s", x->sname);
			status = 1;
		}
		x->fd = -1;
	}
	return finish_mux(m, status);
fail:
	/* No thread yet. */
	for (i = 0; i < nxfers; i++) {
		if (xfers[i].fd >= 0)
			abort_stream(xfers[i].fd);
		xfers[i].fd = -1;
	}
	return finish_mux(m, 1);
}

/* recv */

static int recv_stdout(struct mux *m, const struct opts *o)
{
	struct stream st, *s = &st;
	unsigned long n;
	int status = 0;
	char sname[32];

	for (n = 0; !o->count || n < o->count; n++) {
		if (accept_stream(m, s) < 0) {
			status = accept_failed(errno, n, o->count);
			break;
		}
		snprintf(sname, sizeof(sname), "stream %" PRIu32, s->id);
		if (set_window(s->fd, s->id, o->window) < 0 ||
		    copy(s->fd, sname, STDOUT_FILENO, "stdout") < 0) {
			abort_stream(s->fd);
			status = 1;
			break;
		}
		/* Ends our direction: the peer learns it all arrived. */
		if (close(s->fd) < 0) {
			msg(errno, "closing %s", sname);
			status = 1;
			break;
		}
	}
	return finish_mux(m, status);
}

/* recv -d: one thread per stream, counted in "active". */
static pthread_mutex_t save_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t save_idle = PTHREAD_COND_INITIALIZER;
static unsigned long save_active;
static int save_failed;

struct save_job {
	struct stream s;
	int dirfd;
	const char *dir;
	uint32_t window;
};

/* Writes stream @s into DIR/<its name>; closes its fd.  0 or -1. */
static int save_stream(const struct save_job *j)
{
	const struct stream *s = &j->s;
	char name[NAME_MAX + 1], sname[32], path[PATH_MAX + NAME_MAX + 2];
	int out;

	stream_filename(name, s->id, s->key, s->key_len);
	snprintf(sname, sizeof(sname), "stream %" PRIu32, s->id);
	snprintf(path, sizeof(path), "%s/%s", j->dir, name);
	if (set_window(s->fd, s->id, j->window) < 0)
		goto fail;
	out = openat(j->dirfd, name,
		     O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		     0666);
	if (out < 0) {
		msg(errno, "%s", path);
		goto fail;
	}
	if (copy(s->fd, sname, out, path) < 0) {
		close(out);
		goto fail;
	}
	if (close(out) < 0) {
		msg(errno, "writing %s", path);
		goto fail;
	}
	if (close(s->fd) < 0) {
		msg(errno, "closing %s", sname);
		return -1;
	}
	return 0;
fail:
	abort_stream(s->fd);
	return -1;
}

static void save_done(int failed)
{
	pthread_mutex_lock(&save_lock);
	save_failed |= failed;
	if (!--save_active)
		pthread_cond_signal(&save_idle);
	pthread_mutex_unlock(&save_lock);
}

static void *save_main(void *arg)
{
	struct save_job *j = arg;
	int failed = save_stream(j) < 0;

	free(j);
	save_done(failed);
	return NULL;
}

static int recv_dir(struct mux *m, const struct opts *o, int dirfd)
{
	pthread_attr_t attr;
	unsigned long n;
	int status = 0;

	if (pthread_attr_init(&attr) ||
	    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED)) {
		msg(0, "cannot set up threads");
		return finish_mux(m, 1);
	}
	for (n = 0; !o->count || n < o->count; n++) {
		struct save_job *j = malloc(sizeof(*j));
		pthread_t thread;
		int err;

		if (!j) {
			msg(errno, "allocating memory");
			status = 1;
			break;
		}
		if (accept_stream(m, &j->s) < 0) {
			status = accept_failed(errno, n, o->count);
			free(j);
			break;
		}
		j->dirfd = dirfd;
		j->dir = o->dir;
		j->window = o->window;
		pthread_mutex_lock(&save_lock);
		save_active++;
		pthread_mutex_unlock(&save_lock);
		err = pthread_create(&thread, &attr, save_main, j);
		if (err)	/* no thread: do it here, then carry on */
			save_main(j);
	}
	pthread_attr_destroy(&attr);
	/* No more streams (GOAWAY); those accepted carry on. */
	status = finish_mux(m, status);
	pthread_mutex_lock(&save_lock);
	while (save_active)
		pthread_cond_wait(&save_idle, &save_lock);
	if (save_failed)
		status = 1;
	pthread_mutex_unlock(&save_lock);
	return status;
}

/* exec, run */

static int exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

/* Starts @cmd on stream @s (the caller closes s->fd); pid or -1. */
static pid_t spawn(char **cmd, const struct stream *s)
{
	char id[16], key[AFMUX_KEY_MAX + 1], hex[2 * AFMUX_KEY_MAX + 1];
	pid_t pid;
	int err;

	snprintf(id, sizeof(id), "%" PRIu32, s->id);
	memcpy(key, s->key, s->key_len);
	key[s->key_len] = '\0';		/* as far as any NUL in it */
	hex_encode(hex, s->key, s->key_len);
	pid = fork();
	if (pid != 0) {
		if (pid < 0)
			msg(errno, "starting %s", cmd[0]);
		return pid;
	}
	/* The child.  Ignored signals would stay ignored across exec. */
	signal(SIGPIPE, SIG_DFL);
	/* s->fd > 2 (main makes sure 0-2 are open) and close-on-exec. */
	if (dup2(s->fd, STDIN_FILENO) < 0 || dup2(s->fd, STDOUT_FILENO) < 0 ||
	    setenv("MUXCAT_KEY", key, 1) || setenv("MUXCAT_KEY_HEX", hex, 1) ||
	    setenv("MUXCAT_STREAM_ID", id, 1)) {
		msg(errno, "setting up %s", cmd[0]);
		_exit(126);
	}
	execvp(cmd[0], cmd);
	err = errno;
	msg(err, "%s", cmd[0]);
	_exit(err == ENOENT ? 127 : 126);
}

static int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			msg(errno, "waiting for pid %d", (int)pid);
			return 1;
		}
	}
	return exit_code(st);
}

struct child {
	pid_t pid;
	uint32_t id;
	int status;		/* -1 while running */
};

static void child_done(const struct child *c, const char *cmd)
{
	if (verbose)
		msg(0, "stream %" PRIu32 ": %s exited with status %d", c->id,
		    cmd, c->status);
}

/* Collects the children that have exited, without waiting. */
static void reap(struct child *kids, size_t n, const char *cmd)
{
	pid_t pid;
	size_t i;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		/* Unknown pids: children of what exec'd muxcat. */
		for (i = 0; i < n; i++) {
			if (kids[i].pid == pid && kids[i].status < 0) {
				kids[i].status = exit_code(st);
				child_done(&kids[i], cmd);
				break;
			}
		}
	}
}

static int do_exec(struct mux *m, const struct opts *o)
{
	struct child *kids = NULL;
	size_t nkids = 0, cap = 0, i;
	struct stream st, *s = &st;
	unsigned long n;
	int status = 0;

	for (n = 0; !o->count || n < o->count; n++) {
		pid_t pid;

		if (accept_stream(m, s) < 0) {
			status = accept_failed(errno, n, o->count);
			break;
		}
		if (nkids == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct child *k = realloc(kids, ncap * sizeof(*k));

			if (!k) {
				msg(errno, "allocating memory");
				abort_stream(s->fd);
				status = 1;
				break;
			}
			kids = k;
			cap = ncap;
		}
		if (set_window(s->fd, s->id, o->window) < 0) {
			abort_stream(s->fd);
			status = 1;
			break;
		}
		pid = spawn(o->cmd, s);
		if (pid < 0) {
			abort_stream(s->fd);
			status = 1;
			break;
		}
		/* The child's copies end the stream when it exits. */
		close(s->fd);
		kids[nkids++] = (struct child){ pid, s->id, -1 };
		reap(kids, nkids, o->cmd[0]);
	}
	status = finish_mux(m, status);
	for (i = 0; i < nkids; i++) {
		if (kids[i].status < 0) {
			kids[i].status = wait_child(kids[i].pid);
			child_done(&kids[i], o->cmd[0]);
		}
	}
	/* muxcat's own failure first, then the first failed CMD. */
	for (i = 0; !status && i < nkids; i++)
		status = kids[i].status;
	free(kids);
	return status;
}

static int do_run(struct mux *m, const struct opts *o)
{
	struct stream st, *s = &st;
	int status;
	pid_t pid;

	s->fd = mux_open(m, o->key, o->key_len, AFMUX_O_CLOEXEC, &s->id);
	if (s->fd < 0) {
		msg(errno, "opening a stream");
		return finish_mux(m, 1);
	}
	memcpy(s->key, o->key, o->key_len);
	s->key_len = o->key_len;
	report_stream("opened", s->id, s->key, s->key_len);
	if (set_window(s->fd, s->id, o->window) < 0) {
		abort_stream(s->fd);
		return finish_mux(m, 1);
	}
	pid = spawn(o->cmd, s);
	if (pid < 0) {
		abort_stream(s->fd);
		return finish_mux(m, 1);
	}
	close(s->fd);
	status = wait_child(pid);
	if (verbose)
		msg(0, "%s exited with status %d", o->cmd[0], status);
	/* Our own failure wins over CMD's status, as in exec. */
	if (mux_close(m) < 0) {
		msg(errno, "closing the mux socket");
		status = 1;
	}
	return status;
}

/* The TCP connection */

static void report_addr(const char *what, const struct sockaddr *sa,
			socklen_t len)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (!verbose)
		return;
	if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV))
		msg(0, "%s", what);
	else
		msg(0, "%s %s port %s", what, host, serv);
}

static struct addrinfo *resolve(const struct opts *o)
{
	struct addrinfo hints = {
		.ai_family = o->family,
		.ai_socktype = SOCK_STREAM,
		.ai_protocol = IPPROTO_TCP,
		.ai_flags = o->listen ? AI_PASSIVE : 0,
	};
	const char *host = o->host;
	struct addrinfo *res;
	int err;

	if (o->listen && (!*host || !strcmp(host, "*")))
		host = NULL;
	err = getaddrinfo(host, o->port, &hints, &res);
	if (err) {
		if (err == EAI_SYSTEM)
			msg(errno, "%s port %s", o->host, o->port);
		else
			msg(0, "%s port %s: %s", o->host, o->port,
			    gai_strerror(err));
		return NULL;
	}
	return res;
}

/* connect() that an interrupting signal does not abandon. */
static int connect_fd(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t elen = sizeof(int);
	int err = 0;

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINTR)
		return -1;
	/* It goes on in the background. */
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		return -1;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

static int tcp_connect(const struct opts *o)
{
	struct addrinfo *res = resolve(o), *ai;
	int fd = -1, err = EADDRNOTAVAIL;

	if (!res)
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd >= 0 && connect_fd(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			report_addr("connected to", ai->ai_addr, ai->ai_addrlen);
			break;
		}
		err = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		msg(err, "connecting to %s port %s", o->host, o->port);
	return fd;
}

static int tcp_listen(const struct opts *o)
{
	struct addrinfo *res = resolve(o), *ai;
	struct sockaddr_storage peer;
	socklen_t plen;
	int lfd = -1, fd, err = EADDRNOTAVAIL, one = 1, zero = 0, pass;
	/* Every address: "::" first, which takes IPv4 too. */
	int v6first = o->family == AF_UNSPEC && (!*o->host ||
						 !strcmp(o->host, "*"));

	if (!res)
		return -1;
	for (pass = !v6first; lfd < 0 && pass < 2; pass++) {
		for (ai = res; ai; ai = ai->ai_next) {
			if (!pass && ai->ai_family != AF_INET6)
				continue;
			lfd = socket(ai->ai_family,
				     ai->ai_socktype | SOCK_CLOEXEC,
				     ai->ai_protocol);
			if (lfd >= 0 && v6first && ai->ai_family == AF_INET6)
				setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY,
					   &zero, sizeof(zero));
			if (lfd >= 0 &&
			    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one,
				       sizeof(one)) == 0 &&
			    bind(lfd, ai->ai_addr, ai->ai_addrlen) == 0 &&
			    listen(lfd, 1) == 0)
				break;
			err = errno;
			if (lfd >= 0)
				close(lfd);
			lfd = -1;
		}
	}
	freeaddrinfo(res);
	if (lfd < 0) {
		msg(err, "listening on %s port %s", o->host, o->port);
		return -1;
	}
	/* The real port, if PORT was 0. */
	plen = sizeof(peer);
	if (getsockname(lfd, (struct sockaddr *)&peer, &plen) == 0)
		report_addr("listening on", (struct sockaddr *)&peer, plen);
	for (;;) {
		plen = sizeof(peer);
		fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
			     SOCK_CLOEXEC);
		if (fd >= 0 || (errno != EINTR && errno != ECONNABORTED))
			break;
	}
	if (fd < 0)
		msg(errno, "accepting a connection on %s port %s", o->host,
		    o->port);
	else
		report_addr("connection from", (struct sockaddr *)&peer, plen);
	close(lfd);
	return fd;
}

/* main */

/* Fds 0-2 open, so stream fds are never 0-2 (dup2 in spawn). */
static int open_std_fds(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open("/dev/null", O_RDWR) != fd) {
			msg(errno, "/dev/null");
			return -1;
		}
	}
	return 0;
}

static int muxcat(const struct opts *o)
{
	int dirfd = -1, probe, tcp, err, status = 1;
	struct mux *m;

	verbose = o->verbose;
	if (open_std_fds() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);	/* EPIPE is reported as an error */
	signal(SIGCHLD, SIG_DFL);	/* else waitpid() loses statuses */

	/* What can fail locally fails before we connect. */
	if (o->mode == MODE_SEND && open_inputs(o) < 0)
		goto out;
	if (o->dir) {
		dirfd = open(o->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0) {
			msg(errno, "%s", o->dir);
			goto out;
		}
	}
	probe = afmux_socket(SOCK_CLOEXEC);
	if (probe < 0) {
		err = errno;
		msg(err, "cannot create an AF_MUX socket%s",
		    err == EAFNOSUPPORT ? " (is the afmux module loaded?)" : "");
		goto out;
	}
	close(probe);

	tcp = o->listen ? tcp_listen(o) : tcp_connect(o);
	if (tcp < 0)
		goto out;
	m = mux_new(tcp);
	err = errno;
	close(tcp);		/* the mux holds its own reference */
	if (!m) {
		msg(err, "attaching the TCP connection to an AF_MUX socket");
		goto out;
	}

	switch (o->mode) {
	case MODE_SEND:
		status = do_send(m, o);
		break;
	case MODE_RECV:
		status = o->dir ? recv_dir(m, o, dirfd) : recv_stdout(m, o);
		break;
	case MODE_EXEC:
		status = do_exec(m, o);
		break;
	default:
		status = do_run(m, o);
		break;
	}
out:
	close_inputs();
	if (dirfd >= 0)
		close(dirfd);
	return status;
}

#ifdef MUXCAT_TEST		/* test/test-muxcat.c #includes this file */
#define MUXCAT_MAIN muxcat_main
int MUXCAT_MAIN(int argc, char **argv);
#else
#define MUXCAT_MAIN main
#endif

int MUXCAT_MAIN(int argc, char **argv)
{
	static struct opts o;	/* 1 KiB key: not on the stack */
	int r = parse_args(argc, argv, &o);

	if (r == PARSE_HELP) {
		fputs(usage_text, stdout);
		return fflush(stdout) ? 1 : 0;
	}
	return r ? r : muxcat(&o);
}
