/* The ScaLAPACK reference for scripts/bench-dense.sh: C = A B by pdgemm on a PR x PC
 * BLACS grid, block size NB, with A and B the formulas `dense gemm` uses.
 *
 *   mpirun -n P pdgemm N NB PR PC REPS
 *
 * Prints the best time of REPS products and its GFLOP/s. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "blacs.h"

extern void pdgemm_(const char *, const char *, const int *, const int *, const int *,
                    const double *, const double *, const int *, const int *, const int *,
                    const double *, const int *, const int *, const int *, const double *,
                    double *, const int *, const int *, const int *);

static double entry_a(long i, long j) {
    return sin(0.1 * i + 0.37 * j) + (double)((i * 7 + j * 3) % 11) / 11.0 - 0.5;
}
static double entry_b(long i, long j) { return cos(0.23 * i - 0.11 * j) + 1.0 / (1.0 + i + j); }

/* global index of local index l in a block-cyclic dimension */
static long global_of(int l, int nb, int p, int np) { return ((long)(l / nb) * np + p) * nb + l % nb; }

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    if (argc != 6) {
        fprintf(stderr, "usage: pdgemm N NB PR PC REPS\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int n = atoi(argv[1]), nb = atoi(argv[2]), pr = atoi(argv[3]), pc = atoi(argv[4]), reps = atoi(argv[5]);
    int me, np, ctx, myr, myc, nr, nc, zero = 0, one = 1, info;
    Cblacs_pinfo(&me, &np);
    Cblacs_get(-1, 0, &ctx);
    Cblacs_gridinit(&ctx, "Row", pr, pc);
    Cblacs_gridinfo(ctx, &nr, &nc, &myr, &myc);
    int mloc = numroc_(&n, &nb, &myr, &zero, &pr), nloc = numroc_(&n, &nb, &myc, &zero, &pc);
    int lld = mloc > 1 ? mloc : 1, desc[9];
    descinit_(desc, &n, &n, &nb, &nb, &zero, &zero, &ctx, &lld, &info);
    double *a = malloc(sizeof(double) * lld * (nloc > 0 ? nloc : 1));
    double *b = malloc(sizeof(double) * lld * (nloc > 0 ? nloc : 1));
    double *c = calloc((size_t)lld * (nloc > 0 ? nloc : 1), sizeof(double));
    for (int lj = 0; lj < nloc; lj++)
        for (int li = 0; li < mloc; li++) {
            long i = global_of(li, nb, myr, pr), j = global_of(lj, nb, myc, pc);
            a[li + (long)lj * lld] = entry_a(i, j);
            b[li + (long)lj * lld] = entry_b(i, j);
        }
    double alpha = 1.0, beta = 0.0, best = 1e300;
    for (int r = 0; r < reps; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t = MPI_Wtime();
        pdgemm_("N", "N", &n, &n, &n, &alpha, a, &one, &one, desc, b, &one, &one, desc, &beta, c, &one,
                &one, desc);
        MPI_Barrier(MPI_COMM_WORLD);
        t = MPI_Wtime() - t;
        if (t < best) best = t;
    }
    if (me == 0)
        printf("pdgemm n %d nb %d grid %dx%d seconds %.6f gflops %.3f\n", n, nb, pr, pc, best,
               2.0 * n * (double)n * n / best / 1e9);
    Cblacs_gridexit(ctx);
    MPI_Finalize();
    return 0;
}
