/* The ScaLAPACK reference for the TSQR part of scripts/bench-dense.sh: QR of the M x N
 * matrix `dense tsqr` generates (entry_tall in simulations/dense.rs) by pdgeqrf on a P x 1
 * BLACS grid, then the explicit M x N Q by pdorgqr, each timed on its own.
 *
 *   mpirun -n P pdgeqrf M N REPS [MB [NB]]
 *
 * MB, the row block, defaults to ceil(M / P): one block of rows per rank, like tessera's
 * row partition; NB, the column block, defaults to N (one column block). Each rep fills A,
 * then times pdgeqrf (barrier before and after) and pdorgqr (the same); the best of REPS
 * is kept for each. Rank 0 prints two lines:
 *
 *   pdgeqrf M 100000 N 32 ranks 2 mb 50000 nb 32 reps 1 factor 0.012345 s q 0.023456 s
 *   pdgeqrf check absR00 2.500019999920008e+02 colnorm 2.500019999920010e+02 relerr 9.1e-16 \
 *       qcol 8.8e-17 qnorm 8.0e-15 bound 2.2e-11 Rnn -2.252323584579083e+02 ok
 *
 * The check (after the last rep): |R[0,0]| against the 2-norm of A's column 0, relerr at
 * most 1e-12; ||Q[:,0] R[0,0] - A[:,0]|| / ||A[:,0]|| (qcol) and max_j | ||Q[:,j]|| - 1 |
 * (qnorm) at most tessera's bound 10 n eps sqrt(M); else the line ends "FAILED" and the
 * exit status is 1. R[n-1,n-1] is printed to compare with tessera's (equal up to sign). */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "blacs.h"

extern void pdgeqrf_(const int *, const int *, double *, const int *, const int *, const int *,
                     double *, double *, const int *, int *);
extern void pdorgqr_(const int *, const int *, const int *, double *, const int *, const int *,
                     const int *, const double *, double *, const int *, int *);

/* entry_tall in simulations/dense.rs, term for term */
static double entry_tall(long i, long j, long m) {
    double t = (double)i / (double)m;
    return cos(3.14159265358979323846 * (double)(j + 1) * t) + (i % (j + 2) == 0 ? 0.5 : 0.0);
}

/* global index of local index l in a block-cyclic dimension */
static long global_of(int l, int nb, int p, int np) { return ((long)(l / nb) * np + p) * nb + l % nb; }

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: pdgeqrf M N REPS [MB [NB]]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int me, np, ctx, myr, myc, nr, nc, zero = 0, one = 1, info;
    Cblacs_pinfo(&me, &np);
    int m = atoi(argv[1]), n = atoi(argv[2]), reps = atoi(argv[3]);
    int mb = argc > 4 ? atoi(argv[4]) : (m + np - 1) / np, nb = argc > 5 ? atoi(argv[5]) : n;
    if (m < 1 || n < 1 || n > m || reps < 1 || mb < 1 || nb < 1) {
        if (me == 0) fprintf(stderr, "pdgeqrf: need 1 <= N <= M, REPS >= 1, MB >= 1, NB >= 1\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    Cblacs_get(-1, 0, &ctx);
    Cblacs_gridinit(&ctx, "Row", np, 1);
    Cblacs_gridinfo(ctx, &nr, &nc, &myr, &myc);
    int mloc = numroc_(&m, &mb, &myr, &zero, &nr), nloc = numroc_(&n, &nb, &myc, &zero, &nc);
    int lld = mloc > 1 ? mloc : 1, desc[9];
    descinit_(desc, &m, &n, &mb, &nb, &zero, &zero, &ctx, &lld, &info);
    if (info != 0) {
        fprintf(stderr, "pdgeqrf: descinit info %d\n", info);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double *a = malloc(sizeof(double) * lld * (nloc > 0 ? nloc : 1));
    double *tau = malloc(sizeof(double) * (nloc > 0 ? nloc : 1));
    /* workspace queries, outside the timings */
    double query;
    int minus_one = -1;
    pdgeqrf_(&m, &n, a, &one, &one, desc, tau, &query, &minus_one, &info);
    int lwork_qr = (int)query;
    pdorgqr_(&m, &n, &n, a, &one, &one, desc, tau, &query, &minus_one, &info);
    int lwork_q = (int)query;
    int lwork = lwork_qr > lwork_q ? lwork_qr : lwork_q;
    if (lwork < 1) lwork = 1;
    double *work = malloc(sizeof(double) * lwork);
    if (!a || !tau || !work) {
        fprintf(stderr, "pdgeqrf: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    double best_factor = 1e300, best_q = 1e300, r00 = 0.0, rnn = 0.0;
    for (int r = 0; r < reps; r++) {
        for (int lj = 0; lj < nloc; lj++)
            for (int li = 0; li < mloc; li++)
                a[li + (long)lj * lld] = entry_tall(global_of(li, mb, myr, nr), global_of(lj, nb, myc, nc), m);
        MPI_Barrier(MPI_COMM_WORLD);
        double t = MPI_Wtime();
        pdgeqrf_(&m, &n, a, &one, &one, desc, tau, work, &lwork, &info);
        MPI_Barrier(MPI_COMM_WORLD);
        t = MPI_Wtime() - t;
        if (info != 0) {
            fprintf(stderr, "pdgeqrf: pdgeqrf info %d on rank %d\n", info, me);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (t < best_factor) best_factor = t;
        /* R[0,0] and R[n-1,n-1] from the ranks holding those rows (one process column:
         * local column j is global column j) */
        double mine[2] = {0.0, 0.0}, both[2];
        for (int li = 0; li < mloc; li++) {
            long i = global_of(li, mb, myr, nr);
            if (i == 0) mine[0] = a[li];
            if (i == n - 1) mine[1] = a[li + (long)(n - 1) * lld];
        }
        MPI_Allreduce(mine, both, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        r00 = both[0];
        rnn = both[1];

        MPI_Barrier(MPI_COMM_WORLD);
        t = MPI_Wtime();
        pdorgqr_(&m, &n, &n, a, &one, &one, desc, tau, work, &lwork, &info);
        MPI_Barrier(MPI_COMM_WORLD);
        t = MPI_Wtime() - t;
        if (info != 0) {
            fprintf(stderr, "pdgeqrf: pdorgqr info %d on rank %d\n", info, me);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (t < best_q) best_q = t;
    }

    /* checks on the last rep's Q: column norms, and Q[:,0] R[0,0] = A[:,0]; sums in long
     * double so that the check's own rounding stays below LAPACK's */
    long double *part = calloc((size_t)n + 2, sizeof(long double));
    double *sums = calloc((size_t)n + 2, sizeof(double)), *total = calloc((size_t)n + 2, sizeof(double));
    for (int lj = 0; lj < nloc; lj++) {
        long j = global_of(lj, nb, myc, nc);
        for (int li = 0; li < mloc; li++) {
            double q = a[li + (long)lj * lld];
            part[j] += (long double)q * q;
            if (j == 0) {
                double aij = entry_tall(global_of(li, mb, myr, nr), 0, m);
                long double d = (long double)q * r00 - aij;
                part[n] += (long double)aij * aij;
                part[n + 1] += d * d;
            }
        }
    }
    for (int k = 0; k < n + 2; k++) sums[k] = (double)part[k];
    MPI_Allreduce(sums, total, n + 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    double colnorm = sqrt(total[n]), relerr = fabs(fabs(r00) - colnorm) / colnorm,
           qcol = sqrt(total[n + 1]) / colnorm, qnorm = 0.0;
    for (int j = 0; j < n; j++) {
        double e = fabs(sqrt(total[j]) - 1.0);
        if (e > qnorm) qnorm = e;
    }
    /* Q's bound: tessera's for a backward-stable QR, 10 n eps sqrt(m) */
    double bound = 10.0 * n * 2.220446049250313e-16 * sqrt((double)m);
    int ok = relerr <= 1e-12 && qcol <= bound && qnorm <= bound;
    if (me == 0) {
        printf("pdgeqrf M %d N %d ranks %d mb %d nb %d reps %d factor %.6f s q %.6f s\n", m, n, np, mb, nb,
               reps, best_factor, best_q);
        printf("pdgeqrf check absR00 %.15e colnorm %.15e relerr %.1e qcol %.1e qnorm %.1e bound %.1e Rnn %.15e %s\n",
               fabs(r00), colnorm, relerr, qcol, qnorm, bound, rnn, ok ? "ok" : "FAILED");
    }
    free(part);
    free(sums);
    free(total);
    free(work);
    free(tau);
    free(a);
    Cblacs_gridexit(ctx);
    MPI_Finalize();
    return ok ? 0 : 1;
}
