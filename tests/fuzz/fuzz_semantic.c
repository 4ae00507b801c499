/* fuzz_semantic.c: feeds semantic-vector sidecars (.npy, float32 [1,1,S] or
 * [S] in the spec's layout) to sibvad_videoset_load_semantic of
 * tools/common/dataset.c, which reads <dir>/<video>/<frame name>.npy for
 * every frame of every video. The set has two videos, "a" of 3 frames and "b"
 * of 2 (video files, so their frames are named 000, 001, ...); the input is
 * split at "#####" into up to five files: a/000.npy a/001.npy a/002.npy
 * b/000.npy b/001.npy (an empty part: no file, a missing vector). Vectors of
 * different lengths, non-float arrays and matrices must be refused with a
 * message; on success every video has (nframes x S) values. */
#include "fuzz-util.h"
#include "dataset.h"

static const char *const files[5] = {"sem/a/000.npy", "sem/a/001.npy", "sem/a/002.npy", "sem/b/000.npy",
                                      "sem/b/001.npy"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[5];
    size_t len[5];
    char path[4400], dir[4400];
    int k = fuzz_split(data, size, "#####", 5, part, len);
    fuzz_mkdir("sem");
    fuzz_mkdir("sem/a");
    fuzz_mkdir("sem/b");
    for (int i = 0; i < k; i++)
        if (len[i])
            fuzz_write(path, sizeof path, files[i], part[i], len[i]);

    SibvadVideoSet *set = g_new0(SibvadVideoSet, 1);
    set->nvideos = 2;
    set->videos = g_new0(SibvadVideo, 2);
    set->channels = 1;
    set->height = set->width = 8;
    const char *vn[2] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        set->videos[i].name = g_strdup(vn[i]);
        set->videos[i].source = g_strdup("/nonexistent/sibvad-fuzz-video.mp4");
        set->videos[i].nframes = 3 - i;
    }
    GError *err = NULL;
    if (sibvad_videoset_load_semantic(set, fuzz_path(dir, sizeof dir, "sem"), &err)) {
        fuzz_note("accepted", NULL);
        if (set->sem_dim < 1)
            fuzz_die("success without a vector length", NULL);
        for (int i = 0; i < 2; i++) {
            const SibvadVideo *v = &set->videos[i];
            if (!v->semantic || !v->semantic_ok)
                fuzz_die("success without the vectors of a video", NULL);
            volatile float s = 0;
            for (size_t j = 0; j < (size_t)v->nframes * (size_t)set->sem_dim; j++)
                s += v->semantic[j];
            (void)s;
        }
    } else {
        if (!err || !err->message[0])
            fuzz_die("rejected without a message", NULL);
        fuzz_note("rejected", err->message);
        g_error_free(err);
    }
    sibvad_videoset_free(set);
    for (int i = 0; i < 5; i++)
        fuzz_unlink(files[i]);
    return 0;
}
