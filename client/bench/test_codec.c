/* Tests for the bench's codecs: SHA-1 and the upgrade handshake (base64 is
 * shard/'s, tested in tests/unit/shard/test_base64.c),
 * RESP in and out, the payload stamp and delivery frame recognition, the
 * channel layout, and option parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <getopt.h>

#include <cmocka.h>

#include "sc_delivery.h"
#include "sc_handshake.h"
#include "sc_opts.h"
#include "sc_resp.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha1(void **state)
{
    uint8_t d[20];
    char h[41];
    char *million = malloc(1000000);

    (void)state;
    sc_sha1("abc", 3, d);
    hex(d, 20, h);
    assert_string_equal(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
    sc_sha1("", 0, d);
    hex(d, 20, h);
    assert_string_equal(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    /* 56 bytes: the padding needs a second block. */
    sc_sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d);
    hex(d, 20, h);
    assert_string_equal(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    memset(million, 'a', 1000000);
    sc_sha1(million, 1000000, d);
    hex(d, 20, h);
    assert_string_equal(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(million);
}

static void test_handshake(void **state)
{
    char accept[SC_HS_ACCEPT_LEN + 1], key[SC_HS_KEY_LEN + 1], key2[SC_HS_KEY_LEN + 1];
    char req[512], resp[512];
    int status = 0, n;

    (void)state;
    /* The example of RFC 6455 section 1.3. */
    sc_hs_accept("dGhlIHNhbXBsZSBub25jZQ==", accept);
    assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    sc_hs_key(42, key);
    sc_hs_key(42, key2);
    assert_string_equal(key, key2);
    assert_int_equal(strlen(key), 24);
    sc_hs_key(43, key2);
    assert_string_not_equal(key, key2);
    n = sc_hs_request(req, sizeof(req), "127.0.0.1:80", "/ws?channels=a,b", key);
    assert_true(n > 0);
    assert_non_null(strstr(req, "GET /ws?channels=a,b HTTP/1.1\r\n"));
    assert_non_null(strstr(req, "Sec-WebSocket-Version: 13\r\n"));
    assert_int_equal(sc_hs_request(req, 20, "h", "/", key), -ENOSPC);

    n = snprintf(resp, sizeof(resp),
                 "HTTP/1.1 101 Switching Protocols\r\n"
                 "upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n\r\n\x81\x02ok",
                 accept);
    assert_int_equal(sc_hs_response(resp, (size_t)n, accept, &status), n - 4);
    assert_int_equal(sc_hs_response(resp, 40, accept, &status), 0);
    resp[n - 20] ^= 1; /* corrupt the accept value */
    assert_int_equal(sc_hs_response(resp, (size_t)n, accept, &status), -EBADMSG);
    strcpy(resp, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(sc_hs_response(resp, strlen(resp), accept, &status), -EACCES);
    assert_int_equal(status, 503);
    strcpy(resp, "SSH-2.0-OpenSSH\r\n\r\n");
    assert_int_equal(sc_hs_response(resp, strlen(resp), accept, &status), -EPROTO);
}

static void test_resp(void **state)
{
    static const char push[] = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
    struct sc_resp_val top, el[4];
    const char *argv[] = {"PUBLISH", "ch", "a\r\nb"};
    size_t lens[] = {7, 2, 4}, i;
    char out[128];

    (void)state;
    assert_int_equal(sc_resp_parse(push, sizeof(push) - 1, &top, el, 4), sizeof(push) - 1);
    assert_int_equal(top.num, 3);
    assert_int_equal(el[2].len, 5);
    assert_memory_equal(el[2].str, "hello", 5);
    for (i = 0; i < sizeof(push) - 1; i++)
        assert_int_equal(sc_resp_parse(push, i, &top, el, 4), 0);
    assert_int_equal(sc_resp_parse(":42\r\n", 5, &top, NULL, 0), 5);
    assert_int_equal(top.num, 42);
    assert_int_equal(sc_resp_parse("-ERR x\r\n", 8, &top, NULL, 0), 8);
    assert_int_equal(top.type, '-');
    assert_int_equal(sc_resp_parse("$-1\r\n", 5, &top, NULL, 0), 5);
    assert_null(top.str);
    /* More elements than room: consumed whole, the first ones kept. */
    assert_int_equal(sc_resp_parse("*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", 20, &top, el, 2), 20);
    assert_int_equal(el[1].num, 2);
    assert_int_equal(sc_resp_parse("*1\r\n*0\r\n", 8, &top, el, 2), -EPROTO);
    assert_int_equal(sc_resp_parse("?x\r\n", 4, &top, el, 2), -EPROTO);
    assert_int_equal(sc_resp_cmd(out, sizeof(out), 3, argv, lens),
                     strlen("*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$4\r\na\r\nb\r\n"));
    assert_memory_equal(out, "*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$4\r\na\r\nb\r\n", 35);
    assert_int_equal(sc_resp_cmd(out, 10, 3, argv, lens), 0);
}

static void test_payload_and_frames(void **state)
{
    struct sc_stamp in = {0xdeadbeef, 7, 12345, 0x0123456789abcdefull}, st;
    char pay[64], frame[256];
    const char *data = NULL;
    size_t dlen = 0;
    int n;

    (void)state;
    sc_payload_write(pay, sizeof(pay), &in);
    assert_int_equal(pay[63], 'x');
    assert_int_equal(sc_payload_read(pay, sizeof(pay), &st), 0);
    assert_int_equal(st.tag, in.tag);
    assert_int_equal(st.seq, 7);
    assert_int_equal(st.chan, 12345);
    assert_true(st.ts == in.ts);
    assert_int_equal(sc_payload_read(pay, 41, &st), -EINVAL);
    assert_int_equal(sc_payload_read("hello world, not a stamp at all, nope......", 43, &st),
                     -EINVAL);

    n = snprintf(frame, sizeof(frame),
                 "{\"op\":\"message\",\"channel\":\"bench.0\","
                 "\"data\":\"%.64s\"}",
                 pay);
    assert_int_equal(sc_frame_classify(frame, (size_t)n, &data, &dlen), SC_FRAME_MESSAGE);
    assert_int_equal(sc_payload_read(data, dlen, &st), 0);
    n = snprintf(frame, sizeof(frame),
                 "{\"channel\": \"c\", \"data\" : \"%.64s\", "
                 "\"op\": \"message\"}",
                 pay);
    assert_int_equal(sc_frame_classify(frame, (size_t)n, &data, &dlen), SC_FRAME_MESSAGE);
    assert_int_equal(sc_payload_read(data, dlen, &st), 0);
    assert_int_equal(sc_frame_classify("{\"op\":\"ok\",\"id\":1}", 18, &data, &dlen), SC_FRAME_OK);
    assert_int_equal(sc_frame_classify("{\"op\":\"error\"}", 14, &data, &dlen), SC_FRAME_ERROR);
    assert_int_equal(sc_frame_classify("{\"op\":\"missed\",\"channels\":[]}", 29, &data, &dlen),
                     SC_FRAME_MISSED);
    assert_int_equal(sc_frame_classify("{\"op\":\"okay\"}", 13, &data, &dlen), SC_FRAME_OTHER);
    assert_int_equal(sc_frame_classify("[1,2]", 5, &data, &dlen), SC_FRAME_OTHER);
}

static void test_channel_layout(void **state)
{
    static const uint32_t cases[][3] = {
        {1000, 1, 1000}, {1000, 4, 100}, {997, 3, 10}, {50, 8, 50}, {7, 2, 3}};
    uint32_t c, i, j, n, k, s, nchan, *count;
    uint64_t total = 0;

    (void)state;
    for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        n = cases[c][0], k = cases[c][1], s = cases[c][2];
        nchan = (uint32_t)(((uint64_t)n * k + s - 1) / s);
        count = calloc(nchan, sizeof(*count));
        for (i = 0; i < n; i++) {
            for (j = 0; j < k; j++) {
                uint32_t ch = sc_chan_of(i, j, n, s), jj;

                assert_true(ch < nchan);
                count[ch]++;
                for (jj = 0; jj < j; jj++)
                    assert_int_not_equal(sc_chan_of(i, jj, n, s), ch);
            }
        }
        for (i = 0; i + 1 < nchan; i++)
            assert_int_equal(count[i], s);
        free(count);
    }
    for (i = 0; i < 7; i++)
        total += sc_published_on(100, 7, i);
    assert_int_equal(total, 100);
    assert_int_equal(sc_published_on(100, 7, 1), 15);
    assert_int_equal(sc_published_on(100, 7, 2), 14);
}

/* Parses a NULL-terminated argv list into o. */
static int parse(struct sc_opts *o, const char **args)
{
    char *argv[32];
    int argc = 0;

    argv[argc++] = (char *)"shardcast-bench";
    while (*args)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    optind = 0;
    return sc_opts_parse(o, argc, argv);
}

static void test_options(void **state)
{
    const char *ok[] = {"-c",
                        "10",
                        "--channels-per-conn",
                        "2",
                        "--subs-per-channel",
                        "5",
                        "--url",
                        "ws://127.0.0.1:9000/x?c={channels}&n={conn}",
                        "--src",
                        "127.0.0.2-127.0.0.4",
                        "-r",
                        "100",
                        "-d",
                        "2",
                        NULL};
    const char *bad1[] = {"--rate", "fast", NULL};
    const char *bad2[] = {"--target", "192.168.1.1:80", NULL};
    const char *bad3[] = {"-c", "10", "--subs-per-channel", "11", NULL};
    const char *bad4[] = {"--no-such-option", NULL};
    struct sc_opts o;
    char out[256];

    (void)state;
    assert_int_equal(parse(&o, ok), 0);
    assert_int_equal(o.nchan, 4);
    assert_int_equal(o.count, 200);
    assert_int_equal(o.src_last - o.src_first, 2);
    assert_string_equal(o.targets[0].host, "127.0.0.1:9000");
    assert_int_equal(sc_opts_expand(&o, o.path, 7, out, sizeof(out)),
                     (int)strlen("/x?c=bench.1,bench.3&n=7"));
    assert_string_equal(out, "/x?c=bench.1,bench.3&n=7");
    sc_opts_expand(&o, "[{channels_json}]", 0, out, sizeof(out));
    assert_string_equal(out, "[\"bench.0\",\"bench.2\"]");
    assert_int_equal(sc_opts_expand(&o, "{channels}", 0, out, 8), -ENOSPC);
    sc_opts_free(&o);
    assert_int_equal(parse(&o, bad1), -EINVAL);
    sc_opts_free(&o);
    assert_int_equal(parse(&o, bad2), -EINVAL);
    sc_opts_free(&o);
    assert_int_equal(parse(&o, bad3), -EINVAL);
    sc_opts_free(&o);
    assert_int_equal(parse(&o, bad4), -EINVAL);
    sc_opts_free(&o);
}

/* --redis takes the node's grammar (shard/sc_redis_url.h), then the bench's
 * own limits: a loopback IPv4 host and no credentials (it sends no AUTH). */
static void test_redis_option(void **state)
{
    static const struct {
        const char *url, *host;
    } ok[] = {
        {"redis://127.0.0.1:7001", "127.0.0.1:7001"},
        {"redis://localhost", "localhost:6379"},
        {"REDIS://127.0.0.2:1/0", "127.0.0.2:1"},
    };
    static const char *const bad[] = {
        "redis://127.0.0.1:6379/x",    "redis://127.0.0.1:6379?db=1", "redis://:pw@127.0.0.1",
        "redis://u:pw@127.0.0.1:6379", "redis://10.0.0.1:6379",       "redis://[::1]:6379",
        "redis://127.0.0.1:0",         "http://127.0.0.1:6379",       "127.0.0.1:6379",
    };
    struct sc_opts o;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *args[] = {"--redis", ok[i].url, NULL};

        assert_int_equal(parse(&o, args), 0);
        assert_string_equal(o.redis.host, ok[i].host);
        sc_opts_free(&o);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *args[] = {"--redis", bad[i], NULL};

        if (parse(&o, args) != -EINVAL)
            fail_msg("accepted --redis %s", bad[i]);
        sc_opts_free(&o);
    }
}

/* --random: every round publishes once to each channel, the sequence of a
 * channel rises by one per round, and sc_opts_published_on matches what
 * was published after any number of messages. */
static void test_random_order(void **state)
{
    static const char *sizes[] = {"1", "2", "7", "10", "64", "997", "1000"};
    const char *args[] = {"-c", NULL, "--subs-per-channel", "1", "--random", NULL};
    uint32_t s, n, k, total, *count, *seq, ch, differ;
    struct sc_opts o;

    (void)state;
    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        args[1] = sizes[s];
        assert_int_equal(parse(&o, args), 0);
        n = o.nchan;
        assert_int_equal(n, (uint32_t)atoi(sizes[s]));
        count = calloc(n, sizeof(*count));
        seq = calloc(n, sizeof(*seq));
        differ = 0;
        for (k = 0, total = 3 * n + n / 2 + 1; k < total; k++) {
            ch = sc_opts_pub_chan(&o, k);
            assert_true(ch < n);
            assert_int_equal(seq[ch] + 1, k / n + 1);
            seq[ch] = k / n + 1;
            count[ch]++;
            differ += ch != k % n;
            if (k % 7 == 0 || k + 1 == total)
                for (ch = 0; ch < n; ch++)
                    assert_int_equal(sc_opts_published_on(&o, k + 1, ch), count[ch]);
        }
        if (n > 2)
            assert_true(differ > 0);
        free(count);
        free(seq);
        sc_opts_free(&o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha1),           cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_resp),           cmocka_unit_test(test_payload_and_frames),
        cmocka_unit_test(test_channel_layout), cmocka_unit_test(test_options),
        cmocka_unit_test(test_redis_option),   cmocka_unit_test(test_random_order),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
