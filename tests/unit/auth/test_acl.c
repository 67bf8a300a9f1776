/* sc_acl: public channels, namespaces bound to the subject, token grants,
 * and the pattern rule (a pattern is allowed only if one entry covers all
 * it can match). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sc_acl.h"

static char err[256];

static struct sc_acl *policy(const char *const *pub, const char *const *ns)
{
    struct sc_acl *acl = sc_acl_new();

    assert_non_null(acl);
    for (; pub && *pub; pub++)
        assert_int_equal(sc_acl_add_public(acl, *pub, err, sizeof(err)), 0);
    for (; ns && *ns; ns++)
        assert_int_equal(sc_acl_add_namespace(acl, *ns, err, sizeof(err)), 0);
    return acl;
}

static int check(const struct sc_acl *acl, const char *sub, const char *const *grants,
                 const char *name)
{
    size_t n = 0;

    while (grants && grants[n])
        n++;
    return sc_acl_check(acl, sub, grants, n, name, strlen(name));
}

#define ALLOW(acl, sub, grants, name)                             \
    do {                                                          \
        int r_ = check(acl, sub, grants, name);                   \
        if (r_ != 0)                                              \
            fail_msg("'%s' should be allowed, got %d", name, r_); \
    } while (0)

#define DENY(acl, sub, grants, name)                             \
    do {                                                         \
        int r_ = check(acl, sub, grants, name);                  \
        if (r_ != -EACCES)                                       \
            fail_msg("'%s' should be denied, got %d", name, r_); \
    } while (0)

static void test_anonymous_gets_public_only(void **state)
{
    static const char *const pub[] = {"news", "public.*", NULL};
    static const char *const ns[] = {"user.{sub}", NULL};
    struct sc_acl *acl = policy(pub, ns);

    (void)state;
    ALLOW(acl, NULL, NULL, "news");
    ALLOW(acl, "", NULL, "public.weather");
    ALLOW(acl, NULL, NULL, "public.w*");
    ALLOW(acl, NULL, NULL, "[n]ews");
    DENY(acl, NULL, NULL, "new?");
    DENY(acl, NULL, NULL, "newsx");
    DENY(acl, NULL, NULL, "public");
    DENY(acl, NULL, NULL, "*");
    DENY(acl, NULL, NULL, "user.{sub}");
    DENY(acl, NULL, NULL, "");
    sc_acl_free(acl);
}

/* The cases of the issue, grant "team.42.*". */
static void test_grant_patterns(void **state)
{
    static const char *const g[] = {"team.42.*", "news", NULL};
    struct sc_acl *acl = policy(NULL, NULL);

    (void)state;
    ALLOW(acl, "u", g, "team.42.chat");
    ALLOW(acl, "u", g, "team.42.x*");
    ALLOW(acl, "u", g, "team.42.[a-z]*");
    ALLOW(acl, "u", g, "[t]eam.42.*");
    ALLOW(acl, "u", g, "team.42.*");
    ALLOW(acl, "u", g, "team.42.?");
    ALLOW(acl, "u", g, "news");
    ALLOW(acl, "u", g, "new[s]");
    DENY(acl, "u", g, "team.*");
    DENY(acl, "u", g, "team.4?.*");
    DENY(acl, "u", g, "*");
    DENY(acl, "u", g, "team.42*");
    DENY(acl, "u", g, "team.42\\*"); /* the literal "team.42*" */
    DENY(acl, "u", g, "team.43.chat");
    DENY(acl, "u", g, "news*");
    ALLOW(acl, "u", g, "team.42.[^a]");
    sc_acl_free(acl);
}

static void test_escapes_and_classes(void **state)
{
    static const char *const g1[] = {"team.*", NULL};
    static const char *const g2[] = {"team.42[*]", NULL};
    static const char *const g3[] = {"room.[a-m]*", "a\\b", NULL};
    struct sc_acl *acl = policy(NULL, NULL);

    (void)state;
    ALLOW(acl, "u", g1, "team.42\\*");
    ALLOW(acl, "u", g2, "team.42\\*");
    ALLOW(acl, "u", g2, "team.42[*]");
    DENY(acl, "u", g2, "team.42*");
    ALLOW(acl, "u", g3, "room.apple");
    ALLOW(acl, "u", g3, "room.[b-c]*");
    ALLOW(acl, "u", g3, "room.[c-b]x");
    DENY(acl, "u", g3, "room.[^n-z]*"); /* [^n-z] includes '!' and 'A' */
    DENY(acl, "u", g3, "room.[a-n]*");
    DENY(acl, "u", g3, "room.zebra");
    ALLOW(acl, "u", g3, "a\\b"); /* exact grant, exact request */
    DENY(acl, "u", g3, "ab");
    sc_acl_free(acl);
}

static void test_namespaces_follow_the_subject(void **state)
{
    static const char *const ns[] = {"user.{sub}", "user.{sub}.*", "dm.{sub}.{sub}", NULL};
    struct sc_acl *acl = policy(NULL, ns);

    (void)state;
    ALLOW(acl, "42", NULL, "user.42");
    ALLOW(acl, "42", NULL, "user.42.inbox");
    ALLOW(acl, "42", NULL, "user.42.*");
    ALLOW(acl, "42", NULL, "user.42.in*");
    ALLOW(acl, "42", NULL, "dm.42.42");
    DENY(acl, "42", NULL, "user.43");
    DENY(acl, "42", NULL, "user.4*");
    DENY(acl, "42", NULL, "user.*");
    DENY(acl, "42", NULL, "user.42*");
    DENY(acl, "42", NULL, "dm.42.43");
    DENY(acl, "43", NULL, "user.42");
    DENY(acl, NULL, NULL, "user.42");
    /* Documented: with "user.{sub}.*", subject "42" also reads the
     * namespace of a subject "42.x" (docs/security.md, namespaces). */
    ALLOW(acl, "42", NULL, "user.42.x.inbox");
    sc_acl_free(acl);
}

/* A subject full of glob metacharacters names itself and nothing more. */
static void test_subject_metacharacters_do_not_widen(void **state)
{
    static const char *const ns[] = {"user.{sub}", "user.{sub}.*", NULL};
    struct sc_acl *acl = policy(NULL, ns);

    (void)state;
    DENY(acl, "*", NULL, "user.*");
    DENY(acl, "*", NULL, "user.*.*");
    DENY(acl, "*", NULL, "user.42");
    ALLOW(acl, "*", NULL, "user.\\*");
    ALLOW(acl, "*", NULL, "user.[*]");
    ALLOW(acl, "*", NULL, "user.\\*.*");
    DENY(acl, "a?c", NULL, "user.abc");
    DENY(acl, "a?c", NULL, "user.a?c"); /* a pattern: matches user.abc */
    ALLOW(acl, "a?c", NULL, "user.a\\?c");
    DENY(acl, "[ab]", NULL, "user.a");
    DENY(acl, "[ab]", NULL, "user.[ab]");
    ALLOW(acl, "[ab]", NULL, "user.\\[ab]");
    DENY(acl, "[^x]", NULL, "user.y");
    ALLOW(acl, "x\\", NULL, "user.x\\"); /* exact name ending in '\' */
    DENY(acl, "x\\", NULL, "user.x");
    DENY(acl, "x\\", NULL, "user.x*");
    ALLOW(acl, "a]b", NULL, "user.a]b");
    ALLOW(acl, "{sub}", NULL, "user.{sub}");
    DENY(acl, "{sub}", NULL, "user.x");
    sc_acl_free(acl);
}

/* Sound, not complete: a pattern covered only by two grants together. */
static void test_union_of_grants_is_not_enough(void **state)
{
    static const char *const g[] = {"a.*", "b.*", NULL};
    struct sc_acl *acl = policy(NULL, NULL);

    (void)state;
    ALLOW(acl, "u", g, "a.x*");
    ALLOW(acl, "u", g, "b.x*");
    DENY(acl, "u", g, "[ab].*");
    sc_acl_free(acl);
}

static void test_too_complex_is_refused(void **state)
{
    char req[64] = "*a", grant[64] = "*[ab]";
    const char *g[] = {grant, NULL};
    const char *g2[] = {grant, "*", NULL};
    struct sc_acl *acl = policy(NULL, NULL);

    (void)state;
    for (int i = 0; i < 22; i++) {
        strcat(req, "?");
        strcat(grant, "?");
    }
    assert_int_equal(check(acl, "u", g, req), -E2BIG);
    assert_int_equal(check(acl, "u", g2, req), 0); /* another grant covers it */
    sc_acl_free(acl);
}

/* One budget across calls: what a pattern check used is subtracted, a
 * spent budget refuses undecided patterns but not exact channels. */
static void test_shared_budget(void **state)
{
    static const char *const g[] = {"team.42.*", NULL};
    struct sc_acl *acl = policy(NULL, NULL);
    char big[5000];
    uint64_t budget = SC_GLOB_MAX_WORK, before;

    (void)state;
    before = budget;
    assert_int_equal(sc_acl_check_budget(acl, "u", g, 1, "team.42.x*", 10, &budget), 0);
    print_message("team.42.x* in team.42.*: %llu units\n", (unsigned long long)(before - budget));
    assert_true(before - budget < 2000);
    /* Long names stay cheap: the grant's final star ends the search. */
    memset(big, 'x', sizeof(big));
    memcpy(big, "team.42.", 8);
    big[sizeof(big) - 2] = '*';
    before = budget;
    assert_int_equal(sc_acl_check_budget(acl, "u", g, 1, big, sizeof(big) - 1, &budget), 0);
    assert_true(before - budget < 20000);
    budget = 0;
    assert_int_equal(sc_acl_check_budget(acl, "u", g, 1, "team.42.x*", 10, &budget), -E2BIG);
    assert_int_equal(sc_acl_check_budget(acl, "u", g, 1, "team.42.x", 9, &budget), 0);
    assert_int_equal(sc_acl_check_budget(acl, "u", g, 1, "team.42.*", 9, &budget), 0);
    assert_int_equal(sc_acl_check_budget(acl, "u", g, 1, "team.43.x", 9, &budget), -EACCES);
    sc_acl_free(acl);
}

static void test_utf8_and_high_bytes(void **state)
{
    static const char *const g[] = {"caf\xc3\xa9.*", NULL};
    struct sc_acl *acl = policy(NULL, NULL);

    (void)state;
    ALLOW(acl, "u", g, "caf\xc3\xa9.menu");
    ALLOW(acl, "u", g, "caf\xc3\xa9.m*");
    DENY(acl, "u", g, "caf?.m*");
    DENY(acl, "u", g, "caf[\xc3-\xc4]*");
    sc_acl_free(acl);
}

static void test_config_errors(void **state)
{
    struct sc_acl *acl = sc_acl_new();
    char big[SC_ACL_MAX_ENTRY + 2];

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(sc_acl_add_namespace(acl, "user.x", err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "{sub}"));
    assert_int_equal(sc_acl_add_public(acl, "", err, sizeof(err)), -EINVAL);
    assert_int_equal(sc_acl_add_public(acl, big, err, sizeof(err)), -EINVAL);
    assert_int_equal(sc_acl_add_public(acl, big + 2, err, sizeof(err)), 0);
    sc_acl_free(acl);
    sc_acl_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anonymous_gets_public_only),
        cmocka_unit_test(test_grant_patterns),
        cmocka_unit_test(test_escapes_and_classes),
        cmocka_unit_test(test_namespaces_follow_the_subject),
        cmocka_unit_test(test_subject_metacharacters_do_not_widen),
        cmocka_unit_test(test_union_of_grants_is_not_enough),
        cmocka_unit_test(test_too_complex_is_refused),
        cmocka_unit_test(test_shared_budget),
        cmocka_unit_test(test_utf8_and_high_bytes),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
