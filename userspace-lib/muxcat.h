/* SPDX-License-Identifier: GPL-2.0 */
/*
 * muxcat.h - what muxcat's files share: the options, the messages, and
 * each file's entry points.  muxcat.c has the program and the streams'
 * modes; muxcat_args.c the usage text and the command line;
 * muxcat_copy.c moving bytes between fds; muxcat_exec.c exec and run;
 * muxcat_tcp.c the TCP connections.
 */
#ifndef MUXCAT_H
#define MUXCAT_H

#include <errno.h>
#include <getopt.h>
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
	unsigned int connections;	/* --connections: TCP connections */
	int tls;			/* --tls: the connection inside TLS */
	int zerocopy;			/* --zerocopy: send files so */
	struct mux_tls tls_opts;	/* --cert, --key, --ca, --insecure */
};

struct stream {
	int fd;
	uint32_t id;
	size_t key_len;
	unsigned char key[AFMUX_KEY_MAX];
};

extern int verbose;
extern const char usage_text[];

/* muxcat_args.c */
__attribute__((format(printf, 2, 3)))
void msg(int err, const char *fmt, ...);
void escape_key(char *out, const unsigned char *key, size_t len);
int parse_key(const char *arg, int hex, unsigned char *key,
		size_t *key_len);
void stream_filename(char name[NAME_MAX + 1], uint32_t id,
		const unsigned char *key, size_t len);
void hex_encode(char *out, const unsigned char *key, size_t len);
int parse_args(int argc, char **argv, struct opts *o);
int parse_count(const char *s, unsigned long *out);
int parse_window(const char *s, uint32_t *out);

/* muxcat_copy.c */
int copy_count(int in, const char *iname, int out, const char *oname,
		uint64_t *bytes);
int copy(int in, const char *iname, int out, const char *oname);

/* muxcat_zc.c */
int copy_zerocopy(int in, const char *iname, int out, const char *oname,
		  uint64_t *bytes);

/* muxcat_exec.c */
int do_exec(struct mux *m, const struct opts *o);
int do_run(struct mux *m, const struct opts *o);

/* muxcat.c */
int accept_stream(struct mux *m, struct stream *s);

/* muxcat_tcp.c */
int tcp_connect(const struct opts *o);
int tcp_listen(const struct opts *o);
int tcp_accept(const struct opts *o, int lfd);
int accept_failed(int err, unsigned long done, unsigned long count);
void abort_stream(int fd);
int set_window(int fd, uint32_t id, uint32_t window);
int finish_mux(struct mux *m, int status);
void report_stream(const char *what, uint32_t id,
		const unsigned char *key, size_t len);
void reset_stream(int fd);

#endif /* MUXCAT_H */
