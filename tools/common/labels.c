/* labels.c: finding and parsing frame labels (see labels.h and
 * docs/datasets.md): per-video .npy, one concatenated .npy, MATLAB gt cells
 * of [start; end] intervals, and the plain-text format. Every value is
 * checked (0 or 1, intervals inside the video) and every count is compared
 * with the video's frame count; messages name the file, the video and both
 * counts. */
#include "labels.h"
#include "matv5.h"
#include "npy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void free_labels(const SibvadLabelQuery *q, uint8_t **labels)
{
    for (int i = 0; i < q->nvideos; i++) {
        g_free(labels[i]);
        labels[i] = NULL;
    }
}

static void alloc_labels(const SibvadLabelQuery *q, uint8_t **labels)
{
    for (int i = 0; i < q->nvideos; i++)
        labels[i] = g_malloc0((gsize)(q->nframes[i] > 0 ? q->nframes[i] : 1));
}

static gboolean check_query(const SibvadLabelQuery *q, GError **error)
{
    if (!q || q->nvideos <= 0 || !q->names || !q->nframes) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_INVALID, "labels wanted for no video");
        return FALSE;
    }
    return TRUE;
}

/* An array with at most one dimension above 1. */
static gboolean npy_is_vector(const SibvadNpy *a)
{
    int big = 0;
    for (int d = 0; d < a->ndim; d++)
        big += a->shape[d] > 1;
    return big <= 1 && a->ndim >= 1;
}

static char *shape_str(const SibvadNpy *a)
{
    GString *s = g_string_new("(");
    for (int d = 0; d < a->ndim; d++)
        g_string_append_printf(s, "%s%" G_GINT64_FORMAT, d ? ", " : "", a->shape[d]);
    g_string_append(s, ")");
    return g_string_free(s, FALSE);
}

static gboolean npy_vector_check(const SibvadNpy *a, const char *path, GError **error)
{
    if (npy_is_vector(a))
        return TRUE;
    char *s = shape_str(a);
    g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                "%s: labels of shape %s; expected a vector, (N), (1, N) or (N, 1)", path, s);
    g_free(s);
    return FALSE;
}

/* Copy n labels from a starting at element off, checking that each is 0 or 1. */
static gboolean npy_copy(const SibvadNpy *a, int64_t off, int n, uint8_t *dst, const char *path,
                         const char *video, GError **error)
{
    for (int t = 0; t < n; t++) {
        double v = sibvad_npy_get(a, off + t);
        if (v != 0.0 && v != 1.0) {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                        "%s: value %g at index %" G_GINT64_FORMAT " (video %s, frame %d): labels "
                        "must be 0 (normal) or 1 (abnormal)", path, v, off + t, video, t + 1);
            return FALSE;
        }
        dst[t] = v != 0.0;
    }
    return TRUE;
}

gboolean sibvad_labels_read_npy_dir(const char *dir, const SibvadLabelQuery *q, uint8_t **labels,
                                    GError **error)
{
    if (!check_query(q, error))
        return FALSE;
    alloc_labels(q, labels);
    for (int i = 0; i < q->nvideos; i++) {
        char *file = g_strconcat(q->names[i], ".npy", NULL);
        char *path = g_build_filename(dir, file, NULL);
        g_free(file);
        if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_NOT_FOUND,
                        "no label file %s for video %s (the other videos have theirs in %s)", path,
                        q->names[i], dir);
            g_free(path);
            goto fail;
        }
        SibvadNpy *a = sibvad_npy_load(path, error);
        gboolean ok = a && npy_vector_check(a, path, error);
        if (ok && a->count != q->nframes[i]) {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_MISMATCH,
                        "%s: video %s has %d frames but its label file holds %" G_GINT64_FORMAT
                        " labels", path, q->names[i], q->nframes[i], a->count);
            ok = FALSE;
        }
        ok = ok && npy_copy(a, 0, q->nframes[i], labels[i], path, q->names[i], error);
        sibvad_npy_free(a);
        g_free(path);
        if (!ok)
            goto fail;
    }
    return TRUE;
fail:
    free_labels(q, labels);
    return FALSE;
}

gboolean sibvad_labels_read_npy_concat(const char *path, const SibvadLabelQuery *q, uint8_t **labels,
                                       GError **error)
{
    if (!check_query(q, error))
        return FALSE;
    SibvadNpy *a = sibvad_npy_load(path, error);
    if (!a || !npy_vector_check(a, path, error)) {
        sibvad_npy_free(a);
        return FALSE;
    }
    int64_t total = 0;
    for (int i = 0; i < q->nvideos; i++)
        total += q->nframes[i];
    if (a->count != total) {
        if (a->count < total) {
            /* the first video the labels run out in */
            int64_t before = 0;
            int i = 0;
            while (i < q->nvideos - 1 && before + q->nframes[i] <= a->count)
                before += q->nframes[i++];
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_MISMATCH,
                        "%s: %" G_GINT64_FORMAT " labels for %d test videos of %" G_GINT64_FORMAT
                        " frames in all: video %s has %d frames but only %" G_GINT64_FORMAT
                        " labels are left for it", path, a->count, q->nvideos, total, q->names[i],
                        q->nframes[i], a->count - before);
        } else {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_MISMATCH,
                        "%s: %" G_GINT64_FORMAT " labels for %d test videos of %" G_GINT64_FORMAT
                        " frames in all: %" G_GINT64_FORMAT " label(s) left over after the last "
                        "video (%s, %d frames)", path, a->count, q->nvideos, total, a->count - total,
                        q->names[q->nvideos - 1], q->nframes[q->nvideos - 1]);
        }
        sibvad_npy_free(a);
        return FALSE;
    }
    alloc_labels(q, labels);
    int64_t off = 0;
    for (int i = 0; i < q->nvideos; i++) {
        if (!npy_copy(a, off, q->nframes[i], labels[i], path, q->names[i], error)) {
            free_labels(q, labels);
            sibvad_npy_free(a);
            return FALSE;
        }
        off += q->nframes[i];
    }
    sibvad_npy_free(a);
    return TRUE;
}

/* Mark frames [start, end] (1-based inclusive) of video i. */
static gboolean mark_interval(double start, double end, int nframes, uint8_t *dst, const char *where,
                              const char *video, GError **error)
{
    if (start != floor(start) || end != floor(end) || start > end || start < 1 || end > nframes) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_MISMATCH,
                    "%s (video %s): abnormal interval [%g, %g] does not lie within the video's %d "
                    "frames (1-based, inclusive, start <= end)", where, video, start, end, nframes);
        return FALSE;
    }
    for (int64_t t = (int64_t)start; t <= (int64_t)end; t++)
        dst[t - 1] = 1;
    return TRUE;
}

static gboolean mat_cell(const SibvadMatVar *m, int k, const char *path, const SibvadLabelQuery *q,
                         uint8_t *dst, GError **error)
{
    char *where = g_strdup_printf("%s: gt{%d}", path, k + 1);
    const char *video = q->names[k];
    int nf = q->nframes[k];
    gboolean ok = TRUE;
    if (m->numel == 0)
        goto done; /* no abnormal frame */
    if (!sibvad_mat_is_numeric(m) || m->ndims != 2) {
        char *d = sibvad_mat_describe(m);
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "%s (video %s) is a %s; expected a numeric 2xM matrix of [start; end] rows",
                    where, video, d);
        g_free(d);
        ok = FALSE;
        goto done;
    }
    int64_t r = m->dims[0], c = m->dims[1];
    if (r == 2) { /* columns are [start; end] */
        for (int64_t j = 0; j < c && ok; j++)
            ok = mark_interval(m->re[2 * j], m->re[2 * j + 1], nf, dst, where, video, error);
    } else if (c == 2) { /* Mx2: rows are [start, end] */
        for (int64_t j = 0; j < r && ok; j++)
            ok = mark_interval(m->re[j], m->re[r + j], nf, dst, where, video, error);
    } else if ((r == 1 || c == 1) && m->numel == nf) { /* a 0/1 mask per frame */
        for (int64_t t = 0; t < nf; t++) {
            if (m->re[t] != 0.0 && m->re[t] != 1.0) {
                g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                            "%s (video %s): a per-frame mask with value %g at frame %" G_GINT64_FORMAT
                            "; labels must be 0 or 1", where, video, m->re[t], t + 1);
                ok = FALSE;
                break;
            }
            dst[t] = m->re[t] != 0.0;
        }
    } else {
        char *d = sibvad_mat_describe(m);
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "%s (video %s) is a %s; expected 2xM [start; end] rows (or Mx2), or a mask of "
                    "the video's %d frames", where, video, d, nf);
        g_free(d);
        ok = FALSE;
    }
done:
    g_free(where);
    return ok;
}

/* Labels from the gt variable of an already parsed file. */
static gboolean labels_from_gt(const SibvadMatFile *f, const char *path, const SibvadLabelQuery *q,
                               uint8_t **labels, GError **error)
{
    const SibvadMatVar *gt = sibvad_mat_find(f, "gt");
    if (!gt) {
        GString *s = g_string_new(NULL);
        for (int i = 0; i < f->nvars; i++) {
            char *d = sibvad_mat_describe(f->vars[i]);
            g_string_append_printf(s, "%s%s (%s)", i ? ", " : "", f->vars[i]->name, d);
            g_free(d);
        }
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "%s has no variable gt (it holds: %s)", path, f->nvars ? s->str : "no variable");
        g_string_free(s, TRUE);
        return FALSE;
    }
    if (gt->mclass != SIBVAD_MAT_CELL) {
        char *d = sibvad_mat_describe(gt);
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "%s: gt is a %s; expected a cell with one matrix of abnormal intervals per "
                    "test video", path, d);
        g_free(d);
        return FALSE;
    }
    if (gt->numel != q->nvideos) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_MISMATCH,
                    "%s: gt has %" G_GINT64_FORMAT " cells but there are %d test videos (%s to %s)",
                    path, gt->numel, q->nvideos, q->names[0], q->names[q->nvideos - 1]);
        return FALSE;
    }
    alloc_labels(q, labels);
    for (int k = 0; k < q->nvideos; k++)
        if (!mat_cell(gt->cells[k], k, path, q, labels[k], error)) {
            free_labels(q, labels);
            return FALSE;
        }
    return TRUE;
}

gboolean sibvad_labels_read_mat(const char *path, const SibvadLabelQuery *q, uint8_t **labels,
                                GError **error)
{
    if (!check_query(q, error))
        return FALSE;
    SibvadMatFile *f = sibvad_mat_load(path, error);
    if (!f)
        return FALSE;
    gboolean ok = labels_from_gt(f, path, q, labels, error);
    sibvad_mat_free(f);
    return ok;
}

static gboolean parse_int(const char *s, const char *end, long *out)
{
    if (s == end || end - s > 9)
        return FALSE;
    long v = 0;
    for (const char *p = s; p < end; p++) {
        if (!g_ascii_isdigit(*p))
            return FALSE;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return TRUE;
}

/* The rest of a text line after the video name (tokens tok[0..n)). */
static gboolean text_line(char **tok, int n, const char *where, const char *video, int nf, uint8_t *dst,
                          GError **error)
{
    if (n >= 1 && strcmp(tok[0], "mask") == 0) {
        int t = 0;
        for (int k = 1; k < n; k++)
            for (const char *p = tok[k]; *p; p++) {
                if (*p != '0' && *p != '1') {
                    g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                                "%s: video %s: '%c' in a mask; a mask holds one 0 or 1 per frame",
                                where, video, *p);
                    return FALSE;
                }
                if (t < nf)
                    dst[t] = *p == '1';
                t++;
            }
        if (t != nf) {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_MISMATCH,
                        "%s: video %s has %d frames but its mask holds %d labels", where, video, nf, t);
            return FALSE;
        }
        return TRUE;
    }
    if (n == 1 && (strcmp(tok[0], "-") == 0 || strcmp(tok[0], "none") == 0))
        return TRUE;
    for (int k = 0; k < n; k++) {
        char **parts = g_strsplit(tok[k], ",", -1);
        gboolean ok = TRUE;
        for (char **p = parts; *p && ok; p++) {
            if (!**p)
                continue;
            const char *dash = strchr(*p, '-');
            long a, b;
            if (dash) {
                ok = parse_int(*p, dash, &a) && parse_int(dash + 1, *p + strlen(*p), &b);
            } else {
                ok = parse_int(*p, *p + strlen(*p), &a);
                b = a;
            }
            if (!ok) {
                g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                            "%s: video %s: '%s' is not a frame range (expected start-end or a "
                            "frame number, 1-based)", where, video, *p);
                break;
            }
            ok = mark_interval((double)a, (double)b, nf, dst, where, video, error);
        }
        g_strfreev(parts);
        if (!ok)
            return FALSE;
    }
    return TRUE;
}

gboolean sibvad_labels_read_text(const char *path, const SibvadLabelQuery *q, uint8_t **labels,
                                 GError **error)
{
    if (!check_query(q, error))
        return FALSE;
    gchar *text = NULL;
    GError *e = NULL;
    if (!g_file_get_contents(path, &text, NULL, &e)) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_IO, "%s", e->message);
        g_error_free(e);
        return FALSE;
    }
    GHashTable *index = g_hash_table_new(g_str_hash, g_str_equal);
    for (int i = 0; i < q->nvideos; i++)
        g_hash_table_insert(index, (gpointer)q->names[i], GINT_TO_POINTER(i + 1));
    int *line_of = g_new0(int, q->nvideos);
    alloc_labels(q, labels);
    char **lines = g_strsplit(text, "\n", -1);
    gboolean ok = TRUE;
    for (int ln = 0; lines[ln] && ok; ln++) {
        char *hash = strchr(lines[ln], '#');
        if (hash)
            *hash = 0;
        char **tok = g_strsplit_set(g_strstrip(lines[ln]), " \t\r", -1);
        int n = 0;
        for (int k = 0; tok[k]; k++) /* drop the empty tokens of repeated blanks */
            if (*tok[k]) {
                char *t = tok[k];
                tok[k] = NULL;
                tok[n++] = t;
            } else {
                g_free(tok[k]);
                tok[k] = NULL;
            }
        tok[n] = NULL;
        if (n > 0) {
            size_t len = strlen(tok[0]);
            if (len > 1 && tok[0][len - 1] == ':')
                tok[0][len - 1] = 0;
            int i = GPOINTER_TO_INT(g_hash_table_lookup(index, tok[0])) - 1;
            char *where = g_strdup_printf("%s:%d", path, ln + 1);
            if (i >= 0 && line_of[i]) {
                g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                            "%s: video %s is listed twice (first on line %d)", where, tok[0], line_of[i]);
                ok = FALSE;
            } else if (i >= 0) {
                line_of[i] = ln + 1;
                ok = text_line(tok + 1, n - 1, where, q->names[i], q->nframes[i], labels[i], error);
            } /* lines of videos not asked for are skipped */
            g_free(where);
        }
        g_strfreev(tok);
    }
    for (int i = 0; i < q->nvideos && ok; i++)
        if (!line_of[i]) {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_NOT_FOUND,
                        "%s: no line for video %s", path, q->names[i]);
            ok = FALSE;
        }
    g_strfreev(lines);
    g_free(line_of);
    g_hash_table_destroy(index);
    g_free(text);
    if (!ok)
        free_labels(q, labels);
    return ok;
}

static gboolean has_suffix_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && g_ascii_strcasecmp(s + n - m, suffix) == 0;
}

gboolean sibvad_labels_read_path(const char *path, const SibvadLabelQuery *q, uint8_t **labels,
                                 GError **error)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR))
        return sibvad_labels_read_npy_dir(path, q, labels, error);
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_NOT_FOUND,
                    "label file %s does not exist", path);
        return FALSE;
    }
    if (has_suffix_ci(path, ".npy"))
        return sibvad_labels_read_npy_concat(path, q, labels, error);
    if (has_suffix_ci(path, ".mat"))
        return sibvad_labels_read_mat(path, q, labels, error);
    if (has_suffix_ci(path, ".txt"))
        return sibvad_labels_read_text(path, q, labels, error);
    g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                "%s: unknown label file type (expected a folder of <video>.npy, .npy, .mat or .txt)", path);
    return FALSE;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files directly in dir whose names end in suffix, sorted. */
static GPtrArray *list_suffix(const char *dir, const char *suffix)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d)
        return out;
    const char *name;
    while ((name = g_dir_read_name(d))) {
        if (name[0] == '.' || !has_suffix_ci(name, suffix))
            continue;
        char *p = g_build_filename(dir, name, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add(out, p);
        else
            g_free(p);
    }
    g_dir_close(d);
    if (out->len > 1)
        qsort(out->pdata, out->len, sizeof(gpointer), cmp_str);
    return out;
}

static char *join_list(GPtrArray *a)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < a->len; i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "", (const char *)g_ptr_array_index(a, i));
    return g_string_free(s, FALSE);
}

gboolean sibvad_labels_find(const char *root, const SibvadLabelQuery *q, uint8_t **labels,
                            char **found, GError **error)
{
    if (!check_query(q, error))
        return FALSE;
    if (!g_file_test(root, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_NOT_FOUND,
                    "dataset folder %s does not exist", root);
        return FALSE;
    }
    /* 1. one .npy per video */
    static const char *const per_video[] = { "labels", "test_frame_mask", "frames" };
    for (size_t k = 0; k < G_N_ELEMENTS(per_video); k++) {
        char *dir = g_build_filename(root, "testing", per_video[k], NULL);
        gboolean any = FALSE;
        for (int i = 0; i < q->nvideos && !any; i++) {
            char *file = g_strconcat(q->names[i], ".npy", NULL);
            char *p = g_build_filename(dir, file, NULL);
            any = g_file_test(p, G_FILE_TEST_IS_REGULAR);
            g_free(p);
            g_free(file);
        }
        if (any) {
            gboolean ok = sibvad_labels_read_npy_dir(dir, q, labels, error);
            if (ok && found)
                *found = g_strdup_printf("%s/<video>.npy (one file per video)", dir);
            g_free(dir);
            return ok;
        }
        g_free(dir);
    }
    /* 2. one .npy for the whole test set */
    GPtrArray *npys = list_suffix(root, ".npy");
    if (npys->len > 1) { /* prefer the ones named as labels */
        GPtrArray *named = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < npys->len; i++) {
            char *base = g_path_get_basename(g_ptr_array_index(npys, i));
            char *lower = g_ascii_strdown(base, -1);
            if (strstr(lower, "label") || g_str_has_prefix(lower, "gt"))
                g_ptr_array_add(named, g_strdup(g_ptr_array_index(npys, i)));
            g_free(lower);
            g_free(base);
        }
        if (named->len > 0) {
            g_ptr_array_free(npys, TRUE);
            npys = named;
        } else {
            g_ptr_array_free(named, TRUE);
        }
    }
    if (npys->len > 1) {
        char *l = join_list(npys);
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "several .npy files in %s could hold the test labels (%s); name the one to use",
                    root, l);
        g_free(l);
        g_ptr_array_free(npys, TRUE);
        return FALSE;
    }
    if (npys->len == 1) {
        const char *p = g_ptr_array_index(npys, 0);
        gboolean ok = sibvad_labels_read_npy_concat(p, q, labels, error);
        if (ok && found)
            *found = g_strdup_printf("%s (one array for the whole test set)", p);
        g_ptr_array_free(npys, TRUE);
        return ok;
    }
    g_ptr_array_free(npys, TRUE);
    /* 3. a .mat with gt */
    GPtrArray *mats = list_suffix(root, ".mat");
    GError *first_err = NULL;
    for (guint i = 0; i < mats->len; i++) {
        const char *p = g_ptr_array_index(mats, i);
        GError *e = NULL;
        SibvadMatFile *f = sibvad_mat_load(p, &e);
        if (f && sibvad_mat_find(f, "gt")) {
            gboolean ok = labels_from_gt(f, p, q, labels, error);
            if (ok && found)
                *found = g_strdup_printf("%s (MATLAB gt intervals)", p);
            sibvad_mat_free(f);
            g_ptr_array_free(mats, TRUE);
            g_clear_error(&first_err);
            return ok;
        }
        if (f)
            labels_from_gt(f, p, q, labels, &e); /* sets the "no variable gt" message */
        if (!first_err)
            first_err = e;
        else
            g_clear_error(&e);
        sibvad_mat_free(f);
    }
    if (mats->len == 1) {
        g_propagate_error(error, first_err);
        g_ptr_array_free(mats, TRUE);
        return FALSE;
    }
    if (mats->len > 1) {
        char *l = join_list(mats);
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "none of the MAT-files in %s (%s) holds a readable variable gt (first: %s)", root, l,
                    first_err->message);
        g_free(l);
        g_clear_error(&first_err);
        g_ptr_array_free(mats, TRUE);
        return FALSE;
    }
    g_ptr_array_free(mats, TRUE);
    /* 4. plain text */
    char *txt = g_build_filename(root, "testing", "labels.txt", NULL);
    if (g_file_test(txt, G_FILE_TEST_IS_REGULAR)) {
        gboolean ok = sibvad_labels_read_text(txt, q, labels, error);
        if (ok && found)
            *found = g_strdup_printf("%s (text)", txt);
        g_free(txt);
        return ok;
    }
    g_free(txt);
    g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_NOT_FOUND,
                "no frame labels found for the test videos of %s: looked for %s/testing/{labels,"
                "test_frame_mask,frames}/<video>.npy, a .npy or a .mat (variable gt) directly in %s, "
                "and %s/testing/labels.txt (see docs/datasets.md)", root, root, root, root);
    return FALSE;
}
