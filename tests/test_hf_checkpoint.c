/* test_hf_checkpoint.c: the backbone from Hugging Face checkpoint directories
 * (sibvad-core/hf-checkpoint.c) against the PyTorch twin.
 *
 * Fixtures: tests/fixtures/hf/ (tools/reference/make_hf_checkpoint.py): an
 * InternVL2.5-shaped directory (vision_config, two BF16 shards and an index,
 * language-model and projector tensors beside the vision ones, one of them I32
 * so that reading it would fail) and a standalone InternViT one. For each, a
 * paper-structured config gets the checkpoint's backbone sizes, the model loads
 * the backbone and runs a forward; its two backbone taps must equal the twin's
 * (relative error <= 1e-5). Then broken copies of the directories in a
 * temporary folder: a missing config key, a tensor missing from the index, a
 * missing shard, a tensor missing from its shard, a wrong shape, a wrong dtype,
 * a size or image size that differs from the model, unsupported architecture
 * keys; and copies whose language-model entries point at a garbage file or at
 * no file, which must still load (only vision tensors are read). */
#include "hf-checkpoint.h"
#include "json.h"
#include "model-internal.h"
#include "safetensors.h"
#include "test-util.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

#define TOL 1e-5

static char fixdir[1024];

static double rel_err(const float *x, const float *ref, size_t n)
{
    return test_rel_err(x, ref, n, 1e-3);
}

static float *ref_tensor(sibvad_st_file *f, const char *name, size_t *n)
{
    const sibvad_st_tensor *t = sibvad_st_find(f, name);
    if (!t) {
        printf("fixture has no '%s' (tools/reference/make_hf_checkpoint.py)\n", name);
        exit(2);
    }
    float *b = malloc(sizeof(float) * t->numel);
    sibvad_error e;
    if (!b || sibvad_st_to_f32(t, b, t->numel, &e) < 0) {
        printf("cannot read '%s'\n", name);
        exit(2);
    }
    *n = t->numel;
    return b;
}

static int count_backbone(sibvad_model *m)
{
    int k = 0;
    for (int i = 0; i < sibvad_model_num_tensors(m); i++)
        k += strncmp(sibvad_model_tensor(m, i)->name, "vision_model.", 13) == 0;
    return k;
}

/* A paper-structured model with the backbone of dir (not loaded). */
static sibvad_model *make_model(const char *dir, sibvad_config *cfg)
{
    sibvad_error e;
    if (sibvad_config_preset(cfg, "paper", &e) < 0 || sibvad_hf_vision_config(dir, cfg, &e) < 0) {
        printf("config from %s: %s\n", dir, e.msg);
        return NULL;
    }
    sibvad_model *m = sibvad_model_create(cfg, 7, &e);
    if (!m || sibvad_model_prepare(m, 1, 0, &e) < 0) {
        printf("model: %s\n", e.msg);
        sibvad_model_free(m);
        return NULL;
    }
    return m;
}

/* Forward one clip of the reference frames; the taps' relative errors. */
static void taps(sibvad_model *m, sibvad_st_file *ref, const char *which, double *e_embed, double *e_out)
{
    char name[128];
    size_t nf, ne, no;
    sibvad_error e;
    snprintf(name, sizeof name, "%s.in.frames", which);
    float *frames = ref_tensor(ref, name, &nf);
    snprintf(name, sizeof name, "%s.bb_embed", which);
    float *emb = ref_tensor(ref, name, &ne);
    snprintf(name, sizeof name, "%s.bb_out", which);
    float *out = ref_tensor(ref, name, &no);
    const sibvad_config *c = sibvad_model_config(m);
    size_t want = (size_t)c->frames_in * m->N1 * c->bb_width;
    *e_embed = *e_out = INFINITY;
    if (nf != (size_t)c->frames_in * 3 * c->img_h * c->img_w || ne != want || no != want) {
        printf("reference sizes do not fit the model\n");
    } else if (sibvad_model_forward(m, frames, NULL, NULL, 1, &e) < 0) {
        printf("forward: %s\n", e.msg);
    } else {
        *e_embed = rel_err(m->a.bb_x[0], emb, want);
        *e_out = rel_err(m->a.bb_x[c->bb_depth], out, want);
    }
    free(frames);
    free(emb);
    free(out);
}

static void test_parity(sibvad_st_file *ref, const char *which, int sharded, int files)
{
    char dir[1200];
    sibvad_config cfg;
    sibvad_error e;
    sibvad_hf_load_info info;
    snprintf(dir, sizeof dir, "%s/%s", fixdir, which);
    sibvad_model *m = make_model(dir, &cfg);
    CHECK(m != NULL, "%s: paper-structured model with the checkpoint's backbone", which);
    if (!m)
        return;
    sibvad_hf_vision v;
    CHECK(sibvad_hf_read_vision_config(dir, &v, &e) == 0 && v.internvl == sharded, "%s: config layout", which);
    CHECK(cfg.bb_width == v.hidden_size && cfg.bb_depth == v.num_hidden_layers &&
          cfg.bb_heads == v.num_attention_heads && cfg.bb_mlp == v.intermediate_size && cfg.patch == 14 &&
          cfg.img_h == v.image_size && cfg.img_w == v.image_size && cfg.bb_layerscale == 1 && cfg.bb_frozen == 1 &&
          fabsf(cfg.bb_ln_eps - 1e-6f) < 1e-12f && cfg.d_model == 256 && cfg.mo_width == 128,
          "%s: sizes W %d, depth %d, heads %d, MLP %d, %dx%d", which, cfg.bb_width, cfg.bb_depth, cfg.bb_heads,
          cfg.bb_mlp, cfg.img_w, cfg.img_h);
    /* The comparison can fail: the freshly initialised backbone differs. */
    double e0, e1;
    taps(m, ref, which, &e0, &e1);
    CHECK(e0 > 1e-2 && e1 > 1e-2, "%s: before loading the taps differ (%.3g, %.3g)", which, e0, e1);

    int rc = sibvad_hf_load_backbone_info(m, dir, &info, &e);
    CHECK(rc == 0, "%s: load: %s", which, rc ? e.msg : "ok");
    CHECK(info.sharded == sharded && info.internvl == sharded && info.files_opened == files &&
          info.tensors_read == count_backbone(m) && info.tensors_zeroed == 0,
          "%s: read %d tensors (%zu bytes) from %d files, sharded %d, prefix %d", which, info.tensors_read,
          info.bytes_read, info.files_opened, info.sharded, info.internvl);
    taps(m, ref, which, &e0, &e1);
    CHECK(e0 <= TOL, "%s: patch_embed tap rel err %.3g (tol %.0e)", which, e0, TOL);
    CHECK(e1 <= TOL, "%s: last hidden state tap rel err %.3g (tol %.0e)", which, e1, TOL);
    sibvad_model_free(m);
}

/* ---- broken copies ---- */

static void copy_file(const char *src, const char *dst)
{
    size_t n;
    unsigned char *b = read_bytes(src, &n);
    if (!b) {
        printf("cannot read %s\n", src);
        exit(2);
    }
    write_bytes(dst, b, n);
    free(b);
}

static const char *internvl_files[] = {"config.json", "model.safetensors.index.json",
                                       "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
static const char *internvit_files[] = {"config.json", "model.safetensors"};

/* A fresh copy of a fixture directory in the temporary folder. */
static char *copy_dir(const char *which, const char *name)
{
    static char out[4][600];
    static int k;
    char *d = out[k++ % 4];
    snprintf(d, 600, "%s/%s", tmpdir, name);
    rm_rf(d);
    if (mkdir(d, 0700) < 0) {
        perror(d);
        exit(2);
    }
    int internvl = strcmp(which, "internvl") == 0;
    const char **files = internvl ? internvl_files : internvit_files;
    int n = internvl ? 4 : 2;
    for (int i = 0; i < n; i++) {
        char s[1400], t[1400];
        snprintf(s, sizeof s, "%s/%s/%s", fixdir, which, files[i]);
        snprintf(t, sizeof t, "%s/%s", d, files[i]);
        copy_file(s, t);
    }
    return d;
}

/* Replace the first `from` after the first `after` (NULL: from the start) in dir/file. */
static void edit(const char *dir, const char *file, const char *after, const char *from, const char *to)
{
    char p[1400];
    size_t n;
    snprintf(p, sizeof p, "%s/%s", dir, file);
    unsigned char *b = read_bytes(p, &n);
    if (!b) {
        printf("cannot read %s\n", p);
        exit(2);
    }
    b[n] = 0;
    char *s = (char *)b;
    char *start = after ? strstr(s, after) : s;
    char *at = start ? strstr(start, from) : NULL;
    if (!at) {
        printf("edit: '%s' not in %s\n", from, p);
        exit(2);
    }
    size_t pre = (size_t)(at - s), fl = strlen(from), tl = strlen(to);
    char *o = malloc(n - fl + tl + 1);
    memcpy(o, s, pre);
    memcpy(o + pre, to, tl);
    memcpy(o + pre + tl, at + fl, n - pre - fl);
    write_bytes(p, o, n - fl + tl);
    free(o);
    free(b);
}

/* Rewrite a safetensors file with one tensor changed: its dtype (NULL: kept) and/or its last
 * dimension shortened by one (shrink). The data is copied and zero-padded to the new size. */
static void rewrite_st(const char *path, const char *name, const char *dtype, int shrink)
{
    sibvad_st_file *f;
    sibvad_error e;
    if (sibvad_st_open(&f, path, &e) < 0) {
        printf("%s\n", e.msg);
        exit(2);
    }
    int n = sibvad_st_count(f);
    sibvad_strbuf h = {0};
    size_t total = 0, *sizes = calloc((size_t)n, sizeof *sizes);
    int found = 0;
    sibvad_strbuf_puts(&h, "{");
    for (int i = 0; i < n; i++) {
        const sibvad_st_tensor *t = sibvad_st_get(f, i);
        int64_t shape[SIBVAD_ST_MAX_DIMS];
        memcpy(shape, t->shape, sizeof shape);
        const char *dt = sibvad_st_dtype_name(t->dtype);
        size_t esz = sibvad_st_dtype_size(t->dtype), numel = t->numel;
        if (strcmp(t->name, name) == 0) {
            found = 1;
            if (dtype) {
                dt = dtype;
                esz = strcmp(dtype, "I32") == 0 || strcmp(dtype, "F32") == 0 ? 4 : 2;
            }
            if (shrink) {
                numel = numel / (size_t)shape[t->ndim - 1] * (size_t)(shape[t->ndim - 1] - 1);
                shape[t->ndim - 1]--;
            }
        }
        sizes[i] = numel * esz;
        sibvad_strbuf_printf(&h, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "", t->name, dt);
        for (int d = 0; d < t->ndim; d++)
            sibvad_strbuf_printf(&h, "%s%lld", d ? "," : "", (long long)shape[d]);
        sibvad_strbuf_printf(&h, "],\"data_offsets\":[%zu,%zu]}", total, total + sizes[i]);
        total += sizes[i];
    }
    sibvad_strbuf_puts(&h, "}");
    while (h.len % 8)
        sibvad_strbuf_puts(&h, " ");
    if (!found) {
        printf("rewrite: no '%s' in %s\n", name, path);
        exit(2);
    }
    unsigned char *out = calloc(1, 8 + h.len + total);
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    memcpy(out + 8, h.data, h.len);
    size_t off = 8 + h.len;
    for (int i = 0; i < n; i++) {
        const sibvad_st_tensor *t = sibvad_st_get(f, i);
        memcpy(out + off, t->data, t->nbytes < sizes[i] ? t->nbytes : sizes[i]);
        off += sizes[i];
    }
    sibvad_st_close(f);
    write_bytes(path, out, off);
    free(out);
    free(sizes);
    free(h.data);
}

/* Load dir into a paper-structured model built from `cfgdir` (NULL: dir); expect failure with
 * every one of the NULL-terminated words in the message. */
static void expect_fail(const char *what, const char *dir, const char *cfgdir, const char *const *words)
{
    sibvad_config cfg;
    sibvad_error e = {{0}};
    sibvad_model *m = make_model(cfgdir ? cfgdir : dir, &cfg);
    if (!m) {
        CHECK(0, "%s: no model", what);
        return;
    }
    int rc = sibvad_hf_load_backbone(m, dir, &e);
    int all = rc < 0;
    for (int i = 0; all && words[i]; i++)
        all = strstr(e.msg, words[i]) != NULL;
    CHECK(all, "%s: fails naming it: %s", what, rc < 0 ? e.msg : "(loaded)");
    sibvad_model_free(m);
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_errors(void)
{
    char vl[1200], vit[1200];
    snprintf(vl, sizeof vl, "%s/internvl", fixdir);
    snprintf(vit, sizeof vit, "%s/internvit", fixdir);
    sibvad_config cfg;
    sibvad_error e = {{0}};
    char *d;

    /* config.json */
    d = copy_dir("internvl", "nokey");
    edit(d, "config.json", "\"vision_config\"", "\"num_attention_heads\"", "\"num_heads\"");
    sibvad_config_preset(&cfg, "paper", NULL);
    int rc = sibvad_hf_vision_config(d, &cfg, &e);
    CHECK(rc < 0 && strstr(e.msg, "num_attention_heads") && strstr(e.msg, "config.json") &&
          strstr(e.msg, "vision_config"), "missing vision_config key: %s", rc < 0 ? e.msg : "(accepted)");
    d = copy_dir("internvit", "noeps");
    edit(d, "config.json", NULL, "\"layer_norm_eps\"", "\"eps\"");
    rc = sibvad_hf_vision_config(d, &cfg, &e);
    CHECK(rc < 0 && strstr(e.msg, "layer_norm_eps") && strstr(e.msg, "config.json"), "missing top-level key: %s",
          rc < 0 ? e.msg : "(accepted)");
    d = copy_dir("internvit", "qknorm");
    edit(d, "config.json", NULL, "\"qk_normalization\": false", "\"qk_normalization\": true");
    rc = sibvad_hf_vision_config(d, &cfg, &e);
    CHECK(rc < 0 && strstr(e.msg, "qk_normalization"), "qk_normalization true: %s", rc < 0 ? e.msg : "(accepted)");
    d = copy_dir("internvit", "rmsnorm");
    edit(d, "config.json", NULL, "\"layer_norm\"", "\"rms_norm\"");
    rc = sibvad_hf_vision_config(d, &cfg, &e);
    CHECK(rc < 0 && strstr(e.msg, "rms_norm"), "norm_type rms_norm: %s", rc < 0 ? e.msg : "(accepted)");
    rc = sibvad_hf_vision_config(tmpdir, &cfg, &e);
    CHECK(rc < 0 && strstr(e.msg, "config.json"), "no config.json: %s", rc < 0 ? e.msg : "(accepted)");

    /* tensors */
    d = copy_dir("internvl", "noindexentry");
    edit(d, "model.safetensors.index.json", NULL, "\"vision_model.encoder.layers.1.mlp.fc2.weight\"",
         "\"vision_model.encoder.layers.1.mlp.fc2.weightX\"");
    expect_fail("tensor missing from the index", d, vl,
                WORDS("vision_model.encoder.layers.1.mlp.fc2.weight", "missing", "model.safetensors.index.json"));
    d = copy_dir("internvl", "noshard");
    char p[1400];
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", d);
    remove(p);
    expect_fail("shard missing", d, vl, WORDS("model-00002-of-00002.safetensors", "missing"));
    d = copy_dir("internvl", "wrongshard");
    edit(d, "model.safetensors.index.json", "\"vision_model.encoder.layers.1.attn.proj.bias\"",
         "model-00002-of-00002", "model-00001-of-00002");
    expect_fail("index names the wrong shard", d, vl,
                WORDS("vision_model.encoder.layers.1.attn.proj.bias", "model-00001-of-00002.safetensors"));
    d = copy_dir("internvit", "shape");
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    rewrite_st(p, "encoder.layers.0.ls1", NULL, 1);
    expect_fail("wrong shape", d, vit, WORDS("encoder.layers.0.ls1", "[47]", "[48]", "model.safetensors"));
    d = copy_dir("internvit", "dtype");
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    rewrite_st(p, "encoder.layers.1.norm2.bias", "I32", 0);
    expect_fail("wrong dtype", d, vit, WORDS("encoder.layers.1.norm2.bias", "I32", "model.safetensors"));
    d = copy_dir("internvl", "shapevl");
    snprintf(p, sizeof p, "%s/model-00001-of-00002.safetensors", d);
    rewrite_st(p, "vision_model.embeddings.position_embedding", NULL, 1);
    expect_fail("wrong shape in a shard", d, vl,
                WORDS("vision_model.embeddings.position_embedding", "model-00001-of-00002.safetensors"));

    /* the model against the checkpoint */
    sibvad_config_preset(&cfg, "paper", NULL);
    sibvad_hf_vision_config(vl, &cfg, NULL);
    cfg.img_h = cfg.img_w = 56;
    sibvad_model *m = sibvad_model_create(&cfg, 1, &e);
    rc = m ? sibvad_hf_load_backbone(m, vl, &e) : -2;
    CHECK(rc == -1 && strstr(e.msg, "image_size 42") && strstr(e.msg, "interpolat"), "image size differs: %s",
          rc == -1 ? e.msg : "(loaded)");
    sibvad_model_free(m);
    sibvad_hf_vision_config(vl, &cfg, NULL);
    cfg.bb_heads = 4;
    m = sibvad_model_create(&cfg, 1, &e);
    rc = m ? sibvad_hf_load_backbone(m, vl, &e) : -2;
    CHECK(rc == -1 && strstr(e.msg, "num_attention_heads"), "heads differ: %s", rc == -1 ? e.msg : "(loaded)");
    sibvad_model_free(m);
    m = make_model(vl, &cfg);
    rc = m ? sibvad_hf_load_backbone(m, vit, &e) : -2;
    CHECK(rc == -1 && strstr(e.msg, "hidden_size"), "another checkpoint's sizes: %s", rc == -1 ? e.msg : "(loaded)");
    sibvad_model_free(m);
}

/* Only the vision tensors are read. */
static void test_vision_only(sibvad_st_file *ref)
{
    char vl[1200], p[1400];
    sibvad_error e;
    snprintf(vl, sizeof vl, "%s/internvl", fixdir);

    /* The fixture's trap is there: an I32 language-model tensor that cannot be read as float. */
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", vl);
    sibvad_st_file *f;
    const sibvad_st_tensor *t = NULL;
    if (sibvad_st_open(&f, p, &e) == 0) {
        t = sibvad_st_find(f, "language_model.model.layers.0.self_attn.q_proj.bias");
        float x[64];
        CHECK(t && t->dtype == SIBVAD_DT_I32 && t->numel <= 64 && sibvad_st_to_f32(t, x, t->numel, &e) < 0,
              "the fixture's language model holds an unreadable I32 tensor");
        sibvad_st_close(f);
    } else {
        CHECK(0, "open %s: %s", p, e.msg);
    }

    /* Language-model entries in a shard of garbage and in a shard that does not exist. */
    char *d = copy_dir("internvl", "lmgarbage");
    edit(d, "model.safetensors.index.json", NULL, "\"weight_map\": {",
         "\"weight_map\": {\n    \"language_model.model.layers.1.mlp.up_proj.weight\": "
         "\"model-00003-of-00004.safetensors\",\n    \"language_model.model.layers.1.mlp.down_proj.weight\": "
         "\"model-00004-of-00004.safetensors\",");
    snprintf(p, sizeof p, "%s/model-00003-of-00004.safetensors", d);
    write_bytes(p, "\xff\xff\xff\xff\xff\xff\xff\xffgarbage", 15);
    sibvad_config cfg;
    sibvad_hf_load_info info;
    sibvad_model *m = make_model(d, &cfg);
    int rc = m ? sibvad_hf_load_backbone_info(m, d, &info, &e) : -2;
    CHECK(rc == 0 && info.files_opened == 2 && info.tensors_read == count_backbone(m),
          "language-model shards of garbage and missing ones are never opened: %s (%d files)",
          rc ? e.msg : "ok", info.files_opened);
    if (m && rc == 0) {
        double e0, e1;
        taps(m, ref, "internvl", &e0, &e1);
        CHECK(e0 <= TOL && e1 <= TOL, "and the taps still match (%.3g, %.3g)", e0, e1);
    }
    sibvad_model_free(m);

    /* qkv_bias false: the qkv biases are zeros, whatever the checkpoint holds (a Linear without
     * bias ignores them); the last tap then differs from the reference. */
    d = copy_dir("internvit", "noqkvbias");
    edit(d, "config.json", NULL, "\"qkv_bias\": true", "\"qkv_bias\": false");
    m = make_model(d, &cfg);
    rc = m ? sibvad_hf_load_backbone_info(m, d, &info, &e) : -2;
    CHECK(rc == 0 && info.tensors_zeroed == cfg.bb_depth && info.tensors_read == count_backbone(m) - cfg.bb_depth,
          "qkv_bias false: %d biases zeroed, %d tensors read: %s", info.tensors_zeroed, info.tensors_read,
          rc ? e.msg : "ok");
    if (m && rc == 0) {
        double e0, e1;
        taps(m, ref, "internvit", &e0, &e1);
        CHECK(e0 <= TOL && e1 > 1e-3, "qkv_bias false: embed tap equal (%.3g), last tap differs (%.3g)", e0, e1);
    }
    sibvad_model_free(m);
}

int main(void)
{
    const char *fx = getenv("SIBVAD_FIXTURES");
    snprintf(fixdir, sizeof fixdir, "%s/hf", fx && fx[0] ? fx : "tests/fixtures");
    const char *tdir = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/sibvad-hf-XXXXXX", tdir && tdir[0] ? tdir : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    sibvad_set_threads(1);
    char p[1200];
    sibvad_error e;
    sibvad_st_file *ref;
    snprintf(p, sizeof p, "%s/reference.safetensors", fixdir);
    if (sibvad_st_open(&ref, p, &e) < 0) {
        printf("%s (tools/reference/make_hf_checkpoint.py)\n", e.msg);
        return 2;
    }
    test_parity(ref, "internvl", 1, 2);
    test_parity(ref, "internvit", 0, 1);
    test_errors();
    test_vision_only(ref);
    sibvad_st_close(ref);
    rm_rf(tmpdir);
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
