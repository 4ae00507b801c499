/* video-reader.c: GStreamer decoding of a video file or a folder of frames.
 *
 * Pipelines (built element by element, no main loop; samples are pulled from
 * appsink synchronously):
 *   video file:   filesrc ! decodebin ! videoconvert ! videoscale method=catrom
 *                   ! video/x-raw,format=GRAY8|RGB,width=W,height=H ! appsink
 *   frame folder of JPEG or PNG, numeric names of one width and extension,
 *   consecutive (000.jpg, 001.jpg, ...):
 *                 multifilesrc location=<dir>/%0Nd.ext caps=image/...,framerate=25/1
 *                   ! decodebin ! (as above)
 *   any other folder, and as a fallback when the fast path fails (so that the
 *   frame at fault is named): one filesrc ! decodebin pipeline per file.
 * BMP and TIFF frames go to gdkpixbufdec by name instead of decodebin (its
 * rank is none, so decodebin never picks it), one file at a time.
 * Video decoders get max-errors=0 so that a corrupt frame is an error rather
 * than a silently dropped frame. Non-video streams (audio) go to fakesinks. */
#include "video-reader.h"
#include "npy.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define STALL_SECONDS 60

gboolean sibvad_gst_init(GError **error)
{
    static gsize once;
    static char *init_msg;
    if (g_once_init_enter(&once)) {
        GError *e = NULL;
        if (!gst_init_check(NULL, NULL, &e)) {
            init_msg = g_strdup(e ? e->message : "unknown error");
            g_clear_error(&e);
        }
        g_once_init_leave(&once, 1);
    }
    if (init_msg) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_DECODE, "GStreamer failed to start: %s",
                    init_msg);
        return FALSE;
    }
    return TRUE;
}

static const char *extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? dot + 1 : NULL;
}

static gboolean ext_in(const char *name, const char *const *list)
{
    const char *ext = extension(name);
    if (!ext)
        return FALSE;
    for (; *list; list++)
        if (g_ascii_strcasecmp(ext, *list) == 0)
            return TRUE;
    return FALSE;
}

gboolean sibvad_is_image_file(const char *name)
{
    static const char *const exts[] = { "jpg", "jpeg", "png", "tif", "tiff", "bmp", NULL };
    return ext_in(name, exts);
}

gboolean sibvad_is_video_file(const char *name)
{
    static const char *const exts[] = { "mp4", "avi", "mkv", "mov", "webm", "m4v", "mpg", "mpeg",
                                        "wmv", "flv", "ogv", "ts", "mts", "y4m", NULL };
    return ext_in(name, exts);
}

int sibvad_natural_compare(const char *a, const char *b)
{
    while (*a && *b) {
        if (g_ascii_isdigit(*a) && g_ascii_isdigit(*b)) {
            const char *za = a, *zb = b;
            while (*za == '0')
                za++;
            while (*zb == '0')
                zb++;
            const char *ea = za, *eb = zb;
            while (g_ascii_isdigit(*ea))
                ea++;
            while (g_ascii_isdigit(*eb))
                eb++;
            if (ea - za != eb - zb)
                return ea - za < eb - zb ? -1 : 1;
            int c = strncmp(za, zb, (size_t)(ea - za));
            if (c)
                return c;
            if ((za - a) != (zb - b)) /* same value: fewer leading zeros first */
                return (za - a) < (zb - b) ? -1 : 1;
            a = ea;
            b = eb;
        } else {
            if (*a != *b)
                return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++;
            b++;
        }
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int natural_qsort(const void *a, const void *b)
{
    return sibvad_natural_compare(*(char *const *)a, *(char *const *)b);
}

char **sibvad_frame_files(const char *dir, GError **error)
{
    GError *e = NULL;
    GDir *d = g_dir_open(dir, 0, &e);
    if (!d) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_IO, "cannot read frame folder %s: %s", dir,
                    e->message);
        g_error_free(e);
        return NULL;
    }
    GPtrArray *files = g_ptr_array_new();
    const char *name;
    while ((name = g_dir_read_name(d))) {
        if (name[0] == '.' || !sibvad_is_image_file(name))
            continue;
        char *p = g_build_filename(dir, name, NULL);
        if (!g_file_test(p, G_FILE_TEST_IS_DIR))
            g_ptr_array_add(files, g_strdup(name));
        g_free(p);
    }
    g_dir_close(d);
    if (files->len == 0) {
        g_ptr_array_free(files, TRUE);
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_NOT_FOUND,
                    "frame folder %s holds no image frames (jpg, png, tif, bmp)", dir);
        return NULL;
    }
    qsort(files->pdata, files->len, sizeof(gpointer), natural_qsort);
    g_ptr_array_add(files, NULL);
    return (char **)g_ptr_array_free(files, FALSE);
}

char *sibvad_frame_stem(const char *file)
{
    const char *ext = extension(file);
    return ext ? g_strndup(file, (gsize)(ext - 1 - file)) : g_strdup(file);
}

/* ---- pipelines ---- */

typedef struct {
    GstElement *pipeline, *convert, *appsink;
    gboolean linked;
} Pipe;

static void on_pad_added(GstElement *dec, GstPad *pad, gpointer data)
{
    (void)dec;
    Pipe *p = data;
    GstCaps *caps = gst_pad_get_current_caps(pad);
    if (!caps)
        caps = gst_pad_query_caps(pad, NULL);
    const char *media = caps && gst_caps_get_size(caps) ? gst_structure_get_name(gst_caps_get_structure(caps, 0)) : "";
    gboolean video = g_str_has_prefix(media, "video/x-raw");
    if (caps)
        gst_caps_unref(caps);
    if (video && !p->linked) {
        GstPad *sink = gst_element_get_static_pad(p->convert, "sink");
        if (gst_pad_link(pad, sink) == GST_PAD_LINK_OK)
            p->linked = TRUE;
        gst_object_unref(sink);
        if (p->linked)
            return;
    }
    /* audio, a second video stream, ...: consumed and dropped */
    GstElement *fs = gst_element_factory_make("fakesink", NULL);
    if (!fs)
        return;
    g_object_set(fs, "sync", FALSE, "async", FALSE, NULL);
    gst_bin_add(GST_BIN(p->pipeline), fs);
    gst_element_sync_state_with_parent(fs);
    GstPad *sink = gst_element_get_static_pad(fs, "sink");
    gst_pad_link(pad, sink);
    gst_object_unref(sink);
}

static void on_deep_element_added(GstBin *bin, GstBin *sub, GstElement *el, gpointer data)
{
    (void)bin;
    (void)sub;
    (void)data;
    if (GST_IS_VIDEO_DECODER(el))
        gst_video_decoder_set_max_errors(GST_VIDEO_DECODER(el), 0);
}

static GstElement *make(const char *factory, const char *what, GError **error)
{
    GstElement *e = gst_element_factory_make(factory, NULL);
    if (!e)
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_DECODE,
                    "cannot read %s: the GStreamer element %s is missing (install "
                    "gstreamer1.0-plugins-base and gstreamer1.0-plugins-good)", what, factory);
    return e;
}

/* src ! decoder ! videoconvert ! videoscale ! capsfilter ! appsink; the
 * decoder is decodebin unless named (gdkpixbufdec for BMP and TIFF, which
 * decodebin does not pick: its rank is none). src is taken (added to the
 * pipeline or unreffed on failure). */
static gboolean pipe_build(Pipe *p, GstElement *src, const char *decoder, int width, int height, int channels,
                           const char *what, GError **error)
{
    memset(p, 0, sizeof *p);
    GstElement *dec = NULL, *scale = NULL, *filter = NULL;
    p->pipeline = gst_pipeline_new(NULL);
    if (!(dec = make(decoder ? decoder : "decodebin", what, error)) || !(p->convert = make("videoconvert", what, error))
        || !(scale = make("videoscale", what, error)) || !(filter = make("capsfilter", what, error))
        || !(p->appsink = make("appsink", what, error))) {
        GstElement *all[] = { src, dec, p->convert, scale, filter, p->appsink };
        for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
            if (all[i])
                gst_object_unref(gst_object_ref_sink(all[i]));
        gst_object_unref(p->pipeline);
        p->pipeline = NULL;
        return FALSE;
    }
    g_object_set(scale, "method", 8 /* catrom */, "add-borders", FALSE, NULL);
    GstCaps *caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, channels == 1 ? "GRAY8" : "RGB",
                                        "width", G_TYPE_INT, width, "height", G_TYPE_INT, height, NULL);
    g_object_set(filter, "caps", caps, NULL);
    gst_caps_unref(caps);
    g_object_set(p->appsink, "sync", FALSE, "max-buffers", 4, "drop", FALSE, "emit-signals", FALSE, NULL);
    gst_bin_add_many(GST_BIN(p->pipeline), src, dec, p->convert, scale, filter, p->appsink, NULL);
    if (decoder) {
        p->linked = gst_element_link(dec, p->convert);
        on_deep_element_added(NULL, NULL, dec, NULL);
    } else {
        g_signal_connect(dec, "pad-added", G_CALLBACK(on_pad_added), p);
        g_signal_connect(p->pipeline, "deep-element-added", G_CALLBACK(on_deep_element_added), NULL);
    }
    if ((decoder && !p->linked) || !gst_element_link(src, dec)
        || !gst_element_link_many(p->convert, scale, filter, p->appsink, NULL)) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_DECODE,
                    "cannot read %s: the GStreamer pipeline does not link", what);
        gst_object_unref(p->pipeline);
        p->pipeline = NULL;
        return FALSE;
    }
    return TRUE;
}

static void pipe_free(Pipe *p)
{
    if (p->pipeline) {
        gst_element_set_state(p->pipeline, GST_STATE_NULL);
        gst_object_unref(p->pipeline);
        p->pipeline = NULL;
    }
}

/* The first error on the bus as "reason", or NULL; the last warning goes to
 * *warning. Other messages are dropped so that the bus does not grow over a
 * long video. */
static char *bus_error(GstElement *pipeline, char **warning)
{
    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *m;
    char *msg = NULL;
    while (!msg && (m = gst_bus_pop(bus))) {
        if (GST_MESSAGE_TYPE(m) != GST_MESSAGE_ERROR && GST_MESSAGE_TYPE(m) != GST_MESSAGE_WARNING) {
            gst_message_unref(m);
            continue;
        }
        GError *e = NULL;
        gchar *dbg = NULL;
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
            gst_message_parse_error(m, &e, &dbg);
            msg = g_strdup(e->message);
        } else {
            gst_message_parse_warning(m, &e, &dbg);
            if (warning) {
                g_free(*warning);
                *warning = g_strdup(e->message);
            }
        }
        g_clear_error(&e);
        g_free(dbg);
        gst_message_unref(m);
    }
    gst_object_unref(bus);
    return msg;
}

typedef struct {
    int width, height, channels;
    size_t frame_bytes;
    uint8_t *pixels;
    int nframes, cap;
} Frames;

static gboolean copy_sample(Frames *f, GstSample *s, const char *what, GError **error)
{
    GstVideoInfo info;
    GstCaps *caps = gst_sample_get_caps(s);
    GstBuffer *buf = gst_sample_get_buffer(s);
    if (!caps || !buf || !gst_video_info_from_caps(&info, caps) || GST_VIDEO_INFO_WIDTH(&info) != f->width
        || GST_VIDEO_INFO_HEIGHT(&info) != f->height) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_DECODE,
                    "%s: the decoder gave a frame of an unexpected format", what);
        return FALSE;
    }
    GstVideoFrame vf;
    if (!gst_video_frame_map(&vf, &info, buf, GST_MAP_READ)) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_DECODE, "%s: cannot map a decoded frame", what);
        return FALSE;
    }
    if (f->nframes == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->pixels = g_realloc_n(f->pixels, (gsize)f->cap, f->frame_bytes);
    }
    uint8_t *dst = f->pixels + (size_t)f->nframes * f->frame_bytes;
    const uint8_t *src = GST_VIDEO_FRAME_PLANE_DATA(&vf, 0);
    int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&vf, 0);
    const size_t plane = (size_t)f->width * (size_t)f->height;
    for (int y = 0; y < f->height; y++) {
        const uint8_t *row = src + (size_t)y * (size_t)stride;
        if (f->channels == 1) {
            memcpy(dst + (size_t)y * (size_t)f->width, row, (size_t)f->width);
        } else {
            uint8_t *r = dst + (size_t)y * (size_t)f->width, *g = r + plane, *b = g + plane;
            for (int x = 0; x < f->width; x++) {
                r[x] = row[3 * x];
                g[x] = row[3 * x + 1];
                b[x] = row[3 * x + 2];
            }
        }
    }
    gst_video_frame_unmap(&vf);
    f->nframes++;
    return TRUE;
}

/* Play p and pull frames into f until EOS (or max_frames when > 0). */
static gboolean pipe_run(Pipe *p, Frames *f, int max_frames, const char *what, GError **error)
{
    char *warning = NULL, *err = NULL;
    int start = f->nframes;
    gboolean ok = TRUE;
    if (gst_element_set_state(p->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        err = bus_error(p->pipeline, &warning);
        if (!err)
            err = g_strdup("the pipeline failed to start");
        goto done;
    }
    gint64 last = g_get_monotonic_time();
    GstAppSink *sink = GST_APP_SINK(p->appsink);
    while (max_frames <= 0 || f->nframes - start < max_frames) {
        GstSample *s = gst_app_sink_try_pull_sample(sink, 100 * GST_MSECOND);
        if (s) {
            ok = copy_sample(f, s, what, error);
            gst_sample_unref(s);
            if (!ok)
                goto done;
            last = g_get_monotonic_time();
            continue;
        }
        if ((err = bus_error(p->pipeline, &warning)))
            goto done;
        if (gst_app_sink_is_eos(sink))
            break;
        if (g_get_monotonic_time() - last > (gint64)STALL_SECONDS * G_USEC_PER_SEC) {
            err = g_strdup_printf("decoding stalled (no frame for %d s)", STALL_SECONDS);
            goto done;
        }
    }
    if (!err && (err = bus_error(p->pipeline, &warning)))
        goto done;
    if (f->nframes == start) {
        if (!p->linked)
            err = g_strdup_printf("no video stream found%s%s", warning ? ": " : "", warning ? warning : "");
        else
            err = g_strdup_printf("no frame decoded%s%s", warning ? ": " : "", warning ? warning : "");
    }
done:
    if (err) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_DECODE, "cannot decode %s: %s", what, err);
        ok = FALSE;
    }
    g_free(err);
    g_free(warning);
    gst_element_set_state(p->pipeline, GST_STATE_NULL);
    return ok;
}

static gboolean check_readable(const char *path, GError **error)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_IO, "cannot read %s: %s", path, g_strerror(errno));
        return FALSE;
    }
    fclose(fp);
    return TRUE;
}

/* The decoder for an image extension that decodebin does not handle, or NULL. */
static const char *image_decoder(const char *name)
{
    static const char *const pixbuf[] = { "bmp", "tif", "tiff", NULL };
    return ext_in(name, pixbuf) ? "gdkpixbufdec" : NULL;
}

static gboolean decode_file(const char *path, Frames *f, int max_frames, GError **error)
{
    if (!check_readable(path, error))
        return FALSE;
    GError *e = NULL;
    GstElement *src = make("filesrc", path, error);
    if (!src)
        return FALSE;
    g_object_set(src, "location", path, NULL);
    Pipe p;
    if (!pipe_build(&p, src, image_decoder(path), f->width, f->height, f->channels, path, error))
        return FALSE;
    gboolean ok = pipe_run(&p, f, max_frames, path, &e);
    pipe_free(&p);
    if (!ok)
        g_propagate_error(error, e);
    return ok;
}

/* "image/jpeg" etc. for multifilesrc's caps, by extension; NULL for the
 * formats read one file at a time (gdkpixbufdec decodes only the first image
 * of a multifilesrc stream). */
static const char *image_media(const char *ext)
{
    if (!g_ascii_strcasecmp(ext, "jpg") || !g_ascii_strcasecmp(ext, "jpeg"))
        return "image/jpeg";
    if (!g_ascii_strcasecmp(ext, "png"))
        return "image/png";
    return NULL;
}

/* When the files are <digits>.<ext> of one width and one extension with
 * consecutive numbers, the multifilesrc pattern and first index. */
static char *numeric_pattern(const char *dir, char **files, int n, int *first, const char **media)
{
    if (strchr(dir, '%'))
        return NULL;
    const char *ext = extension(files[0]);
    if (!ext || !(*media = image_media(ext)))
        return NULL;
    size_t width = (size_t)(ext - 1 - files[0]);
    if (width == 0 || width > 9)
        return NULL;
    for (int i = 0; i < n; i++) {
        const char *e = extension(files[i]);
        if (!e || (size_t)(e - 1 - files[i]) != width || strcmp(e, ext) != 0)
            return NULL;
        long v = 0;
        for (size_t k = 0; k < width; k++) {
            if (!g_ascii_isdigit(files[i][k]))
                return NULL;
            v = v * 10 + (files[i][k] - '0');
        }
        if (i == 0)
            *first = (int)v;
        else if (v != *first + i)
            return NULL;
    }
    char *pat = g_strdup_printf("%%0%zud.%s", width, ext);
    char *loc = g_build_filename(dir, pat, NULL);
    g_free(pat);
    return loc;
}

static gboolean decode_folder(const char *dir, Frames *f, GError **error)
{
    char **files = sibvad_frame_files(dir, error);
    if (!files)
        return FALSE;
    int n = (int)g_strv_length(files);
    int first = 0;
    const char *media = NULL;
    char *loc = numeric_pattern(dir, files, n, &first, &media);
    if (loc) { /* fast path: one pipeline for the whole folder */
        GstElement *src = make("multifilesrc", dir, error);
        Pipe p;
        gboolean built = FALSE;
        if (src) {
            GstCaps *caps = gst_caps_new_simple(media, "framerate", GST_TYPE_FRACTION, 25, 1, NULL);
            g_object_set(src, "location", loc, "start-index", first, "stop-index", first + n - 1, "caps", caps, NULL);
            gst_caps_unref(caps);
            built = pipe_build(&p, src, NULL, f->width, f->height, f->channels, dir, error);
        }
        g_free(loc);
        if (!built) {
            g_strfreev(files);
            return FALSE;
        }
        gboolean ok = pipe_run(&p, f, 0, dir, NULL);
        pipe_free(&p);
        if (ok && f->nframes == n) {
            g_strfreev(files);
            return TRUE;
        }
        f->nframes = 0; /* fall back to one file at a time, which names the frame at fault */
    }
    for (int i = 0; i < n; i++) {
        char *path = g_build_filename(dir, files[i], NULL);
        gboolean ok = decode_file(path, f, 1, error);
        g_free(path);
        if (!ok) {
            g_strfreev(files);
            return FALSE;
        }
    }
    g_strfreev(files);
    return TRUE;
}

gboolean sibvad_video_decode(const char *path, int width, int height, int channels, int *nframes,
                             uint8_t **pixels, GError **error)
{
    *nframes = 0;
    *pixels = NULL;
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3)) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_INVALID,
                    "cannot read %s at %dx%d with %d channels (need a positive size and 1 or 3 channels)",
                    path, width, height, channels);
        return FALSE;
    }
    if (!sibvad_gst_init(error))
        return FALSE;
    Frames f = { width, height, channels, (size_t)width * (size_t)height * (size_t)channels, NULL, 0, 0 };
    gboolean ok;
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        ok = decode_folder(path, &f, error);
    } else if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_NOT_FOUND, "video %s does not exist", path);
        ok = FALSE;
    } else {
        ok = decode_file(path, &f, 0, error);
    }
    if (!ok) {
        g_free(f.pixels);
        return FALSE;
    }
    *nframes = f.nframes;
    *pixels = g_realloc_n(f.pixels, (gsize)f.nframes, f.frame_bytes);
    return TRUE;
}
