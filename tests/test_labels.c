/* test_labels.c: the label readers (tools/common/labels.c, npy.c, matv5.c)
 * on files made here: .npy of every supported dtype with 1.0, 2.0 and 3.0
 * headers, MAT v5 files (uncompressed, zlib-compressed, big-endian) with a gt
 * cell of interval matrices, the text format, the search order under a
 * dataset root, and every error case. When the real UCSD Ped2 set is present
 * (../shared/datasets/ped2 or $SIBVAD_PED2) its ped2.mat and
 * frame_labels_ped2.npy are checked to agree frame for frame. */
#include "labels.h"
#include "matv5.h"
#include "npy.h"
#include "test-util.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <zlib.h>

/* The test set: two videos, 5 and 3 frames. */
static const char *names2[] = { "01", "02" };
static const int frames2[] = { 5, 3 };
static const SibvadLabelQuery q2 = { 2, names2, frames2 };
static const uint8_t want2[8] = { 0, 1, 1, 0, 0, 1, 0, 1 };

static char *mkdirs(const char *rel)
{
    char *p = g_build_filename(tmpdir, rel, NULL);
    g_mkdir_with_parents(p, 0755);
    return p;
}


static int contains(const GError *e, const char *s)
{
    return e && strstr(e->message, s) != NULL;
}

static int labels_equal(uint8_t **l, const uint8_t *want, const SibvadLabelQuery *q)
{
    int off = 0;
    for (int i = 0; i < q->nvideos; i++) {
        if (!l[i])
            return 0;
        for (int t = 0; t < q->nframes[i]; t++)
            if (l[i][t] != want[off + t])
                return 0;
        off += q->nframes[i];
    }
    return 1;
}

static void free_l(uint8_t **l, int n)
{
    for (int i = 0; i < n; i++) {
        g_free(l[i]);
        l[i] = NULL;
    }
}

/* ---- .npy files ---- */

/* A .npy with the given header fields and raw data. */
static GByteArray *npy_bytes(int version, const char *descr, const char *fortran, const char *shape, const void *data,
                             size_t n)
{
    char *dict = g_strdup_printf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, fortran, shape);
    GString *h = g_string_new(dict);
    g_free(dict);
    size_t pre = version == 1 ? 10 : 12;
    while ((pre + h->len + 1) % 64)
        g_string_append_c(h, ' ');
    g_string_append_c(h, '\n');
    GByteArray *b = g_byte_array_new();
    uint8_t magic[8] = { 0x93, 'N', 'U', 'M', 'P', 'Y', (uint8_t)version, 0 };
    g_byte_array_append(b, magic, 8);
    uint8_t len[4] = { (uint8_t)(h->len & 0xff), (uint8_t)(h->len >> 8), 0, 0 };
    g_byte_array_append(b, len, version == 1 ? 2 : 4);
    g_byte_array_append(b, (const guint8 *)h->str, (guint)h->len);
    g_byte_array_append(b, data, (guint)n);
    g_string_free(h, TRUE);
    return b;
}

static void write_npy(const char *path, int version, const char *descr, const char *fortran, const char *shape,
                      const void *data, size_t n)
{
    GByteArray *b = npy_bytes(version, descr, fortran, shape, data, n);
    write_bytes(path, b->data, b->len);
    g_byte_array_free(b, TRUE);
}

/* want2 (8 values) encoded as descr; returns the byte count in out. */
static size_t encode(const char *descr, uint8_t *out)
{
    int big = descr[0] == '>';
    char kind = descr[1];
    int size = atoi(descr + 2);
    for (int i = 0; i < 8; i++) {
        uint8_t b[8] = { 0 };
        if (kind == 'f' && size == 4) {
            float f = want2[i];
            memcpy(b, &f, 4);
        } else if (kind == 'f') {
            double d = want2[i];
            memcpy(b, &d, 8);
        } else {
            b[0] = want2[i]; /* little-endian integer */
        }
        if (big)
            for (int k = 0; k < size / 2; k++) {
                uint8_t t = b[k];
                b[k] = b[size - 1 - k];
                b[size - 1 - k] = t;
            }
        memcpy(out + i * size, b, (size_t)size);
    }
    return 8 * (size_t)size;
}

static void test_npy_reader(void)
{
    static const char *descrs[] = {
        "|u1", "|b1", "<i4", "<i8", "<f4", "<f8", ">i4", ">i8", ">f4", ">f8", "<u2", "|i1"
    };
    uint8_t data[64];
    for (size_t k = 0; k < G_N_ELEMENTS(descrs); k++)
        for (int version = 1; version <= 3; version++) {
            size_t n = encode(descrs[k], data);
            GByteArray *b = npy_bytes(version, descrs[k], "False", "(1, 8)", data, n);
            GError *e = NULL;
            SibvadNpy *a = sibvad_npy_parse(b->data, b->len, "mem.npy", &e);
            int ok =
                a && a->ndim == 2 && a->shape[0] == 1 && a->shape[1] == 8 && a->count == 8 && a->version == version;
            for (int i = 0; ok && i < 8; i++)
                ok = sibvad_npy_get(a, i) == want2[i];
            CHECK(ok, "npy %s, format %d.0: shape (1, 8) and values read%s%s", descrs[k], version, e ? ": " : "",
                  e ? e->message : "");
            g_clear_error(&e);
            sibvad_npy_free(a);
            g_byte_array_free(b, TRUE);
        }
    /* shapes: 1-D, scalar, Python 2 long suffix */
    GError *e = NULL;
    GByteArray *b = npy_bytes(1, "|u1", "False", "(8,)", want2, 8);
    SibvadNpy *a = sibvad_npy_parse(b->data, b->len, "m", &e);
    CHECK(a && a->ndim == 1 && a->count == 8, "npy shape (8,) is 1-D");
    sibvad_npy_free(a);
    g_byte_array_free(b, TRUE);
    b = npy_bytes(1, "<f8", "False", "()", "\0\0\0\0\0\0\xf0\x3f", 8);
    a = sibvad_npy_parse(b->data, b->len, "m", &e);
    CHECK(a && a->ndim == 0 && a->count == 1 && sibvad_npy_get(a, 0) == 1.0, "npy scalar shape () holds one value");
    sibvad_npy_free(a);
    g_byte_array_free(b, TRUE);
    b = npy_bytes(1, "|u1", "False", "(2L, 4L)", want2, 8);
    a = sibvad_npy_parse(b->data, b->len, "m", &e);
    CHECK(a && a->ndim == 2 && a->shape[1] == 4, "npy shape with Python 2 'L' suffixes");
    sibvad_npy_free(a);
    g_byte_array_free(b, TRUE);
    /* fortran order: fine for a vector, refused for a matrix */
    b = npy_bytes(1, "|u1", "True", "(1, 8)", want2, 8);
    a = sibvad_npy_parse(b->data, b->len, "m", &e);
    CHECK(a != NULL, "npy fortran_order True of shape (1, 8) is accepted (a vector)");
    sibvad_npy_free(a);
    g_byte_array_free(b, TRUE);
    b = npy_bytes(1, "|u1", "True", "(2, 4)", want2, 8);
    a = sibvad_npy_parse(b->data, b->len, "fort.npy", &e);
    CHECK(!a && contains(e, "fort.npy") && contains(e, "fortran_order"), "npy fortran_order (2, 4) refused: %s",
          e ? e->message : "(no error)");
    g_clear_error(&e);
    g_byte_array_free(b, TRUE);
    /* errors */
    b = npy_bytes(1, "<i8", "False", "(1, 8)", want2, 8); /* 8 bytes where 64 are due */
    a = sibvad_npy_parse(b->data, b->len, "short.npy", &e);
    CHECK(!a && contains(e, "short.npy") && contains(e, "truncated"), "truncated npy data: %s", e ? e->message : "-");
    g_clear_error(&e);
    a = sibvad_npy_parse(b->data, 20, "cut.npy", &e);
    CHECK(!a && contains(e, "cut.npy") && contains(e, "truncated"), "npy cut inside its header: %s",
          e ? e->message : "-");
    g_clear_error(&e);
    b->data[1] = 'X';
    a = sibvad_npy_parse(b->data, b->len, "magic.npy", &e);
    CHECK(!a && contains(e, "magic.npy") && contains(e, "magic"), "bad npy magic: %s", e ? e->message : "-");
    g_clear_error(&e);
    g_byte_array_free(b, TRUE);
    b = npy_bytes(1, "<c16", "False", "(1,)", want2, 8);
    a = sibvad_npy_parse(b->data, b->len, "cplx.npy", &e);
    CHECK(!a && contains(e, "dtype") && contains(e, "<c16"), "unsupported dtype refused: %s", e ? e->message : "-");
    g_clear_error(&e);
    g_byte_array_free(b, TRUE);
    b = npy_bytes(1, "|u1", "False", "(1, 8", want2, 8);
    a = sibvad_npy_parse(b->data, b->len, "hdr.npy", &e);
    CHECK(!a && contains(e, "hdr.npy") && contains(e, "shape"), "malformed npy header: %s", e ? e->message : "-");
    g_clear_error(&e);
    g_byte_array_free(b, TRUE);
    b = npy_bytes(4, "|u1", "False", "(8,)", want2, 8);
    a = sibvad_npy_parse(b->data, b->len, "v4.npy", &e);
    CHECK(!a && contains(e, "version 4"), "npy format 4.0 refused: %s", e ? e->message : "-");
    g_clear_error(&e);
    g_byte_array_free(b, TRUE);
    /* the writer */
    float v[6] = { 0, 1.5f, -2, 3, 4, 5 };
    int64_t shape[3] = { 1, 2, 3 };
    char *path = tpath("w.npy");
    CHECK(sibvad_npy_write_f32(path, v, 3, shape, &e), "npy float32 writer");
    a = sibvad_npy_load(path, &e);
    CHECK(a && a->kind == 'f' && a->itemsize == 4 && a->ndim == 3 && a->shape[2] == 3 && sibvad_npy_get(a, 1) == 1.5
              && sibvad_npy_get(a, 2) == -2.0,
          "npy written float32 array reads back");
    sibvad_npy_free(a);
    a = sibvad_npy_load(tpath("nonexistent.npy"), &e);
    CHECK(!a && contains(e, "nonexistent.npy"), "missing npy file named: %s", e ? e->message : "-");
    g_clear_error(&e);
}

static void test_npy_labels(void)
{
    uint8_t *l[2] = { NULL, NULL };
    GError *e = NULL;
    /* per-video files found under <root>/testing/labels */
    char *root = mkdirs("npyroot");
    char *dir = mkdirs("npyroot/testing/labels");
    char *p1 = g_build_filename(dir, "01.npy", NULL), *p2 = g_build_filename(dir, "02.npy", NULL);
    write_npy(p1, 1, "|b1", "False", "(5,)", want2, 5);
    double d[3] = { 1, 0, 1 };
    write_npy(p2, 2, "<f8", "False", "(1, 3)", d, sizeof d);
    char *found = NULL;
    CHECK(sibvad_labels_find(root, &q2, l, &found, &e) && labels_equal(l, want2, &q2)
              && strstr(found, "testing/labels"),
          "per-video npy labels found in testing/labels: %s", e ? e->message : found);
    g_clear_error(&e);
    g_free(found);
    free_l(l, 2);
    /* a wrong count names the video and both counts */
    write_npy(p2, 1, "|u1", "False", "(4,)", want2, 4);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "video 02") && contains(e, "3 frames")
              && contains(e, "4 labels") && !l[0] && !l[1],
          "per-video label count mismatch: %s", e ? e->message : "-");
    g_clear_error(&e);
    /* a video without its file */
    g_unlink(p2);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "02.npy") && contains(e, "video 02"),
          "missing per-video label file: %s", e ? e->message : "-");
    g_clear_error(&e);
    /* values other than 0/1 */
    uint8_t bad[3] = { 0, 2, 1 };
    write_npy(p2, 1, "|u1", "False", "(3,)", bad, 3);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "value 2") && contains(e, "video 02"),
          "label value 2 refused: %s", e ? e->message : "-");
    g_clear_error(&e);
    /* a matrix is not a label vector */
    uint8_t nine[9] = { 0 };
    write_npy(p2, 1, "|u1", "False", "(3, 3)", nine, 9);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "(3, 3)"), "label matrix refused: %s",
          e ? e->message : "-");
    g_clear_error(&e);
    rm_rf(root);
    g_free(root);
    g_free(dir);
    g_free(p1);
    g_free(p2);

    /* ShanghaiTech's test_frame_mask folder */
    root = mkdirs("shtroot");
    dir = mkdirs("shtroot/testing/test_frame_mask");
    p1 = g_build_filename(dir, "01.npy", NULL);
    p2 = g_build_filename(dir, "02.npy", NULL);
    int64_t i8[5];
    for (int i = 0; i < 5; i++)
        i8[i] = want2[i];
    write_npy(p1, 1, "<i8", "False", "(5,)", i8, sizeof(int64_t) * 5);
    write_npy(p2, 1, "<i8", "False", "(3,)", (int64_t[]){ 1, 0, 1 }, 24);
    CHECK(sibvad_labels_find(root, &q2, l, NULL, &e) && labels_equal(l, want2, &q2),
          "per-video npy labels found in testing/test_frame_mask");
    g_clear_error(&e);
    free_l(l, 2);
    rm_rf(root);
    g_free(root);
    g_free(dir);
    g_free(p1);
    g_free(p2);

    /* one concatenated file in the root */
    root = mkdirs("catroot");
    char *cat = g_build_filename(root, "frame_labels_x.npy", NULL);
    write_npy(cat, 1, "<i8", "False", "(1, 8)",
              (int64_t[]){ want2[0], want2[1], want2[2], want2[3], want2[4], want2[5], want2[6], want2[7] }, 64);
    found = NULL;
    CHECK(sibvad_labels_find(root, &q2, l, &found, &e) && labels_equal(l, want2, &q2)
              && strstr(found, "frame_labels_x.npy"),
          "concatenated npy labels split by frame counts: %s", e ? e->message : found);
    g_clear_error(&e);
    g_free(found);
    free_l(l, 2);
    write_npy(cat, 1, "|u1", "False", "(7,)", want2, 7);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "video 02") && contains(e, "3 frames")
              && contains(e, "only 2 labels"),
          "concatenated labels too few: %s", e ? e->message : "-");
    g_clear_error(&e);
    uint8_t nine2[9] = { 0 };
    write_npy(cat, 1, "|u1", "False", "(9,)", nine2, 9);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "9 labels") && contains(e, "8 frames")
              && contains(e, "left over"),
          "concatenated labels too many: %s", e ? e->message : "-");
    g_clear_error(&e);
    /* two candidates: the one named as labels wins; two such: ambiguous */
    write_npy(cat, 3, "|u1", "False", "(8,)", want2, 8);
    char *other = g_build_filename(root, "features.npy", NULL);
    write_npy(other, 1, "|u1", "False", "(2,)", want2, 2);
    CHECK(sibvad_labels_find(root, &q2, l, NULL, &e) && labels_equal(l, want2, &q2),
          "of two .npy in the root the one named *label* is used");
    g_clear_error(&e);
    free_l(l, 2);
    char *other2 = g_build_filename(root, "labels_old.npy", NULL);
    write_npy(other2, 1, "|u1", "False", "(8,)", want2, 8);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "several"), "two label .npy files: %s",
          e ? e->message : "-");
    g_clear_error(&e);
    /* truncated file */
    g_unlink(other2);
    GByteArray *b = npy_bytes(1, "<f4", "False", "(8,)", want2, 8);
    write_bytes(cat, b->data, b->len);
    g_byte_array_free(b, TRUE);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "frame_labels_x.npy") && contains(e, "truncated"),
          "truncated label npy: %s", e ? e->message : "-");
    g_clear_error(&e);
    write_bytes(cat, "PK\x03\x04not an npy at all", 21);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "frame_labels_x.npy") && contains(e, "magic"),
          "label file with a bad magic: %s", e ? e->message : "-");
    g_clear_error(&e);
    rm_rf(root);
    g_free(root);
    g_free(cat);
    g_free(other);
    g_free(other2);
}

/* ---- MAT v5 files ---- */

static int mat_be; /* write big-endian files */

static void put32(GByteArray *b, uint32_t v)
{
    if (mat_be)
        v = GUINT32_TO_BE(v);
    else
        v = GUINT32_TO_LE(v);
    g_byte_array_append(b, (const guint8 *)&v, 4);
}

static void pad8(GByteArray *b)
{
    static const uint8_t z[8] = { 0 };
    if (b->len % 8)
        g_byte_array_append(b, z, 8 - b->len % 8);
}

/* A data element: tag, data, padding; small format for <= 4 bytes when small is set. */
static void put_elem(GByteArray *b, uint32_t type, const void *data, uint32_t n, int small)
{
    if (small && n <= 4) {
        put32(b, n << 16 | type);
        uint8_t d[4] = { 0 };
        memcpy(d, data, n);
        g_byte_array_append(b, d, 4);
        return;
    }
    put32(b, type);
    put32(b, n);
    g_byte_array_append(b, data, n);
    pad8(b);
}

static void put_header_elems(GByteArray *m, int mclass, int rows, int cols, const char *name)
{
    uint32_t flags[2] = { (uint32_t)mclass, 0 };
    GByteArray *f = g_byte_array_new();
    put32(f, flags[0]);
    put32(f, flags[1]);
    put_elem(m, 6 /* miUINT32 */, f->data, 8, 0);
    g_byte_array_set_size(f, 0);
    put32(f, (uint32_t)rows);
    put32(f, (uint32_t)cols);
    put_elem(m, 5 /* miINT32 */, f->data, 8, 0);
    g_byte_array_free(f, TRUE);
    put_elem(m, 1 /* miINT8 */, name, (uint32_t)strlen(name), 1);
}

/* A miMATRIX element of a rows x cols double matrix (column-major values);
 * as_uint8 stores the values as miUINT8, as MATLAB does for small integers. */
static GByteArray *mat_double(const char *name, int rows, int cols, const double *vals, int as_uint8)
{
    GByteArray *m = g_byte_array_new();
    put_header_elems(m, 6 /* mxDOUBLE */, rows, cols, name);
    int n = rows * cols;
    if (as_uint8) {
        uint8_t *u = g_malloc((gsize)n + 1);
        for (int i = 0; i < n; i++)
            u[i] = (uint8_t)vals[i];
        put_elem(m, 2 /* miUINT8 */, u, (uint32_t)n, 1);
        g_free(u);
    } else {
        GByteArray *d = g_byte_array_new();
        for (int i = 0; i < n; i++) {
            uint64_t bits;
            memcpy(&bits, &vals[i], 8);
            bits = mat_be ? GUINT64_TO_BE(bits) : GUINT64_TO_LE(bits);
            g_byte_array_append(d, (const guint8 *)&bits, 8);
        }
        put_elem(m, 9 /* miDOUBLE */, d->data, d->len, 0);
        g_byte_array_free(d, TRUE);
    }
    GByteArray *e = g_byte_array_new();
    put_elem(e, 14 /* miMATRIX */, m->data, m->len, 0);
    g_byte_array_free(m, TRUE);
    return e;
}

/* A 1 x n cell of the given miMATRIX elements (taken). */
static GByteArray *mat_cell(const char *name, int n, GByteArray **items)
{
    GByteArray *m = g_byte_array_new();
    put_header_elems(m, 1 /* mxCELL */, 1, n, name);
    for (int i = 0; i < n; i++) {
        g_byte_array_append(m, items[i]->data, items[i]->len);
        g_byte_array_free(items[i], TRUE);
    }
    GByteArray *e = g_byte_array_new();
    put_elem(e, 14, m->data, m->len, 0);
    g_byte_array_free(m, TRUE);
    return e;
}

static GByteArray *mat_file_start(void)
{
    GByteArray *f = g_byte_array_new();
    char text[116];
    memset(text, ' ', sizeof text);
    memcpy(text, "MATLAB 5.0 MAT-file, made by test_labels", 40);
    g_byte_array_append(f, (const guint8 *)text, 116);
    static const uint8_t z[8] = { 0 };
    g_byte_array_append(f, z, 8);
    uint8_t ver[4] = { 0x00, 0x01, 'I', 'M' };
    if (mat_be) {
        ver[0] = 0x01;
        ver[1] = 0x00;
        ver[2] = 'M';
        ver[3] = 'I';
    }
    g_byte_array_append(f, ver, 4);
    return f;
}

/* Append a variable, zlib-compressed when compress is set (taken). */
static void mat_add(GByteArray *f, GByteArray *elem, int compress)
{
    if (compress) {
        uLongf n = compressBound(elem->len);
        uint8_t *z = g_malloc(n);
        compress2(z, &n, elem->data, elem->len, 6);
        put32(f, 15 /* miCOMPRESSED */);
        put32(f, (uint32_t)n);
        g_byte_array_append(f, z, (guint)n);
        g_free(z);
    } else {
        g_byte_array_append(f, elem->data, elem->len);
    }
    g_byte_array_free(elem, TRUE);
}

/* gt for the two test videos: video 01 frames 2-3 (a 2x1 [start; end]), video 02 frames 1 and 3
 * (a 2x2 whose columns are the intervals [1; 1] and [3; 3]). */
static GByteArray *gt_two_videos(int compress, int as_uint8)
{
    GByteArray *f = mat_file_start();
    double c1[2] = { 2, 3 };
    double c2[4] = { 1, 1, 3, 3 }; /* 2x2: columns [1;1] and [3;3] */
    GByteArray *items[2] = { mat_double("", 2, 1, c1, as_uint8), mat_double("", 2, 2, c2, as_uint8) };
    mat_add(f, mat_double("other", 1, 2, c1, 0), compress);
    mat_add(f, mat_cell("gt", 2, items), compress);
    return f;
}

static void test_mat(void)
{
    uint8_t *l[2] = { NULL, NULL };
    GError *e = NULL;
    char *root = mkdirs("matroot");
    char *path = g_build_filename(root, "x.mat", NULL);
    for (int be = 0; be <= 1; be++)
        for (int compress = 0; compress <= 1; compress++)
            for (int u8 = 0; u8 <= 1; u8++) {
                mat_be = be;
                GByteArray *f = gt_two_videos(compress, u8);
                write_bytes(path, f->data, f->len);
                g_byte_array_free(f, TRUE);
                char *found = NULL;
                CHECK(sibvad_labels_find(root, &q2, l, &found, &e) && labels_equal(l, want2, &q2)
                          && strstr(found, "x.mat"),
                      "MAT gt (%s, %s, values as %s) read: %s", be ? "big-endian" : "little-endian",
                      compress ? "compressed" : "uncompressed", u8 ? "miUINT8" : "miDOUBLE",
                      e ? e->message : found);
                g_clear_error(&e);
                g_free(found);
                free_l(l, 2);
            }
    mat_be = 0;
    /* the whole file as parsed */
    GByteArray *f = gt_two_videos(1, 0);
    SibvadMatFile *mf = sibvad_mat_parse(f->data, f->len, "m.mat", &e);
    const SibvadMatVar *gt = mf ? sibvad_mat_find(mf, "gt") : NULL;
    char *desc = gt ? sibvad_mat_describe(gt) : NULL;
    CHECK(mf && mf->nvars == 2 && gt && desc && strcmp(desc, "1x2 cell") == 0 && gt->cells[1]->dims[0] == 2,
          "MAT variables listed: other, gt (%s)", desc ? desc : "-");
    g_free(desc);
    sibvad_mat_free(mf);
    /* Mx2 intervals, an empty cell (a normal video), a trailing 1-D mask */
    GByteArray *g = mat_file_start();
    double m32[6] = { 2, 4, 5, 2, 4, 5 }; /* 3x2: rows [2,2] [4,4] [5,5] */
    GByteArray *items[2] = { mat_double("", 3, 2, m32, 0), mat_double("", 0, 0, NULL, 0) };
    mat_add(g, mat_cell("gt", 2, items), 1);
    write_bytes(path, g->data, g->len);
    g_byte_array_free(g, TRUE);
    CHECK(sibvad_labels_read_mat(path, &q2, l, &e) && l[0][0] == 0 && l[0][1] == 1 && l[0][2] == 0 && l[0][3] == 1
              && l[0][4] == 1 && !l[1][0] && !l[1][1] && !l[1][2],
          "MAT gt with a 3x2 (rows) matrix and an empty cell: %s", e ? e->message : "ok");
    g_clear_error(&e);
    free_l(l, 2);

    /* errors: no gt */
    g = mat_file_start();
    mat_add(g, mat_double("labels", 1, 2, (double[]){ 1, 2 }, 0), 0);
    write_bytes(path, g->data, g->len);
    g_byte_array_free(g, TRUE);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "x.mat") && contains(e, "no variable gt")
              && contains(e, "labels (1x2 double)") && !l[0],
          "MAT without gt: %s", e ? e->message : "-");
    g_clear_error(&e);
    /* wrong cell count */
    g = mat_file_start();
    GByteArray *three[3] = { mat_double("", 2, 1, (double[]){ 1, 2 }, 0), mat_double("", 2, 1, (double[]){ 1, 2 }, 0),
                             mat_double("", 2, 1, (double[]){ 1, 2 }, 0) };
    mat_add(g, mat_cell("gt", 3, three), 1);
    write_bytes(path, g->data, g->len);
    g_byte_array_free(g, TRUE);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "3 cells") && contains(e, "2 test videos"),
          "MAT gt with the wrong cell count: %s", e ? e->message : "-");
    g_clear_error(&e);
    /* an interval past the end of the video */
    g = mat_file_start();
    GByteArray *past[2] = { mat_double("", 2, 1, (double[]){ 2, 6 }, 0), mat_double("", 2, 1, (double[]){ 1, 2 }, 0) };
    mat_add(g, mat_cell("gt", 2, past), 0);
    write_bytes(path, g->data, g->len);
    g_byte_array_free(g, TRUE);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "video 01") && contains(e, "[2, 6]")
              && contains(e, "5 frames"),
          "MAT interval past the video's end: %s", e ? e->message : "-");
    g_clear_error(&e);
    /* gt that is not a cell */
    g = mat_file_start();
    mat_add(g, mat_double("gt", 2, 1, (double[]){ 1, 2 }, 0), 0);
    write_bytes(path, g->data, g->len);
    g_byte_array_free(g, TRUE);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "2x1 double") && contains(e, "cell"),
          "MAT gt that is not a cell: %s", e ? e->message : "-");
    g_clear_error(&e);
    /* a cell of the wrong shape */
    g = mat_file_start();
    GByteArray *odd[2] = { mat_double("", 3, 3, (double[]){ 1, 2, 3, 4, 5, 6, 7, 8, 9 }, 0),
                           mat_double("", 2, 1, (double[]){ 1, 2 }, 0) };
    mat_add(g, mat_cell("gt", 2, odd), 0);
    write_bytes(path, g->data, g->len);
    g_byte_array_free(g, TRUE);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "gt{1}") && contains(e, "3x3 double"),
          "MAT gt cell of the wrong shape: %s", e ? e->message : "-");
    g_clear_error(&e);
    /* corrupt zlib stream: damage the deflate data of the only (compressed) variable, after
     * its tag (8 bytes) and the zlib header (2 bytes) */
    g_byte_array_free(f, TRUE);
    f = mat_file_start();
    GByteArray *one[2] = { mat_double("", 2, 1, (double[]){ 2, 3 }, 0),
                           mat_double("", 2, 2, (double[]){ 1, 1, 3, 3 }, 0) };
    mat_add(f, mat_cell("gt", 2, one), 1);
    for (guint i = 128 + 8 + 2; i < 128 + 8 + 8; i++)
        f->data[i] ^= 0xa5;
    write_bytes(path, f->data, f->len);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "x.mat") && contains(e, "corrupt"),
          "MAT with a corrupt zlib stream: %s", e ? e->message : "-");
    g_clear_error(&e);
    g_byte_array_free(f, TRUE);
    /* a zlib stream cut short, with its tag saying so */
    f = mat_file_start();
    GByteArray *two[2] = { mat_double("", 2, 1, (double[]){ 2, 3 }, 0),
                           mat_double("", 2, 2, (double[]){ 1, 1, 3, 3 }, 0) };
    mat_add(f, mat_cell("gt", 2, two), 1);
    g_byte_array_set_size(f, f->len - 10);
    uint32_t nb = f->len - 136;
    memcpy(f->data + 132, &nb, 4);
    write_bytes(path, f->data, f->len);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "x.mat") && contains(e, "truncated"),
          "MAT with a zlib stream cut short: %s", e ? e->message : "-");
    g_clear_error(&e);
    g_byte_array_free(f, TRUE);
    /* an uncompressed file cut short */
    f = gt_two_videos(0, 0);
    g_byte_array_set_size(f, f->len - 12);
    write_bytes(path, f->data, f->len);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "x.mat") && contains(e, "truncated"),
          "truncated MAT-file: %s", e ? e->message : "-");
    g_clear_error(&e);
    g_byte_array_free(f, TRUE);
    /* not a MAT-file; v7.3 */
    write_bytes(path, "hello", 5);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "x.mat") && contains(e, "not a MATLAB v5"),
          "a file too short to be a MAT-file: %s", e ? e->message : "-");
    g_clear_error(&e);
    char big[600];
    memset(big, ' ', sizeof big);
    memcpy(big, "MATLAB 7.3 MAT-file, Platform: GLNXA64", 38);
    write_bytes(path, big, sizeof big);
    CHECK(!sibvad_labels_find(root, &q2, l, NULL, &e) && contains(e, "7.3") && contains(e, "HDF5"),
          "a v7.3 MAT-file is refused with advice: %s", e ? e->message : "-");
    g_clear_error(&e);
    rm_rf(root);
    g_free(root);
    g_free(path);
}

/* ---- text ---- */

static void test_text(void)
{
    uint8_t *l[2] = { NULL, NULL };
    GError *e = NULL;
    char *root = mkdirs("txtroot/testing");
    char *path = g_build_filename(root, "labels.txt", NULL);
    char *dsroot = g_path_get_dirname(root);
    const char *good = "# labels of the test videos\n"
                       "01: 2-3   # a range\n"
                       "\n"
                       "02 mask 1 0 1\n"
                       "03 4-9\n"; /* a video not read: skipped */
    write_bytes(path, good, strlen(good));
    char *found = NULL;
    CHECK(sibvad_labels_find(dsroot, &q2, l, &found, &e) && labels_equal(l, want2, &q2) && strstr(found, "labels.txt"),
          "text labels (ranges, mask, comments) found: %s", e ? e->message : found);
    g_clear_error(&e);
    g_free(found);
    free_l(l, 2);
    const char *good2 = "01 2,3\n02 1 3\n";
    write_bytes(path, good2, strlen(good2));
    CHECK(sibvad_labels_read_text(path, &q2, l, &e) && labels_equal(l, want2, &q2),
          "text labels as single frames, commas and spaces");
    g_clear_error(&e);
    free_l(l, 2);
    const char *none = "01 none\n02 -\n";
    write_bytes(path, none, strlen(none));
    CHECK(sibvad_labels_read_text(path, &q2, l, &e) && l[0] && !l[0][1] && !l[1][0] && !l[1][2],
          "text labels 'none' and '-' mean a normal video");
    g_clear_error(&e);
    free_l(l, 2);
    static const struct {
        const char *text, *want1, *want2;
    } bad[] = {
        { "01 2-3\n02 mask 1 0\n", "video 02 has 3 frames", "2 labels" },
        { "01 2-3\n", "no line for video 02", "labels.txt" },
        { "01 2-3\n01 1\n02 1\n", "listed twice", "line 1" },
        { "01 3-2\n02 1\n", "video 01", "[3, 2]" },
        { "01 2-6\n02 1\n", "video 01", "5 frames" },
        { "01 two\n02 1\n", "'two'", "labels.txt:1" },
        { "01 mask 1 0 1 0 x\n02 1\n", "'x'", "video 01" },
    };
    for (size_t k = 0; k < G_N_ELEMENTS(bad); k++) {
        write_bytes(path, bad[k].text, strlen(bad[k].text));
        CHECK(!sibvad_labels_read_text(path, &q2, l, &e) && contains(e, bad[k].want1) && contains(e, bad[k].want2)
                  && !l[0] && !l[1],
              "text error %zu: %s", k, e ? e->message : "-");
        g_clear_error(&e);
    }
    /* read_path dispatches on the type */
    write_bytes(path, good2, strlen(good2));
    CHECK(sibvad_labels_read_path(path, &q2, l, &e) && labels_equal(l, want2, &q2), "read_path on a .txt");
    g_clear_error(&e);
    free_l(l, 2);
    CHECK(!sibvad_labels_read_path(tpath("nothing.txt"), &q2, l, &e) && contains(e, "nothing.txt"),
          "read_path on a missing file: %s", e ? e->message : "-");
    g_clear_error(&e);
    rm_rf(dsroot);
    g_free(path);
    g_free(root);
    g_free(dsroot);
}

static void test_search_order(void)
{
    uint8_t *l[2] = { NULL, NULL };
    GError *e = NULL;
    char *root = mkdirs("order");
    char *lab = mkdirs("order/testing/labels");
    g_free(mkdirs("order/testing/frames"));
    /* text says all normal, the MAT-file and the npy say want2: npy per video wins, then concat, then MAT */
    char *txt = g_build_filename(root, "testing", "labels.txt", NULL);
    write_bytes(txt, "01 none\n02 none\n", 16);
    mat_be = 0;
    GByteArray *f = gt_two_videos(1, 0);
    char *mat = g_build_filename(root, "gt.mat", NULL);
    write_bytes(mat, f->data, f->len);
    g_byte_array_free(f, TRUE);
    char *found = NULL;
    CHECK(sibvad_labels_find(root, &q2, l, &found, &e) && strstr(found, "gt.mat") && labels_equal(l, want2, &q2),
          "the MAT-file wins over labels.txt: %s", found ? found : e->message);
    g_free(found);
    found = NULL;
    free_l(l, 2);
    char *cat = g_build_filename(root, "all_labels.npy", NULL);
    uint8_t ones[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
    write_npy(cat, 1, "|u1", "False", "(8,)", ones, 8);
    CHECK(sibvad_labels_find(root, &q2, l, &found, &e) && strstr(found, "all_labels.npy") && l[0][0] == 1,
          "a concatenated .npy wins over the MAT-file: %s", found ? found : e->message);
    g_free(found);
    found = NULL;
    free_l(l, 2);
    char *p1 = g_build_filename(lab, "01.npy", NULL), *p2 = g_build_filename(lab, "02.npy", NULL);
    write_npy(p1, 1, "|u1", "False", "(5,)", want2, 5);
    write_npy(p2, 1, "|u1", "False", "(3,)", want2 + 5, 3);
    CHECK(sibvad_labels_find(root, &q2, l, &found, &e) && strstr(found, "testing/labels")
              && labels_equal(l, want2, &q2),
          "per-video .npy files win over everything: %s", found ? found : e->message);
    g_free(found);
    free_l(l, 2);
    /* nothing at all */
    char *empty = mkdirs("order-empty");
    CHECK(!sibvad_labels_find(empty, &q2, l, NULL, &e) && contains(e, "no frame labels") && contains(e, "labels.txt"),
          "no labels anywhere: %s", e ? e->message : "-");
    g_clear_error(&e);
    CHECK(!sibvad_labels_find(tpath("no-such-root"), &q2, l, NULL, &e) && contains(e, "no-such-root"),
          "missing dataset root: %s", e ? e->message : "-");
    g_clear_error(&e);
    rm_rf(root);
    rm_rf(empty);
    g_free(empty);
    g_free(root);
    g_free(lab);
    g_free(txt);
    g_free(mat);
    g_free(cat);
    g_free(p1);
    g_free(p2);
}

/* The real Ped2 labels, when the shared data set is there. */
static void test_ped2(void)
{
    const char *env = getenv("SIBVAD_PED2");
    static const char *const tries[] = { "../shared/datasets/ped2", "../../shared/datasets/ped2",
                                         "../../../shared/datasets/ped2", NULL };
    const char *root = NULL;
    for (int i = -1; !root && (i < 0 || tries[i]); i++) {
        const char *r = i < 0 ? env : tries[i];
        if (!r || !r[0])
            continue;
        char *mat = g_build_filename(r, "ped2.mat", NULL);
        if (g_file_test(mat, G_FILE_TEST_IS_REGULAR))
            root = r;
        g_free(mat);
    }
    if (!root) {
        printf("note: the Ped2 data set (../shared/datasets/ped2 or $SIBVAD_PED2) is not here; its labels are not "
               "checked\n");
        return;
    }
    /* the frame counts from the frame folders */
    const char *names[12];
    int nframes[12];
    char buf[12][16];
    int total = 0;
    for (int i = 0; i < 12; i++) {
        snprintf(buf[i], sizeof buf[i], "%02d", i + 1);
        names[i] = buf[i];
        char *dir = g_build_filename(root, "testing", "frames", buf[i], NULL);
        GDir *d = g_dir_open(dir, 0, NULL);
        nframes[i] = 0;
        const char *n;
        while (d && (n = g_dir_read_name(d)))
            nframes[i] += g_str_has_suffix(n, ".jpg");
        if (d)
            g_dir_close(d);
        g_free(dir);
        total += nframes[i];
    }
    CHECK(total == 2010, "Ped2: 12 test videos, %d frames (2010 expected)", total);
    SibvadLabelQuery q = { 12, names, nframes };
    uint8_t *lm[12] = { 0 }, *ln[12] = { 0 }, *lf[12] = { 0 };
    GError *e = NULL;
    char *mat = g_build_filename(root, "ped2.mat", NULL), *npy = g_build_filename(root, "frame_labels_ped2.npy", NULL);
    gboolean okm = sibvad_labels_read_mat(mat, &q, lm, &e);
    CHECK(okm, "Ped2: ped2.mat parses%s%s", e ? ": " : "", e ? e->message : "");
    g_clear_error(&e);
    gboolean okn = sibvad_labels_read_npy_concat(npy, &q, ln, &e);
    CHECK(okn, "Ped2: frame_labels_ped2.npy parses%s%s", e ? ": " : "", e ? e->message : "");
    g_clear_error(&e);
    char *found = NULL;
    gboolean okf = sibvad_labels_find(root, &q, lf, &found, &e);
    CHECK(okf, "Ped2: labels found under the root: %s", okf ? found : e->message);
    g_clear_error(&e);
    g_free(found);
    if (okm && okn && okf) {
        int differ = 0, abnormal = 0;
        for (int i = 0; i < 12; i++)
            for (int t = 0; t < nframes[i]; t++) {
                differ += lm[i][t] != ln[i][t] || lf[i][t] != ln[i][t];
                abnormal += lm[i][t];
            }
        CHECK(differ == 0, "Ped2: the MAT-file and the npy agree frame for frame (%d differ)", differ);
        CHECK(abnormal == 1648, "Ped2: %d abnormal frames (1648 expected)", abnormal);
    }
    free_l(lm, 12);
    free_l(ln, 12);
    free_l(lf, 12);
    g_free(mat);
    g_free(npy);
}

int main(void)
{
    const char *t = g_get_tmp_dir();
    snprintf(tmpdir, sizeof tmpdir, "%s/sibvad-labels-XXXXXX", t);
    if (!g_mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_npy_reader();
    test_npy_labels();
    test_mat();
    test_text();
    test_search_order();
    test_ped2();
    rm_rf(tmpdir);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
