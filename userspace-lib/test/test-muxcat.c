// SPDX-License-Identifier: GPL-2.0
/*
 * test-muxcat.c - host unit tests (no module needed) for libafmux's
 * argument checking and for muxcat's option parsing, key encodings and
 * copying.  Built by "make -C userspace-lib test", with ASan/UBSan and
 * under valgrind.  It #includes the sources to reach their statics.
 */
#define MUXCAT_TEST
#include "../afmux.c"
#include "../muxcat.c"
#include "../muxcat_args.c"
#include "../muxcat_copy.c"
#include "../muxcat_exec.c"
#include "../muxcat_tcp.c"
#include "../muxcat_zc.c"

#include <sys/mman.h>

static int failures, checks;

#define CHECK(cond) do {						\
	checks++;							\
	if (!(cond)) {							\
		failures++;						\
		printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);	\
	}								\
} while (0)

/* Library */

static void test_lib_args(void)
{
	struct mux *m, fake;
	char key[8];
	size_t len = sizeof(key);
	int sp[2], fl, err, local = 7;
	uint32_t id = 7, win = 7;

	errno = 0;
	CHECK(mux_fd(NULL) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(mux_close(NULL) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(mux_send(NULL, "k") == -1 && errno == EINVAL);
	errno = 0;
	CHECK(mux_receive(NULL, key, sizeof(key)) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(mux_open(NULL, "k", 1, 0, NULL) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(mux_accept(NULL, key, &len, 0, NULL) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(mux_set_nonblock(NULL, 1) == -1 && errno == EINVAL);

	/* No module on the host: mux_new fails cleanly, errno kept. */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	errno = 0;
	m = mux_new(sp[0]);
	err = errno;
	if (afmux_family() < 0) {
		CHECK(!m);
		CHECK(err == EAFNOSUPPORT);
	} else if (m) {		/* a module: a unix socket is not TCP */
		mux_close(m);
	}

	fake.fd = sp[0];
	errno = 0;
	CHECK(mux_send(&fake, NULL) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(mux_receive(&fake, key, 0) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(mux_receive(&fake, NULL, 8) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(mux_accept(&fake, key, NULL, 0, NULL) == -1 && errno == EINVAL);
	len = 4;
	errno = 0;
	CHECK(mux_accept(&fake, NULL, &len, 0, NULL) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(mux_open(&fake, NULL, 3, 0, NULL) == -1 && errno == EINVAL);
	/* The ioctls reach the unix socket, which knows none of them. */
	len = sizeof(key);
	errno = 0;
	CHECK(mux_accept(&fake, key, &len, 0, &id) == -1 && errno == ENOTTY);
	CHECK(len == sizeof(key) && id == 7);
	errno = 0;
	CHECK(mux_open(&fake, "k", 1, 0, &id) == -1 && errno == ENOTTY);
	CHECK(id == 7);
	errno = 0;
	CHECK(mux_receive(&fake, key, 1) == -1 && errno == ENOTTY);
	CHECK(mux_fd(&fake) == sp[0]);

	CHECK(mux_set_nonblock(&fake, 1) == 0);
	fl = fcntl(sp[0], F_GETFL);
	CHECK(fl >= 0 && (fl & O_NONBLOCK));
	CHECK(mux_set_nonblock(&fake, 1) == 0);
	CHECK(mux_set_nonblock(&fake, 0) == 0);
	fl = fcntl(sp[0], F_GETFL);
	CHECK(fl >= 0 && !(fl & O_NONBLOCK));

	errno = 0;
	CHECK(mux_stream_info(sp[0], &id, &local, &win) == -1 && errno);
	CHECK(id == 7 && local == 7 && win == 7);
	errno = 0;
	CHECK(mux_stream_set_window(sp[0], 0x80000000u) == -1 &&
	      errno == EINVAL);
	CHECK(mux_stream_set_window(sp[0], 65536) == -1);
	errno = 0;
	CHECK(mux_stream_info(-1, NULL, NULL, NULL) == -1 && errno == EBADF);

	/* mux_close frees, closes, and reports close's error. */
	m = malloc(sizeof(*m));
	CHECK(m != NULL);
	if (m) {
		m->fd = sp[1];
		CHECK(mux_close(m) == 0);
		CHECK(fcntl(sp[1], F_GETFD) == -1 && errno == EBADF);
	}
	m = malloc(sizeof(*m));
	if (m) {
		m->fd = sp[1];		/* already closed */
		errno = 0;
		CHECK(mux_close(m) == -1 && errno == EBADF);
	}
	close(sp[0]);
}

/* Keys */

static int unescape(const char *s, unsigned char *out, size_t *len)
{
	size_t n = 0;

	while (*s) {
		if (*s == '%') {
			int hi = hex_digit(s[1]), lo = hi < 0 ? -1 : hex_digit(s[2]);

			if (lo < 0)
				return -1;
			out[n++] = (unsigned char)(hi << 4 | lo);
			s += 3;
		} else if (key_byte_plain((unsigned char)*s)) {
			out[n++] = (unsigned char)*s++;
		} else {
			return -1;
		}
	}
	*len = n;
	return 0;
}

static void check_name(uint32_t id, const void *key, size_t len,
		       const char *want)
{
	char name[NAME_MAX + 1];

	stream_filename(name, id, key, len);
	if (strcmp(name, want)) {
		failures++;
		printf("FAIL stream_filename: got '%s', want '%s'\n", name,
		       want);
	}
	checks++;
}

static void test_filenames(void)
{
	unsigned char key[AFMUX_KEY_MAX], back[AFMUX_KEY_MAX];
	char name[NAME_MAX + 1], want[NAME_MAX + 1];
	size_t i, len, blen = 0;
	unsigned int seed = 1;
	int round;

	check_name(1, "abc", 3, "1-abc");
	check_name(1, "", 0, "1-");
	check_name(2, ".", 1, "2-.");
	check_name(2, "..", 2, "2-..");
	check_name(3, "a/b", 3, "3-a%2Fb");
	check_name(3, "a\0b", 3, "3-a%00b");
	check_name(3, "%+ ", 3, "3-%25%2B%20");
	check_name(4294967295u, "A-Z_a.z09", 9, "4294967295-A-Z_a.z09");
	check_name(5, "\xff\x80\n", 3, "5-%FF%80%0A");

	/* The longest name that fits is not cut ... */
	memset(key, 'a', sizeof(key));
	memcpy(want, "1-", 2);
	memset(want + 2, 'a', 253);
	want[255] = '\0';
	check_name(1, key, 253, want);
	/* ... one byte more is, at 255 bytes with a '+'. */
	memset(want + 2, 'a', 252);
	want[254] = '+';
	check_name(1, key, 254, want);
	check_name(1, key, sizeof(key), want);
	/* Cuts fall between escapes. */
	memset(key, 0xff, sizeof(key));
	stream_filename(name, 4294967295u, key, sizeof(key));
	CHECK(strlen(name) == 255);
	CHECK(name[254] == '+');
	CHECK(!strncmp(name, "4294967295-%FF%FF", 17));
	CHECK(name[253] == 'F' && name[251] == '%');
	stream_filename(name, 12, key, 81);	/* 3 + 243 = 246: fits */
	CHECK(strlen(name) == 246 && name[245] == 'F');
	stream_filename(name, 12, key, 84);	/* 3 + 252 = 255: fits */
	CHECK(strlen(name) == 255 && name[254] == 'F');
	stream_filename(name, 12, key, 85);	/* cut: 3 + 249 + 1 */
	CHECK(strlen(name) == 253 && name[252] == '+');

	/* Random keys: safe names that decode back to the key. */
	for (round = 0; round < 2000; round++) {
		len = (size_t)rand_r(&seed) % 90;
		for (i = 0; i < len; i++)
			key[i] = (unsigned char)(rand_r(&seed) %
						 (round % 2 ? 256 : 4) +
						 (round % 2 ? 0 : '-'));
		stream_filename(name, (uint32_t)round, key, len);
		CHECK(strlen(name) <= NAME_MAX && !strchr(name, '/'));
		CHECK(strcmp(name, ".") && strcmp(name, "..") && *name);
		if (strchr(name, '+'))
			continue;
		CHECK(unescape(strchr(name, '-') + 1, back, &blen) == 0);
		CHECK(blen == len && !memcmp(back, key, len));
	}
}

static void test_hex(void)
{
	char out[2 * 4 + 1];

	hex_encode(out, (const unsigned char *)"\x00\xff\x10\xab", 4);
	CHECK(!strcmp(out, "00ff10ab"));
	hex_encode(out, (const unsigned char *)"", 0);
	CHECK(!strcmp(out, ""));
}

/* Options */

#define ARGV(...) ((char *[]){ "muxcat", __VA_ARGS__, NULL })

static int parse(char **argv, struct opts *o)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return parse_args(argc, argv, o);
}

static void test_parse(void)
{
	static struct opts o;	/* big: not on the stack */
	char longkey[AFMUX_KEY_MAX + 2], longhex[2 * AFMUX_KEY_MAX + 3];
	unsigned char key[AFMUX_KEY_MAX];
	unsigned long v;
	size_t len;
	uint32_t w;
	char **argv;

	/* o.pairs points into argv: keep it in scope. */
	argv = ARGV("h", "p", "send", "k");
	CHECK(parse(argv, &o) == 0);
	CHECK(o.mode == MODE_SEND && o.npairs == 1 &&
	      !strcmp(o.pairs[0], "k") && !o.pairs[1]);
	CHECK(!o.listen && o.family == AF_UNSPEC && !o.window);
	CHECK(!strcmp(o.host, "h") && !strcmp(o.port, "p"));
	argv = ARGV("h", "p", "send", "k", "-");
	CHECK(parse(argv, &o) == 0 && o.npairs == 1 &&
	      !strcmp(o.pairs[1], "-"));
	argv = ARGV("h", "p", "send", "k", "f");
	CHECK(parse(argv, &o) == 0 && o.npairs == 1 &&
	      !strcmp(o.pairs[1], "f"));
	CHECK(parse(ARGV("h", "p", "send", ""), &o) == 0 && o.npairs == 1);
	/* --tls and its company */
	CHECK(parse(ARGV("--tls", "h", "p", "recv"), &o) == 0 && o.tls &&
	      !o.tls_opts.server && !o.tls_opts.insecure);
	CHECK(parse(ARGV("--tls", "--insecure", "h", "p", "recv"), &o) == 0 &&
	      o.tls_opts.insecure);
	CHECK(parse(ARGV("--tls", "--ca", "c.pem", "h", "p", "recv"), &o) == 0 &&
	      !strcmp(o.tls_opts.ca, "c.pem"));
	CHECK(parse(ARGV("-l", "--tls", "--cert", "a", "--key", "b", "", "1",
			 "recv"), &o) == 0 && o.tls_opts.server &&
	      !strcmp(o.tls_opts.cert, "a") && !strcmp(o.tls_opts.key, "b"));
	CHECK(parse(ARGV("-l", "--tls", "", "1", "recv"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("--tls", "--cert", "a", "h", "p", "recv"), &o) ==
	      EXIT_USAGE);
	CHECK(parse(ARGV("--ca", "c", "h", "p", "recv"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("--tls", "--insecure", "--ca", "c", "h", "p", "recv"),
		    &o) == EXIT_USAGE);
	CHECK(parse(ARGV("-l", "--tls", "--insecure", "--cert", "a", "--key",
			 "b", "", "1", "recv"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("--tls", "--ca"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("--tlsx", "h", "p", "recv"), &o) == EXIT_USAGE);
	argv = ARGV("h", "p", "send", "--", "-k");
	CHECK(parse(argv, &o) == 0 && !strcmp(o.pairs[0], "-k"));
	argv = ARGV("h", "p", "send", "-");
	CHECK(parse(argv, &o) == 0 && !strcmp(o.pairs[0], "-"));
	CHECK(parse(ARGV("h", "p", "send", "-k"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "p", "send"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "p", "send", "k", "f", "g"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "p", "send", "k", "f", "g", "h", "i"), &o) ==
	      EXIT_USAGE);
	argv = ARGV("h", "p", "send", "k1", "f1", "k2", "-", "k3", "f3");
	CHECK(parse(argv, &o) == 0 && o.npairs == 3 &&
	      !strcmp(o.pairs[4], "k3") && !strcmp(o.pairs[5], "f3"));
	CHECK(parse(ARGV("h", "p", "send", "k1", "-", "k2", "-"), &o) ==
	      EXIT_USAGE);
	CHECK(parse(ARGV("-x", "h", "p", "send", "00", "f", "0g", "f"), &o) ==
	      EXIT_USAGE);
	CHECK(parse(ARGV("-x", "h", "p", "send", "00fFA0"), &o) == 0);
	CHECK(parse(ARGV("-x", "h", "p", "send", ""), &o) == 0);
	CHECK(parse(ARGV("-x", "h", "p", "send", "0"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("-x", "h", "p", "send", "0g"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("-x", "h", "p", "recv"), &o) == EXIT_USAGE);
	CHECK(parse_key("00fFA0", 1, key, &len) == 0 && len == 3 &&
	      !memcmp(key, "\x00\xff\xa0", 3));
	CHECK(parse_key("", 1, key, &len) == 0 && len == 0);
	CHECK(parse_key("-k", 0, key, &len) == 0 && len == 2 &&
	      !memcmp(key, "-k", 2));

	memset(longkey, 'k', sizeof(longkey));
	longkey[AFMUX_KEY_MAX] = '\0';
	CHECK(parse(ARGV("h", "p", "send", longkey), &o) == 0);
	CHECK(parse_key(longkey, 0, key, &len) == 0 && len == AFMUX_KEY_MAX);
	longkey[AFMUX_KEY_MAX] = 'k';
	longkey[AFMUX_KEY_MAX + 1] = '\0';
	CHECK(parse(ARGV("h", "p", "send", longkey), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "p", "send", "k", "f", longkey, "f"), &o) ==
	      EXIT_USAGE);
	memset(longhex, 'a', sizeof(longhex));
	longhex[2 * AFMUX_KEY_MAX] = '\0';
	CHECK(parse(ARGV("-x", "h", "p", "run", longhex, "c"), &o) == 0 &&
	      o.key_len == AFMUX_KEY_MAX && o.key[0] == 0xaa);
	longhex[2 * AFMUX_KEY_MAX] = 'a';
	longhex[2 * AFMUX_KEY_MAX + 2] = '\0';
	CHECK(parse(ARGV("-x", "h", "p", "run", longhex, "c"), &o) ==
	      EXIT_USAGE);

	CHECK(parse(ARGV("h", "p", "recv"), &o) == 0);
	CHECK(o.mode == MODE_RECV && o.count == 1 && !o.dir);
	CHECK(parse(ARGV("h", "p", "recv", "-n", "0", "-d", "D"), &o) == 0);
	CHECK(o.count == 0 && !strcmp(o.dir, "D"));
	CHECK(parse(ARGV("h", "p", "recv", "-n12"), &o) == 0 && o.count == 12);
	CHECK(parse(ARGV("h", "p", "recv", "-n", "-1"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "p", "recv", "-n", ""), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "p", "recv", "-n", "1x"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "p", "recv", "-n",
			 "99999999999999999999999"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "p", "recv", "-n"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "p", "recv", "-d"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "p", "recv", "-l"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "p", "recv", "x"), &o) == EXIT_USAGE);

	/* o.cmd points into argv: keep it in scope. */
	argv = ARGV("h", "p", "exec", "-n", "3", "cat", "-A", "-n");
	CHECK(parse(argv, &o) == 0);
	CHECK(o.mode == MODE_EXEC && o.count == 3);
	CHECK(!strcmp(o.cmd[0], "cat") && !strcmp(o.cmd[1], "-A") &&
	      !strcmp(o.cmd[2], "-n") && !o.cmd[3]);
	argv = ARGV("h", "p", "exec", "--", "-c");
	CHECK(parse(argv, &o) == 0 && !strcmp(o.cmd[0], "-c") &&
	      o.count == 1);
	CHECK(parse(ARGV("h", "p", "exec"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "p", "exec", "-n", "2"), &o) == EXIT_USAGE);
	argv = ARGV("h", "p", "run", "k", "sh", "-c", "x");
	CHECK(parse(argv, &o) == 0);
	CHECK(o.mode == MODE_RUN && o.key_len == 1 &&
	      !strcmp(o.cmd[0], "sh") && !strcmp(o.cmd[2], "x") && !o.cmd[3]);
	CHECK(parse(ARGV("h", "p", "run", "k"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "p", "run"), &o) == EXIT_USAGE);

	CHECK(parse(ARGV("-l", "", "p", "recv"), &o) == 0 && o.listen);
	CHECK(parse(ARGV("-6", "-l", "*", "p", "recv"), &o) == 0 &&
	      o.family == AF_INET6);
	CHECK(parse(ARGV("-4", "h", "p", "recv"), &o) == 0 &&
	      o.family == AF_INET);
	CHECK(parse(ARGV("-4", "-6", "h", "p", "recv"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("", "p", "recv"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("*", "p", "recv"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "", "recv"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("-v", "-w", "64k", "h", "p", "recv"), &o) == 0 &&
	      o.verbose && o.window == 65536);
	CHECK(parse(ARGV("-h"), &o) == PARSE_HELP);
	CHECK(parse(ARGV("-l", "-h", "x"), &o) == PARSE_HELP);
	CHECK(parse(ARGV("-q", "h", "p", "recv"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("-w"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "p", "foo"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h", "p"), &o) == EXIT_USAGE);
	CHECK(parse(ARGV("h"), &o) == EXIT_USAGE);
	CHECK(parse((char *[]){ "muxcat", NULL }, &o) == EXIT_USAGE);

	CHECK(parse_window("4096", &w) == 0 && w == 4096);
	CHECK(parse_window("4k", &w) == 0 && w == 4096);
	CHECK(parse_window("64m", &w) == 0 && w == 64u << 20);
	CHECK(parse_window("64M", &w) == 0 && w == 64u << 20);
	CHECK(parse_window("67108864", &w) == 0 && w == 64u << 20);
	CHECK(parse_window("67108865", &w) < 0);
	CHECK(parse_window("65m", &w) < 0);
	CHECK(parse_window("4095", &w) < 0);
	CHECK(parse_window("3k", &w) < 0);
	CHECK(parse_window("k", &w) < 0);
	CHECK(parse_window("", &w) < 0);
	CHECK(parse_window("1g", &w) < 0);
	CHECK(parse_window("-4k", &w) < 0);
	CHECK(parse_window("99999999999999999999999999999999999m", &w) < 0);
	CHECK(parse_count("0", &v) == 0 && v == 0);
	CHECK(parse_count("18446744073709551615", &v) == 0 &&
	      v == ULONG_MAX);
	CHECK(parse_count("18446744073709551616", &v) < 0);
	CHECK(parse_count(" 1", &v) < 0 && parse_count("+1", &v) < 0);
}

/* Copying */

#define DATA_LEN (3 * 1024 * 1024 + 12345)
static unsigned char *data;

struct pump {
	int fd;
	size_t len;
	unsigned char *buf;	/* collect: what arrived */
	int shut;		/* feed: shutdown(SHUT_WR) instead of close */
};

static void *feed(void *arg)
{
	struct pump *p = arg;
	size_t off = 0;

	while (off < DATA_LEN) {
		size_t n = DATA_LEN - off < 100000 ? DATA_LEN - off : 100000;
		ssize_t r = write(p->fd, data + off, n);

		if (r <= 0)
			break;
		off += (size_t)r;
	}
	if (p->shut)
		shutdown(p->fd, SHUT_WR);
	else
		close(p->fd);
	return NULL;
}

static void *collect(void *arg)
{
	struct pump *p = arg;
	struct pollfd pf = { .fd = p->fd, .events = POLLIN };

	p->buf = malloc(DATA_LEN + 1);
	p->len = 0;
	for (;;) {
		ssize_t r = read(p->fd, p->buf + p->len, DATA_LEN + 1 - p->len);

		if (r < 0 && errno == EAGAIN) {
			poll(&pf, 1, -1);
			continue;
		}
		if (r <= 0 || p->len + (size_t)r > DATA_LEN)
			break;
		p->len += (size_t)r;
		usleep(p->len % 7 ? 0 : 100);	/* now and then, slow */
	}
	close(p->fd);
	return NULL;
}

static int same(const unsigned char *buf, size_t len)
{
	return len == DATA_LEN && !memcmp(buf, data, DATA_LEN);
}

static int tmpfile_fd(int flags)
{
	char path[] = "/tmp/test-muxcat.XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC | flags);

	if (fd >= 0)
		unlink(path);
	return fd;
}

static int file_is_data(int fd)
{
	unsigned char *buf = malloc(DATA_LEN);
	ssize_t n = buf ? pread(fd, buf, DATA_LEN, 0) : -1;
	int ok = n == DATA_LEN && !memcmp(buf, data, DATA_LEN) &&
		 lseek(fd, 0, SEEK_END) == DATA_LEN;

	free(buf);
	return ok;
}

/* @in: the read end of something feed() fills through @feed_fd. */
static void copy_from_feed(int feed_fd, int shut, int in, int out,
			   int out_collect)
{
	struct pump f = { .fd = feed_fd, .shut = shut }, c = { .fd = out_collect };
	pthread_t tf, tc;

	pthread_create(&tf, NULL, feed, &f);
	if (out_collect >= 0)
		pthread_create(&tc, NULL, collect, &c);
	CHECK(copy(in, "in", out, "out") == 0);
	close(out);
	pthread_join(tf, NULL);
	if (out_collect >= 0) {
		pthread_join(tc, NULL);
		CHECK(same(c.buf, c.len));
		free(c.buf);
	}
}

static void test_copy(void)
{
	int sp[2], pp[2], fd, file, fl;
	struct pump c = { 0 };
	pthread_t tc;

	data = malloc(DATA_LEN);
	for (size_t i = 0; i < DATA_LEN; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);

	/* regular file -> socket: sendfile */
	file = tmpfile_fd(0);
	CHECK(file >= 0 && write(file, data, DATA_LEN) == DATA_LEN);
	lseek(file, 0, SEEK_SET);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	c.fd = sp[1];
	pthread_create(&tc, NULL, collect, &c);
	CHECK(copy(file, "file", sp[0], "socket") == 0);
	close(sp[0]);
	pthread_join(tc, NULL);
	CHECK(same(c.buf, c.len));
	free(c.buf);

	/* socket -> pipe, socket shut down (like a stream's END) */
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	pipe2(pp, O_CLOEXEC);
	copy_from_feed(sp[0], 1, sp[1], pp[1], pp[0]);
	close(sp[0]);
	close(sp[1]);

	/* socket -> non-blocking pipe, slow reader: EAGAIN */
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	pipe2(pp, O_CLOEXEC | O_NONBLOCK);
	copy_from_feed(sp[0], 0, sp[1], pp[1], pp[0]);
	close(sp[1]);

	/* non-blocking socket -> socket */
	{
		int sp2[2];

		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp2);
		fl = fcntl(sp[1], F_GETFL);
		fcntl(sp[1], F_SETFL, fl | O_NONBLOCK);
		copy_from_feed(sp[0], 0, sp[1], sp2[0], sp2[1]);
		close(sp[1]);
	}

	/* socket -> O_APPEND file: no splice; the pipe is drained by hand */
	file = tmpfile_fd(O_APPEND);
	fd = dup(file);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	copy_from_feed(sp[0], 0, sp[1], fd, -1);
	close(sp[1]);
	CHECK(file_is_data(file));
	close(file);

	/* pipe -> regular file: splice both ways */
	file = tmpfile_fd(0);
	fd = dup(file);
	pipe2(pp, O_CLOEXEC);
	copy_from_feed(pp[1], 0, pp[0], fd, -1);
	close(pp[0]);
	CHECK(file_is_data(file));

	/* regular file -> O_APPEND file: sendfile says EINVAL, read/write */
	lseek(file, 0, SEEK_SET);
	fd = tmpfile_fd(O_APPEND);
	CHECK(copy(file, "file", fd, "append") == 0);
	CHECK(file_is_data(fd));
	close(fd);
	close(file);

	/* /dev/null and an empty pipe: nothing, no error */
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	pipe2(pp, O_CLOEXEC);
	CHECK(copy(fd, "null", pp[1], "pipe") == 0);
	close(pp[1]);
	CHECK(copy(pp[0], "pipe", fd, "null") == 0);
	close(pp[0]);
	close(fd);

	/* errors: EPIPE is reported, not fatal (SIGPIPE ignored) */
	signal(SIGPIPE, SIG_IGN);
	file = tmpfile_fd(0);
	CHECK(write(file, data, 100000) == 100000);
	lseek(file, 0, SEEK_SET);
	pipe2(pp, O_CLOEXEC);
	close(pp[0]);
	CHECK(copy(file, "file", pp[1], "pipe") == -1);
	close(pp[1]);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	close(sp[1]);
	lseek(file, 0, SEEK_SET);
	CHECK(copy(file, "file", sp[0], "socket") == -1);
	close(sp[0]);
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	CHECK(copy(fd, "/dev/null", file, "file") == -1);
	close(fd);
	close(file);
	free(data);
}

/* The program: usage errors, and no module here. */
static void test_main(void)
{
	CHECK(muxcat_main(1, (char *[]){ "muxcat", NULL }) == EXIT_USAGE);
	CHECK(muxcat_main(3, ARGV("h", "p")) == EXIT_USAGE);
	CHECK(muxcat_main(6, ARGV("h", "p", "send", "k", "/nonexistent")) == 1);
	CHECK(muxcat_main(8, ARGV("h", "p", "send", "k", "/dev/null", "k2",
				  "/nonexistent")) == 1);
	CHECK(muxcat_main(8, ARGV("h", "p", "send", "k", "/dev/null", "k2",
				  "/")) == 1);
	CHECK(muxcat_main(6, ARGV("h", "p", "recv", "-d", "/nonexistent")) == 1);
	if (afmux_family() < 0)
		CHECK(muxcat_main(4, ARGV("127.0.0.1", "9", "recv")) == 1);
}

int main(void)
{
	FILE *null = NULL, *err = stderr;

	/*
	 * The expected error messages go to /dev/null unless TEST_VERBOSE
	 * is set; fd 2 stays, for ASan and valgrind.
	 */
	if (!getenv("TEST_VERBOSE")) {
		null = fopen("/dev/null", "we");
		if (null)
			stderr = null;
	}
	test_lib_args();
	test_filenames();
	test_hex();
	test_parse();
	test_copy();
	test_main();
	if (null) {
		stderr = err;
		fclose(null);
	}
	printf("test-muxcat: %d checks, %d failed\n", checks, failures);
	return failures != 0;
}
