/* rng.h: a small deterministic random generator (splitmix64 seeding a
 * xoshiro256**), uniform and normal floats, for initialisation and tests. */
#ifndef SIBVAD_RNG_H
#define SIBVAD_RNG_H

#include <stdint.h>

typedef struct sibvad_rng {
    uint64_t s[4];
} sibvad_rng;

void sibvad_rng_seed(sibvad_rng *r, uint64_t seed);
uint64_t sibvad_rng_next(sibvad_rng *r);
float sibvad_rng_uniform(sibvad_rng *r);              /* [0, 1) */
float sibvad_rng_normal(sibvad_rng *r);               /* N(0, 1) */
float sibvad_rng_trunc_normal(sibvad_rng *r, float std); /* N(0, std) cut at 2 std */

#endif
