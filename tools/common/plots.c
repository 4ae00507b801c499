/* plots.c: cairo figures of an evaluation: score curves with shaded
 * ground truth, ROC curves, and frame / prediction / error-map panels.
 * See plots.h. */
#include "plots.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIG_W 900
#define FIG_H 420
#define FONT "sans-serif"

/* ---- small drawing helpers -------------------------------------------- */

static void set_font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

/* text anchored at (x, y): ax/ay 0 = left/top, 0.5 = centre, 1 = right/bottom */
static void text_at(cairo_t *cr, double x, double y, double ax, double ay, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - ax * e.width - e.x_bearing, y - ay * e.height - e.y_bearing);
    cairo_show_text(cr, s);
}

static void text_rotated(cairo_t *cr, double x, double y, const char *s)
{
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, 0.5, 0.5, s);
    cairo_restore(cr);
}

/* a "nice" tick step for a range, about `want` ticks */
static double nice_step(double range, int want)
{
    if (!(range > 0))
        return 1.0;
    const double raw = range / want, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    return mag * (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10);
}

static int finish(cairo_surface_t *s, cairo_t *cr, const char *path, sibvad_error *err)
{
    cairo_destroy(cr);
    cairo_status_t st = cairo_surface_status(s);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_write_to_png(s, path);
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS)
        return sibvad_fail(err, "cannot write %s: %s", path, cairo_status_to_string(st));
    return 0;
}

typedef struct {
    double x0, y0, w, h;        /* plot area in pixels */
    double xmin, xmax, ymin, ymax;
} axes;

static double ax_x(const axes *a, double x)
{
    return a->x0 + (x - a->xmin) / (a->xmax - a->xmin) * a->w;
}

static double ax_y(const axes *a, double y)
{
    return a->y0 + a->h - (y - a->ymin) / (a->ymax - a->ymin) * a->h;
}

static void draw_axes(cairo_t *cr, const axes *a, const char *xlabel, const char *ylabel, int integer_x)
{
    char buf[64];
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1.0);
    cairo_rectangle(cr, a->x0 + 0.5, a->y0 + 0.5, a->w, a->h);
    cairo_stroke(cr);
    set_font(cr, 11, 0);
    double step = nice_step(a->xmax - a->xmin, 8);
    if (integer_x && step < 1)
        step = 1;
    for (double v = ceil(a->xmin / step) * step; v <= a->xmax + 1e-9 * step; v += step) {
        const double x = ax_x(a, v);
        cairo_move_to(cr, x, a->y0 + a->h);
        cairo_line_to(cr, x, a->y0 + a->h + 5);
        cairo_stroke(cr);
        snprintf(buf, sizeof buf, "%g", fabs(v) < 1e-12 ? 0.0 : v);
        text_at(cr, x, a->y0 + a->h + 8, 0.5, 0, buf);
    }
    step = nice_step(a->ymax - a->ymin, 5);
    for (double v = ceil(a->ymin / step) * step; v <= a->ymax + 1e-9 * step; v += step) {
        const double y = ax_y(a, v);
        cairo_move_to(cr, a->x0 - 5, y);
        cairo_line_to(cr, a->x0, y);
        cairo_stroke(cr);
        snprintf(buf, sizeof buf, "%.3g", fabs(v) < 1e-12 * step ? 0.0 : v);
        text_at(cr, a->x0 - 8, y, 1, 0.5, buf);
    }
    set_font(cr, 12, 0);
    text_at(cr, a->x0 + a->w / 2, a->y0 + a->h + 30, 0.5, 0, xlabel);
    text_rotated(cr, a->x0 - 52, a->y0 + a->h / 2, ylabel);
}

static void line_style(cairo_t *cr, double r, double g, double b, int dashed, double width)
{
    static const double dash[] = {6.0, 4.0};
    cairo_set_source_rgb(cr, r, g, b);
    cairo_set_line_width(cr, width);
    cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
}

/* legend box at the top right (right = 1) or bottom right (right = 0 ... 1 meaning bottom) of the area */
typedef struct {
    const char *label;
    double r, g, b;
    int dashed, filled;
} legend_item;

static void draw_legend(cairo_t *cr, const axes *a, const legend_item *items, int n, int bottom)
{
    set_font(cr, 11, 0);
    double wmax = 0;
    for (int i = 0; i < n; i++) {
        cairo_text_extents_t e;
        cairo_text_extents(cr, items[i].label, &e);
        wmax = e.x_advance > wmax ? e.x_advance : wmax;
    }
    const double lh = 18, bw = wmax + 50, bh = n * lh + 8;
    const double bx = a->x0 + a->w - bw - 8, by = bottom ? a->y0 + a->h - bh - 8 : a->y0 + 8;
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_rectangle(cr, bx, by, bw, bh);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    for (int i = 0; i < n; i++) {
        const double y = by + 4 + lh * i + lh / 2;
        if (items[i].filled) {
            cairo_set_source_rgb(cr, items[i].r, items[i].g, items[i].b);
            cairo_rectangle(cr, bx + 8, y - 6, 28, 12);
            cairo_fill(cr);
        } else {
            line_style(cr, items[i].r, items[i].g, items[i].b, items[i].dashed, 2);
            cairo_move_to(cr, bx + 8, y);
            cairo_line_to(cr, bx + 36, y);
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
        }
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, bx + 42, y, 0, 0.5, items[i].label);
    }
}

static cairo_t *new_figure(cairo_surface_t **s, int w, int h, const char *title)
{
    *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(*s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    if (title) {
        cairo_set_source_rgb(cr, 0, 0, 0);
        set_font(cr, 14, 1);
        text_at(cr, w / 2.0, 10, 0.5, 0, title);
    }
    return cr;
}

/* ---- score curves ------------------------------------------------------ */

int sibvad_plot_scores(const char *path, const char *title, int first_frame, int n, const SibvadPlotLine *lines,
                       int nlines, const unsigned char *labels, int scale_each, sibvad_error *err)
{
    if (!path || n <= 0 || nlines <= 0 || !lines || nlines > 8)
        return sibvad_fail(err, "plot %s: nothing to plot", path ? path : "(null)");
    double lo[8], hi[8], glo = INFINITY, ghi = -INFINITY;
    for (int k = 0; k < nlines; k++) {
        lo[k] = INFINITY;
        hi[k] = -INFINITY;
        for (int i = 0; i < n; i++)
            if (isfinite(lines[k].y[i])) {
                lo[k] = lines[k].y[i] < lo[k] ? lines[k].y[i] : lo[k];
                hi[k] = lines[k].y[i] > hi[k] ? lines[k].y[i] : hi[k];
            }
        glo = lo[k] < glo ? lo[k] : glo;
        ghi = hi[k] > ghi ? hi[k] : ghi;
    }
    axes a = {75, 40, FIG_W - 75 - 20, FIG_H - 40 - 60, first_frame, first_frame + (n > 1 ? n - 1 : 1), 0, 1};
    if (!scale_each) {
        if (!isfinite(glo) || !isfinite(ghi)) {
            glo = 0;
            ghi = 1;
        }
        const double pad = ghi > glo ? 0.05 * (ghi - glo) : 0.5;
        a.ymin = glo - pad;
        a.ymax = ghi + pad;
    } else {
        a.ymin = -0.05;
        a.ymax = 1.05;
    }
    cairo_surface_t *s;
    cairo_t *cr = new_figure(&s, FIG_W, FIG_H, title);
    /* ground truth: shaded runs of abnormal frames */
    int have_gt = 0;
    if (labels) {
        cairo_set_source_rgba(cr, 0.9, 0.2, 0.2, 0.18);
        for (int i = 0; i < n;) {
            if (!labels[i]) {
                i++;
                continue;
            }
            int j = i;
            while (j < n && labels[j])
                j++;
            double x0 = ax_x(&a, first_frame + i - 0.5), x1 = ax_x(&a, first_frame + j - 0.5);
            x0 = x0 < a.x0 ? a.x0 : x0;
            x1 = x1 > a.x0 + a.w ? a.x0 + a.w : x1;
            cairo_rectangle(cr, x0, a.y0, x1 - x0, a.h);
            cairo_fill(cr);
            have_gt = 1;
            i = j;
        }
    }
    /* curves, clipped to the plot area */
    cairo_save(cr);
    cairo_rectangle(cr, a.x0, a.y0, a.w, a.h);
    cairo_clip(cr);
    for (int k = 0; k < nlines; k++) {
        const double r = hi[k] - lo[k];
        line_style(cr, lines[k].r, lines[k].g, lines[k].b, lines[k].dashed, 1.6);
        int pen = 0;
        for (int i = 0; i < n; i++) {
            double y = lines[k].y[i];
            if (!isfinite(y)) {
                pen = 0;
                continue;
            }
            if (scale_each)
                y = r > 0 ? (y - lo[k]) / r : 0.5;
            const double px = ax_x(&a, first_frame + i), py = ax_y(&a, y);
            if (pen)
                cairo_line_to(cr, px, py);
            else
                cairo_move_to(cr, px, py);
            pen = 1;
        }
        cairo_stroke(cr);
    }
    cairo_restore(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    draw_axes(cr, &a, "frame", scale_each ? "score (each curve scaled to 0..1)" : "score", 1);
    legend_item items[9];
    int ni = 0;
    for (int k = 0; k < nlines; k++)
        items[ni++] = (legend_item){lines[k].label ? lines[k].label : "", lines[k].r, lines[k].g, lines[k].b,
                                    lines[k].dashed, 0};
    if (have_gt)
        items[ni++] = (legend_item){"ground truth: abnormal", 0.95, 0.75, 0.75, 0, 1};
    draw_legend(cr, &a, items, ni, 0);
    return finish(s, cr, path, err);
}

/* ---- ROC ----------------------------------------------------------------- */

int sibvad_plot_roc(const char *path, const char *title, const SibvadPlotRoc *curves, int ncurves,
                    sibvad_error *err)
{
    if (!path || !curves || ncurves <= 0 || ncurves > 8)
        return sibvad_fail(err, "plot %s: no ROC curve to plot", path ? path : "(null)");
    const int W = 620, H = 600;
    axes a = {75, 40, W - 75 - 25, H - 40 - 60, 0, 1, 0, 1};
    cairo_surface_t *s;
    cairo_t *cr = new_figure(&s, W, H, title);
    /* chance diagonal */
    cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
    cairo_set_line_width(cr, 1);
    static const double dot[] = {2.0, 3.0};
    cairo_set_dash(cr, dot, 2, 0);
    cairo_move_to(cr, ax_x(&a, 0), ax_y(&a, 0));
    cairo_line_to(cr, ax_x(&a, 1), ax_y(&a, 1));
    cairo_stroke(cr);
    legend_item items[8];
    for (int k = 0; k < ncurves; k++) {
        line_style(cr, curves[k].r, curves[k].g, curves[k].b, curves[k].dashed, 2);
        for (long i = 0; i < curves[k].n; i++) {
            const double px = ax_x(&a, curves[k].fpr[i]), py = ax_y(&a, curves[k].tpr[i]);
            if (i)
                cairo_line_to(cr, px, py);
            else
                cairo_move_to(cr, px, py);
        }
        cairo_stroke(cr);
        items[k] = (legend_item){curves[k].label ? curves[k].label : "", curves[k].r, curves[k].g, curves[k].b,
                                 curves[k].dashed, 0};
    }
    cairo_set_dash(cr, NULL, 0, 0);
    draw_axes(cr, &a, "false positive rate", "true positive rate", 0);
    draw_legend(cr, &a, items, ncurves, 1);
    return finish(s, cr, path, err);
}

/* ---- error maps ---------------------------------------------------------- */

void sibvad_colormap_inferno(float t, unsigned char rgb[3])
{
    static const unsigned char stops[9][3] = {
        {0, 0, 4},      {31, 12, 72},  {85, 15, 109},  {136, 34, 106}, {186, 54, 85},
        {227, 89, 51},  {249, 140, 10}, {249, 201, 50}, {252, 255, 164},
    };
    if (!(t > 0.0f))
        t = 0.0f;
    if (t > 1.0f)
        t = 1.0f;
    const float x = t * 8.0f;
    int i = (int)x;
    if (i > 7)
        i = 7;
    const float f = x - i;
    for (int c = 0; c < 3; c++)
        rgb[c] = (unsigned char)lrintf(stops[i][c] * (1.0f - f) + stops[i + 1][c] * f);
}

/* an image surface from 8-bit RGB triples via a callback-free buffer */
static cairo_surface_t *surface_from_rgb(const unsigned char *rgb, int H, int W)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return s;
    cairo_surface_flush(s);
    unsigned char *d = cairo_image_surface_get_data(s);
    const int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < H; y++) {
        uint32_t *row = (uint32_t *)(d + (size_t)y * stride);
        for (int x = 0; x < W; x++) {
            const unsigned char *p = rgb + ((size_t)y * W + x) * 3;
            row[x] = ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
        }
    }
    cairo_surface_mark_dirty(s);
    return s;
}

static void paint_panel(cairo_t *cr, cairo_surface_t *img, double x, double y, double scale)
{
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, scale, scale);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), scale >= 2 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
}

static unsigned char clip8(float v)
{
    v = v * 255.0f + 0.5f;
    return (unsigned char)(v < 0.0f ? 0 : v > 255.0f ? 255 : v);
}

int sibvad_plot_errormap(const char *path, const char *title, int C, int H, int W, const float *frame,
                         const float *pred, const float *error_map, sibvad_error *err)
{
    if (!path || !frame || !pred || !error_map || (C != 1 && C != 3) || H <= 0 || W <= 0)
        return sibvad_fail(err, "error map %s: bad arguments", path ? path : "(null)");
    const size_t HW = (size_t)H * W;
    unsigned char *rgb = malloc(HW * 3 * 3);
    if (!rgb)
        return sibvad_fail(err, "error map %s: out of memory", path);
    unsigned char *f = rgb, *p = rgb + HW * 3, *e = rgb + 2 * HW * 3;
    float emax = 0.0f;
    for (size_t i = 0; i < HW; i++)
        emax = error_map[i] > emax ? error_map[i] : emax;
    for (size_t i = 0; i < HW; i++)
        for (int c = 0; c < 3; c++) {
            const int cc = C == 3 ? c : 0;
            f[i * 3 + c] = clip8(frame[cc * HW + i]);
            p[i * 3 + c] = clip8(pred[cc * HW + i]);
        }
    for (size_t i = 0; i < HW; i++)
        sibvad_colormap_inferno(emax > 0 ? error_map[i] / emax : 0.0f, e + i * 3);
    /* panels at least 240 px wide, integer enlargement for small frames */
    double scale = 1.0;
    if (W < 240)
        scale = ceil(240.0 / W);
    else if (W > 480)
        scale = 480.0 / W;
    const double pw = W * scale, ph = H * scale, gap = 12, top = 56, bottom = 64;
    const int FW = (int)(3 * pw + 4 * gap), FH = (int)(top + ph + bottom);
    cairo_surface_t *s;
    cairo_t *cr = new_figure(&s, FW, FH, title);
    static const char *names[3] = {"frame", "prediction", NULL};
    char ename[96];
    snprintf(ename, sizeof ename, "error map (0 .. %.3g)", (double)emax);
    const unsigned char *imgs[3] = {f, p, e};
    for (int k = 0; k < 3; k++) {
        cairo_surface_t *img = surface_from_rgb(imgs[k], H, W);
        const double x = gap + k * (pw + gap);
        paint_panel(cr, img, x, top, scale);
        cairo_surface_destroy(img);
        cairo_set_source_rgb(cr, 0, 0, 0);
        set_font(cr, 12, 0);
        text_at(cr, x + pw / 2, top - 6, 0.5, 1, names[k] ? names[k] : ename);
    }
    /* colour bar under the error map */
    const double bx = gap + 2 * (pw + gap), by = top + ph + 10, bw = pw, bh = 12;
    for (int i = 0; i < (int)bw; i++) {
        unsigned char c[3];
        sibvad_colormap_inferno((float)i / (float)(bw - 1), c);
        cairo_set_source_rgb(cr, c[0] / 255.0, c[1] / 255.0, c[2] / 255.0);
        cairo_rectangle(cr, bx + i, by, 1, bh);
        cairo_fill(cr);
    }
    char lab[48];
    cairo_set_source_rgb(cr, 0, 0, 0);
    set_font(cr, 11, 0);
    text_at(cr, bx, by + bh + 4, 0, 0, "0");
    snprintf(lab, sizeof lab, "%.3g", (double)emax);
    text_at(cr, bx + bw, by + bh + 4, 1, 0, lab);
    text_at(cr, bx + bw / 2, by + bh + 20, 0.5, 0, "squared error, normalised space");
    free(rgb);
    return finish(s, cr, path, err);
}
