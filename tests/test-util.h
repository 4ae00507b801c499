/* test-util.h: what the C test programs share: pass/fail counting with CHECK,
 * a per-test temporary folder (tpath), whole-file read and write, rm_rf.
 * Each test is its own program, so the static state here is per test. */
#ifndef SIBVAD_TEST_UTIL_H
#define SIBVAD_TEST_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static int failures, checks;
static char tmpdir[256];

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        checks++;                                                         \
        if (cond) {                                                       \
            printf("ok   - ");                                            \
        } else {                                                          \
            failures++;                                                   \
            printf("FAIL - %s:%d: ", __FILE__, __LINE__);                 \
        }                                                                 \
        printf(__VA_ARGS__);                                              \
        printf("\n");                                                     \
    } while (0)

static inline char *tpath(const char *name)
{
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static inline void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || (n && fwrite(data, 1, n, fp) != n)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fclose(fp);
}

static inline unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)sz + 1);
    if (fread(b, 1, (size_t)sz, fp) != (size_t)sz) {
        free(b);
        fclose(fp);
        return NULL;
    }
    fclose(fp);
    *n = (size_t)sz;
    return b;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

/* Remove a file or a folder with everything in it (symbolic links are not followed). */
static inline void rm_rf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
