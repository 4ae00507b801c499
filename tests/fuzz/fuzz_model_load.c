/* fuzz_model_load.c: feeds whole model files to the model loader of
 * sibvad-core/model-io.c through the public API (sibvad.h): the input is
 * written to a temporary file and loaded with sibvad_model_load (safetensors,
 * the sibvad_config JSON in __metadata__, every tensor's shape and dtype, the
 * sibvad_calibration JSON) and, when the first byte is odd, with
 * sibvad_model_load_checkpoint (adam_step, train_state, Adam's moments). A
 * failure must come with a message; a loaded model is saved again and must
 * load back with the same parameters. */
#include "fuzz-util.h"
#include "sibvad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4400];
    sibvad_error e;
    e.msg[0] = '\0';
    fuzz_write(path, sizeof path, "in.safetensors", data, size);
    char *state = NULL;
    int ckpt = size > 0 && (data[0] & 1);
    sibvad_model *m = ckpt ? sibvad_model_load_checkpoint(path, &state, &e) : sibvad_model_load(path, &e);
    unlink(path);
    if (!m) {
        if (!e.msg[0])
            fuzz_die("the loader failed without a message", NULL);
        fuzz_note("rejected", e.msg);
        if (state)
            fuzz_die("train_state set though the load failed", NULL);
        return 0;
    }
    fuzz_note(ckpt ? "accepted as a checkpoint" : "accepted", NULL);
    if (ckpt && !state)
        fuzz_die("a checkpoint loaded without its train_state", NULL);
    free(state);

    /* save and load again: the same parameters */
    fuzz_path(path, sizeof path, "copy.safetensors");
    if (sibvad_model_save(m, path, &e) < 0)
        fuzz_die("cannot save a loaded model", e.msg);
    sibvad_model *m2 = sibvad_model_load(path, &e);
    unlink(path);
    if (!m2)
        fuzz_die("a saved model does not load", e.msg);
    int n = sibvad_model_num_tensors(m);
    if (n != sibvad_model_num_tensors(m2))
        fuzz_die("tensor counts differ after a save", NULL);
    for (int i = 0; i < n; i++) {
        const sibvad_tensor *a = sibvad_model_tensor(m, i), *b = sibvad_model_tensor(m2, i);
        if (a->numel != b->numel || (a->numel && memcmp(a->data, b->data, a->numel * sizeof(float))))
            fuzz_die("parameters differ after a save and a load", a->name);
    }
    sibvad_model_free(m2);
    sibvad_model_free(m);
    return 0;
}
