/* fuzz_labels.c: feeds frame label files to tools/common/labels.c. The first
 * byte chooses the format and the way in, the second the videos asked for
 * (1 to 3 videos "01" "02" "03" of 1 to 12 frames); the rest is the content:
 *   mode 0: <tmp>/labels.txt            sibvad_labels_read_text
 *   mode 1: <tmp>/labels.npy            sibvad_labels_read_npy_concat
 *   mode 2: <tmp>/gt.mat                sibvad_labels_read_mat
 *   mode 3: <tmp>/dir/<video>.npy       sibvad_labels_read_npy_dir (the content
 *           split at "#####" into one file per video; an empty part: no file)
 *   mode 4..7: the same files found under a dataset root by sibvad_labels_find
 *           (root/testing/labels.txt, root/labels.npy, root/gt.mat,
 *           root/testing/labels/<video>.npy), or, when bit 7 of the first
 *           byte is set, read by sibvad_labels_read_path (by suffix / folder).
 * Labels that are read must be 0 or 1 and exactly as many as the frames. */
#include "fuzz-util.h"
#include "labels.h"

static const char *const names[] = {"01", "02", "03"};
static const int frame_sets[8][3] = {
    {5, 8, 3}, {1, 1, 1}, {12, 2, 7}, {3, 3, 3}, {2, 12, 1}, {4, 6, 8}, {10, 1, 5}, {7, 7, 2},
};

static void put_files(int fmt, const char *dir, const uint8_t *data, size_t size, const SibvadLabelQuery *q,
                      char *path, size_t pn)
{
    char name[512];
    switch (fmt) {
    case 0:
        snprintf(name, sizeof name, "%s/labels.txt", dir);
        break;
    case 1:
        snprintf(name, sizeof name, "%s/labels.npy", dir);
        break;
    case 2:
        snprintf(name, sizeof name, "%s/gt.mat", dir);
        break;
    default: {
        const uint8_t *part[3];
        size_t len[3];
        int k = fuzz_split(data, size, "#####", q->nvideos, part, len);
        for (int i = 0; i < k; i++) {
            if (!len[i])
                continue;
            snprintf(name, sizeof name, "%s/%s.npy", dir, q->names[i]);
            fuzz_write(path, pn, name, part[i], len[i]);
        }
        snprintf(path, pn, "%s/%s", fuzz_tmpdir(), dir);
        return;
    }
    }
    fuzz_write(path, pn, name, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int mode = data[0] & 7, fmt = mode & 3, sel = data[1], by_path = data[0] & 0x80;
    data += 2;
    size -= 2;
    int nframes[3];
    SibvadLabelQuery q = {1 + sel % 3, names, nframes};
    for (int i = 0; i < 3; i++)
        nframes[i] = frame_sets[(sel / 3) & 7][i];
    uint8_t *labels[3] = {NULL, NULL, NULL};
    char path[4400], root[4400];
    GError *err = NULL;
    gboolean ok;
    char *found = NULL;

    fuzz_mkdir("root");
    fuzz_mkdir("root/testing");
    fuzz_mkdir("root/testing/labels");
    fuzz_mkdir("dir");
    fuzz_path(root, sizeof root, "root");
    if (mode < 4) {
        put_files(fmt, fmt == 3 ? "dir" : ".", data, size, &q, path, sizeof path);
        ok = fmt == 0 ? sibvad_labels_read_text(path, &q, labels, &err)
           : fmt == 1 ? sibvad_labels_read_npy_concat(path, &q, labels, &err)
           : fmt == 2 ? sibvad_labels_read_mat(path, &q, labels, &err)
                      : sibvad_labels_read_npy_dir(path, &q, labels, &err);
    } else {
        static const char *const where[4] = {"root/testing", "root", "root", "root/testing/labels"};
        put_files(fmt, where[fmt], data, size, &q, path, sizeof path);
        if (by_path) /* the read_path way in, by the file's suffix or the folder */
            ok = sibvad_labels_read_path(path, &q, labels, &err);
        else
            ok = sibvad_labels_find(root, &q, labels, &found, &err);
    }
    if (ok) {
        fuzz_note("accepted", found);
        if (err)
            fuzz_die("an error set on success", err->message);
        for (int i = 0; i < q.nvideos; i++) {
            if (!labels[i])
                fuzz_die("success without the labels of a video", NULL);
            for (int t = 0; t < nframes[i]; t++)
                if (labels[i][t] > 1)
                    fuzz_die("a label that is not 0 or 1", NULL);
            g_free(labels[i]);
        }
    } else {
        if (!err || !err->message[0])
            fuzz_die("rejected without a message", NULL);
        fuzz_note("rejected", err->message);
        for (int i = 0; i < 3; i++)
            if (labels[i])
                fuzz_die("labels left allocated after a failure", NULL);
        g_error_free(err);
    }
    g_free(found);
    /* empty the folders for the next input */
    fuzz_unlink("labels.txt");
    fuzz_unlink("labels.npy");
    fuzz_unlink("gt.mat");
    fuzz_unlink("root/testing/labels.txt");
    fuzz_unlink("root/labels.npy");
    fuzz_unlink("root/gt.mat");
    for (int i = 0; i < 3; i++) {
        char n[64];
        snprintf(n, sizeof n, "dir/%s.npy", names[i]);
        fuzz_unlink(n);
        snprintf(n, sizeof n, "root/testing/labels/%s.npy", names[i]);
        fuzz_unlink(n);
    }
    return 0;
}
