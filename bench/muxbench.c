// SPDX-License-Identifier: GPL-2.0
/*
 * muxbench.c - the "tcp", "afmux", "ktls" and "afmux-ktls" contenders of
 * docs/benchmarks.md: the server and client of its command-line contract,
 * nothing else.
 *
 *   muxbench tcp|afmux|ktls|afmux-ktls server PORT
 *   muxbench tcp|afmux|ktls|afmux-ktls client HOST PORT WORKLOAD [key=value ...]
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
 * afmux-pool2, afmux-pool4: the same over a pool of 2 or 4 TCP
 *        connections (mux_new_pool(), then mux_join() on each end for
 *        every further connection, which the client connects and the
 *        server accepts, in turn, before any stream).
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
 *   bulk mode=sendfile [file=PATH]   the client moves its
 *              payload with sendfile(2) from PATH (default
 *              /dev/shm/muxbench-64M; created as 64 MiB of 'x' if absent
 *              or shorter), the whole file (or what is left to send) per
 *              call, over and over until bytes/streams are sent; with
 *              io=N, at most N bytes per call.
 *   bulk mode=zerocopy   send(MSG_ZEROCOPY) of io bytes (SO_ZEROCOPY, or
 *              AFMUX_ZEROCOPY where the kernel refuses it to AF_MUX),
 *              completions read from the error queue as they come.
 *   bulk sink=read|splice   how the server sinks the stream ('S' or 'P');
 *              the default is splice for mode=sendfile, read otherwise.
 *   many conns=1000 streams=8 rounds=8 size=4096   conns connections
 *              (afmux: muxes; tcp: streams TCP connections each) with
 *              streams E streams each, all driven by one epoll loop: each
 *              stream makes rounds round trips of size bytes, the next as
 *              soon as the last came back; the first round is a warm-up.
 *              Result: seconds= (after the set-up) bytes= (one way)
 *              streams= setup_s= p50_us= p99_us= mean_us=.
 *
 * The server is one accepting thread plus one epoll worker per CPU (at
 * most 4; $MUXBENCH_WORKERS if set); streams are non-blocking and shared
 * round-robin among workers.  afmux: every TCP connection that comes is
 * a new mux (a pool's further ones join it), so a client may open many;
 * the server exits once every mux has ended and none is waiting.
 * The client uses a thread per stream for bulk and pingpong, one thread
 * for small and idle (idle opens in batches of 1000, so neither TCP's
 * listen backlog nor afmux's accept backlog overflows), and `parallel`
 * threads for openclose.  Any error, short count or mismatch ends the
 * process with status 1 and a message on stderr.
 *
 * This file: the mode, the helpers both ends share and main();
 * muxbench.h says which file has the rest.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/tls.h>

#include "afmux.h"
#include "muxbench.h"

#ifndef SOL_TLS
#define SOL_TLS		282
#endif

/* The contender, from the command line; the cipher, from the handshake. */
bool mb_use_afmux;
bool mb_use_tls;
int mb_connections = 1;
const char *mb_tls_cipher = "";

void mb_die(const char *fmt, ...)
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

double mb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* As many fds as the kernel lets a process have (fs.nr_open). */
void mb_raise_nofile(void)
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

void mb_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/*
 * ktls, afmux-ktls: the TLS handshake on a connected TCP socket, its keys
 * to kTLS; the cipher kTLS got is remembered for the result line, named
 * as /proc/net/afmux names it.
 */
void mb_tls_handshake(int fd, bool server)
{
	struct mux_tls t = { .server = server, .insecure = !server };
	struct tls_crypto_info ci;	/* this size: the version and cipher */
	socklen_t len = sizeof(ci);

	if (server) {
		t.cert = getenv("MUXBENCH_CERT");
		t.key = getenv("MUXBENCH_KEY");
		if (!t.cert || !t.key)
			mb_die("ktls: set MUXBENCH_CERT and MUXBENCH_KEY");
	}
	if (mux_tls_handshake(fd, &t))
		mb_die("TLS: %s", mux_tls_error());
	if (getsockopt(fd, SOL_TLS, TLS_TX, &ci, &len))
		mb_die("getsockopt(TLS_TX):");
	switch (ci.cipher_type) {
	case TLS_CIPHER_AES_GCM_128:
		mb_tls_cipher = "aes-gcm-128";
		break;
	case TLS_CIPHER_AES_GCM_256:
		mb_tls_cipher = "aes-gcm-256";
		break;
	case TLS_CIPHER_CHACHA20_POLY1305:
		mb_tls_cipher = "chacha20-poly1305";
		break;
	default:
		mb_tls_cipher = "other";
	}
}

static void __attribute__((noreturn)) usage(void)
{
	fputs("usage: muxbench CONTENDER server PORT\n"
	      "       muxbench CONTENDER client HOST PORT WORKLOAD [key=value ...]\n"
	      "CONTENDER: tcp afmux afmux-pool2 afmux-pool4 ktls afmux-ktls\n"
	      "WORKLOAD: bulk small pingpong openclose idle (docs/benchmarks.md)\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 4)
		usage();
	mb_use_afmux = !strncmp(argv[1], "afmux", 5);
	mb_use_tls = strstr(argv[1], "ktls");
	if (!strcmp(argv[1], "afmux-pool2"))
		mb_connections = 2;
	else if (!strcmp(argv[1], "afmux-pool4"))
		mb_connections = 4;
	else if (strcmp(argv[1], "afmux") && strcmp(argv[1], "tcp") &&
		 strcmp(argv[1], "ktls") && strcmp(argv[1], "afmux-ktls"))
		usage();
	if (!strcmp(argv[2], "server") && argc == 4)
		return mb_server(atoi(argv[3]));
	if (strcmp(argv[2], "client") || argc < 6)
		usage();
	for (size_t i = 0; i < mb_nworkloads; i++) {
		if (strcmp(mb_workloads[i].name, argv[5]))
			continue;
		mb_raise_nofile();
		mb_client_setup(argv[3], atoi(argv[4]));
		mb_workloads[i].run(argc - 6, argv + 6);
		mb_client_finish();
		fflush(stdout);
		return 0;
	}
	usage();
}
