/* The one-core reference for the TSQR part of scripts/bench-dense.sh: LAPACK dgeqrf (QR)
 * then dorgqr (the explicit M x N Q) from OpenBLAS on one thread, each timed on its own,
 * on the M x N matrix `dense tsqr` generates (entry_tall in simulations/dense.rs),
 * column-major with lda = M.
 *
 *   dgeqrf M N REPS
 *
 * Each rep fills A, then times dgeqrf and dorgqr; the best of REPS is kept for each.
 * Prints two lines in pdgeqrf's format (benches/c/pdgeqrf.c), with its checks (relerr at
 * most 1e-12, qcol and qnorm at most 10 n eps sqrt(M); else "FAILED" and exit status 1):
 *
 *   dgeqrf M 100000 N 32 ranks 1 mb 100000 nb 32 reps 1 factor 0.012345 s q 0.023456 s
 *   dgeqrf check absR00 ... colnorm ... relerr ... qcol ... qnorm ... bound ... Rnn ... ok */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern void openblas_set_num_threads(int);
extern void dgeqrf_(const int *, const int *, double *, const int *, double *, double *, const int *, int *);
extern void dorgqr_(const int *, const int *, const int *, double *, const int *, const double *, double *,
                    const int *, int *);

/* entry_tall in simulations/dense.rs, term for term */
static double entry_tall(long i, long j, long m) {
    double t = (double)i / (double)m;
    return cos(3.14159265358979323846 * (double)(j + 1) * t) + (i % (j + 2) == 0 ? 0.5 : 0.0);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: dgeqrf M N REPS\n"); return 2; }
    int m = atoi(argv[1]), n = atoi(argv[2]), reps = atoi(argv[3]), info, minus_one = -1;
    if (m < 1 || n < 1 || n > m || reps < 1) { fprintf(stderr, "dgeqrf: need 1 <= N <= M, REPS >= 1\n"); return 2; }
    openblas_set_num_threads(1);
    double *a = malloc(sizeof(double) * m * n), *tau = malloc(sizeof(double) * n), query;
    /* workspace queries, outside the timings */
    dgeqrf_(&m, &n, a, &m, tau, &query, &minus_one, &info);
    int lwork = (int)query;
    dorgqr_(&m, &n, &n, a, &m, tau, &query, &minus_one, &info);
    if ((int)query > lwork) lwork = (int)query;
    if (lwork < 1) lwork = 1;
    double *work = malloc(sizeof(double) * lwork);
    if (!a || !tau || !work) { fprintf(stderr, "dgeqrf: out of memory\n"); return 1; }

    double best_factor = 1e300, best_q = 1e300, r00 = 0.0, rnn = 0.0;
    for (int r = 0; r < reps; r++) {
        for (long j = 0; j < n; j++)
            for (long i = 0; i < m; i++) a[i + j * m] = entry_tall(i, j, m);
        double t = now();
        dgeqrf_(&m, &n, a, &m, tau, work, &lwork, &info);
        t = now() - t;
        if (info != 0) { fprintf(stderr, "dgeqrf: dgeqrf info %d\n", info); return 1; }
        if (t < best_factor) best_factor = t;
        r00 = a[0];
        rnn = a[(n - 1) + (long)(n - 1) * m];
        t = now();
        dorgqr_(&m, &n, &n, a, &m, tau, work, &lwork, &info);
        t = now() - t;
        if (info != 0) { fprintf(stderr, "dgeqrf: dorgqr info %d\n", info); return 1; }
        if (t < best_q) best_q = t;
    }

    /* checks on the last rep's Q: column norms, and Q[:,0] R[0,0] = A[:,0]; sums in long
     * double so that the check's own rounding stays below LAPACK's */
    long double colsq = 0.0L, diffsq = 0.0L;
    double qnorm = 0.0;
    for (long i = 0; i < m; i++) {
        double aij = entry_tall(i, 0, m);
        long double d = (long double)a[i] * r00 - aij;
        colsq += (long double)aij * aij;
        diffsq += d * d;
    }
    for (long j = 0; j < n; j++) {
        long double s = 0.0L;
        for (long i = 0; i < m; i++) s += (long double)a[i + j * m] * a[i + j * m];
        double e = fabs(sqrt((double)s) - 1.0);
        if (e > qnorm) qnorm = e;
    }
    double colnorm = sqrt((double)colsq), relerr = fabs(fabs(r00) - colnorm) / colnorm,
           qcol = sqrt((double)diffsq) / colnorm;
    /* Q's bound: tessera's for a backward-stable QR, 10 n eps sqrt(m) */
    double bound = 10.0 * n * 2.220446049250313e-16 * sqrt((double)m);
    int ok = relerr <= 1e-12 && qcol <= bound && qnorm <= bound;
    printf("dgeqrf M %d N %d ranks 1 mb %d nb %d reps %d factor %.6f s q %.6f s\n", m, n, m, n, reps, best_factor,
           best_q);
    printf("dgeqrf check absR00 %.15e colnorm %.15e relerr %.1e qcol %.1e qnorm %.1e bound %.1e Rnn %.15e %s\n",
           fabs(r00), colnorm, relerr, qcol, qnorm, bound, rnn, ok ? "ok" : "FAILED");
    free(work);
    free(tau);
    free(a);
    return ok ? 0 : 1;
}
