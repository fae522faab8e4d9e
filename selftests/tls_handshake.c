// SPDX-License-Identifier: GPL-2.0
/*
 * tls_handshake.c - selftests for libafmux's mux_new_tls() and
 * mux_tls_handshake() (libafmux(3)):
 * a real TLS handshake with certificates (made here with the openssl
 * command: a CA, a server certificate for "localhost" and a client one
 * it signed, and a CA that signed nothing), the keys handed to kTLS, the
 * mux attached, streams carried intact; refused when the server's
 * certificate is not trusted or not for the name asked, or when a server
 * that wants a client certificate gets none.
 *
 * Linked dynamically (GnuTLS has no static build worth the name); the
 * test VMs see the host's libraries.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"
#include "sha256.h"

static char dir[64];

/* The certificates, once per run, in a directory of their own. */
static int make_certs(void)
{
	static const char script[] =
		"set -e; cd %s; o() { openssl \"$@\" 2>/dev/null; };"
		"k='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';"
		"o req -x509 $k -keyout ca.key -out ca.pem -subj /CN=afmux-ca -days 2;"
		"o req -x509 $k -keyout other.key -out other.pem -subj /CN=other -days 2;"
		"for n in localhost client; do "
		"o req $k -keyout $n.key -out $n.csr -subj /CN=$n;"
		"echo subjectAltName=DNS:$n > $n.ext;"
		"o x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
		" -out $n.pem -days 2 -extfile $n.ext; done";
	char cmd[sizeof(script) + sizeof(dir)];

	if (dir[0])
		return 0;
	strcpy(dir, "/tmp/afmux-tls-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(cmd, sizeof(cmd), script, dir);
	return system(cmd) ? -1 : 0;
}

static pid_t maker;

/* Made once, before the harness forks a process per test. */
__attribute__((constructor)) static void certs_make(void)
{
	maker = getpid();
	/* kTLS: the kernel loads it for root on its own, or may not. */
	if (system("modprobe tls 2>/dev/null"))
		fprintf(stderr, "# modprobe tls failed: built in?\n");
	if (make_certs())
		dir[0] = '\0';
}

__attribute__((destructor)) static void certs_remove(void)
{
	char cmd[sizeof(dir) + 16];

	if (getpid() != maker || !dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", dir);
}

static char *path(const char *name)
{
	static char p[8][128];
	static int i;
	char *s = p[i++ % 8];

	snprintf(s, sizeof(p[0]), "%s/%s", dir, name);
	return s;
}

struct end {
	int fd;
	struct mux_tls opt;
	struct mux *m;
	bool raw;		/* mux_tls_handshake() alone: no mux */
	int err;
	char why[256];
	char ulp[16];		/* TCP_ULP of the fd after */
};

static void *end_main(void *arg)
{
	struct end *e = arg;

	socklen_t len = sizeof(e->ulp);

	if (e->raw) {
		e->err = mux_tls_handshake(e->fd, &e->opt) ? errno : 0;
	} else {
		e->m = mux_new_tls(e->fd, &e->opt);
		e->err = e->m ? 0 : errno;
	}
	snprintf(e->why, sizeof(e->why), "%s", mux_tls_error());
	getsockopt(e->fd, IPPROTO_TCP, TCP_ULP, e->ulp, &len);
	/* A failed end lets its peer's handshake fail too. */
	if (e->err)
		shutdown(e->fd, SHUT_RDWR);
	return NULL;
}

/* Handshake @srv and @cli over a fresh TCP connection, at once. */
static void both(struct __test_metadata *_metadata, struct end *srv,
		 struct end *cli)
{
	pthread_t t;

	ASSERT_EQ(0, make_certs()) TH_LOG("making certificates with openssl");
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, tcp_pair(&cli->fd, &srv->fd));
	ASSERT_EQ(0, pthread_create(&t, NULL, end_main, srv));
	end_main(cli);
	pthread_join(t, NULL);
	if (srv->raw)
		return;		/* the caller goes on with the kTLS sockets */
	close(srv->fd);
	close(cli->fd);
}

static void end_free(struct end *e)
{
	if (e->m)
		mux_close(e->m);
}

/* A stream each way through a pair of TLS muxes, checked by SHA-256. */
static void carries(struct __test_metadata *_metadata, struct mux *a,
		    struct mux *b)
{
	static uint8_t buf[256 << 10], got[sizeof(buf)];
	char key[16];
	size_t i;
	int fa, fb;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 9));
	fa = mux_send(a, "over-tls");
	ASSERT_GE(fa, 0);
	fb = mux_receive(b, key, sizeof(key));
	ASSERT_GE(fb, 0);
	EXPECT_STREQ("over-tls", key);
	ASSERT_EQ(0, write_all(fa, buf, sizeof(buf)));
	ASSERT_EQ(0, shutdown(fa, SHUT_WR));
	ASSERT_EQ((ssize_t)sizeof(got), read_full(fb, got, sizeof(got)));
	EXPECT_EQ(0, memcmp(buf, got, sizeof(buf)));
	ASSERT_EQ(0, write_all(fb, buf, 1000));
	close(fb);
	EXPECT_EQ(1000, read_full(fa, got, 1000));
	EXPECT_EQ(0, memcmp(buf, got, 1000));
	close(fa);
}

static struct mux_tls server_opts(void)
{
	return (struct mux_tls){ .server = 1, .cert = path("localhost.pem"),
				 .key = path("localhost.key") };
}

/* The client checks the server's certificate against the CA and name. */
TEST(verified)
{
	struct end srv = { 0 }, cli = { 0 };

	ASSERT_EQ(0, make_certs());
	srv.opt = server_opts();
	cli.opt = (struct mux_tls){ .ca = path("ca.pem"),
				    .hostname = "localhost" };
	both(_metadata, &srv, &cli);
	ASSERT_NE(NULL, srv.m) TH_LOG("server: %s", srv.why);
	ASSERT_NE(NULL, cli.m) TH_LOG("client: %s", cli.why);
	/* The fds are kTLS's now, and the mux's. */
	EXPECT_STREQ("tls", srv.ulp);
	EXPECT_STREQ("tls", cli.ulp);
	carries(_metadata, cli.m, srv.m);
	end_free(&srv);
	end_free(&cli);
}

TEST(wrong_ca_refused)
{
	struct end srv = { 0 }, cli = { 0 };

	ASSERT_EQ(0, make_certs());
	srv.opt = server_opts();
	cli.opt = (struct mux_tls){ .ca = path("other.pem"),
				    .hostname = "localhost" };
	both(_metadata, &srv, &cli);
	EXPECT_EQ(NULL, cli.m);
	EXPECT_EQ(EKEYREJECTED, cli.err) TH_LOG("client: %s", cli.why);
	EXPECT_EQ(NULL, srv.m);
	end_free(&srv);
	end_free(&cli);
}

TEST(wrong_name_refused)
{
	struct end srv = { 0 }, cli = { 0 };

	ASSERT_EQ(0, make_certs());
	srv.opt = server_opts();
	cli.opt = (struct mux_tls){ .ca = path("ca.pem"),
				    .hostname = "example.org" };
	both(_metadata, &srv, &cli);
	EXPECT_EQ(NULL, cli.m);
	EXPECT_EQ(EKEYREJECTED, cli.err) TH_LOG("client: %s", cli.why);
	end_free(&srv);
	end_free(&cli);
}

/* --insecure: no check of the server at all. */
TEST(insecure)
{
	struct end srv = { 0 }, cli = { 0 };

	ASSERT_EQ(0, make_certs());
	srv.opt = server_opts();
	cli.opt = (struct mux_tls){ .insecure = 1 };
	both(_metadata, &srv, &cli);
	ASSERT_NE(NULL, srv.m) TH_LOG("server: %s", srv.why);
	ASSERT_NE(NULL, cli.m) TH_LOG("client: %s", cli.why);
	carries(_metadata, srv.m, cli.m);
	end_free(&srv);
	end_free(&cli);
}

/* A server with a CA wants a client certificate that CA signed. */
TEST(mutual)
{
	struct end srv = { 0 }, cli = { 0 };

	ASSERT_EQ(0, make_certs());
	srv.opt = server_opts();
	srv.opt.ca = path("ca.pem");
	cli.opt = (struct mux_tls){ .ca = path("ca.pem"),
				    .hostname = "localhost",
				    .cert = path("client.pem"),
				    .key = path("client.key") };
	both(_metadata, &srv, &cli);
	ASSERT_NE(NULL, srv.m) TH_LOG("server: %s", srv.why);
	ASSERT_NE(NULL, cli.m) TH_LOG("client: %s", cli.why);
	carries(_metadata, cli.m, srv.m);
	end_free(&srv);
	end_free(&cli);

	memset(&srv, 0, sizeof(srv));
	memset(&cli, 0, sizeof(cli));
	srv.opt = server_opts();
	srv.opt.ca = path("ca.pem");
	cli.opt = (struct mux_tls){ .ca = path("ca.pem"),
				    .hostname = "localhost" };
	both(_metadata, &srv, &cli);
	EXPECT_EQ(NULL, srv.m);
	EXPECT_EQ(EKEYREJECTED, srv.err) TH_LOG("server: %s", srv.why);
	/*
	 * A TLS 1.3 client is done with its handshake before the server
	 * looks at its certificate: its mux comes up, then ends with an
	 * error (the server's alert, or its TCP end).
	 */
	if (cli.m) {
		struct pollfd p = { .fd = mux_fd(cli.m), .events = POLLIN };
		socklen_t len = sizeof(int);
		int err = 0;

		EXPECT_EQ(1, poll(&p, 1, 10000));
		EXPECT_EQ(0, getsockopt(mux_fd(cli.m), SOL_SOCKET, SO_ERROR,
					&err, &len));
		EXPECT_NE(0, err);
	}
	end_free(&srv);
	end_free(&cli);
}

/*
 * mux_tls_handshake(): the same handshake leaves two kTLS sockets that
 * carry bytes on their own; mux_new() then attaches them.
 */
TEST(handshake_then_attach)
{
	struct end srv = { .raw = true }, cli = { .raw = true };
	struct mux *a, *b;
	char got[6] = "";

	ASSERT_EQ(0, make_certs());
	srv.opt = server_opts();
	cli.opt = (struct mux_tls){ .ca = path("ca.pem"),
				    .hostname = "localhost" };
	both(_metadata, &srv, &cli);
	ASSERT_EQ(0, srv.err) TH_LOG("server: %s", srv.why);
	ASSERT_EQ(0, cli.err) TH_LOG("client: %s", cli.why);
	EXPECT_STREQ("tls", srv.ulp);
	EXPECT_STREQ("tls", cli.ulp);
	/* A kTLS socket of the caller's: a record each way. */
	ASSERT_EQ(0, write_all(cli.fd, "hello", 5));
	ASSERT_EQ(5, read_full(srv.fd, got, 5));
	EXPECT_STREQ("hello", got);
	a = mux_new(cli.fd);
	ASSERT_NE(NULL, a) TH_LOG("attach: %s", strerror(errno));
	b = mux_new(srv.fd);
	ASSERT_NE(NULL, b) TH_LOG("attach: %s", strerror(errno));
	close(cli.fd);
	close(srv.fd);
	carries(_metadata, a, b);
	mux_close(a);
	mux_close(b);
}

/* Options that cannot work, before any byte is sent. */
TEST(bad_options)
{
	int c, s;

	ASSERT_EQ(0, make_certs());
	ASSERT_EQ(0, tcp_pair(&c, &s));
	EXPECT_EQ(NULL, mux_new_tls(s, &(struct mux_tls){ .server = 1 }));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(NULL, mux_new_tls(c, &(struct mux_tls){
		.cert = path("client.pem") }));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(NULL, mux_new_tls(c, &(struct mux_tls){
		.ca = path("missing.pem") }));
	EXPECT_EQ(ENOENT, errno) TH_LOG("%s", mux_tls_error());
	EXPECT_EQ(NULL, mux_new_tls(c, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, mux_tls_handshake(c, NULL));
	EXPECT_EQ(EINVAL, errno);
	close(c);
	close(s);
}

TEST_HARNESS_MAIN
