/*  check_file_stage: the file stage's safety and HTTP behaviour, without
    sockets, and the echo stage's JSON escaping.

    Path resolution is checked on a real tree made for each test: files,
    directories, symlinks inside and outside the root, a FIFO, hidden
    names, a sibling directory sharing the root's name as a prefix, and a
    secret file next to the root. Every path that resolves is checked by
    inode against the file it must be, so "it opened something" is never
    taken for "it opened the right thing". Both resolvers run: openat2
    (when the kernel has it) and the O_NOFOLLOW walk (--no-symlinks).
*/
#include "echo_stage.h"
#include "file_stage.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  ---------------------------------------------------------------------
//  A tree in a fresh temporary directory

static char s_base[1024];  //  .../file_stage.XXXXXX
static char s_root[1100];  //  s_base/root

static void
s_write (const char *relative, const char *content)
{
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", s_base, relative);
    FILE *file = fopen (path, "w");
    ck_assert_msg (file != NULL, "cannot create %s: %s", path, strerror (errno));
    fputs (content, file);
    fclose (file);
}

static void
s_mkdir (const char *relative)
{
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", s_base, relative);
    ck_assert_int_eq (mkdir (path, 0755), 0);
}

static void
s_symlink (const char *target, const char *relative)
{
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", s_base, relative);
    ck_assert_int_eq (symlink (target, path), 0);
}

static ino_t
s_inode (const char *relative)
{
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", s_base, relative);
    struct stat st;
    ck_assert_int_eq (stat (path, &st), 0);
    return st.st_ino;
}

static void
s_tree_setup (void)
{
    const char *tmpdir = getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp";
    snprintf (s_base, sizeof s_base, "%s/file_stage.XXXXXX", tmpdir);
    ck_assert_ptr_nonnull (mkdtemp (s_base));
    snprintf (s_root, sizeof s_root, "%s/root", s_base);
    s_mkdir ("root");
    s_mkdir ("root/sub");
    s_mkdir ("root/sub/deeper");
    s_mkdir ("root/.git");
    s_mkdir ("root/empty");
    s_mkdir ("root_sibling");
    s_write ("secret", "TOPSECRET\n");
    s_write ("root_sibling/secret", "TOPSECRET sibling\n");
    s_write ("root/a.txt", "hello\n");
    s_write ("root/page.html", "<p>\n");
    s_write ("root/sub/b.txt", "b\n");
    s_write ("root/sub/deeper/c.txt", "c\n");
    s_write ("root/sub/index.html", "index\n");
    s_write ("root/.hidden", "TOPSECRET hidden\n");
    s_write ("root/.git/config", "TOPSECRET git\n");
    s_write ("root/<x>&\"'.txt", "escaped\n");
    s_symlink ("a.txt", "root/link_in");
    s_symlink ("sub", "root/dir_in");
    s_symlink ("../a.txt", "root/sub/link_up_in");
    s_symlink ("../secret", "root/link_out");
    s_symlink ("/etc/passwd", "root/abs");
    s_symlink ("..", "root/dir_out");
    s_symlink ("../../secret", "root/sub/up");
    s_symlink ("../root_sibling", "root/sibling");
    s_symlink ("missing", "root/dangling");
    s_symlink ("loop", "root/loop");
    char fifo[PATH_MAX];
    snprintf (fifo, sizeof fifo, "%s/root/fifo", s_base);
    ck_assert_int_eq (mkfifo (fifo, 0644), 0);
}

static void
s_tree_teardown (void)
{
    char command[PATH_MAX + 16];
    snprintf (command, sizeof command, "rm -rf '%s'", s_base);
    int rc = system (command);
    (void) rc;
}

static file_stage_t *
s_stage (bool no_symlinks, bool listing, size_t max_file_size)
{
    file_stage_config_t config;
    file_stage_config_defaults (&config);
    config.root = s_root;
    config.no_symlinks = no_symlinks;
    config.listing = listing;
    if (max_file_size)
        config.max_file_size = max_file_size;
    file_stage_t *stage = file_stage_new (&config);
    ck_assert_ptr_nonnull (stage);
    return stage;
}

//  ---------------------------------------------------------------------
//  Path resolution

typedef struct {
    const char *path;
    int follow;        //  status with symlinks followed inside ROOT (openat2)
    int walk;          //  status with every symlink refused
    const char *file;  //  on 0: the file it must be, relative to s_base
} s_path_case_t;

static const s_path_case_t s_path_cases[] = {
    {"/a.txt", 0, 0, "root/a.txt"},
    {"/", 0, 0, "root"},
    {"/sub/b.txt", 0, 0, "root/sub/b.txt"},
    {"//sub///deeper//c.txt", 0, 0, "root/sub/deeper/c.txt"},
    {"/./a.txt", 0, 0, "root/a.txt"},
    {"/sub/./b.txt/", 0, 0, "root/sub/b.txt"},
    {"/sub", 0, 0, "root/sub"},
    {"/<x>&\"'.txt", 0, 0, "root/<x>&\"'.txt"},
    {"/link_in", 0, 403, "root/a.txt"},
    {"/dir_in/b.txt", 0, 403, "root/sub/b.txt"},
    {"/sub/link_up_in", 0, 403, "root/a.txt"},
    //  Never anything outside ROOT
    {"/..", 403, 403, NULL},
    {"/../secret", 403, 403, NULL},
    {"/../../../../../../etc/passwd", 403, 403, NULL},
    {"/sub/../a.txt", 403, 403, NULL},
    {"/sub/..", 403, 403, NULL},
    {"/sub/deeper/../../../secret", 403, 403, NULL},
    {"/../root_sibling/secret", 403, 403, NULL},
    {"/link_out", 403, 403, NULL},
    {"/abs", 403, 403, NULL},
    {"/dir_out/secret", 403, 403, NULL},
    {"/dir_out", 403, 403, NULL},
    {"/sub/up", 403, 403, NULL},
    {"/sibling/secret", 403, 403, NULL},
    {"/loop", 403, 403, NULL},
    {"/fifo", 403, 403, NULL},
    {"/.hidden", 404, 404, NULL},
    {"/.git/config", 404, 404, NULL},
    {"/sub/.git", 404, 404, NULL},
    {"/...", 404, 404, NULL},
    {"/dangling", 404, 403, NULL},
    {"/missing", 404, 404, NULL},
    {"/a.txt/x", 404, 404, NULL},
    {"/sub/missing/x", 404, 404, NULL},
    {"relative", 404, 404, NULL},
    {"", 404, 404, NULL},
    {"..", 404, 404, NULL},
    {"/etc/passwd", 404, 404, NULL},
    {"/..\\..\\secret", 404, 404, NULL},
    {"/%2e%2e/secret", 404, 404, NULL},  //  already decoded by the server: a literal name
};

static void
s_check_paths (file_stage_t *stage, bool follow)
{
    for (size_t i = 0; i < sizeof s_path_cases / sizeof s_path_cases[0]; i++) {
        const s_path_case_t *c = &s_path_cases[i];
        int want = follow ? c->follow : c->walk;
        int fd = -1;
        struct stat st;
        int status = file_stage_open (stage, c->path, &fd, &st);
        ck_assert_msg (status == want, "'%s' (%s): %d, expected %d", c->path,
                       follow ? "openat2" : "walk", status, want);
        if (status == 0) {
            ck_assert_int_ge (fd, 0);
            ck_assert_msg (st.st_ino == s_inode (c->file), "'%s' opened the wrong file", c->path);
            close (fd);
        }
        else
            ck_assert_int_eq (fd, -1);
    }
}

START_TEST (test_paths_follow)
{
    file_stage_t *stage = s_stage (false, false, 0);
    //  Without openat2 in this kernel the walk is what runs; say so
    if (!file_stage_follows_symlinks (stage))
        fprintf (stderr, "check_file_stage: no openat2 here, the walk is checked twice\n");
    s_check_paths (stage, file_stage_follows_symlinks (stage));
    file_stage_destroy (&stage);
    ck_assert_ptr_null (stage);
}
END_TEST

START_TEST (test_paths_walk)
{
    file_stage_t *stage = s_stage (true, false, 0);
    ck_assert (!file_stage_follows_symlinks (stage));
    s_check_paths (stage, false);
    file_stage_destroy (&stage);
}
END_TEST

START_TEST (test_long_paths)
{
    file_stage_t *stage = s_stage (false, false, 0);
    int fd = -1;
    struct stat st;
    char name[NAME_MAX + 3];
    name[0] = '/';
    memset (name + 1, 'x', NAME_MAX + 1);
    name[NAME_MAX + 2] = '\0';
    ck_assert_int_eq (file_stage_open (stage, name, &fd, &st), 404);
    size_t size = 3 * PATH_MAX;
    char *path = (char *) malloc (size + 1);
    ck_assert_ptr_nonnull (path);
    for (size_t i = 0; i < size; i += 2) {
        path[i] = '/';
        path[i + 1] = 'a';
    }
    path[size] = '\0';
    ck_assert_int_eq (file_stage_open (stage, path, &fd, &st), 404);
    free (path);
    file_stage_destroy (&stage);
}
END_TEST

START_TEST (test_bad_root)
{
    file_stage_config_t config;
    file_stage_config_defaults (&config);
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/missing", s_base);
    config.root = path;
    ck_assert_ptr_null (file_stage_new (&config));
    snprintf (path, sizeof path, "%s/root/a.txt", s_base);
    config.root = path;
    ck_assert_ptr_null (file_stage_new (&config));
}
END_TEST

//  ---------------------------------------------------------------------
//  MIME types and dates

START_TEST (test_mime_types)
{
    s_write ("mime.types", "# comment\n"
                           "text/x-test\ttst TST2  # trailing comment\n"
                           "text/x-first one\n"
                           "text/x-second one\n"
                           "nonsense-without-slash abc\n"
                           "\n");
    file_stage_config_t config;
    file_stage_config_defaults (&config);
    config.root = s_root;
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/mime.types", s_base);
    config.mime_types = path;
    file_stage_t *stage = file_stage_new (&config);
    ck_assert_ptr_nonnull (stage);
    ck_assert_str_eq (file_stage_mime_type (stage, "a.tst"), "text/x-test");
    ck_assert_str_eq (file_stage_mime_type (stage, "/x/a.TST"), "text/x-test");
    ck_assert_str_eq (file_stage_mime_type (stage, "a.tst2"), "text/x-test");
    ck_assert_str_eq (file_stage_mime_type (stage, "a.one"), "text/x-first");
    ck_assert_str_eq (file_stage_mime_type (stage, "a.abc"), "application/octet-stream");
    //  Built-in types fill in what the file lacks
    ck_assert_str_eq (file_stage_mime_type (stage, "index.html"), "text/html");
    ck_assert_str_eq (file_stage_mime_type (stage, "noext"), "application/octet-stream");
    ck_assert_str_eq (file_stage_mime_type (stage, "dir.d/noext"), "application/octet-stream");
    ck_assert_str_eq (file_stage_mime_type (stage, "trailing."), "application/octet-stream");
    ck_assert_str_eq (file_stage_mime_type (stage, ".tst"), "text/x-test");
    file_stage_destroy (&stage);
}
END_TEST

START_TEST (test_dates)
{
    char buf[30];
    file_stage_http_date (784111777, buf);
    ck_assert_str_eq (buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    file_stage_http_date (0, buf);
    ck_assert_str_eq (buf, "Thu, 01 Jan 1970 00:00:00 GMT");
    const char *good[] = {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                          "Sun Nov  6 08:49:37 1994"};
    for (size_t i = 0; i < 3; i++) {
        time_t t = 0;
        ck_assert_msg (file_stage_parse_http_date (good[i], &t), "'%s' not parsed", good[i]);
        ck_assert_msg (t == 784111777, "'%s': %ld", good[i], (long) t);
    }
    const char *bad[] = {"",
                         "yesterday",
                         "Sun, 06 Nov 1994 08:49:37 UTC",
                         "Sun, 06 Nov 1994 08:49:37 GMT extra",
                         "Sun, 32 Nov 1994 08:49:37 GMT",
                         "Sun, 06 Foo 1994 08:49:37 GMT",
                         "Sun, 06 Nov 1994 25:49:37 GMT",
                         "Sun, 06 Nov 1969 08:49:37 GMT",
                         "Sun, 06 Nov 1994"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        time_t t = 0;
        ck_assert_msg (!file_stage_parse_http_date (bad[i], &t), "'%s' parsed", bad[i]);
    }
}
END_TEST

//  ---------------------------------------------------------------------
//  Responses

static ps_http_request_t *
s_request (const char *raw)
{
    //  HTTP/1.1 requires Host: added after the request line when missing
    char text[1024];
    const char *line_end = strstr (raw, "\r\n");
    ck_assert_ptr_nonnull (line_end);
    if (strstr (raw, "HTTP/1.1\r\n") && !strstr (raw, "Host:"))
        snprintf (text, sizeof text, "%.*sHost: h\r\n%s", (int) (line_end + 2 - raw), raw,
                  line_end + 2);
    else
        snprintf (text, sizeof text, "%s", raw);
    ps_http_parser_t *parser = ps_http_parser_new (NULL);
    ck_assert_int_eq (ps_http_parser_feed (parser, text, strlen (text)), 0);
    ps_http_request_t *request = ps_http_parser_next (parser);
    ck_assert_ptr_nonnull (request);
    ps_http_parser_destroy (&parser);
    return request;
}

static void
s_respond (file_stage_t *stage, const char *raw, file_response_t *response)
{
    ps_http_request_t *request = s_request (raw);
    file_stage_respond (stage, request, response);
    ps_http_request_destroy (&request);
}

START_TEST (test_respond_file)
{
    file_stage_t *stage = s_stage (false, false, 0);
    file_response_t r;
    s_respond (stage, "GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 200);
    ck_assert_uint_eq (r.body_size, 6);
    ck_assert (memcmp (r.body, "hello\n", 6) == 0);
    ck_assert_str_eq (ps_pairs_get (r.headers, "content-type"), "text/plain");
    char last_modified[64], etag[64];
    snprintf (last_modified, sizeof last_modified, "%s", ps_pairs_get (r.headers, "Last-Modified"));
    snprintf (etag, sizeof etag, "%s", ps_pairs_get (r.headers, "ETag"));
    ck_assert_ptr_null (ps_pairs_get (r.headers, "Content-Length"));
    file_response_clear (&r);

    s_respond (stage, "HEAD /a.txt HTTP/1.1\r\nHost: h\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 200);
    ck_assert_uint_eq (r.body_size, 0);
    ck_assert_str_eq (ps_pairs_get (r.headers, "Content-Length"), "6");
    file_response_clear (&r);

    char raw[256];
    snprintf (raw, sizeof raw, "GET /a.txt HTTP/1.1\r\nIf-Modified-Since: %s\r\n\r\n",
              last_modified);
    s_respond (stage, raw, &r);
    ck_assert_int_eq (r.status, 304);
    ck_assert_uint_eq (r.body_size, 0);
    ck_assert_str_eq (ps_pairs_get (r.headers, "ETag"), etag);
    file_response_clear (&r);

    snprintf (raw, sizeof raw, "GET /a.txt HTTP/1.1\r\nIf-None-Match: \"zz\", %s\r\n\r\n", etag);
    s_respond (stage, raw, &r);
    ck_assert_int_eq (r.status, 304);
    file_response_clear (&r);

    snprintf (raw, sizeof raw,
              "GET /a.txt HTTP/1.1\r\nIf-None-Match: \"zz\"\r\nIf-Modified-Since: %s\r\n\r\n",
              last_modified);
    s_respond (stage, raw, &r);
    ck_assert_int_eq (r.status, 200);  //  If-None-Match decides when present
    file_response_clear (&r);

    s_respond (stage, "GET /a.txt HTTP/1.1\r\nIf-None-Match: *\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 304);
    file_response_clear (&r);

    s_respond (stage, "DELETE /a.txt HTTP/1.1\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 405);
    ck_assert_str_eq (ps_pairs_get (r.headers, "Allow"), "GET, HEAD");
    file_response_clear (&r);

    s_respond (stage, "GET /../secret HTTP/1.1\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 403);
    ck_assert (!memmem (r.body, r.body_size, "TOPSECRET", 9));
    file_response_clear (&r);
    file_stage_destroy (&stage);

    //  Over the size limit: 500, saying why
    stage = s_stage (false, false, 5);
    s_respond (stage, "GET /a.txt HTTP/1.1\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 500);
    ck_assert (memmem (r.body, r.body_size, "max-file-size", 13));
    file_response_clear (&r);
    s_respond (stage, "GET /sub/b.txt HTTP/1.1\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 200);
    file_response_clear (&r);
    file_stage_destroy (&stage);
}
END_TEST

//  The body of a small answer, as a string (borrowed by the caller).
static char *
s_body (file_response_t *r)
{
    static char text[256];
    ck_assert_uint_lt (r->body_size, sizeof text);
    memcpy (text, r->body ? r->body : "", r->body_size);
    text[r->body_size] = '\0';
    return text;
}

//  One byte range (file_range.h does the parsing; this is what the stage
//  makes of it), If-Range, HEAD with a range, and large files streamed
//  from their descriptor instead of being read.
START_TEST (test_respond_ranges)
{
    file_stage_t *stage = s_stage (false, false, 0);
    //  A modification time well in the past: an If-Range date is strong
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/a.txt", s_root);
    struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
    ck_assert_int_eq (utimensat (AT_FDCWD, path, times, 0), 0);
    file_response_t r;
    struct {
        const char *range;
        int status;
        const char *body;
        const char *content_range;
    } cases[] = {
        {"bytes=0-3", 206, "hell", "bytes 0-3/6"},    {"bytes=1-2", 206, "el", "bytes 1-2/6"},
        {"bytes=-2", 206, "o\n", "bytes 4-5/6"},      {"bytes=4-", 206, "o\n", "bytes 4-5/6"},
        {"bytes=2-100", 206, "llo\n", "bytes 2-5/6"}, {"bytes=6-", 416, NULL, "bytes */6"},
        {"bytes=-0", 416, NULL, "bytes */6"},         {"bytes=0-1,3-4", 200, "hello\n", NULL},
        {"items=0-1", 200, "hello\n", NULL},          {"bytes=3-1", 200, "hello\n", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char raw[256];
        snprintf (raw, sizeof raw, "GET /a.txt HTTP/1.1\r\nRange: %s\r\n\r\n", cases[i].range);
        s_respond (stage, raw, &r);
        ck_assert_msg (r.status == cases[i].status, "%s: %d", cases[i].range, r.status);
        if (cases[i].body)
            ck_assert_str_eq (s_body (&r), cases[i].body);
        const char *content_range = ps_pairs_get (r.headers, "Content-Range");
        if (cases[i].content_range)
            ck_assert_str_eq (content_range, cases[i].content_range);
        else
            ck_assert_ptr_null (content_range);
        ck_assert_str_eq (ps_pairs_get (r.headers, "Accept-Ranges"), "bytes");
        ck_assert (!r.stream);
        file_response_clear (&r);
    }

    //  If-Range: the (strong) ETag or the exact date keeps the range;
    //  another tag, a weak one or another date means the whole file
    s_respond (stage, "GET /a.txt HTTP/1.1\r\n\r\n", &r);
    char etag[64], last_modified[64];
    snprintf (etag, sizeof etag, "%s", ps_pairs_get (r.headers, "ETag"));
    snprintf (last_modified, sizeof last_modified, "%s", ps_pairs_get (r.headers, "Last-Modified"));
    ck_assert (etag[0] == '"');
    file_response_clear (&r);
    struct {
        const char *if_range;
        int status;
    } conditions[] = {
        {etag, 206},
        {last_modified, 206},
        {"\"other\"", 200},
        {"Thu, 01 Jan 1998 00:00:00 GMT", 200},
    };
    for (size_t i = 0; i < sizeof conditions / sizeof conditions[0]; i++) {
        char raw[256];
        snprintf (raw, sizeof raw,
                  "GET /a.txt HTTP/1.1\r\nRange: bytes=0-3\r\nIf-Range: %s\r\n\r\n",
                  conditions[i].if_range);
        s_respond (stage, raw, &r);
        ck_assert_msg (r.status == conditions[i].status, "If-Range %s: %d", conditions[i].if_range,
                       r.status);
        ck_assert_str_eq (s_body (&r), r.status == 206 ? "hell" : "hello\n");
        file_response_clear (&r);
    }
    char raw[256];
    snprintf (raw, sizeof raw, "GET /a.txt HTTP/1.1\r\nRange: bytes=0-3\r\nIf-Range: W/%s\r\n\r\n",
              etag);
    s_respond (stage, raw, &r);
    ck_assert_int_eq (r.status, 200);  //  a weak tag never matches for If-Range
    file_response_clear (&r);

    //  HEAD with a range: the range's length and Content-Range, no body
    s_respond (stage, "HEAD /a.txt HTTP/1.1\r\nRange: bytes=1-3\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 206);
    ck_assert_uint_eq (r.body_size, 0);
    ck_assert_str_eq (ps_pairs_get (r.headers, "Content-Length"), "3");
    ck_assert_str_eq (ps_pairs_get (r.headers, "Content-Range"), "bytes 1-3/6");
    file_response_clear (&r);

    //  A large file: no body read, the descriptor and the span to stream
    size_t big = 3 * FILE_STAGE_WHOLE_MAX + 7;
    char *bytes = (char *) malloc (big + 1);
    memset (bytes, 'x', big);
    bytes[big] = '\0';
    s_write ("root/big.bin", bytes);
    free (bytes);
    s_respond (stage, "GET /big.bin HTTP/1.1\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 200);
    ck_assert (r.stream);
    ck_assert_int_ge (r.fd, 0);
    ck_assert_ptr_null (r.body);
    ck_assert_uint_eq (r.offset, 0);
    ck_assert_uint_eq (r.length, big);
    file_response_clear (&r);
    snprintf (raw, sizeof raw, "GET /big.bin HTTP/1.1\r\nRange: bytes=%zu-\r\n\r\n", big - 100000);
    s_respond (stage, raw, &r);
    ck_assert_int_eq (r.status, 206);
    ck_assert (r.stream);
    ck_assert_uint_eq (r.offset, big - 100000);
    ck_assert_uint_eq (r.length, 100000);
    file_response_clear (&r);
    //  A small range of it is read at once
    s_respond (stage, "GET /big.bin HTTP/1.1\r\nRange: bytes=10-19\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 206);
    ck_assert (!r.stream);
    ck_assert_str_eq (s_body (&r), "xxxxxxxxxx");
    file_response_clear (&r);
    //  HEAD of it: the length, nothing to stream
    s_respond (stage, "HEAD /big.bin HTTP/1.1\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 200);
    ck_assert (!r.stream);
    file_response_clear (&r);
    file_stage_destroy (&stage);
}
END_TEST

START_TEST (test_respond_directories)
{
    file_stage_t *stage = s_stage (false, false, 0);
    file_response_t r;
    s_respond (stage, "GET /sub?q=1 HTTP/1.1\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 301);
    ck_assert_str_eq (ps_pairs_get (r.headers, "Location"), "/sub/?q=1");
    file_response_clear (&r);
    s_respond (stage, "GET /sub/ HTTP/1.1\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 200);
    ck_assert_str_eq (ps_pairs_get (r.headers, "Content-Type"), "text/html");
    ck_assert_uint_eq (r.body_size, 6);
    file_response_clear (&r);
    s_respond (stage, "GET / HTTP/1.1\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 403);  //  no index.html, no listing
    file_response_clear (&r);
    file_stage_destroy (&stage);

    stage = s_stage (false, true, 0);
    s_respond (stage, "GET / HTTP/1.1\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 200);
    char *body = strndup (r.body, r.body_size);
    ck_assert_ptr_nonnull (strstr (body, "<a href=\"a.txt\">a.txt</a>"));
    ck_assert_ptr_nonnull (strstr (body, "<a href=\"sub/\">sub/</a>"));
    ck_assert_ptr_nonnull (
        strstr (body, "<a href=\"%3Cx%3E%26%22%27.txt\">&lt;x&gt;&amp;&quot;&#39;.txt</a>"));
    ck_assert_ptr_null (strstr (body, "hidden"));
    ck_assert_ptr_null (strstr (body, ".git"));
    ck_assert_ptr_null (strstr (body, "href=\"../\""));  //  not above the root
    free (body);
    file_response_clear (&r);
    s_respond (stage, "GET /empty/ HTTP/1.1\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 200);
    body = strndup (r.body, r.body_size);
    ck_assert_ptr_nonnull (strstr (body, "<ul>\n<li><a href=\"../\">../</a></li>\n</ul>"));
    free (body);
    file_response_clear (&r);
    s_respond (stage, "GET /sub/deeper/ HTTP/1.1\r\n\r\n", &r);
    ck_assert_int_eq (r.status, 200);
    body = strndup (r.body, r.body_size);
    ck_assert_ptr_nonnull (strstr (body, "href=\"../\""));
    ck_assert_ptr_nonnull (strstr (body, "href=\"c.txt\""));
    free (body);
    file_response_clear (&r);
    file_stage_destroy (&stage);
}
END_TEST

//  ---------------------------------------------------------------------
//  Echo: JSON strings for any bytes

static char *
s_json (const void *data, size_t size)
{
    zchunk_t *out = zchunk_new (NULL, 0);
    echo_json_string (out, data, size);
    char *text = strndup ((const char *) zchunk_data (out), zchunk_size (out));
    zchunk_destroy (&out);
    return text;
}

START_TEST (test_echo_json_string)
{
    struct {
        const char *in;
        size_t size;
        const char *out;
    } cases[] = {
        {"", 0, "\"\""},
        {"plain text", 10, "\"plain text\""},
        {"q\"b\\", 4, "\"q\\\"b\\\\\""},
        {"\n\r\t", 3, "\"\\n\\r\\t\""},
        {"\x00\x01\x1f\x7f", 4, "\"\\u0000\\u0001\\u001f\\u007f\""},
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""},
        {"\xff\xfe", 2, "\"\\u00ff\\u00fe\""},
        {"\xc0\xaf", 2, "\"\\u00c0\\u00af\""},                        //  overlong '/'
        {"\xe0\x80\xaf", 3, "\"\\u00e0\\u0080\\u00af\""},             //  overlong, 3 bytes
        {"\xed\xa0\x80", 3, "\"\\u00ed\\u00a0\\u0080\""},             //  a surrogate
        {"\xf4\x90\x80\x80", 4, "\"\\u00f4\\u0090\\u0080\\u0080\""},  //  above U+10FFFF
        {"\xe2\x82", 2, "\"\\u00e2\\u0082\""},                        //  truncated
        {"a\xe2\x82"
         "b",
         4, "\"a\\u00e2\\u0082b\""},
        {"\xc3\xa9\xc3", 3, "\"\xc3\xa9\\u00c3\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = s_json (cases[i].in, cases[i].size);
        ck_assert_msg (streq (text, cases[i].out), "case %zu: %s, expected %s", i, text,
                       cases[i].out);
        free (text);
    }
    //  Every byte value, alone: valid JSON from a closed set of forms
    for (int c = 0; c < 256; c++) {
        char byte = (char) c;
        char *text = s_json (&byte, 1);
        size_t length = strlen (text);
        ck_assert_msg (length == 3 || length == 4 || length == 8, "byte %d: %s", c, text);
        if (c >= 0x80)
            ck_assert_msg (length == 8, "byte %d alone is not UTF-8: %s", c, text);
        free (text);
    }
}
END_TEST

START_TEST (test_echo_describe)
{
    ps_http_request_t *request = s_request (
        "POST /p%41th?a=1&a=2&b HTTP/1.0\r\nX: \"y\"\r\nContent-Length: 2\r\n\r\n\x01z");
    zchunk_t *json = echo_describe_request (request);
    char *text = strndup ((const char *) zchunk_data (json), zchunk_size (json));
    ck_assert_str_eq (text, "{\"method\":\"POST\",\"target\":\"/p%41th?a=1&a=2&b\",\"path\":"
                            "\"/pAth\",\"version\":\"1.0\",\"query\":[[\"a\",\"1\"],[\"a\",\"2\"],"
                            "[\"b\",\"\"]],\"headers\":[[\"X\",\"\\\"y\\\"\"],"
                            "[\"Content-Length\",\"2\"]],\"body\":\"\\u0001z\",\"trailers\":[],"
                            "\"client\":\"\"}");
    free (text);
    zchunk_destroy (&json);
    ps_http_request_destroy (&request);

    zmsg_t *frames = zmsg_new ();
    zmsg_addmem (frames, "a\"", 2);
    zmsg_addmem (frames, "", 0);
    json = echo_describe_frames (PS_KIND_STAGE, frames);
    text = strndup ((const char *) zchunk_data (json), zchunk_size (json));
    ck_assert_str_eq (text, "{\"kind\":\"stage\",\"frames\":[\"a\\\"\",\"\"]}");
    free (text);
    zchunk_destroy (&json);
    zmsg_destroy (&frames);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("file_stage");
    TCase *paths = tcase_create ("paths");
    tcase_add_checked_fixture (paths, s_tree_setup, s_tree_teardown);
    tcase_add_test (paths, test_paths_follow);
    tcase_add_test (paths, test_paths_walk);
    tcase_add_test (paths, test_long_paths);
    tcase_add_test (paths, test_bad_root);
    tcase_add_test (paths, test_mime_types);
    tcase_add_test (paths, test_respond_file);
    tcase_add_test (paths, test_respond_ranges);
    tcase_add_test (paths, test_respond_directories);
    suite_add_tcase (suite, paths);
    TCase *pure = tcase_create ("pure");
    tcase_add_test (pure, test_dates);
    tcase_add_test (pure, test_echo_json_string);
    tcase_add_test (pure, test_echo_describe);
    suite_add_tcase (suite, pure);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    zsys_shutdown ();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
