/* The BLACS and ScaLAPACK tool routines the ScaLAPACK reference programs call (Debian's
 * libscalapack-openmpi declares no C header for them). */
#ifndef TESSERA_BENCH_BLACS_H
#define TESSERA_BENCH_BLACS_H
extern void Cblacs_pinfo(int *, int *);
extern void Cblacs_get(int, int, int *);
extern void Cblacs_gridinit(int *, const char *, int, int);
extern void Cblacs_gridinfo(int, int *, int *, int *, int *);
extern void Cblacs_gridexit(int);
extern int numroc_(const int *, const int *, const int *, const int *, const int *);
extern void descinit_(int *, const int *, const int *, const int *, const int *, const int *,
                      const int *, const int *, const int *, int *);
#endif
