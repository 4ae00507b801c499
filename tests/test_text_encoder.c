/* test_text_encoder.c: the BERT text encoder (bert.c) on the tiny checkpoint of
 * fixtures/bert/ (tools/reference/make_bert_checkpoint.py): token ids and pooler_output equal
 * the PyTorch reference (1e-5), the same weights without the "bert." prefix and in F16/BF16,
 * and errors for a missing tensor, a wrong shape, a missing config key, a bad hidden_act, a
 * vocabulary over vocab_size and a missing vocab.txt. */
#include "bert.h"
#include "json.h"
#include "safetensors.h"
#include "test-util.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

static char fixdir[1024];

static const char *fix(const char *name)
{
    static char buf[4][1200];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 1200, "%s/%s", fixdir, name);
    return p;
}

static void copy_file(const char *from, const char *to)
{
    size_t n = 0;
    unsigned char *b = read_bytes(from, &n);
    if (!b) {
        fprintf(stderr, "cannot read %s\n", from);
        exit(2);
    }
    write_bytes(to, b, n);
    free(b);
}

/* The fixture's float tensors, as float32. */
typedef struct {
    int n;
    sibvad_st_write_tensor t[64];
    float *data[64];
} tensors;

static void load_tensors(tensors *ts)
{
    sibvad_st_file *f = NULL;
    sibvad_error err = {{0}};
    memset(ts, 0, sizeof *ts);
    if (sibvad_st_open(&f, fix("model.safetensors"), &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(2);
    }
    for (int i = 0; i < sibvad_st_count(f) && ts->n < 64; i++) {
        const sibvad_st_tensor *t = sibvad_st_get(f, i);
        if (t->dtype != SIBVAD_DT_F32)
            continue;
        sibvad_st_write_tensor *w = &ts->t[ts->n];
        float *d = malloc(t->numel * sizeof *d);
        sibvad_st_to_f32(t, d, t->numel, &err);
        w->name = strdup(t->name);
        w->ndim = t->ndim;
        memcpy(w->shape, t->shape, sizeof w->shape);
        w->data = d;
        ts->data[ts->n++] = d;
    }
    sibvad_st_close(f);
}

/* A checkpoint folder `name` under tmpdir: the fixture's config and vocab, and the tensors
 * filtered/renamed: drop `skip`, strip `strip` from names, dtype for all, tensor `reshape` with
 * its two dimensions swapped. */
static const char *make_dir(const char *name, const tensors *ts, const char *skip, const char *strip,
                            sibvad_dtype dt, const char *reshape)
{
    static char dir[4][600];
    static int k;
    char *d = dir[k++ % 4];
    snprintf(d, 600, "%s/%s", tmpdir, name);
    mkdir(d, 0755);
    char p[700];
    snprintf(p, sizeof p, "%s/config.json", d);
    copy_file(fix("config.json"), p);
    snprintf(p, sizeof p, "%s/vocab.txt", d);
    copy_file(fix("vocab.txt"), p);
    sibvad_st_write_tensor w[64];
    char names[64][160];
    int n = 0;
    for (int i = 0; i < ts->n; i++) {
        const char *nm = ts->t[i].name;
        if (skip && strcmp(nm, skip) == 0)
            continue;
        if (strip && strncmp(nm, strip, strlen(strip)) != 0)
            continue; /* e.g. the cls.* head tensors */
        w[n] = ts->t[i];
        snprintf(names[n], sizeof names[n], "%s", nm + (strip ? strlen(strip) : 0));
        w[n].name = names[n];
        w[n].dtype = dt;
        if (reshape && strcmp(nm, reshape) == 0) {
            int64_t s0 = w[n].shape[0];
            w[n].shape[0] = w[n].shape[1];
            w[n].shape[1] = s0;
        }
        n++;
    }
    sibvad_error err = {{0}};
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    if (sibvad_st_write(p, w, n, NULL, NULL, 0, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(2);
    }
    return d;
}

static double max_diff(const float *a, const float *b, int n)
{
    double m = 0;
    for (int i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static void check_reference(const sibvad_text_encoder *enc, float pooled[][64], int *ncases)
{
    size_t n = 0;
    unsigned char *txt = read_bytes(fix("reference.json"), &n);
    sibvad_error err = {{0}};
    sibvad_json *root = txt ? sibvad_json_parse((const char *)txt, n, &err) : NULL;
    CHECK(root != NULL, "read reference.json %s", err.msg);
    const sibvad_json *cases = sibvad_json_get(root, "cases");
    const int H = sibvad_text_encoder_dim(enc);
    CHECK(H == 32 && sibvad_text_encoder_max_len(enc) == 64, "hidden 32, max_len 64");
    *ncases = 0;
    for (size_t c = 0; cases && c < sibvad_json_size(cases) && c < 16; c++) {
        const sibvad_json *cs = sibvad_json_at(cases, c);
        const char *text = sibvad_json_string(sibvad_json_get(cs, "text"), NULL);
        const sibvad_json *jids = sibvad_json_get(cs, "ids"), *jp = sibvad_json_get(cs, "pooled");
        int32_t ids[SIBVAD_WORDPIECE_MAX_LEN];
        int nid = sibvad_wordpiece_encode(sibvad_text_encoder_tokenizer(enc), text, ids,
                                          sibvad_text_encoder_max_len(enc), &err);
        int same = nid == (int)sibvad_json_size(jids);
        for (int i = 0; same && i < nid; i++) {
            int64_t w = -1;
            sibvad_json_int64(sibvad_json_at(jids, (size_t)i), &w);
            same = w == ids[i];
        }
        CHECK(same, "case %zu: %d ids as the reference: \"%.30s\"", c, nid, text);
        float *out = pooled[c];
        int rc = sibvad_text_encoder_embed(enc, text, out, &err);
        CHECK(rc == 0, "embed case %zu %s", c, rc ? err.msg : "");
        double worst = 0;
        for (int i = 0; i < H; i++) {
            double r = 0;
            sibvad_json_number(sibvad_json_at(jp, (size_t)i), &r);
            worst = fmax(worst, fabs(out[i] - r) / fmax(1.0, fabs(r)));
        }
        CHECK((int)sibvad_json_size(jp) == H && worst <= 1e-5, "case %zu: pooled within %.2g of the reference",
              c, worst);
        float again[64];
        rc = sibvad_text_encoder_embed_ids(enc, ids, nid, again, &err);
        CHECK(rc == 0 && memcmp(again, out, sizeof(float) * (size_t)H) == 0, "case %zu: embed_ids is the same", c);
        (*ncases)++;
    }
    sibvad_json_free(root);
    free(txt);
}

static void expect_fail(const char *dir, const char *needle, const char *what)
{
    sibvad_error err = {{0}};
    sibvad_text_encoder *e = sibvad_text_encoder_load(dir, &err);
    CHECK(!e && strstr(err.msg, needle), "%s: %s", what, err.msg);
    sibvad_text_encoder_free(e);
}

int main(void)
{
    const char *fx = getenv("SIBVAD_FIXTURES");
    snprintf(fixdir, sizeof fixdir, "%s/bert", fx && fx[0] ? fx : "tests/fixtures");
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/sibvad-te-XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    sibvad_error err = {{0}};
    sibvad_text_encoder *enc = sibvad_text_encoder_load(fixdir, &err);
    CHECK(enc != NULL, "load %s %s", fixdir, enc ? "" : err.msg);
    if (!enc)
        return 1;
    static float ref[16][64], out[64];
    int nc = 0;
    check_reference(enc, ref, &nc);
    CHECK(nc >= 6, "%d reference sentences", nc);
    int32_t ids[2] = {3, 4};
    CHECK(sibvad_text_encoder_embed_ids(enc, ids, 0, out, &err) == -1, "0 ids refused: %s", err.msg);
    ids[1] = 100000;
    CHECK(sibvad_text_encoder_embed_ids(enc, ids, 2, out, &err) == -1 && strstr(err.msg, "100000"),
          "id past vocab_size refused: %s", err.msg);
    const char *text0 = "A man is riding a bicycle on the street.";

    tensors ts;
    load_tensors(&ts);
    /* SimCSE-style names without "bert.": the same numbers */
    const char *d = make_dir("noprefix", &ts, NULL, "bert.", SIBVAD_DT_F32, NULL);
    sibvad_text_encoder *e2 = sibvad_text_encoder_load(d, &err);
    CHECK(e2 != NULL, "load without the bert. prefix %s", e2 ? "" : err.msg);
    if (e2) {
        CHECK(sibvad_text_encoder_embed(e2, text0, out, &err) == 0 && memcmp(out, ref[0], sizeof(float) * 32) == 0,
              "... the same pooled output");
        sibvad_text_encoder_free(e2);
    }
    static const struct {
        sibvad_dtype dt;
        const char *name;
        double tol;
    } dts[] = {{SIBVAD_DT_F16, "f16", 0.02}, {SIBVAD_DT_BF16, "bf16", 0.15}};
    for (int i = 0; i < 2; i++) {
        d = make_dir(dts[i].name, &ts, NULL, NULL, dts[i].dt, NULL);
        e2 = sibvad_text_encoder_load(d, &err);
        CHECK(e2 != NULL, "load %s weights %s", dts[i].name, e2 ? "" : err.msg);
        if (e2) {
            int rc = sibvad_text_encoder_embed(e2, text0, out, &err);
            double m = max_diff(out, ref[0], 32);
            CHECK(rc == 0 && m < dts[i].tol && m > 0, "%s: pooled within %.3g of F32 (%.3g)", dts[i].name,
                  dts[i].tol, m);
            sibvad_text_encoder_free(e2);
        }
    }
    /* errors */
    expect_fail(make_dir("missing", &ts, "bert.encoder.layer.1.output.dense.bias", NULL, SIBVAD_DT_F32, NULL),
                "missing tensor 'bert.encoder.layer.1.output.dense.bias'", "missing tensor");
    expect_fail(make_dir("nopool", &ts, "bert.pooler.dense.weight", "bert.", SIBVAD_DT_F32, NULL),
                "missing tensor 'pooler.dense.weight'", "missing pooler (no prefix)");
    expect_fail(make_dir("shape", &ts, NULL, NULL, SIBVAD_DT_F32, "bert.encoder.layer.0.intermediate.dense.weight"),
                "'bert.encoder.layer.0.intermediate.dense.weight' has shape [32, 64], expected [64, 32]",
                "wrong shape");
    expect_fail(make_dir("noword", &ts, "bert.embeddings.word_embeddings.weight", NULL, SIBVAD_DT_F32, NULL),
                "word_embeddings", "no word embeddings");
    char p[700];
    d = make_dir("cfg", &ts, NULL, NULL, SIBVAD_DT_F32, NULL);
    snprintf(p, sizeof p, "%s/config.json", d);
    const char *cfg = "{\"hidden_size\": 32, \"num_hidden_layers\": 2, \"intermediate_size\": 64,"
                      " \"max_position_embeddings\": 64, \"vocab_size\": 200, \"type_vocab_size\": 2}";
    write_bytes(p, cfg, strlen(cfg));
    expect_fail(d, "missing key \"num_attention_heads\"", "missing config key");
    cfg = "{\"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 64,"
          " \"max_position_embeddings\": 64, \"vocab_size\": 200, \"type_vocab_size\": 2, \"hidden_act\": \"relu\"}";
    write_bytes(p, cfg, strlen(cfg));
    expect_fail(d, "hidden_act", "hidden_act relu");
    cfg = "{\"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 64,"
          " \"max_position_embeddings\": 64, \"vocab_size\": 20, \"type_vocab_size\": 2}";
    write_bytes(p, cfg, strlen(cfg));
    expect_fail(d, "vocab_size 20", "vocabulary larger than vocab_size");
    cfg = "{\"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 64,"
          " \"max_position_embeddings\": 64, \"vocab_size\": 200, \"type_vocab_size\": 2}";
    write_bytes(p, cfg, strlen(cfg));
    expect_fail(d, "'bert.embeddings.word_embeddings.weight' has shape [142, 32], expected [200, 32]",
                "vocab_size that disagrees with the tensors");
    copy_file(fix("config.json"), p);
    snprintf(p, sizeof p, "%s/vocab.txt", d);
    remove(p);
    expect_fail(d, "vocab.txt", "missing vocab.txt");
    snprintf(p, sizeof p, "%s/nothing", tmpdir);
    expect_fail(p, "config.json", "missing folder");

    for (int i = 0; i < ts.n; i++) {
        free((void *)ts.t[i].name);
        free(ts.data[i]);
    }
    sibvad_text_encoder_free(enc);
    rm_rf(tmpdir);
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
