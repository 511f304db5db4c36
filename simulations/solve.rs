//! `solve`: A x = b by a Krylov method and a preconditioner, MPI-parallel, reproducible
//! (the same iterates, bit for bit, on any rank count), as a job: checkpoints, restarts,
//! stop signals, time limits. `--steps` is the iteration limit.
//!
//!     mpirun -n 2 target/release/solve --problem poisson --size 127x127x127 --ksp cg --pc mg
//!
//! See `tessera::linalg` for the numerics.

use clap::Parser;
use std::process::ExitCode;
use std::time::Instant;
use tessera::cli::{self, Extents, JobFlags};
use tessera::driver::{self, report::Verdict};
use tessera::grid::geometry::{Decomposition, Grid};
use tessera::io::checkpoint::Param;
use tessera::linalg::job::SolverJob;
use tessera::linalg::krylov::{self, Stop, Tolerances};
use tessera::linalg::precond::{self, Setup};
use tessera::linalg::problems::{self, GridModel};
use tessera::linalg::vector::difference;
use tessera::parallel::{self, Parallel};
use tessera::{Error, Result};

/// Solves A x = b by a Krylov method (--ksp) with a preconditioner (--pc) to a tolerance on
/// the unpreconditioned residual, MPI-parallel, with iterates that do not depend on the
/// rank count. Checks itself: the true residual recomputed from scratch, the error
/// against the exact solution. --steps is the iteration limit.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// The problem: poisson (-Laplacian u = f on the unit cube, zero Dirichlet data,
    /// 7-point stencil scaled by h^2, manufactured solution u = g(x)g(y)g(z),
    /// g(t) = t(1-t)e^t), poisson27 (the isotropic 27-point stencil), variable
    /// (-div(k grad u) = f, k = 1 + (x + y^2 + z^3)/2) or convection-diffusion
    /// (-Laplacian u + v.grad u = f, central differences; non-symmetric: use gmres or
    /// bicgstab). All with the same u.
    #[arg(long, default_value = "poisson")]
    problem: String,
    /// Solve the system of this Matrix Market coordinate file instead (real, general or
    /// symmetric), with b = A x* for a manufactured x* unless --rhs is given.
    #[arg(long, value_name = "FILE.mtx")]
    matrix: Option<std::path::PathBuf>,
    /// The right-hand side for --matrix: a Matrix Market array file (M rows, 1 column).
    #[arg(long, value_name = "FILE.mtx", requires = "matrix")]
    rhs: Option<std::path::PathBuf>,
    /// Convection-diffusion: the velocity (V, V, V).
    #[arg(long, value_name = "V", default_value_t = 10.0)]
    velocity: f64,
    /// Unknowns per axis (h = 1/(N+1)): N, NxN or NxNxN. Multigrid needs N+1 to halve
    /// down to 4 or less: 31, 63, 127, 255.
    #[arg(long, value_name = "NxNxN", default_value = "127x127x127")]
    size: Extents,
    /// Krylov method: cg, bicgstab, gmres, richardson.
    #[arg(long, default_value = "cg")]
    ksp: String,
    /// Preconditioner: none, jacobi, bjacobi (ILU(0) per rank), mg (grid problems).
    #[arg(long, default_value = "mg")]
    pc: String,
    /// Stop when ||b - A x|| <= max(RTOL ||b||, ATOL).
    #[arg(long, default_value_t = 1e-8)]
    rtol: f64,
    /// Absolute residual tolerance.
    #[arg(long, default_value_t = 1e-50, hide_default_value = true)]
    atol: f64,
    /// Multigrid: gather coarse levels of at most N unknowns onto every rank.
    #[arg(long, value_name = "N", default_value_t = tessera::linalg::multigrid::GATHER_MAX)]
    mg_gather: usize,
    /// Benchmark instead of solving: the reproducible dot product against a plain one
    /// (a local vectorised sum and MPI_Allreduce) on vectors of N entries per rank.
    #[arg(long, value_name = "N")]
    bench_dot: Option<usize>,
    /// Print the residual every N iterations (0: only the first and last).
    #[arg(long, value_name = "N", default_value_t = 1)]
    monitor: u64,
    #[command(flatten)]
    job: JobFlags,
}

fn main() -> ExitCode {
    parallel::main_with_mpi("solve", run)
}

fn run(parallel: &Parallel) -> Result<()> {
    let Some(cli) = parallel.agree(cli::parse::<Cli>(parallel))? else {
        return Ok(());
    };
    if let Some(n) = cli.bench_dot {
        return bench_dot(parallel, n);
    }
    let root = parallel.is_root();
    let setup_start = Instant::now();
    let tolerances = parallel.agree(tolerances(&cli))?;
    let problem = build(parallel, &cli)?;
    let setup = Setup {
        parallel,
        op: problem.op.as_ref(),
        options: precond::Options {
            mg_gather_max: cli.mg_gather,
        },
    };
    let pc = precond::build(&cli.pc, &setup)?;
    let method = parallel.agree(krylov::method(&cli.ksp))?;
    if root {
        println!(
            "tessera solve: {}, {} ranks ({})",
            problem.title,
            parallel.size(),
            problem.op.decomposition_note()
        );
        println!("  ksp {}, pc {}", cli.ksp, pc.describe());
        if pc.depends_on_partition() {
            println!("  (this preconditioner depends on the rank count: so do the iterates)");
        }
        println!(
            "  stop at ||r|| <= max({:.1e} ||b||, {:.1e}), at most {} iterations",
            cli.rtol, cli.atol, cli.job.steps
        );
    }
    let b = problem.b;
    let x0 = vec![0.0; b.len()];
    let mut job = SolverJob::new(problem.op, pc, method, tolerances, &x0, &b, problem.spacing);
    let setup_time = setup_start.elapsed();
    let options = cli.job.job(0.0, parameters(&cli));
    let solve_start = Instant::now();
    let outcome = driver::run(parallel, &mut job, &options)?;
    let solve_time = solve_start.elapsed();
    job.form_solution();

    let solve = job.solve();
    if root {
        print_history(
            &solve.history,
            solve.rhs_norm,
            cli.monitor,
            outcome.start_step,
        );
    }
    // checks: the true residual from scratch, the error against the exact solution
    let x = solve.method.solution().to_vec();
    let (rhs_norm, iterations, residual) = (solve.rhs_norm, solve.iterations(), solve.residual());
    let stop = job.outcome();
    let op = job.operator();
    let mut ax = vec![0.0; x.len()];
    op.apply(&x, &mut ax);
    let mut r = vec![0.0; x.len()];
    difference(&mut r, &b, &ax);
    let true_residual = op.layout().norm(&r) / rhs_norm;
    let error = problem.exact.as_ref().map(|(exact, meaning)| {
        let mut e = vec![0.0; x.len()];
        difference(&mut e, &x, exact);
        (op.layout().norm_max(&e), *meaning)
    });
    let (timers, halo) = job.timers();
    if root {
        println!(
            "{} after {iterations} iterations: ||r||/||b|| = {:.3e}, recomputed from scratch {:.3e}",
            stop.describe(),
            residual / rhs_norm,
            true_residual
        );
        if let Some((error, meaning)) = error {
            println!("  max |x - u*| = {error:.4e} ({meaning})");
        }
        println!(
            "  set-up {:.3} s, solve {:.3} s ({:.3} ms per iteration): operator {:.3} s, \
             preconditioner {:.3} s, reductions {:.3} s, vector updates {:.3} s; halo \
             exchanges {:.3} s of these",
            setup_time.as_secs_f64(),
            solve_time.as_secs_f64(),
            1e3 * solve_time.as_secs_f64() / (outcome.step - outcome.start_step).max(1) as f64,
            timers.operator.as_secs_f64(),
            timers.preconditioner.as_secs_f64(),
            timers.reductions.as_secs_f64(),
            timers.vectors.as_secs_f64(),
            halo.as_secs_f64()
        );
    }
    // rates: flops and bytes over all ranks per second of the slowest rank
    let op = job.operator();
    let op_cost = (op.flops(), op.bytes());
    let pc_cost = job.preconditioner().cost();
    let rate = |local: f64, applies: u64, seconds: f64| {
        parallel.sum(local) * applies as f64 / parallel.max(seconds) / 1e9
    };
    let op_rates = (
        rate(
            op_cost.0,
            timers.operator_applies,
            timers.operator.as_secs_f64(),
        ),
        rate(
            op_cost.1,
            timers.operator_applies,
            timers.operator.as_secs_f64(),
        ),
    );
    let pc_rates = pc_cost.map(|(f, b)| {
        let t = timers.preconditioner.as_secs_f64();
        (
            rate(f, timers.preconditioner_applies, t),
            rate(b, timers.preconditioner_applies, t),
        )
    });
    if root {
        println!(
            "  operator: {} applies, {:.2} GFLOP/s, {:.2} GB/s; preconditioner: {} applies, {:.3} ms each{}",
            timers.operator_applies,
            op_rates.0,
            op_rates.1,
            timers.preconditioner_applies,
            1e3 * timers.preconditioner.as_secs_f64() / timers.preconditioner_applies.max(1) as f64,
            pc_rates.map_or(String::new(), |(f, b)| format!(", {f:.2} GFLOP/s, {b:.2} GB/s (cost model)"))
        );
        println!(
            "RESULT its={iterations} setup_s={:.6} solve_s={:.6} op_gflops={:.3} op_gbs={:.3} pc_gflops={:.3} pc_gbs={:.3} pc_ms={:.4}",
            setup_time.as_secs_f64(),
            solve_time.as_secs_f64(),
            op_rates.0,
            op_rates.1,
            pc_rates.map_or(f64::NAN, |r| r.0),
            pc_rates.map_or(f64::NAN, |r| r.1),
            1e3 * timers.preconditioner.as_secs_f64() / timers.preconditioner_applies.max(1) as f64,
        );
    }
    let converged = stop == Stop::Converged;
    // the recomputed residual may exceed the updated one by rounding, not by much
    let consistent = true_residual <= 10.0 * cli.rtol.max(residual / rhs_norm);
    let verdict = Verdict::check(converged && consistent, || {
        if converged {
            format!("the recomputed residual {true_residual:.3e} does not match the solver's")
        } else {
            format!("the solve did not converge: {}", stop.describe())
        }
    });
    let figures = [
        ("iterations".to_string(), iterations as f64),
        ("relative_residual".to_string(), residual / rhs_norm),
        ("true_relative_residual".to_string(), true_residual),
        (
            "max_error_vs_exact".to_string(),
            error.map_or(f64::NAN, |e| e.0),
        ),
        ("setup_seconds".to_string(), setup_time.as_secs_f64()),
        ("solve_seconds".to_string(), solve_time.as_secs_f64()),
    ];
    driver::conclude(parallel, &job, &options, &outcome, verdict, &figures)
}

fn tolerances(cli: &Cli) -> Result<Tolerances> {
    if cli.job.threads != 1 {
        return Err(Error::value(
            "threads",
            "solve runs one thread per rank (threaded linear-algebra kernels are not built yet)",
        ));
    }
    for (name, v) in [("rtol", cli.rtol), ("atol", cli.atol)] {
        if !(0.0..1.0).contains(&v) {
            return Err(Error::value(name, format!("must be in [0, 1), got {v}")));
        }
    }
    Ok(Tolerances {
        rtol: cli.rtol,
        atol: cli.atol,
        ..Tolerances::default()
    })
}

/// The problem the flags describe. Collective.
fn build(parallel: &Parallel, cli: &Cli) -> Result<problems::Problem> {
    if let Some(matrix) = &cli.matrix {
        return problems::matrix_problem(parallel, matrix, cli.rhs.as_deref());
    }
    let grid = parallel.agree((|| {
        let model = match cli.problem.as_str() {
            "poisson" => GridModel::Poisson,
            "poisson27" => GridModel::Poisson27,
            "variable" => GridModel::Variable,
            "convection-diffusion" if cli.velocity.is_finite() => {
                GridModel::ConvectionDiffusion([cli.velocity; 3])
            }
            "convection-diffusion" => return Err(Error::value("velocity", "must be finite")),
            other => {
                return Err(Error::value(
                    "problem",
                    format!(
                        "unknown problem '{other}' (known: poisson, poisson27, variable, convection-diffusion)"
                    ),
                ))
            }
        };
        let grid = Grid::new(&cli.size.0, &vec![false; cli.size.0.len()])?;
        let procs = cli.job.procs.as_ref().map(|p| &p.0[..]);
        Ok((Decomposition::new(grid, parallel.size(), procs)?, model))
    })())?;
    parallel.agree(problems::grid_problem(parallel, &grid.0, grid.1))
}

/// The parameters that change the iterates: a restart must match them.
fn parameters(cli: &Cli) -> Vec<(String, Param)> {
    vec![
        (
            "problem".into(),
            Param::Text(match &cli.matrix {
                Some(m) => format!("matrix {}", m.display()),
                None => cli.problem.clone(),
            }),
        ),
        ("velocity".into(), Param::Float(cli.velocity)),
        ("ksp".into(), Param::Text(cli.ksp.clone())),
        ("pc".into(), Param::Text(cli.pc.clone())),
        ("rtol".into(), Param::Float(cli.rtol)),
        ("atol".into(), Param::Float(cli.atol)),
    ]
}

/// The residual history: every `every`-th iteration, the first and the last.
fn print_history(history: &[f64], rhs_norm: f64, every: u64, start: u64) {
    println!("  iteration   ||r||           ||r||/||b||");
    let last = history.len() - 1;
    for (k, r) in history.iter().enumerate() {
        let shown = k == 0 || k == last || (every > 0 && (k as u64).is_multiple_of(every));
        if shown {
            let note = if k as u64 == start && start > 0 {
                "  (restarted here)"
            } else {
                ""
            };
            println!("  {k:9}   {r:.6e}   {:.3e}{note}", r / rhs_norm);
        }
    }
}

/// `--bench-dot N`: seconds per call of the plain and the reproducible dot on `N` entries
/// per rank, medians of 7 timings of 10 calls each.
fn bench_dot(parallel: &Parallel, n: usize) -> Result<()> {
    use tessera::linalg::vector::plain_local_dot;
    use tessera::linalg::Layout;
    let first = (n * parallel.rank()) as u64;
    let layout = Layout::rows(parallel, first, n, (n * parallel.size()) as u64);
    let x: Vec<f64> = (0..n)
        .map(|i| ((first as usize + i) % 1009) as f64 * 1e-3 - 0.4)
        .collect();
    let y: Vec<f64> = (0..n)
        .map(|i| ((first as usize + i) % 997) as f64 * 1e-3 + 0.1)
        .collect();
    let time = |f: &dyn Fn() -> f64| {
        let mut samples: Vec<f64> = (0..7)
            .map(|_| {
                parallel.barrier();
                let t = Instant::now();
                let mut sink = 0.0;
                for _ in 0..10 {
                    sink += f();
                }
                std::hint::black_box(sink);
                parallel.max(t.elapsed().as_secs_f64() / 10.0)
            })
            .collect();
        samples.sort_by(f64::total_cmp);
        samples[3]
    };
    let plain = time(&|| parallel.sum(plain_local_dot(&x, &y)));
    let reproducible = time(&|| layout.dot(&x, &y));
    if parallel.is_root() {
        let ns = |s: f64| 1e9 * s / n as f64;
        println!(
            "dot of {n} entries per rank on {} ranks: plain {:.3} ms ({:.3} ns/entry), \
             reproducible {:.3} ms ({:.3} ns/entry): {:.2}x",
            parallel.size(),
            1e3 * plain,
            ns(plain),
            1e3 * reproducible,
            ns(reproducible),
            reproducible / plain
        );
        println!(
            "RESULT n={n} ranks={} plain_s={plain:e} reproducible_s={reproducible:e} ratio={:.3}",
            parallel.size(),
            reproducible / plain
        );
    }
    Ok(())
}
