/* test_train_safety.c: sibvad-train never loses saved work (issue 7).
 *
 *   test_train_safety SIBVAD_TRAIN ENOSPC_SHIM
 *
 * On two generated frame folders (BMP, a square moving right), the tiny
 * preset, checkpoints every step or every few milliseconds:
 *  1. Killed at random moments: sibvad-train is started (resuming its own
 *     checkpoint after the first round) and SIGKILLed, ROUNDS times, at a
 *     random moment up to 0.75 s after the run's first new checkpoint (so that
 *     the kills land in the training loop on a slow machine or in a sanitizer
 *     build too, where starting alone takes seconds). After every kill the
 *     checkpoint, once it exists, loads and its step never goes back; some
 *     kills land while a checkpoint is being written (a temporary file is
 *     there: counted and printed). The next writer removes the temporaries
 *     the killed ones left. A last resumed run finishes and writes a model
 *     that loads.
 *  2. A diverging run (SIBVAD_TRAIN_FAULT=nan@K makes step K's loss NaN):
 *     exit status 1, a message that says the loss is not finite, that the
 *     step did not reach the weights and which checkpoint is kept; the
 *     checkpoint is step K's predecessor, loads, and holds finite weights;
 *     resuming from it (without the fault) finishes.
 *  3. A full disk (ENOSPC_SHIM preloaded: every write to a temporary file
 *     fails with ENOSPC after the first 3): training goes on with a warning at
 *     every failed checkpoint, then stops with exit status 1 because the final
 *     checkpoint cannot be written, naming the checkpoint that is kept (step
 *     3); it loads; no temporary file is left; no model file was written;
 *     resuming with room again finishes and writes a model that loads. */
#include "test-util.h"
#include "trainer.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 12

static const char *tool, *shim;

static char *tfile(const char *name) { return g_build_filename(tmpdir, name, NULL); }

/* 24-bit BMP of a square moving right */
static void write_frame(const char *path, int t, int v)
{
    const int w = 40, h = 36;
    uint8_t *rgb = g_malloc((gsize)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            int in = x >= 2 + t && x < 10 + t && y >= 8 + 4 * v && y < 16 + 4 * v;
            p[0] = p[1] = p[2] = (uint8_t)(in ? 220 : 60 + x);
        }
    write_bmp24(path, w, h, rgb);
    g_free(rgb);
}

/* argv for sibvad-train: tiny preset, the two folders, the given extras */
static GPtrArray *train_argv(const char *out, const char *ck, gboolean resume, const char *const *extra)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    const char *base[] = {tool, "--preset", "tiny", "--out", out, "--checkpoint", ck, "--batch", "2", "--threads", "1",
                          "--cache", "", "--holdout", "0.2", "--quiet"};
    for (size_t i = 0; i < G_N_ELEMENTS(base); i++)
        g_ptr_array_add(a, g_strdup(base[i]));
    if (resume) {
        g_ptr_array_add(a, g_strdup("--resume"));
        g_ptr_array_add(a, g_strdup(ck));
    }
    for (int i = 0; extra && extra[i]; i++)
        g_ptr_array_add(a, g_strdup(extra[i]));
    g_ptr_array_add(a, tfile("frames/01"));
    g_ptr_array_add(a, tfile("frames/02"));
    g_ptr_array_add(a, NULL);
    return a;
}

/* run to the end; the exit status (-1: not run), stderr in *err */
static int run(GPtrArray *argv, char **envp, char **err)
{
    gint status = 0;
    GError *e = NULL;
    if (!g_spawn_sync(NULL, (char **)argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, NULL, err, &status, &e)) {
        printf("     cannot run %s: %s\n", tool, e->message);
        g_error_free(e);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* the step a checkpoint holds (-1: does not load) */
static int checkpoint_step(const char *ck, int *finite)
{
    sibvad_error e;
    char *js = NULL;
    sibvad_model *m = sibvad_model_load_checkpoint(ck, &js, &e);
    if (!m) {
        printf("     %s: %s\n", ck, e.msg);
        return -1;
    }
    SibvadTrainState st;
    int step = sibvad_train_state_from_json(&st, js, NULL) ? st.step : -1;
    if (finite) {
        *finite = 1;
        for (int i = 0; i < sibvad_model_num_tensors(m); i++) {
            sibvad_tensor *t = sibvad_model_tensor(m, i);
            for (size_t k = 0; k < t->numel; k++)
                if (!isfinite(t->data[k]))
                    *finite = 0;
        }
    }
    free(js);
    sibvad_model_free(m);
    return step;
}

static int model_loads(const char *path)
{
    sibvad_error e;
    sibvad_model *m = sibvad_model_load(path, &e);
    if (!m)
        printf("     %s: %s\n", path, e.msg);
    sibvad_model_free(m);
    return m != NULL;
}

/* temporary files of the checkpoint in its folder */
/* the inode of path, 0 when there is none */
static guint64 inode_of(const char *path)
{
    GStatBuf sb;
    return g_stat(path, &sb) == 0 ? (guint64)sb.st_ino : 0;
}

static int count_temps(const char *dir)
{
    int n = 0;
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *nm;
    while (d && (nm = g_dir_read_name(d)))
        if (strstr(nm, ".tmp."))
            n++;
    if (d)
        g_dir_close(d);
    return n;
}

static void test_kills(void)
{
    char *dir = tfile("kill"), *out = tfile("kill/model.safetensors"), *ck = tfile("kill/model.ckpt");
    g_mkdir_with_parents(dir, 0755);
    const char *extra[] = {"--epochs", "120", "--checkpoint-minutes", "0.0002", NULL};
    GRand *rnd = g_rand_new_with_seed(7);
    int loads = 0, existed = 0, mid_write = 0, last_step = 0, back = 0, max_temps = 0;
    gint64 start_us = 0;
    for (int r = 0; r < ROUNDS; r++) {
        GPtrArray *argv = train_argv(out, ck, g_file_test(ck, G_FILE_TEST_EXISTS), extra);
        const guint64 ino_before = inode_of(ck);
        int st;
        GPid pid;
        GError *e = NULL;
        if (!g_spawn_async(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL,
                           NULL, NULL, &pid, &e)) {
            CHECK(0, "start sibvad-train: %s", e->message);
            g_error_free(e);
            g_ptr_array_free(argv, TRUE);
            break;
        }
        /* kill it at a random moment (0 to 0.75 s) after its first new
         * checkpoint is in place: a rename puts a new inode there. Waiting for
         * that first makes the kills land in the training loop on a slow
         * machine or in a sanitizer build too (there the start alone can take
         * seconds) */
        const gint64 t0 = g_get_monotonic_time();
        int exited = 0;
        while (inode_of(ck) == ino_before && g_get_monotonic_time() - t0 < 120 * G_USEC_PER_SEC) {
            if (waitpid(pid, &st, WNOHANG) == pid) {
                exited = 1;
                break;
            }
            g_usleep(2000);
        }
        start_us = MAX(start_us, g_get_monotonic_time() - t0);
        if (!exited) {
            g_usleep((gulong)g_rand_int_range(rnd, 0, 750000));
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        }
        g_spawn_close_pid(pid);
        g_ptr_array_free(argv, TRUE);
        const int temps = count_temps(dir);
        max_temps = MAX(max_temps, temps);
        if (temps > 0)
            mid_write++;
        if (g_file_test(ck, G_FILE_TEST_EXISTS)) {
            existed++;
            const int step = checkpoint_step(ck, NULL);
            if (step >= 0)
                loads++;
            if (step < last_step)
                back++;
            last_step = MAX(last_step, step);
        }
    }
    printf("     %d kills (each 0 to 0.75 s after the run's first checkpoint, which took up to %.2f s):"
           " a checkpoint existed after %d, a temporary file (a kill mid-write) after %d; last step %d\n",
           ROUNDS, start_us / 1e6, existed, mid_write, last_step);
    CHECK(existed > 0 && loads == existed, "after every kill the checkpoint loads (%d of %d)", loads, existed);
    CHECK(back == 0, "its step never goes back (%d times)", back);
    CHECK(max_temps <= 1, "killed writers' temporaries do not pile up (at most %d at a time)", max_temps);
    /* to the end */
    GPtrArray *argv = train_argv(out, ck, TRUE, extra);
    char *err = NULL;
    const int rc = run(argv, NULL, &err);
    CHECK(rc == 0, "a last resumed run finishes%s%s", rc ? ": " : "", rc && err ? err : "");
    CHECK(model_loads(out), "and writes a model that loads");
    CHECK(count_temps(dir) == 0, "no temporary file is left (the next writer removed the killed ones')");
    g_free(err);
    g_ptr_array_free(argv, TRUE);
    g_rand_free(rnd);
    g_free(dir);
    g_free(out);
    g_free(ck);
}

static void test_nan(void)
{
    char *dir = tfile("nan"), *out = tfile("nan/model.safetensors"), *ck = tfile("nan/model.ckpt");
    g_mkdir_with_parents(dir, 0755);
    const char *extra[] = {"--epochs", "8", "--checkpoint-minutes", "0", NULL};
    char **envp = g_environ_setenv(g_get_environ(), "SIBVAD_TRAIN_FAULT", "nan@12", TRUE);
    GPtrArray *argv = train_argv(out, ck, FALSE, extra);
    char *err = NULL;
    int rc = run(argv, envp, &err);
    CHECK(rc == 1 && err && strstr(err, "step 12: the loss is not finite") &&
              strstr(err, "before the step reached the weights") && strstr(err, "(step 12), is intact") &&
              strstr(err, "--resume"),
          "a NaN loss stops the run (exit %d) and says what is kept: %s", rc, err ? err : "");
    g_free(err);
    g_ptr_array_free(argv, TRUE);
    int finite = 0;
    const int step = checkpoint_step(ck, &finite);
    CHECK(step == 12 && finite, "the checkpoint is the last good step (%d) with finite weights", step);
    CHECK(!g_file_test(out, G_FILE_TEST_EXISTS), "no model file was written from the diverged run");
    argv = train_argv(out, ck, TRUE, extra);
    err = NULL;
    rc = run(argv, NULL, &err);
    CHECK(rc == 0 && model_loads(out), "resuming from it finishes%s%s", rc ? ": " : "", rc && err ? err : "");
    g_free(err);
    g_ptr_array_free(argv, TRUE);
    g_strfreev(envp);
    g_free(dir);
    g_free(out);
    g_free(ck);
}

static void test_disk_full(void)
{
    char *dir = tfile("full"), *out = tfile("full/model.safetensors"), *ck = tfile("full/model.ckpt");
    g_mkdir_with_parents(dir, 0755);
    const char *extra[] = {"--epochs", "2", "--checkpoint-minutes", "0", NULL};
    /* after what is preloaded already (a sanitizer runtime must stay first) */
    char **envp = g_get_environ();
    const char *pre = g_environ_getenv(envp, "LD_PRELOAD");
    char *preload = pre && *pre ? g_strconcat(pre, ":", shim, NULL) : g_strdup(shim);
    envp = g_environ_setenv(envp, "LD_PRELOAD", preload, TRUE);
    g_free(preload);
    envp = g_environ_setenv(envp, "SIBVAD_ENOSPC_AFTER", "3", TRUE);
    GPtrArray *argv = train_argv(out, ck, FALSE, extra);
    char *err = NULL;
    int rc = run(argv, envp, &err);
    const char *warn = err ? strstr(err, "WARNING: step 4:") : NULL;
    CHECK(warn && strstr(warn, "No space left on device") && strstr(warn, "(step 3), is intact"),
          "a checkpoint that cannot be written is a warning naming the one kept, and training goes on: %.300s",
          warn ? warn : err ? err : "");
    CHECK(rc == 1 && err && strstr(err, "training failed") && strstr(err, "No space left on device") &&
              strstr(err, "(step 3), is intact"),
          "the final checkpoint cannot be written: exit %d, and the message names the checkpoint kept", rc);
    g_free(err);
    g_ptr_array_free(argv, TRUE);
    const int step = checkpoint_step(ck, NULL);
    CHECK(step == 3, "the checkpoint on disk is step %d's (want 3) and loads", step);
    CHECK(count_temps(dir) == 0, "no temporary file is left behind on the full disk");
    CHECK(!g_file_test(out, G_FILE_TEST_EXISTS), "no (partial) model file");
    argv = train_argv(out, ck, TRUE, extra);
    err = NULL;
    rc = run(argv, NULL, &err);
    CHECK(rc == 0 && model_loads(out), "with room again, --resume finishes and writes the model%s%s",
          rc ? ": " : "", rc && err ? err : "");
    g_free(err);
    g_ptr_array_free(argv, TRUE);
    g_strfreev(envp);
    g_free(dir);
    g_free(out);
    g_free(ck);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        printf("usage: test_train_safety SIBVAD_TRAIN ENOSPC_SHIM\n");
        return 2;
    }
    tool = argv[1];
    shim = argv[2];
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sibvad-test-train-safety-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    for (int v = 0; v < 2; v++) {
        char *d = tfile(v ? "frames/02" : "frames/01");
        g_mkdir_with_parents(d, 0755);
        for (int t = 0; t < 12; t++) {
            char *f = g_strdup_printf("%s/%03d.bmp", d, t);
            write_frame(f, t, v);
            g_free(f);
        }
        g_free(d);
    }
    test_nan();
    test_disk_full();
    test_kills();
    rm_rf(tmpdir);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
