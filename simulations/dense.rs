//! `dense`: distributed dense linear algebra on a 2D process grid (issue "Linear algebra
//! II", in progress: the SUMMA product; TSQR and least squares are next).
//!
//!     mpirun -n 2 target/release/dense gemm --size 4096 [--block 256] [--procs 2x1]
//!
//! Each command checks its own result without a serial copy of it: for a product `C = A B`
//! three random probe vectors `v` compare `C v` with `A (B v)` against a componentwise
//! rounding-error bound.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::time::Instant;
use tessera::cli::{self, Extents};
use tessera::linalg::dense::summa;
use tessera::linalg::dense::{Cyclic, DistMatrix};
use tessera::parallel::{self, Parallel, ProcessGrid2d};
use tessera::particles::integrate::keyed_uniform;
use tessera::{Error, Result};

/// Distributed dense linear algebra over MPI ranks on a 2D process grid, with OpenBLAS
/// for the local products; every command checks its result.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// C = A B by SUMMA, A and B given by formulas of their indices.
    Gemm {
        /// Square matrices of this order (m = k = n).
        #[arg(long, default_value_t = 2048)]
        size: usize,
        /// Other shapes: MxKxN (A is m x k, B is k x n).
        #[arg(long, value_name = "MxKxN")]
        shape: Option<Extents>,
        /// Block size of the block-cyclic layout (default: one block per process).
        #[arg(long)]
        block: Option<usize>,
        /// Process grid ROWSxCOLS (default: the squarest with rows >= cols).
        #[arg(long, value_name = "RxC")]
        procs: Option<Extents>,
        /// Also gather C and compare it with a dense product on every rank (small sizes).
        #[arg(long)]
        check_dense: bool,
        /// Repetitions of the product (the fastest is reported).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
    },
}

extern "C" {
    /// OpenBLAS's thread count (libopenblas, linked through ndarray's BLAS).
    fn openblas_set_num_threads(threads: i32);
}

fn main() -> ExitCode {
    // one BLAS thread per rank (ranks fill the cores) unless the environment says otherwise
    if std::env::var_os("OPENBLAS_NUM_THREADS").is_none() {
        // SAFETY: a plain setter of OpenBLAS, called before any BLAS call.
        unsafe { openblas_set_num_threads(1) };
    }
    parallel::main_with_mpi("dense", run)
}

fn run(parallel: &Parallel) -> Result<()> {
    let Some(cli) = parallel.agree(cli::parse::<Cli>(parallel))? else {
        return Ok(());
    };
    match cli.command {
        Command::Gemm {
            size,
            shape,
            block,
            procs,
            check_dense,
            repeat,
        } => gemm(parallel, size, shape, block, procs, check_dense, repeat),
    }
}

/// The process grid `--procs` names, or the squarest one with rows >= cols.
fn process_grid(parallel: &Parallel, procs: Option<Extents>) -> Result<(usize, usize)> {
    let p = parallel.size();
    match procs {
        None => {
            let cols = (1..=p)
                .filter(|&c| p.is_multiple_of(c) && c * c <= p)
                .max()
                .unwrap_or(1);
            Ok((p / cols, cols))
        }
        Some(Extents(v)) if v.len() == 2 && v[0] * v[1] == p => Ok((v[0], v[1])),
        Some(Extents(v)) => Err(Error::arg(
            "--procs",
            format!(
                "{} is not a ROWSxCOLS grid of the {p} ranks",
                v.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join("x")
            ),
        )),
    }
}

fn gemm(
    parallel: &Parallel,
    size: usize,
    shape: Option<Extents>,
    block: Option<usize>,
    procs: Option<Extents>,
    check_dense: bool,
    repeat: usize,
) -> Result<()> {
    let (m, k, n) = parallel.agree(match &shape {
        None if size > 0 => Ok((size, size, size)),
        None => Err(Error::arg("--size", "must be at least 1")),
        Some(Extents(v)) if v.len() == 3 && v.iter().all(|&x| x > 0) => Ok((v[0], v[1], v[2])),
        Some(_) => Err(Error::arg("--shape", "needs three positive sizes MxKxN")),
    })?;
    let (pr, pc) = parallel.agree(process_grid(parallel, procs))?;
    parallel.agree(match block {
        Some(0) => Err(Error::arg("--block", "must be at least 1")),
        _ if repeat == 0 => Err(Error::arg("--repeat", "must be at least 1")),
        _ => Ok(()),
    })?;
    let grid = parallel.process_grid_2d(pr, pc);
    let layout = |len: usize, procs: usize| match block {
        Some(b) => Cyclic::new(len, b, procs),
        None => Cyclic::blocked(len, procs),
    };
    // the k dimension: A's column blocks must be B's row blocks
    let kblock = block.unwrap_or_else(|| k.div_ceil(pr.max(pc)).max(1));
    let (rows_a, cols_a) = (layout(m, pr), Cyclic::new(k, kblock, pc));
    let (rows_b, cols_b) = (Cyclic::new(k, kblock, pr), layout(n, pc));
    let a = DistMatrix::from_fn(&grid, rows_a, cols_a, entry_a);
    let b = DistMatrix::from_fn(&grid, rows_b, cols_b, entry_b);
    let mut c = DistMatrix::zeros(&grid, rows_a, cols_b);
    if parallel.is_root() {
        println!(
            "tessera dense gemm: C = A B, A {m}x{k}, B {k}x{n}, {pr}x{pc} process grid, blocks {}x{} (k blocks {kblock})",
            rows_a.block, cols_b.block
        );
    }
    let mut best = f64::INFINITY;
    for _ in 0..repeat {
        parallel.barrier();
        let t = Instant::now();
        summa::summa(&grid, 1.0, &a, &b, 0.0, &mut c)?;
        parallel.barrier();
        best = best.min(t.elapsed().as_secs_f64());
    }
    let flops = 2.0 * m as f64 * n as f64 * k as f64;
    let worst = probe_check(parallel, &grid, &a, &b, &c);
    if parallel.is_root() {
        println!(
            "  time {best:.4} s, {:.2} GFLOP/s ({:.2} per rank)",
            flops / best / 1e9,
            flops / best / 1e9 / parallel.size() as f64
        );
        println!(
            "  check: |C v - A (B v)| / bound at most {worst:.3e} over 3 probe vectors (bound 4 (k + n) eps |A| |B| |v|, componentwise)"
        );
    }
    let mut ok = worst <= 1.0;
    if check_dense {
        let (ga, gb, gc) = (a.gather(&grid), b.gather(&grid), c.gather(&grid));
        let dense = ga.dot(&gb);
        let diff = (&gc - &dense).iter().fold(0.0f64, |x, d| x.max(d.abs()));
        let scale = ga.mapv(f64::abs).dot(&gb.mapv(f64::abs));
        let bound = 2.0 * k as f64 * f64::EPSILON * scale.iter().fold(0.0f64, |x, &y| x.max(y));
        if parallel.is_root() {
            println!("  dense check: max |C - A B| = {diff:.3e} (bound {bound:.3e})");
        }
        ok &= diff <= bound;
    }
    if !ok {
        return Err(Error::NotValidated(
            "the product fails its check (see above)".into(),
        ));
    }
    if parallel.is_root() {
        println!("  Solution validates");
    }
    Ok(())
}

/// A's entries: a smooth part and a structured part, of both signs.
fn entry_a(i: usize, j: usize) -> f64 {
    (0.1 * i as f64 + 0.37 * j as f64).sin() + ((i * 7 + j * 3) % 11) as f64 / 11.0 - 0.5
}

fn entry_b(i: usize, j: usize) -> f64 {
    (0.23 * i as f64 - 0.11 * j as f64).cos() + 1.0 / (1.0 + i as f64 + j as f64)
}

/// The largest `|C v - A (B v)|_i / bound_i` over three probe vectors, `bound = 4 (k + n)
/// eps (|A| (|B| |v|))`. Collective.
fn probe_check(
    parallel: &Parallel,
    grid: &ProcessGrid2d,
    a: &DistMatrix,
    b: &DistMatrix,
    c: &DistMatrix,
) -> f64 {
    let (_, k) = a.shape();
    let n = b.shape().1;
    let mut worst: f64 = 0.0;
    for probe in 0..3u64 {
        let v: Vec<f64> = (0..n as u64)
            .map(|j| 2.0 * keyed_uniform(17, j, probe) - 1.0)
            .collect();
        let cv = c.times_vector(grid, &v);
        let bv = b.times_vector(grid, &v);
        let abv = a.times_vector(grid, &bv);
        let absv: Vec<f64> = v.iter().map(|x| x.abs()).collect();
        let scale = a.abs_times_vector(grid, &b.abs_times_vector(grid, &absv));
        let gamma = 4.0 * (k + n) as f64 * f64::EPSILON;
        for i in 0..cv.len() {
            let bound = gamma * scale[i];
            let err = (cv[i] - abv[i]).abs();
            worst = worst.max(if bound > 0.0 {
                err / bound
            } else if err > 0.0 {
                f64::INFINITY
            } else {
                0.0
            });
        }
    }
    parallel.max(worst)
}
