/* fuzz_hf_config.c: feeds arbitrary bytes as the config.json of a Hugging Face
 * checkpoint directory (sibvad-core/hf-checkpoint.c): the input is written to
 * <tmp>/config.json and read with sibvad_hf_read_vision_config (InternVL's
 * vision_config or a standalone InternViT config, every key's type and range,
 * the architecture checks) and sibvad_hf_vision_config (the model config built
 * on the paper preset from it, validated). */
#include "fuzz-util.h"
#include "hf-checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4400];
    sibvad_hf_vision v;
    sibvad_config c;
    sibvad_error e;
    e.msg[0] = '\0';
    fuzz_write(path, sizeof path, "config.json", data, size);
    if (sibvad_hf_read_vision_config(fuzz_tmpdir(), &v, &e) < 0) {
        if (!e.msg[0])
            fuzz_die("rejected without a message", NULL);
        fuzz_note("rejected", e.msg);
    } else {
        fuzz_note("accepted", NULL);
        if (v.hidden_size < 1 || v.num_attention_heads < 1 || v.patch_size < 1 ||
            v.image_size % v.patch_size || v.hidden_size % v.num_attention_heads)
            fuzz_die("an accepted vision config has invalid sizes", NULL);
        if (sibvad_config_preset(&c, "paper", &e) < 0)
            fuzz_die("no paper preset", e.msg);
        if (sibvad_hf_vision_config(fuzz_tmpdir(), &c, &e) == 0 && sibvad_config_validate(&c, &e) < 0)
            fuzz_die("sibvad_hf_vision_config gave an invalid config", e.msg);
    }
    unlink(path);
    return 0;
}
