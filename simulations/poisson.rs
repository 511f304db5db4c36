//! `poisson`: -Laplacian(u) = f with Dirichlet data on the unit square or cube, solved by
//! Jacobi, red-black Gauss-Seidel or SOR iterations on a grid split over MPI ranks, checked
//! against a manufactured solution.
//!
//!     mpirun -n 4 target/release/poisson --size 257x257 --method sor --rtol 1e-10
//!     mpirun -n 2 target/release/poisson --size 15x15 --convergence 4
//!
//! `--steps` is the iteration cap. See `tessera::grid::kernels::poisson` for the numerics.

use clap::Parser;
use std::process::ExitCode;
use tessera::cli::{self, Extents, RunFlags};
use tessera::driver;
use tessera::driver::report::Verdict;
use tessera::driver::study::{self, Level};
use tessera::grid::geometry::Decomposition;
use tessera::grid::kernels::poisson::{Method, Poisson};
use tessera::grid::stepper::{self, Convergence, GridOptions, GridStepper};
use tessera::io::checkpoint::Param;
use tessera::parallel::{self, Parallel};
use tessera::partition::join_x;
use tessera::Result;

/// The Poisson equation -Laplacian(u) = f on [0,1]^d (d = 1, 2, 3) with Dirichlet data,
/// solved by stationary iterations to a relative residual tolerance, MPI-parallel, with
/// parallel HDF5 checkpoints. Validates itself against a manufactured solution.
/// --steps is the maximum number of iterations.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Interior grid points per axis: NX, NXxNY or NXxNYxNZ.
    #[arg(long, value_name = "NXxNY[xNZ]", default_value = "129x129")]
    size: Extents,
    /// Iteration: jacobi, gauss-seidel (red-black) or sor (red-black).
    #[arg(long, default_value = "sor")]
    method: Method,
    /// SOR relaxation factor (default: optimal for the model problem, 2/(1+sin(pi h))).
    #[arg(long)]
    omega: Option<f64>,
    /// Stop when ||f + L u||_2 <= RTOL ||f||_2.
    #[arg(long, default_value_t = 1e-10)]
    rtol: f64,
    /// Check the residual every N iterations (each check costs about one sweep).
    #[arg(long, value_name = "N", default_value_t = 10)]
    check_every: u64,
    /// Convergence study: LEVELS grids, each refined 2x per axis from --size, each solved
    /// to --rtol, and the observed order of the error. Writes no checkpoints.
    #[arg(long, value_name = "LEVELS", default_value_t = 0)]
    convergence: u32,
    #[command(flatten)]
    run: RunFlags,
}

fn main() -> ExitCode {
    parallel::main_with_mpi("poisson", run)
}

fn run(parallel: &Parallel) -> Result<()> {
    let Some(cli) = parallel.agree(cli::parse::<Cli>(parallel))? else {
        return Ok(());
    };
    if cli.convergence > 0 {
        return convergence_study(parallel, &cli);
    }
    let (poisson, decomposition) = parallel.agree(setup(parallel, &cli, &cli.size.0))?;
    let grid = decomposition.grid();
    let (grid_options, reference) = grid_options(parallel, &cli, &poisson, &decomposition);
    let job = cli.run.job(0.0, parameters(&poisson));
    let mut sim = GridStepper::new(parallel, &decomposition, &poisson, &grid_options)?;
    if parallel.is_root() {
        println!(
            "tessera poisson: {}D -Laplacian(u) = f on a {} grid, {}-point Laplacian, \
             Dirichlet data of a manufactured solution",
            grid.ndim(),
            grid.shape_string(),
            2 * grid.ndim() + 1
        );
        println!(
            "  {}, stop at ||r||/||f|| <= {:.1e} (checked every {} iterations), at most {} iterations",
            describe(&poisson),
            cli.rtol,
            cli.check_every,
            cli.run.steps
        );
        println!("  {}", sim.layout_line());
    }

    let outcome = driver::run(parallel, &mut sim, &job)?;

    let (error, bound, residual) = check(parallel, &poisson, &sim);
    let converged = sim.converged();
    let validates = converged && error <= bound;
    if parallel.is_root() {
        println!("residual history (||r||/||f||, first check below each power of ten)");
        let mut decade = f64::INFINITY;
        let last = sim.residuals().len().saturating_sub(1);
        for (i, &(step, r)) in sim.residuals().iter().enumerate() {
            let rel = r / reference;
            if rel < decade || i == 0 || i == last {
                println!("  iteration {step:>8}   {rel:.3e}");
                decade = 10f64.powf(rel.log10().floor());
            }
        }
        let rel = residual / reference;
        if converged {
            println!(
                "result: converged after {} iterations, ||r||/||f|| = {rel:.3e}",
                outcome.step
            );
        } else {
            println!(
                "result: NOT converged after {} iterations (||r||/||f|| = {rel:.3e} > {:.1e}); \
                 raise --steps or use --method sor",
                outcome.step, cli.rtol
            );
        }
        println!(
            "  max |u - u*| = {error:.3e}   a-priori bound (max|tau| + ||r||)/8 = {bound:.3e}"
        );
    }
    let verdict = Verdict::check(validates, || {
        if converged {
            format!("the error {error:.3e} exceeds its bound {bound:.3e}")
        } else {
            format!("no convergence within {} iterations", outcome.step)
        }
    });
    let figures = [
        ("iterations".to_string(), outcome.step as f64),
        ("relative_residual".to_string(), residual / reference),
        ("max_error_vs_manufactured".to_string(), error),
        ("a_priori_error_bound".to_string(), bound),
    ];
    driver::conclude(parallel, &sim, &job, &outcome, verdict, &figures)
}

fn setup(parallel: &Parallel, cli: &Cli, shape: &[usize]) -> Result<(Poisson, Decomposition)> {
    let poisson = Poisson::new(shape, cli.method, cli.omega)?;
    Ok((poisson, cli.run.decomposition(parallel, shape, false)?))
}

/// `sor (omega 1.9524)`.
fn describe(p: &Poisson) -> String {
    match p.method() {
        Method::Sor => format!("method sor (omega {:.6})", p.omega()),
        m => format!("method {}", m.as_str()),
    }
}

/// The stepper's options: stop on the residual relative to `||f||_2`, which is returned too.
fn grid_options(
    parallel: &Parallel,
    cli: &Cli,
    poisson: &Poisson,
    decomposition: &Decomposition,
) -> (GridOptions, f64) {
    let owned = decomposition.owned(parallel.rank());
    let reference = parallel.sum_exact(&poisson.local_rhs_norm2(&owned)).sqrt();
    let options = GridOptions {
        convergence: Some(Convergence {
            rtol: cli.rtol,
            reference,
            check_every: cli.check_every,
        }),
        ..cli.run.grid(poisson.origin(), poisson.spacing())
    };
    (options, reference)
}

/// The parameters that change the numbers: recorded in checkpoints, checked on restart.
fn parameters(poisson: &Poisson) -> Vec<(String, Param)> {
    vec![
        (
            "method".into(),
            Param::Text(poisson.method().as_str().into()),
        ),
        ("omega".into(), Param::Float(poisson.omega())),
    ]
}

/// The global error `max |u - u*|`, its a-priori bound and the final residual norm.
fn check(parallel: &Parallel, poisson: &Poisson, sim: &GridStepper<Poisson>) -> (f64, f64, f64) {
    let error = parallel.max(poisson.local_error(&sim.levels()[0]));
    let residual = sim.residuals().last().map_or(f64::NAN, |r| r.1);
    (error, poisson.error_bound(residual), residual)
}

/// `--convergence LEVELS`: each grid solved to --rtol; error against u* and its order.
fn convergence_study(parallel: &Parallel, cli: &Cli) -> Result<()> {
    let coarse = &cli.size.0;
    let title = format!(
        "tessera poisson: convergence study, {} levels from {}, method {}, rtol {:.1e}",
        cli.convergence,
        join_x(coarse),
        cli.method.as_str(),
        cli.rtol
    );
    let closing = "every level converged and is within its a-priori error bound";
    let restart = cli.run.restart.is_some();
    let columns = [("max |u - u*|", 2.0)];
    study::run(
        parallel,
        &title,
        study::Levels {
            count: cli.convergence,
            coarse,
            periodic: false,
        },
        restart,
        &columns,
        closing,
        |l, shape| {
            let (poisson, decomposition) = parallel.agree(setup(parallel, cli, shape))?;
            let (options, _) = grid_options(parallel, cli, &poisson, &decomposition);
            let job = study::level_job(
                cli.run.steps,
                0.0,
                parameters(&poisson),
                cli.run.max_runtime,
            );
            let (sim, outcome) = stepper::run(parallel, &decomposition, &poisson, &options, &job)?;
            let (error, bound, _) = check(parallel, &poisson, &sim);
            study::check_level(
                parallel,
                l,
                shape,
                sim.converged() && error <= bound,
                || {
                    format!(
                        "no convergence within {} iterations, or the error exceeds its bound",
                        outcome.step
                    )
                },
            )?;
            Ok(Level::new(
                shape,
                &poisson.spacing(),
                outcome.step,
                vec![error],
            ))
        },
    )
}
