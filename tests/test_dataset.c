/* test_dataset.c: the dataset layer (tools/common/dataset.c and
 * video-reader.c) on media made here with GStreamer and by hand: PNG and JPEG
 * frame folders (numeric and arbitrary names, one frame of another size),
 * BMP and TIFF frames, an MJPEG AVI file; read back in grey and RGB at a
 * chosen size; the disk cache (hit, corrupt, truncated, stale, disabled);
 * the split layout, labels and semantic vectors on a fake dataset; the
 * normalisation; and the errors (empty folder, garbage frame, garbage video,
 * missing folders and files). */
#include "dataset.h"
#include "npy.h"
#include "test-util.h"
#include "video-reader.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <utime.h>

#define FW 64 /* size of the frames made here */
#define FH 48
#define OW 32 /* size they are read at */
#define OH 24

static int contains(const GError *e, const char *s)
{
    return e && strstr(e->message, s) != NULL;
}


static char *mkdirs(const char *rel)
{
    char *p = g_build_filename(tmpdir, rel, NULL);
    g_mkdir_with_parents(p, 0755);
    return p;
}

/* Run a pipeline to EOS; with an appsrc named src, push one RGB frame first. */
static int run_launch(const char *launch, const char *path, const uint8_t *rgb, int w, int h)
{
    GError *e = NULL;
    GstElement *p = gst_parse_launch(launch, &e);
    if (!p) {
        fprintf(stderr, "pipeline %s: %s\n", launch, e->message);
        g_clear_error(&e);
        return 0;
    }
    GstElement *sink = gst_bin_get_by_name(GST_BIN(p), "sink");
    g_object_set(sink, "location", path, NULL);
    gst_object_unref(sink);
    gst_element_set_state(p, GST_STATE_PLAYING);
    GstElement *src = gst_bin_get_by_name(GST_BIN(p), "src");
    if (src) {
        GstCaps *caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width", G_TYPE_INT, w,
                                            "height", G_TYPE_INT, h, "framerate", GST_TYPE_FRACTION, 0, 1, NULL);
        g_object_set(src, "caps", caps, "format", GST_FORMAT_TIME, NULL);
        gst_caps_unref(caps);
        int stride = (w * 3 + 3) & ~3;
        GstBuffer *buf = gst_buffer_new_allocate(NULL, (gsize)stride * h, NULL);
        GstMapInfo m;
        gst_buffer_map(buf, &m, GST_MAP_WRITE);
        for (int y = 0; y < h; y++)
            memcpy(m.data + (size_t)y * stride, rgb + (size_t)y * w * 3, (size_t)w * 3);
        gst_buffer_unmap(buf, &m);
        GST_BUFFER_PTS(buf) = 0;
        gst_app_src_push_buffer(GST_APP_SRC(src), buf);
        gst_app_src_end_of_stream(GST_APP_SRC(src));
        gst_object_unref(src);
    }
    GstBus *bus = gst_element_get_bus(p);
    GstMessage *msg = gst_bus_timed_pop_filtered(bus, 20 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    int ok = msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
    if (msg && !ok) {
        gst_message_parse_error(msg, &e, NULL);
        fprintf(stderr, "pipeline %s: %s\n", launch, e->message);
        g_clear_error(&e);
    }
    if (msg)
        gst_message_unref(msg);
    gst_object_unref(bus);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
    return ok;
}

/* A w x h RGB frame of one colour. */
static uint8_t *solid(int w, int h, int r, int g, int b)
{
    uint8_t *px = g_malloc((gsize)w * h * 3);
    for (int i = 0; i < w * h; i++) {
        px[3 * i] = (uint8_t)r;
        px[3 * i + 1] = (uint8_t)g;
        px[3 * i + 2] = (uint8_t)b;
    }
    return px;
}

static int write_image(const char *path, const char *encoder, const uint8_t *rgb, int w, int h)
{
    char *launch = g_strdup_printf("appsrc name=src ! videoconvert ! %s ! filesink name=sink", encoder);
    int ok = run_launch(launch, path, rgb, w, h);
    g_free(launch);
    return ok;
}

/* Frame i of the test folders: grey level 20 + 25 i (PNG, JPEG). */
static int grey_of(int i)
{
    return 20 + 25 * i;
}

static int make_folder(const char *dir, const char *encoder, const char *const *names, int n)
{
    g_mkdir_with_parents(dir, 0755);
    for (int i = 0; i < n; i++) {
        uint8_t *px = solid(FW, FH, grey_of(i), grey_of(i), grey_of(i));
        char *p = g_build_filename(dir, names[i], NULL);
        int ok = write_image(p, encoder, px, FW, FH);
        g_free(p);
        g_free(px);
        if (!ok)
            return 0;
    }
    return 1;
}

/* 24-bit BMP, bottom-up rows padded to 4 bytes. */
static void write_bmp(const char *path, int w, int h, int r, int g, int b)
{
    uint8_t *rgb = g_malloc((gsize)w * h * 3);
    for (int i = 0; i < w * h; i++) {
        rgb[3 * i] = (uint8_t)r;
        rgb[3 * i + 1] = (uint8_t)g;
        rgb[3 * i + 2] = (uint8_t)b;
    }
    write_bmp24(path, w, h, rgb);
    g_free(rgb);
}

/* Baseline grey TIFF: little-endian, one uncompressed strip. */
static void write_tiff(const char *path, int w, int h, int v)
{
    const int nent = 9, data = 8 + 2 + nent * 12 + 4, size = data + w * h;
    uint8_t *f = g_malloc0((gsize)size);
    memcpy(f, "II*\0", 4);
    f[4] = 8;
    uint8_t *p = f + 8;
    p[0] = (uint8_t)nent;
    p += 2;
    const uint32_t ent[9][3] = { { 256, 4, (uint32_t)w }, { 257, 4, (uint32_t)h }, { 258, 3, 8 }, { 259, 3, 1 },
                                 { 262, 3, 1 }, { 273, 4, (uint32_t)data }, { 277, 3, 1 }, { 278, 4, (uint32_t)h },
                                 { 279, 4, (uint32_t)(w * h) } };
    for (int i = 0; i < nent; i++, p += 12) {
        uint16_t tag = (uint16_t)ent[i][0], type = (uint16_t)ent[i][1];
        uint32_t count = 1, val = ent[i][2];
        memcpy(p, &tag, 2);
        memcpy(p + 2, &type, 2);
        memcpy(p + 4, &count, 4);
        memcpy(p + 8, &val, 4); /* a SHORT sits in the first 2 bytes (little-endian) */
    }
    memset(f + data, v, (size_t)w * h);
    write_bytes(path, f, (size_t)size);
    g_free(f);
}

/* Mean of channel c of frame t. */
static double frame_mean(const SibvadVideoSet *s, const SibvadVideo *v, int t, int c)
{
    const size_t plane = (size_t)s->width * s->height;
    const uint8_t *p = v->pixels + ((size_t)t * s->channels + c) * plane;
    double sum = 0;
    for (size_t i = 0; i < plane; i++)
        sum += p[i];
    return sum / (double)plane;
}

/* Largest deviation of frame t channel c from value want. */
static int frame_dev(const SibvadVideoSet *s, const SibvadVideo *v, int t, int c, int want)
{
    const size_t plane = (size_t)s->width * s->height;
    const uint8_t *p = v->pixels + ((size_t)t * s->channels + c) * plane;
    int dev = 0;
    for (size_t i = 0; i < plane; i++)
        dev = MAX(dev, abs((int)p[i] - want));
    return dev;
}

static SibvadReadOptions opts(int c, const char *cache)
{
    SibvadReadOptions o = { OW, OH, c, cache, TRUE };
    return o;
}

static char *cache_dir;

static void test_folders(void)
{
    GError *e = NULL;
    /* PNG, numeric fixed-width names: the multifilesrc path */
    char *png = mkdirs("media/png");
    const char *pn[] = { "000.png", "001.png", "002.png", "003.png", "004.png", "005.png" };
    CHECK(make_folder(png, "pngenc", pn, 6), "6 PNG frames written");
    /* JPEG, arbitrary names in natural order: img1, img2, img10 (one file at a time) */
    char *jpg = mkdirs("media/jpg");
    const char *jn[] = { "img1.jpg", "img2.jpg", "img10.jpg" };
    CHECK(make_folder(jpg, "jpegenc quality=95", jn, 3), "3 JPEG frames written");
    /* a frame of another size (scaled like the rest) */
    uint8_t *big = solid(FW * 2, FH * 2, 200, 200, 200);
    char *p = g_build_filename(jpg, "img11.jpg", NULL);
    CHECK(write_image(p, "jpegenc quality=95", big, FW * 2, FH * 2), "a 128x96 JPEG frame among 64x48 ones");
    g_free(p);
    g_free(big);

    SibvadReadOptions o1 = opts(1, ""), o3 = opts(3, "");
    const char *paths[] = { png, jpg };
    SibvadVideoSet *s = sibvad_videoset_read_paths(paths, 2, &o1, &e);
    CHECK(s && s->nvideos == 2 && s->width == OW && s->height == OH && s->channels == 1, "grey read of two folders%s%s",
          e ? ": " : "", e ? e->message : "");
    g_clear_error(&e);
    if (s) {
        CHECK(strcmp(s->videos[0].name, "png") == 0 && strcmp(s->videos[1].name, "jpg") == 0,
              "videos named after their folders");
        CHECK(s->videos[0].nframes == 6 && s->videos[1].nframes == 4, "frame counts 6 and 4 (got %d, %d)",
              s->videos[0].nframes, s->videos[1].nframes);
        int dev = 0;
        for (int t = 0; t < 6; t++)
            dev = MAX(dev, frame_dev(s, &s->videos[0], t, 0, grey_of(t)));
        CHECK(dev <= 1, "PNG grey levels kept in order (largest deviation %d)", dev);
        dev = 0;
        for (int t = 0; t < 3; t++)
            dev = MAX(dev, frame_dev(s, &s->videos[1], t, 0, grey_of(t)));
        dev = MAX(dev, frame_dev(s, &s->videos[1], 3, 0, 200));
        CHECK(dev <= 3, "JPEG frames in natural order img1, img2, img10, img11 (largest deviation %d)", dev);
        CHECK(s->videos[0].labels == NULL && s->videos[0].semantic == NULL && s->sem_dim == 0,
              "no labels or semantic vectors yet");
    }
    sibvad_videoset_free(s);

    /* numeric JPEG names (the multifilesrc path) with one frame of another size */
    char *mixed = mkdirs("media/mixed");
    const char *mn[] = { "000.jpg", "001.jpg", "002.jpg" };
    make_folder(mixed, "jpegenc quality=95", mn, 3);
    big = solid(FW * 2 + 6, FH + 10, 240, 240, 240);
    p = g_build_filename(mixed, "003.jpg", NULL);
    write_image(p, "jpegenc quality=95", big, FW * 2 + 6, FH + 10);
    g_free(p);
    g_free(big);
    const char *mxp[] = { mixed };
    s = sibvad_videoset_read_paths(mxp, 1, &o1, &e);
    CHECK(s && s->videos[0].nframes == 4 && frame_dev(s, &s->videos[0], 1, 0, grey_of(1)) <= 3
              && frame_dev(s, &s->videos[0], 3, 0, 240) <= 6,
          "numbered JPEG frames with one of another size%s%s", e ? ": " : "", e ? e->message : "");
    g_clear_error(&e);
    sibvad_videoset_free(s);
    g_free(mixed);

    /* RGB: colour frames */
    char *rgb = mkdirs("media/rgb");
    for (int i = 0; i < 3; i++) {
        uint8_t *px = solid(FW, FH, 200, 100 + 20 * i, 30);
        char *f = g_strdup_printf("%s/%02d.png", rgb, i + 1);
        write_image(f, "pngenc", px, FW, FH);
        g_free(f);
        g_free(px);
    }
    const char *rp[] = { rgb };
    s = sibvad_videoset_read_paths(rp, 1, &o3, &e);
    CHECK(s && s->channels == 3 && s->videos[0].nframes == 3, "RGB read of a PNG folder (01..03)%s%s", e ? ": " : "",
          e ? e->message : "");
    g_clear_error(&e);
    if (s) {
        int dev = 0;
        for (int t = 0; t < 3; t++)
            dev = MAX(dev,
                      MAX(frame_dev(s, &s->videos[0], t, 0, 200), MAX(frame_dev(s, &s->videos[0], t, 1, 100 + 20 * t),
                                                                      frame_dev(s, &s->videos[0], t, 2, 30))));
        CHECK(dev <= 1, "RGB planes R, G, B in planar order (largest deviation %d)", dev);
        /* normalisation */
        const size_t plane = (size_t)OW * OH;
        float *x = g_new(float, 3 * plane);
        sibvad_video_frame_normalised(s, &s->videos[0], 1, 3, x);
        const SibvadVideo *v = &s->videos[0];
        double e0 = fabs(x[0] - ((v->pixels[3 * plane] / 255.0 - 0.485) / 0.229));
        double e1 = fabs(x[plane + 5] - ((v->pixels[4 * plane + 5] / 255.0 - 0.456) / 0.224));
        double e2 = fabs(x[2 * plane + 7] - ((v->pixels[5 * plane + 7] / 255.0 - 0.406) / 0.225));
        CHECK(e0 < 1e-5 && e1 < 1e-5 && e2 < 1e-5, "RGB frame normalised with ImageNet mean and std per channel");
        g_free(x);
    }
    sibvad_videoset_free(s);
    s = sibvad_videoset_read_paths(rp, 1, &o1, &e);
    if (s) {
        const size_t plane = (size_t)OW * OH;
        float *x = g_new(float, 3 * plane);
        sibvad_video_frame_normalised(s, &s->videos[0], 0, 3, x);
        double g = s->videos[0].pixels[0] / 255.0;
        CHECK(fabs(x[0] - (g - 0.485) / 0.229) < 1e-5 && fabs(x[plane] - (g - 0.456) / 0.224) < 1e-5
                  && fabs(x[2 * plane] - (g - 0.406) / 0.225) < 1e-5,
              "grey frame replicated to 3 normalised channels");
        sibvad_video_frame_normalised(s, &s->videos[0], 0, 1, x);
        CHECK(fabs(x[0] - (g - 0.485) / 0.229) < 1e-5, "grey frame to 1 channel with channel 0's statistics");
        int want = (int)lround(0.299 * 200 + 0.587 * 100 + 0.114 * 30);
        CHECK(frame_dev(s, &s->videos[0], 0, 0, want) <= 2, "colour frame read as grey: luma %d (mean %.1f)", want,
              frame_mean(s, &s->videos[0], 0, 0));
        g_free(x);
    }
    sibvad_videoset_free(s);

    /* BMP and TIFF through gdkpixbufdec */
    GstElementFactory *pix = gst_element_factory_find("gdkpixbufdec");
    if (pix) {
        gst_object_unref(pix);
        char *bt = mkdirs("media/bmptif");
        char *f = g_build_filename(bt, "a.bmp", NULL);
        write_bmp(f, FW, FH, 10, 120, 240);
        g_free(f);
        f = g_build_filename(bt, "b.tif", NULL);
        write_tiff(f, FW, FH, 77);
        g_free(f);
        const char *bp[] = { bt };
        s = sibvad_videoset_read_paths(bp, 1, &o3, &e);
        CHECK(s && s->videos[0].nframes == 2, "a BMP and a TIFF frame read%s%s", e ? ": " : "", e ? e->message : "");
        g_clear_error(&e);
        if (s) {
            const SibvadVideo *v = &s->videos[0];
            int dev = MAX(frame_dev(s, v, 0, 0, 10), MAX(frame_dev(s, v, 0, 1, 120), frame_dev(s, v, 0, 2, 240)));
            dev = MAX(dev, MAX(frame_dev(s, v, 1, 0, 77), frame_dev(s, v, 1, 2, 77)));
            CHECK(dev <= 1, "BMP colours and TIFF grey level kept (largest deviation %d)", dev);
        }
        sibvad_videoset_free(s);
        /* numeric TIFF names take the multifilesrc path */
        char *tn = mkdirs("media/tifnum");
        for (int i = 0; i < 3; i++) {
            char *name = g_strdup_printf("%s/%04d.tif", tn, i + 7);
            write_tiff(name, FW, FH, 50 + 40 * i);
            g_free(name);
        }
        const char *tp[] = { tn };
        s = sibvad_videoset_read_paths(tp, 1, &o1, &e);
        CHECK(s && s->videos[0].nframes == 3 && frame_dev(s, &s->videos[0], 2, 0, 130) <= 1,
              "numbered TIFF frames 0007..0009 read in order%s%s", e ? ": " : "", e ? e->message : "");
        g_clear_error(&e);
        sibvad_videoset_free(s);
        g_free(bt);
        g_free(tn);
    } else {
        printf("note: gdkpixbufdec is not installed; BMP and TIFF frames are not checked\n");
    }

    /* errors */
    char *empty = mkdirs("media/empty");
    const char *ep[] = { empty };
    s = sibvad_videoset_read_paths(ep, 1, &o1, &e);
    CHECK(!s && contains(e, "media/empty") && contains(e, "no image frames"), "empty folder: %s", e ? e->message : "-");
    g_clear_error(&e);
    char *bad = mkdirs("media/bad");
    const char *bn[] = { "000.jpg", "001.jpg", "002.jpg" };
    make_folder(bad, "jpegenc", bn, 3);
    char *garbage = g_build_filename(bad, "001.jpg", NULL);
    write_bytes(garbage, "this is not a JPEG image, only some bytes of text.", 50);
    const char *bp[] = { bad };
    s = sibvad_videoset_read_paths(bp, 1, &o1, &e);
    CHECK(!s && contains(e, "001.jpg"), "a garbage frame is named: %s", e ? e->message : "-");
    g_clear_error(&e);
    /* a JPEG cut in half after its header: the JPEG decoder fails or fills the rest; either way no crash */
    char *halfjpg = mkdirs("media/half");
    make_folder(halfjpg, "jpegenc", bn, 1);
    char *hp = g_build_filename(halfjpg, "000.jpg", NULL);
    size_t hn = 0;
    unsigned char *hb = read_bytes(hp, &hn);
    write_bytes(hp, hb, 200 < hn ? 200 : hn);
    free(hb);
    const char *hpp[] = { halfjpg };
    s = sibvad_videoset_read_paths(hpp, 1, &o1, &e);
    CHECK(s || contains(e, "000.jpg"), "a JPEG cut short is decoded or named: %s", s ? "decoded" : e->message);
    g_clear_error(&e);
    sibvad_videoset_free(s);
    const char *mp[] = { "/nonexistent/sibvad/video.avi" };
    s = sibvad_videoset_read_paths(mp, 1, &o1, &e);
    CHECK(!s && contains(e, "/nonexistent/sibvad/video.avi"), "missing video: %s", e ? e->message : "-");
    g_clear_error(&e);
    SibvadReadOptions badopt = { 0, OH, 1, "", TRUE };
    s = sibvad_videoset_read_paths(paths, 1, &badopt, &e);
    CHECK(!s && e, "a zero width is refused: %s", e ? e->message : "-");
    g_clear_error(&e);
    /* unreadable frame (permissions; skipped when running as root) */
    if (geteuid() != 0) {
        char *locked = mkdirs("media/locked");
        make_folder(locked, "pngenc", pn, 2);
        char *lp = g_build_filename(locked, "001.png", NULL);
        g_chmod(lp, 0);
        const char *lpp[] = { locked };
        s = sibvad_videoset_read_paths(lpp, 1, &o1, &e);
        CHECK(!s && contains(e, "001.png"), "an unreadable frame is named: %s", e ? e->message : "-");
        g_clear_error(&e);
        g_chmod(lp, 0644);
        g_free(lp);
        g_free(locked);
    }
    g_free(halfjpg);
    g_free(hp);
    g_free(garbage);
    g_free(bad);
    g_free(empty);
    g_free(png);
    g_free(jpg);
    g_free(rgb);
}

static void test_video_file(void)
{
    GError *e = NULL;
    char *avi = g_build_filename(tmpdir, "media", "clip.avi", NULL);
    int made = run_launch("videotestsrc num-buffers=20 pattern=smpte ! video/x-raw,width=80,height=60,framerate=25/1 "
                          "! jpegenc ! avimux ! filesink name=sink",
                          avi, NULL, 0, 0);
    CHECK(made, "an MJPEG AVI of 20 frames written");
    SibvadReadOptions o1 = opts(1, ""), o3 = opts(3, "");
    const char *vp[] = { avi };
    SibvadVideoSet *s = sibvad_videoset_read_paths(vp, 1, &o3, &e);
    CHECK(s && s->videos[0].nframes == 20 && strcmp(s->videos[0].name, "clip") == 0,
          "the AVI read as video 'clip' with 20 RGB frames%s%s", e ? ": " : "", e ? e->message : "");
    g_clear_error(&e);
    if (s) {
        /* SMPTE bars: the left column is light grey, then yellow (low blue) */
        const SibvadVideo *v = &s->videos[0];
        const size_t plane = (size_t)OW * OH;
        int y = 2, x = OW / 7 + 2;
        int r = v->pixels[0 * plane + y * OW + x], g = v->pixels[1 * plane + y * OW + x],
            b = v->pixels[2 * plane + y * OW + x];
        CHECK(r > 150 && g > 150 && b < 80, "the second SMPTE bar is yellow (%d, %d, %d)", r, g, b);
        char **names = sibvad_video_frame_names(v, &e);
        CHECK(names && strcmp(names[0], "000") == 0 && strcmp(names[17], "017") == 0 && g_strv_length(names) == 20,
              "a video file's frames are named 000..019");
        g_strfreev(names);
    }
    sibvad_videoset_free(s);
    s = sibvad_videoset_read_paths(vp, 1, &o1, &e);
    CHECK(s && s->videos[0].nframes == 20 && s->channels == 1, "the AVI read in grey");
    g_clear_error(&e);
    sibvad_videoset_free(s);
    /* a video with an audio track: the audio is dropped */
    char *av = g_build_filename(tmpdir, "media", "av.avi", NULL);
    made = run_launch("videotestsrc num-buffers=10 ! video/x-raw,width=64,height=48,framerate=10/1 ! jpegenc ! "
                      "avimux name=m ! filesink name=sink audiotestsrc num-buffers=10 samplesperbuffer=4410 ! "
                      "audio/x-raw,format=S16LE,rate=44100,channels=1 ! m.",
                      av, NULL, 0, 0);
    if (made) {
        const char *ap[] = { av };
        s = sibvad_videoset_read_paths(ap, 1, &o1, &e);
        CHECK(s && s->videos[0].nframes == 10, "an AVI with an audio track: 10 video frames%s%s", e ? ": " : "",
              e ? e->message : "");
        g_clear_error(&e);
        sibvad_videoset_free(s);
    } else {
        printf("note: could not make an AVI with audio; not checked\n");
    }
    g_free(av);
    /* a garbage video */
    char *junk = g_build_filename(tmpdir, "media", "junk.mp4", NULL);
    uint8_t noise[4096];
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (uint8_t)(i * 2654435761u >> 13);
    write_bytes(junk, noise, sizeof noise);
    const char *jp[] = { junk };
    s = sibvad_videoset_read_paths(jp, 1, &o1, &e);
    CHECK(!s && contains(e, "junk.mp4"), "a garbage video is named: %s", e ? e->message : "-");
    g_clear_error(&e);
    g_free(junk);
    g_free(avi);
}

static int same_pixels(const SibvadVideoSet *a, const SibvadVideoSet *b)
{
    if (!a || !b || a->nvideos != b->nvideos)
        return 0;
    for (int i = 0; i < a->nvideos; i++) {
        const size_t n = (size_t)a->videos[i].nframes * a->channels * a->width * a->height;
        if (a->videos[i].nframes != b->videos[i].nframes || memcmp(a->videos[i].pixels, b->videos[i].pixels, n))
            return 0;
    }
    return 1;
}

static void test_cache(void)
{
    GError *e = NULL;
    char *png = g_build_filename(tmpdir, "media", "png", NULL);
    SibvadReadOptions o = opts(1, cache_dir);
    const char *paths[] = { png };
    SibvadDatasetStats s0, s1;
    sibvad_dataset_get_stats(&s0);
    SibvadVideoSet *first = sibvad_videoset_read_paths(paths, 1, &o, &e);
    sibvad_dataset_get_stats(&s1);
    CHECK(first && s1.decoded == s0.decoded + 1 && s1.cache_written == s0.cache_written + 1,
          "first read decodes and writes the cache");
    g_clear_error(&e);
    char *cpath = sibvad_video_cache_path(png, &o);
    CHECK(cpath && g_file_test(cpath, G_FILE_TEST_IS_REGULAR), "the cache file exists: %s", cpath ? cpath : "-");

    s0 = s1;
    SibvadVideoSet *second = sibvad_videoset_read_paths(paths, 1, &o, &e);
    sibvad_dataset_get_stats(&s1);
    CHECK(s1.cache_hits == s0.cache_hits + 1 && s1.decoded == s0.decoded && same_pixels(first, second),
          "second read comes from the cache, same pixels");
    sibvad_videoset_free(second);

    /* corrupt one pixel byte: the checksum catches it */
    size_t n = 0;
    unsigned char *bytes = read_bytes(cpath, &n);
    bytes[n - 7] ^= 0xff;
    write_bytes(cpath, bytes, n);
    s0 = s1;
    second = sibvad_videoset_read_paths(paths, 1, &o, &e);
    sibvad_dataset_get_stats(&s1);
    CHECK(s1.cache_corrupt == s0.cache_corrupt + 1 && s1.decoded == s0.decoded + 1 && same_pixels(first, second),
          "a corrupted cache file is ignored, decoded again");
    sibvad_videoset_free(second);
    s0 = s1;
    second = sibvad_videoset_read_paths(paths, 1, &o, &e);
    sibvad_dataset_get_stats(&s1);
    CHECK(s1.cache_hits == s0.cache_hits + 1 && same_pixels(first, second), "... and rewritten (next read hits)");
    sibvad_videoset_free(second);
    /* truncated; garbage */
    write_bytes(cpath, bytes, n / 2);
    s0 = s1;
    second = sibvad_videoset_read_paths(paths, 1, &o, &e);
    sibvad_dataset_get_stats(&s1);
    CHECK(second && s1.cache_corrupt == s0.cache_corrupt + 1 && same_pixels(first, second),
          "a truncated cache file is ignored");
    sibvad_videoset_free(second);
    write_bytes(cpath, "garbage", 7);
    s0 = s1;
    second = sibvad_videoset_read_paths(paths, 1, &o, &e);
    sibvad_dataset_get_stats(&s1);
    CHECK(second && s1.cache_corrupt == s0.cache_corrupt + 1 && same_pixels(first, second),
          "a garbage cache file is ignored");
    sibvad_videoset_free(second);
    free(bytes);
    /* a changed source (new mtime) makes the cache stale */
    char *f0 = g_build_filename(png, "000.png", NULL);
    GStatBuf sb;
    g_stat(f0, &sb);
    struct utimbuf ut = { sb.st_atime, sb.st_mtime + 5 };
    g_utime(f0, &ut);
    s0 = s1;
    second = sibvad_videoset_read_paths(paths, 1, &o, &e);
    sibvad_dataset_get_stats(&s1);
    CHECK(second && s1.cache_stale == s0.cache_stale + 1 && s1.decoded == s0.decoded + 1,
          "a touched frame makes the cache stale");
    sibvad_videoset_free(second);
    /* another size is another cache file */
    SibvadReadOptions o2 = o;
    o2.width = 16;
    char *c2 = sibvad_video_cache_path(png, &o2);
    CHECK(c2 && strcmp(c2, cpath) != 0, "another output size uses another cache file");
    g_free(c2);
    /* disabled */
    SibvadReadOptions off = opts(1, "");
    CHECK(sibvad_video_cache_path(png, &off) == NULL, "cache_dir \"\" disables the cache");
    s0 = s1;
    second = sibvad_videoset_read_paths(paths, 1, &off, &e);
    sibvad_dataset_get_stats(&s1);
    CHECK(second && s1.decoded == s0.decoded + 1 && s1.cache_written == s0.cache_written, "no cache use when disabled");
    sibvad_videoset_free(second);
    /* no temporary files left */
    GDir *d = g_dir_open(cache_dir, 0, NULL);
    const char *name;
    int tmp = 0;
    while (d && (name = g_dir_read_name(d)))
        tmp += strstr(name, ".tmp-") != NULL;
    if (d)
        g_dir_close(d);
    CHECK(tmp == 0, "no temporary cache files left behind");
    /* an unwritable cache folder is not an error */
    SibvadReadOptions ro = opts(1, "/proc/sibvad-cannot-write-here");
    second = sibvad_videoset_read_paths(paths, 1, &ro, &e);
    CHECK(second != NULL, "an unwritable cache folder only skips caching%s%s", e ? ": " : "", e ? e->message : "");
    g_clear_error(&e);
    sibvad_videoset_free(second);
    sibvad_videoset_free(first);
    g_free(f0);
    g_free(cpath);
    g_free(png);
}

static void test_split(void)
{
    GError *e = NULL;
    char *root = mkdirs("ds");
    char *tr = mkdirs("ds/training/frames");
    char *te = mkdirs("ds/testing/frames");
    const char *n5[] = { "000.png", "001.png", "002.png", "003.png", "004.png" };
    const char *n6[] = { "f0.jpg", "f1.jpg", "f2.jpg", "f3.jpg", "f4.jpg", "f5.jpg" };
    char *p;
    p = g_build_filename(tr, "01", NULL);
    make_folder(p, "pngenc", n5, 5);
    g_free(p);
    p = g_build_filename(tr, "02", NULL);
    make_folder(p, "jpegenc", n6, 6);
    g_free(p);
    p = g_build_filename(tr, "10.avi", NULL);
    run_launch("videotestsrc num-buffers=7 ! video/x-raw,width=64,height=48,framerate=25/1 ! jpegenc ! avimux "
               "! filesink name=sink", p, NULL, 0, 0);
    g_free(p);
    p = g_build_filename(tr, "notes.txt", NULL);
    write_bytes(p, "not a video\n", 12);
    g_free(p);
    p = g_build_filename(te, "01", NULL);
    make_folder(p, "pngenc", n5, 5);
    g_free(p);
    p = g_build_filename(te, "02", NULL);
    make_folder(p, "pngenc", n5, 3);
    g_free(p);

    SibvadReadOptions o = opts(1, cache_dir);
    SibvadVideoSet *s = sibvad_videoset_read_split(root, "training", &o, &e);
    CHECK(s && s->nvideos == 3, "training split: 3 videos (2 folders, 1 AVI; notes.txt skipped)%s%s", e ? ": " : "",
          e ? e->message : "");
    g_clear_error(&e);
    if (s && s->nvideos == 3) {
        CHECK(strcmp(s->videos[0].name, "01") == 0 && strcmp(s->videos[1].name, "02") == 0
                  && strcmp(s->videos[2].name, "10") == 0,
              "videos in natural order 01, 02, 10");
        CHECK(s->videos[0].nframes == 5 && s->videos[1].nframes == 6 && s->videos[2].nframes == 7,
              "frame counts 5, 6, 7 (got %d, %d, %d)", s->videos[0].nframes, s->videos[1].nframes,
              s->videos[2].nframes);
        /* semantic vectors: <dir>/<video>/<frame name>.npy */
        char *sem = mkdirs("sem");
        const char *files[] = { "01/003.npy", "01/004.npy", "02/f5.npy", "10/006.npy" };
        for (int i = 0; i < 4; i++) {
            char *f = g_build_filename(sem, files[i], NULL);
            char *dir = g_path_get_dirname(f);
            g_mkdir_with_parents(dir, 0755);
            float vec[4] = { (float)i, 1, 2, 3 };
            int64_t shape[3] = { 1, 1, 4 };
            sibvad_npy_write_f32(f, vec, i == 2 ? 1 : 3, i == 2 ? (int64_t[]){ 4 } : shape, NULL);
            g_free(dir);
            g_free(f);
        }
        gboolean ok = sibvad_videoset_load_semantic(s, sem, &e);
        CHECK(ok && s->sem_dim == 4, "semantic vectors attached, S = 4%s%s", e ? ": " : "", e ? e->message : "");
        g_clear_error(&e);
        if (ok) {
            const SibvadVideo *v0 = &s->videos[0], *v1 = &s->videos[1], *v2 = &s->videos[2];
            CHECK(v0->semantic_ok[3] && v0->semantic_ok[4] && !v0->semantic_ok[0] && !v0->semantic_ok[2]
                      && v0->semantic[3 * 4] == 0.0f && v0->semantic[4 * 4] == 1.0f && v0->semantic[4 * 4 + 3] == 3.0f,
                  "rows 3 and 4 of video 01 from 003.npy and 004.npy");
            CHECK(v1->semantic_ok[5] && v1->semantic[5 * 4] == 2.0f && !v1->semantic_ok[4],
                  "row 5 of video 02 from f5.npy ([S])");
            CHECK(v2->semantic_ok[6] && v2->semantic[6 * 4] == 3.0f, "row 6 of the AVI from 006.npy");
        }
        /* a vector of another length */
        char *f = g_build_filename(sem, "01", "002.npy", NULL);
        float v8[8] = { 0 };
        int64_t sh8[1] = { 8 };
        sibvad_npy_write_f32(f, v8, 1, sh8, NULL);
        CHECK(!sibvad_videoset_load_semantic(s, sem, &e) && contains(e, "002.npy") && s->sem_dim == 4,
              "a semantic vector of another length is refused, the old vectors kept: %s", e ? e->message : "-");
        g_clear_error(&e);
        /* a NaN in a vector */
        float vnan[4] = { 0, NAN, 0, 0 };
        int64_t sh4[1] = { 4 };
        sibvad_npy_write_f32(f, vnan, 1, sh4, NULL);
        CHECK(!sibvad_videoset_load_semantic(s, sem, &e) && contains(e, "002.npy") && contains(e, "not a finite"),
              "a semantic vector holding NaN is refused: %s", e ? e->message : "-");
        g_clear_error(&e);
        g_unlink(f);
        g_free(f);
        char *sem2 = mkdirs("sem2/01");
        CHECK(!sibvad_videoset_load_semantic(s, tpath("sem2"), &e) && contains(e, "video 02"),
              "a video without a semantic folder is named: %s", e ? e->message : "-");
        g_clear_error(&e);
        CHECK(!sibvad_videoset_load_semantic(s, tpath("no-sem"), &e) && contains(e, "no-sem"),
              "a missing semantic folder: %s", e ? e->message : "-");
        g_clear_error(&e);
        g_free(sem2);
        g_free(sem);
    }
    sibvad_videoset_free(s);

    /* testing split with labels */
    s = sibvad_videoset_read_split(root, "testing", &o, &e);
    CHECK(s && s->nvideos == 2 && s->videos[1].nframes == 3, "testing split: 2 videos");
    g_clear_error(&e);
    if (s) {
        p = g_build_filename(root, "testing", "labels.txt", NULL);
        write_bytes(p, "01 2-3\n02 mask 0 0 1\n", 21);
        CHECK(sibvad_videoset_load_labels(s, root, &e) && s->videos[0].labels && s->videos[0].labels[1] == 1
                  && s->videos[0].labels[3] == 0 && s->videos[1].labels[2] == 1,
              "labels attached from testing/labels.txt%s%s", e ? ": " : "", e ? e->message : "");
        g_clear_error(&e);
        write_bytes(p, "01 2-3\n02 mask 0 0 1 1\n", 23);
        CHECK(!sibvad_videoset_load_labels(s, root, &e) && contains(e, "video 02") && contains(e, "3 frames")
                  && contains(e, "4 labels") && s->videos[0].labels,
              "a label count mismatch names the video and both counts: %s", e ? e->message : "-");
        g_clear_error(&e);
        char *other = g_build_filename(tmpdir, "other-labels.txt", NULL);
        write_bytes(other, "01 -\n02 1-3\n", 12);
        CHECK(sibvad_videoset_load_labels_path(s, other, &e) && s->videos[0].labels[1] == 0
                  && s->videos[1].labels[0] == 1,
              "labels from a given file replace the old ones");
        g_clear_error(&e);
        g_free(other);
        g_free(p);
    }
    sibvad_videoset_free(s);

    /* errors */
    s = sibvad_videoset_read_split(tpath("no-such-dataset"), "training", &o, &e);
    CHECK(!s && contains(e, "no-such-dataset"), "missing dataset folder: %s", e ? e->message : "-");
    g_clear_error(&e);
    char *bare = mkdirs("bare/testing");
    char *bareroot = g_path_get_dirname(bare);
    s = sibvad_videoset_read_split(bareroot, "training", &o, &e);
    CHECK(!s && contains(e, "training") && contains(e, "frames"), "missing split folder: %s", e ? e->message : "-");
    g_clear_error(&e);
    g_free(mkdirs("bare/testing/frames"));
    s = sibvad_videoset_read_split(bareroot, "testing", &o, &e);
    CHECK(!s && contains(e, "no videos"), "a split without videos: %s", e ? e->message : "-");
    g_clear_error(&e);
    g_free(mkdirs("bare/testing/frames/05"));
    s = sibvad_videoset_read_split(bareroot, "testing", &o, &e);
    CHECK(!s && contains(e, "frames/05") && contains(e, "no image frames"), "an empty video folder in a split: %s",
          e ? e->message : "-");
    g_clear_error(&e);
    g_free(bare);
    g_free(bareroot);
    g_free(root);
    g_free(tr);
    g_free(te);
}

static void test_listing(void)
{
    CHECK(sibvad_natural_compare("img2", "img10") < 0 && sibvad_natural_compare("a10b", "a9b") > 0
              && sibvad_natural_compare("007", "7") > 0 && sibvad_natural_compare("x", "x") == 0
              && sibvad_natural_compare("f1.jpg", "f1.jpg.bak") < 0,
          "natural order of names");
    char *stem = sibvad_frame_stem("017.jpg");
    CHECK(strcmp(stem, "017") == 0, "frame stem of 017.jpg");
    g_free(stem);
    CHECK(sibvad_is_image_file("A.JPG") && sibvad_is_image_file("b.tiff") && !sibvad_is_image_file("c.npy")
              && sibvad_is_video_file("v.MP4") && !sibvad_is_video_file("v.txt"),
          "image and video extensions");
}

int main(void)
{
    const char *t = g_get_tmp_dir();
    snprintf(tmpdir, sizeof tmpdir, "%s/sibvad-dataset-XXXXXX", t);
    if (!g_mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    gst_init(NULL, NULL);
    cache_dir = g_build_filename(tmpdir, "cache", NULL);
    test_listing();
    test_folders();
    test_video_file();
    test_cache();
    test_split();
    rm_rf(tmpdir);
    g_free(cache_dir);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
