//! `solve`: A x = b with Krylov solvers and preconditioners, MPI-parallel, reproducible:
//! the same iterates, bit for bit, on any rank count.
//!
//!     mpirun -n 2 target/release/solve --problem poisson --size 127x127x127 --ksp cg --pc mg
//!
//! See `tessera::linalg` for the numerics.

use clap::Parser;
use std::process::ExitCode;
use std::time::Instant;
use tessera::cli::{self, Extents};
use tessera::grid::geometry::{Decomposition, Grid};
use tessera::linalg::krylov::{self, Context, Solve, Stop, Timers, Tolerances};
use tessera::linalg::precond::{self, Setup};
use tessera::linalg::problems::Poisson;
use tessera::linalg::stencil_op::StencilOperator;
use tessera::linalg::vector::difference;
use tessera::linalg::LinearOperator;
use tessera::parallel::{self, Parallel};
use tessera::{Error, Result};

/// Solves A x = b by a Krylov method (--ksp) with a preconditioner (--pc) to a relative
/// tolerance on the unpreconditioned residual, MPI-parallel, with results that do not
/// depend on the rank count. Checks itself: the true residual recomputed, the error against
/// the exact solution.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// The problem: poisson (-Laplacian u = f, 7-point, manufactured solution).
    #[arg(long, default_value = "poisson")]
    problem: String,
    /// Unknowns per axis: N, NxN or NxNxN (multigrid needs N+1 to halve repeatedly:
    /// 31, 63, 127, 255).
    #[arg(long, value_name = "NxNxN", default_value = "127x127x127")]
    size: Extents,
    /// Krylov method: cg, richardson.
    #[arg(long, default_value = "cg")]
    ksp: String,
    /// Preconditioner: none, jacobi, mg.
    #[arg(long, default_value = "mg")]
    pc: String,
    /// Stop when ||b - A x|| <= max(RTOL ||b||, ATOL).
    #[arg(long, default_value_t = 1e-8)]
    rtol: f64,
    #[arg(long, default_value_t = 1e-50)]
    atol: f64,
    /// Iteration limit.
    #[arg(long, default_value_t = 10_000)]
    max_it: u64,
    /// Print the residual every N iterations (0: only the last).
    #[arg(long, value_name = "N", default_value_t = 1)]
    monitor: u64,
    /// Process grid, e.g. 2x1x1.
    #[arg(long, value_name = "AxBxC")]
    procs: Option<Extents>,
}

fn main() -> ExitCode {
    parallel::main_with_mpi("solve", run)
}

fn run(parallel: &Parallel) -> Result<()> {
    let Some(cli) = parallel.agree(cli::parse::<Cli>(parallel))? else {
        return Ok(());
    };
    let root = parallel.is_root();
    let setup_start = Instant::now();
    let (decomposition, problem) = parallel.agree(build(parallel, &cli))?;
    let mut op = StencilOperator::new(parallel, decomposition.clone());
    let setup = Setup {
        parallel,
        op: &op,
        grid: Some(&decomposition),
    };
    let mut pc = parallel.agree(precond::build(&cli.pc, &setup))?;
    let method = parallel.agree(krylov::method(&cli.ksp))?;
    let owned = decomposition.owned(parallel.rank());
    let b = problem.rhs(owned);
    let x0 = vec![0.0; b.len()];
    let setup_time = setup_start.elapsed();
    if root {
        println!(
            "tessera solve: {} on a {} grid ({} unknowns, h = 1/{}), {} ranks ({})",
            cli.problem,
            decomposition.grid().shape_string(),
            decomposition.grid().cells(),
            (1.0 / problem.h()).round(),
            parallel.size(),
            decomposition.procs_string()
        );
        println!("  ksp {}, pc {}", cli.ksp, pc.describe());
        println!(
            "  stop at ||r|| <= max({:.1e} ||b||, {:.1e}), at most {} iterations",
            cli.rtol, cli.atol, cli.max_it
        );
    }
    let tolerances = Tolerances {
        rtol: cli.rtol,
        atol: cli.atol,
        max_iterations: cli.max_it,
        ..Tolerances::default()
    };
    let mut timers = Timers::default();
    let solve_start = Instant::now();
    let mut ctx = Context {
        op: &mut op,
        pc: pc.as_mut(),
        timers: &mut timers,
    };
    let mut solve = Solve::start(method, tolerances, &mut ctx, &x0, &b);
    let stop = loop {
        let stop = solve.step(&mut ctx);
        let k = solve.iterations();
        if root && (stop.is_some() || (cli.monitor > 0 && k.is_multiple_of(cli.monitor))) {
            println!(
                "  {k:5} ||r|| {:.6e}  ||r||/||b|| {:.3e}",
                solve.residual(),
                solve.residual() / solve.rhs_norm
            );
        }
        if let Some(stop) = stop {
            break stop;
        }
    };
    let solve_time = solve_start.elapsed();
    // check: the true residual and the error against the exact solution
    let x = solve.method.solution().to_vec();
    let mut ax = vec![0.0; x.len()];
    op.apply(&x, &mut ax);
    let mut r = vec![0.0; x.len()];
    difference(&mut r, &b, &ax);
    let true_residual = op.layout().norm(&r) / solve.rhs_norm;
    let exact = problem.exact(owned);
    let mut e = vec![0.0; x.len()];
    difference(&mut e, &x, &exact);
    let error = op.layout().norm_max(&e);
    let halo = op.exchange_time() + pc.exchange_time();
    if root {
        println!(
            "{} after {} iterations: ||r||/||b|| = {:.3e} (recomputed from scratch: {:.3e})",
            stop.describe(),
            solve.iterations(),
            solve.residual() / solve.rhs_norm,
            true_residual
        );
        println!("  max error against the exact solution: {error:.4e}");
        println!(
            "  time: set-up {:.3} s, solve {:.3} s ({:.2} ms/iteration): operator {:.3}, preconditioner {:.3}, reductions {:.3}, vectors {:.3}; halo exchange {:.3} (inside the above)",
            setup_time.as_secs_f64(),
            solve_time.as_secs_f64(),
            1e3 * solve_time.as_secs_f64() / solve.iterations().max(1) as f64,
            timers.operator.as_secs_f64(),
            timers.preconditioner.as_secs_f64(),
            timers.reductions.as_secs_f64(),
            timers.vectors.as_secs_f64(),
            halo.as_secs_f64()
        );
        println!(
            "RESULT its={} stop={:?} relres={:e} err={:e} setup_s={} solve_s={}",
            solve.iterations(),
            stop,
            true_residual,
            error,
            setup_time.as_secs_f64(),
            solve_time.as_secs_f64()
        );
    }
    match stop {
        Stop::Converged => Ok(()),
        other => Err(Error::NotValidated(format!(
            "the solve did not converge: {}",
            other.describe()
        ))),
    }
}

fn build(parallel: &Parallel, cli: &Cli) -> Result<(Decomposition, Poisson)> {
    if cli.problem != "poisson" {
        return Err(Error::value(
            "problem",
            format!("unknown problem '{}' (known: poisson)", cli.problem),
        ));
    }
    let grid = Grid::new(&cli.size.0, &vec![false; cli.size.0.len()])?;
    let decomposition =
        Decomposition::new(grid, parallel.size(), cli.procs.as_ref().map(|p| &p.0[..]))?;
    let problem = Poisson::new(&decomposition)?;
    Ok((decomposition, problem))
}
