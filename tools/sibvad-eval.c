/* sibvad-eval: frame-level evaluation of a sibvad model on a test split.
 *
 *   sibvad-eval --model FILE --dataset DIR --protocol ped2|avenue|shanghaitech
 *               [--json] [--out DIR] [--semantic DIR] [--threads N] [--batch 8]
 *               [--error mse|psnr] [--reduce mean|maxwin] [--minmax yes|no]
 *               [--sigma S] [--smoothing centred|causal|none] [--weights WV,WS]
 *               [--drop K] [--error-maps VIDEO:FRAME[,...]] [--cache DIR] [--quiet]
 *
 * Reads DIR/testing and its labels, predicts every frame t >= T from the clip
 * t-T..t-1, measures per frame the visual error (MSE, max over patch windows,
 * PSNR), the semantic error (with --semantic) and the frame-difference energy
 * of a score that learns nothing (the floor), and reports micro and macro ROC
 * AUC under two protocols, each beside the floor under the same protocol and
 * with the protocol in words: the chosen one (the paper's by default) and a
 * streaming one a live element can achieve (no per-video min-max, causal
 * smoothing, calibrated score). With --out it writes per-frame scores (CSV and
 * JSON lines), summary.json, score curves per video, the ROC curves and
 * requested error maps. docs/evaluation.md describes all of it. */
#include "dataset.h"
#include "metrics.h"
#include "plots.h"
#include "protocol.h"
#include "sibvad.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ------------------------------------------------------------ */

static char *model_path = NULL, *dataset = NULL, *protocol_name = NULL, *out_dir = NULL, *semantic_dir = NULL;
static char *text_encoder_dir = NULL;
static char *opt_error = NULL, *opt_reduce = NULL, *opt_minmax = NULL, *opt_sigma = NULL, *opt_smoothing = NULL;
static char *opt_weights = NULL, *opt_drop = NULL, *opt_error_maps = NULL, *cache_dir = NULL;
static int threads = 2, batch = 8, json = 0, quiet = 0;
static char *device = NULL;

static GOptionEntry entries[] = {
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "The trained model (safetensors)", "FILE"},
    {"dataset", 'd', 0, G_OPTION_ARG_FILENAME, &dataset, "Dataset root; DIR/testing/frames/<video> and labels", "DIR"},
    {"protocol", 'p', 0, G_OPTION_ARG_STRING, &protocol_name, "Preset: ped2, avenue or shanghaitech", "NAME"},
    {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object on stdout (human text goes to stderr)", NULL},
    {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir, "Write scores, summary, curves and ROC here", "DIR"},
    {"semantic", 0, 0, G_OPTION_ARG_FILENAME, &semantic_dir, "Semantic vectors: DIR/<video>/<frame>.npy", "DIR"},
    {"text-encoder", 0, 0, G_OPTION_ARG_FILENAME, &text_encoder_dir,
     "With --semantic: DIR holds captions (<video>/<frame>.txt), embedded by this SimCSE/BERT checkpoint",
     "DIR"},
    {"threads", 0, 0, G_OPTION_ARG_INT, &threads, "CPU threads (default 2)", "N"},
    {"device", 0, 0, G_OPTION_ARG_STRING, &device,
     "Where to score: cpu (default), cuda or auto (the GPU when one works); cuda:tf32 or cuda:bf16 trade "
     "exactness for speed", "NAME"},
    {"batch", 0, 0, G_OPTION_ARG_INT, &batch, "Frames per stream push (default 8)", "N"},
    {"error", 0, 0, G_OPTION_ARG_STRING, &opt_error, "Visual error: mse or psnr (series -PSNR)", "mse|psnr"},
    {"reduce", 0, 0, G_OPTION_ARG_STRING, &opt_reduce, "Over the frame: mean, or max over patch windows",
     "mean|maxwin"},
    {"minmax", 0, 0, G_OPTION_ARG_STRING, &opt_minmax, "Per-video min-max normalisation", "yes|no"},
    {"sigma", 0, 0, G_OPTION_ARG_STRING, &opt_sigma, "Gaussian smoothing sigma in frames (0: none)", "S"},
    {"smoothing", 0, 0, G_OPTION_ARG_STRING, &opt_smoothing, "Smoothing kernel", "centred|causal|none"},
    {"weights", 0, 0, G_OPTION_ARG_STRING, &opt_weights, "Visual and semantic weights", "WV,WS"},
    {"drop", 0, 0, G_OPTION_ARG_STRING, &opt_drop, "Frames dropped at the start of each video (default T)", "K"},
    {"error-maps", 0, 0, G_OPTION_ARG_STRING, &opt_error_maps, "Save frame/prediction/error-map images (with --out)",
     "VIDEO:FRAME[,...]"},
    {"cache", 0, 0, G_OPTION_ARG_FILENAME, &cache_dir, "Decoded-frame cache folder (\"\" disables)", "DIR"},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress and no per-video table", NULL},
    {NULL}};

/* human text: stdout normally, stderr with --json (stdout then holds only the JSON) */
static FILE *human;

static int fail(const char *what, const char *msg)
{
    fprintf(stderr, "sibvad-eval: %s%s%s\n", what, msg ? ": " : "", msg ? msg : "");
    return 1;
}

static int usage_error(const char *fmt, const char *value)
{
    fprintf(stderr, "sibvad-eval: ");
    fprintf(stderr, fmt, value);
    fprintf(stderr, "\n(sibvad-eval --help lists the options)\n");
    return 2;
}

static int parse_yes_no(const char *s, int *out)
{
    if (!g_ascii_strcasecmp(s, "yes") || !g_ascii_strcasecmp(s, "true") || !strcmp(s, "1") ||
        !g_ascii_strcasecmp(s, "on"))
        *out = 1;
    else if (!g_ascii_strcasecmp(s, "no") || !g_ascii_strcasecmp(s, "false") || !strcmp(s, "0") ||
             !g_ascii_strcasecmp(s, "off"))
        *out = 0;
    else
        return -1;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    const double v = g_ascii_strtod(s, &end);
    if (end == s || *end != '\0' || errno || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* applies the override options to the preset; returns 0 or an exit code */
static int apply_overrides(SibvadProtocol *p, int frames_in, int *drop_given)
{
    if (opt_error) {
        if (!g_ascii_strcasecmp(opt_error, "mse"))
            p->error = SIBVAD_ERR_MSE;
        else if (!g_ascii_strcasecmp(opt_error, "psnr"))
            p->error = SIBVAD_ERR_PSNR;
        else
            return usage_error("--error must be mse or psnr (got '%s')", opt_error);
    }
    if (opt_reduce) {
        if (!g_ascii_strcasecmp(opt_reduce, "mean"))
            p->reduce = SIBVAD_REDUCE_MEAN;
        else if (!g_ascii_strcasecmp(opt_reduce, "maxwin"))
            p->reduce = SIBVAD_REDUCE_MAXWIN;
        else
            return usage_error("--reduce must be mean or maxwin (got '%s')", opt_reduce);
    }
    if (opt_minmax && parse_yes_no(opt_minmax, &p->minmax) < 0)
        return usage_error("--minmax must be yes or no (got '%s')", opt_minmax);
    if (opt_sigma) {
        double s;
        if (parse_double(opt_sigma, &s) < 0 || s < 0 || s > 1000)
            return usage_error("--sigma must be a number from 0 to 1000 (got '%s')", opt_sigma);
        p->sigma = (float)s;
    }
    if (opt_smoothing) {
        if (!g_ascii_strcasecmp(opt_smoothing, "centred") || !g_ascii_strcasecmp(opt_smoothing, "centered"))
            p->smoothing = SIBVAD_SMOOTH_CENTRED;
        else if (!g_ascii_strcasecmp(opt_smoothing, "causal"))
            p->smoothing = SIBVAD_SMOOTH_CAUSAL;
        else if (!g_ascii_strcasecmp(opt_smoothing, "none"))
            p->smoothing = SIBVAD_SMOOTH_NONE;
        else
            return usage_error("--smoothing must be centred, causal or none (got '%s')", opt_smoothing);
    }
    if (opt_weights) {
        gchar **parts = g_strsplit_set(opt_weights, ",/", -1);
        double wv, ws;
        const int ok = g_strv_length(parts) == 2 && parse_double(parts[0], &wv) == 0 &&
                       parse_double(parts[1], &ws) == 0 && wv >= 0 && ws >= 0 && wv + ws > 0;
        g_strfreev(parts);
        if (!ok)
            return usage_error("--weights must be two non-negative numbers WV,WS, not both 0 (got '%s')",
                               opt_weights);
        p->w_visual = (float)wv;
        p->w_semantic = (float)ws;
    }
    *drop_given = 0;
    if (opt_drop) {
        double k;
        if (parse_double(opt_drop, &k) < 0 || k < 0 || k != floor(k) || k > 1e6)
            return usage_error("--drop must be a whole number >= 0 (got '%s')", opt_drop);
        p->drop = (int)k;
        *drop_given = 1;
    }
    if (p->drop < frames_in) {
        fprintf(stderr,
                "sibvad-eval: warning: --drop %d is below the clip length %d: frames 0..%d have no prediction, "
                "so the first %d frames are dropped\n",
                p->drop, frames_in, frames_in - 1, frames_in);
        p->drop = frames_in;
    }
    if (opt_error || opt_reduce || opt_minmax || opt_sigma || opt_smoothing || opt_weights || *drop_given) {
        char name[32];
        snprintf(name, sizeof name, "%.23s+options", p->name);
        memcpy(p->name, name, sizeof name);
    }
    return 0;
}

/* ---- requested error maps ---------------------------------------------- */

typedef struct {
    char *video;
    int frame;
    int done;
} MapRequest;

static int parse_error_maps(const char *s, MapRequest **out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!s)
        return 0;
    gchar **items = g_strsplit(s, ",", -1);
    const int k = (int)g_strv_length(items);
    MapRequest *r = g_new0(MapRequest, k > 0 ? k : 1);
    int m = 0;
    for (int i = 0; i < k; i++) {
        gchar *it = g_strstrip(items[i]);
        if (!*it)
            continue;
        char *colon = strrchr(it, ':');
        double f;
        if (!colon || colon == it || parse_double(colon + 1, &f) < 0 || f < 0 || f != floor(f)) {
            fprintf(stderr, "sibvad-eval: --error-maps wants VIDEO:FRAME items (FRAME a 0-based frame number); "
                            "got '%s'\n", it);
            for (int j = 0; j < m; j++)
                g_free(r[j].video);
            g_free(r);
            g_strfreev(items);
            return 2;
        }
        r[m].video = g_strndup(it, (gsize)(colon - it));
        r[m].frame = (int)f;
        m++;
    }
    g_strfreev(items);
    *out = r;
    *n = m;
    return 0;
}

/* ---- state of a run ----------------------------------------------------- */

typedef struct {
    const SibvadVideo *v;
    SibvadFrameErrors *fe;      /* (nframes); frames < T unset */
    int missing_semantic;       /* scored frames without a semantic vector */
} EvalVideo;

typedef struct {
    SibvadProtocol p;
    float *scores;              /* concatenated, as sibvad_protocol_score_videos writes them */
    long n;
    SibvadAuc auc;
    double *per_video;          /* (nvideos) */
} ProtocolRun;

/* file name safe copy of a video name */
static char *safe_name(const char *s)
{
    char *r = g_strdup(s && *s ? s : "video");
    for (char *c = r; *c; c++)
        if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_' && *c != '.')
            *c = '_';
    return r;
}

static int run_protocol(ProtocolRun *r, const SibvadProtocol *p, EvalVideo *ev, int nv, int semantic,
                        sibvad_error *err)
{
    memset(r, 0, sizeof *r);
    r->p = *p;
    SibvadVideoSeries *s = g_new0(SibvadVideoSeries, nv > 0 ? nv : 1);
    float **vis = g_new0(float *, nv > 0 ? nv : 1), **sem = g_new0(float *, nv > 0 ? nv : 1);
    long total = 0;
    for (int i = 0; i < nv; i++) {
        const int n = ev[i].v->nframes;
        vis[i] = g_new0(float, n > 0 ? n : 1);
        if (semantic)
            sem[i] = g_new0(float, n > 0 ? n : 1);
        for (int t = p->drop; t < n; t++) {
            vis[i][t] = sibvad_protocol_visual(p, &ev[i].fe[t]);
            if (semantic)
                sem[i][t] = ev[i].fe[t].semantic;
        }
        s[i] = (SibvadVideoSeries){ev[i].v->name, n, vis[i], semantic ? sem[i] : NULL, ev[i].v->labels};
        total += sibvad_protocol_scored_frames(p, &s[i]);
    }
    r->scores = g_new0(float, total > 0 ? total : 1);
    r->per_video = g_new0(double, nv > 0 ? nv : 1);
    int rc = 0;
    r->n = sibvad_protocol_score_videos(p, s, nv, r->scores, err);
    if (r->n < 0 || sibvad_protocol_auc(p, s, nv, r->scores, &r->auc, r->per_video, err) < 0)
        rc = -1;
    for (int i = 0; i < nv; i++) {
        g_free(vis[i]);
        g_free(sem[i]);
    }
    g_free(vis);
    g_free(sem);
    g_free(s);
    return rc;
}

static void free_run(ProtocolRun *r)
{
    g_free(r->scores);
    g_free(r->per_video);
}

/* "97.31", or "n/a" for NaN */
static const char *pct(char *buf, double auc)
{
    if (isnan(auc))
        snprintf(buf, 16, "n/a");
    else
        snprintf(buf, 16, "%.2f", 100.0 * auc);
    return buf;
}

/* ---- JSON --------------------------------------------------------------- */

static void json_str(GString *g, const char *s)
{
    g_string_append_c(g, '"');
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        if (*c == '"' || *c == '\\')
            g_string_append_printf(g, "\\%c", *c);
        else if (*c == '\n')
            g_string_append(g, "\\n");
        else if (*c < 0x20)
            g_string_append_printf(g, "\\u%04x", *c);
        else
            g_string_append_c(g, (char)*c);
    }
    g_string_append_c(g, '"');
}

/* A ratio over n blocks with four decimals, or null when there were none. */
static void json_ratio(GString *g, long n, double ratio)
{
    if (n)
        g_string_append_printf(g, "%.4f", ratio);
    else
        g_string_append(g, "null");
}

/* a percentage with 2 decimals, or null */
static void json_pct(GString *g, double auc)
{
    if (isnan(auc))
        g_string_append(g, "null");
    else
        g_string_append_printf(g, "%.2f", 100.0 * auc);
}

/* a setting held as float: its shortest round-trip form ("0.8", not 0.800000012) */
static void json_float(GString *g, float x)
{
    if (!isfinite(x))
        g_string_append(g, "null");
    else
        g_string_append_printf(g, "%.7g", (double)x);
}

static void json_protocol(GString *g, const SibvadProtocol *p)
{
    char d[512];
    g_string_append(g, "{\"name\":");
    json_str(g, p->name);
    g_string_append(g, ",\"source\":");
    json_str(g, p->source == SIBVAD_SOURCE_FRAMEDIFF ? "framediff" : "model");
    g_string_append_printf(g, ",\"error\":\"%s\",\"reduce\":\"%s\",\"patch\":%d,\"minmax\":%s,\"sigma\":",
                           p->error == SIBVAD_ERR_PSNR ? "psnr" : "mse",
                           p->reduce == SIBVAD_REDUCE_MAXWIN ? "maxwin" : "mean", p->patch,
                           p->minmax ? "true" : "false");
    json_float(g, p->sigma);
    g_string_append_printf(g, ",\"smoothing\":\"%s\",\"w_visual\":",
                           p->smoothing == SIBVAD_SMOOTH_NONE     ? "none"
                           : p->smoothing == SIBVAD_SMOOTH_CAUSAL ? "causal"
                                                                  : "centred");
    json_float(g, p->w_visual);
    g_string_append(g, ",\"w_semantic\":");
    json_float(g, p->w_semantic);
    g_string_append_printf(g, ",\"drop\":%d,\"semantic\":%s,\"calibrated\":%s,\"description\":", p->drop,
                           p->visual_only ? "false" : "true", p->calibrated ? "true" : "false");
    json_str(g, sibvad_protocol_describe(p, d, sizeof d));
    g_string_append_c(g, '}');
}

static void json_aucs(GString *g, const ProtocolRun *r, const ProtocolRun *floor)
{
    g_string_append(g, "\"micro_auc\":");
    json_pct(g, r->auc.micro);
    g_string_append(g, ",\"macro_auc\":");
    json_pct(g, r->auc.macro);
    g_string_append_printf(g, ",\"macro_videos\":%d,\"macro_skipped_one_class\":%d", r->auc.videos_used,
                           r->auc.videos_skipped);
    g_string_append(g, ",\"floor_micro_auc\":");
    json_pct(g, floor->auc.micro);
    g_string_append(g, ",\"floor_macro_auc\":");
    json_pct(g, floor->auc.macro);
    g_string_append(g, ",\"protocol\":");
    json_protocol(g, &r->p);
    g_string_append(g, ",\"floor_protocol\":");
    json_protocol(g, &floor->p);
}

/* ---- outputs ------------------------------------------------------------ */

static void csv_name(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\n")) {
        fputc('"', f);
        for (const char *c = s; *c; c++) {
            if (*c == '"')
                fputc('"', f);
            fputc(*c, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
}

static void fnum(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, "%.9g", x);
    else
        fputs(isnan(x) ? "nan" : x > 0 ? "inf" : "-inf", f);
}

static void jnum(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, "%.9g", x);
    else
        fputs("null", f);
}

/* scores.csv and scores.jsonl; all four runs share the drop, so index k walks them together */
static int write_scores(const char *dir, EvalVideo *ev, int nv, const ProtocolRun *runs[4])
{
    gchar *pc = g_build_filename(dir, "scores.csv", NULL), *pj = g_build_filename(dir, "scores.jsonl", NULL);
    FILE *c = fopen(pc, "w"), *j = fopen(pj, "w");
    if (!c || !j) {
        fprintf(stderr, "sibvad-eval: cannot write %s: %s\n", !c ? pc : pj, g_strerror(errno));
        if (c)
            fclose(c);
        if (j)
            fclose(j);
        g_free(pc);
        g_free(pj);
        return -1;
    }
    fprintf(c, "video,frame,label,e_v,e_s,maxwin,psnr,framediff,score,streaming_score,floor_score,"
               "streaming_floor_score\n");
    const int drop = runs[0]->p.drop;
    long k = 0;
    GString *name = g_string_new(NULL);
    for (int i = 0; i < nv; i++) {
        const SibvadVideo *v = ev[i].v;
        g_string_truncate(name, 0);
        json_str(name, v->name);
        for (int t = drop; t < v->nframes; t++, k++) {
            const SibvadFrameErrors *e = &ev[i].fe[t];
            csv_name(c, v->name);
            fprintf(c, ",%d,%d,", t, v->labels[t]);
            const double vals[9] = {e->mse, e->semantic, e->maxwin, e->psnr, e->framediff, runs[0]->scores[k],
                                    runs[1]->scores[k], runs[2]->scores[k], runs[3]->scores[k]};
            for (int q = 0; q < 9; q++) {
                fnum(c, vals[q]);
                fputc(q < 8 ? ',' : '\n', c);
            }
            static const char *keys[9] = {"e_v", "e_s", "maxwin", "psnr", "framediff", "score", "streaming_score",
                                          "floor_score", "streaming_floor_score"};
            fprintf(j, "{\"video\":%s,\"frame\":%d,\"label\":%d", name->str, t, v->labels[t]);
            for (int q = 0; q < 9; q++) {
                fprintf(j, ",\"%s\":", keys[q]);
                jnum(j, vals[q]);
            }
            fputs("}\n", j);
        }
    }
    g_string_free(name, TRUE);
    int rc = 0;
    if (fclose(c) != 0) {
        fprintf(stderr, "sibvad-eval: cannot write %s: %s\n", pc, g_strerror(errno));
        rc = -1;
    }
    if (fclose(j) != 0) {
        fprintf(stderr, "sibvad-eval: cannot write %s: %s\n", pj, g_strerror(errno));
        rc = -1;
    }
    g_free(pc);
    g_free(pj);
    return rc;
}

static int write_plots(const char *dir, EvalVideo *ev, int nv, const ProtocolRun *paper, const ProtocolRun *floor)
{
    sibvad_error err = {{0}};
    gchar *cdir = g_build_filename(dir, "curves", NULL);
    if (g_mkdir_with_parents(cdir, 0755) < 0) {
        fprintf(stderr, "sibvad-eval: cannot create %s: %s\n", cdir, g_strerror(errno));
        g_free(cdir);
        return -1;
    }
    int rc = 0;
    long k = 0;
    const int drop = paper->p.drop;
    char a1[16], a2[16];
    for (int i = 0; i < nv; i++) {
        const SibvadVideo *v = ev[i].v;
        const int n = v->nframes > drop ? v->nframes - drop : 0;
        if (n == 0)
            continue;
        char *sn = safe_name(v->name);
        gchar *file = g_strdup_printf("%s.png", sn);
        gchar *path = g_build_filename(cdir, file, NULL);
        gchar *title = g_strdup_printf("video %s: AUC %s, floor %s (%s protocol)", v->name,
                                       pct(a1, paper->per_video[i]), pct(a2, floor->per_video[i]), paper->p.name);
        SibvadPlotLine lines[2] = {
            {paper->scores + k, "anomaly score", 0.12, 0.35, 0.75, 0},
            {floor->scores + k, "floor: frame-difference energy", 0.45, 0.45, 0.45, 1},
        };
        if (sibvad_plot_scores(path, title, drop, n, lines, 2, v->labels + drop, 1, &err) < 0) {
            fprintf(stderr, "sibvad-eval: %s\n", err.msg);
            rc = -1;
        }
        g_free(sn);
        g_free(file);
        g_free(path);
        g_free(title);
        k += n;
    }
    g_free(cdir);

    /* ROC over all frames of all videos */
    unsigned char *lab = g_new0(unsigned char, paper->n > 0 ? paper->n : 1);
    k = 0;
    for (int i = 0; i < nv; i++)
        for (int t = drop; t < ev[i].v->nframes; t++)
            lab[k++] = ev[i].v->labels[t] ? 1 : 0;
    double *f1 = NULL, *t1 = NULL, *f2 = NULL, *t2 = NULL;
    const long n1 = sibvad_roc_curve(paper->scores, lab, (size_t)paper->n, &f1, &t1, &err);
    const long n2 = n1 > 0 ? sibvad_roc_curve(floor->scores, lab, (size_t)floor->n, &f2, &t2, &err) : -1;
    gchar *path = g_build_filename(dir, "roc.png", NULL);
    if (n1 < 0 || n2 < 0) {
        fprintf(stderr, "sibvad-eval: no ROC curve written (%s)\n", err.msg);
    } else {
        gchar *l1 = g_strdup_printf("model (micro AUC %s)", pct(a1, paper->auc.micro));
        gchar *l2 = g_strdup_printf("floor: frame-difference energy (%s)", pct(a2, floor->auc.micro));
        gchar *title = g_strdup_printf("ROC over all frames, %s protocol", paper->p.name);
        SibvadPlotRoc c[2] = {{f1, t1, n1, l1, 0.12, 0.35, 0.75, 0}, {f2, t2, n2, l2, 0.45, 0.45, 0.45, 1}};
        if (sibvad_plot_roc(path, title, c, 2, &err) < 0) {
            fprintf(stderr, "sibvad-eval: %s\n", err.msg);
            rc = -1;
        }
        g_free(l1);
        g_free(l2);
        g_free(title);
    }
    g_free(path);
    free(f1);
    free(t1);
    free(f2);
    free(t2);
    g_free(lab);
    return rc;
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
    GError *gerr = NULL;
    sibvad_error err = {{0}};
    human = stdout;
    GOptionContext *ctx = g_option_context_new("- frame-level evaluation of a sibvad model on a test split");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx, "Protocols, outputs and the floor are described in docs/evaluation.md.");
    if (!g_option_context_parse(ctx, &argc, &argv, &gerr)) {
        fprintf(stderr, "sibvad-eval: %s\n(sibvad-eval --help lists the options)\n", gerr->message);
        return 2;
    }
    g_option_context_free(ctx);
    if (json)
        human = stderr;
    if (argc > 1)
        return usage_error("unexpected argument '%s'", argv[1]);
    if (!model_path)
        return usage_error("%s", "--model FILE is required");
    if (!dataset)
        return usage_error("%s", "--dataset DIR is required");
    if (!protocol_name)
        return usage_error("%s", "--protocol ped2|avenue|shanghaitech is required");
    if (threads < 1 || threads > 1024)
        return usage_error("--threads must be at least 1 (got %s)", g_strdup_printf("%d", threads));
    if (batch < 1 || batch > 4096)
        return usage_error("--batch must be from 1 to 4096 (got %s)", g_strdup_printf("%d", batch));
    if (opt_error_maps && !out_dir)
        fprintf(stderr, "sibvad-eval: warning: --error-maps needs --out DIR; no error maps will be written\n");
    MapRequest *maps = NULL;
    int nmaps = 0;
    int rc = parse_error_maps(opt_error_maps, &maps, &nmaps);
    if (rc)
        return rc;
    /* the preset name is checked before anything slow happens */
    SibvadProtocol chosen;
    if (sibvad_protocol_preset(&chosen, protocol_name, 0, 4, &err) < 0)
        return usage_error("%s", err.msg);
    sibvad_set_threads(threads);
    const gint64 t_start = g_get_monotonic_time();

    /* model */
    sibvad_model *m = sibvad_model_load(model_path, &err);
    if (!m)
        return fail("cannot load the model", err.msg);
    if (device && sibvad_model_use_backend(m, device, &err) < 0)
        return fail("cannot use the device", err.msg);
    const sibvad_config *cfg = sibvad_model_config(m);
    const int T = cfg->frames_in, C = cfg->channels, H = cfg->img_h, W = cfg->img_w;
    const size_t img = (size_t)C * H * W;
    sibvad_protocol_preset(&chosen, protocol_name, cfg->patch, T, NULL);
    int drop_given = 0;
    rc = apply_overrides(&chosen, T, &drop_given);
    if (rc)
        return rc;

    /* videos, labels, semantic vectors */
    if (!g_file_test(dataset, G_FILE_TEST_IS_DIR))
        return fail("no dataset", g_strdup_printf("%s is not a folder", dataset));
    SibvadReadOptions ro = {W, H, C, cache_dir, quiet};
    SibvadVideoSet *set = sibvad_videoset_read_split(dataset, "testing", &ro, &gerr);
    if (!set)
        return fail("cannot read the test videos", gerr->message);
    if (set->nvideos == 0)
        return fail("no test videos", g_strdup_printf("%s/testing holds no video", dataset));
    if (!sibvad_videoset_load_labels(set, dataset, &gerr))
        return fail("cannot evaluate without labels", gerr->message);
    const int semantic = semantic_dir != NULL;
    if (text_encoder_dir && !semantic)
        return fail("--text-encoder needs --semantic", g_strdup("--semantic DIR names the caption folder"));
    if (semantic) {
        sibvad_error e = {{0}};
        sibvad_text_encoder *enc = text_encoder_dir ? sibvad_text_encoder_load(text_encoder_dir, &e) : NULL;
        if (text_encoder_dir && !enc)
            return fail("cannot load the text encoder", g_strdup(e.msg));
        gboolean ok = enc ? sibvad_videoset_load_captions(set, semantic_dir, enc, &gerr)
                          : sibvad_videoset_load_semantic(set, semantic_dir, &gerr);
        sibvad_text_encoder_free(enc);
        if (!ok)
            return fail(text_encoder_dir ? "cannot read the captions" : "cannot read the semantic vectors",
                        gerr->message);
        if (set->sem_dim != cfg->sem_dim)
            return fail("semantic vectors do not fit the model",
                        g_strdup_printf("the vectors in %s have %d values, the model takes %d", semantic_dir,
                                        set->sem_dim, cfg->sem_dim));
    }
    chosen.visual_only = !semantic;
    const sibvad_calibration *cal = sibvad_model_calibration(m);
    const int calibrated = cal && cal->count > 0;

    /* which videos can be scored */
    EvalVideo *ev = g_new0(EvalVideo, set->nvideos);
    int nv = 0;
    GString *skipped = g_string_new(NULL);
    int nskipped = 0;
    long frames_total = 0;
    for (int i = 0; i < set->nvideos; i++) {
        const SibvadVideo *v = &set->videos[i];
        if (!v->labels)
            return fail("cannot evaluate without labels", g_strdup_printf("video %s has none", v->name));
        if (v->nframes < T + 1) {
            fprintf(stderr,
                    "sibvad-eval: warning: video %s has %d frame%s, fewer than the %d a clip of %d frames and its "
                    "target need; skipped\n",
                    v->name, v->nframes, v->nframes == 1 ? "" : "s", T + 1, T);
            g_string_append_printf(skipped, "%s%s", nskipped ? "," : "", v->name);
            nskipped++;
            continue;
        }
        if (v->nframes <= chosen.drop)
            fprintf(stderr, "sibvad-eval: warning: video %s has %d frames, all within the first %d that are "
                            "dropped; it adds no scored frame\n",
                    v->name, v->nframes, chosen.drop);
        ev[nv].v = v;
        ev[nv].fe = g_new0(SibvadFrameErrors, v->nframes);
        frames_total += v->nframes;
        nv++;
    }
    if (nv == 0)
        return fail("nothing to evaluate",
                    g_strdup_printf("every test video is shorter than %d frames (a clip and its target)", T + 1));
    for (int k = 0; k < nmaps; k++) {
        int found = 0;
        for (int i = 0; i < nv && !found; i++)
            if (!strcmp(ev[i].v->name, maps[k].video)) {
                found = 1;
                if (maps[k].frame < T || maps[k].frame >= ev[i].v->nframes)
                    fprintf(stderr, "sibvad-eval: warning: --error-maps %s:%d: frames %d..%d of video %s have a "
                                    "prediction; no map for this one\n",
                            maps[k].video, maps[k].frame, T, ev[i].v->nframes - 1, maps[k].video);
            }
        if (!found)
            fprintf(stderr, "sibvad-eval: warning: --error-maps: no scored test video is named '%s'\n",
                    maps[k].video);
    }
    gchar *maps_dir = NULL;
    if (out_dir) {
        if (g_mkdir_with_parents(out_dir, 0755) < 0)
            return fail("cannot create the output folder", g_strdup_printf("%s: %s", out_dir, g_strerror(errno)));
        if (nmaps) {
            maps_dir = g_build_filename(out_dir, "errormaps", NULL);
            if (g_mkdir_with_parents(maps_dir, 0755) < 0)
                return fail("cannot create the output folder",
                            g_strdup_printf("%s: %s", maps_dir, g_strerror(errno)));
        }
    }

    if (!quiet)
        fprintf(human,
                "sibvad-eval: model %s (%s, %dx%d, %d channel%s, patch %d, T=%d); %d test videos, %ld frames "
                "from %s; batch %d, %d threads\n",
                model_path, cfg->preset, W, H, C, C == 1 ? "" : "s", cfg->patch, T, nv, frames_total, dataset,
                batch, threads);

    /* predict every frame t >= T from the clip t-T..t-1: each video goes
     * through a stream, `batch` frames per push, so every frame's backbone and
     * motion features are computed once and shared by the clips that hold it
     * (results equal the batch forward within float rounding) */
    sibvad_stream *st = sibvad_stream_new_batched(m, batch, &err);
    if (!st)
        return fail("cannot prepare the model", err.msg);
    /* the dataset layer's normalisation: ImageNet statistics, channel 0 for a grey model */
    const float *pstd = SIBVAD_PIXEL_STD, *pmean = SIBVAD_PIXEL_MEAN;
    float *win = malloc(sizeof(float) * img * (size_t)(batch + 1)); /* the previous frame, then the chunk */
    float *semin = semantic ? calloc((size_t)batch * cfg->sem_dim, sizeof(float)) : NULL;
    sibvad_stream_result *res = calloc((size_t)batch, sizeof *res);
    float *scratch = malloc(sizeof(float) * 2 * (size_t)H * W);
    float *pix = malloc(sizeof(float) * 2 * img);
    if (!win || (semantic && !semin) || !res || !scratch || !pix)
        return fail("out of memory", g_strdup_printf("for batches of %d clips at %dx%d", batch, W, H));
    long clips_done = 0;
    /* error left on moving blocks relative to the frame difference, [0] normal and [1] abnormal frames */
    enum { MOVING_BLOCK = 4 };
    const float moving_threshold = 0.1f; /* mean squared difference per pixel, normalised units */
    double mv_err[2] = {0.0, 0.0}, mv_fd[2] = {0.0, 0.0};
    long mv_n[2] = {0, 0};
    const gint64 t_scoring = g_get_monotonic_time();
    for (int i = 0; i < nv; i++) {
        const SibvadVideo *v = ev[i].v;
        const gint64 tv = g_get_monotonic_time();
        sibvad_stream_reset(st);
        for (int f0 = 0; f0 < v->nframes; f0 += batch) {
            const int nb = v->nframes - f0 < batch ? v->nframes - f0 : batch;
            if (f0 > 0) /* the previous chunk's last frame, for the frame difference */
                memmove(win, win + (size_t)batch * img, sizeof(float) * img);
            float *frames = win + img;
            for (int k = 0; k < nb; k++)
                sibvad_video_frame_normalised(set, v, f0 + k, C, frames + (size_t)k * img);
            if (semantic) {
                for (int b = 0; b < nb; b++) {
                    const int t = f0 + b, row = t - 1; /* the clip's last input frame */
                    float *dst = semin + (size_t)b * cfg->sem_dim;
                    if (t >= T && v->semantic && v->semantic_ok && v->semantic_ok[row]) {
                        memcpy(dst, v->semantic + (size_t)row * cfg->sem_dim, sizeof(float) * cfg->sem_dim);
                    } else {
                        memset(dst, 0, sizeof(float) * cfg->sem_dim);
                        if (t >= T)
                            ev[i].missing_semantic++;
                    }
                }
            }
            if (sibvad_stream_push_batch(st, frames, semin, nb, res, &err) < 0)
                return fail(g_strdup_printf("scoring video %s failed", v->name), err.msg);
            for (int b = 0; b < nb; b++) {
                const int t = f0 + b;
                if (!res[b].scored)
                    continue;
                const float *target = frames + (size_t)b * img, *pred = res[b].prediction;
                const float *emap = res[b].error_map;
                SibvadFrameErrors *e = &ev[i].fe[t];
                if (sibvad_frame_errors(target, pred, C, H, W, cfg->patch, pstd, scratch, e, &err) < 0)
                    return fail(g_strdup_printf("scoring video %s failed", v->name), err.msg);
                e->mse = res[b].visual;
                e->maxwin = sibvad_frame_maxwin(emap, H, W, cfg->patch);
                e->semantic = semantic ? res[b].semantic : 0.0f;
                if (semantic && !(v->semantic && v->semantic_ok && v->semantic_ok[t - 1]))
                    e->semantic = 0.0f;
                e->framediff = sibvad_framediff_energy(target, target - img, C, H, W, cfg->patch, scratch);
                if (t >= chosen.drop) {
                    const int lab = v->labels[t] ? 1 : 0;
                    sibvad_moving_error_add(emap, scratch, H, W, MOVING_BLOCK, moving_threshold, &mv_err[lab],
                                            &mv_fd[lab], &mv_n[lab]);
                }
                for (int k = 0; maps_dir && k < nmaps; k++) {
                    if (maps[k].done || maps[k].frame != t || strcmp(maps[k].video, v->name))
                        continue;
                    maps[k].done = 1;
                    /* back to the [0,1] pixel scale: what the model saw and what it predicted */
                    for (int c = 0; c < C; c++)
                        for (size_t q = 0; q < (size_t)H * W; q++) {
                            const size_t o = (size_t)c * H * W + q;
                            pix[o] = pred[o] * pstd[c] + pmean[c];
                            pix[img + o] = target[o] * pstd[c] + pmean[c];
                        }
                    char *sn = safe_name(v->name);
                    gchar *file = g_strdup_printf("%s-%d.png", sn, t);
                    gchar *path = g_build_filename(maps_dir, file, NULL);
                    gchar *title = g_strdup_printf("video %s, frame %d (label: %s), e_v %.4g, PSNR %.2f dB", v->name,
                                                   t, v->labels[t] ? "abnormal" : "normal", (double)e->mse,
                                                   (double)e->psnr);
                    if (sibvad_plot_errormap(path, title, C, H, W, pix + img, pix, emap, &err) < 0)
                        fprintf(stderr, "sibvad-eval: %s\n", err.msg);
                    else if (!quiet)
                        fprintf(human, "  error map written to %s\n", path);
                    g_free(sn);
                    g_free(file);
                    g_free(path);
                    g_free(title);
                }
                clips_done++;
            }
        }
        if (!quiet) {
            const double s = (g_get_monotonic_time() - tv) * 1e-6;
            fprintf(stderr, "  video %-12s %5d frames scored  %6.1f clips/s\n", v->name, v->nframes - T,
                    s > 0 ? (v->nframes - T) / s : 0.0);
        }
        if (ev[i].missing_semantic)
            fprintf(stderr, "sibvad-eval: warning: video %s: %d scored frames have no semantic vector; their clips "
                            "got a zero vector and e_s = 0\n",
                    v->name, ev[i].missing_semantic);
    }
    const double scoring_s = (g_get_monotonic_time() - t_scoring) * 1e-6;
    sibvad_stream_free(st);
    free(win);
    free(res);
    free(semin);
    free(scratch);
    free(pix);

    /* the four protocols: chosen, its floor, streaming, its floor */
    SibvadProtocol floor_p, stream_p, sfloor_p;
    sibvad_protocol_floor(&floor_p, &chosen);
    sibvad_protocol_streaming(&stream_p, &chosen, cal);
    sibvad_protocol_floor(&sfloor_p, &stream_p);
    ProtocolRun runs[4];
    const SibvadProtocol *ps[4] = {&chosen, &stream_p, &floor_p, &sfloor_p};
    for (int r = 0; r < 4; r++)
        if (run_protocol(&runs[r], ps[r], ev, nv, semantic, &err) < 0)
            return fail("evaluation failed", err.msg);
    ProtocolRun *paper = &runs[0], *stream = &runs[1], *pfloor = &runs[2], *sfloor = &runs[3];

    /* per-video table */
    char a1[16], a2[16], a3[16];
    if (!quiet) {
        fprintf(human, "per video (AUC under the %s protocol, floor, streaming):\n", chosen.name);
        for (int i = 0; i < nv; i++) {
            const SibvadVideo *v = ev[i].v;
            long nab = 0, n = 0;
            for (int t = chosen.drop; t < v->nframes; t++, n++)
                nab += v->labels[t] ? 1 : 0;
            if (n == 0)
                fprintf(human, "  %-12s no scored frame\n", v->name);
            else if (isnan(paper->per_video[i]))
                fprintf(human, "  %-12s %5ld frames, %5ld abnormal: one class only, not in the macro mean\n",
                        v->name, n, nab);
            else
                fprintf(human, "  %-12s %5ld frames, %5ld abnormal: AUC %s  floor %s  streaming %s\n", v->name, n,
                        nab, pct(a1, paper->per_video[i]), pct(a2, pfloor->per_video[i]),
                        pct(a3, stream->per_video[i]));
        }
    }

    /* the numbers, each with its protocol in words */
    char d1[512], d2[512];
    char fw[64];
    snprintf(fw, sizeof fw, "frame-difference energy, max over %dx%d windows", cfg->patch, cfg->patch);
    fprintf(human, "%s protocol: %ld frames of %d video%s scored, %ld abnormal\n", chosen.name, paper->auc.frames,
            nv, nv == 1 ? "" : "s", paper->auc.abnormal);
    if (isnan(paper->auc.micro))
        fprintf(stderr, "sibvad-eval: warning: the %ld scored frames are all %s, so no AUC is defined (n/a, null "
                        "in JSON)\n",
                paper->auc.frames, paper->auc.abnormal ? "abnormal" : "normal");
    fprintf(human, "  micro AUC %s (%s) — floor (%s): %s\n", pct(a1, paper->auc.micro),
            sibvad_protocol_describe(&chosen, d1, sizeof d1), fw, pct(a2, pfloor->auc.micro));
    fprintf(human, "  macro AUC %s over %d videos, %d skipped (one class only) (%s) — floor (%s): %s\n",
            pct(a1, paper->auc.macro), paper->auc.videos_used, paper->auc.videos_skipped, d1, fw,
            pct(a2, pfloor->auc.macro));
    if (calibrated)
        fprintf(human, "streaming protocol (what a live element achieves): calibrated score from the model file's "
                       "normal-error statistics (%d clips)\n", cal->count);
    else
        fprintf(human, "streaming protocol (what a live element achieves): the model file has no calibration, so "
                       "the score is the raw weighted errors\n");
    sibvad_protocol_describe(&stream_p, d2, sizeof d2);
    fprintf(human, "  micro AUC %s (%s) — floor (%s, raw): %s\n", pct(a1, stream->auc.micro), d2, fw,
            pct(a2, sfloor->auc.micro));
    fprintf(human, "  macro AUC %s over %d videos, %d skipped (one class only) (%s) — floor (%s, raw): %s\n",
            pct(a1, stream->auc.macro), stream->auc.videos_used, stream->auc.videos_skipped, d2, fw,
            pct(a2, sfloor->auc.macro));
    if (nskipped)
        fprintf(human, "  %d video%s shorter than %d frames skipped: %s\n", nskipped, nskipped == 1 ? "" : "s",
                T + 1, skipped->str);
    const double mv_ratio[2] = {mv_n[0] ? mv_err[0] / mv_fd[0] : NAN, mv_n[1] ? mv_err[1] / mv_fd[1] : NAN};
    fprintf(human, "motion: error left on moving %dx%d blocks relative to copying the last frame: normal frames %.3f "
                   "(%ld blocks), abnormal %.3f (%ld blocks); lower on normal frames = normal motion learned\n",
            MOVING_BLOCK, MOVING_BLOCK, mv_ratio[0], mv_n[0], mv_ratio[1], mv_n[1]);

    /* JSON summary */
    GString *g = g_string_new("{");
    json_aucs(g, paper, pfloor);
    g_string_append(g, ",\"streaming\":{");
    json_aucs(g, stream, sfloor);
    g_string_append_printf(g, ",\"calibrated\":%s,\"calibration_clips\":%d}", calibrated ? "true" : "false",
                           calibrated ? cal->count : 0);
    g_string_append_printf(g, ",\"frames_scored\":%ld,\"frames_abnormal\":%ld,\"videos\":%d", paper->auc.frames,
                           paper->auc.abnormal, nv);
    g_string_append(g, ",\"moving_error_ratio\":{\"normal\":");
    json_ratio(g, mv_n[0], mv_ratio[0]);
    g_string_append(g, ",\"abnormal\":");
    json_ratio(g, mv_n[1], mv_ratio[1]);
    g_string_append_printf(g, ",\"blocks_normal\":%ld,\"blocks_abnormal\":%ld,\"block\":%d,\"threshold\":%g}",
                           mv_n[0], mv_n[1], (int)MOVING_BLOCK, (double)moving_threshold);
    g_string_append(g, ",\"videos_skipped_short\":[");
    if (nskipped) {
        gchar **names = g_strsplit(skipped->str, ",", -1);
        for (int k = 0; names[k]; k++) {
            if (k)
                g_string_append_c(g, ',');
            json_str(g, names[k]);
        }
        g_strfreev(names);
    }
    g_string_append(g, "],\"model\":");
    json_str(g, model_path);
    g_string_append(g, ",\"model_preset\":");
    json_str(g, cfg->preset);
    g_string_append(g, ",\"dataset\":");
    json_str(g, dataset);
    g_string_append(g, ",\"split\":\"testing\",\"semantic\":");
    if (semantic)
        json_str(g, semantic_dir);
    else
        g_string_append(g, "null");
    g_string_append_printf(g, ",\"frames_in\":%d,\"per_video\":[", T);
    for (int i = 0; i < nv; i++) {
        long nab = 0, n = 0;
        for (int t = chosen.drop; t < ev[i].v->nframes; t++, n++)
            nab += ev[i].v->labels[t] ? 1 : 0;
        g_string_append(g, i ? ",{\"video\":" : "{\"video\":");
        json_str(g, ev[i].v->name);
        g_string_append_printf(g, ",\"frames\":%ld,\"abnormal\":%ld,\"auc\":", n, nab);
        json_pct(g, paper->per_video[i]);
        g_string_append(g, ",\"floor_auc\":");
        json_pct(g, pfloor->per_video[i]);
        g_string_append(g, ",\"streaming_auc\":");
        json_pct(g, stream->per_video[i]);
        g_string_append_c(g, '}');
    }
    g_string_append_printf(g, "],\"scoring_seconds\":%.2f,\"clips_per_second\":%.2f,\"seconds\":%.2f}", scoring_s,
                           scoring_s > 0 ? clips_done / scoring_s : 0.0,
                           (g_get_monotonic_time() - t_start) * 1e-6);

    int out_failed = 0;
    if (out_dir) {
        const ProtocolRun *order[4] = {paper, stream, pfloor, sfloor};
        if (write_scores(out_dir, ev, nv, order) < 0)
            out_failed = 1;
        gchar *sp = g_build_filename(out_dir, "summary.json", NULL);
        gchar *body = g_strconcat(g->str, "\n", NULL);
        if (!g_file_set_contents(sp, body, -1, &gerr)) {
            fprintf(stderr, "sibvad-eval: cannot write %s: %s\n", sp, gerr->message);
            g_clear_error(&gerr);
            out_failed = 1;
        }
        g_free(body);
        g_free(sp);
        if (write_plots(out_dir, ev, nv, paper, pfloor) < 0)
            out_failed = 1;
        if (!quiet)
            fprintf(human, "outputs in %s: scores.csv, scores.jsonl, summary.json, roc.png, curves/*.png%s\n",
                    out_dir, nmaps ? ", errormaps/*.png" : "");
    }
    if (json) {
        fputs(g->str, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    }
    g_string_free(g, TRUE);
    g_string_free(skipped, TRUE);
    for (int r = 0; r < 4; r++)
        free_run(&runs[r]);
    for (int i = 0; i < nv; i++)
        g_free(ev[i].fe);
    g_free(ev);
    for (int k = 0; k < nmaps; k++)
        g_free(maps[k].video);
    g_free(maps);
    g_free(maps_dir);
    sibvad_videoset_free(set);
    sibvad_model_free(m);
    return out_failed ? 1 : 0;
}
