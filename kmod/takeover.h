/* SPDX-License-Identifier: GPL-2.0 */
/*
 * takeover.h - claiming a TCP socket for a mux and marking it afmux's for
 * good (takeover.c).
 */
#ifndef _AFMUX_TAKEOVER_H
#define _AFMUX_TAKEOVER_H

#include <net/sock.h>

/* The TCP socket callbacks a mux replaces while it runs. */
struct afmux_tcp_cbs {
	void (*data_ready)(struct sock *sk);
	void (*write_space)(struct sock *sk);
	void (*state_change)(struct sock *sk);
};

int afmux_takeover_init(void);
void afmux_takeover_exit(void);
int afmux_takeover_claim(struct sock *tsk, void *owner,
			 const struct afmux_tcp_cbs *ours,
			 struct afmux_tcp_cbs *saved);
void afmux_takeover_unclaim(struct sock *tsk,
			    const struct afmux_tcp_cbs *saved);
void afmux_takeover_shutdown(struct socket *tcp, int how);

#endif /* _AFMUX_TAKEOVER_H */
