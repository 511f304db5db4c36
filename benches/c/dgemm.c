/* The single-node reference for scripts/bench-dense.sh: OpenBLAS cblas_dgemm on T threads,
 * N x N, the matrices `dense gemm` uses. Prints the best time of REPS and its GFLOP/s.
 *
 *   dgemm N T REPS */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern void openblas_set_num_threads(int);

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: dgemm N THREADS REPS\n"); return 2; }
    long n = atol(argv[1]);
    int threads = atoi(argv[2]), reps = atoi(argv[3]);
    openblas_set_num_threads(threads);
    double *a = malloc(8 * n * n), *b = malloc(8 * n * n), *c = malloc(8 * n * n);
    for (long i = 0; i < n; i++)
        for (long j = 0; j < n; j++) {
            a[i * n + j] = sin(0.1 * i + 0.37 * j) + (double)((i * 7 + j * 3) % 11) / 11.0 - 0.5;
            b[i * n + j] = cos(0.23 * i - 0.11 * j) + 1.0 / (1.0 + i + j);
        }
    double best = 1e300;
    for (int r = 0; r < reps; r++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double t = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
        if (t < best) best = t;
    }
    printf("dgemm n %ld threads %d seconds %.6f gflops %.3f\n", n, threads, best, 2.0 * n * (double)n * n / best / 1e9);
    return 0;
}
