/* gemm.cu: matrix products through cuBLAS and the fully connected layer.
 * The model's matrices are row-major; cuBLAS is column-major, so a row-major
 * C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T (the
 * operands swap, the leading dimensions stay). Bias rows are broadcast before
 * the product (beta = 1), as the CPU does; bias gradients are column sums
 * (cu_colsum_add: fixed-order partial sums over row chunks, deterministic). */
#include "cuda-internal.h"

static inline cublasOperation_t op_of(bool t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; }

/* C = beta C for an empty inner dimension (cuBLAS rejects a zero leading dimension) */
__global__ void scale_matrix_kernel(float *C, int M, int N, int ldc, float beta)
{
    CU_GRID_STRIDE(i, (size_t)M * N)
    {
        float *p = C + (i / N) * (size_t)ldc + i % N;
        *p = beta == 0.0f ? 0.0f : beta * *p;
    }
}

static int empty_inner(cuctx *c, const char *op, int M, int N, int K, float beta, float *C, int ldc)
{
    if (K > 0)
        return 0;
    if (beta != 1.0f) {
        scale_matrix_kernel<<<cu_blocks((size_t)M * N), CU_THREADS, 0, c->stream>>>(C, M, N, ldc, beta);
        CU_LAUNCHED(c, op);
    }
    return 1;
}

static void gemm(cuctx *c, const char *op, bool bf16, bool ta, bool tb, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0 || empty_inner(c, op, M, N, K, beta, C, ldc))
        return;
    if (bf16) /* fp32 in and out, bf16 tensor-core products with fp32 accumulation */
        CU_BLAS(c, op, cublasGemmEx(c->blas, op_of(tb), op_of(ta), N, M, K, &alpha, B, CUDA_R_32F, ldb, A, CUDA_R_32F,
                                    lda, &beta, C, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_GEMM_DEFAULT));
    else
        CU_BLAS(c, op, cublasSgemm(c->blas, op_of(tb), op_of(ta), N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc));
}

void cu_gemm(cuctx *c, const char *op, bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
             int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    gemm(c, op, c->bf16, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void cu_gemm_fp32(cuctx *c, const char *op, bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (c->tf32) /* the handle allows TF32: this product must not use it */
        CU_BLAS(c, op, cublasSetMathMode(c->blas, CUBLAS_DEFAULT_MATH));
    gemm(c, op, false, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (c->tf32)
        CU_BLAS(c, op, cublasSetMathMode(c->blas, CUBLAS_TF32_TENSOR_OP_MATH));
}

void cu_gemm_batched(cuctx *c, const char *op, bool ta, bool tb, int M, int N, int K, float alpha,
                     const float *A, int lda, long long sA, const float *B, int ldb, long long sB, float beta,
                     float *C, int ldc, long long sC, int batch)
{
    if (M <= 0 || N <= 0 || batch <= 0)
        return;
    if (K <= 0) {
        for (int i = 0; i < batch; i++)
            empty_inner(c, op, M, N, K, beta, C + i * sC, ldc);
        return;
    }
    if (batch == 1) {
        cu_gemm(c, op, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (c->bf16)
        CU_BLAS(c, op, cublasGemmStridedBatchedEx(c->blas, op_of(tb), op_of(ta), N, M, K, &alpha, B, CUDA_R_32F, ldb,
                                                  sB, A, CUDA_R_32F, lda, sA, &beta, C, CUDA_R_32F, ldc, sC, batch,
                                                  CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_GEMM_DEFAULT));
    else
        CU_BLAS(c, op, cublasSgemmStridedBatched(c->blas, op_of(tb), op_of(ta), N, M, K, &alpha, B, ldb, sB, A, lda,
                                                 sA, &beta, C, ldc, sC, batch));
}

/* ---------------- column sums ---------------- */

#define CS_X 32
#define CS_Y 16

/* One block: 32 columns x one chunk of rows; 16 row lanes summed in order. */
__global__ void colsum_kernel(float *dst, int direct, const float *x, const float *y, long long R, int C,
                              long long ld, long long grp, long long gstride, long long chunk_rows)
{
    __shared__ float sh[CS_Y][CS_X + 1];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int col = blockIdx.x * CS_X + tx;
    const long long r0 = (long long)blockIdx.y * chunk_rows;
    long long r1 = r0 + chunk_rows;
    if (r1 > R)
        r1 = R;
    float acc = 0.0f;
    if (col < C) {
        long long r = r0 + ty;
        long long g = r / grp, j = r % grp;
        for (; r < r1; r += CS_Y) {
            const long long off = g * gstride + j * ld + col;
            acc += y ? x[off] * y[off] : x[off];
            j += CS_Y;
            while (j >= grp) {
                j -= grp;
                g++;
            }
        }
    }
    sh[ty][tx] = acc;
    __syncthreads();
    if (ty == 0 && col < C) {
        float s = 0.0f;
        for (int i = 0; i < CS_Y; i++)
            s += sh[i][tx];
        if (direct)
            dst[col] += s;
        else
            dst[(size_t)blockIdx.y * C + col] = s;
    }
}

/* launched with cu_blocks (capped): a grid-stride loop over the columns */
__global__ void colsum_finish(float *out, const float *part, int chunks, int C)
{
    CU_GRID_STRIDE(col, (size_t)C)
    {
        float s = 0.0f;
        for (int i = 0; i < chunks; i++)
            s += part[(size_t)i * C + col];
        out[col] += s;
    }
}

void cu_colsum_add(cuctx *c, const char *op, float *out, const float *x, const float *y, long long R, int C,
                   long long ld, long long grp, long long gstride)
{
    if (R <= 0 || C <= 0 || !out)
        return;
    if (grp <= 0 || grp > R)
        grp = R;
    const unsigned cblocks = (unsigned)((C + CS_X - 1) / CS_X);
    long long chunks = (R + 511) / 512;
    long long maxc = (long long)(4 * c->sm_count) / cblocks;
    if (maxc < 1)
        maxc = 1;
    if (chunks > maxc)
        chunks = maxc;
    if (chunks > (long long)(CU_COLSUM_FLOATS / (unsigned)C))
        chunks = CU_COLSUM_FLOATS / (unsigned)C;
    if (chunks > 65535)
        chunks = 65535;
    if (chunks < 1)
        chunks = 1;
    const long long chunk_rows = (R + chunks - 1) / chunks;
    chunks = (R + chunk_rows - 1) / chunk_rows;
    dim3 grid(cblocks, (unsigned)chunks), block(CS_X, CS_Y);
    if (chunks == 1) {
        colsum_kernel<<<grid, block, 0, c->stream>>>(out, 1, x, y, R, C, ld, grp, gstride, chunk_rows);
        CU_LAUNCHED(c, op);
        return;
    }
    colsum_kernel<<<grid, block, 0, c->stream>>>(c->colsum, 0, x, y, R, C, ld, grp, gstride, chunk_rows);
    CU_LAUNCHED(c, op);
    colsum_finish<<<cu_blocks(C), CU_THREADS, 0, c->stream>>>(out, c->colsum, (int)chunks, C);
    CU_LAUNCHED(c, op);
}

/* ---------------- linear ---------------- */

__global__ void bias_rows_kernel(float *out, const float *b, size_t R, int O)
{
    CU_GRID_STRIDE(i, R * (size_t)O)
    out[i] = b[i % O];
}

void cu_linear_forward(sibvad_be be, float *out, const float *in, const float *W, const float *b, int R, int I,
                       int O)
{
    cuctx *c = CTX(be);
    if (R <= 0 || O <= 0)
        return;
    CU_ENTER(c);
    if (b) {
        bias_rows_kernel<<<cu_blocks((size_t)R * O), CU_THREADS, 0, c->stream>>>(out, b, (size_t)R, O);
        CU_LAUNCHED(c, "linear_forward");
    }
    cu_gemm(c, "linear_forward", false, true, R, O, I, 1.0f, in, I, W, I, b ? 1.0f : 0.0f, out, O);
}

void cu_linear_backward(sibvad_be be, float *din, float *dW, float *db, const float *dout, const float *in,
                        const float *W, int R, int I, int O)
{
    cuctx *c = CTX(be);
    if (R <= 0)
        return;
    CU_ENTER(c);
    if (din)
        cu_gemm(c, "linear_backward", false, false, R, I, O, 1.0f, dout, O, W, I, 1.0f, din, I);
    if (dW)
        cu_gemm(c, "linear_backward", true, false, O, I, R, 1.0f, dout, O, in, I, 1.0f, dW, I);
    if (db)
        cu_colsum_add(c, "linear_backward", db, dout, NULL, R, O, O, R, 0);
}
