/* The reference stencil loop for scripts/bench-stencils.sh: the heat equation's FTCS
 * update u' = u + r sum_a (u_{c-e_a} - 2 u_c + u_{c+e_a}) (5-point 2D, 7-point 3D), u = 0
 * on the boundary, on an N^d grid split into slabs along the slowest axis over MPI ranks
 * (one ghost layer traded with MPI_Sendrecv before every step), written the way a careful
 * C programmer would: two flat arrays, restrict pointers, the innermost loop unit-stride
 * for the compiler to vectorise (gcc -O3 -march=native), and in 3D the sweep blocked over
 * j so that the three planes a block of rows reads stay in cache.
 *
 *   mpirun -n R stencil_loop 2 N STEPS
 *   mpirun -n R stencil_loop 3 N STEPS [JBLOCK]     (rows per j block, default 16)
 *
 * Prints `glups=RATE seconds=S checksum=SUM`: points updated per second over the time loop
 * (slowest rank), and the sum of the final field (so that no work can be optimised away).
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc < 4) {
        if (rank == 0) fprintf(stderr, "usage: stencil_loop 2|3 N STEPS [JBLOCK]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const int dim = atoi(argv[1]);
    const long n = atol(argv[2]);
    const int steps = atoi(argv[3]);
    const long jblock = argc > 4 ? atol(argv[4]) : 16;
    if ((dim != 2 && dim != 3) || n < size || steps < 1 || jblock < 1) {
        if (rank == 0) fprintf(stderr, "stencil_loop: bad arguments\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    /* this rank's slab of planes (3D) or rows (2D): [first, first + own) */
    const long own = n / size + (rank < n % size);
    const long first = rank * (n / size) + (rank < n % size ? rank : n % size);
    const long row = n + 2;                       /* cells of a ghosted row */
    const long plane = dim == 3 ? row * row : row; /* cells of one slab layer */
    const long cells = (own + 2) * plane;
    double *restrict u = calloc(cells, sizeof(double));
    double *restrict v = calloc(cells, sizeof(double));
    if (!u || !v) {
        fprintf(stderr, "stencil_loop: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    /* u0 = prod sin(pi x_a), x = (i + 1) h, h = 1 / (n + 1); the time step at 0.8 of
     * the stability limit, r = 0.8 / (2 d) */
    const double h = 1.0 / (n + 1), pi = acos(-1.0), r = 0.8 / (2.0 * dim);
    for (long i = 1; i <= own; i++)
        for (long j = 1; j <= n; j++) {
            double s = sin(pi * (first + i) * h) * sin(pi * j * h);
            if (dim == 2) {
                u[i * row + j] = s;
            } else {
                for (long k = 1; k <= n; k++) u[i * plane + j * row + k] = s * sin(pi * k * h);
            }
        }
    /* touch every page of both arrays before the clock starts (a fresh page costs a fault) */
    for (long x = 0; x < cells; x++) v[x] = u[x];
    const int below = rank > 0 ? rank - 1 : MPI_PROC_NULL;
    const int above = rank < size - 1 ? rank + 1 : MPI_PROC_NULL;

    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    for (int s = 0; s < steps; s++) {
        MPI_Sendrecv(u + plane, plane, MPI_DOUBLE, below, 0, u + (own + 1) * plane, plane,
                     MPI_DOUBLE, above, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Sendrecv(u + own * plane, plane, MPI_DOUBLE, above, 1, u, plane, MPI_DOUBLE, below,
                     1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (dim == 2) {
            for (long i = 1; i <= own; i++) {
                const double *restrict c = u + i * row, *restrict so = c - row,
                                       *restrict no = c + row;
                double *restrict out = v + i * row;
                for (long k = 1; k <= n; k++)
                    out[k] = c[k] + r * (so[k] - 2.0 * c[k] + no[k]) +
                             r * (c[k - 1] - 2.0 * c[k] + c[k + 1]);
            }
        } else {
            for (long jj = 1; jj <= n; jj += jblock) {
                const long jend = jj + jblock <= n + 1 ? jj + jblock : n + 1;
                for (long i = 1; i <= own; i++)
                    for (long j = jj; j < jend; j++) {
                        const double *restrict c = u + i * plane + j * row;
                        const double *restrict dn = c - plane, *restrict up = c + plane;
                        const double *restrict so = c - row, *restrict no = c + row;
                        double *restrict out = v + i * plane + j * row;
                        for (long k = 1; k <= n; k++)
                            out[k] = c[k] + r * (dn[k] - 2.0 * c[k] + up[k]) +
                                     r * (so[k] - 2.0 * c[k] + no[k]) +
                                     r * (c[k - 1] - 2.0 * c[k] + c[k + 1]);
                    }
            }
        }
        double *t = u;
        u = v;
        v = t;
    }
    double seconds = MPI_Wtime() - t0, slowest, local = 0.0, sum;
    MPI_Reduce(&seconds, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    for (long i = 1; i <= own; i++)
        for (long x = 0; x < plane; x++) local += u[i * plane + x];
    MPI_Reduce(&local, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        const double points = dim == 2 ? (double)n * n : (double)n * n * n;
        printf("glups=%.4f seconds=%.4f checksum=%.12e\n", points * steps / slowest / 1e9,
               slowest, sum);
    }
    free(u);
    free(v);
    MPI_Finalize();
    return 0;
}
