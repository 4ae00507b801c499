/* fastmath.h: exp and erf written so that the compiler can vectorise the loops
 * that call them (libm's expf/erff are opaque calls, one element at a time).
 *   sibvad_expf: Cody-Waite range reduction and the Cephes polynomial,
 *                relative error about 2e-7 over the float range;
 *   sibvad_erff: Abramowitz-Stegun 7.1.26 on top of it, absolute error <= 1.5e-7
 *                in exact arithmetic, about 6e-7 in float (tests/test_fastmath.c).
 * Both are far below the float32 rounding that the parity tests allow. */
#ifndef SIBVAD_FASTMATH_H
#define SIBVAD_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float sibvad_expf(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    /* round to nearest with the 1.5 * 2^23 trick (rintf is a call under strict FP flags) */
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float y = p * r * r + r + 1.0f;
    /* a NaN passes the clamp above; y is NaN then, and the exponent is taken
     * from 0 so that the conversion to int stays defined */
    const int32_t bits = ((int32_t)(n == n ? n : 0.0f) + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

static inline float sibvad_erff(float x)
{
    const float ax = fabsf(x);
    const float t = 1.0f / (1.0f + 0.3275911f * ax);
    float p = 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    const float y = 1.0f - p * t * sibvad_expf(-ax * ax);
    return copysignf(y, x);
}

#endif
