// SPDX-License-Identifier: GPL-2.0
/*
 * muxbench-client.c - the client's connection to the server and its
 * streams: TCP connections (from spread source addresses on loopback)
 * or AF_MUX streams of one attached connection (or of more, for the many
 * workload); opening a stream with its
 * role byte, and checking the count the server sends back.
 */
#include <arpa/inet.h>
#include <stdatomic.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/afmux.h>
#include "afmux.h"
#include "muxbench.h"
#include "../selftests/util.h"

#define PER_SRC_ADDR	30000

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static struct sockaddr_in peer;
static struct mux *cmux;
static int session_fd = -1;
static bool spread_src;		/* tcp to 127.0.0.1: vary the source address */
static unsigned long per_src;
static atomic_ulong nconnects;

static int tcp_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		mb_die("socket:");
	if (spread_src) {
		unsigned long k = atomic_fetch_add(&nconnects, 1) / per_src;
		struct sockaddr_in src = { .sin_family = AF_INET };
		int one = 1;

		if (k > 250)
			mb_die("too many connections for 127.0.0.2-252");
		src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)k);
		/* The port is picked at connect(), unique per 4-tuple. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
			   sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)))
			mb_die("bind to 127.0.0.%lu:", k + 2);
	}
	if (connect(fd, (struct sockaddr *)&peer, sizeof(peer)))
		mb_die("connect:");
	mb_nodelay(fd);
	if (mb_use_tls)
		mb_tls_handshake(fd, false);
	return fd;
}

/* afmux: a new mux over a new TCP connection (a pool: and its joins). */
struct mux *mb_new_mux(void)
{
	int tcp = tcp_connect();
	struct mux *m = mb_connections > 1 ? mux_new_pool(tcp) : mux_new(tcp);

	if (!m)
		mb_die("mux_new:");
	close(tcp);
	for (int i = 1; i < mb_connections; i++) {
		tcp = tcp_connect();
		if (mux_join(m, tcp) < 0)
			mb_die("mux_join:");
		close(tcp);
	}
	return m;
}

/*
 * A new stream whose first byte says @role: on @m (afmux; NULL: the
 * mux of mb_client_setup()), or a TCP connection of its own (tcp).
 */
int mb_open_stream_on(struct mux *m, char role)
{
	int fd;

	if (mb_use_afmux) {
		fd = mux_open(m ? m : cmux, "", 0, AFMUX_O_CLOEXEC, NULL);
		if (fd < 0)
			mb_die("mux_open:");
	} else {
		fd = tcp_connect();
	}
	if (write_all(fd, &role, 1))
		mb_die("write role byte:");
	return fd;
}

int mb_open_stream(char role)
{
	return mb_open_stream_on(NULL, role);
}

/*
 * Half-close @fd (unless @shut is false: done already), then expect the
 * server's 8-byte count to be @sent.
 */
void mb_check_count(int fd, uint64_t sent, bool shut)
{
	uint8_t b[8];
	ssize_t n;

	if (shut && shutdown(fd, SHUT_WR))
		mb_die("shutdown:");
	n = read_full(fd, b, sizeof(b));
	if (n < 0)
		mb_die("read count:");
	if (n != 8)
		mb_die("short count reply (%zd bytes)", n);
	if (get_be64(b) != sent)
		mb_die("server counted %llu bytes, client sent %llu",
		    (unsigned long long)get_be64(b), (unsigned long long)sent);
}

void mb_client_setup(const char *host, int port)
{
	peer.sin_family = AF_INET;
	peer.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &peer.sin_addr) != 1)
		mb_die("HOST must be an IPv4 address: %s", host);
	if (mb_use_afmux) {
		/* spread_src is off: few TCP connections, from one address. */
		cmux = mb_new_mux();
		return;
	}
	if (peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
		unsigned long lo = 32768, hi = 60999;
		FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

		if (f) {
			if (fscanf(f, "%lu %lu", &lo, &hi) != 2)
				lo = 32768, hi = 60999;
			fclose(f);
		}
		/*
		 * connect() tries the even ports of the range first and scans
		 * all of them before it takes an odd one: keep under half.
		 */
		spread_src = true;
		per_src = (hi - lo + 1) / 2 * 9 / 10;
		if (per_src > PER_SRC_ADDR)
			per_src = PER_SRC_ADDR;
		if (per_src < 1)
			per_src = 1;
	}
	session_fd = mb_open_stream('C');
}

void mb_client_finish(void)
{
	if (cmux)
		mux_close(cmux);
	if (session_fd >= 0)
		close(session_fd);
}
