/* SPDX-License-Identifier: GPL-2.0 */
/*
 * muxbench.h - what muxbench's files share: the mode, the I/O size and
 * each file's entry points.  muxbench.c has the contract (its top
 * comment), the helpers both ends use and main(); muxbench-server.c the
 * server; muxbench-client.c the client's connection and streams;
 * muxbench-work.c the client's workloads.
 */
#ifndef MUXBENCH_H
#define MUXBENCH_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IO		(64 * 1024)

/* muxbench.c */
extern bool mb_use_afmux;		/* afmux, afmux-ktls */
extern bool mb_use_tls;			/* ktls, afmux-ktls */
extern int mb_connections;		/* afmux-poolN: N TCP connections */
extern const char *mb_tls_cipher;	/* what kTLS got, for bulk's result */
void mb_die(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
double mb_now(void);
void mb_raise_nofile(void);
void mb_nodelay(int fd);
void mb_tls_handshake(int fd, bool server);

/* muxbench-server.c */
int mb_server(int port);

/* muxbench-client.c */
void mb_client_setup(const char *host, int port);
void mb_client_finish(void);
struct mux;
struct mux *mb_new_mux(void);
int mb_open_stream_on(struct mux *m, char role);
int mb_open_stream(char role);
void mb_check_count(int fd, uint64_t sent, bool shut);

/* muxbench-work.c */
struct mb_workload {
	const char *name;
	void (*run)(int argc, char **argv);
};
extern const struct mb_workload mb_workloads[];
extern const size_t mb_nworkloads;

#endif
