/* fuzz-util.h: what the fuzz targets share: a private temporary folder (one
 * per process, under $TMPDIR or /tmp, removed with everything in it at exit),
 * writing the fuzz input into a file there, and paths into the source tree
 * (FUZZ_SOURCE_ROOT, set by tests/fuzz/meson.build).
 *
 * The targets write nowhere else. A file a target writes for one input is
 * removed before the input returns, so a crash leaves at most that file in
 * the folder (libFuzzer exits without running atexit handlers on a crash). */
#ifndef SIBVAD_FUZZ_UTIL_H
#define SIBVAD_FUZZ_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FUZZ_SOURCE_ROOT
#define FUZZ_SOURCE_ROOT "."
#endif

#define FUZZ_FN static __attribute__((unused))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char fuzz_tmp_root[4096];

FUZZ_FN int fuzz_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

FUZZ_FN void fuzz_tmp_cleanup(void)
{
    if (fuzz_tmp_root[0])
        nftw(fuzz_tmp_root, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    fuzz_tmp_root[0] = '\0';
}

/* Stop the run with a message (a broken environment, or an oracle that found
 * a bug: libFuzzer saves the input of an abort as a crash). */
FUZZ_FN void fuzz_die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* With FUZZ_VERBOSE set in the environment: what the target made of the
 * input (accepted, or the error message), to check what a corpus reaches. */
FUZZ_FN void fuzz_note(const char *what, const char *detail)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "  %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
}

/* The process's temporary folder, created at the first call. */
FUZZ_FN const char *fuzz_tmpdir(void)
{
    if (!fuzz_tmp_root[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(fuzz_tmp_root, sizeof fuzz_tmp_root, "%s/sibvad-fuzz-XXXXXX", base && base[0] ? base : "/tmp");
        if (!mkdtemp(fuzz_tmp_root))
            fuzz_die("cannot create a temporary folder", strerror(errno));
        atexit(fuzz_tmp_cleanup);
    }
    return fuzz_tmp_root;
}

/* dst = <tmpdir>/<name> */
FUZZ_FN char *fuzz_path(char *dst, size_t n, const char *name)
{
    snprintf(dst, n, "%s/%s", fuzz_tmpdir(), name);
    return dst;
}

/* mkdir <tmpdir>/<name> (fine when it exists). */
FUZZ_FN void fuzz_mkdir(const char *name)
{
    char p[4400];
    fuzz_path(p, sizeof p, name);
    if (mkdir(p, 0700) < 0 && errno != EEXIST)
        fuzz_die("cannot create a folder", p);
}

/* Write n bytes to <tmpdir>/<name>; the full path goes to dst. */
FUZZ_FN char *fuzz_write(char *dst, size_t dn, const char *name, const void *data, size_t n)
{
    fuzz_path(dst, dn, name);
    int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        fuzz_die("cannot create", dst);
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fuzz_die("cannot write", dst);
        p += w;
        n -= (size_t)w;
    }
    close(fd);
    return dst;
}

FUZZ_FN void fuzz_unlink(const char *name)
{
    char p[4400];
    unlink(fuzz_path(p, sizeof p, name));
}

/* Copy a file of the source tree (relative to the root) to <tmpdir>/<name>. */
FUZZ_FN void fuzz_copy_source_file(const char *rel, const char *name)
{
    char src[4400], dst[4400];
    snprintf(src, sizeof src, "%s/%s", FUZZ_SOURCE_ROOT, rel);
    FILE *fp = fopen(src, "rb");
    if (!fp)
        fuzz_die("cannot open a fixture", src);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(fp);
    if (!buf)
        fuzz_die("out of memory reading", src);
    fuzz_write(dst, sizeof dst, name, buf, len);
    free(buf);
}

/* A NUL-terminated copy of the input (malloc'd). */
FUZZ_FN char *fuzz_strndup(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        fuzz_die("out of memory", NULL);
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

/* Split the input at each occurrence of sep into at most max parts (the last
 * part keeps any further separators): starts and lengths; returns the count. */
FUZZ_FN int fuzz_split(const uint8_t *data, size_t n, const char *sep, int max, const uint8_t **part,
                      size_t *len)
{
    size_t sl = strlen(sep), start = 0;
    int k = 0;
    for (size_t i = 0; k < max - 1 && i + sl <= n;) {
        if (memcmp(data + i, sep, sl) == 0) {
            part[k] = data + start;
            len[k++] = i - start;
            i += sl;
            start = i;
        } else {
            i++;
        }
    }
    part[k] = data + start;
    len[k++] = n - start;
    return k;
}

#endif
