/* protocol.h: frame-level evaluation protocols (spec section 8) as a small
 * reusable library: the per-frame errors of one predicted frame (mean squared
 * error, max over patch windows, PSNR, frame-difference energy), the
 * protocol settings with the published presets and a description in words,
 * per-video normalisation, smoothing and weighting into final scores, the
 * streaming variant a live element can achieve, and micro / macro ROC AUC.
 *
 * Plain C11 on top of the core (sibvad.h, metrics.h): no GLib, so that the
 * GStreamer element and the tests can use it as it is. Functions that can
 * fail return 0 (or a count) on success and -1 with a message in err. */
#ifndef SIBVAD_PROTOCOL_H
#define SIBVAD_PROTOCOL_H

#include "sibvad.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Frames are normalised with SIBVAD_PIXEL_MEAN / SIBVAD_PIXEL_STD (sibvad.h). */

/* PSNR is capped here (reached when the pixel-scale MSE is <= 1e-10). */
#define SIBVAD_PSNR_MAX 100.0

/* ---- per-frame errors ------------------------------------------------- */

/* Everything measured on one scored frame t (the clip t-T..t-1 predicts t). */
typedef struct {
    float mse;          /* e_v: mean over C,H,W of the squared error, normalised space */
    float maxwin;       /* max over patch x patch windows of the window's mean squared error (normalised) */
    float psnr;         /* 10 log10(1 / mse_pixels), mse_pixels = mean_c(std_c^2 * mse_c), dB */
    float psnr_maxwin;  /* the same PSNR of the worst window (pixel-scale error map) */
    float semantic;     /* e_s = 1 - cos(f_text, f_hat); 0 without semantic vectors */
    float framediff;    /* floor: max over windows of the mean squared difference of frames t and t-1 */
} SibvadFrameErrors;

/* Max over non-overlapping patch x patch windows (row-major from the top
 * left) of the window's mean; windows cut by the border average what they
 * hold. map: (H, W). patch <= 0 or larger than the map: the whole-map mean. */
float sibvad_frame_maxwin(const float *map, int H, int W, int patch);

/* mse_pixels = mean over c of std_c^2 * mse_c: the MSE of the [0,1] pixel
 * scale from per-channel MSEs of the normalised space (std: C entries; NULL
 * means SIBVAD_PIXEL_STD). */
double sibvad_pixel_mse(const double *mse_c, const float *std, int C);

/* 10 log10(1 / mse_pixels) in dB, capped at SIBVAD_PSNR_MAX; NaN for a
 * negative or NaN input. */
double sibvad_frame_psnr(double mse_pixels);

/* Frame-difference energy of two normalised frames (C, H, W): the squared
 * difference averaged over C gives a map, and the result is its max over
 * patch x patch windows (sibvad_frame_maxwin). map_scratch: H*W floats or
 * NULL (then allocated; returns NaN if that fails). */
float sibvad_framediff_energy(const float *cur, const float *prev, int C, int H, int W, int patch,
                              float *map_scratch);

/* How much of the motion a model predicts: over the block x block blocks of
 * a frame whose mean frame-difference energy (fd_map, as left in the scratch
 * of sibvad_framediff_energy) is above threshold, adds the blocks' mean
 * prediction error (err_map) to *sum_err, their mean frame-difference energy
 * to *sum_fd and their count to *nblocks. sum_err / sum_fd is the error left
 * on moving regions relative to copying the last frame: a model that learned
 * normal motion only has it clearly lower on normal frames than on abnormal
 * ones. Partial blocks at the right and bottom edges are left out. */
void sibvad_moving_error_add(const float *err_map, const float *fd_map, int H, int W, int block, float threshold,
                             double *sum_err, double *sum_fd, long *nblocks);

/* All visual errors of one predicted frame from the normalised target and
 * prediction (C, H, W): mse, maxwin, psnr, psnr_maxwin. semantic and
 * framediff are left as they are (the caller fills them). map_scratch: 2*H*W
 * floats or NULL (allocated). std: C entries or NULL (SIBVAD_PIXEL_STD). */
int sibvad_frame_errors(const float *target, const float *pred, int C, int H, int W, int patch,
                        const float *std, float *map_scratch, SibvadFrameErrors *out, sibvad_error *err);

/* ---- protocols --------------------------------------------------------- */

typedef enum { SIBVAD_ERR_MSE = 0, SIBVAD_ERR_PSNR = 1 } SibvadErrorKind;
typedef enum { SIBVAD_REDUCE_MEAN = 0, SIBVAD_REDUCE_MAXWIN = 1 } SibvadReduce;
typedef enum { SIBVAD_SMOOTH_CENTRED = 0, SIBVAD_SMOOTH_CAUSAL = 1, SIBVAD_SMOOTH_NONE = 2 } SibvadSmoothing;
/* Where the visual series comes from: the model's errors, or the floor. */
typedef enum { SIBVAD_SOURCE_MODEL = 0, SIBVAD_SOURCE_FRAMEDIFF = 1 } SibvadSource;

typedef struct {
    char name[32];              /* preset name ("ped2", ...), "streaming", "floor" or "custom" */
    SibvadSource source;
    SibvadErrorKind error;      /* mse: the error itself; psnr: the series is -PSNR */
    SibvadReduce reduce;        /* mean over the frame, or max over patch windows */
    int patch;                  /* window size of maxwin and of the floor (for the description) */
    int minmax;                 /* 1: min-max normalise each series over each video */
    SibvadSmoothing smoothing;
    float sigma;                /* Gaussian sigma in frames (0: no smoothing) */
    float w_visual, w_semantic;
    int drop;                   /* the first `drop` frames of each video are not scored */
    int visual_only;            /* 1: no semantic series (no vectors given); weights unused */
    int streaming;              /* 1: the streaming variant (the description then says whether
                                 * the score is calibrated or the raw weighted errors) */
    int calibrated;             /* 1: per-frame calibrated score from `calibration` */
    sibvad_calibration calibration;
} SibvadProtocol;

/* The published settings of spec section 8 (case-insensitive "ped2",
 * "avenue", "shanghaitech"; "shanghai" and "sht" are accepted too): mse,
 * mean over the frame, centred smoothing, drop = frames_in (4). patch and
 * drop are set from the arguments. */
int sibvad_protocol_preset(SibvadProtocol *p, const char *name, int patch, int frames_in, sibvad_error *err);

/* The streaming protocol a live element can achieve from `chosen`: no
 * per-video min-max, causal smoothing with the same sigma (none stays none),
 * same weights and drop, and the calibrated score when cal is calibrated
 * (count > 0; the error then is the mean MSE the calibration was measured
 * on); otherwise the raw weighted errors of the chosen error kind. */
void sibvad_protocol_streaming(SibvadProtocol *out, const SibvadProtocol *chosen, const sibvad_calibration *cal);

/* The floor under protocol p: frame-difference energy as the visual series,
 * no semantic term, no calibration, the same normalisation, smoothing and drop. */
void sibvad_protocol_floor(SibvadProtocol *out, const SibvadProtocol *p);

/* The protocol in words, e.g. "mse, mean over frame, per-video min-max,
 * centred Gaussian sigma 5, weights 0.8/0.2, first 4 frames dropped".
 * Returns buf. */
char *sibvad_protocol_describe(const SibvadProtocol *p, char *buf, size_t size);

/* The raw visual value of one frame under p: mse, maxwin, -psnr,
 * -psnr_maxwin or framediff. */
float sibvad_protocol_visual(const SibvadProtocol *p, const SibvadFrameErrors *e);

/* One video's raw series: index = frame number; frames before p->drop are
 * never read (they have no prediction). */
typedef struct {
    const char *name;
    int nframes;
    const float *visual;            /* nframes: raw visual values (sibvad_protocol_visual) */
    const float *semantic;          /* nframes or NULL: e_s */
    const unsigned char *labels;    /* nframes: 0 normal, 1 abnormal */
} SibvadVideoSeries;

/* Frames of video v that are scored: max(0, nframes - drop). */
long sibvad_protocol_scored_frames(const SibvadProtocol *p, const SibvadVideoSeries *v);

/* Final scores of every video under p, concatenated in video order: video v
 * gives frames drop..nframes-1. out holds the sum of scored_frames. Per
 * video and per series: min-max (if set), then smoothing; then
 * w_v * S_v + w_s * S_s (S_v alone when visual_only or the video has no
 * semantic series). A calibrated protocol combines first, per frame,
 * sibvad_calibrated_score(cal, e_v, e_s, w_v, w_s), then normalises and
 * smooths that one series. Returns the number of scores written, or -1. */
long sibvad_protocol_score_videos(const SibvadProtocol *p, const SibvadVideoSeries *videos, int nvideos,
                                  float *out, sibvad_error *err);

typedef struct {
    double micro;           /* AUC over all scored frames of all videos (0..1; NaN: one class only) */
    double macro;           /* mean of per-video AUCs over the videos with both classes (NaN: none) */
    int videos_used;        /* videos with both classes (in the macro mean) */
    int videos_skipped;     /* videos with scored frames but one class only */
    int videos_empty;       /* videos with no scored frame */
    long frames;            /* scored frames */
    long abnormal;          /* of which abnormal */
} SibvadAuc;

/* Micro and macro AUC of scores laid out as score_videos writes them.
 * per_video: nvideos entries or NULL (NaN where a video is skipped). */
int sibvad_protocol_auc(const SibvadProtocol *p, const SibvadVideoSeries *videos, int nvideos,
                        const float *scores, SibvadAuc *out, double *per_video, sibvad_error *err);

/* sibvad_roc_curve: see metrics.h in the core. */

#ifdef __cplusplus
}
#endif
#endif
