/* rng.c: splitmix64-seeded xoshiro256** and derived distributions. */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void sibvad_rng_seed(sibvad_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sibvad_rng_next(sibvad_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float sibvad_rng_uniform(sibvad_rng *r)
{
    return (float)(sibvad_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

float sibvad_rng_normal(sibvad_rng *r)
{
    double u1 = ((sibvad_rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = (sibvad_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

float sibvad_rng_trunc_normal(sibvad_rng *r, float std)
{
    for (;;) {
        float z = sibvad_rng_normal(r);
        if (z >= -2.0f && z <= 2.0f)
            return z * std;
    }
}
