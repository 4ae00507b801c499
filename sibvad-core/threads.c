/* threads.c: how many CPU threads the core uses (OpenMP loops and BLAS);
 * process-wide for BLAS, see sibvad.h. */
#include "sibvad.h"

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void sibvad_set_threads(int n)
{
    if (n < 1)
        n = 1;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    openblas_set_num_threads(n);
}
