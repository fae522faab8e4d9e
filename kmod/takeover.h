/* SPDX-License-Identifier: GPL-2.0 */
/*
 * takeover.h - claiming a TCP socket (plain or kTLS) for a mux and marking
 * it afmux's for good (takeover.c).
 */
#ifndef _AFMUX_TAKEOVER_H
#define _AFMUX_TAKEOVER_H

#include <net/sock.h>

/*
 * The TCP socket callbacks a mux replaces while it runs.  @error_report
 * is replaced only if set; @record_ready only over kTLS, where it is
 * kTLS's own "a record is complete" callback (its saved_data_ready).
 */
struct afmux_tcp_cbs {
	void (*data_ready)(struct sock *sk);
	void (*write_space)(struct sock *sk);
	void (*state_change)(struct sock *sk);
	void (*error_report)(struct sock *sk);
	void (*record_ready)(struct sock *sk);
};

int afmux_takeover_init(void);
void afmux_takeover_exit(void);
int afmux_takeover_claim(struct sock *tsk, void *owner,
			 const struct afmux_tcp_cbs *ours,
			 struct afmux_tcp_cbs *saved);
bool afmux_takeover_is_tls(const struct sock *tsk);
int afmux_takeover_claim_tls(struct sock *tsk, void *owner,
			     const struct afmux_tcp_cbs *ours,
			     struct afmux_tcp_cbs *saved);
const struct proto_ops *afmux_takeover_tls_base(const struct socket *sock);
void afmux_takeover_unclaim(struct sock *tsk,
			    const struct afmux_tcp_cbs *saved);
void afmux_takeover_shutdown(struct socket *tcp, int how);

#endif /* _AFMUX_TAKEOVER_H */
