/* test_fastmath: the core's own exp and erf (sibvad-core/ops/fastmath.h)
 * against libm over the float range, at the clamps, and on NaN and the
 * infinities, which must come out as libm's (NaN stays NaN) with no undefined
 * behaviour on the way (the sanitizer build runs this too). */
#include <math.h>
#include <stdio.h>

#include "ops/fastmath.h"

static int failures;

static void check(int ok, const char *what, float x, float got, float want)
{
    if (!ok) {
        fprintf(stderr, "FAIL %s: x=%.9g got %.9g want %.9g\n", what, x, got, want);
        failures++;
    }
}

int main(void)
{
    /* relative error of exp over [-87, 88], abs error of erf over [-6, 6] */
    float worst_exp = 0.0f, worst_erf = 0.0f;
    for (int i = 0; i <= 1750000; i++) {
        const float x = -87.0f + (float)i * 1e-4f;
        const float got = sibvad_expf(x), want = expf(x);
        const float rel = fabsf(got - want) / want;
        if (rel > worst_exp)
            worst_exp = rel;
    }
    for (int i = 0; i <= 1200000; i++) {
        const float x = -6.0f + (float)i * 1e-5f;
        const float err = fabsf(sibvad_erff(x) - erff(x));
        if (err > worst_erf)
            worst_erf = err;
    }
    printf("exp: worst relative error %.3g over [-87, 88]\n", worst_exp);
    printf("erf: worst absolute error %.3g over [-6, 6]\n", worst_erf);
    check(worst_exp < 4e-7f, "exp relative error", 0, worst_exp, 4e-7f);
    check(worst_erf < 1e-6f, "erf absolute error", 0, worst_erf, 1e-6f);

    /* the clamps: far below underflows to (nearly) 0, far above stays finite */
    check(sibvad_expf(-1000.0f) >= 0.0f && sibvad_expf(-1000.0f) < 1e-37f, "exp(-1000)", -1000.0f,
          sibvad_expf(-1000.0f), 0.0f);
    check(isfinite(sibvad_expf(1000.0f)) && sibvad_expf(1000.0f) > 1e38f, "exp(1000)", 1000.0f,
          sibvad_expf(1000.0f), expf(88.0f));
    check(sibvad_expf(-INFINITY) < 1e-37f, "exp(-inf)", -INFINITY, sibvad_expf(-INFINITY), 0.0f);
    check(sibvad_erff(INFINITY) == 1.0f && sibvad_erff(-INFINITY) == -1.0f, "erf(+-inf)", INFINITY,
          sibvad_erff(INFINITY), 1.0f);

    /* NaN in, NaN out (a diverging training or a bad weight must show as NaN,
     * which the trainer and the element then refuse) */
    const float nan = NAN;
    check(isnan(sibvad_expf(nan)), "exp(NaN)", nan, sibvad_expf(nan), nan);
    check(isnan(sibvad_expf(-nan)), "exp(-NaN)", -nan, sibvad_expf(-nan), nan);
    check(isnan(sibvad_erff(nan)), "erf(NaN)", nan, sibvad_erff(nan), nan);

    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("fastmath: all checks passed\n");
    return 0;
}
