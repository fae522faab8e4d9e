// SPDX-License-Identifier: GPL-2.0
/*
 * family-test.c - KUnit tests for family.c, #included at its end so they
 * reach its statics.  They run when the module loads (after its init), in
 * kernels built with CONFIG_KUNIT.
 */
#include <kunit/test.h>

static void afmux_family_test_check_range(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, afmux_family_check(AF_UNSPEC), -EINVAL);
	KUNIT_EXPECT_EQ(test, afmux_family_check(-1), -EINVAL);
	KUNIT_EXPECT_EQ(test, afmux_family_check(NPROTO), -EINVAL);
	KUNIT_EXPECT_EQ(test, afmux_family_check(INT_MAX), -EINVAL);
	KUNIT_EXPECT_EQ(test, afmux_family_check(1), 0);
	KUNIT_EXPECT_EQ(test, afmux_family_check(NPROTO - 1), 0);
	KUNIT_EXPECT_EQ(test, afmux_family_check(AFMUX_FAMILY_DEFAULT), 0);
}

/*
 * The registered family hands out mux sockets and refuses other types.
 * KUnit runs a module's suites before its init on 6.1 and after it on
 * newer kernels, so register the family (and the per-namespace state a
 * mux socket reads) here unless init already did.
 */
static void afmux_family_test_create(struct kunit *test)
{
	int family = afmux_family_nr();
	bool registered_here = false;
	struct socket *sock;

	if (!family) {
		family = AFMUX_FAMILY_DEFAULT;
		KUNIT_ASSERT_EQ(test, afmux_netns_init(), 0);
		KUNIT_ASSERT_EQ(test, afmux_family_register(family), 0);
		registered_here = true;
	}

	KUNIT_ASSERT_EQ(test, sock_create_kern(&init_net, family, SOCK_STREAM,
					       0, &sock), 0);
	KUNIT_EXPECT_PTR_EQ(test, sock->ops, &afmux_mux_ops);
	KUNIT_EXPECT_EQ(test, sock->sk->sk_family, family);
	KUNIT_EXPECT_PTR_EQ(test, sock->sk->sk_prot, &afmux_conn_proto);
	sock_release(sock);

	KUNIT_EXPECT_EQ(test, sock_create_kern(&init_net, family, SOCK_DGRAM,
					       0, &sock), -ESOCKTNOSUPPORT);
	KUNIT_EXPECT_EQ(test, sock_create_kern(&init_net, family, SOCK_STREAM,
					       IPPROTO_TCP, &sock),
			-EPROTONOSUPPORT);

	if (registered_here) {
		afmux_family_unregister(family);
		afmux_netns_exit();
	}
}

static struct kunit_case afmux_family_test_cases[] = {
	KUNIT_CASE(afmux_family_test_check_range),
	KUNIT_CASE(afmux_family_test_create),
	{}
};

static struct kunit_suite afmux_family_test_suite = {
	.name = "afmux_family",
	.test_cases = afmux_family_test_cases,
};

kunit_test_suite(afmux_family_test_suite);
