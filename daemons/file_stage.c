/*  file_stage: static files under one root, as a work function.

    The safety of the whole daemon rests on file_stage_open, so it takes no
    shortcut through path strings: the root is held open as a descriptor
    and every file is opened relative to it, by the kernel's own resolver
    confined beneath it (openat2 RESOLVE_BENEATH) or, without openat2, one
    component at a time with O_NOFOLLOW. realpath-then-open would leave a
    window between the check and the open in which a symlink could be
    swapped in; these do not. ".." is refused before any lookup, so even a
    ".." that would stay inside the root is never resolved.
*/
#include "file_stage.h"
#include "file_range.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>  //  mallopt
#endif

#define S_DEFAULT_MIME_TYPES "/etc/mime.types"
#define S_OCTET_STREAM       "application/octet-stream"

typedef struct {
    char *ext;  //  lower case, no dot
    char *type;
    size_t order;  //  line order: the first mapping of an extension wins
} s_mime_t;

struct _file_stage_t {
    int root_fd;
    char *root;
    bool listing;
    bool use_openat2;
    size_t max_file_size;
    s_mime_t *mimes;  //  sorted by ext, unique; read-only once made
    size_t mime_count;
};

//  Used when there is no mime.types file: the types a web page needs.
static const char *s_builtin_mimes[][2] = {
    {"css", "text/css"},          {"csv", "text/csv"},        {"gif", "image/gif"},
    {"htm", "text/html"},         {"html", "text/html"},      {"ico", "image/vnd.microsoft.icon"},
    {"jpeg", "image/jpeg"},       {"jpg", "image/jpeg"},      {"js", "text/javascript"},
    {"json", "application/json"}, {"md", "text/markdown"},    {"mjs", "text/javascript"},
    {"mp4", "video/mp4"},         {"pdf", "application/pdf"}, {"png", "image/png"},
    {"svg", "image/svg+xml"},     {"txt", "text/plain"},      {"wasm", "application/wasm"},
    {"webp", "image/webp"},       {"woff", "font/woff"},      {"woff2", "font/woff2"},
    {"xml", "application/xml"},   {"zip", "application/zip"}, {"gz", "application/gzip"},
};

void
file_stage_keep_parts_memory (void)
{
#ifdef __GLIBC__
    mallopt (M_MMAP_THRESHOLD, 1024 * 1024);
    mallopt (M_TRIM_THRESHOLD, 16 * 1024 * 1024);
#endif
}

void
file_stage_config_defaults (file_stage_config_t *config)
{
    assert (config);
    memset (config, 0, sizeof *config);
    config->root = ".";
}

//  ---------------------------------------------------------------------
//  MIME table

static int
s_mime_compare (const void *a, const void *b)
{
    const s_mime_t *x = (const s_mime_t *) a, *y = (const s_mime_t *) b;
    int rc = strcmp (x->ext, y->ext);
    if (rc == 0)
        rc = x->order < y->order ? -1 : x->order > y->order;
    return rc;
}

static void
s_mime_add (file_stage_t *self, size_t *capacity, const char *ext, size_t ext_size,
            const char *type, size_t type_size)
{
    if (ext_size == 0 || ext_size > 32 || type_size == 0 || type_size > 128)
        return;
    if (self->mime_count == *capacity) {
        *capacity = *capacity ? *capacity * 2 : 256;
        self->mimes = (s_mime_t *) realloc (self->mimes, *capacity * sizeof (s_mime_t));
        assert (self->mimes);
    }
    s_mime_t *mime = &self->mimes[self->mime_count];
    mime->ext = strndup (ext, ext_size);
    mime->type = strndup (type, type_size);
    assert (mime->ext && mime->type);
    for (char *p = mime->ext; *p; p++)
        *p = (char) tolower ((unsigned char) *p);
    mime->order = self->mime_count++;
}

//  "type ext ext ...", '#' comments. Returns -1 if the file cannot be read.
static int
s_mime_load (file_stage_t *self, const char *path, size_t *capacity)
{
    FILE *file = fopen (path, "re");
    if (!file)
        return -1;
    char line[1024];
    while (fgets (line, sizeof line, file)) {
        char *hash = strchr (line, '#');
        if (hash)
            *hash = '\0';
        const char *space = " \t\r\n";
        char *p = line + strspn (line, space);
        size_t type_size = strcspn (p, space);
        if (type_size == 0 || !memchr (p, '/', type_size))
            continue;
        const char *type = p;
        p += type_size;
        while (*p) {
            p += strspn (p, space);
            size_t ext_size = strcspn (p, space);
            s_mime_add (self, capacity, p, ext_size, type, type_size);
            p += ext_size;
        }
    }
    fclose (file);
    return 0;
}

static void
s_mime_setup (file_stage_t *self, const char *path)
{
    size_t capacity = 0;
    bool loaded = false;
    if (path)
        loaded = s_mime_load (self, path, &capacity) == 0;
    else if (access (S_DEFAULT_MIME_TYPES, R_OK) == 0)
        loaded = s_mime_load (self, S_DEFAULT_MIME_TYPES, &capacity) == 0;
    if (path && !loaded)
        zsys_warning ("file_stage: cannot read %s; using built-in MIME types", path);
    //  The built-in types come after the file's, so the file wins
    size_t builtins = sizeof s_builtin_mimes / sizeof s_builtin_mimes[0];
    for (size_t i = 0; i < builtins; i++)
        s_mime_add (self, &capacity, s_builtin_mimes[i][0], strlen (s_builtin_mimes[i][0]),
                    s_builtin_mimes[i][1], strlen (s_builtin_mimes[i][1]));
    qsort (self->mimes, self->mime_count, sizeof (s_mime_t), s_mime_compare);
    size_t kept = 0;
    for (size_t i = 0; i < self->mime_count; i++) {
        if (kept && streq (self->mimes[kept - 1].ext, self->mimes[i].ext)) {
            free (self->mimes[i].ext);
            free (self->mimes[i].type);
        }
        else
            self->mimes[kept++] = self->mimes[i];
    }
    self->mime_count = kept;
}

const char *
file_stage_mime_type (file_stage_t *self, const char *name)
{
    assert (self);
    assert (name);
    const char *slash = strrchr (name, '/');
    if (slash)
        name = slash + 1;
    const char *dot = strrchr (name, '.');
    if (!dot || dot[1] == '\0' || strlen (dot + 1) > 32)
        return S_OCTET_STREAM;
    char ext[33];
    size_t i = 0;
    for (const char *p = dot + 1; *p; p++)
        ext[i++] = (char) tolower ((unsigned char) *p);
    ext[i] = '\0';
    s_mime_t key = {ext, NULL, 0};
    //  bsearch on (ext, order): entries are unique by ext, so compare ext only
    size_t low = 0, high = self->mime_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int rc = strcmp (key.ext, self->mimes[middle].ext);
        if (rc == 0)
            return self->mimes[middle].type;
        if (rc < 0)
            high = middle;
        else
            low = middle + 1;
    }
    return S_OCTET_STREAM;
}

//  ---------------------------------------------------------------------
//  Object

static int
s_openat2 (int dir_fd, const char *path, int flags)
{
    struct open_how how;
    memset (&how, 0, sizeof how);
    how.flags = (uint64_t) flags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    int fd = -1;
    //  EAGAIN: a rename raced with the lookup; the kernel asks us to retry
    for (int attempt = 0; attempt < 4; attempt++) {
        fd = (int) syscall (SYS_openat2, dir_fd, path, &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN)
            break;
    }
    return fd;
}

file_stage_t *
file_stage_new (const file_stage_config_t *config)
{
    assert (config);
    const char *root = config->root ? config->root : ".";
    int root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) {
        zsys_error ("file_stage: cannot open the root directory %s: %s", root, strerror (errno));
        return NULL;
    }
    file_stage_t *self = (file_stage_t *) zmalloc (sizeof (file_stage_t));
    assert (self);
    self->root_fd = root_fd;
    self->root = realpath (root, NULL);
    if (!self->root)
        self->root = strdup (root);
    self->listing = config->listing;
    self->max_file_size = config->max_file_size;
    if (!config->no_symlinks) {
        //  Kernels before 5.6, and some seccomp filters, lack openat2
        int fd = s_openat2 (root_fd, ".", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            close (fd);
            self->use_openat2 = true;
        }
    }
    s_mime_setup (self, config->mime_types);
    return self;
}

void
file_stage_destroy (file_stage_t **self_p)
{
    assert (self_p);
    file_stage_t *self = *self_p;
    if (self) {
        close (self->root_fd);
        for (size_t i = 0; i < self->mime_count; i++) {
            free (self->mimes[i].ext);
            free (self->mimes[i].type);
        }
        free (self->mimes);
        free (self->root);
        free (self);
        *self_p = NULL;
    }
}

const char *
file_stage_root (file_stage_t *self)
{
    assert (self);
    return self->root;
}

bool
file_stage_follows_symlinks (file_stage_t *self)
{
    assert (self);
    return self->use_openat2;
}

//  ---------------------------------------------------------------------
//  Path resolution

static int
s_status_for_errno (int error)
{
    switch (error) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
        return 404;
    case EXDEV:  //  openat2: the path leaves the root
    case ELOOP:  //  a symlink where none is allowed, or too many
    case EACCES:
    case EPERM:
        return 403;
    default:
        return 500;
    }
}

//  Without openat2: one component at a time, never following a symlink.
static int
s_open_walk (file_stage_t *self, char *relative)
{
    int current = self->root_fd;
    char *component = relative;
    while (true) {
        char *slash = strchr (component, '/');
        bool last = slash == NULL;
        if (slash)
            *slash = '\0';
        //  No O_DIRECTORY on the way: with it a symlink gives ENOTDIR, and
        //  a symlink should be told apart (ELOOP, 403) from a missing
        //  directory (404) whether it is the last component or not.
        //  O_NONBLOCK: opening a FIFO must not wait for a writer.
        int next = openat (current, component,
                           O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        int error = errno;
        struct stat st;
        if (next >= 0 && !last && (fstat (next, &st) != 0 || !S_ISDIR (st.st_mode))) {
            close (next);
            next = -1;
            error = ENOTDIR;
        }
        if (slash)
            *slash = '/';
        if (current != self->root_fd)
            close (current);
        if (next < 0) {
            errno = error;
            return -1;
        }
        if (last)
            return next;
        current = next;
        component = slash + 1;
    }
}

int
file_stage_open (file_stage_t *self, const char *path, int *fd, struct stat *st)
{
    assert (self);
    assert (path);
    assert (fd);
    assert (st);
    *fd = -1;
    if (path[0] != '/')
        return 404;
    //  Rebuild the path as "a/b/c" relative to the root, refusing what
    //  could leave it or reveal what is meant to stay hidden.
    char relative[PATH_MAX];
    size_t size = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *end = p;
        while (*end && *end != '/')
            end++;
        size_t length = (size_t) (end - p);
        if (length == 0)
            break;
        if (length == 2 && p[0] == '.' && p[1] == '.')
            return 403;
        if (length == 1 && p[0] == '.') {
            p = end;
            continue;
        }
        if (p[0] == '.')
            return 404;  //  .git, .htpasswd, ...: not served
        if (length > NAME_MAX || size + length + 2 > sizeof relative)
            return 404;
        if (size)
            relative[size++] = '/';
        memcpy (relative + size, p, length);
        size += length;
        p = end;
    }
    if (size == 0)
        relative[size++] = '.';
    relative[size] = '\0';

    int file = self->use_openat2 ? s_openat2 (self->root_fd, relative,
                                              O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
                                 : s_open_walk (self, relative);
    if (file < 0)
        return s_status_for_errno (errno);
    //  O_NONBLOCK above: opening a FIFO must not wait for a writer
    if (fstat (file, st) != 0 || !(S_ISREG (st->st_mode) || S_ISDIR (st->st_mode))) {
        close (file);
        return 403;
    }
    *fd = file;
    return 0;
}

//  ---------------------------------------------------------------------
//  Dates

static const char *s_days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *s_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void
file_stage_http_date (time_t t, char *buf)
{
    struct tm tm;
    gmtime_r (&t, &tm);
    snprintf (buf, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT", s_days[tm.tm_wday % 7], tm.tm_mday,
              s_months[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000, tm.tm_hour, tm.tm_min,
              tm.tm_sec);
}

static int
s_month (const char *name)
{
    for (int i = 0; i < 12; i++)
        if (streq (name, s_months[i]))
            return i;
    return -1;
}

bool
file_stage_parse_http_date (const char *text, time_t *t)
{
    assert (text);
    assert (t);
    char day[16], month[4];
    int mday = 0, year = 0, hour = 0, minute = 0, second = 0, end = 0;
    bool parsed = false;
    //  IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    if (sscanf (text, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", day, &mday, month, &year,
                &hour, &minute, &second, &end)
            == 7
        && text[end] == '\0')
        parsed = true;
    //  RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
    else if (sscanf (text, "%15[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT%n", day, &mday, month,
                     &year, &hour, &minute, &second, &end)
                 == 7
             && text[end] == '\0') {
        year += year < 70 ? 2000 : 1900;
        parsed = true;
    }
    //  asctime: Sun Nov  6 08:49:37 1994
    else if (sscanf (text, "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", day, month, &mday, &hour,
                     &minute, &second, &year, &end)
                 == 7
             && text[end] == '\0')
        parsed = true;
    int mon = parsed ? s_month (month) : -1;
    if (mon < 0 || mday < 1 || mday > 31 || year < 1970 || hour > 23 || minute > 59 || second > 60
        || hour < 0 || minute < 0 || second < 0)
        return false;
    struct tm tm;
    memset (&tm, 0, sizeof tm);
    tm.tm_year = year - 1900;
    tm.tm_mon = mon;
    tm.tm_mday = mday;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    *t = timegm (&tm);
    return *t != (time_t) -1;
}

//  ---------------------------------------------------------------------
//  Responses

void
file_response_clear (file_response_t *response)
{
    assert (response);
    ps_pairs_destroy (&response->headers);
    free (response->body);
    if (response->stream && response->fd >= 0)
        close (response->fd);
    memset (response, 0, sizeof *response);
}

static void
s_set_body (file_response_t *response, const char *text)
{
    free (response->body);
    response->body = strdup (text);
    assert (response->body);
    response->body_size = strlen (text);
}

static void
s_error (file_response_t *response, int status, const char *detail)
{
    response->status = status;
    ps_pairs_add (response->headers, "Content-Type", "text/plain; charset=utf-8");
    char text[256];
    snprintf (text, sizeof text, "%d %s%s%s\n", status, ps_http_status_reason (status),
              detail ? ": " : "", detail ? detail : "");
    s_set_body (response, text);
}

//  RFC 9110 13.1.2: a comma-separated list of entity tags, or "*"; the
//  weak comparison ignores W/.
static bool
s_etag_matches (const char *header, const char *etag)
{
    const char *bare = strncmp (etag, "W/", 2) == 0 ? etag + 2 : etag;
    size_t bare_size = strlen (bare);
    const char *p = header;
    while (*p) {
        p += strspn (p, " \t,");
        if (*p == '\0')
            break;
        size_t length = strcspn (p, ",");
        size_t trimmed = length;
        while (trimmed && (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t'))
            trimmed--;
        if (trimmed == 1 && p[0] == '*')
            return true;
        const char *tag = p;
        if (trimmed > 2 && strncmp (tag, "W/", 2) == 0) {
            tag += 2;
            trimmed -= 2;
        }
        if (trimmed == bare_size && memcmp (tag, bare, bare_size) == 0)
            return true;
        p += length;
    }
    return false;
}

//  If-Range (RFC 9110 13.1.5): an entity tag, compared strongly, or a
//  date, which must be the file's modification time exactly and a strong
//  one (the file unchanged for a second since, as far as we can tell).
static bool
s_if_range_holds (const char *value, const char *etag, const struct stat *st)
{
    if (value[0] == '"' || strncmp (value, "W/", 2) == 0)
        return streq (value, etag);  //  a weak tag never matches strongly
    time_t date;
    if (!file_stage_parse_http_date (value, &date))
        return false;
    return date == st->st_mtim.tv_sec && time (NULL) > st->st_mtim.tv_sec;
}

static void
s_serve_file (file_stage_t *self, const ps_http_request_t *request, int fd, const struct stat *st,
              const char *name, file_response_t *response)
{
    const ps_pairs_t *headers = ps_http_request_headers (request);
    char last_modified[30];
    file_stage_http_date (st->st_mtim.tv_sec, last_modified);
    //  A strong validator (If-Range compares strongly): size and a
    //  modification time to the nanosecond name the bytes as well as a
    //  static server can without reading them
    char etag[64];
    snprintf (etag, sizeof etag, "\"%" PRIx64 "-%" PRIx64 "-%lx\"", (uint64_t) st->st_size,
              (uint64_t) st->st_mtim.tv_sec, (unsigned long) st->st_mtim.tv_nsec);

    //  RFC 9110 13.2.2: If-None-Match first; If-Modified-Since only without it
    bool not_modified = false;
    const char *if_none_match = ps_pairs_get (headers, "If-None-Match");
    const char *if_modified_since = ps_pairs_get (headers, "If-Modified-Since");
    time_t since;
    if (if_none_match)
        not_modified = s_etag_matches (if_none_match, etag);
    else if (if_modified_since && file_stage_parse_http_date (if_modified_since, &since))
        not_modified = st->st_mtim.tv_sec <= since;
    if (not_modified) {
        response->status = 304;
        ps_pairs_add (response->headers, "Last-Modified", last_modified);
        ps_pairs_add (response->headers, "ETag", etag);
        return;
    }
    if (self->max_file_size && (uint64_t) st->st_size > (uint64_t) self->max_file_size) {
        char detail[128];
        snprintf (detail, sizeof detail,
                  "the file is larger than this server's limit of %zu bytes (--max-file-size)",
                  self->max_file_size);
        s_error (response, 500, detail);
        return;
    }
    uint64_t size = (uint64_t) st->st_size;
    //  One byte range (file_range.h), unless If-Range names another
    //  version of the file (RFC 9110 13.1.5): then the whole of this one
    uint64_t first = 0, last = size ? size - 1 : 0;
    const char *range = ps_pairs_get (headers, "Range");
    const char *if_range = ps_pairs_get (headers, "If-Range");
    if (range && if_range && !s_if_range_holds (if_range, etag, st))
        range = NULL;
    file_range_t ranged = file_range_parse (range, size, &first, &last);
    if (ranged == FILE_RANGE_UNSATISFIABLE) {
        s_error (response, 416, "the range is not within the file");
        char content_range[64];
        snprintf (content_range, sizeof content_range, "bytes */%" PRIu64, size);
        ps_pairs_add (response->headers, "Content-Range", content_range);
        ps_pairs_add (response->headers, "Accept-Ranges", "bytes");
        return;
    }
    uint64_t length = size ? last - first + 1 : 0;
    response->status = 200;
    if (ranged == FILE_RANGE_PARTIAL) {
        response->status = 206;
        char content_range[80];
        snprintf (content_range, sizeof content_range, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
                  first, last, size);
        ps_pairs_add (response->headers, "Content-Range", content_range);
    }
    if (streq (ps_http_request_method (request), "GET") && length > FILE_STAGE_WHOLE_MAX) {
        //  Streamed by the work function from the descriptor, in parts
        response->stream = true;
        response->offset = first;
        response->length = length;
    }
    else if (streq (ps_http_request_method (request), "GET")) {
        char *body = (char *) malloc (length ? (size_t) length : 1);
        assert (body);
        size_t done = 0;
        while (done < length) {
            ssize_t rc = pread (fd, body + done, (size_t) length - done, (off_t) (first + done));
            if (rc < 0 && errno == EINTR)
                continue;
            if (rc < 0) {
                free (body);
                s_error (response, 500, "read error");
                return;
            }
            if (rc == 0)
                break;  //  the file shrank meanwhile: serve what is there
            done += (size_t) rc;
        }
        response->body = body;
        response->body_size = done;
        if (ranged == FILE_RANGE_PARTIAL && done < length) {
            //  The Content-Range no longer holds
            file_response_clear (response);
            response->headers = ps_pairs_new (true);
            s_error (response, 500, "the file changed while it was read");
            return;
        }
    }
    else {
        //  HEAD: the length a GET would get, without reading the file
        char text[32];
        snprintf (text, sizeof text, "%" PRIu64, length);
        ps_pairs_add (response->headers, "Content-Length", text);
    }
    ps_pairs_add (response->headers, "Accept-Ranges", "bytes");
    ps_pairs_add (response->headers, "Content-Type", file_stage_mime_type (self, name));
    ps_pairs_add (response->headers, "Last-Modified", last_modified);
    ps_pairs_add (response->headers, "ETag", etag);
}

static void
s_html_escape (zchunk_t *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&':
            zchunk_extend (out, "&amp;", 5);
            break;
        case '<':
            zchunk_extend (out, "&lt;", 4);
            break;
        case '>':
            zchunk_extend (out, "&gt;", 4);
            break;
        case '"':
            zchunk_extend (out, "&quot;", 6);
            break;
        case '\'':
            zchunk_extend (out, "&#39;", 5);
            break;
        default:
            zchunk_extend (out, p, 1);
        }
    }
}

//  Everything but RFC 3986 unreserved characters, so a name is always one
//  relative path segment
static void
s_url_escape (zchunk_t *out, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        if (isalnum (*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            zchunk_extend (out, p, 1);
        else {
            char escape[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            zchunk_extend (out, escape, 3);
        }
    }
}

static int
s_name_compare (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
s_listing (const char *path, int fd, file_response_t *response)
{
    int copy = dup (fd);
    DIR *dir = copy >= 0 ? fdopendir (copy) : NULL;
    if (!dir) {
        if (copy >= 0)
            close (copy);
        s_error (response, 500, "cannot read the directory");
        return;
    }
    char **names = NULL;
    size_t count = 0, capacity = 0;
    struct dirent *entry;
    while (count < FILE_STAGE_MAX_LISTING && (entry = readdir (dir))) {
        if (entry->d_name[0] == '.')
            continue;  //  ".", ".." and hidden names, which are not served
        struct stat st;
        bool is_dir = fstatat (dirfd (dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
                      && S_ISDIR (st.st_mode);
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            names = (char **) realloc (names, capacity * sizeof (char *));
            assert (names);
        }
        size_t length = strlen (entry->d_name);
        names[count] = (char *) malloc (length + 2);
        assert (names[count]);
        memcpy (names[count], entry->d_name, length);
        names[count][length] = is_dir ? '/' : '\0';
        names[count][length + 1] = '\0';
        count++;
    }
    closedir (dir);
    if (count)
        qsort (names, count, sizeof (char *), s_name_compare);

    zchunk_t *out = zchunk_new (NULL, 1024 + 128 * count);
    assert (out);
    const char *head = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ";
    zchunk_extend (out, head, strlen (head));
    s_html_escape (out, path);
    zchunk_extend (out, "</title></head>\n<body><h1>Index of ", 35);
    s_html_escape (out, path);
    zchunk_extend (out, "</h1>\n<ul>\n", 11);
    if (!streq (path, "/"))
        zchunk_extend (out, "<li><a href=\"../\">../</a></li>\n", 31);
    for (size_t i = 0; i < count; i++) {
        size_t length = strlen (names[i]);
        bool is_dir = names[i][length - 1] == '/';
        if (is_dir)
            names[i][length - 1] = '\0';
        zchunk_extend (out, "<li><a href=\"", 13);
        s_url_escape (out, names[i]);
        if (is_dir)
            zchunk_extend (out, "/", 1);
        zchunk_extend (out, "\">", 2);
        s_html_escape (out, names[i]);
        if (is_dir)
            zchunk_extend (out, "/", 1);
        zchunk_extend (out, "</a></li>\n", 10);
        free (names[i]);
    }
    free (names);
    zchunk_extend (out, "</ul>\n</body></html>\n", 21);
    response->status = 200;
    ps_pairs_add (response->headers, "Content-Type", "text/html; charset=utf-8");
    response->body_size = zchunk_size (out);
    response->body = (char *) malloc (response->body_size);
    assert (response->body);
    memcpy (response->body, zchunk_data (out), response->body_size);
    zchunk_destroy (&out);
}

//  "/dir" -> "/dir/": the raw target's path with a slash, query kept
static void
s_redirect (const ps_http_request_t *request, file_response_t *response)
{
    const char *target = ps_http_request_target (request);
    size_t path_size = strcspn (target, "?");
    size_t size = strlen (target);
    char *location = (char *) malloc (size + 2);
    assert (location);
    memcpy (location, target, path_size);
    location[path_size] = '/';
    memcpy (location + path_size + 1, target + path_size, size - path_size + 1);
    response->status = 301;
    ps_pairs_add (response->headers, "Location", location);
    ps_pairs_add (response->headers, "Content-Type", "text/plain; charset=utf-8");
    s_set_body (response, "301 Moved Permanently\n");
    free (location);
}

void
file_stage_respond (file_stage_t *self, const ps_http_request_t *request, file_response_t *response)
{
    assert (self);
    assert (request);
    assert (response);
    memset (response, 0, sizeof *response);
    response->headers = ps_pairs_new (true);
    const char *method = ps_http_request_method (request);
    if (strneq (method, "GET") && strneq (method, "HEAD")) {
        s_error (response, 405, "this server only reads files (GET, HEAD)");
        ps_pairs_add (response->headers, "Allow", "GET, HEAD");
        return;
    }
    const char *path = ps_http_request_path (request);
    int fd = -1;
    struct stat st;
    int status = file_stage_open (self, path, &fd, &st);
    if (status) {
        s_error (response, status, NULL);
        return;
    }
    const char *name = path;
    char *index = NULL;
    if (S_ISDIR (st.st_mode)) {
        size_t length = strlen (path);
        if (path[length - 1] != '/') {
            s_redirect (request, response);
            close (fd);
            return;
        }
        index = (char *) malloc (length + sizeof "index.html");
        assert (index);
        memcpy (index, path, length);
        memcpy (index + length, "index.html", sizeof "index.html");
        int index_fd = -1;
        struct stat index_st;
        if (file_stage_open (self, index, &index_fd, &index_st) == 0
            && S_ISREG (index_st.st_mode)) {
            close (fd);
            fd = index_fd;
            st = index_st;
            name = index;
        }
        else {
            if (index_fd >= 0)
                close (index_fd);
            if (self->listing)
                s_listing (path, fd, response);
            else
                s_error (response, 403, "directory listing is off");
            close (fd);
            free (index);
            return;
        }
    }
    s_serve_file (self, request, fd, &st, name, response);
    if (response->stream)
        response->fd = fd;  //  the work function reads it
    else
        close (fd);
    free (index);
}

//  A large file, in parts: one part in hand per answer, the server's grants
//  pacing the reads, so a slow client costs a worker but no memory.
static int
s_stream (ps_work_t *work, file_response_t *response)
{
    if (ps_work_stream_start (work, response->status, &response->headers,
                              (int64_t) response->length)
        != 0)
        return -1;
    uint64_t done = 0;
    int rc = 0;
    while (done < response->length && rc == 0) {
        size_t want = (size_t) MIN ((uint64_t) FILE_STAGE_PART_SIZE, response->length - done);
        //  Read into the frame that goes to the server: the kernel's copy
        //  to the client is the only other one
        zframe_t *part = zframe_new (NULL, want);
        assert (part);
        ssize_t got = pread (response->fd, zframe_data (part), want,
                             (off_t) (response->offset + done));
        if (got < 0 && errno == EINTR) {
            zframe_destroy (&part);
            continue;
        }
        if (got <= 0) {
            //  A read error, or the file shrank: the length promised cannot
            //  be kept, and the client must not take a short body for whole
            zsys_warning ("file_stage: %s after %" PRIu64 " of %" PRIu64 " bytes",
                          got < 0 ? strerror (errno) : "the file shrank", done, response->length);
            zframe_destroy (&part);
            ps_work_stream_abort (work);
            return 0;
        }
        if ((size_t) got < want) {
            //  A short read: the part carries what was read
            zframe_t *shorter = zframe_new (zframe_data (part), (size_t) got);
            assert (shorter);
            zframe_destroy (&part);
            part = shorter;
        }
        rc = ps_work_stream_part_frame (work, &part);
        done += (size_t) got;
    }
    //  A failed part: cancelled (client gone) or stalled; the worker
    //  aborts what is left open
    return rc == 0 ? ps_work_stream_end (work) : 0;
}

int
file_stage_work (ps_work_t *work, void *arg)
{
    file_stage_t *self = (file_stage_t *) arg;
    assert (self);
    const ps_http_request_t *request = ps_work_request (work);
    if (!request)
        return -1;  //  not HTTP or malformed: the worker answers 500
    file_response_t response;
    file_stage_respond (self, request, &response);
    int rc = response.stream ? s_stream (work, &response)
                             : ps_work_reply (work, response.status, &response.headers,
                                              response.body, response.body_size);
    file_response_clear (&response);
    return rc;
}
