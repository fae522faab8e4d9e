// SPDX-License-Identifier: GPL-2.0
/*
 * family.c - the AF_MUX address family: registration and socket creation.
 *
 * socket(AF_MUX, SOCK_STREAM, 0) creates a mux socket.  The family number
 * is chosen at load time (see main.c): afmux_family_register() records
 * it in family_nr, which sockets take as their sk_family.  The proto_ops
 * tables (mux.c, stream.c) name the default number only as a label.
 */
#include <linux/module.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <net/sock.h>
#include <linux/afmux.h>

#include "afmux.h"

/* Set once by afmux_family_register(); 0 while unregistered. */
static int family_nr;

int afmux_family_nr(void)
{
	return family_nr;
}

static int afmux_create(struct net *net, struct socket *sock, int protocol,
			int kern)
{
	struct sock *sk;

	if (sock->type != SOCK_STREAM)
		return -ESOCKTNOSUPPORT;
	if (protocol != 0)
		return -EPROTONOSUPPORT;

	sk = sk_alloc(net, family_nr, GFP_KERNEL, &afmux_conn_proto, kern);
	if (!sk)
		return -ENOMEM;
	sock->ops = &afmux_mux_ops;
	sock_init_data(sock, sk);
	afmux_mux_sock_init(sk);
	return 0;
}

static struct net_proto_family afmux_family_ops __ro_after_init = {
	/* .family is set by afmux_family_register() */
	.create	= afmux_create,
	.owner	= THIS_MODULE,
};

/**
 * afmux_family_check - is @family a number sock_register() could accept?
 * @family: candidate address family number
 *
 * Return: 0, or -EINVAL for AF_UNSPEC, negative numbers and numbers at or
 * above NPROTO.  Whether the number is free is only known to
 * sock_register().
 */
int afmux_family_check(int family)
{
	if (family <= AF_UNSPEC || family >= NPROTO)
		return -EINVAL;
	return 0;
}

/**
 * afmux_family_register - register AF_MUX under number @family
 * @family: a number accepted by afmux_family_check()
 *
 * Context: module init only (writes __ro_after_init data).
 * Return: 0, -EEXIST if @family belongs to another protocol, or another
 * negative errno.
 */
int afmux_family_register(int family)
{
	int err;

	afmux_family_ops.family = family;

	afmux_memory_init();
	err = proto_register(&afmux_conn_proto, 1);
	if (err)
		return err;
	err = proto_register(&afmux_stream_proto, 1);
	if (err)
		goto err_conn_proto;
	family_nr = family;
	err = sock_register(&afmux_family_ops);
	if (err)
		goto err_proto_unregister;
	return 0;

err_proto_unregister:
	family_nr = 0;
	proto_unregister(&afmux_stream_proto);
err_conn_proto:
	proto_unregister(&afmux_conn_proto);
	return err;
}

void afmux_family_unregister(int family)
{
	sock_unregister(family);
	family_nr = 0;
	proto_unregister(&afmux_stream_proto);
	proto_unregister(&afmux_conn_proto);
}

#ifdef AFMUX_KUNIT
#include "test/family-test.c"
#endif
