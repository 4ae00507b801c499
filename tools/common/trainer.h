/* trainer.h: training a sibvad model on normal videos (the loop behind
 * sibvad-train, also driven by the tests).
 *
 * Clips are every window of frames_in + 1 consecutive frames of the training
 * part of each video (with the config's pseudo_skip, some are drawn as
 * skip-frame pseudo-anomalies instead: sibvad_train_clip_frames below); the
 * last `holdout` fraction of each video is kept out of training and scored at
 * the end to calibrate the model (normal-error statistics stored in the model
 * file). Each epoch visits the clips in a
 * permutation drawn from (seed, epoch), so a run is reproducible and a resumed
 * run continues exactly where the checkpoint left it. The learning-rate
 * schedule is a function of the step, never of the clock, for the same reason
 * (a time-only budget fixes its length in steps once, early in the run). */
#ifndef SIBVAD_TRAINER_H
#define SIBVAD_TRAINER_H

#include "dataset.h"
#include "sibvad.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    int batch;                  /* clips per step */
    guint64 seed;
    double minutes;             /* time budget (training time, summed over resumes); 0: none */
    int epochs;                 /* epoch budget; 0: none (at least one budget must be set) */
    int max_steps;              /* step budget (tests); 0: none */
    double holdout;             /* fraction of each video held out for calibration, e.g. 0.1 */
    const char *checkpoint;     /* checkpoint path; NULL: none */
    double checkpoint_minutes;  /* interval between checkpoints */
    const char *log_path;       /* JSON lines of metrics; NULL: none */
    int log_every;              /* steps between log lines */
    int progress;               /* 0 quiet, 1 progress on stderr */
    gboolean use_semantic;      /* train with the set's semantic vectors */
    gboolean cosine;            /* learning-rate warm-up then cosine decay to 0 over the planned
                                 * steps: the epoch or step budget, or with a time budget alone
                                 * the steps that the speed of the first 30 steps predicts
                                 * (stored in the checkpoint, so a resume keeps the schedule) */
    double feature_cache_mb;    /* frozen backbone: keep each frame's backbone features in this many MiB
                                 * of memory (sibvad_feature_cache; at least one batch); 0: recompute */
} SibvadTrainOptions;

void sibvad_train_options_init(SibvadTrainOptions *o);

/* Where a run stands; saved in checkpoints as JSON. */
typedef struct {
    int epoch, pos, step;
    double elapsed;             /* seconds of training so far */
    guint64 seed;
    double last_loss;
    int planned;                /* steps of the schedule planned for a time-only budget (0: none yet) */
} SibvadTrainState;

/* The frames of the training clip whose target is frame t (t >= T) of a
 * video whose training part ends at frame `last` (>= t), as drawn at this
 * step for batch slot `slot`: the inputs in[0..T-1] and the target. Most
 * clips are the T frames before t and t itself (returns 1). With probability
 * cfg->pseudo_skip, drawn from (seed, step, slot), the clip is a skip-frame
 * pseudo-anomaly (returns the stride s, drawn from pseudo_skip_min..max):
 * every s-th frame, ending at frame e = t - 1 (later when the video's start
 * leaves no room, e = (T - 1) s), with the last input as the target, so that
 * the model learns to leave motion faster than the normal video's where it is
 * instead of extrapolating it. When the training part is too short for the
 * stride, the clip stays normal. */
int sibvad_train_clip_frames(const sibvad_config *cfg, guint64 seed, int step, int slot, int t, int last,
                             int *in, int *target);

char *sibvad_train_state_to_json(const SibvadTrainState *s);
gboolean sibvad_train_state_from_json(SibvadTrainState *s, const char *json, GError **error);

/* Train m (prepared here) until a budget runs out, checkpointing on the way;
 * state: NULL to start, or the state of a resumed checkpoint. Then scores the
 * held-out clips and stores the calibration in m. The callback, when given,
 * is called after every step with the step's losses; returning FALSE stops
 * the run there (as an interruption would: a checkpoint is written, and the
 * held-out scoring is skipped). */
typedef gboolean (*SibvadStepCallback)(const SibvadTrainState *s, const sibvad_losses *l, void *user);
gboolean sibvad_train(sibvad_model *m, const SibvadVideoSet *set, const SibvadTrainOptions *o,
                      SibvadTrainState *state, SibvadStepCallback cb, void *user, GError **error);

G_END_DECLS

#endif
