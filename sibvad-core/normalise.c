/* normalise.c: 8-bit interleaved pixels to the model's normalised planar input
 * (ImageNet statistics, spec section 2). The arithmetic matches the dataset
 * reader's (tools/common/dataset.c), so live and offline frames are equal. */
#include "sibvad.h"

int sibvad_normalise_u8(const sibvad_config *cfg, const uint8_t *pixels, int channels, size_t stride,
                        float *out, sibvad_error *err)
{
    if (!cfg || !pixels || !out)
        return sibvad_fail(err, "normalise: NULL argument");
    if (channels != 1 && channels != 3)
        return sibvad_fail(err, "normalise: %d channels; 1 (grey) or 3 (RGB) expected", channels);
    const int H = cfg->img_h, W = cfg->img_w, C = cfg->channels;
    if (stride < (size_t)W * channels)
        return sibvad_fail(err, "normalise: row stride %zu is shorter than %d pixels of %d bytes", stride, W, channels);
    const size_t plane = (size_t)H * W;
    for (int c = 0; c < C && c < 3; c++) {
        const float a = 1.0f / (255.0f * SIBVAD_PIXEL_STD[c]), b = -SIBVAD_PIXEL_MEAN[c] / SIBVAD_PIXEL_STD[c];
        float *d = out + (size_t)c * plane;
        for (int y = 0; y < H; y++) {
            const uint8_t *row = pixels + (size_t)y * stride;
            float *drow = d + (size_t)y * W;
            if (channels == C || channels == 1) { /* same channel, or grey replicated */
                const int off = channels == 1 ? 0 : c;
                for (int x = 0; x < W; x++)
                    drow[x] = (float)row[(size_t)x * channels + off] * a + b;
            } else { /* RGB to one channel: BT.601 luma with channel 0's statistics */
                for (int x = 0; x < W; x++) {
                    const uint8_t *px = row + (size_t)x * 3;
                    drow[x] = (0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2]) * a + b;
                }
            }
        }
    }
    return 0;
}
