/* bert.c: BERT forward for sentence embeddings (see bert.h): config.json keys, the tensors of
 * a Hugging Face BertModel checkpoint converted to float32 in one allocation, and the
 * post-norm encoder on the core's linear/layernorm/attention ops. */
#include "bert.h"
#include "json.h"
#include "safetensors.h"
#include "ops/ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    float *qkv_w, *qkv_b;        /* (3H, H), (3H): query, key, value stacked */
    float *ao_w, *ao_b;          /* attention.output.dense */
    float *ln1_w, *ln1_b;        /* attention.output.LayerNorm */
    float *in_w, *in_b;          /* intermediate.dense (I, H) */
    float *out_w, *out_b;        /* output.dense (H, I) */
    float *ln2_w, *ln2_b;        /* output.LayerNorm */
} bert_layer;

struct sibvad_text_encoder {
    sibvad_wordpiece *wp;
    int H, L, heads, I, P, V, T, max_len;
    float eps;
    float *word, *pos, *type, *eln_w, *eln_b, *pool_w, *pool_b;
    bert_layer *layers;
    float *params;
};

static char *read_file(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *buf = NULL;
    long sz = -1;
    if (fseek(fp, 0, SEEK_END) == 0 && (sz = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)sz + 1)) && fread(buf, 1, (size_t)sz, fp) == (size_t)sz) {
        buf[sz] = '\0';
        *n = (size_t)sz;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    return buf;
}

static int get_int(const sibvad_json *root, const char *path, const char *key, int lo, int hi,
                   int *out, sibvad_error *err)
{
    const sibvad_json *v = sibvad_json_get(root, key);
    int64_t x;
    if (!v)
        return sibvad_fail(err, "%s: missing key \"%s\"", path, key);
    if (sibvad_json_int64(v, &x) != 0)
        return sibvad_fail(err, "%s: \"%s\" is not an integer", path, key);
    if (x < lo || x > hi)
        return sibvad_fail(err, "%s: \"%s\" = %lld is outside %d..%d", path, key, (long long)x, lo, hi);
    *out = (int)x;
    return 0;
}

static int read_config(sibvad_text_encoder *e, const char *path, sibvad_error *err)
{
    size_t n = 0;
    char *txt = read_file(path, &n);
    if (!txt)
        return sibvad_fail(err, "%s: cannot read the config", path);
    sibvad_error jerr = {{0}};
    sibvad_json *root = sibvad_json_parse(txt, n, &jerr);
    free(txt);
    if (!root)
        return sibvad_fail(err, "%s: %s", path, jerr.msg);
    int rc = -1;
    if (sibvad_json_typeof(root) != SIBVAD_JSON_OBJECT) {
        sibvad_fail(err, "%s: not a JSON object", path);
        goto out;
    }
    if (get_int(root, path, "hidden_size", 1, 1 << 16, &e->H, err) ||
        get_int(root, path, "num_hidden_layers", 1, 1024, &e->L, err) ||
        get_int(root, path, "num_attention_heads", 1, 1024, &e->heads, err) ||
        get_int(root, path, "intermediate_size", 1, 1 << 18, &e->I, err) ||
        get_int(root, path, "max_position_embeddings", 2, 1 << 16, &e->P, err) ||
        get_int(root, path, "vocab_size", 1, 1 << 24, &e->V, err) ||
        get_int(root, path, "type_vocab_size", 1, 1 << 16, &e->T, err))
        goto out;
    if (e->H % e->heads != 0) {
        sibvad_fail(err, "%s: hidden_size %d is not a multiple of num_attention_heads %d", path, e->H,
                    e->heads);
        goto out;
    }
    /* optional, with the defaults of transformers' BertConfig */
    double eps = 1e-12;
    const sibvad_json *v = sibvad_json_get(root, "layer_norm_eps");
    if (v && (sibvad_json_number(v, &eps) != 0 || !(eps > 0.0) || eps > 1.0)) {
        sibvad_fail(err, "%s: \"layer_norm_eps\" is not a number in (0, 1]", path);
        goto out;
    }
    e->eps = (float)eps;
    v = sibvad_json_get(root, "hidden_act");
    const char *act = v ? sibvad_json_string(v, NULL) : "gelu";
    if (!act || strcmp(act, "gelu") != 0) {
        sibvad_fail(err, "%s: \"hidden_act\" must be \"gelu\" (exact erf GELU), not %s", path,
                    act ? act : "a non-string");
        goto out;
    }
    v = sibvad_json_get(root, "position_embedding_type");
    const char *pet = v ? sibvad_json_string(v, NULL) : "absolute";
    if (!pet || strcmp(pet, "absolute") != 0) {
        sibvad_fail(err, "%s: \"position_embedding_type\" must be \"absolute\"", path);
        goto out;
    }
    rc = 0;
out:
    sibvad_json_free(root);
    return rc;
}

typedef struct {
    const sibvad_st_file *f;
    const char *path, *prefix;
} loader;

/* Copy tensor prefix+name (shape d0[, d1]) to dst as float32. For "...LayerNorm.weight/bias"
 * the old "gamma"/"beta" names are accepted too. */
static int load_tensor(const loader *ld, const char *name, int64_t d0, int64_t d1, float *dst,
                       sibvad_error *err)
{
    char full[256], alt[256];
    snprintf(full, sizeof full, "%s%s", ld->prefix, name);
    const sibvad_st_tensor *t = sibvad_st_find(ld->f, full);
    if (!t) {
        const char *dot = strrchr(full, '.');
        if (dot && strstr(full, "LayerNorm.") && (!strcmp(dot, ".weight") || !strcmp(dot, ".bias"))) {
            snprintf(alt, sizeof alt, "%.*s.%s", (int)(dot - full), full,
                     !strcmp(dot, ".weight") ? "gamma" : "beta");
            t = sibvad_st_find(ld->f, alt);
        }
    }
    if (!t)
        return sibvad_fail(err, "%s: missing tensor '%s'", ld->path, full);
    if (t->dtype != SIBVAD_DT_F32 && t->dtype != SIBVAD_DT_F16 && t->dtype != SIBVAD_DT_BF16)
        return sibvad_fail(err, "%s: tensor '%s' has dtype %s (F32, F16 or BF16 expected)", ld->path,
                           t->name, sibvad_st_dtype_name(t->dtype));
    int want_nd = d1 > 0 ? 2 : 1;
    if (t->ndim != want_nd || t->shape[0] != d0 || (want_nd == 2 && t->shape[1] != d1)) {
        char got[128] = "[";
        for (int i = 0; i < t->ndim; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "",
                     (long long)t->shape[i]);
        strncat(got, "]", sizeof got - strlen(got) - 1);
        if (want_nd == 2)
            return sibvad_fail(err, "%s: tensor '%s' has shape %s, expected [%lld, %lld]", ld->path,
                               t->name, got, (long long)d0, (long long)d1);
        return sibvad_fail(err, "%s: tensor '%s' has shape %s, expected [%lld]", ld->path, t->name, got,
                           (long long)d0);
    }
    sibvad_error e2 = {{0}};
    if (sibvad_st_to_f32(t, dst, t->numel, &e2) != 0)
        return sibvad_fail(err, "%s: tensor '%s': %s", ld->path, t->name, e2.msg);
    return 0;
}

void sibvad_text_encoder_free(sibvad_text_encoder *enc)
{
    if (!enc)
        return;
    sibvad_wordpiece_free(enc->wp);
    free(enc->layers);
    free(enc->params);
    free(enc);
}

sibvad_text_encoder *sibvad_text_encoder_load(const char *dir, sibvad_error *err)
{
    char path[4096];
    sibvad_st_file *f = NULL;
    sibvad_text_encoder *e = calloc(1, sizeof *e);
    if (!e) {
        sibvad_fail(err, "%s: out of memory", dir);
        return NULL;
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (read_config(e, path, err) != 0)
        goto fail;
    e->max_len = e->P < SIBVAD_WORDPIECE_MAX_LEN ? e->P : SIBVAD_WORDPIECE_MAX_LEN;
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    if (!(e->wp = sibvad_wordpiece_load(path, err)))
        goto fail;
    if (sibvad_wordpiece_size(e->wp) > e->V) {
        sibvad_fail(err, "%s: %d tokens, more than vocab_size %d of config.json", path,
                    sibvad_wordpiece_size(e->wp), e->V);
        goto fail;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (sibvad_st_open(&f, path, err) != 0) {
        f = NULL;
        goto fail;
    }
    loader ld = {f, path, NULL};
    if (sibvad_st_find(f, "bert.embeddings.word_embeddings.weight"))
        ld.prefix = "bert.";
    else if (sibvad_st_find(f, "embeddings.word_embeddings.weight"))
        ld.prefix = "";
    else {
        sibvad_fail(err, "%s: missing tensor 'bert.embeddings.word_embeddings.weight' (or "
                         "'embeddings.word_embeddings.weight')", path);
        goto fail;
    }
    const size_t H = (size_t)e->H, I = (size_t)e->I;
    size_t per_layer = 3 * H * H + 3 * H + H * H + H + 2 * H + I * H + I + H * I + H + 2 * H;
    size_t total = (size_t)e->V * H + (size_t)e->P * H + (size_t)e->T * H + 2 * H + H * H + H +
                   (size_t)e->L * per_layer;
    e->params = malloc(total * sizeof(float));
    e->layers = calloc((size_t)e->L, sizeof *e->layers);
    if (!e->params || !e->layers) {
        sibvad_fail(err, "%s: out of memory for %zu parameters", path, total);
        goto fail;
    }
    float *p = e->params;
#define TAKE(ptr, n) (ptr = p, p += (n))
    TAKE(e->word, (size_t)e->V * H);
    TAKE(e->pos, (size_t)e->P * H);
    TAKE(e->type, (size_t)e->T * H);
    TAKE(e->eln_w, H);
    TAKE(e->eln_b, H);
    TAKE(e->pool_w, H * H);
    TAKE(e->pool_b, H);
    if (load_tensor(&ld, "embeddings.word_embeddings.weight", e->V, e->H, e->word, err) ||
        load_tensor(&ld, "embeddings.position_embeddings.weight", e->P, e->H, e->pos, err) ||
        load_tensor(&ld, "embeddings.token_type_embeddings.weight", e->T, e->H, e->type, err) ||
        load_tensor(&ld, "embeddings.LayerNorm.weight", e->H, 0, e->eln_w, err) ||
        load_tensor(&ld, "embeddings.LayerNorm.bias", e->H, 0, e->eln_b, err))
        goto fail;
    for (int l = 0; l < e->L; l++) {
        bert_layer *ly = &e->layers[l];
        TAKE(ly->qkv_w, 3 * H * H);
        TAKE(ly->qkv_b, 3 * H);
        TAKE(ly->ao_w, H * H);
        TAKE(ly->ao_b, H);
        TAKE(ly->ln1_w, H);
        TAKE(ly->ln1_b, H);
        TAKE(ly->in_w, I * H);
        TAKE(ly->in_b, I);
        TAKE(ly->out_w, H * I);
        TAKE(ly->out_b, H);
        TAKE(ly->ln2_w, H);
        TAKE(ly->ln2_b, H);
        static const char *const qkv[3] = {"query", "key", "value"};
        char n[192];
        for (int j = 0; j < 3; j++) {
            snprintf(n, sizeof n, "encoder.layer.%d.attention.self.%s.weight", l, qkv[j]);
            if (load_tensor(&ld, n, e->H, e->H, ly->qkv_w + j * H * H, err))
                goto fail;
            snprintf(n, sizeof n, "encoder.layer.%d.attention.self.%s.bias", l, qkv[j]);
            if (load_tensor(&ld, n, e->H, 0, ly->qkv_b + j * H, err))
                goto fail;
        }
        struct {
            const char *name;
            int64_t d0, d1;
            float *dst;
        } items[] = {
            {"attention.output.dense.weight", e->H, e->H, ly->ao_w},
            {"attention.output.dense.bias", e->H, 0, ly->ao_b},
            {"attention.output.LayerNorm.weight", e->H, 0, ly->ln1_w},
            {"attention.output.LayerNorm.bias", e->H, 0, ly->ln1_b},
            {"intermediate.dense.weight", e->I, e->H, ly->in_w},
            {"intermediate.dense.bias", e->I, 0, ly->in_b},
            {"output.dense.weight", e->H, e->I, ly->out_w},
            {"output.dense.bias", e->H, 0, ly->out_b},
            {"output.LayerNorm.weight", e->H, 0, ly->ln2_w},
            {"output.LayerNorm.bias", e->H, 0, ly->ln2_b},
        };
        for (size_t j = 0; j < sizeof items / sizeof items[0]; j++) {
            snprintf(n, sizeof n, "encoder.layer.%d.%s", l, items[j].name);
            if (load_tensor(&ld, n, items[j].d0, items[j].d1, items[j].dst, err))
                goto fail;
        }
    }
#undef TAKE
    if (load_tensor(&ld, "pooler.dense.weight", e->H, e->H, e->pool_w, err) ||
        load_tensor(&ld, "pooler.dense.bias", e->H, 0, e->pool_b, err))
        goto fail;
    sibvad_st_close(f);
    return e;
fail:
    if (f)
        sibvad_st_close(f);
    sibvad_text_encoder_free(e);
    return NULL;
}

int sibvad_text_encoder_dim(const sibvad_text_encoder *enc)
{
    return enc->H;
}

int sibvad_text_encoder_max_len(const sibvad_text_encoder *enc)
{
    return enc->max_len;
}

const sibvad_wordpiece *sibvad_text_encoder_tokenizer(const sibvad_text_encoder *enc)
{
    return enc->wp;
}

int sibvad_text_encoder_embed_ids(const sibvad_text_encoder *e, const int32_t *ids, int n, float *out,
                                  sibvad_error *err)
{
    if (!e || !ids || !out)
        return sibvad_fail(err, "text encoder: NULL argument");
    if (n < 1 || n > e->max_len)
        return sibvad_fail(err, "text encoder: %d ids, expected 1..%d", n, e->max_len);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= e->V)
            return sibvad_fail(err, "text encoder: id %d at position %d is outside 0..%d", (int)ids[i],
                               i, e->V - 1);
    const int H = e->H, I = e->I, nh = e->heads, dh = H / nh;
    const size_t nH = (size_t)n * H;
    /* x, x1, ctx, tmp (n, H); mean, rstd (n); inter (n, I); probs (heads, n, n); qkv (n, 3H) */
    size_t need = 4 * nH + 2 * (size_t)n + (size_t)n * I + (size_t)nh * n * n + 3 * nH;
    float *buf = malloc(need * sizeof(float));
    if (!buf)
        return sibvad_fail(err, "text encoder: out of memory for %d tokens", n);
    float *x = buf, *x1 = x + nH, *ctx = x1 + nH, *tmp = ctx + nH, *mean = tmp + nH,
          *rstd = mean + n, *inter = rstd + n, *probs = inter + (size_t)n * I,
          *qkv = probs + (size_t)nh * n * n;
    /* embeddings: word + position + token type 0, LayerNorm */
    for (int i = 0; i < n; i++) {
        const float *w = e->word + (size_t)ids[i] * H, *pp = e->pos + (size_t)i * H;
        float *t = tmp + (size_t)i * H;
        for (int c = 0; c < H; c++)
            t[c] = w[c] + pp[c] + e->type[c];
    }
    sibvad_layernorm_forward(x, mean, rstd, tmp, e->eln_w, e->eln_b, n, H, e->eps);
    for (int l = 0; l < e->L; l++) {
        const bert_layer *ly = &e->layers[l];
        sibvad_linear_forward(qkv, x, ly->qkv_w, ly->qkv_b, n, H, 3 * H);
        sibvad_attention_forward(ctx, probs, qkv, 3 * H, qkv + H, 3 * H, qkv + 2 * H, 3 * H, 1, n, n,
                                 nh, dh);
        sibvad_linear_forward(tmp, ctx, ly->ao_w, ly->ao_b, n, H, H);
        for (size_t k = 0; k < nH; k++)
            tmp[k] += x[k];
        sibvad_layernorm_forward(x1, mean, rstd, tmp, ly->ln1_w, ly->ln1_b, n, H, e->eps);
        sibvad_linear_forward(inter, x1, ly->in_w, ly->in_b, n, H, I);
        for (size_t k = 0; k < (size_t)n * I; k++) /* exact GELU: libm erff */
            inter[k] = 0.5f * inter[k] * (1.0f + erff(inter[k] * 0.70710678118654752f));
        sibvad_linear_forward(tmp, inter, ly->out_w, ly->out_b, n, I, H);
        for (size_t k = 0; k < nH; k++)
            tmp[k] += x1[k];
        sibvad_layernorm_forward(x, mean, rstd, tmp, ly->ln2_w, ly->ln2_b, n, H, e->eps);
    }
    /* pooler: tanh(Wp x[CLS] + bp) */
    sibvad_linear_forward(out, x, e->pool_w, e->pool_b, 1, H, H);
    for (int c = 0; c < H; c++)
        out[c] = tanhf(out[c]);
    free(buf);
    return 0;
}

int sibvad_text_encoder_embed(const sibvad_text_encoder *e, const char *text, float *out,
                              sibvad_error *err)
{
    if (!e || !text || !out)
        return sibvad_fail(err, "text encoder: NULL argument");
    int32_t ids[SIBVAD_WORDPIECE_MAX_LEN];
    int n = sibvad_wordpiece_encode(e->wp, text, ids, e->max_len, err);
    if (n < 0)
        return -1;
    return sibvad_text_encoder_embed_ids(e, ids, n, out, err);
}
