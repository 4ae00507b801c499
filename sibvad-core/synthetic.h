/* synthetic.h: a deterministic generator of surveillance-like grey video for
 * tests and demos: a fixed textured background per scene, walkers moving at
 * walking speed along lanes (each lane has one direction), and optional
 * anomalies with frame labels. Frames are floats in [0, 1], (F, C, H, W), the
 * grey value replicated over C channels. */
#ifndef SIBVAD_SYNTHETIC_H
#define SIBVAD_SYNTHETIC_H

#include "sibvad.h"

typedef enum {
    SIBVAD_SYNTH_NORMAL = 0,
    SIBVAD_SYNTH_FAST_OBJECT,   /* a small object crossing at five times walking speed */
    SIBVAD_SYNTH_WRONG_WAY,     /* a walker going against its lane's direction */
    SIBVAD_SYNTH_UNKNOWN_SHAPE, /* a wide low object (a cart) at walking speed */
} sibvad_synth_anomaly;

typedef struct sibvad_synth_params {
    int width, height, channels, frames;
    uint64_t scene_seed;        /* background and lanes: the same camera */
    uint64_t video_seed;        /* walkers of this video */
    int walkers;                /* walkers in the video (spread over its length) */
    sibvad_synth_anomaly anomaly;
    int anomaly_start;          /* first frame the anomalous object may appear */
    float noise;                /* per-frame sensor noise (std), e.g. 0.01 */
} sibvad_synth_params;

/* Fill frames (F, C, H, W) and, if labels is not NULL, labels (F): 1 where the
 * anomalous object is visible. */
int sibvad_synth_video(const sibvad_synth_params *p, float *frames, unsigned char *labels,
                       sibvad_error *err);

#endif
