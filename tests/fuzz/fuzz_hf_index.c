/* fuzz_hf_index.c: feeds arbitrary bytes as the model.safetensors.index.json
 * of a sharded Hugging Face checkpoint (sibvad-core/hf-checkpoint.c). At
 * start the tiny InternVL fixture (tests/fixtures/hf/internvl: config.json
 * and its two BF16 shards) is copied into the temporary folder and a model
 * with that backbone is built; each input is written as the index there and
 * the backbone is loaded with sibvad_hf_load_backbone_info: the weight map
 * (tensor name -> shard file name, names with '/' or '..' refused), shard
 * lookup and opening (any file of the folder, the index itself included),
 * tensor shapes and dtypes. A failure must come with a message. */
#include "fuzz-util.h"
#include "hf-checkpoint.h"

static sibvad_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char *files[] = {"config.json", "model-00001-of-00002.safetensors",
                                  "model-00002-of-00002.safetensors"};
    char rel[256];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(rel, sizeof rel, "tests/fixtures/hf/internvl/%s", files[i]);
        fuzz_copy_source_file(rel, files[i]);
    }
    sibvad_config c;
    sibvad_error e;
    if (sibvad_config_preset(&c, "paper", &e) < 0 || sibvad_hf_vision_config(fuzz_tmpdir(), &c, &e) < 0)
        fuzz_die("the fixture's config", e.msg);
    /* the smallest rest of the model: only the backbone matters here */
    c.d_model = 8; c.mo_width = 8; c.mo_depth = 0; c.mo_heads = 1; c.mo_mlp_ratio = 1;
    c.fu_depth = 0; c.fu_heads = 1; c.de_depth = 0; c.de_heads = 1; c.de_mlp_ratio = 1;
    c.rgb_hidden = 4; c.sffm_nr = 1; c.sffm_k = 1; c.sffm_ns = 0; c.sffm_b = 1;
    c.sem_dim = 4; c.sem_hidden = 4;
    model = sibvad_model_create(&c, 1, &e);
    if (!model)
        fuzz_die("cannot create the model", e.msg);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4400];
    sibvad_hf_load_info info;
    sibvad_error e;
    e.msg[0] = '\0';
    fuzz_write(path, sizeof path, "model.safetensors.index.json", data, size);
    int rc = sibvad_hf_load_backbone_info(model, fuzz_tmpdir(), &info, &e);
    if (rc < 0 && !e.msg[0])
        fuzz_die("the load failed without a message", NULL);
    fuzz_note(rc < 0 ? "rejected" : "accepted", rc < 0 ? e.msg : NULL);
    if (rc == 0 && (info.tensors_read == 0 || !info.sharded))
        fuzz_die("a load that read nothing succeeded", NULL);
    unlink(path);
    return 0;
}
