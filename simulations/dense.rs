//! `dense`: distributed dense linear algebra: SUMMA products (with transposes, from and
//! to HDF5) on a 2D process grid, tall-skinny QR and least squares on a row partition.
//!
//!     mpirun -n 2 target/release/dense gemm --size 4096 [--block 256] [--procs 2x1]
//!     mpirun -n 2 target/release/dense tsqr --rows 4000000 --cols 32 [--method cholqr2]
//!     mpirun -n 2 target/release/dense lstsq --input A.h5
//!
//! Each command checks its own result without a serial copy of it: for a product `C = A B`
//! three random probe vectors `v` compare `C v` with `A (B v)` against a componentwise
//! rounding-error bound.

use clap::{Parser, Subcommand};
use ndarray::{Array1, Array2};
use ndarray_linalg::QR;
use std::process::ExitCode;
use std::time::Instant;
use tessera::cli::{self, Extents};
use tessera::driver::report::{CommandReport, Verdict};
use tessera::io::checkpoint::Param;
use tessera::linalg::dense;
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
    /// Write a JSON report (parameters, process grid, times and rates, checks) to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    report: Option<std::path::PathBuf>,
}

/// What a command measured and checked, for the `--report`.
#[derive(Default)]
struct Record {
    parameters: Vec<(String, Param)>,
    decomposition: String,
    /// Times (seconds) and rates.
    performance: Vec<(String, f64)>,
    /// The figures the checks rest on.
    figures: Vec<(String, f64)>,
}

impl Record {
    fn int(&mut self, name: &str, value: usize) {
        self.parameters
            .push((name.into(), Param::Int(value as i64)));
    }
    fn perf(&mut self, name: &str, value: f64) {
        self.performance.push((name.into(), value));
    }
    fn figure(&mut self, name: &str, value: f64) {
        self.figures.push((name.into(), value));
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// C = op(A) op(B) by SUMMA, A and B given by formulas of their indices or read from
    /// an HDF5 file.
    Gemm(GemmArgs),
    /// QR of a tall-skinny matrix (a formula of its indices) by TSQR or CholeskyQR2.
    Tsqr {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        #[arg(long, default_value_t = 32)]
        cols: usize,
        /// tsqr (the tree of local Householder QRs) or cholqr2 (CholeskyQR2).
        #[arg(long, default_value = "tsqr")]
        method: String,
        /// Also compare R with LAPACK's QR of the whole matrix on every rank (small sizes).
        #[arg(long)]
        check_dense: bool,
        /// Repetitions of the factorisation (the fastest is reported).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
    },
    /// Least squares min ||A x - b|| by TSQR: A and b from an HDF5 file (datasets /A,
    /// m x n, and /b, m, f64), or a generated system with a known solution.
    Lstsq {
        #[arg(long, value_name = "FILE.h5")]
        input: Option<std::path::PathBuf>,
        /// The generated system's rows and columns (without --input).
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        #[arg(long, default_value_t = 16)]
        cols: usize,
    },
}

extern "C" {
    /// OpenBLAS's thread count (libopenblas, linked through ndarray's BLAS).
    fn openblas_set_num_threads(threads: i32);
    fn openblas_get_num_threads() -> i32;
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
    // one-shot commands with nothing to save: SIGTERM and SIGUSR1 end them at once
    tessera::signals::stop_signals_end_the_process();
    let Some(cli) = parallel.agree(cli::parse::<Cli>(parallel))? else {
        return Ok(());
    };
    let mut record = Record::default();
    let (name, result) = match cli.command {
        Command::Gemm(args) => ("dense gemm", gemm(parallel, &mut record, args)),
        Command::Tsqr {
            rows,
            cols,
            method,
            check_dense,
            repeat,
        } => (
            "dense tsqr",
            tsqr(
                parallel,
                &mut record,
                rows,
                cols,
                &method,
                check_dense,
                repeat,
            ),
        ),
        Command::Lstsq { input, rows, cols } => (
            "dense lstsq",
            lstsq(parallel, &mut record, input, rows, cols),
        ),
    };
    // a report for a run that computed something (validated or not), none for bad input
    let verdict = match &result {
        Ok(()) => Some(Verdict::Validates),
        Err(Error::NotValidated(why)) => Some(Verdict::DoesNotValidate(why.clone())),
        Err(_) => None,
    };
    if let (Some(path), Some(verdict)) = (&cli.report, verdict) {
        let written = if parallel.is_root() {
            CommandReport {
                simulation: name,
                parameters: &record.parameters,
                ranks: parallel.size(),
                decomposition: &record.decomposition,
                performance: &record.performance,
                verdict: &verdict,
                figures: &record.figures,
                // SAFETY: a plain query of OpenBLAS's setting
                threads: unsafe { openblas_get_num_threads() }.max(1) as usize,
            }
            .write(path)
        } else {
            Ok(())
        };
        // the command's own failure (a check that failed) comes first
        let written = parallel.agree(written);
        result?;
        written?;
        return Ok(());
    }
    result
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

/// The `dense gemm` flags.
#[derive(clap::Args, Debug)]
struct GemmArgs {
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
    /// Store A transposed (k x m) and multiply by A^T: C = A^T B.
    #[arg(long)]
    transpose_a: bool,
    /// Store B transposed (n x k) and multiply by B^T: C = A B^T.
    #[arg(long)]
    transpose_b: bool,
    /// Read A and B from an HDF5 file (2-D f64 datasets /A and /B, or /matrices/A and
    /// /matrices/B as --output writes them) instead of the formulas.
    #[arg(long, value_name = "FILE.h5", conflicts_with_all = ["size", "shape"])]
    input: Option<std::path::PathBuf>,
    /// Write A, B and C to DIR/dense-gemm_00000000.h5 (datasets /matrices/A, B, C).
    #[arg(long, value_name = "DIR")]
    output: Option<std::path::PathBuf>,
}

fn gemm(parallel: &Parallel, record: &mut Record, args: GemmArgs) -> Result<()> {
    let GemmArgs {
        size,
        shape,
        block,
        procs,
        check_dense,
        repeat,
        transpose_a,
        transpose_b,
        input,
        output,
    } = args;
    // the operands' datasets, when read from a file
    let from_file = match &input {
        Some(path) => Some(gemm_input(parallel, path, transpose_a, transpose_b)?),
        None => None,
    };
    let (m, k, n) = parallel.agree(match (&from_file, &shape) {
        (Some((_, _, mkn)), _) => Ok(*mkn),
        (None, None) if size > 0 => Ok((size, size, size)),
        (None, None) => Err(Error::arg("--size", "must be at least 1")),
        (None, Some(Extents(v))) if v.len() == 3 && v.iter().all(|&x| x > 0) => {
            Ok((v[0], v[1], v[2]))
        }
        (None, Some(_)) => Err(Error::arg("--shape", "needs three positive sizes MxKxN")),
    })?;
    let output_file = match &output {
        Some(dir) => Some(gemm_output_path(parallel, dir)?),
        None => None,
    };
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
    // the operands as stored (a transposed one as its transpose), from the file or the
    // formulas; op(A) and op(B) as plain matrices for the checks (a formula operand made
    // again by the formula, a file's transposed by redistribution)
    let layout_a = if transpose_a {
        (layout(k, pr), layout(m, pc))
    } else {
        (rows_a, cols_a)
    };
    let layout_b = if transpose_b {
        (layout(n, pr), layout(k, pc))
    } else {
        (rows_b, cols_b)
    };
    // MPI counts are 32-bit: every message (a panel, a rank's part of a redistribution or
    // of a file's band of rows) is at most one rank's block of one matrix
    let ranks = pr * pc;
    let largest = [layout_a, layout_b, (rows_a, cols_b)]
        .iter()
        .map(|(r, c)| r.count(0).saturating_mul(c.count(0)))
        .chain([
            m.div_ceil(ranks).saturating_mul(k),
            k.div_ceil(ranks).saturating_mul(n),
            m.div_ceil(ranks).saturating_mul(n),
        ])
        .max()
        .unwrap_or(0);
    parallel.agree(if largest > i32::MAX as usize {
        Err(Error::Decomposition(format!(
            "a rank would hold {largest} values of one matrix, more than an MPI message carries (2^31 - 1): use more ranks"
        )))
    } else {
        Ok(())
    })?;
    let (stored_a, stored_b) = match &from_file {
        Some((path, [da, db], _)) => (
            dense::io::read(parallel, da, path, &grid, layout_a.0, layout_a.1)?,
            dense::io::read(parallel, db, path, &grid, layout_b.0, layout_b.1)?,
        ),
        None => (
            DistMatrix::from_fn(&grid, layout_a.0, layout_a.1, |i, j| {
                if transpose_a {
                    entry_a(j, i)
                } else {
                    entry_a(i, j)
                }
            }),
            DistMatrix::from_fn(&grid, layout_b.0, layout_b.1, |i, j| {
                if transpose_b {
                    entry_b(j, i)
                } else {
                    entry_b(i, j)
                }
            }),
        ),
    };
    let plain =
        |stored: &DistMatrix, transposed: bool, rows, cols, f: fn(usize, usize) -> f64| match (
            transposed,
            from_file.is_some(),
        ) {
            (false, _) => None,
            (true, false) => Some(DistMatrix::from_fn(&grid, rows, cols, f)),
            (true, true) => Some(stored.redistribute(&grid.all, rows, cols, true)),
        };
    let plain_a = plain(&stored_a, transpose_a, rows_a, cols_a, entry_a);
    let plain_b = plain(&stored_b, transpose_b, rows_b, cols_b, entry_b);
    let a = plain_a.as_ref().unwrap_or(&stored_a);
    let b = plain_b.as_ref().unwrap_or(&stored_b);
    let op = |t: bool| {
        if t {
            summa::Op::Transposed
        } else {
            summa::Op::Plain
        }
    };
    let (op_a, op_b, a_in, b_in) = (op(transpose_a), op(transpose_b), &stored_a, &stored_b);
    let mut c = DistMatrix::zeros(&grid, rows_a, cols_b);
    let header = tessera::io::checkpoint::Header {
        simulation: "dense-gemm".into(),
        step: 0,
        time: 0.0,
        parameters: vec![
            ("m".into(), Param::Int(m as i64)),
            ("k".into(), Param::Int(k as i64)),
            ("n".into(), Param::Int(n as i64)),
            ("transpose_a".into(), Param::Int(transpose_a.into())),
            ("transpose_b".into(), Param::Int(transpose_b.into())),
        ],
    };
    let write_all = |w: &mut tessera::io::checkpoint::Writer, c: &DistMatrix| {
        dense::io::write(w, "matrices/A", &grid, &stored_a)?;
        dense::io::write(w, "matrices/B", &grid, &stored_b)?;
        dense::io::write(w, "matrices/C", &grid, c)
    };
    if let Some(path) = &output_file {
        // the directory takes the file before anything is computed
        let dir = path.parent().expect("a file in a directory");
        tessera::io::checkpoint::probe(parallel, dir, &header, |w| write_all(w, &c))?;
    }
    if parallel.is_root() {
        let name = |t: bool, x: &str| if t { format!("{x}^T") } else { x.to_string() };
        println!(
            "tessera dense gemm: C = {} {}, op(A) {m}x{k}, op(B) {k}x{n}, {pr}x{pc} process grid, blocks {}x{} (k blocks {kblock}, panels of at most {})",
            name(transpose_a, "A"),
            name(transpose_b, "B"),
            rows_a.block,
            cols_b.block,
            summa::PANEL
        );
    }
    let mut best = f64::INFINITY;
    let mut split = summa::SummaTimes::default();
    for _ in 0..repeat {
        parallel.barrier();
        let t = Instant::now();
        let times = parallel.agree(summa::summa(
            &grid, 1.0, op_a, a_in, op_b, b_in, 0.0, &mut c,
        ))?;
        parallel.barrier();
        let seconds = t.elapsed().as_secs_f64();
        if seconds < best {
            (best, split) = (seconds, times);
        }
    }
    let flops = 2.0 * m as f64 * n as f64 * k as f64;
    let worst = probe_check(parallel, &grid, a, b, &c);
    if parallel.is_root() {
        println!(
            "  time {best:.4} s, {:.2} GFLOP/s ({:.2} per rank)",
            flops / best / 1e9,
            flops / best / 1e9 / parallel.size() as f64
        );
    }
    // the slowest rank's split of the fastest run
    let (r, w, x) = (
        parallel.max(split.redistribute),
        parallel.max(split.wait),
        parallel.max(split.multiply),
    );
    if parallel.is_root() {
        println!(
            "  split (slowest rank): redistribute {r:.4} s, waiting for panels {w:.4} s, packing and dgemm {x:.4} s"
        );
        println!(
            "  check: |C v - A (B v)| / bound at most {worst:.3e} over 3 probe vectors (bound 4 (k + n) eps |A| |B| |v|, componentwise)"
        );
    }
    let mut ok = worst <= 1.0;
    for (name, v) in [
        ("m", m),
        ("k", k),
        ("n", n),
        ("transpose_a", transpose_a.into()),
        ("transpose_b", transpose_b.into()),
    ] {
        record.int(name, v);
    }
    record.decomposition = format!(
        "{pr}x{pc} process grid, blocks {}x{}, k blocks {kblock}",
        rows_a.block, cols_b.block
    );
    record.perf("seconds", best);
    record.perf("gflops", flops / best / 1e9);
    record.perf("redistribute_seconds", r);
    record.perf("panel_wait_seconds", w);
    record.perf("multiply_seconds", x);
    record.figure("probe_error_over_bound", worst);
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
        record.figure("dense_max_error", diff);
        record.figure("dense_bound", bound);
    }
    if let Some(path) = output_file {
        let dir = path.parent().expect("a file in a directory");
        tessera::io::checkpoint::write(parallel, dir, &header, |w| write_all(w, &c))?;
        if parallel.is_root() {
            println!("  wrote A, B and C to {}", path.display());
        }
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

/// The file `dense gemm --input` reads: its datasets A and B (`/A`, `/B`, else
/// `/matrices/A`, `/matrices/B`: 2-D f64) and `(m, k, n)` of `op(A) op(B)`, checked to
/// conform. Collective; errors name the file.
#[allow(clippy::type_complexity)]
fn gemm_input(
    parallel: &Parallel,
    path: &std::path::Path,
    transpose_a: bool,
    transpose_b: bool,
) -> Result<(
    std::path::PathBuf,
    [hdf5::Dataset; 2],
    (usize, usize, usize),
)> {
    let file = tessera::io::hdf5::open_input(parallel, path)?;
    let found = (|| {
        let a = matrix_dataset(&file, &["A", "matrices/A"], 2)?;
        let b = matrix_dataset(&file, &["B", "matrices/B"], 2)?;
        let op = |d: &hdf5::Dataset, t: bool| {
            let s = d.shape();
            if t {
                (s[1], s[0])
            } else {
                (s[0], s[1])
            }
        };
        let ((m, k), (k2, n)) = (op(&a, transpose_a), op(&b, transpose_b));
        if m == 0 || k == 0 || n == 0 || k != k2 {
            return Err(format!(
                "op(A) is {m}x{k} and op(B) is {k2}x{n}: they do not conform for C = op(A) op(B)"
            ));
        }
        Ok(([a, b], (m, k, n)))
    })();
    let (datasets, mkn) = parallel.agree(found.map_err(|m| Error::input(path, 0, m)))?;
    Ok((path.to_path_buf(), datasets, mkn))
}

/// The first of `names` in `file`, checked to be an f64 dataset of `dims` axes.
fn matrix_dataset(
    file: &hdf5::File,
    names: &[&str],
    dims: usize,
) -> std::result::Result<hdf5::Dataset, String> {
    let d = names
        .iter()
        .find_map(|name| file.dataset(name).ok())
        .ok_or_else(|| format!("has no dataset /{}", names.join(" or /")))?;
    let name = d.name();
    if !d.dtype().is_ok_and(|t| t.is::<f64>()) {
        return Err(format!("{name} does not hold f64 values"));
    }
    if d.shape().len() != dims {
        return Err(format!(
            "{name} has shape {:?}, not {dims}-dimensional",
            d.shape()
        ));
    }
    Ok(d)
}

/// Where `dense gemm --output DIR` writes: `DIR/dense-gemm_00000000.h5`, the directory
/// made if missing; an existing file is an error (never overwritten). Collective.
fn gemm_output_path(parallel: &Parallel, dir: &std::path::Path) -> Result<std::path::PathBuf> {
    let path = dir.join(tessera::io::checkpoint::file_name("dense-gemm", 0));
    let ready = if parallel.is_root() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))
            .and_then(|_| {
                if path.exists() {
                    Err(Error::arg(
                        "--output",
                        format!("{} already exists (not overwritten)", path.display()),
                    ))
                } else {
                    Ok(())
                }
            })
    } else {
        Ok(())
    };
    parallel.agree(ready)?;
    Ok(path)
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

/// Entry `(i, j)` of the generated `m`-row tall-skinny matrix: smooth columns of growing
/// frequency plus a diagonal-ish term, full rank.
fn entry_tall(i: usize, j: usize, m: usize) -> f64 {
    let t = i as f64 / m as f64;
    (std::f64::consts::PI * (j + 1) as f64 * t).cos()
        + if i.is_multiple_of(j + 2) { 0.5 } else { 0.0 }
}

/// This rank's rows of the generated `rows x cols` matrix ([`entry_tall`]), rows split
/// evenly. Collective.
fn tall_matrix(parallel: &Parallel, rows: usize, cols: usize) -> Result<Array2<f64>> {
    parallel.agree(if cols == 0 || rows < cols {
        Err(Error::arg(
            "--rows",
            format!("{rows} rows by {cols} columns: a tall matrix needs at least as many rows as columns"),
        ))
    } else {
        Ok(())
    })?;
    let (first, len) = tessera::partition::split_axis(rows, parallel.size(), parallel.rank());
    Ok(Array2::from_shape_fn((len, cols), |(i, j)| {
        entry_tall(first + i, j, rows)
    }))
}

/// Frobenius norm of a matrix split by rows over `parallel`. Collective.
fn norm_rows(parallel: &Parallel, a: &Array2<f64>) -> f64 {
    parallel.sum(a.iter().map(|x| x * x).sum::<f64>()).sqrt()
}

fn tsqr(
    parallel: &Parallel,
    record: &mut Record,
    rows: usize,
    cols: usize,
    method: &str,
    check_dense: bool,
    repeat: usize,
) -> Result<()> {
    parallel.agree(match method {
        _ if repeat == 0 => Err(Error::arg("--repeat", "must be at least 1")),
        "tsqr" | "cholqr2" => Ok(()),
        other => Err(Error::arg(
            "--method",
            format!("unknown method '{other}' (known: tsqr, cholqr2)"),
        )),
    })?;
    let a = tall_matrix(parallel, rows, cols)?;
    if parallel.is_root() {
        println!(
            "tessera dense tsqr: A {rows}x{cols} by {method}, rows split over {} ranks",
            parallel.size()
        );
    }
    let mut best: Option<(f64, f64, Array2<f64>, Array2<f64>)> = None;
    for _ in 0..repeat {
        // TSQR factors in place: a copy (made before the clock starts) keeps A
        let copy = (method == "tsqr").then(|| a.clone());
        parallel.barrier();
        let t = Instant::now();
        // CholeskyQR2 forms Q as it factors: its time is all "factor"
        let (q, r, factor_seconds) = if let Some(copy) = copy {
            let f = dense::tsqr::Tsqr::new(parallel, copy);
            parallel.barrier();
            let factor_seconds = t.elapsed().as_secs_f64();
            let r = f.r.clone();
            (f.explicit_q(parallel), r, Some(factor_seconds))
        } else {
            let (q, r) = parallel.agree(dense::tsqr::cholesky_qr2(parallel, &a))?;
            (q, r, None)
        };
        parallel.barrier();
        let seconds = t.elapsed().as_secs_f64();
        let factor_seconds = factor_seconds.unwrap_or(seconds);
        if best.as_ref().is_none_or(|b| seconds < b.0) {
            best = Some((seconds, factor_seconds, q, r));
        }
    }
    let (seconds, factor_seconds, q, r) = best.expect("at least one repetition");
    // checks: ||A - QR|| / ||A|| and ||Q^T Q - I||
    let residual = norm_rows(parallel, &(&a - &q.dot(&r))) / norm_rows(parallel, &a);
    let gram = parallel.sum_each(
        q.t()
            .dot(&q)
            .as_standard_layout()
            .as_slice()
            .expect("contiguous"),
    );
    let orth = gram
        .iter()
        .enumerate()
        .map(|(k, g)| {
            let want = if k / cols == k % cols { 1.0 } else { 0.0 };
            (g - want).powi(2)
        })
        .sum::<f64>()
        .sqrt();
    // bounds: a backward-stable QR, c m n eps with c = 10 (generous for the tree and LAPACK)
    let bound = 10.0 * cols as f64 * f64::EPSILON * (rows as f64).sqrt();
    // Householder QR's flops 2 m n^2 - 2 n^3 / 3, and as much again to form Q
    let flops =
        2.0 * (2.0 * rows as f64 * (cols * cols) as f64 - 2.0 * (cols as f64).powi(3) / 3.0);
    if parallel.is_root() {
        println!(
            "  time {seconds:.4} s: factor {factor_seconds:.4} s, explicit Q {:.4} s; {:.2} GFLOP/s at 4 m n^2 - 4/3 n^3",
            seconds - factor_seconds,
            flops / seconds / 1e9
        );
        println!("  check: ||A - QR|| / ||A|| = {residual:.3e}, ||Q^T Q - I|| = {orth:.3e} (bound {bound:.3e})");
        println!(
            "  R[0,0] = {:.15e}, R[n-1,n-1] = {:.15e}",
            r[[0, 0]],
            r[[cols - 1, cols - 1]]
        );
    }
    let mut ok = residual <= bound && orth <= bound;
    record.int("rows", rows);
    record.int("cols", cols);
    record
        .parameters
        .push(("method".into(), Param::Text(method.into())));
    record.decomposition = format!("rows split over {} ranks", parallel.size());
    record.perf("seconds", seconds);
    record.perf("factor_seconds", factor_seconds);
    record.perf("explicit_q_seconds", seconds - factor_seconds);
    record.perf("gflops", flops / seconds / 1e9);
    record.figure("residual_a_minus_qr", residual);
    record.figure("orthogonality_qtq_minus_i", orth);
    record.figure("bound", bound);
    if check_dense {
        // LAPACK's R of the whole matrix, rows normalised to a positive diagonal (QR is
        // unique up to those signs)
        let whole = Array2::from_shape_fn((rows, cols), |(i, j)| entry_tall(i, j, rows));
        let (_, lapack) = whole
            .qr()
            .map_err(|e| Error::value("matrix", e.to_string()))?;
        let signed = |r: &Array2<f64>| {
            let mut r = r.clone();
            for mut row in r.rows_mut() {
                let k = row.iter().position(|x| *x != 0.0).unwrap_or(0);
                if row[k] < 0.0 {
                    row.mapv_inplace(|x| -x);
                }
            }
            r
        };
        let diff = (&signed(&r) - &signed(&lapack))
            .iter()
            .fold(0.0f64, |m, d| m.max(d.abs()));
        let scale = lapack.iter().fold(0.0f64, |m, d| m.max(d.abs()));
        if parallel.is_root() {
            println!(
                "  dense check: max |R - R_LAPACK| (rows signed) = {:.3e} of max |R| {scale:.3e}",
                diff
            );
        }
        ok &= diff <= bound * scale;
        record.figure("r_minus_lapack_r", diff);
    }
    if !ok {
        return Err(Error::NotValidated(
            "the factorisation fails its check (see above)".into(),
        ));
    }
    if parallel.is_root() {
        println!("  Solution validates");
    }
    Ok(())
}

/// `(m, n, this rank's rows of A, its entries of b)` of HDF5 file `path` (datasets /A, m x n,
/// and /b, m, both f64), rows split evenly. Collective; errors name the file.
fn read_system(
    parallel: &Parallel,
    path: &std::path::Path,
) -> Result<(usize, usize, Array2<f64>, Array1<f64>)> {
    use tessera::io::hdf5 as h5;
    let bad = |m: String| Error::input(path, 0, m);
    let file = h5::open_input(parallel, path)?;
    let found = (|| {
        let open = |name: &str, dims: usize| matrix_dataset(&file, &[name], dims).map_err(bad);
        let (a, b) = (open("A", 2)?, open("b", 1)?);
        let (m, n) = (a.shape()[0], a.shape()[1]);
        if b.shape() != [m] {
            return Err(bad(format!(
                "/b has {} entries, /A has {m} rows",
                b.shape()[0]
            )));
        }
        if n == 0 || m < n {
            return Err(bad(format!(
                "/A is {m}x{n}: least squares needs at least as many rows as columns"
            )));
        }
        Ok((a, b, m, n))
    })();
    let (da, db, m, n) = parallel.agree(found)?;
    let (first, len) = tessera::partition::split_axis(m, parallel.size(), parallel.rank());
    let mut a = vec![0.0f64; len * n];
    let mut b = vec![0.0f64; len];
    let read = h5::read_block(
        &da,
        &tessera::io::hdf5::Block::rows(m, first, len, n),
        &mut a,
    )
    .and_then(|_| {
        h5::read_block(
            &db,
            &tessera::io::hdf5::Block::rows(m, first, len, 0),
            &mut b,
        )
    });
    parallel.agree(read.map_err(|e| bad(format!("cannot be read ({e})"))))?;
    let finite = a.iter().chain(&b).all(|x| x.is_finite());
    parallel.agree(if finite {
        Ok(())
    } else {
        Err(bad("holds a value that is not finite".into()))
    })?;
    Ok((
        m,
        n,
        Array2::from_shape_vec((len, n), a).expect("len x n"),
        Array1::from(b),
    ))
}

fn lstsq(
    parallel: &Parallel,
    record: &mut Record,
    input: Option<std::path::PathBuf>,
    rows: usize,
    cols: usize,
) -> Result<()> {
    let (m, n, a, b, exact) = match &input {
        Some(path) => {
            let (m, n, a, b) = read_system(parallel, path)?;
            (m, n, a, b, None)
        }
        None => {
            let a = tall_matrix(parallel, rows, cols)?;
            let x: Array1<f64> = (0..cols).map(|j| 1.0 + j as f64 / cols as f64).collect();
            let b = a.dot(&x);
            (rows, cols, a, b, Some(x))
        }
    };
    if parallel.is_root() {
        let source = input
            .as_ref()
            .map_or("a generated consistent system".to_string(), |p| {
                p.display().to_string()
            });
        println!(
            "tessera dense lstsq: min ||A x - b||, A {m}x{n} from {source}, {} ranks",
            parallel.size()
        );
    }
    let t = Instant::now();
    let (x, rho) = parallel.agree(dense::tsqr::least_squares(parallel, &a, &b))?;
    let seconds = t.elapsed().as_secs_f64();
    // the normal equations' residual A^T (A x - b), relative to ||A|| (||A|| ||x|| + ||b||)
    let r = a.dot(&x) - &b;
    let g = parallel.sum_each(a.t().dot(&r).as_slice().expect("contiguous"));
    let g = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    let na = norm_rows(parallel, &a);
    let nb = parallel.sum(b.iter().map(|v| v * v).sum::<f64>()).sqrt();
    let nx = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    let residual = parallel.sum(r.iter().map(|v| v * v).sum::<f64>()).sqrt();
    let relative = g / (na * (na * nx + nb));
    let bound = 10.0 * n as f64 * f64::EPSILON * (m as f64).sqrt();
    let mut ok = relative <= bound;
    record.int("rows", m);
    record.int("cols", n);
    record.decomposition = format!("rows split over {} ranks", parallel.size());
    record.perf("seconds", seconds);
    record.figure("normal_equations_residual", relative);
    record.figure("bound", bound);
    record.figure("residual_norm", residual);
    record.figure("rho", rho);
    if parallel.is_root() {
        println!("  time {seconds:.4} s; ||A x - b|| = {residual:.12e}, |rho| of the QR of [A b] = {rho:.12e}");
        println!(
            "  check: ||A^T (A x - b)|| / (||A|| (||A|| ||x|| + ||b||)) = {relative:.3e} (bound {bound:.3e})"
        );
        let shown: Vec<String> = x.iter().take(4).map(|v| format!("{v:.12}")).collect();
        println!(
            "  x = [{}{}]",
            shown.join(", "),
            if n > 4 { ", ..." } else { "" }
        );
    }
    if let Some(exact) = exact {
        let err = (&x - &exact).iter().fold(0.0f64, |m, d| m.max(d.abs()));
        if parallel.is_root() {
            println!("  max |x - x*| = {err:.3e} (the system is consistent: x* known)");
        }
        ok &= err <= 1e-10;
        record.figure("max_error_vs_known_solution", err);
    }
    if !ok {
        return Err(Error::NotValidated(
            "the solution fails its check (see above)".into(),
        ));
    }
    if parallel.is_root() {
        println!("  Solution validates");
    }
    Ok(())
}
