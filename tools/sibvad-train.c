/* sibvad-train: teach a sibvad model what normal looks like.
 *
 *   sibvad-train --preset lite --dataset DIR --out FILE [--minutes N] [--resume FILE]
 *   sibvad-train --config cfg.json --out FILE --epochs 20 video1.mp4 frames_dir2 ...
 *   sibvad-train --backbone InternViT-300M-448px-V2_5 --dataset DIR --out FILE
 *   sibvad-train --preset lite --dataset DIR --out FILE --device cuda
 *
 * Reads the normal videos (DIR/training in the common layout, or the given
 * video files / frame folders), trains with Adam in shuffled batches until the
 * time or epoch budget runs out, writes checkpoints atomically on the way
 * (--resume continues one exactly), logs metrics as JSON lines, and finally
 * scores held-out normal clips and stores the normal-error statistics in the
 * model file for calibrated live scores. With --backbone the backbone's sizes
 * and the input size come from a Hugging Face InternViT / InternVL2.5
 * checkpoint (the rest from the preset, paper by default), its weights are
 * loaded and frozen, and the model file written holds them. */
#include "dataset.h"
#include "hf-checkpoint.h"
#include "sibvad.h"
#include "trainer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *preset = NULL, *config_path = NULL, *dataset = NULL, *out = NULL, *resume = NULL;
static char *ckpt_path = NULL, *log_path = NULL, *semantic_dir = NULL, *cache_dir = NULL, *save_dtype = NULL;
static char *text_encoder_dir = NULL;
static char *device = NULL;
static char *backbone = NULL;
static double minutes = 0, lr = 0, holdout = 0.1, ckpt_minutes = 5, feature_cache_mb = 4096;
static int epochs = 0, batch = 8, threads = 2, quiet = 0;
static gint64 seed = 42;
static char **videos = NULL;

static GOptionEntry entries[] = {
    {"preset", 0, 0, G_OPTION_ARG_STRING, &preset, "Model preset: lite (default), tiny or paper", "NAME"},
    {"config", 0, 0, G_OPTION_ARG_FILENAME, &config_path, "Model config as JSON instead of a preset", "FILE"},
    {"backbone", 0, 0, G_OPTION_ARG_FILENAME, &backbone,
     "Pretrained frozen backbone from a Hugging Face InternViT or InternVL2.5 checkpoint folder; "
     "its sizes and input size replace the preset's (default preset: paper)", "DIR"},
    {"dataset", 0, 0, G_OPTION_ARG_FILENAME, &dataset, "Dataset root; its training/frames/<video> are the normal videos", "DIR"},
    {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Where to write the trained model (safetensors)", "FILE"},
    {"minutes", 0, 0, G_OPTION_ARG_DOUBLE, &minutes, "Training time budget in minutes (summed over resumes)", "N"},
    {"epochs", 0, 0, G_OPTION_ARG_INT, &epochs, "Epoch budget", "N"},
    {"resume", 0, 0, G_OPTION_ARG_FILENAME, &resume, "Continue from this checkpoint exactly", "FILE"},
    {"batch", 0, 0, G_OPTION_ARG_INT, &batch, "Clips per step (default 8)", "N"},
    {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed: initialisation and clip order (default 42)", "N"},
    {"threads", 0, 0, G_OPTION_ARG_INT, &threads, "CPU threads (default 2)", "N"},
    {"device", 0, 0, G_OPTION_ARG_STRING, &device,
     "Where to train: cpu (default), cuda or auto (the GPU when one works); cuda:tf32 or cuda:bf16 trade "
     "exactness for speed", "NAME"},
    {"lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Learning rate (default: the config's)", "X"},
    {"holdout", 0, 0, G_OPTION_ARG_DOUBLE, &holdout, "Fraction of each video kept for calibration (default 0.1)", "F"},
    {"checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &ckpt_path, "Checkpoint path (default OUT.ckpt)", "FILE"},
    {"checkpoint-minutes", 0, 0, G_OPTION_ARG_DOUBLE, &ckpt_minutes, "Minutes between checkpoints (default 5)", "N"},
    {"log", 0, 0, G_OPTION_ARG_FILENAME, &log_path, "Metrics as JSON lines (default OUT.log.jsonl)", "FILE"},
    {"semantic", 0, 0, G_OPTION_ARG_FILENAME, &semantic_dir, "Semantic vectors: DIR/<video>/<frame>.npy", "DIR"},
    {"text-encoder", 0, 0, G_OPTION_ARG_FILENAME, &text_encoder_dir,
     "With --semantic: DIR holds captions (<video>/<frame>.txt), embedded by this SimCSE/BERT checkpoint",
     "DIR"},
    {"cache", 0, 0, G_OPTION_ARG_FILENAME, &cache_dir, "Decoded-frame cache folder (\"\" disables)", "DIR"},
    {"feature-cache", 0, 0, G_OPTION_ARG_DOUBLE, &feature_cache_mb,
     "With a frozen backbone: MiB of memory for the backbone features of each frame, computed once and reused "
     "by every clip and epoch (default 4096; 0: recompute)", "MIB"},
    {"save-dtype", 0, 0, G_OPTION_ARG_STRING, &save_dtype, "Store the model as f32 (default), f16 or bf16", "TYPE"},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress output", NULL},
    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &videos, "Normal videos or frame folders", "[VIDEO...]"},
    {NULL}};

/* what main holds, freed by fail() on the way out */
static sibvad_model *m;
static SibvadVideoSet *set;
static GError *gerr;
static gchar *ck, *lg; /* checkpoint and log paths */

static int fail(const char *what, const char *msg)
{
    fprintf(stderr, "sibvad-train: %s%s%s\n", what, msg ? ": " : "", msg ? msg : "");
    sibvad_model_free(m);
    m = NULL;
    sibvad_videoset_free(set);
    set = NULL;
    g_clear_error(&gerr);
    g_clear_pointer(&ck, g_free);
    g_clear_pointer(&lg, g_free);
    return 1;
}

int main(int argc, char **argv)
{
    sibvad_error err = {{0}};
    GOptionContext *ctx = g_option_context_new("- train a sibvad model on normal video");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &gerr))
        return fail("bad arguments", gerr->message);
    g_option_context_free(ctx);
    if (!out)
        return fail("--out FILE is required", NULL);
    gchar *out_dir = g_path_get_dirname(out);
    const int mk = g_mkdir_with_parents(out_dir, 0755);
    if (mk < 0) {
        const int rc = fail(out_dir, g_strerror(errno));
        g_free(out_dir);
        return rc;
    }
    g_free(out_dir);
    if (!dataset && !videos)
        return fail("give --dataset DIR or the normal videos to train on", NULL);
    if (!resume && minutes <= 0 && epochs <= 0)
        minutes = 60;   /* default budget */
    if (save_dtype && strcmp(save_dtype, "f32") && strcmp(save_dtype, "f16") && strcmp(save_dtype, "bf16"))
        return fail("--save-dtype must be f32, f16 or bf16", NULL);
    if (threads < 1 || batch < 1 || holdout < 0 || holdout >= 0.9)
        return fail("--threads and --batch must be positive and --holdout in [0, 0.9)", NULL);
    if (backbone && resume)
        return fail("--backbone does not go with --resume: the checkpoint holds the backbone", NULL);
    sibvad_set_threads(threads);

    /* model: a checkpoint, or a new one from a preset or config */
    SibvadTrainState state = {0};
    if (resume) {
        char *js = NULL;
        m = sibvad_model_load_checkpoint(resume, &js, &err);
        if (!m)
            return fail("cannot resume", err.msg);
        gboolean ok = sibvad_train_state_from_json(&state, js, &gerr);
        free(js);
        if (!ok)
            return fail(resume, gerr->message);
        seed = (gint64)state.seed;
    } else {
        sibvad_config cfg;
        if (config_path) {
            gchar *text = NULL;
            gsize len = 0;
            if (!g_file_get_contents(config_path, &text, &len, &gerr))
                return fail("cannot read the config", gerr->message);
            int rc = sibvad_config_from_json(&cfg, text, len, &err);
            g_free(text);
            if (rc < 0)
                return fail(config_path, err.msg);
        } else if (sibvad_config_preset(&cfg, preset ? preset : backbone ? "paper" : "lite", &err) < 0) {
            return fail("bad preset", err.msg);
        }
        /* the backbone's sizes, input size, LayerNorm eps, layer scale; frozen */
        if (backbone && sibvad_hf_vision_config(backbone, &cfg, &err) < 0)
            return fail("cannot use the backbone checkpoint", err.msg);
        if (lr > 0)
            cfg.lr = (float)lr;
        m = sibvad_model_create(&cfg, (uint64_t)seed, &err);
        if (!m)
            return fail("cannot create the model", err.msg);
        if (backbone) {
            sibvad_hf_load_info info;
            if (sibvad_hf_load_backbone_info(m, backbone, &info, &err) < 0)
                return fail("cannot load the backbone", err.msg);
            if (!quiet)
                fprintf(stderr, "sibvad-train: backbone from %s: %d tensors (%.1f MB) from %d file%s, frozen\n",
                        backbone, info.tensors_read, info.bytes_read / 1e6, info.files_opened,
                        info.files_opened == 1 ? "" : "s");
        }
    }
    if (device && sibvad_model_use_backend(m, device, &err) < 0)
        return fail("cannot use the device", err.msg);
    const sibvad_config *cfg = sibvad_model_config(m);

    /* videos */
    SibvadReadOptions ro = {cfg->img_w, cfg->img_h, cfg->channels, cache_dir, quiet};
    set = dataset && !videos ? sibvad_videoset_read_split(dataset, "training", &ro, &gerr)
                                             : sibvad_videoset_read_paths((const char *const *)videos,
                                                                          (int)g_strv_length(videos), &ro, &gerr);
    if (!set)
        return fail("cannot read the training videos", gerr->message);
    if (text_encoder_dir && !semantic_dir)
        return fail("--text-encoder needs --semantic", "--semantic DIR names the caption folder");
    if (semantic_dir) {
        sibvad_error e = {{0}};
        sibvad_text_encoder *enc = text_encoder_dir ? sibvad_text_encoder_load(text_encoder_dir, &e) : NULL;
        if (text_encoder_dir && !enc)
            return fail("cannot load the text encoder", e.msg);
        gboolean ok = enc ? sibvad_videoset_load_captions(set, semantic_dir, enc, &gerr)
                          : sibvad_videoset_load_semantic(set, semantic_dir, &gerr);
        sibvad_text_encoder_free(enc);
        if (!ok)
            return fail(text_encoder_dir ? "cannot read the captions" : "cannot read the semantic vectors", gerr->message);
    }

    SibvadTrainOptions o;
    sibvad_train_options_init(&o);
    o.batch = batch;
    o.seed = (guint64)seed;
    o.minutes = minutes;
    o.epochs = epochs;
    o.holdout = holdout;
    o.checkpoint_minutes = ckpt_minutes;
    o.feature_cache_mb = feature_cache_mb;
    o.progress = !quiet;
    ck = ckpt_path ? g_strdup(ckpt_path) : g_strconcat(out, ".ckpt", NULL);
    lg = log_path ? g_strdup(log_path) : g_strconcat(out, ".log.jsonl", NULL);
    o.checkpoint = ck;
    o.log_path = lg;
    if (!quiet) {
        size_t frames = 0;
        for (int i = 0; i < set->nvideos; i++)
            frames += (size_t)set->videos[i].nframes;
        fprintf(stderr, "sibvad-train: %s model (%zu trainable parameters), %d videos, %zu frames at %dx%d, on %s",
                cfg->preset, sibvad_model_num_params(m, 1), set->nvideos, frames, cfg->img_w, cfg->img_h,
                sibvad_model_backend_name(m));
        if (!strcmp(sibvad_model_backend_name(m), "cpu"))
            fprintf(stderr, " (%d threads)", threads);
        fputc('\n', stderr);
    }
    if (!sibvad_train(m, set, &o, &state, NULL, NULL, &gerr))
        return fail("training failed", gerr->message);
    if (sibvad_model_save_as(m, out, save_dtype ? save_dtype : "f32", &err) < 0) {
        /* the final checkpoint holds the trained state: nothing is lost */
        char *why = g_strdup_printf("%s; the trained state is in the checkpoint %s (step %d): make room, then run "
                                    "sibvad-train --resume %s --out %s with the same data and budget to write the "
                                    "model", err.msg, ck, state.step, ck, out);
        int rc = fail("cannot save the model", why);
        g_free(why);
        return rc;
    }
    if (!quiet)
        fprintf(stderr, "sibvad-train: %d steps, %d epochs, %.1f minutes; model written to %s (checkpoint %s, log %s)\n",
                state.step, state.epoch, state.elapsed / 60.0, out, ck, lg);
    g_free(ck);
    g_free(lg);
    sibvad_videoset_free(set);
    sibvad_model_free(m);
    return 0;
}
