/* sibvad.h: the public API of the sibvad core library.
 *
 * The core computes the SIB-VAD model (../shared/spec/model.md): configuration,
 * the model with its parameters, forward, backward, Adam step, and model files
 * (safetensors). It is plain C11 with no GLib and no CUDA. Every function that
 * can fail returns 0 on success and -1 on failure, with a message in the
 * caller's sibvad_error (which may be NULL); nothing here exits or aborts.
 */
#ifndef SIBVAD_H
#define SIBVAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A message for the caller; filled on failure. */
typedef struct sibvad_error {
    char msg[512];
} sibvad_error;

/* Every size of the model. JSON keys are the field names (config.c). */
typedef struct sibvad_config {
    char preset[32];        /* name of the preset this came from (informational) */
    /* input */
    int img_h, img_w;       /* model input size; both multiples of patch */
    int channels;           /* 1 or 3 */
    int patch;              /* patch size for backbone, motion encoder and pixel head */
    int frames_in;          /* input frames per clip (T = 4 in the spec) */
    /* backbone (appearance ViT, InternViT block type) */
    int bb_width, bb_depth, bb_heads, bb_mlp; /* bb_mlp: hidden width of the MLP */
    int bb_layerscale;      /* 1: ls1/ls2 vectors on both residual branches */
    int bb_frozen;          /* 1: no gradients, no backward work */
    float bb_ln_eps;        /* 1e-6 for InternViT */
    /* motion encoder */
    int mo_width, mo_depth, mo_heads, mo_mlp_ratio;
    /* model width */
    int d_model;
    /* joint cross-attention fusion */
    int fu_depth, fu_heads, fu_ffn_ratio;
    /* decoder */
    int de_depth, de_heads, de_mlp_ratio;
    int rgb_hidden;         /* hidden width of decoder.rgb_project */
    /* SFFM */
    int sffm_nr, sffm_k, sffm_ns, sffm_b;
    float sffm_scale, sffm_alpha;
    /* semantic */
    int sem_dim, sem_hidden;
    /* loss weights (the balance loss is weighted by sffm_alpha) */
    float w_pred, w_sem, w_motion;
    /* pixel head: 0 (the spec) predicts the frame; 1 predicts its change, and
     * the last input frame is added to the head's output */
    int pred_residual;
    /* optimiser */
    float lr, beta1, beta2, adam_eps, weight_decay;
    /* training clips: the probability that a clip is a skip-frame pseudo-anomaly
     * (inputs every s-th frame, s drawn from pseudo_skip_min..pseudo_skip_max, and
     * the last input as the target: motion faster than normal is not to be
     * extrapolated); 0: none, as the spec */
    float pseudo_skip;
    int pseudo_skip_min, pseudo_skip_max;
} sibvad_config;

/* Fill cfg with a named preset: "paper", "lite" or "tiny". */
int sibvad_config_preset(sibvad_config *cfg, const char *name, sibvad_error *err);
/* Check every size for consistency (divisibility, ranges). Widths are at most
 * SIBVAD_CONFIG_MAX_WIDTH, depths at most SIBVAD_CONFIG_MAX_DEPTH, MLP ratios at
 * most SIBVAD_CONFIG_MAX_RATIO. */
#define SIBVAD_CONFIG_MAX_WIDTH 65536
#define SIBVAD_CONFIG_MAX_DEPTH 256
#define SIBVAD_CONFIG_MAX_RATIO 64
int sibvad_config_validate(const sibvad_config *cfg, sibvad_error *err);
/* Derived sizes. */
int sibvad_config_grid_h(const sibvad_config *cfg);
int sibvad_config_grid_w(const sibvad_config *cfg);
int sibvad_config_num_patches(const sibvad_config *cfg);
/* JSON: to_json returns a malloc'd string (caller frees) or NULL. */
char *sibvad_config_to_json(const sibvad_config *cfg);
int sibvad_config_from_json(sibvad_config *cfg, const char *json, size_t len, sibvad_error *err);

/* FLOPs of one forward pass and of one training step (forward + backward)
 * for a batch of clips: matrix products, attention and convolutions. */
void sibvad_config_flops(const sibvad_config *cfg, int batch, double *forward, double *train_step);

typedef struct sibvad_model sibvad_model;

/* Create a model with freshly initialised parameters (deterministic in seed). */
sibvad_model *sibvad_model_create(const sibvad_config *cfg, uint64_t seed, sibvad_error *err);
void sibvad_model_free(sibvad_model *m);
const sibvad_config *sibvad_model_config(const sibvad_model *m);
size_t sibvad_model_num_params(const sibvad_model *m, int trainable_only);

/* The compute backend of the model: "cpu" (where every model starts), "cuda"
 * (a GPU, through the CUDA backend module) or "auto" (CUDA when the module
 * loads and a GPU works, else the CPU). Moves the parameters, gradients and
 * Adam moments to the named backend; activations already prepared are
 * prepared again there with the same sizes. Streams of the model must be made
 * anew after a move (their push refuses a moved model). On a backend other
 * than the CPU, everything handed back to the caller (predictions, scores,
 * sibvad_tensor data and grad, model files, stream results) is a host copy,
 * downloaded when it is asked for; writes into sibvad_tensor.data do not
 * reach the model there (edit on the CPU, then move). Fails with a message
 * that says why (no module, no driver, no GPU, out of memory); the model
 * stays where it was unless the failure comes from re-preparing. */
int sibvad_model_use_backend(sibvad_model *m, const char *name, sibvad_error *err);
/* "cpu" or "cuda". */
const char *sibvad_model_backend_name(const sibvad_model *m);
/* Wait until the backend has finished the model's queued work (a GPU runs
 * asynchronously) and report an error that happened in it. For timing. */
int sibvad_model_synchronize(sibvad_model *m, sibvad_error *err);

/* Allocate activation buffers for batches of up to max_batch clips. With
 * training = 0 only what inference needs is kept (layers share their caches).
 * Called once; the forward/backward/step functions never allocate. */
int sibvad_model_prepare(sibvad_model *m, int max_batch, int training, sibvad_error *err);

/* Forward pass over B clips.
 *   frames:   (B, frames_in, C, H, W) normalised input frames
 *   target:   (B, C, H, W) normalised target frame, or NULL (no losses then)
 *   semantic: (B, sem_dim) caption embeddings, or NULL (no semantic input)
 * Results are read with sibvad_model_prediction() and sibvad_model_losses(). */
int sibvad_model_forward(sibvad_model *m, const float *frames, const float *target,
                         const float *semantic, int B, sibvad_error *err);
/* Backward pass of the last forward (which needs a target); gradients are
 * accumulated (+=) into the gradient buffers. */
int sibvad_model_backward(sibvad_model *m, sibvad_error *err);
void sibvad_model_zero_grad(sibvad_model *m);
/* Sum of squares of every gradient (not finite when one is not: check it
 * before sibvad_model_step so a bad step never reaches the weights). */
double sibvad_model_grad_sumsq(const sibvad_model *m);
/* One Adam step (PyTorch Adam, L2 weight decay added to the gradient) at the
 * config's learning rate times the current scale (1 unless set: schedules). */
int sibvad_model_step(sibvad_model *m, sibvad_error *err);
void sibvad_model_set_lr_scale(sibvad_model *m, float scale);

/* A host-memory cache of frozen-backbone features: the two taps of the
 * backbone (patch embedding and last layer, 2 x N1 x bb_width floats) of each
 * frame, kept up to a byte budget (least recently used go first). Training
 * on a frozen pretrained backbone computes it once per frame and reuses it in
 * every clip and every epoch that holds the frame: the backbone is most of the
 * paper model's work. A missing frame's backbone runs alone, so its features
 * depend on the frame only: a cached run is deterministic whatever the cache
 * held (resumes repeat an uninterrupted run exactly) and equals
 * sibvad_model_forward within rounding (a product's rounding can depend on
 * its row count). Only for models whose backbone is frozen; the budget must hold at least one
 * batch of frames (max_batch x frames_in). */
typedef struct sibvad_feature_cache sibvad_feature_cache;
sibvad_feature_cache *sibvad_feature_cache_new(const sibvad_model *m, size_t budget_bytes, sibvad_error *err);
void sibvad_feature_cache_free(sibvad_feature_cache *c);
/* Bytes of one frame's entry. */
size_t sibvad_feature_cache_entry_bytes(const sibvad_model *m);
typedef struct sibvad_feature_cache_stats {
    long long hits, misses, evictions;
    int entries, capacity;
} sibvad_feature_cache_stats;
void sibvad_feature_cache_get_stats(const sibvad_feature_cache *c, sibvad_feature_cache_stats *out);
/* sibvad_model_forward where frame_ids[B * frames_in] name the input frames
 * (the same id must always mean the same frame, e.g. video << 32 | index):
 * the backbone runs only on frames the cache does not hold (once each, even
 * when several clips of the batch share them) and keeps their features. */
int sibvad_model_forward_cached(sibvad_model *m, sibvad_feature_cache *cache, const long long *frame_ids,
                                const float *frames, const float *target, const float *semantic, int B,
                                sibvad_error *err);

typedef struct sibvad_losses {
    float total, pred, sem, motion, balance;
} sibvad_losses;
void sibvad_model_losses(const sibvad_model *m, sibvad_losses *out);
/* (B, C, H, W) predicted frame of the last forward. */
const float *sibvad_model_prediction(const sibvad_model *m);
/* (B, sem_dim) predicted semantic vector, or NULL if no semantic input. */
const float *sibvad_model_semantic_prediction(const sibvad_model *m);

/* Per-clip scores of the last forward (which needs a target):
 * visual[b] = mean over C,H,W of (target - pred)^2; semantic[b] = 1 - cos
 * (0 when no semantic input); error_map (B, H, W) = mean over C of the squared
 * error. Any output pointer may be NULL. */
int sibvad_model_scores(const sibvad_model *m, float *visual, float *semantic,
                        float *error_map, sibvad_error *err);

/* Named tensors (parameters and fixed buffers), in the spec's naming. */
typedef enum {
    SIBVAD_TENSOR_TRAINABLE = 0,
    SIBVAD_TENSOR_FROZEN = 1,   /* loaded, never trained (frozen backbone) */
    SIBVAD_TENSOR_FIXED = 2     /* computed from the config (sin-cos position embeddings) */
} sibvad_tensor_kind;

typedef struct sibvad_tensor {
    const char *name;
    int ndim;
    int64_t shape[4];
    size_t numel;
    float *data;
    float *grad;                /* NULL unless trainable */
    sibvad_tensor_kind kind;
} sibvad_tensor;

int sibvad_model_num_tensors(const sibvad_model *m);
sibvad_tensor *sibvad_model_tensor(sibvad_model *m, int i);
sibvad_tensor *sibvad_model_find_tensor(sibvad_model *m, const char *name);

/* Model files (safetensors with the config as JSON in __metadata__). */
int sibvad_model_save(const sibvad_model *m, const char *path, sibvad_error *err);
/* The same with the tensors stored as "f32", "f16" or "bf16" (half the size;
 * rounded to nearest even). */
int sibvad_model_save_as(const sibvad_model *m, const char *path, const char *dtype, sibvad_error *err);
sibvad_model *sibvad_model_load(const char *path, sibvad_error *err);

/* Training checkpoints: a model file plus Adam's moments and step count, and
 * the caller's training state (any JSON text, stored verbatim; may be NULL).
 * Loading a checkpoint restores the optimiser exactly; *train_state gets a
 * malloc'd copy of the stored text (NULL if none). A checkpoint also loads as
 * a plain model with sibvad_model_load. */
int sibvad_model_save_checkpoint(const sibvad_model *m, const char *path, const char *train_state,
                                 sibvad_error *err);
sibvad_model *sibvad_model_load_checkpoint(const char *path, char **train_state, sibvad_error *err);
int sibvad_model_adam_step(const sibvad_model *m);

/* Normal-error statistics, measured after training on held-out normal clips
 * and stored in the model file, so that a live stream can be scored without
 * test labels: z = (log e - mean) / std per error, calibrated score
 * w_v z_v + w_s z_s. */
#define SIBVAD_CALIB_QUANTILES 5   /* p50, p90, p95, p99, p99.9 */
typedef struct sibvad_calibration {
    int count;                      /* clips measured; 0: not calibrated */
    float vis_log_mean, vis_log_std;
    float sem_log_mean, sem_log_std; /* 0 and 0 when measured without semantic input */
    float vis_quantiles[SIBVAD_CALIB_QUANTILES], sem_quantiles[SIBVAD_CALIB_QUANTILES];
} sibvad_calibration;

/* Fit from n visual errors and n semantic errors (semantic may be NULL). */
int sibvad_calibration_fit(sibvad_calibration *c, const float *visual, const float *semantic, int n,
                           sibvad_error *err);
/* The calibrated score; the semantic term counts only when it was calibrated. */
float sibvad_calibrated_score(const sibvad_calibration *c, float visual, float semantic, float w_visual,
                              float w_semantic);
void sibvad_model_set_calibration(sibvad_model *m, const sibvad_calibration *c);
const sibvad_calibration *sibvad_model_calibration(const sibvad_model *m);

/* The input normalisation of the spec (ImageNet statistics): a pixel x in
 * [0, 1] of channel c enters the model as (x - MEAN[c]) / STD[c]; a grey
 * source uses channel 0's (or is replicated to 3 channels). */
extern const float SIBVAD_PIXEL_MEAN[3];
extern const float SIBVAD_PIXEL_STD[3];

/* ---- Streaming inference: one frame at a time ---------------------------
 * A stream scores a live sequence. Each pushed frame is the target of the
 * clip made of the frames_in (T) frames pushed before it, so the first T
 * frames of a stream (and of a stream after sibvad_stream_reset: a flush or a
 * gap) are warming up and get no score. A stream keeps the per-frame work
 * (the backbone on each frame, the motion encoder on each frame difference)
 * in rings and reuses it across the overlapping clips. Its
 * results equal sibvad_model_forward + sibvad_model_scores on the same clip
 * (up to float rounding). A stream has its own buffers: several streams may
 * share one model (the model must stay alive and unchanged while they do). */
typedef struct sibvad_stream sibvad_stream;

typedef struct sibvad_stream_result {
    int scored;              /* 1: this frame was scored; 0: warming up */
    int warmup_left;         /* frames still to push before the first score (0 once scoring) */
    float visual;            /* e_v: mean over C,H,W of (frame - prediction)^2, normalised space */
    float semantic;          /* e_s: 1 - cos(f_text, f_hat); 0 without semantic input */
    const float *error_map;  /* (H, W) mean over C of the squared error; NULL when not scored */
    const float *prediction; /* (C, H, W) the predicted frame, normalised; NULL when not scored */
} sibvad_stream_result;     /* pointers stay valid until the next push, reset or free */

sibvad_stream *sibvad_stream_new(const sibvad_model *m, sibvad_error *err); /* = new_batched(m, 1) */
/* A stream that takes up to max_batch (1..1024) frames per sibvad_stream_push_batch. */
sibvad_stream *sibvad_stream_new_batched(const sibvad_model *m, int max_batch, sibvad_error *err);
int sibvad_stream_max_batch(const sibvad_stream *s);
void sibvad_stream_free(sibvad_stream *s);
/* Forget every frame: the next T frames warm up again. */
void sibvad_stream_reset(sibvad_stream *s);
/* Push one normalised frame (C, H, W) at the model's size. semantic: the
 * caption embedding (sem_dim) of the clip that precedes this frame, or NULL. */
int sibvad_stream_push(sibvad_stream *s, const float *frame, const float *semantic,
                       sibvad_stream_result *res, sibvad_error *err);
/* Push n (1..max_batch) consecutive frames (n, C, H, W) at once, semantic (n,
 * sem_dim) or NULL: res[0..n-1] are the results of n sibvad_stream_push calls
 * (each with its own buffers, valid until the next push, reset or free), but
 * the backbone, the motion encoder and the clip stage each run once on the
 * whole batch (a GPU catching up on frames that queued up). */
int sibvad_stream_push_batch(sibvad_stream *s, const float *frames, const float *semantic, int n,
                             sibvad_stream_result *res, sibvad_error *err);
/* Frames pushed since creation or the last reset. */
long long sibvad_stream_frames(const sibvad_stream *s);

/* Convert an 8-bit interleaved image at the model's size (channels 1 or 3,
 * rows of `stride` bytes) to the model's normalised planar input (C, H, W).
 * A grey image (channels 1) is replicated when the model has 3 channels; a
 * colour image is reduced to BT.601 luma when the model has 1. The arithmetic
 * is the dataset reader's, so a live frame enters the model exactly as the
 * same frame read by sibvad-train and sibvad-eval. */
int sibvad_normalise_u8(const sibvad_config *cfg, const uint8_t *pixels, int channels, size_t stride,
                        float *out, sibvad_error *err);

/* CPU threads for the core's parallel loops and matrix products (n < 1: 1).
 * Not per caller: OpenMP's count is set for the calling thread, but
 * OpenBLAS's for the whole process, and OpenBLAS's OpenMP build follows the
 * caller's OpenMP count, freeing its work buffers whenever it changes. Two
 * threads of one process that run models with different counts at once
 * therefore change each other's sums in the last bits (results depend on the
 * count: OpenBLAS splits its sums by thread). Use one count per process, or
 * serialise models of different counts (sibvadfilter does: gst/sibvad-threads.c). */
void sibvad_set_threads(int n);

/* Set the error message (printf-style); returns -1 for `return sibvad_fail(...)`. */
int sibvad_fail(sibvad_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif
