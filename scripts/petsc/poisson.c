/*
 * PETSc reference for tessera's Krylov solvers: the 3D Poisson problem
 *
 *     -Laplace(u) = f  in (0,1)^3,   u = 0 on the boundary.
 *
 * Grid: `-n N` intervals per axis, h = 1/N; the unknowns are the interior vertices
 * x_i = i h, i = 1..N-1 on each axis, so (N-1)^3 of them (DMDA index i <-> vertex i+1).
 *
 * Matrix: the 7-point Laplacian scaled by h^2, A = h^2 (-L): 6 on the diagonal and -1 for
 * each neighbour that is an interior vertex (boundary neighbours carry u = 0 and are
 * dropped). Symmetric positive definite; assembled as AIJ, columns in natural order.
 *
 * Manufactured solution: u(x,y,z) = g(x) g(y) g(z) with
 *     g(t)   = t (1 - t) e^t,
 *     g'(t)  = (1 - t - t^2) e^t,
 *     g''(t) = -t (t + 3) e^t,
 * so f = -(g''(x) g(y) g(z) + g(x) g''(y) g(z) + g(x) g(y) g''(z)), and b_i = h^2 f(x_i).
 * g vanishes at 0 and 1, so the Dirichlet data is exactly zero. The discretisation
 * error max |x_i - u(x_i)| is O(h^2).
 *
 * Solve: zero initial guess; the method comes from the options database, e.g.
 *     -ksp_type cg -pc_type jacobi -ksp_rtol 1e-8 -ksp_norm_type unpreconditioned
 *     -ksp_type cg -pc_type gamg
 *     -ksp_type cg -pc_type hypre -pc_hypre_type boomeramg
 *
 * Output (rank 0): a readable summary and one `RESULT key=value ...` line, where
 *   relres    = ||b - A x||_2 / ||b||_2, recomputed after the solve,
 *   err       = max_i |x_i - u(x_i)|,
 *   setup_s   = asm_s + pcsetup_s: matrix creation + assembly, and KSPSetUp (incl. PCSetUp),
 *   solve_s   = KSPSolve,
 *   total_s   = from the start of the assembly to the end of the solve (setup + rhs + solve),
 *   per_it_s  = solve_s / its.
 * Each interval is bracketed by MPI_Barrier, so it is the slowest rank's time.
 */
static const char help[] = "3D Poisson reference (see the header of poisson.c).\n"
                           "  -n N : grid intervals per axis (default 64), (N-1)^3 unknowns\n";

#include <petscksp.h>
#include <petscdmda.h>

static double g(double t) { return t * (1.0 - t) * exp(t); }
static double g2(double t) { return -t * (t + 3.0) * exp(t); } /* g'' */

static double wtime(void)
{
  MPI_Barrier(PETSC_COMM_WORLD);
  return MPI_Wtime();
}

/* A = h^2 (-L) on the DMDA's (N-1)^3 points; entries of each row in natural order. */
static PetscErrorCode AssembleMatrix(DM da, Mat *A)
{
  PetscInt M, xs, ys, zs, xm, ym, zm;

  PetscFunctionBeginUser;
  PetscCall(DMDAGetInfo(da, NULL, &M, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
  PetscCall(DMDAGetCorners(da, &xs, &ys, &zs, &xm, &ym, &zm));
  PetscCall(DMCreateMatrix(da, A));
  for (PetscInt k = zs; k < zs + zm; k++)
    for (PetscInt j = ys; j < ys + ym; j++)
      for (PetscInt i = xs; i < xs + xm; i++) {
        MatStencil  row = {.k = k, .j = j, .i = i}, col[7];
        PetscScalar v[7];
        PetscInt    n = 0;
        /* (k-1), (j-1), (i-1), centre, (i+1), (j+1), (k+1): increasing global index */
        if (k > 0) { col[n] = (MatStencil){.k = k - 1, .j = j, .i = i}; v[n++] = -1.0; }
        if (j > 0) { col[n] = (MatStencil){.k = k, .j = j - 1, .i = i}; v[n++] = -1.0; }
        if (i > 0) { col[n] = (MatStencil){.k = k, .j = j, .i = i - 1}; v[n++] = -1.0; }
        col[n] = row; v[n++] = 6.0;
        if (i < M - 1) { col[n] = (MatStencil){.k = k, .j = j, .i = i + 1}; v[n++] = -1.0; }
        if (j < M - 1) { col[n] = (MatStencil){.k = k, .j = j + 1, .i = i}; v[n++] = -1.0; }
        if (k < M - 1) { col[n] = (MatStencil){.k = k + 1, .j = j, .i = i}; v[n++] = -1.0; }
        PetscCall(MatSetValuesStencil(*A, 1, &row, n, col, v, INSERT_VALUES));
      }
  PetscCall(MatAssemblyBegin(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*A, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

/* b = h^2 f and the exact solution u at the owned vertices. */
static PetscErrorCode FillRhsAndExact(DM da, PetscInt N, Vec b, Vec u)
{
  const double  h = 1.0 / (double)N;
  double       *gv, *g2v;
  PetscScalar ***ba, ***ua;
  PetscInt      xs, ys, zs, xm, ym, zm;

  PetscFunctionBeginUser;
  /* g and g'' at the vertices 0..N, shared by the three axes */
  PetscCall(PetscMalloc2(N + 1, &gv, N + 1, &g2v));
  for (PetscInt i = 0; i <= N; i++) {
    gv[i]  = g(i * h);
    g2v[i] = g2(i * h);
  }
  PetscCall(DMDAGetCorners(da, &xs, &ys, &zs, &xm, &ym, &zm));
  PetscCall(DMDAVecGetArray(da, b, &ba));
  PetscCall(DMDAVecGetArray(da, u, &ua));
  for (PetscInt k = zs; k < zs + zm; k++)
    for (PetscInt j = ys; j < ys + ym; j++)
      for (PetscInt i = xs; i < xs + xm; i++) {
        const PetscInt X = i + 1, Y = j + 1, Z = k + 1; /* vertex indices */
        const double   f = -(g2v[X] * gv[Y] * gv[Z] + gv[X] * g2v[Y] * gv[Z] + gv[X] * gv[Y] * g2v[Z]);
        ba[k][j][i] = h * h * f;
        ua[k][j][i] = gv[X] * gv[Y] * gv[Z];
      }
  PetscCall(DMDAVecRestoreArray(da, b, &ba));
  PetscCall(DMDAVecRestoreArray(da, u, &ua));
  PetscCall(PetscFree2(gv, g2v));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  DM                 da;
  Mat                A;
  Vec                x, b, u, r;
  KSP                ksp;
  KSPType            ksptype;
  PCType             pctype;
  PC                 pc;
  KSPNormType        normtype;
  KSPConvergedReason reason;
  PetscInt           N = 64, its;
  PetscReal          rtol, bnorm, rnorm, err;
  PetscMPIInt        size;
  double             t0, t1, t2, t3, t4;

  PetscFunctionBeginUser;
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-n", &N, NULL));
  PetscCheck(N >= 2, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-n must be at least 2 (got %" PetscInt_FMT ")", N);
  const PetscInt M = N - 1; /* interior vertices per axis */

  PetscCall(DMDACreate3d(PETSC_COMM_WORLD, DM_BOUNDARY_NONE, DM_BOUNDARY_NONE, DM_BOUNDARY_NONE, DMDA_STENCIL_STAR, M, M, M,
                         PETSC_DECIDE, PETSC_DECIDE, PETSC_DECIDE, 1, 1, NULL, NULL, NULL, &da));
  PetscCall(DMSetMatType(da, MATAIJ));
  PetscCall(DMSetUp(da));
  PetscCall(KSPCreate(PETSC_COMM_WORLD, &ksp));

  t0 = wtime();
  PetscCall(AssembleMatrix(da, &A));
  t1 = wtime();
  PetscCall(KSPSetOperators(ksp, A, A));
  PetscCall(KSPSetFromOptions(ksp));
  PetscCall(KSPSetUp(ksp)); /* includes PCSetUp (AMG hierarchy, Jacobi diagonal, ...) */
  t2 = wtime();
  PetscCall(DMCreateGlobalVector(da, &b));
  PetscCall(VecDuplicate(b, &x));
  PetscCall(VecDuplicate(b, &u));
  PetscCall(VecDuplicate(b, &r));
  PetscCall(FillRhsAndExact(da, N, b, u));
  PetscCall(VecSet(x, 0.0)); /* zero initial guess (the KSP default) */
  t3 = wtime();
  PetscCall(KSPSolve(ksp, b, x));
  t4 = wtime();

  PetscCall(KSPGetIterationNumber(ksp, &its));
  PetscCall(KSPGetConvergedReason(ksp, &reason));
  PetscCall(KSPGetType(ksp, &ksptype));
  PetscCall(KSPGetPC(ksp, &pc));
  PetscCall(PCGetType(pc, &pctype));
  PetscCall(KSPGetNormType(ksp, &normtype));
  PetscCall(KSPGetTolerances(ksp, &rtol, NULL, NULL, NULL));

  /* true relative residual and max-norm error against the exact solution */
  PetscCall(MatMult(A, x, r));
  PetscCall(VecAYPX(r, -1.0, b)); /* r = b - A x */
  PetscCall(VecNorm(r, NORM_2, &rnorm));
  PetscCall(VecNorm(b, NORM_2, &bnorm));
  PetscCall(VecAXPY(u, -1.0, x));
  PetscCall(VecNorm(u, NORM_INFINITY, &err));

  const double asm_s = t1 - t0, pcsetup_s = t2 - t1, solve_s = t4 - t3, total_s = t4 - t0;
  const double per_it = its > 0 ? solve_s / (double)its : 0.0;
  const char  *norm   = KSPNormTypes[normtype];
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "poisson: n=%" PetscInt_FMT " (h=1/%" PetscInt_FMT "), %" PetscInt_FMT "^3 = %" PetscInt_FMT " unknowns, %d rank(s)\n",
                        N, N, M, M * M * M, size));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  solver   %s + %s, norm %s, rtol %g\n", ksptype, pctype, norm, (double)rtol));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  result   %" PetscInt_FMT " iterations, %s (%d)\n", its, KSPConvergedReasons[reason], (int)reason));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  accuracy ||b-Ax||/||b|| = %.3e, max|x - u| = %.3e\n", (double)(rnorm / bnorm), (double)err));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  time     setup %.4f s (assembly %.4f, KSPSetUp %.4f), solve %.4f s (%.3e s/it), total %.4f s\n",
                        asm_s + pcsetup_s, asm_s, pcsetup_s, solve_s, per_it, total_s));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                        "RESULT n=%" PetscInt_FMT " unknowns=%" PetscInt_FMT " ranks=%d ksp=%s pc=%s norm=%s rtol=%g its=%" PetscInt_FMT
                        " reason=%d relres=%.6e err=%.6e setup_s=%.6f asm_s=%.6f pcsetup_s=%.6f solve_s=%.6f total_s=%.6f per_it_s=%.6e\n",
                        N, M * M * M, size, ksptype, pctype, norm, (double)rtol, its, (int)reason, (double)(rnorm / bnorm), (double)err,
                        asm_s + pcsetup_s, asm_s, pcsetup_s, solve_s, total_s, per_it));

  PetscCall(VecDestroy(&r));
  PetscCall(VecDestroy(&u));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&b));
  PetscCall(MatDestroy(&A));
  PetscCall(KSPDestroy(&ksp));
  PetscCall(DMDestroy(&da));
  PetscCall(PetscFinalize());
  return 0;
}
