/* Reference for tessera's checkpoint write: a plain C parallel-HDF5 writer of one field.
 *
 *   h5pcc -O2 -o checkpoint_write benches/c/checkpoint_write.c   (also leaves a .o here)
 *   OMPI_MCA_io=^ompio mpirun -n 2 ./checkpoint_write DIR NX NY REPS
 *
 * Each rank owns a block of rows of an NX x NY field of doubles. One write creates an
 * HDF5 file through MPI-IO (H5Pset_fapl_mpio), writes the field as one dataset with a
 * collective transfer (H5FD_MPIO_COLLECTIVE), and closes it. Two variants are timed,
 * alternating, REPS times each:
 *
 *   write        create + collective write + close (the data may still sit in the
 *                page cache when the clock stops)
 *   write+fsync  the same into NAME.tmp, then every rank opens the file and fsyncs it,
 *                MPI_Barrier, rank 0 renames it to NAME and fsyncs the directory: a
 *                durable, atomic file, as tessera's checkpoints are
 *
 * Time: MPI_Wtime from a barrier to the end of the variant, the maximum over ranks.
 * Between repetitions (untimed) every rank calls sync() and the file is removed, so each
 * one starts with a clean page cache. Prints one line per measurement:
 *
 *   variant=write rep=1 bytes=8388608 seconds=0.0123 MBps=682.0     (MB = 1e6 bytes)
 */
#include <fcntl.h>
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CHECK(ok, what)                                                   \
    do {                                                                  \
        if (!(ok)) {                                                      \
            fprintf(stderr, "checkpoint_write: %s failed\n", what);       \
            MPI_Abort(MPI_COMM_WORLD, 1);                                 \
        }                                                                 \
    } while (0)

static int rank, nranks;
static hsize_t nx, ny, row0, nrows; /* global shape; this rank's first row and row count */
static double *block;

/* Creates `path`, writes the field collectively into /fields/u, closes everything. */
static void write_field(const char *path) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    CHECK(fapl >= 0 && H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL) >= 0, "fapl");
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    CHECK(file >= 0, "H5Fcreate");
    hid_t group = H5Gcreate2(file, "fields", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t shape[2] = {nx, ny}, start[2] = {row0, 0}, count[2] = {nrows, ny};
    hid_t fspace = H5Screate_simple(2, shape, NULL);
    hid_t mspace = H5Screate_simple(2, count, NULL);
    hid_t dset = H5Dcreate2(group, "u", H5T_NATIVE_DOUBLE, fspace, H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT);
    CHECK(group >= 0 && fspace >= 0 && mspace >= 0 && dset >= 0, "H5Dcreate2");
    CHECK(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0,
          "H5Sselect_hyperslab");
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    CHECK(dxpl >= 0 && H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE) >= 0, "dxpl");
    CHECK(H5Dwrite(dset, H5T_NATIVE_DOUBLE, mspace, fspace, dxpl, block) >= 0, "H5Dwrite");
    CHECK(H5Pclose(dxpl) >= 0 && H5Dclose(dset) >= 0 && H5Sclose(mspace) >= 0 &&
              H5Sclose(fspace) >= 0 && H5Gclose(group) >= 0 && H5Fclose(file) >= 0 &&
              H5Pclose(fapl) >= 0,
          "close");
}

/* fsync of a file or directory by name. */
static void fsync_path(const char *path, int flags) {
    int fd = open(path, flags);
    CHECK(fd >= 0 && fsync(fd) == 0 && close(fd) == 0, path);
}

/* Prints one measurement: `seconds` is this rank's, the maximum over ranks is reported. */
static void report(const char *variant, int rep, double seconds) {
    double max;
    MPI_Reduce(&seconds, &max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    double bytes = (double)nx * (double)ny * sizeof(double);
    if (rank == 0)
        printf("variant=%s rep=%d bytes=%.0f seconds=%.6f MBps=%.2f\n", variant, rep, bytes,
               max, bytes / max / 1e6);
}

/* Untimed clean-up between measurements: data to disk, file gone, everyone past it. */
static void settle(const char *path) {
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) CHECK(unlink(path) == 0, "unlink");
    sync();
    MPI_Barrier(MPI_COMM_WORLD);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (argc != 5) {
        if (rank == 0) fprintf(stderr, "usage: checkpoint_write DIR NX NY REPS\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const char *dir = argv[1];
    nx = strtoull(argv[2], NULL, 10);
    ny = strtoull(argv[3], NULL, 10);
    int reps = atoi(argv[4]);
    CHECK(nx >= (hsize_t)nranks && ny > 0 && reps > 0, "arguments");

    row0 = nx * rank / nranks; /* balanced blocks of rows */
    nrows = nx * (rank + 1) / nranks - row0;
    block = malloc(nrows * ny * sizeof(double));
    CHECK(block != NULL, "malloc");
    for (hsize_t i = 0; i < nrows * ny; i++) block[i] = (double)(row0 * ny + i);

    char path[4096], tmp[4096];
    snprintf(path, sizeof path, "%s/c_field.h5", dir);
    snprintf(tmp, sizeof tmp, "%s/c_field.h5.tmp", dir);
    write_field(path); /* warm-up, untimed */
    settle(path);

    for (int rep = 1; rep <= reps; rep++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        write_field(path);
        report("write", rep, MPI_Wtime() - t0);
        settle(path);

        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        write_field(tmp);
        fsync_path(tmp, O_RDONLY);
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) {
            CHECK(rename(tmp, path) == 0, "rename");
            fsync_path(dir, O_RDONLY | O_DIRECTORY);
        }
        report("write+fsync", rep, MPI_Wtime() - t0);
        settle(path);
    }
    free(block);
    MPI_Finalize();
    return 0;
}
