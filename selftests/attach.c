// SPDX-License-Identifier: GPL-2.0
/*
 * attach.c - selftests for AFMUX_IOC_ATTACH and for the argument checks of
 * AFMUX_IOC_OPEN and AFMUX_IOC_ACCEPT: every refusal that
 * uapi/linux/afmux.h lists, with the errno it names, and that bytes the
 * peer sent before ATTACH are not lost.
 *
 * The ioctls are called directly (not through libafmux) so that the
 * kernel, not the library, is what refuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"

#define WAIT_MS 10000	/* for an event that must come */

static int attach(int mux, int fd, uint32_t flags, uint64_t reserved)
{
	struct afmux_attach at = {
		.fd = fd, .flags = flags, .reserved = reserved,
	};

	return ioctl(mux, AFMUX_IOC_ATTACH, &at);
}

/* Attaching @fd to a new mux socket must fail with @err. */
#define EXPECT_ATTACH_FAILS(fd, err, what) do {				\
	int __mux = afmux_socket(SOCK_CLOEXEC);				\
									\
	ASSERT_GE(__mux, 0) TH_LOG("afmux_socket: %s", strerror(errno));	\
	EXPECT_EQ(-1, attach(__mux, (fd), 0, 0))			\
		TH_LOG("attaching %s should fail", what);		\
	EXPECT_EQ(err, errno)						\
		TH_LOG("attaching %s: expected %s, got %s", what,	\
		       strerror(err), strerror(errno));			\
	close(__mux);							\
} while (0)

/* ---- ATTACH refusals ------------------------------------------------ */

TEST(attach_bad_fd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	EXPECT_ATTACH_FAILS(-1, EBADF, "fd -1");
	/* A closed fd number that the mux socket will not reuse. */
	ASSERT_GE(null, 0);
	ASSERT_EQ(1000, dup2(null, 1000));
	close(1000);
	close(null);
	EXPECT_ATTACH_FAILS(1000, EBADF, "a closed fd");
	EXPECT_EQ(NULL, mux_new(-1));
	EXPECT_EQ(EBADF, errno) TH_LOG("mux_new(-1): expected EBADF, got %s",
				       strerror(errno));
}

TEST(attach_not_a_socket)
{
	int p[2], mfd;

	mfd = memfd_create("afmux-attach", MFD_CLOEXEC);
	ASSERT_GE(mfd, 0) TH_LOG("memfd_create: %s", strerror(errno));
	EXPECT_ATTACH_FAILS(mfd, ENOTSOCK, "a regular file");
	close(mfd);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	EXPECT_ATTACH_FAILS(p[0], ENOTSOCK, "a pipe");
	close(p[0]);
	close(p[1]);
}

TEST(attach_not_tcp)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(9),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int udp, un[2], m;

	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(udp, 0);
	ASSERT_EQ(0, connect(udp, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_ATTACH_FAILS(udp, EPROTONOSUPPORT, "a connected UDP socket");
	close(udp);

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, un));
	EXPECT_ATTACH_FAILS(un[0], EPROTONOSUPPORT,
			    "a connected AF_UNIX stream socket");
	close(un[0]);
	close(un[1]);

	m = afmux_socket(SOCK_CLOEXEC);
	ASSERT_GE(m, 0);
	EXPECT_ATTACH_FAILS(m, EPROTONOSUPPORT, "another mux socket");
	EXPECT_EQ(-1, attach(m, m, 0, 0));
	EXPECT_EQ(EPROTONOSUPPORT, errno)
		TH_LOG("attaching a mux socket to itself: expected EPROTONOSUPPORT, got %s",
		       strerror(errno));
	close(m);
}

TEST(attach_unconnected_tcp)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ASSERT_GE(fd, 0);
	EXPECT_ATTACH_FAILS(fd, ENOTCONN, "an unconnected TCP socket");
	close(fd);
}

TEST(attach_listening_tcp)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(fd, 1));
	EXPECT_ATTACH_FAILS(fd, EINVAL, "a listening TCP socket");
	close(fd);
}

/* Flags other than AFMUX_ATTACH_POOL (1), and nonzero reserved. */
TEST(attach_unknown_flags_or_reserved)
{
	int c, s, m;

	ASSERT_EQ(0, tcp_pair(&c, &s));
	m = afmux_socket(SOCK_CLOEXEC);
	ASSERT_GE(m, 0);
	EXPECT_EQ(-1, attach(m, c, 2, 0));
	EXPECT_EQ(EINVAL, errno) TH_LOG("flags 2: expected EINVAL, got %s",
					strerror(errno));
	EXPECT_EQ(-1, attach(m, c, AFMUX_ATTACH_POOL | 4, 0));
	EXPECT_EQ(EINVAL, errno) TH_LOG("flags 5: expected EINVAL, got %s",
					strerror(errno));
	EXPECT_EQ(-1, attach(m, c, AFMUX_ATTACH_POOL, 1));
	EXPECT_EQ(EINVAL, errno) TH_LOG("POOL, reserved 1: expected EINVAL, got %s",
					strerror(errno));
	EXPECT_EQ(-1, attach(m, c, 0x80000000U, 0));
	EXPECT_EQ(EINVAL, errno) TH_LOG("flags 1<<31: expected EINVAL, got %s",
					strerror(errno));
	EXPECT_EQ(-1, attach(m, c, 0, 1));
	EXPECT_EQ(EINVAL, errno) TH_LOG("reserved 1: expected EINVAL, got %s",
					strerror(errno));
	EXPECT_EQ(-1, attach(m, c, 0, 1ULL << 63));
	EXPECT_EQ(EINVAL, errno) TH_LOG("reserved 1<<63: expected EINVAL, got %s",
					strerror(errno));
	/* The refusals left both sockets as they were. */
	EXPECT_EQ(0, attach(m, c, 0, 0))
		TH_LOG("a valid attach after the refused ones: %s",
		       strerror(errno));
	close(m);
	close(c);
	close(s);
}

TEST(attach_twice)
{
	int c1, s1, c2, s2, m;

	ASSERT_EQ(0, tcp_pair(&c1, &s1));
	ASSERT_EQ(0, tcp_pair(&c2, &s2));
	m = afmux_socket(SOCK_CLOEXEC);
	ASSERT_GE(m, 0);
	ASSERT_EQ(0, attach(m, c1, 0, 0)) TH_LOG("first attach: %s",
						 strerror(errno));
	EXPECT_EQ(-1, attach(m, c2, 0, 0));
	EXPECT_EQ(EISCONN, errno)
		TH_LOG("attaching a second TCP socket: expected EISCONN, got %s",
		       strerror(errno));
	EXPECT_EQ(-1, attach(m, c1, 0, 0));
	EXPECT_EQ(EISCONN, errno)
		TH_LOG("attaching the same TCP socket again: expected EISCONN, got %s",
		       strerror(errno));
	close(m);
	close(c1);
	close(s1);
	close(c2);
	close(s2);
}

TEST(attach_tcp_owned_by_another_mux)
{
	int c, s, m1, m2, d;

	ASSERT_EQ(0, tcp_pair(&c, &s));
	m1 = afmux_socket(SOCK_CLOEXEC);
	m2 = afmux_socket(SOCK_CLOEXEC);
	ASSERT_GE(m1, 0);
	ASSERT_GE(m2, 0);
	ASSERT_EQ(0, attach(m1, c, 0, 0)) TH_LOG("first attach: %s",
						strerror(errno));
	EXPECT_EQ(-1, attach(m2, c, 0, 0));
	EXPECT_EQ(EBUSY, errno)
		TH_LOG("a TCP socket another mux owns: expected EBUSY, got %s",
		       strerror(errno));
	d = dup(c);
	ASSERT_GE(d, 0);
	EXPECT_EQ(-1, attach(m2, d, 0, 0));
	EXPECT_EQ(EBUSY, errno)
		TH_LOG("another fd of that TCP socket: expected EBUSY, got %s",
		       strerror(errno));
	/* m2 is still free: the other end of the connection attaches. */
	EXPECT_EQ(0, attach(m2, s, 0, 0)) TH_LOG("attach after EBUSY: %s",
						 strerror(errno));
	close(d);
	close(m2);
	close(m1);
	close(c);
	close(s);
}

/* Does a modules.dep/modules.builtin line name tls.ko (maybe compressed)? */
static bool names_tls(const char *line)
{
	size_t len = strcspn(line, ":\n");
	const char *base = line;
	size_t i;

	for (i = 0; i < len; i++)
		if (line[i] == '/')
			base = line + i + 1;
	return !strncmp(base, "tls.ko", 6) &&
	       (base + 6 == line + len || base[6] == '.');
}

/*
 * Is tls nowhere in this kernel: not loaded, not built in, not
 * installed?  Only then may the kTLS test skip.  @why says what was found.
 */
static bool tls_absent(char *why, size_t len)
{
	static const char *const lists[] = { "modules.builtin", "modules.dep" };
	char path[512], line[1024];
	bool found_list = false;
	struct utsname u;
	unsigned int i;
	FILE *f;

	if (!access("/sys/module/tls", F_OK)) {
		snprintf(why, len, "/sys/module/tls exists");
		return false;
	}
	if (uname(&u)) {
		snprintf(why, len, "uname: %s", strerror(errno));
		return false;
	}
	for (i = 0; i < ARRAY_SIZE(lists); i++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/%s", u.release,
			 lists[i]);
		f = fopen(path, "re");
		if (!f)
			continue;
		found_list = true;
		while (fgets(line, sizeof(line), f)) {
			if (names_tls(line)) {
				fclose(f);
				snprintf(why, len, "%s lists tls.ko", path);
				return false;
			}
		}
		fclose(f);
	}
	if (!found_list) {
		/* Nothing to look in: it cannot be confirmed absent. */
		snprintf(why, len, "no /lib/modules/%s/modules.builtin or modules.dep to check",
			 u.release);
		return false;
	}
	snprintf(why, len, "not loaded; neither /lib/modules/%s/modules.builtin nor modules.dep lists tls.ko",
		 u.release);
	return true;
}

/*
 * A TCP socket with the kTLS upper layer protocol but no keys yet: ENOKEY
 * (with keys both ways it attaches: selftests/ktls).
 */
TEST(attach_ktls)
{
	char ulp[16] = "", why[600];
	socklen_t len = sizeof(ulp);
	int c, s, ret, err;

	ASSERT_EQ(0, tcp_pair(&c, &s));
	/*
	 * Setting the ULP makes the kernel ask modprobe for tcp-ulp-tls;
	 * should that not happen, load it by hand and try again.
	 */
	ret = setsockopt(c, IPPROTO_TCP, TCP_ULP, "tls", 4);
	err = errno;
	if (ret && err == ENOENT) {
		if (system("modprobe tls 2>/dev/null") == 0) {
			ret = setsockopt(c, IPPROTO_TCP, TCP_ULP, "tls", 4);
			err = errno;
		}
	}
	why[0] = '\0';
	if (ret && err == ENOENT && tls_absent(why, sizeof(why)))
		SKIP(goto out, "this kernel has no kTLS: %s", why);
	ASSERT_EQ(0, ret)
		TH_LOG("setsockopt(TCP_ULP, \"tls\"): %s%s%s", strerror(err),
		       why[0] ? "; but kTLS should be there: " : "", why);
	ASSERT_EQ(0, getsockopt(c, IPPROTO_TCP, TCP_ULP, ulp, &len));
	EXPECT_STREQ("tls", ulp);
	EXPECT_ATTACH_FAILS(c, ENOKEY, "a TCP socket with the kTLS ULP, no keys");
out:
	close(c);
	close(s);
}

/* "IPv4 or IPv6": a mux on each end of a ::1 connection carries a stream. */
TEST(attach_ipv6)
{
	struct mux *a, *b;
	char key[8], buf[8];
	int c, s, fd;

	if (tcp_pair_af(&c, &s, true))
		SKIP(return, "no IPv6 loopback: %s", strerror(errno));
	a = mux_new(c);
	ASSERT_NE(NULL, a) TH_LOG("mux_new(IPv6 TCP socket): %s",
				  strerror(errno));
	b = mux_new(s);
	ASSERT_NE(NULL, b) TH_LOG("mux_new(IPv6 TCP socket): %s",
				  strerror(errno));
	fd = mux_send(a, "v6");
	ASSERT_GE(fd, 0) TH_LOG("mux_send: %s", strerror(errno));
	ASSERT_EQ(0, write_all(fd, "ipv6", 4));
	close(fd);
	fd = mux_receive(b, key, sizeof(key));
	ASSERT_GE(fd, 0) TH_LOG("mux_receive: %s", strerror(errno));
	EXPECT_STREQ("v6", key);
	EXPECT_EQ(4, read_full(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "ipv6", 4));
	close(fd);
	mux_close(a);
	mux_close(b);
	close(c);
	close(s);
}

/* ---- OPEN and ACCEPT on an unattached mux ---------------------------- */

TEST(unattached_open_accept)
{
	struct afmux_open op = { .key = (uintptr_t)"k", .key_len = 1 };
	struct afmux_accept acc = { 0 };
	char key[16];
	int m;

	/* Non-blocking, so that a wrong order of checks cannot hang. */
	m = afmux_socket(SOCK_CLOEXEC | SOCK_NONBLOCK);
	ASSERT_GE(m, 0);
	EXPECT_EQ(-1, ioctl(m, AFMUX_IOC_OPEN, &op));
	EXPECT_EQ(ENOTCONN, errno)
		TH_LOG("OPEN on an unattached mux: expected ENOTCONN, got %s",
		       strerror(errno));
	acc.key = (uintptr_t)key;
	acc.key_len = sizeof(key);
	EXPECT_EQ(-1, ioctl(m, AFMUX_IOC_ACCEPT, &acc));
	EXPECT_EQ(ENOTCONN, errno)
		TH_LOG("ACCEPT on an unattached mux: expected ENOTCONN, got %s",
		       strerror(errno));
	close(m);
}

/* ---- OPEN and ACCEPT arguments, on an attached pair ------------------ */

FIXTURE(pair) {
	struct mux *client, *server;
	int c, s;		/* their fds */
};

FIXTURE_SETUP(pair)
{
	int c, s;

	ASSERT_EQ(0, tcp_pair(&c, &s))
		TH_LOG("TCP connection over 127.0.0.1: %s", strerror(errno));
	self->client = mux_new(c);
	ASSERT_NE(NULL, self->client) TH_LOG("mux_new: %s", strerror(errno));
	self->server = mux_new(s);
	ASSERT_NE(NULL, self->server) TH_LOG("mux_new: %s", strerror(errno));
	close(c);
	close(s);
	self->c = mux_fd(self->client);
	self->s = mux_fd(self->server);
}

FIXTURE_TEARDOWN(pair)
{
	if (self->client)
		mux_close(self->client);
	if (self->server)
		mux_close(self->server);
}

static int open_stream(int mux, const void *key, uint32_t key_len,
		       uint32_t flags, uint32_t reserved, uint32_t *id)
{
	struct afmux_open op = {
		.key = (uintptr_t)key, .key_len = key_len, .flags = flags,
		.reserved = reserved,
	};
	int fd = ioctl(mux, AFMUX_IOC_OPEN, &op);

	if (fd >= 0 && id)
		*id = op.stream_id;
	return fd;
}

TEST_F(pair, open_key_length)
{
	static uint8_t key[AFMUX_KEY_MAX + 1], got[AFMUX_KEY_MAX + 1];
	struct afmux_accept acc;
	uint32_t id;
	unsigned int i;
	int fd, afd;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;	/* NUL bytes too: keys are bytes */
	EXPECT_EQ(-1, open_stream(self->c, key, AFMUX_KEY_MAX + 1, 0, 0, NULL));
	EXPECT_EQ(EMSGSIZE, errno)
		TH_LOG("key_len AFMUX_KEY_MAX + 1: expected EMSGSIZE, got %s",
		       strerror(errno));
	EXPECT_EQ(-1, open_stream(self->c, key, UINT32_MAX, 0, 0, NULL));
	EXPECT_EQ(EMSGSIZE, errno)
		TH_LOG("key_len 2^32 - 1: expected EMSGSIZE, got %s",
		       strerror(errno));

	/* The longest key and the empty key both work. */
	fd = open_stream(self->c, key, AFMUX_KEY_MAX, 0, 0, &id);
	ASSERT_GE(fd, 0) TH_LOG("key_len AFMUX_KEY_MAX: %s", strerror(errno));
	EXPECT_EQ(1U, id);
	close(fd);
	fd = open_stream(self->c, NULL, 0, 0, 0, &id);
	ASSERT_GE(fd, 0) TH_LOG("key_len 0: %s", strerror(errno));
	EXPECT_EQ(2U, id) TH_LOG("refused opens must not use up IDs");
	close(fd);

	for (i = 0; i < 2; i++) {
		memset(&acc, 0, sizeof(acc));
		acc.key = (uintptr_t)got;
		acc.key_len = sizeof(got);
		afd = ioctl(self->s, AFMUX_IOC_ACCEPT, &acc);
		ASSERT_GE(afd, 0) TH_LOG("accept: %s", strerror(errno));
		close(afd);
		ASSERT_TRUE(acc.stream_id == 1 || acc.stream_id == 2)
			TH_LOG("accepted stream ID %u, expected 1 or 2",
			       acc.stream_id);
		if (acc.stream_id == 1) {
			EXPECT_EQ((uint32_t)AFMUX_KEY_MAX, acc.key_len);
			EXPECT_EQ(0, memcmp(got, key, AFMUX_KEY_MAX))
				TH_LOG("the 1024-byte key (with NUL bytes)");
		} else {
			EXPECT_EQ(0U, acc.key_len) TH_LOG("the empty key");
		}
	}
}

TEST_F(pair, open_bad_pointers)
{
	void *page;

	page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	ASSERT_EQ(0, munmap(page, 4096));
	EXPECT_EQ(-1, open_stream(self->c, page, 16, 0, 0, NULL));
	EXPECT_EQ(EFAULT, errno)
		TH_LOG("key pointing at an unmapped page: expected EFAULT, got %s",
		       strerror(errno));
	EXPECT_EQ(-1, ioctl(self->c, AFMUX_IOC_OPEN, page));
	EXPECT_EQ(EFAULT, errno)
		TH_LOG("argument pointing at an unmapped page: expected EFAULT, got %s",
		       strerror(errno));
}

TEST_F(pair, open_bad_flags)
{
	uint32_t id = 0;
	int fd;

	EXPECT_EQ(-1, open_stream(self->c, "k", 1, 1, 0, NULL));
	EXPECT_EQ(EINVAL, errno) TH_LOG("flags 1: expected EINVAL, got %s",
					strerror(errno));
	EXPECT_EQ(-1, open_stream(self->c, "k", 1, O_APPEND, 0, NULL));
	EXPECT_EQ(EINVAL, errno) TH_LOG("flags O_APPEND: expected EINVAL, got %s",
					strerror(errno));
	EXPECT_EQ(-1, open_stream(self->c, "k", 1, 0x80000000U, 0, NULL));
	EXPECT_EQ(EINVAL, errno) TH_LOG("flags 1<<31: expected EINVAL, got %s",
					strerror(errno));
	EXPECT_EQ(-1, open_stream(self->c, "k", 1, 0, 1, NULL));
	EXPECT_EQ(EINVAL, errno) TH_LOG("reserved 1: expected EINVAL, got %s",
					strerror(errno));

	/* The two defined flags do what they say. */
	fd = open_stream(self->c, "k", 1, AFMUX_O_CLOEXEC | AFMUX_O_NONBLOCK,
			 0, &id);
	ASSERT_GE(fd, 0) TH_LOG("AFMUX_O_CLOEXEC | AFMUX_O_NONBLOCK: %s",
				strerror(errno));
	EXPECT_EQ(1U, id) TH_LOG("refused opens must not use up IDs");
	EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	fd = open_stream(self->c, "k", 1, 0, 0, &id);
	ASSERT_GE(fd, 0);
	EXPECT_FALSE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_FALSE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
}

/* Too small a key buffer: EMSGSIZE, the length needed, still queued. */
TEST_F(pair, accept_small_key_buffer)
{
	uint8_t key[100], got[200], buf[16];
	struct afmux_accept acc;
	uint32_t id;
	unsigned int i;
	int fd, afd;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7);
	fd = open_stream(self->c, key, sizeof(key), 0, 0, &id);
	ASSERT_GE(fd, 0) TH_LOG("open: %s", strerror(errno));
	ASSERT_EQ(0, write_all(fd, "payload", 7));
	close(fd);

	memset(&acc, 0, sizeof(acc));
	acc.key = (uintptr_t)got;
	acc.key_len = 10;
	EXPECT_EQ(-1, ioctl(self->s, AFMUX_IOC_ACCEPT, &acc));
	EXPECT_EQ(EMSGSIZE, errno)
		TH_LOG("10-byte buffer for a 100-byte key: expected EMSGSIZE, got %s",
		       strerror(errno));
	EXPECT_EQ(100U, acc.key_len) TH_LOG("key_len should say what is needed");

	memset(&acc, 0, sizeof(acc));
	acc.key = (uintptr_t)got;
	acc.key_len = 99;
	EXPECT_EQ(-1, ioctl(self->s, AFMUX_IOC_ACCEPT, &acc));
	EXPECT_EQ(EMSGSIZE, errno) TH_LOG("99 bytes: expected EMSGSIZE, got %s",
					  strerror(errno));
	EXPECT_EQ(100U, acc.key_len);

	/* Asking for the size with no buffer at all. */
	memset(&acc, 0, sizeof(acc));
	EXPECT_EQ(-1, ioctl(self->s, AFMUX_IOC_ACCEPT, &acc));
	EXPECT_EQ(EMSGSIZE, errno)
		TH_LOG("key NULL, key_len 0: expected EMSGSIZE, got %s",
		       strerror(errno));
	EXPECT_EQ(100U, acc.key_len);

	/* The stream is still there, whole. */
	memset(&acc, 0, sizeof(acc));
	memset(got, 0, sizeof(got));
	acc.key = (uintptr_t)got;
	acc.key_len = 100;
	afd = ioctl(self->s, AFMUX_IOC_ACCEPT, &acc);
	ASSERT_GE(afd, 0)
		TH_LOG("accept with a big enough buffer after EMSGSIZE: %s",
		       strerror(errno));
	EXPECT_EQ(100U, acc.key_len);
	EXPECT_EQ(0, memcmp(got, key, sizeof(key)));
	EXPECT_EQ(id, acc.stream_id);
	EXPECT_EQ(7, read_full(afd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "payload", 7));
	close(afd);

	/* Through libafmux: mux_receive needs room for the NUL too. */
	fd = open_stream(self->c, "12345", 5, 0, 0, NULL);
	ASSERT_GE(fd, 0);
	close(fd);
	EXPECT_EQ(-1, mux_receive(self->server, (char *)buf, 5));
	EXPECT_EQ(EMSGSIZE, errno);
	afd = mux_receive(self->server, (char *)buf, 6);
	ASSERT_GE(afd, 0) TH_LOG("mux_receive after EMSGSIZE: %s",
				 strerror(errno));
	EXPECT_STREQ("12345", (char *)buf);
	close(afd);
}

TEST_F(pair, accept_bad_args)
{
	struct afmux_accept acc;
	char key[16];
	uint32_t id;
	int fd, afd;
	void *page;

	fd = open_stream(self->c, "queued", 6, 0, 0, &id);
	ASSERT_GE(fd, 0) TH_LOG("open: %s", strerror(errno));
	close(fd);

	/* Each refusal leaves the stream queued; none may block. */
	memset(&acc, 0, sizeof(acc));
	acc.key = (uintptr_t)key;
	acc.key_len = sizeof(key);
	acc.flags = 1;
	EXPECT_EQ(-1, ioctl(self->s, AFMUX_IOC_ACCEPT, &acc));
	EXPECT_EQ(EINVAL, errno) TH_LOG("flags 1: expected EINVAL, got %s",
					strerror(errno));
	acc.flags = O_APPEND;
	EXPECT_EQ(-1, ioctl(self->s, AFMUX_IOC_ACCEPT, &acc));
	EXPECT_EQ(EINVAL, errno) TH_LOG("flags O_APPEND: expected EINVAL, got %s",
					strerror(errno));
	acc.flags = 0;
	acc.reserved = 1;
	EXPECT_EQ(-1, ioctl(self->s, AFMUX_IOC_ACCEPT, &acc));
	EXPECT_EQ(EINVAL, errno) TH_LOG("reserved 1: expected EINVAL, got %s",
				       strerror(errno));
	page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	ASSERT_EQ(0, munmap(page, 4096));
	EXPECT_EQ(-1, ioctl(self->s, AFMUX_IOC_ACCEPT, page));
	EXPECT_EQ(EFAULT, errno)
		TH_LOG("argument pointing at an unmapped page: expected EFAULT, got %s",
		       strerror(errno));

	memset(&acc, 0, sizeof(acc));
	acc.key = (uintptr_t)key;
	acc.key_len = sizeof(key);
	acc.flags = AFMUX_O_NONBLOCK;
	afd = ioctl(self->s, AFMUX_IOC_ACCEPT, &acc);
	ASSERT_GE(afd, 0) TH_LOG("valid accept after the refused ones: %s",
				 strerror(errno));
	EXPECT_EQ(6U, acc.key_len);
	EXPECT_EQ(0, memcmp(key, "queued", 6));
	EXPECT_EQ(id, acc.stream_id);
	EXPECT_TRUE(fcntl(afd, F_GETFL) & O_NONBLOCK);
	EXPECT_FALSE(fcntl(afd, F_GETFD) & FD_CLOEXEC);
	close(afd);
}

/* ---- bytes the peer sent before ATTACH --------------------------------- */

/*
 * A plain TCP peer sends its preface, OPEN, DATA and END before this end
 * attaches: the stream arrives whole once it does, and the mux answers
 * with its own preface and, when the stream is closed here, END.
 */
TEST(queued_before_attach)
{
	uint8_t frames[8192], data[5000], buf[8192], h[HEADER_LEN];
	size_t n = 0, klen;
	struct mux *m;
	int raw, s, fd, avail = 0, i;
	char key[16];
	uint32_t id;
	ssize_t r;

	for (i = 0; i < (int)sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + 7);
	memcpy(frames, "AFMUX\r\n\0", 8);
	memset(frames + 8, 0, PREFACE_LEN - 8);
	frames[9] = 1;					/* version 1 */
	put_be32(frames + 12, AFMUX_WINDOW_DEFAULT);	/* initial window */
	put_be32(frames + 16, 16);			/* max streams */
	n = PREFACE_LEN;
	n += put_frame(frames + n, FT_OPEN, 1, "early", 5);
	n += put_frame(frames + n, FT_DATA, 1, data, sizeof(data));
	n += put_frame(frames + n, FT_END, 1, NULL, 0);

	ASSERT_EQ(0, tcp_pair(&raw, &s));
	ASSERT_EQ(0, write_all(raw, frames, n));
	/* Wait until all of it sits in s's receive queue. */
	for (i = 0; i < 1000; i++) {
		ASSERT_EQ(0, ioctl(s, FIONREAD, &avail));
		if (avail == (int)n)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
	}
	ASSERT_EQ((int)n, avail) TH_LOG("loopback did not deliver %zu bytes",
					n);

	m = mux_new(s);
	ASSERT_NE(NULL, m) TH_LOG("mux_new: %s", strerror(errno));
	close(s);
	klen = sizeof(key) - 1;
	fd = mux_accept(m, key, &klen, 0, &id);
	ASSERT_GE(fd, 0) TH_LOG("the stream sent before attach: %s",
				strerror(errno));
	EXPECT_EQ(5U, klen);
	EXPECT_EQ(0, memcmp(key, "early", 5));
	EXPECT_EQ(1U, id);
	r = read_full(fd, buf, sizeof(buf));
	EXPECT_EQ((ssize_t)sizeof(data), r)
		TH_LOG("expected the %zu bytes sent before attach, then EOF",
		       sizeof(data));
	EXPECT_EQ(0, memcmp(buf, data, sizeof(data)));
	close(fd);

	/* The mux's preface, then END for the raw peer's stream 1 (R = 1). */
	ASSERT_TRUE(poll(&(struct pollfd){ .fd = raw, .events = POLLIN }, 1,
			 WAIT_MS) == 1);
	ASSERT_EQ(PREFACE_LEN, read_full(raw, buf, PREFACE_LEN));
	EXPECT_EQ(0, memcmp(buf, "AFMUX\r\n\0", 8)) TH_LOG("the mux's preface");
	EXPECT_EQ(1, buf[8] << 8 | buf[9]) TH_LOG("preface version");
	ASSERT_TRUE(poll(&(struct pollfd){ .fd = raw, .events = POLLIN }, 1,
			 WAIT_MS) == 1)
		TH_LOG("no END within %d ms of closing the stream", WAIT_MS);
	ASSERT_EQ(HEADER_LEN, read_full(raw, h, HEADER_LEN));
	EXPECT_EQ(FT_END, h[0]) TH_LOG("frame type %u, expected END (2)", h[0]);
	EXPECT_EQ(0U, get_be32(h + 4)) TH_LOG("END has no payload");
	EXPECT_EQ(0x80000001U, get_be32(h + 8))
		TH_LOG("stream field 0x%08x: expected R=1 (opened by the receiver) | 1",
		       get_be32(h + 8));
	mux_close(m);
	close(raw);
}

TEST_HARNESS_MAIN
