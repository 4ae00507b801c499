/* labels.h: frame labels (0 normal, 1 abnormal) of the test videos of a
 * dataset, found under its root in one of four formats (docs/datasets.md):
 *
 *  1. one .npy per video: <root>/testing/labels/<video>.npy, else
 *     <root>/testing/test_frame_mask/<video>.npy (ShanghaiTech), else
 *     <root>/testing/frames/<video>.npy; shape (N), (1,N) or (N,1);
 *  2. one .npy for the whole test set directly in <root> (e.g.
 *     frame_labels_ped2.npy), shape (N) or (1,N), the videos' labels
 *     concatenated in order;
 *  3. a MATLAB v5 .mat directly in <root> with variable gt: a 1xK cell of
 *     2xM (or Mx2) matrices of 1-based inclusive [start; end] rows of
 *     abnormal frames, one cell per video in order;
 *  4. <root>/testing/labels.txt, lines "<video> <ranges>" or
 *     "<video> mask <0/1 per frame>".
 *
 * The first format found wins. Videos are named and counted by the caller
 * (the dataset), so this part needs no GStreamer. */
#ifndef SIBVAD_LABELS_H
#define SIBVAD_LABELS_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* The videos labels are wanted for, in dataset order. */
typedef struct {
    int nvideos;
    const char *const *names;   /* (nvideos) video names, e.g. "01" */
    const int *nframes;         /* (nvideos) frame counts */
} SibvadLabelQuery;

/* Find the labels of q's videos under root (the formats above, in that
 * order). On success labels[i] is a g_malloc'd (nframes[i]) array of 0/1
 * for each video and *found (when not NULL) a newly allocated description of
 * where they came from; on failure nothing is allocated. */
gboolean sibvad_labels_find(const char *root, const SibvadLabelQuery *q, uint8_t **labels,
                            char **found, GError **error);

/* Read labels from one given file or folder: a folder of <video>.npy, a
 * .npy for the whole set (format 2), a .mat with gt, or a .txt (format 4). */
gboolean sibvad_labels_read_path(const char *path, const SibvadLabelQuery *q, uint8_t **labels,
                                 GError **error);

/* The single formats, for a known file. */
gboolean sibvad_labels_read_npy_dir(const char *dir, const SibvadLabelQuery *q, uint8_t **labels,
                                    GError **error);
gboolean sibvad_labels_read_npy_concat(const char *path, const SibvadLabelQuery *q, uint8_t **labels,
                                       GError **error);
gboolean sibvad_labels_read_mat(const char *path, const SibvadLabelQuery *q, uint8_t **labels,
                                GError **error);
gboolean sibvad_labels_read_text(const char *path, const SibvadLabelQuery *q, uint8_t **labels,
                                 GError **error);

G_END_DECLS

#endif
