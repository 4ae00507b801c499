/* test-util.h: what the C test programs share: pass/fail counting with CHECK,
 * a per-test temporary folder (tpath), whole-file read and write, rm_rf.
 * Each test is its own program, so the static state here is per test. */
#ifndef SIBVAD_TEST_UTIL_H
#define SIBVAD_TEST_UTIL_H

#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
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

/* max |x - ref| / max(max |ref|, floor); a NaN anywhere gives infinity */
static inline double test_rel_err(const float *x, const float *ref, size_t n, double floor)
{
    double md = 0.0, mr = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)x[i] - ref[i]);
        if (!(d <= md))
            md = isnan(d) ? INFINITY : d;
        if (fabs(ref[i]) > mr)
            mr = fabs(ref[i]);
    }
    return md / (mr > floor ? mr : floor);
}

/* A 24-bit BMP of w x h pixels; rgb holds h rows of w RGB triplets, and row y
 * of rgb is stored as the file's row y (bottom-up, as BMP reads it). */
static inline void write_bmp24(const char *path, int w, int h, const uint8_t *rgb)
{
    int row = (w * 3 + 3) & ~3, size = 54 + row * h;
    uint8_t *f = calloc(1, (size_t)size);
    uint8_t hdr[54] = {'B', 'M'};
    memcpy(hdr + 2, &size, 4);
    hdr[10] = 54;
    hdr[14] = 40;
    memcpy(hdr + 18, &w, 4);
    memcpy(hdr + 22, &h, 4);
    hdr[26] = 1;
    hdr[28] = 24;
    memcpy(f, hdr, 54);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *s = rgb + ((size_t)y * w + x) * 3;
            uint8_t *p = f + 54 + y * row + 3 * x;
            p[0] = s[2];
            p[1] = s[1];
            p[2] = s[0];
        }
    write_bytes(path, f, (size_t)size);
    free(f);
}

#endif
