/* dataset.c: video sets for training and evaluation (dataset.h): the split
 * layout, the per-video disk cache of decoded pixels, labels, semantic
 * vectors and the ImageNet normalisation of a frame.
 *
 * Cache file (one per video and output size), little-endian:
 *   0  "SIBVADFC"             8  u32 version         12 u32 header bytes (96)
 *   16 i32 width, height, channels, nframes
 *   32 SHA-256 fingerprint of the source: reader version, W,H,C, absolute
 *      source path, and for each frame file (or the video file) its name,
 *      size and mtime (ns)
 *   64 u64 payload bytes      72 u32 CRC-32 of the payload
 *   76 u32 CRC-32 of bytes 0..75                       80 16 zero bytes
 *   96 payload: (nframes, C, H, W) uint8
 * Written to a temporary file in the cache folder and renamed over the old
 * one; a file that fails any check is reported (unless quiet), ignored and
 * rewritten. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* st_mtim */
#endif
#include "dataset.h"
#include "sibvad.h"
#include "labels.h"
#include "bert.h"
#include "npy.h"
#include "video-reader.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define CACHE_MAGIC "SIBVADFC"
#define CACHE_VERSION 1
#define CACHE_HEADER 96

static SibvadDatasetStats stats;

void sibvad_dataset_get_stats(SibvadDatasetStats *out)
{
    *out = stats;
}

/* ---- cache ---- */

static char *default_cache_dir(const SibvadReadOptions *opt)
{
    if (opt->cache_dir && !opt->cache_dir[0])
        return NULL;
    if (opt->cache_dir)
        return g_strdup(opt->cache_dir);
    return g_build_filename(g_get_user_cache_dir(), "sibvad", NULL);
}

static char *absolute(const char *path)
{
    if (g_path_is_absolute(path))
        return g_canonicalize_filename(path, NULL);
    char *cwd = g_get_current_dir();
    char *abs = g_canonicalize_filename(path, cwd);
    g_free(cwd);
    return abs;
}

char *sibvad_video_cache_path(const char *source, const SibvadReadOptions *opt)
{
    char *dir = default_cache_dir(opt);
    if (!dir)
        return NULL;
    char *abs = absolute(source);
    char *base = g_path_get_basename(abs);
    for (char *p = base; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
            *p = '_';
    char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, abs, -1);
    hash[16] = 0;
    char *file = g_strdup_printf("%s-%s-%dx%dx%d.frames", base, hash, opt->width, opt->height, opt->channels);
    char *path = g_build_filename(dir, file, NULL);
    g_free(file);
    g_free(hash);
    g_free(base);
    g_free(abs);
    g_free(dir);
    return path;
}

static void add_stat(GChecksum *ck, const char *path, const char *name)
{
    struct stat st;
    char line[512];
    if (g_stat(path, &st) == 0)
        snprintf(line, sizeof line, "%s %lld %lld.%09ld\n", name, (long long)st.st_size,
                 (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    else
        snprintf(line, sizeof line, "%s missing\n", name);
    g_checksum_update(ck, (const guchar *)line, -1);
}

/* The source's fingerprint; FALSE when it cannot be listed (decoding will
 * then report why). */
static gboolean fingerprint(const char *source, const SibvadReadOptions *opt, guint8 out[32])
{
    GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
    char *abs = absolute(source);
    char *head = g_strdup_printf("sibvad-frames %d\n%dx%dx%d\n%s\n", CACHE_VERSION, opt->width, opt->height,
                                 opt->channels, abs);
    g_checksum_update(ck, (const guchar *)head, -1);
    g_free(head);
    gboolean ok = TRUE;
    if (g_file_test(source, G_FILE_TEST_IS_DIR)) {
        char **files = sibvad_frame_files(source, NULL);
        if (files) {
            for (char **f = files; *f; f++) {
                char *p = g_build_filename(source, *f, NULL);
                add_stat(ck, p, *f);
                g_free(p);
            }
            g_strfreev(files);
        } else {
            ok = FALSE;
        }
    } else if (g_file_test(source, G_FILE_TEST_IS_REGULAR)) {
        add_stat(ck, source, "video");
    } else {
        ok = FALSE;
    }
    gsize len = 32;
    g_checksum_get_digest(ck, out, &len);
    g_checksum_free(ck);
    g_free(abs);
    return ok;
}

static void put32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return GUINT32_FROM_LE(v);
}

static uint32_t crc32_big(const uint8_t *p, size_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)crc;
}

typedef enum { CACHE_MISSING, CACHE_OK, CACHE_STALE, CACHE_CORRUPT } CacheState;

/* Read a cache file into *pixels / *nframes when it matches fp. */
static CacheState cache_read(const char *path, const SibvadReadOptions *opt, const guint8 fp[32], int *nframes,
                             uint8_t **pixels, char **why)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return CACHE_MISSING;
    uint8_t h[CACHE_HEADER];
    CacheState st = CACHE_CORRUPT;
    struct stat sb;
    *pixels = NULL;
    if (fstat(fileno(f), &sb) != 0 || fread(h, 1, CACHE_HEADER, f) != CACHE_HEADER) {
        *why = g_strdup("shorter than its header");
        goto done;
    }
    if (memcmp(h, CACHE_MAGIC, 8) != 0) {
        *why = g_strdup("bad magic");
        goto done;
    }
    if (get32(h + 76) != crc32_big(h, 76)) {
        *why = g_strdup("header checksum mismatch");
        goto done;
    }
    if (get32(h + 8) != CACHE_VERSION || get32(h + 12) != CACHE_HEADER) {
        *why = g_strdup("written by another version");
        st = CACHE_STALE;
        goto done;
    }
    int w = (int)get32(h + 16), hh = (int)get32(h + 20), c = (int)get32(h + 24), n = (int)get32(h + 28);
    if (w != opt->width || hh != opt->height || c != opt->channels || memcmp(h + 32, fp, 32) != 0) {
        *why = g_strdup("the source changed");
        st = CACHE_STALE;
        goto done;
    }
    uint64_t payload;
    memcpy(&payload, h + 64, 8);
    payload = GUINT64_FROM_LE(payload);
    if (n <= 0 || payload != (uint64_t)n * (uint64_t)w * (uint64_t)hh * (uint64_t)c
        || (uint64_t)sb.st_size != CACHE_HEADER + payload) {
        *why = g_strdup("wrong size (truncated?)");
        goto done;
    }
    uint8_t *px = g_try_malloc(payload);
    if (!px) {
        *why = g_strdup("too large to load");
        goto done;
    }
    if (fread(px, 1, payload, f) != payload || crc32_big(px, payload) != get32(h + 72)) {
        g_free(px);
        *why = g_strdup("pixel checksum mismatch");
        goto done;
    }
    *pixels = px;
    *nframes = n;
    st = CACHE_OK;
done:
    fclose(f);
    return st;
}

static gboolean write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return FALSE;
        }
        p += w;
        n -= (size_t)w;
    }
    return TRUE;
}

/* Atomically write a cache file; returns a reason on failure. */
static char *cache_write(const char *path, const SibvadReadOptions *opt, const guint8 fp[32], int nframes,
                         const uint8_t *pixels)
{
    char *dir = g_path_get_dirname(path);
    if (g_mkdir_with_parents(dir, 0755) != 0) {
        char *why = g_strdup_printf("cannot create %s: %s", dir, g_strerror(errno));
        g_free(dir);
        return why;
    }
    g_free(dir);
    uint64_t payload = (uint64_t)nframes * (uint64_t)opt->width * (uint64_t)opt->height * (uint64_t)opt->channels;
    uint8_t h[CACHE_HEADER];
    memset(h, 0, sizeof h);
    memcpy(h, CACHE_MAGIC, 8);
    put32(h + 8, CACHE_VERSION);
    put32(h + 12, CACHE_HEADER);
    put32(h + 16, (uint32_t)opt->width);
    put32(h + 20, (uint32_t)opt->height);
    put32(h + 24, (uint32_t)opt->channels);
    put32(h + 28, (uint32_t)nframes);
    memcpy(h + 32, fp, 32);
    uint64_t le = GUINT64_TO_LE(payload);
    memcpy(h + 64, &le, 8);
    put32(h + 72, crc32_big(pixels, payload));
    put32(h + 76, crc32_big(h, 76));
    char *tmp = g_strconcat(path, ".tmp-XXXXXX", NULL);
    int fd = g_mkstemp(tmp);
    if (fd < 0) {
        char *why = g_strdup_printf("cannot create %s: %s", tmp, g_strerror(errno));
        g_free(tmp);
        return why;
    }
    gboolean ok = write_all(fd, h, CACHE_HEADER) && write_all(fd, pixels, payload);
    int err = errno;
    if (close(fd) != 0 && ok) {
        ok = FALSE;
        err = errno;
    }
    if (ok && g_rename(tmp, path) != 0) {
        ok = FALSE;
        err = errno;
    }
    if (!ok) {
        g_unlink(tmp);
        char *why = g_strdup_printf("cannot write %s: %s", path, g_strerror(err));
        g_free(tmp);
        return why;
    }
    g_free(tmp);
    return NULL;
}

/* ---- reading ---- */

static gboolean check_options(const SibvadReadOptions *opt, GError **error)
{
    if (!opt || opt->width <= 0 || opt->height <= 0 || (opt->channels != 1 && opt->channels != 3)) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_INVALID,
                    "invalid read options: need a positive width and height and 1 or 3 channels");
        return FALSE;
    }
    return TRUE;
}

static gboolean read_video(const char *source, const SibvadReadOptions *opt, SibvadVideo *v, int k, int n,
                           GError **error)
{
    const gint64 t0 = g_get_monotonic_time();
    guint8 fp[32];
    char *cpath = sibvad_video_cache_path(source, opt);
    gboolean cacheable = cpath && fingerprint(source, opt, fp);
    if (cacheable) {
        char *why = NULL;
        CacheState st = cache_read(cpath, opt, fp, &v->nframes, &v->pixels, &why);
        if (st == CACHE_OK) {
            stats.cache_hits++;
            if (!opt->quiet)
                fprintf(stderr, "sibvad: [%d/%d] %s: %d frames from the cache (%.1f s)\n", k + 1, n, v->name,
                        v->nframes, (double)(g_get_monotonic_time() - t0) / 1e6);
            g_free(cpath);
            return TRUE;
        }
        if (st == CACHE_CORRUPT)
            stats.cache_corrupt++;
        else if (st == CACHE_STALE)
            stats.cache_stale++;
        if (st == CACHE_CORRUPT && !opt->quiet)
            fprintf(stderr, "sibvad: cache file %s is corrupt (%s); decoding %s again\n", cpath, why, source);
        g_free(why);
    }
    if (!sibvad_video_decode(source, opt->width, opt->height, opt->channels, &v->nframes, &v->pixels, error)) {
        g_free(cpath);
        return FALSE;
    }
    stats.decoded++;
    const char *cached = "";
    if (cacheable) {
        char *why = cache_write(cpath, opt, fp, v->nframes, v->pixels);
        if (why) {
            if (!opt->quiet)
                fprintf(stderr, "sibvad: not caching %s: %s\n", source, why);
            g_free(why);
        } else {
            stats.cache_written++;
            cached = ", cached";
        }
    }
    if (!opt->quiet)
        fprintf(stderr, "sibvad: [%d/%d] %s: %d frames decoded from %s (%.1f s%s)\n", k + 1, n, v->name,
                v->nframes, source, (double)(g_get_monotonic_time() - t0) / 1e6, cached);
    g_free(cpath);
    return TRUE;
}

static SibvadVideoSet *read_all(char **sources, char **names, int n, const SibvadReadOptions *opt, GError **error)
{
    SibvadVideoSet *set = g_new0(SibvadVideoSet, 1);
    set->nvideos = n;
    set->videos = g_new0(SibvadVideo, n);
    set->width = opt->width;
    set->height = opt->height;
    set->channels = opt->channels;
    for (int i = 0; i < n; i++) {
        set->videos[i].name = g_strdup(names[i]);
        set->videos[i].source = g_strdup(sources[i]);
    }
    for (int i = 0; i < n; i++)
        if (!read_video(sources[i], opt, &set->videos[i], i, n, error)) {
            sibvad_videoset_free(set);
            return NULL;
        }
    return set;
}

static gboolean check_unique(char **names, char **sources, int n, GError **error)
{
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    gboolean ok = TRUE;
    for (int i = 0; i < n && ok; i++) {
        const char *other = g_hash_table_lookup(seen, names[i]);
        if (other) {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_INVALID,
                        "two videos are named %s: %s and %s", names[i], other, sources[i]);
            ok = FALSE;
        }
        g_hash_table_insert(seen, names[i], sources[i]);
    }
    g_hash_table_destroy(seen);
    return ok;
}

typedef struct {
    char *name, *source;
} Entry;

static int entry_cmp(const void *a, const void *b)
{
    return sibvad_natural_compare(((const Entry *)a)->name, ((const Entry *)b)->name);
}

SibvadVideoSet *sibvad_videoset_read_split(const char *root, const char *split, const SibvadReadOptions *opt,
                                           GError **error)
{
    if (!check_options(opt, error))
        return NULL;
    if (!g_file_test(root, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_NOT_FOUND, "dataset folder %s does not exist", root);
        return NULL;
    }
    char *dir = g_build_filename(root, split, "frames", NULL);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        char *alt = g_build_filename(root, split, "videos", NULL);
        if (g_file_test(alt, G_FILE_TEST_IS_DIR)) {
            g_free(dir);
            dir = alt;
        } else {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_NOT_FOUND,
                        "dataset %s has no %s videos: neither %s nor %s exists", root, split, dir, alt);
            g_free(alt);
            g_free(dir);
            return NULL;
        }
    }
    GError *e = NULL;
    GDir *d = g_dir_open(dir, 0, &e);
    if (!d) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_IO, "cannot read %s: %s", dir, e->message);
        g_error_free(e);
        g_free(dir);
        return NULL;
    }
    GArray *entries = g_array_new(FALSE, FALSE, sizeof(Entry));
    const char *name;
    while ((name = g_dir_read_name(d))) {
        if (name[0] == '.')
            continue;
        char *p = g_build_filename(dir, name, NULL);
        Entry en = { NULL, p };
        if (g_file_test(p, G_FILE_TEST_IS_DIR))
            en.name = g_strdup(name);
        else if (sibvad_is_video_file(name))
            en.name = sibvad_frame_stem(name);
        if (en.name)
            g_array_append_val(entries, en);
        else
            g_free(p); /* labels, notes, ...: not videos */
    }
    g_dir_close(d);
    SibvadVideoSet *set = NULL;
    int n = (int)entries->len;
    if (n == 0) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_NOT_FOUND,
                    "no videos in %s (expected frame folders <video>/ or video files)", dir);
    } else {
        qsort(entries->data, entries->len, sizeof(Entry), entry_cmp);
        char **names = g_new0(char *, n + 1), **sources = g_new0(char *, n + 1);
        for (int i = 0; i < n; i++) {
            names[i] = g_array_index(entries, Entry, i).name;
            sources[i] = g_array_index(entries, Entry, i).source;
        }
        if (check_unique(names, sources, n, error))
            set = read_all(sources, names, n, opt, error);
        g_strfreev(names);
        g_strfreev(sources);
    }
    g_array_free(entries, TRUE); /* the strings went to names and sources */
    g_free(dir);
    return set;
}

SibvadVideoSet *sibvad_videoset_read_paths(const char *const *paths, int n, const SibvadReadOptions *opt,
                                           GError **error)
{
    if (!check_options(opt, error))
        return NULL;
    if (n <= 0) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_INVALID, "no videos given");
        return NULL;
    }
    char **names = g_new0(char *, n + 1), **sources = g_new0(char *, n + 1);
    SibvadVideoSet *set = NULL;
    for (int i = 0; i < n; i++) {
        sources[i] = g_strdup(paths[i]);
        char *base = g_path_get_basename(paths[i]);
        if (g_file_test(paths[i], G_FILE_TEST_IS_DIR)) {
            names[i] = base;
        } else {
            names[i] = sibvad_frame_stem(base);
            g_free(base);
            if (!g_file_test(paths[i], G_FILE_TEST_EXISTS)) {
                g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_NOT_FOUND,
                            "video %s does not exist", paths[i]);
                goto done;
            }
        }
    }
    if (check_unique(names, sources, n, error))
        set = read_all(sources, names, n, opt, error);
done:
    g_strfreev(names);
    g_strfreev(sources);
    return set;
}

void sibvad_videoset_free(SibvadVideoSet *set)
{
    if (!set)
        return;
    for (int i = 0; i < set->nvideos; i++) {
        SibvadVideo *v = &set->videos[i];
        g_free(v->name);
        g_free(v->source);
        g_free(v->pixels);
        g_free(v->labels);
        g_free(v->semantic);
        g_free(v->semantic_ok);
    }
    g_free(set->videos);
    g_free(set);
}

/* ---- labels ---- */

static gboolean attach_labels(SibvadVideoSet *set, const char *where, gboolean search, GError **error)
{
    if (!set || set->nvideos <= 0) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_INVALID, "no videos to label");
        return FALSE;
    }
    const char **names = g_new(const char *, set->nvideos);
    int *nframes = g_new(int, set->nvideos);
    uint8_t **labels = g_new0(uint8_t *, set->nvideos);
    for (int i = 0; i < set->nvideos; i++) {
        names[i] = set->videos[i].name;
        nframes[i] = set->videos[i].nframes;
    }
    SibvadLabelQuery q = { set->nvideos, names, nframes };
    gboolean ok = search ? sibvad_labels_find(where, &q, labels, NULL, error)
                         : sibvad_labels_read_path(where, &q, labels, error);
    if (ok)
        for (int i = 0; i < set->nvideos; i++) {
            g_free(set->videos[i].labels);
            set->videos[i].labels = labels[i];
        }
    g_free(labels);
    g_free(nframes);
    g_free(names);
    return ok;
}

gboolean sibvad_videoset_load_labels(SibvadVideoSet *set, const char *root, GError **error)
{
    return attach_labels(set, root, TRUE, error);
}

gboolean sibvad_videoset_load_labels_path(SibvadVideoSet *set, const char *path, GError **error)
{
    return attach_labels(set, path, FALSE, error);
}

/* ---- semantic vectors ---- */

char **sibvad_video_frame_names(const SibvadVideo *v, GError **error)
{
    if (g_file_test(v->source, G_FILE_TEST_IS_DIR)) {
        char **files = sibvad_frame_files(v->source, error);
        if (!files)
            return NULL;
        int n = (int)g_strv_length(files);
        if (n != v->nframes) {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_MISMATCH,
                        "video %s: %s now holds %d frames, %d were read", v->name, v->source, n, v->nframes);
            g_strfreev(files);
            return NULL;
        }
        for (int i = 0; i < n; i++) {
            char *stem = sibvad_frame_stem(files[i]);
            g_free(files[i]);
            files[i] = stem;
        }
        return files;
    }
    char **names = g_new0(char *, v->nframes + 1);
    for (int t = 0; t < v->nframes; t++)
        names[t] = g_strdup_printf("%03d", t);
    return names;
}

/* One semantic vector from a file: *vec (g_malloc'd, *count floats). */
typedef gboolean (*VectorReader)(const char *path, void *ctx, float **vec, gint64 *count, GError **error);

static gboolean read_npy_vector(const char *path, void *ctx, float **vec, gint64 *count, GError **error)
{
    (void)ctx;
    SibvadNpy *a = sibvad_npy_load(path, error);
    if (!a)
        return FALSE;
    int big = 0;
    for (int d = 0; d < a->ndim; d++)
        big += a->shape[d] > 1;
    if (a->kind != 'f' || big > 1 || a->count < 1 || a->count > (1 << 20)) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "%s: a semantic vector must be a float array of shape [1, 1, S] or [S]", path);
        sibvad_npy_free(a);
        return FALSE;
    }
    *count = a->count;
    *vec = g_new(float, a->count);
    for (gint64 k = 0; k < a->count; k++) {
        const double v = sibvad_npy_get(a, k);
        /* a NaN or an infinity would poison every step that draws the clip */
        if (!isfinite(v) || fabs(v) > FLT_MAX) {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                        "%s: value %" G_GINT64_FORMAT " of the semantic vector is %g, not a finite float", path, k,
                        v);
            g_clear_pointer(vec, g_free);
            sibvad_npy_free(a);
            return FALSE;
        }
        (*vec)[k] = (float)v;
    }
    sibvad_npy_free(a);
    return TRUE;
}

/* A caption (.txt, trailing white space dropped) embedded by the encoder. */
static gboolean read_caption_vector(const char *path, void *ctx, float **vec, gint64 *count, GError **error)
{
    sibvad_text_encoder *enc = ctx;
    char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, error))
        return FALSE;
    if (memchr(text, 0, len)) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT, "%s: a caption holds a NUL byte", path);
        g_free(text);
        return FALSE;
    }
    g_strchomp(text);
    const int S = sibvad_text_encoder_dim(enc);
    sibvad_error err = {{0}};
    *vec = g_new(float, S);
    if (sibvad_text_encoder_embed(enc, text, *vec, &err) < 0) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT, "%s: %s", path, err.msg);
        g_free(*vec);
        *vec = NULL;
        g_free(text);
        return FALSE;
    }
    g_free(text);
    *count = S;
    return TRUE;
}

/* Attach one vector per clip from <dir>/<video>/<frame name><ext>. */
static gboolean load_vectors(SibvadVideoSet *set, const char *dir, const char *ext, VectorReader read,
                             void *ctx, GError **error)
{
    if (!set || set->nvideos <= 0) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_INVALID, "no videos to attach semantic vectors to");
        return FALSE;
    }
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_NOT_FOUND,
                    "semantic vector folder %s does not exist", dir);
        return FALSE;
    }
    const int n = set->nvideos;
    float **sem = g_new0(float *, n);
    uint8_t **ok_rows = g_new0(uint8_t *, n);
    int S = 0;
    long found = 0;
    char *first = NULL; /* the first vector found, for messages */
    gboolean ok = TRUE;
    for (int i = 0; i < n && ok; i++) {
        const SibvadVideo *v = &set->videos[i];
        char *vdir = g_build_filename(dir, v->name, NULL);
        if (!g_file_test(vdir, G_FILE_TEST_IS_DIR)) {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_NOT_FOUND,
                        "no semantic vectors for video %s: %s does not exist", v->name, vdir);
            g_free(vdir);
            ok = FALSE;
            break;
        }
        char **names = sibvad_video_frame_names(v, error);
        ok_rows[i] = g_malloc0((gsize)v->nframes);
        for (int t = 0; names && t < v->nframes && ok; t++) {
            char *file = g_strconcat(names[t], ext, NULL);
            char *path = g_build_filename(vdir, file, NULL);
            g_free(file);
            if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
                float *vec = NULL;
                gint64 count = 0;
                if (!read(path, ctx, &vec, &count, error)) {
                    ok = FALSE;
                } else if (S && count != S) {
                    g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_MISMATCH,
                                "%s: a semantic vector of %" G_GINT64_FORMAT " values, but %s has %d",
                                path, count, first, S);
                    ok = FALSE;
                } else {
                    if (!S) {
                        S = (int)count;
                        first = g_strdup(path);
                    }
                    if (!sem[i])
                        sem[i] = g_malloc0_n((gsize)v->nframes, sizeof(float) * (gsize)S);
                    memcpy(sem[i] + (size_t)t * S, vec, sizeof(float) * (size_t)S);
                    ok_rows[i][t] = 1;
                    found++;
                }
                g_free(vec);
            }
            g_free(path);
        }
        if (!names)
            ok = FALSE;
        g_strfreev(names);
        g_free(vdir);
    }
    if (ok && found == 0) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_NOT_FOUND,
                    "no semantic vectors found under %s (expected %s/<video>/<frame name>%s, e.g. %s/%s/003%s)",
                    dir, dir, ext, dir, set->videos[0].name, ext);
        ok = FALSE;
    }
    if (ok) {
        for (int i = 0; i < n; i++) {
            SibvadVideo *v = &set->videos[i];
            if (!sem[i]) /* a video with no vector at all */
                sem[i] = g_malloc0_n((gsize)v->nframes, sizeof(float) * (gsize)S);
            g_free(v->semantic);
            g_free(v->semantic_ok);
            v->semantic = sem[i];
            v->semantic_ok = ok_rows[i];
        }
        set->sem_dim = S;
    } else {
        for (int i = 0; i < n; i++) {
            g_free(sem[i]);
            g_free(ok_rows[i]);
        }
    }
    g_free(sem);
    g_free(ok_rows);
    g_free(first);
    return ok;
}

gboolean sibvad_videoset_load_semantic(SibvadVideoSet *set, const char *dir, GError **error)
{
    return load_vectors(set, dir, ".npy", read_npy_vector, NULL, error);
}

gboolean sibvad_videoset_load_captions(SibvadVideoSet *set, const char *dir, sibvad_text_encoder *encoder,
                                       GError **error)
{
    if (!encoder) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_INVALID, "captions need a text encoder");
        return FALSE;
    }
    return load_vectors(set, dir, ".txt", read_caption_vector, encoder, error);
}

/* ---- normalisation ---- */

void sibvad_video_frame_normalised(const SibvadVideoSet *set, const SibvadVideo *v, int t, int out_channels,
                                   float *dst)
{
    const float *mean = SIBVAD_PIXEL_MEAN, *std = SIBVAD_PIXEL_STD;
    const size_t plane = (size_t)set->width * (size_t)set->height;
    const int C = set->channels;
    const uint8_t *src = v->pixels + (size_t)t * (size_t)C * plane;
    for (int c = 0; c < out_channels && c < 3; c++) {
        const float a = 1.0f / (255.0f * std[c]), b = -mean[c] / std[c];
        float *d = dst + (size_t)c * plane;
        if (C == out_channels || C == 1) { /* same channel, or grey replicated */
            const uint8_t *s = src + (size_t)(C == 1 ? 0 : c) * plane;
            for (size_t i = 0; i < plane; i++)
                d[i] = (float)s[i] * a + b;
        } else { /* RGB to one channel: luma (BT.601), normalised with channel 0's statistics */
            const uint8_t *r = src, *g = src + plane, *bl = src + 2 * plane;
            for (size_t i = 0; i < plane; i++)
                d[i] = (0.299f * r[i] + 0.587f * g[i] + 0.114f * bl[i]) * a + b;
        }
    }
}
