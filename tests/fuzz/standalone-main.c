/* standalone-main.c: a main() for the fuzz targets without libFuzzer (the
 * ordinary gcc build): calls LLVMFuzzerInitialize when the target has one,
 * then LLVMFuzzerTestOneInput once on every file named on the command line and
 * on every file of every folder named there (sorted by name, not recursive;
 * names starting with '.' skipped). Each input is a malloc'd copy of exactly
 * the file's size. Exit status 0 when every path could be read; a crash of
 * the target is the test failure (tests/fuzz/meson.build: fuzz_regress_*). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, fp)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    int bad = !buf || ferror(fp);
    fclose(fp);
    if (bad) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        return -1;
    }
    /* an exact-size copy, so that reads past the end are past the allocation */
    uint8_t *in = malloc(n ? n : 1);
    if (!in) {
        free(buf);
        return -1;
    }
    memcpy(in, buf, n);
    free(buf);
    fprintf(stderr, "running %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(in, n);
    free(in);
    return 0;
}

static int skip_hidden(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    int failed = 0, ran = 0;
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int a = 1; a < argc; a++) {
        struct stat st;
        if (argv[a][0] == '-')
            continue;   /* libFuzzer flags: ignored here */
        if (stat(argv[a], &st) < 0) {
            fprintf(stderr, "%s: %s\n", argv[a], strerror(errno));
            failed = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed |= run_file(argv[a]) < 0;
            ran++;
            continue;
        }
        struct dirent **list;
        int n = scandir(argv[a], &list, skip_hidden, alphasort);
        if (n < 0) {
            fprintf(stderr, "%s: %s\n", argv[a], strerror(errno));
            failed = 1;
            continue;
        }
        for (int i = 0; i < n; i++) {
            char path[8192];
            snprintf(path, sizeof path, "%s/%s", argv[a], list[i]->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                failed |= run_file(path) < 0;
                ran++;
            }
            free(list[i]);
        }
        free(list);
    }
    fprintf(stderr, "%d inputs run%s\n", ran, failed ? ", some paths could not be read" : "");
    return failed;
}
