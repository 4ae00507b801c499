/* sibvad-embed-captions: caption texts to semantic vectors (spec section 7).
 *
 *   sibvad-embed-captions --encoder DIR --captions ROOT --out ROOT [--dim-check]
 *
 * For every ROOT/<video>/<name>.txt (one caption per sample, named like the
 * semantic vector it becomes), embeds the text with the SimCSE BERT encoder in
 * DIR (bert.h: pooler_output) and writes OUT/<video>/<name>.npy, float32 of
 * shape [1, 1, hidden], atomically (temporary file + rename): the layout that
 * sibvad-train --semantic and the dataset layer read. Trailing white space of
 * a caption is dropped; an empty caption embeds the empty string. */
#include "bert.h"
#include "npy.h"
#include "sibvad.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *encoder_dir = NULL, *captions_root = NULL, *out_root = NULL;
static int dim_check = 0, quiet = 0, every = 100, threads = 1;

static GOptionEntry entries[] = {
    {"encoder", 0, 0, G_OPTION_ARG_FILENAME, &encoder_dir,
     "SimCSE BERT checkpoint folder (config.json, vocab.txt, model.safetensors)", "DIR"},
    {"captions", 0, 0, G_OPTION_ARG_FILENAME, &captions_root, "Captions: ROOT/<video>/<name>.txt", "ROOT"},
    {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out_root, "Vectors written to ROOT/<video>/<name>.npy", "ROOT"},
    {"dim-check", 0, 0, G_OPTION_ARG_NONE, &dim_check,
     "Fail unless the encoder's hidden size is the paper model's semantic size (768)", NULL},
    {"progress-every", 0, 0, G_OPTION_ARG_INT, &every, "A progress line every N files (default 100)", "N"},
    {"threads", 0, 0, G_OPTION_ARG_INT, &threads, "CPU threads (default 1)", "N"},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress output", NULL},
    {NULL}};

static int fail(const char *what, const char *msg)
{
    fprintf(stderr, "sibvad-embed-captions: %s%s%s\n", what, msg ? ": " : "", msg ? msg : "");
    return 1;
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted names in dir: its subfolders (want_dirs) or its *.txt files. */
static GPtrArray *list_dir(const char *dir, gboolean want_dirs, GError **error)
{
    GDir *d = g_dir_open(dir, 0, error);
    if (!d)
        return NULL;
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(d))) {
        gchar *path = g_build_filename(dir, name, NULL);
        gboolean is_dir = g_file_test(path, G_FILE_TEST_IS_DIR);
        g_free(path);
        if (want_dirs ? is_dir : (!is_dir && g_str_has_suffix(name, ".txt") && strlen(name) > 4))
            g_ptr_array_add(names, g_strdup(name));
    }
    g_dir_close(d);
    g_ptr_array_sort(names, cmp_str);
    return names;
}

int main(int argc, char **argv)
{
    GError *gerr = NULL;
    sibvad_error err = {{0}};
    GOptionContext *ctx = g_option_context_new("- embed caption texts as semantic vectors (SimCSE)");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx,
        "Every CAPTIONS/<video>/<name>.txt becomes OUT/<video>/<name>.npy, float32 [1, 1, hidden]:\n"
        "the pooler_output of the caption's [CLS] token (spec section 7).\n");
    if (!g_option_context_parse(ctx, &argc, &argv, &gerr))
        return fail("bad arguments", gerr->message);
    g_option_context_free(ctx);
    if (!encoder_dir || !captions_root || !out_root)
        return fail("--encoder DIR, --captions ROOT and --out ROOT are required", NULL);
    if (every < 1 || threads < 1)
        return fail("--progress-every and --threads must be positive", NULL);
    sibvad_set_threads(threads);

    sibvad_text_encoder *enc = sibvad_text_encoder_load(encoder_dir, &err);
    if (!enc) {
        gchar *what = g_strdup_printf("cannot load the text encoder %s", encoder_dir);
        return fail(what, err.msg);
    }
    const int dim = sibvad_text_encoder_dim(enc);
    if (dim_check) {
        sibvad_config paper;
        if (sibvad_config_preset(&paper, "paper", &err) < 0)
            return fail("paper preset", err.msg);
        if (dim != paper.sem_dim) {
            gchar *msg = g_strdup_printf("hidden size %d, the paper model's semantic vectors have %d", dim,
                                         paper.sem_dim);
            return fail(encoder_dir, msg);
        }
    }

    GPtrArray *videos = list_dir(captions_root, TRUE, &gerr);
    if (!videos)
        return fail("cannot read the captions folder", gerr->message);
    /* count first, for the progress lines */
    GPtrArray **files = g_new0(GPtrArray *, videos->len ? videos->len : 1);
    guint total = 0;
    for (guint v = 0; v < videos->len; v++) {
        gchar *vdir = g_build_filename(captions_root, videos->pdata[v], NULL);
        files[v] = list_dir(vdir, FALSE, &gerr);
        if (!files[v])
            return fail("cannot read a caption folder", gerr->message);
        total += files[v]->len;
        g_free(vdir);
    }
    if (total == 0)
        return fail(captions_root, "no <video>/<name>.txt captions found");
    if (!quiet)
        fprintf(stderr, "sibvad-embed-captions: %u captions in %u videos, %d-d embeddings\n", total, videos->len, dim);

    float *vec = g_new(float, dim);
    const int64_t shape[3] = {1, 1, dim};
    guint done = 0, empty = 0;
    gint64 t0 = g_get_monotonic_time();
    for (guint v = 0; v < videos->len; v++) {
        const char *video = videos->pdata[v];
        gchar *odir = g_build_filename(out_root, video, NULL);
        if (files[v]->len && g_mkdir_with_parents(odir, 0755) < 0)
            return fail(odir, g_strerror(errno));
        for (guint f = 0; f < files[v]->len; f++) {
            const char *name = files[v]->pdata[f];
            gchar *in = g_build_filename(captions_root, video, name, NULL);
            gchar *text = NULL;
            gsize len = 0;
            if (!g_file_get_contents(in, &text, &len, &gerr))
                return fail("cannot read a caption", gerr->message);
            if (memchr(text, '\0', len))
                return fail(in, "holds a NUL byte: not a text file");
            g_strchomp(text);
            if (!*text)
                empty++;
            if (sibvad_text_encoder_embed(enc, text, vec, &err) < 0)
                return fail(in, err.msg);
            gchar *stem = g_strndup(name, strlen(name) - 4);
            gchar *oname = g_strconcat(stem, ".npy", NULL);
            gchar *outp = g_build_filename(odir, oname, NULL);
            if (!sibvad_npy_write_f32(outp, vec, 3, shape, &gerr))
                return fail("cannot write a vector", gerr->message);
            g_free(text);
            g_free(in);
            g_free(stem);
            g_free(oname);
            g_free(outp);
            done++;
            if (!quiet && (done % (guint)every == 0 || done == total)) {
                double s = (g_get_monotonic_time() - t0) / 1e6;
                fprintf(stderr, "sibvad-embed-captions: %u/%u (%s) %.1f s, %.1f captions/s\n", done, total, video, s,
                        s > 0 ? done / s : 0.0);
            }
        }
        g_free(odir);
        g_ptr_array_unref(files[v]);
    }
    if (!quiet)
        fprintf(stderr, "sibvad-embed-captions: %u vectors written to %s%s\n", done, out_root,
                empty ? " (some captions were empty)" : "");
    g_free(files);
    g_free(vec);
    g_ptr_array_unref(videos);
    sibvad_text_encoder_free(enc);
    return 0;
}
