/* test_protocol.c: the evaluation protocol library (tools/common/protocol.c)
 * and the metrics it builds on, against hand-computed values: ROC AUC with
 * ties, micro / macro AUC with single-class videos skipped, min-max, centred
 * and causal Gaussian smoothing (causal never looks ahead), reflect at the
 * ends as scipy.ndimage.gaussian_filter1d(mode='reflect', truncate=4.0),
 * maxwin, PSNR, frame-difference energy, presets, streaming and floor
 * variants, the description in words, and ROC curve points.
 * Ends with "N passed, M failed"; exit status 1 on any failure. */
#include "metrics.h"
#include "protocol.h"
#include "test-util.h"

#include <math.h>
#include <string.h>

static int near(double a, double b, double tol)
{
    return fabs(a - b) <= tol;
}

static int all_near(const float *a, const double *b, int n, double tol)
{
    for (int i = 0; i < n; i++)
        if (!near(a[i], b[i], tol))
            return 0;
    return 1;
}

/* a protocol that passes raw values through: no min-max, no smoothing */
static SibvadProtocol plain(int drop)
{
    SibvadProtocol p;
    sibvad_protocol_preset(&p, "ped2", 8, 4, NULL);
    p.minmax = 0;
    p.smoothing = SIBVAD_SMOOTH_NONE;
    p.visual_only = 1;
    p.drop = drop;
    return p;
}

static void test_auc(void)
{
    const float s1[] = {0.1f, 0.4f, 0.35f, 0.8f};
    const unsigned char l1[] = {0, 0, 1, 1};
    CHECK(near(sibvad_roc_auc(s1, l1, 4), 0.75, 1e-12), "AUC of the textbook example is 0.75");
    /* ties: positives {1,2}, negatives {1,2}: 0.5 + 0 + 1 + 0.5 over 4 pairs */
    const float s2[] = {1, 1, 2, 2};
    const unsigned char l2[] = {0, 1, 0, 1};
    CHECK(near(sibvad_roc_auc(s2, l2, 4), 0.5, 1e-12), "tied scores get half credit (0.5)");
    const float s3[] = {0.5f, 0.5f, 0.9f};
    const unsigned char l3[] = {0, 1, 1};
    CHECK(near(sibvad_roc_auc(s3, l3, 3), 0.75, 1e-12), "one tie among two pairs gives 0.75");
    const unsigned char l4[] = {1, 1, 1};
    CHECK(isnan(sibvad_roc_auc(s3, l4, 3)), "AUC of one class is NaN");
}

static void test_micro_macro(void)
{
    /* A: AUC 1; B: all normal (skipped in the macro mean); C: AUC 3/4.
     * Micro, by hand: positives .3 .4 .9 .2 against negatives .1 .2 .5 .5 .1 .3:
     * 3.5 + 4 + 6 + 2.5 = 16 of 24 pairs. */
    const float va[] = {0.1f, 0.2f, 0.3f, 0.4f}, vb[] = {0.5f, 0.5f}, vc[] = {0.9f, 0.1f, 0.2f, 0.3f};
    const unsigned char la[] = {0, 0, 1, 1}, lb[] = {0, 0}, lc[] = {1, 0, 1, 0};
    SibvadVideoSeries v[4] = {
        {"A", 4, va, NULL, la},
        {"B", 2, vb, NULL, lb},
        {"C", 4, vc, NULL, lc},
        {"D", 0, NULL, NULL, NULL},
    };
    SibvadProtocol p = plain(0);
    float out[16];
    sibvad_error err = {{0}};
    long n = sibvad_protocol_score_videos(&p, v, 4, out, &err);
    CHECK(n == 10, "10 frames scored over 4 videos (got %ld)", n);
    SibvadAuc a;
    double per[4];
    int rc = sibvad_protocol_auc(&p, v, 4, out, &a, per, &err);
    CHECK(rc == 0 && near(a.micro, 16.0 / 24.0, 1e-9), "micro AUC 16/24 (got %.6f)", a.micro);
    CHECK(near(a.macro, 0.875, 1e-9), "macro AUC = mean(1, 0.75) = 0.875 (got %.6f)", a.macro);
    CHECK(a.videos_used == 2 && a.videos_skipped == 1 && a.videos_empty == 1,
          "macro: 2 videos used, 1 skipped (one class), 1 empty (got %d, %d, %d)", a.videos_used,
          a.videos_skipped, a.videos_empty);
    CHECK(a.frames == 10 && a.abnormal == 4, "10 frames, 4 abnormal (got %ld, %ld)", a.frames, a.abnormal);
    CHECK(near(per[0], 1.0, 1e-12) && isnan(per[1]) && near(per[2], 0.75, 1e-12) && isnan(per[3]),
          "per-video AUCs 1, NaN, 0.75, NaN");

    /* drop: frames before `drop` are neither scored nor labelled */
    const float vd[] = {9, 9, 0.2f, 0.1f, 0.3f};
    const unsigned char ld[] = {1, 1, 0, 0, 1};
    SibvadVideoSeries d = {"drop", 5, vd, NULL, ld};
    p = plain(2);
    n = sibvad_protocol_score_videos(&p, &d, 1, out, &err);
    CHECK(n == 3 && out[0] == 0.2f && out[2] == 0.3f, "drop 2 scores frames 2..4 only");
    sibvad_protocol_auc(&p, &d, 1, out, &a, NULL, &err);
    CHECK(near(a.micro, 1.0, 1e-12) && a.abnormal == 1, "dropped frames' labels are ignored (AUC 1)");
    p.drop = 5;
    CHECK(sibvad_protocol_scored_frames(&p, &d) == 0, "a video no longer than drop has no scored frame");
}

static void test_minmax_and_weights(void)
{
    float x[] = {2, 4, 6};
    sibvad_minmax(x, 3);
    CHECK(x[0] == 0.0f && x[1] == 0.5f && x[2] == 1.0f, "min-max of 2 4 6 is 0 0.5 1");
    float c[] = {3, 3, 3};
    sibvad_minmax(c, 3);
    CHECK(c[0] == 0.0f && c[2] == 0.0f, "min-max of a constant series is 0");

    /* each series normalised separately, then 0.8 S_v + 0.2 S_s */
    const float vis[] = {1, 3, 5}, sem[] = {0.2f, 0.1f, 0.0f};
    const unsigned char lab[] = {0, 0, 1};
    SibvadVideoSeries v = {"w", 3, vis, sem, lab};
    SibvadProtocol p;
    sibvad_protocol_preset(&p, "ped2", 8, 0, NULL);
    p.drop = 0;
    p.smoothing = SIBVAD_SMOOTH_NONE;
    float out[3];
    sibvad_protocol_score_videos(&p, &v, 1, out, NULL);
    const double want[] = {0.2, 0.5, 0.8};
    CHECK(all_near(out, want, 3, 1e-6), "0.8*[0 .5 1] + 0.2*[1 .5 0] = 0.2 0.5 0.8 (got %g %g %g)", out[0], out[1],
          out[2]);
    p.visual_only = 1;
    sibvad_protocol_score_videos(&p, &v, 1, out, NULL);
    const double want_v[] = {0.0, 0.5, 1.0};
    CHECK(all_near(out, want_v, 3, 1e-6), "visual only: the normalised visual series alone");

    /* calibrated: z = w_v (log e - mean) / std; semantic not calibrated */
    SibvadProtocol s;
    sibvad_calibration cal;
    memset(&cal, 0, sizeof cal);
    cal.count = 10;
    cal.vis_log_mean = 0.0f;
    cal.vis_log_std = 2.0f;
    sibvad_protocol_streaming(&s, &p, &cal);
    s.smoothing = SIBVAD_SMOOTH_NONE;
    s.visual_only = 0;
    sibvad_protocol_score_videos(&s, &v, 1, out, NULL);
    const double want_c[] = {0.8 * log(1.0) / 2, 0.8 * log(3.0) / 2, 0.8 * log(5.0) / 2};
    CHECK(all_near(out, want_c, 3, 1e-6), "calibrated score 0.8 log(e)/2 (got %g %g %g)", out[0], out[1], out[2]);
}

static void test_smoothing(void)
{
    /* numpy reference: the kernel exp(-j^2 / 2 sigma^2), |j| <= int(4 sigma + 0.5), normalised;
     * np.pad(mode='symmetric') = scipy's 'reflect' (d c b a | a b c d), as gaussian_filter1d */
    const float x[] = {1, 2, 4, 8, 3, 0};
    const double ref1[] = {1.50345905, 2.51635894, 4.23615237, 4.99829731, 3.37193027, 1.37380206};
    const double ref2[] = {2.55591968, 2.88696768, 3.26095181, 3.35276815, 3.11289264, 2.83050004};
    float y[6];
    sibvad_gaussian_smooth(y, x, 6, 1.0f, 0);
    CHECK(all_near(y, ref1, 6, 1e-5), "sigma 1 matches gaussian_filter1d(mode='reflect', truncate=4)");
    sibvad_gaussian_smooth(y, x, 6, 2.0f, 0);
    CHECK(all_near(y, ref2, 6, 1e-5), "sigma 2 (radius 8 > length 6, repeated reflection) matches too");

    /* through the protocol: the same numbers */
    const unsigned char lab[] = {0, 0, 0, 1, 1, 0};
    SibvadVideoSeries v = {"s", 6, x, NULL, lab};
    SibvadProtocol p = plain(0);
    p.smoothing = SIBVAD_SMOOTH_CENTRED;
    p.sigma = 1.0f;
    sibvad_protocol_score_videos(&p, &v, 1, y, NULL);
    CHECK(all_near(y, ref1, 6, 1e-5), "protocol with centred sigma 1, no min-max gives the same series");

    /* impulse at 4: centred spreads both ways, causal only forwards in time */
    float imp[10] = {0}, c[10], k[10];
    imp[4] = 1.0f;
    sibvad_gaussian_smooth(c, imp, 10, 1.0f, 0);
    sibvad_gaussian_smooth(k, imp, 10, 1.0f, 1);
    const double ref_c[] = {1.33830625e-04, 4.43186162e-03, 5.39911274e-02, 2.41971446e-01, 3.98943469e-01,
                            2.41971446e-01, 5.39911274e-02, 4.43186162e-03, 1.33830625e-04, 0.0};
    const double ref_k[] = {0, 0, 0, 0, 5.70349665e-01, 3.45934558e-01, 7.71884334e-02, 6.33601245e-03,
                            1.91330997e-04, 0.0};
    CHECK(all_near(c, ref_c, 10, 1e-6), "centred impulse response matches numpy");
    CHECK(all_near(k, ref_k, 10, 1e-6), "causal impulse response matches numpy (half kernel, renormalised)");
    CHECK(k[0] == 0.0f && k[1] == 0.0f && k[2] == 0.0f && k[3] == 0.0f,
          "causal smoothing does not look ahead (zero before the impulse)");
    CHECK(c[3] > 0.2f, "centred smoothing does (%.3f before the impulse)", c[3]);

    /* causal: the output at t is unchanged by anything after t */
    float a[12], b[12], ya[12], yb[12];
    for (int i = 0; i < 12; i++)
        a[i] = b[i] = (float)((i * 7) % 5);
    b[9] = 100.0f;
    sibvad_gaussian_smooth(ya, a, 12, 2.0f, 1);
    sibvad_gaussian_smooth(yb, b, 12, 2.0f, 1);
    int same = 1;
    for (int i = 0; i < 9; i++)
        same &= ya[i] == yb[i];
    CHECK(same && ya[9] != yb[9], "causal: changing frame 9 changes nothing before frame 9");

    p.smoothing = SIBVAD_SMOOTH_CENTRED;
    p.sigma = 0.0f;
    sibvad_protocol_score_videos(&p, &v, 1, y, NULL);
    CHECK(y[3] == 8.0f, "sigma 0 leaves the series as it is");
}

static void test_frame_errors(void)
{
    /* maxwin: 4x6 map, 2x2 windows; window (rows 0-1, cols 2-3) holds 1 2 3 4 (mean 2.5),
     * window (rows 2-3, cols 4-5) one 8 (mean 2) */
    float map[24] = {0};
    map[0 * 6 + 2] = 1;
    map[0 * 6 + 3] = 2;
    map[1 * 6 + 2] = 3;
    map[1 * 6 + 3] = 4;
    map[3 * 6 + 5] = 8;
    CHECK(near(sibvad_frame_maxwin(map, 4, 6, 2), 2.5, 1e-6), "maxwin of a known map is 2.5");
    CHECK(near(sibvad_frame_maxwin(map, 4, 6, 0), 18.0 / 24.0, 1e-6), "patch 0: the whole-map mean");
    float m5[25] = {0};
    m5[24] = 9;
    CHECK(near(sibvad_frame_maxwin(m5, 5, 5, 2), 9.0, 1e-6), "a border window cut to 1x1 averages what it holds");

    /* moving-region error: the known 4x6 map as frame difference, 2x2 blocks,
     * an error map of half of it; threshold 1 keeps the blocks of mean 2.5
     * (1 2 3 4) and 2 (one 8), threshold 2.2 the first only */
    {
        float err_map[24] = {0};
        for (int i = 0; i < 24; i++)
            err_map[i] = 0.5f * map[i];
        double se = 0.0, sd = 0.0;
        long nb = 0;
        sibvad_moving_error_add(err_map, map, 4, 6, 2, 1.0f, &se, &sd, &nb);
        CHECK(nb == 2 && near(sd, 4.5, 1e-9) && near(se / sd, 0.5, 1e-9),
              "moving blocks: 2 above the threshold, error ratio 0.5 (got %ld, %g, %g)", nb, sd, se / (sd ? sd : 1));
        se = sd = 0.0;
        nb = 0;
        sibvad_moving_error_add(err_map, map, 4, 6, 2, 2.2f, &se, &sd, &nb);
        CHECK(nb == 1 && near(sd, 2.5, 1e-9), "moving blocks: threshold 2.2 keeps the 2.5 block only");
        se = sd = 0.0;
        nb = 0;
        sibvad_moving_error_add(err_map, m5, 5, 5, 2, 0.5f, &se, &sd, &nb);
        CHECK(nb == 0, "moving blocks: a partial edge block is left out");
    }

    /* PSNR: 10 log10(1 / mse) on the [0,1] scale */
    CHECK(near(sibvad_frame_psnr(0.01), 20.0, 1e-9), "PSNR of mse 0.01 is 20 dB");
    CHECK(near(sibvad_frame_psnr(1.0), 0.0, 1e-12), "PSNR of mse 1 is 0 dB");
    CHECK(sibvad_frame_psnr(0.0) == SIBVAD_PSNR_MAX, "PSNR of a perfect prediction is capped at %g dB",
          SIBVAD_PSNR_MAX);
    const double mc[3] = {1.0, 2.0, 0.0};
    const float sd[3] = {0.5f, 0.5f, 0.5f};
    CHECK(near(sibvad_pixel_mse(mc, sd, 3), 0.25 * 3.0 / 3.0, 1e-12), "pixel mse = mean_c std_c^2 mse_c");

    /* a known error in normalised space: channel c off by 0.1 / std_c everywhere (0.1 in pixels) */
    enum { C = 3, H = 4, W = 4 };
    float t[C * H * W], pr[C * H * W];
    for (int c = 0; c < C; c++)
        for (int i = 0; i < H * W; i++) {
            t[c * H * W + i] = 0.3f;
            pr[c * H * W + i] = 0.3f + 0.1f / SIBVAD_PIXEL_STD[c];
        }
    SibvadFrameErrors e;
    memset(&e, 0, sizeof e);
    int rc = sibvad_frame_errors(t, pr, C, H, W, 2, NULL, NULL, &e, NULL);
    CHECK(rc == 0 && near(e.psnr, 20.0, 1e-3), "0.1 off on the pixel scale everywhere: PSNR 20 dB (got %.4f)",
          e.psnr);
    CHECK(near(e.psnr_maxwin, 20.0, 1e-3), "uniform error: the worst window's PSNR is 20 dB too");
    double want_mse = 0.0;
    for (int c = 0; c < C; c++)
        want_mse += 0.01 / (SIBVAD_PIXEL_STD[c] * SIBVAD_PIXEL_STD[c]) / 3.0;
    CHECK(near(e.mse, want_mse, 1e-5) && near(e.maxwin, want_mse, 1e-5), "mse = maxwin = %.5f for a uniform error",
          want_mse);
    /* only channel 0 off: mse_pixels = 0.01 / 3, PSNR = 10 log10(300) */
    for (int i = 0; i < C * H * W; i++)
        pr[i] = i < H * W ? 0.3f + 0.1f / SIBVAD_PIXEL_STD[0] : 0.3f;
    sibvad_frame_errors(t, pr, C, H, W, 2, NULL, NULL, &e, NULL);
    CHECK(near(e.psnr, 10.0 * log10(300.0), 1e-3), "one channel off: PSNR 10 log10(300) = 24.771 (got %.4f)",
          e.psnr);

    /* frame-difference energy: one 2x2 window changes by 1 in one channel of three */
    float cur[C * H * W] = {0}, prev[C * H * W] = {0};
    cur[0 * H * W + 2 * W + 2] = 1.0f;
    cur[0 * H * W + 3 * W + 3] = 1.0f;
    CHECK(near(sibvad_framediff_energy(cur, prev, C, H, W, 2, NULL), 2.0 / 3.0 / 4.0, 1e-6),
          "frame-difference energy: (1+1)/3 over a 2x2 window = 1/6");
}

static void test_presets_and_words(void)
{
    SibvadProtocol p;
    sibvad_error err = {{0}};
    int ok = sibvad_protocol_preset(&p, "ped2", 16, 4, &err) == 0;
    CHECK(ok && p.sigma == 5.0f && p.minmax == 1 && p.w_visual == 0.8f && p.w_semantic == 0.2f && p.drop == 4 &&
              p.error == SIBVAD_ERR_MSE && p.reduce == SIBVAD_REDUCE_MEAN && p.smoothing == SIBVAD_SMOOTH_CENTRED,
          "ped2: sigma 5, min-max, 0.8/0.2, mse, mean, centred, drop 4");
    ok = sibvad_protocol_preset(&p, "Avenue", 16, 4, &err) == 0;
    CHECK(ok && p.sigma == 4.0f && p.minmax == 0 && p.w_visual == 0.9f && p.w_semantic == 0.1f,
          "avenue: sigma 4, no min-max, 0.9/0.1");
    ok = sibvad_protocol_preset(&p, "shanghaitech", 16, 4, &err) == 0;
    CHECK(ok && p.sigma == 13.0f && p.minmax == 1 && p.w_visual == 0.2f && p.w_semantic == 0.8f,
          "shanghaitech: sigma 13, min-max, 0.2/0.8");
    CHECK(sibvad_protocol_preset(&p, "ucf", 16, 4, &err) < 0 && strstr(err.msg, "unknown protocol 'ucf'") &&
              strstr(err.msg, "ped2, avenue, shanghaitech"),
          "an unknown preset names itself and the known ones (%s)", err.msg);

    char buf[512];
    sibvad_protocol_preset(&p, "ped2", 16, 4, NULL);
    sibvad_protocol_describe(&p, buf, sizeof buf);
    CHECK(!strcmp(buf, "mse, mean over frame, per-video min-max, centred Gaussian sigma 5, weights 0.8/0.2, "
                       "first 4 frames dropped"),
          "ped2 in words: %s", buf);
    SibvadProtocol f;
    sibvad_protocol_floor(&f, &p);
    sibvad_protocol_describe(&f, buf, sizeof buf);
    CHECK(!strcmp(buf, "frame-difference energy, max over 16x16 windows, per-video min-max, centred Gaussian "
                       "sigma 5, no semantic term, first 4 frames dropped"),
          "floor in words: %s", buf);
    SibvadProtocol s;
    sibvad_protocol_streaming(&s, &p, NULL);
    sibvad_protocol_describe(&s, buf, sizeof buf);
    CHECK(!strcmp(buf, "mse, mean over frame, no per-video normalisation, causal Gaussian sigma 5, raw errors (the "
                       "model file has no calibration), weights 0.8/0.2, first 4 frames dropped") &&
              !s.calibrated,
          "streaming without calibration: %s", buf);
    sibvad_calibration cal = {0};
    cal.count = 5;
    cal.vis_log_std = 1;
    p.error = SIBVAD_ERR_PSNR;
    p.reduce = SIBVAD_REDUCE_MAXWIN;
    sibvad_protocol_streaming(&s, &p, &cal);
    sibvad_protocol_describe(&s, buf, sizeof buf);
    CHECK(s.calibrated && s.error == SIBVAD_ERR_MSE && s.reduce == SIBVAD_REDUCE_MEAN && s.minmax == 0 &&
              s.smoothing == SIBVAD_SMOOTH_CAUSAL && strstr(buf, "calibrated score"),
          "streaming with calibration uses the calibrated mean MSE: %s", buf);
    p.minmax = 0;
    p.smoothing = SIBVAD_SMOOTH_NONE;
    p.visual_only = 1;
    p.drop = 6;
    sibvad_protocol_describe(&p, buf, sizeof buf);
    CHECK(!strcmp(buf, "-PSNR, max over 16x16 windows, no per-video normalisation, no smoothing, visual only (no "
                       "semantic vectors), first 6 frames dropped"),
          "psnr / maxwin / no smoothing in words: %s", buf);

    SibvadFrameErrors e = {1, 2, 30, 25, 0.5f, 7};
    sibvad_protocol_preset(&p, "ped2", 16, 4, NULL);
    CHECK(sibvad_protocol_visual(&p, &e) == 1.0f, "mse/mean selects e_v");
    p.reduce = SIBVAD_REDUCE_MAXWIN;
    CHECK(sibvad_protocol_visual(&p, &e) == 2.0f, "mse/maxwin selects maxwin");
    p.error = SIBVAD_ERR_PSNR;
    CHECK(sibvad_protocol_visual(&p, &e) == -25.0f, "psnr/maxwin selects -psnr_maxwin");
    p.reduce = SIBVAD_REDUCE_MEAN;
    CHECK(sibvad_protocol_visual(&p, &e) == -30.0f, "psnr/mean selects -psnr (higher = more abnormal)");
    sibvad_protocol_floor(&f, &p);
    CHECK(sibvad_protocol_visual(&f, &e) == 7.0f, "the floor selects the frame-difference energy");
}

static void test_roc_curve(void)
{
    const float s[] = {0.1f, 0.4f, 0.35f, 0.8f, 0.4f};
    const unsigned char l[] = {0, 0, 1, 1, 1};
    double *f = NULL, *t = NULL;
    long n = sibvad_roc_curve(s, l, 5, &f, &t, NULL);
    /* descending: .8(+) | .4(-,+) tied | .35(+) | .1(-) */
    const double wf[] = {0, 0, 0.5, 0.5, 1}, wt[] = {0, 1.0 / 3, 2.0 / 3, 1, 1};
    int ok = n == 5;
    for (long i = 0; ok && i < n; i++)
        ok = near(f[i], wf[i], 1e-12) && near(t[i], wt[i], 1e-12);
    CHECK(ok, "ROC points with a tie taken together (%ld points)", n);
    double area = 0;
    for (long i = 1; i < n; i++)
        area += (f[i] - f[i - 1]) * (t[i] + t[i - 1]) / 2;
    CHECK(near(area, sibvad_roc_auc(s, l, 5), 1e-9), "trapezoid area under the points equals the AUC (%.4f)", area);
    free(f);
    free(t);
    sibvad_error err = {{0}};
    CHECK(sibvad_roc_curve(s, (const unsigned char[]){0, 0, 0, 0, 0}, 5, &f, &t, &err) < 0 && strstr(err.msg, "one class"),
          "ROC of one class fails with a message (%s)", err.msg);
}

int main(void)
{
    test_auc();
    test_micro_macro();
    test_minmax_and_weights();
    test_smoothing();
    test_frame_errors();
    test_presets_and_words();
    test_roc_curve();
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
