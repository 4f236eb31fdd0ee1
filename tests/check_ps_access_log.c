/*  check_ps_access_log: the access log writer (exact Combined Log Format
    lines, escaping, buffering until the flush deadline, reopen after a
    rotation) and the client address from Forwarded / X-Forwarded-For.
    The server's own lines, 499 and the signals are in
    tests/test_access_log.sh.
*/
#include "../src/ps_access_log.h"
#include "../src/ps_forwarded.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  The whole file as a string ("" if missing). Caller frees.
static char *
s_slurp (const char *path)
{
    FILE *file = fopen (path, "r");
    char *text = (char *) calloc (1, 65536);
    if (file) {
        size_t size = fread (text, 1, 65535, file);
        text[size] = 0;
        fclose (file);
    }
    return text;
}

START_TEST (test_line_format)
{
    setenv ("TZ", "UTC", 1);
    tzset ();
    char path[] = "/tmp/ps_access_log_XXXXXX";
    int fd = mkstemp (path);
    ck_assert_int_ge (fd, 0);
    close (fd);
    ps_access_log_t *log = ps_access_log_new (path);
    ck_assert_ptr_nonnull (log);
    char *request = ps_access_log_request ("GET", "/a?b=\"c\"\\", 11);
    ck_assert_str_eq (request, "\"GET /a?b=\\x22c\\x22\\x5c HTTP/1.1\"");
    char *headers = ps_access_log_headers ("http://r/", "ag\x01\xc3\xa9nt");
    ck_assert_str_eq (headers, "\"http://r/\" \"ag\\x01\\xc3\\xa9nt\"");
    char *none = ps_access_log_headers (NULL, "");
    ck_assert_str_eq (none, "\"-\" \"-\"");
    //  2026-12-04 08:20:00 UTC
    time_t wall = 1796372400;
    ps_access_log_line (log, "192.0.2.1", request, 200, 154, headers, wall, 1234567, 1000);
    ps_access_log_line (log, "2001:db8::1", NULL, 499, 0, NULL, wall + 1, 42, 1001);
    ps_access_log_line (log, "", NULL, 408, 99, none, wall + 1, 0, 1002);
    //  Buffered until the deadline (200 ms after the first line)
    char *text = s_slurp (path);
    ck_assert_str_eq (text, "");
    free (text);
    ck_assert_int_eq (ps_access_log_tick (log, 1100), 1200);
    text = s_slurp (path);
    ck_assert_str_eq (text, "");
    free (text);
    ck_assert_int_eq (ps_access_log_tick (log, 1200), INT64_MAX);
    text = s_slurp (path);
    ck_assert_str_eq (text,
                      "192.0.2.1 - - [04/Dec/2026:08:20:00 +0000] \"GET /a?b=\\x22c\\x22\\x5c "
                      "HTTP/1.1\" 200 154 \"http://r/\" \"ag\\x01\\xc3\\xa9nt\" 1.234567\n"
                      "2001:db8::1 - - [04/Dec/2026:08:20:01 +0000] \"-\" 499 0 \"-\" \"-\" "
                      "0.000042\n"
                      "- - - [04/Dec/2026:08:20:01 +0000] \"-\" 408 99 \"-\" \"-\" 0.000000\n");
    free (text);
    free (request);
    free (headers);
    free (none);
    ps_access_log_destroy (&log);
    ps_access_log_destroy (&log);  //  accepts NULL
    unlink (path);
}
END_TEST

START_TEST (test_reopen_and_destroy_flush)
{
    char path[] = "/tmp/ps_access_log_XXXXXX";
    int fd = mkstemp (path);
    ck_assert_int_ge (fd, 0);
    close (fd);
    char rotated[64];
    snprintf (rotated, sizeof rotated, "%s.1", path);
    ps_access_log_t *log = ps_access_log_new (path);
    ps_access_log_line (log, "1.1.1.1", NULL, 200, 1, NULL, 0, 0, 0);
    //  logrotate: move, then signal; what was buffered goes to the old file
    ck_assert_int_eq (rename (path, rotated), 0);
    ck_assert_int_eq (ps_access_log_reopen (log), 0);
    ps_access_log_line (log, "2.2.2.2", NULL, 200, 1, NULL, 0, 0, 0);
    ps_access_log_destroy (&log);  //  writes what is buffered
    char *old = s_slurp (rotated);
    char *fresh = s_slurp (path);
    ck_assert_ptr_nonnull (strstr (old, "1.1.1.1 "));
    ck_assert_ptr_null (strstr (old, "2.2.2.2"));
    ck_assert_ptr_nonnull (strstr (fresh, "2.2.2.2 "));
    ck_assert_ptr_null (strstr (fresh, "1.1.1.1"));
    free (old);
    free (fresh);
    unlink (path);
    unlink (rotated);
    //  A file that cannot be opened: NULL
    ck_assert_ptr_null (ps_access_log_new ("/nonexistent-dir/access.log"));
}
END_TEST

//  Many lines: written once the buffer is full, without waiting
START_TEST (test_full_buffer)
{
    char path[] = "/tmp/ps_access_log_XXXXXX";
    int fd = mkstemp (path);
    close (fd);
    ps_access_log_t *log = ps_access_log_new (path);
    char *request = ps_access_log_request ("GET", "/some/longer/path/to/fill/the/buffer", 11);
    for (int i = 0; i < 1000; i++)
        ps_access_log_line (log, "192.0.2.1", request, 200, 100, NULL, 0, 0, 0);
    char *text = s_slurp (path);
    ck_assert_uint_gt (strlen (text), 30000);
    free (text);
    free (request);
    ps_access_log_destroy (&log);
    unlink (path);
}
END_TEST

static const char *
s_client (const char *name, const char *value, const char *name2, const char *value2)
{
    static char out[64];
    ps_pairs_t *headers = ps_pairs_new (true);
    ps_pairs_add (headers, "Host", "h");
    if (name)
        ps_pairs_add (headers, name, value);
    if (name2)
        ps_pairs_add (headers, name2, value2);
    bool found = ps_forwarded_client (headers, out, sizeof out);
    ps_pairs_destroy (&headers);
    return found ? out : "(none)";
}

START_TEST (test_forwarded)
{
    ck_assert_str_eq (s_client (NULL, NULL, NULL, NULL), "(none)");
    //  X-Forwarded-For: the last hop, the one our proxy appended
    ck_assert_str_eq (s_client ("X-Forwarded-For", "10.0.0.1", NULL, NULL), "10.0.0.1");
    ck_assert_str_eq (s_client ("x-forwarded-for", "6.6.6.6, 10.0.0.2", NULL, NULL), "10.0.0.2");
    ck_assert_str_eq (s_client ("X-Forwarded-For", "1.1.1.1", "X-Forwarded-For", "2001:db8::7"),
                      "2001:db8::7");
    ck_assert_str_eq (s_client ("X-Forwarded-For", "10.0.0.3:5555", NULL, NULL), "10.0.0.3");
    //  Forwarded (RFC 7239): the last element's for=, quotes, brackets and
    //  port removed; it wins over X-Forwarded-For
    ck_assert_str_eq (
        s_client ("Forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43", NULL, NULL),
        "192.0.2.60");
    ck_assert_str_eq (
        s_client ("Forwarded", "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\"", NULL, NULL),
        "2001:db8:cafe::17");
    ck_assert_str_eq (s_client ("Forwarded", "proto=https; for=198.51.100.17:80", NULL, NULL),
                      "198.51.100.17");
    ck_assert_str_eq (s_client ("X-Forwarded-For", "10.9.9.9", "Forwarded", "for=10.8.8.8"),
                      "10.8.8.8");
    //  Not an address: none (the connection's is used)
    ck_assert_str_eq (s_client ("Forwarded", "for=unknown", NULL, NULL), "(none)");
    ck_assert_str_eq (s_client ("Forwarded", "for=_hidden", NULL, NULL), "(none)");
    ck_assert_str_eq (s_client ("Forwarded", "proto=http", NULL, NULL), "(none)");
    ck_assert_str_eq (s_client ("X-Forwarded-For", "evil.example", NULL, NULL), "(none)");
    ck_assert_str_eq (s_client ("X-Forwarded-For", "", NULL, NULL), "(none)");
    ck_assert_str_eq (s_client ("X-Forwarded-For", "1.2.3.4, ", NULL, NULL), "(none)");
    ck_assert_str_eq (s_client ("X-Forwarded-For", "abcd", NULL, NULL), "(none)");
    ck_assert_str_eq (s_client ("X-Forwarded-For", "1.2.3.abc", NULL, NULL), "(none)");
    ck_assert_str_eq (s_client ("Forwarded", "for=\"[::1\"", NULL, NULL), "(none)");
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ps_access_log");
    TCase *tcase = tcase_create ("core");
    tcase_add_test (tcase, test_line_format);
    tcase_add_test (tcase, test_reopen_and_destroy_flush);
    tcase_add_test (tcase, test_full_buffer);
    tcase_add_test (tcase, test_forwarded);
    suite_add_tcase (suite, tcase);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed ? 1 : 0;
}
