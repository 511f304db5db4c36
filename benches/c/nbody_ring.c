/* The reference for scripts/bench-nbody.sh: a plain C+MPI direct-sum gravity code, the
 * straightforward way (array of structures, the double loop with 1.0/sqrt, a blocking
 * ring shift with MPI_Sendrecv_replace), compiled with gcc -O3 -march=native.
 *
 *   mpirun -n P nbody_ring N STEPS
 *
 * Bodies: N pseudo-random bodies in the unit cube (the same on any rank count), softening
 * 0.01, G = 1, masses 1/N, leapfrog kick-drift-kick with dt 1e-3. Prints the seconds of
 * the force evaluations, the interactions per second and a checksum of the final state. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct { double x, y, z, m; } Source;

static double uniform(unsigned long long *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 3) {
        if (rank == 0) fprintf(stderr, "usage: nbody_ring N STEPS\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    long n = atol(argv[1]);
    int steps = atoi(argv[2]);
    long per = (n + size - 1) / size; /* every block padded to the same length */
    long first = rank * per;
    long mine = first >= n ? 0 : (first + per > n ? n - first : per);
    const double eps2 = 1e-4, dt = 1e-3;

    Source *own = calloc(per, sizeof(Source)), *visit = calloc(per, sizeof(Source));
    double *vx = calloc(per, 8), *vy = calloc(per, 8), *vz = calloc(per, 8);
    double *ax = calloc(per, 8), *ay = calloc(per, 8), *az = calloc(per, 8);
    unsigned long long seed = 12345;
    for (long i = 0; i < n; i++) {
        double x = uniform(&seed), y = uniform(&seed), z = uniform(&seed);
        if (i >= first && i < first + mine)
            own[i - first] = (Source){x, y, z, 1.0 / n};
    }
    /* padding bodies have zero mass and sit far away */
    for (long i = mine; i < per; i++) own[i] = (Source){1e3 + i, 0, 0, 0};

    double force_seconds = 0;
    for (int step = 0; step <= steps; step++) {
        if (step > 0) {
            for (long i = 0; i < mine; i++) {
                vx[i] += 0.5 * dt * ax[i]; vy[i] += 0.5 * dt * ay[i]; vz[i] += 0.5 * dt * az[i];
                own[i].x += dt * vx[i]; own[i].y += dt * vy[i]; own[i].z += dt * vz[i];
            }
        }
        double t0 = MPI_Wtime();
        for (long i = 0; i < per; i++) { ax[i] = 0; ay[i] = 0; az[i] = 0; visit[i] = own[i]; }
        for (int s = 0; s < size; s++) {
            for (long i = 0; i < mine; i++) {
                double fx = 0, fy = 0, fz = 0;
                for (long j = 0; j < per; j++) {
                    double dx = visit[j].x - own[i].x, dy = visit[j].y - own[i].y,
                           dz = visit[j].z - own[i].z;
                    double r2 = dx * dx + dy * dy + dz * dz + eps2;
                    double inv = 1.0 / sqrt(r2);
                    double f = visit[j].m * inv * inv * inv;
                    fx += f * dx; fy += f * dy; fz += f * dz;
                }
                ax[i] += fx; ay[i] += fy; az[i] += fz;
            }
            if (size > 1)
                MPI_Sendrecv_replace(visit, (int)(per * 4), MPI_DOUBLE, (rank + 1) % size, 0,
                                     (rank + size - 1) % size, 0, MPI_COMM_WORLD,
                                     MPI_STATUS_IGNORE);
        }
        force_seconds += MPI_Wtime() - t0;
        if (step > 0)
            for (long i = 0; i < mine; i++) {
                vx[i] += 0.5 * dt * ax[i]; vy[i] += 0.5 * dt * ay[i]; vz[i] += 0.5 * dt * az[i];
            }
    }
    double local = 0, sum, slowest;
    for (long i = 0; i < mine; i++) local += own[i].x + own[i].y + own[i].z + vx[i];
    MPI_Reduce(&local, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&force_seconds, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        double interactions = (double)n * (double)n * (steps + 1);
        printf("bodies %ld steps %d ranks %d force_seconds %.6f interactions_per_second %.6e checksum %.15e\n",
               n, steps, size, slowest, interactions / slowest, sum);
    }
    MPI_Finalize();
    return 0;
}
