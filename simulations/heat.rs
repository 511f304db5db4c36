//! `heat`: the heat equation du/dt = alpha * Laplacian(u) on the unit square or cube,
//! explicit forward Euler on a grid split over MPI ranks, checked against its analytic
//! solution.
//!
//!     mpirun -n 4 target/release/heat --size 1024x1024 --steps 2000 --out runs/heat
//!     mpirun -n 2 target/release/heat --size 16x16 --bc periodic --stencil fourth --convergence 4
//!
//! See `tessera::grid::kernels::heat` for the discretisation and the validation.

use clap::Parser;
use std::process::ExitCode;
use tessera::cli::{self, Extents, RunFlags};
use tessera::driver::study::{self, Level};
use tessera::grid::geometry::{Decomposition, Grid};
use tessera::grid::kernels::heat::{Boundary, Heat, HeatErrors};
use tessera::grid::laplacian::Stencil;
use tessera::grid::stepper::{self, RunOptions};
use tessera::io::checkpoint::Param;
use tessera::parallel::{self, Parallel};
use tessera::{Error, Result};

/// The heat equation du/dt = alpha * Laplacian(u) on [0,1]^d (d = 1, 2, 3), explicit
/// forward Euler, MPI-parallel, with parallel HDF5 checkpoints. Validates itself against
/// the analytic solution of a two-mode sine initial condition.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Grid points per axis: NX, NXxNY or NXxNYxNZ.
    #[arg(long, value_name = "NXxNY[xNZ]", default_value = "1024x1024")]
    size: Extents,
    /// Diffusivity alpha.
    #[arg(long, default_value_t = 1.0)]
    alpha: f64,
    /// Time step (default: 80% of the stability limit 2/(alpha max|eigenvalue of L|)).
    #[arg(long)]
    dt: Option<f64>,
    /// Boundary condition on every side: dirichlet (u = 0) or periodic.
    #[arg(long, default_value = "dirichlet")]
    bc: Boundary,
    /// Laplacian: standard (5/7-point), compact (9/27-point) or fourth (4th order, radius 2).
    #[arg(long, default_value = "standard")]
    stencil: Stencil,
    /// Convergence study instead of one run: LEVELS grids, each refined 2x per axis from
    /// --size, run to the same final time (--steps on the coarsest, dt ~ h^2), and the
    /// observed order of accuracy between them. Writes no checkpoints.
    #[arg(long, value_name = "LEVELS", default_value_t = 0)]
    convergence: u32,
    #[command(flatten)]
    run: RunFlags,
}

/// Fraction of the stability limit used when --dt is not given.
const DEFAULT_DT_FRACTION: f64 = 0.8;

fn main() -> ExitCode {
    parallel::main_with_mpi("heat", run)
}

fn run(parallel: &Parallel) -> Result<()> {
    let Some(cli) = parallel.agree(cli::parse::<Cli>(parallel))? else {
        return Ok(());
    };
    if cli.convergence > 0 {
        return convergence_study(parallel, &cli);
    }
    let shape = &cli.size.0;
    let limit = Heat::stability_limit(shape, cli.bc, cli.stencil, cli.alpha);
    let dt = cli.dt.unwrap_or(DEFAULT_DT_FRACTION * limit);
    let (heat, decomposition) = parallel.agree(setup(parallel, &cli, shape, dt))?;
    let grid = decomposition.grid();
    let flags = &cli.run;
    let options = options(&cli, &heat, dt);
    if parallel.is_root() {
        println!(
            "tessera heat: {}D heat equation on a {} grid, {} Laplacian, {} boundaries",
            grid.ndim(),
            grid.shape_string(),
            cli.stencil.describe(grid.ndim()),
            cli.bc.as_str()
        );
        println!(
            "  alpha {}, dt {dt:.4e} ({:.0}% of the stability limit {limit:.4e}), up to step {}",
            cli.alpha,
            100.0 * dt / limit,
            flags.steps
        );
        println!("  {}", options.layout_line(parallel, &decomposition, &heat));
    }

    let outcome = stepper::run(parallel, &decomposition, &heat, &options)?;

    let errors = global_errors(parallel, &heat, &outcome.levels[0], outcome.step);
    let validates = errors.validates(outcome.step);
    if parallel.is_root() {
        println!("result at step {} (t = {:.6e})", outcome.step, outcome.time);
        println!(
            "  max |u - u_exact|  = {:.3e}   PDE solution; the scheme's discretisation error predicts {:.3e}",
            errors.vs_analytic, errors.discretisation
        );
        println!(
            "  max |u - u_scheme| = {:.3e}   exact solution of the scheme; round-off tolerance {:.1e}",
            errors.vs_scheme,
            Heat::roundoff_tolerance(outcome.step)
        );
    }
    stepper::conclude(parallel, grid, &outcome, Some(validates), || {
        format!(
            "the solution does not validate (max error {:.3e} against the scheme)",
            errors.vs_scheme
        )
    })
}

/// The problem and its split over the ranks, or why not.
fn setup(
    parallel: &Parallel,
    cli: &Cli,
    shape: &[usize],
    dt: f64,
) -> Result<(Heat, Decomposition)> {
    let heat = Heat::new(shape, cli.bc, cli.stencil, cli.alpha, dt)?;
    let periodic = vec![cli.bc == Boundary::Periodic; shape.len()];
    let grid = Grid::new(shape, &periodic)?;
    let procs = cli.run.procs.as_ref().map(|p| p.0.as_slice());
    Ok((heat, Decomposition::new(grid, parallel.size(), procs)?))
}

fn options(cli: &Cli, heat: &Heat, dt: f64) -> RunOptions {
    let parameters = vec![
        ("bc".into(), Param::Text(cli.bc.as_str().into())),
        ("stencil".into(), Param::Text(cli.stencil.as_str().into())),
        ("alpha".into(), Param::Float(cli.alpha)),
        ("dt".into(), Param::Float(dt)),
    ];
    cli.run
        .options(dt, parameters, heat.origin(), heat.spacing())
}

/// The errors of `u` after `step` steps, maxima over all ranks.
fn global_errors(
    parallel: &Parallel,
    heat: &Heat,
    u: &tessera::grid::field::Field<f64>,
    step: u64,
) -> HeatErrors {
    let local = heat.local_errors(u, step);
    HeatErrors {
        vs_analytic: parallel.max(local.vs_analytic),
        vs_scheme: parallel.max(local.vs_scheme),
        discretisation: parallel.max(local.discretisation),
        spatial: parallel.max(local.spatial),
    }
}

/// `--convergence LEVELS`: the same final time on grids refined 2x per axis per level
/// (dt / 4 and 4x the steps per level), printing the error against the PDE (the order of
/// the whole scheme, 2 when dt ~ h^2) and the spatial error (the stencil's order).
fn convergence_study(parallel: &Parallel, cli: &Cli) -> Result<()> {
    if cli.run.restart.is_some() {
        return parallel.agree(Err(Error::arg(
            "--convergence",
            "runs fresh grids; it cannot be combined with --restart",
        )));
    }
    let coarse = &cli.size.0;
    let dt0 = cli.dt.unwrap_or(
        DEFAULT_DT_FRACTION * Heat::stability_limit(coarse, cli.bc, cli.stencil, cli.alpha),
    );
    if parallel.is_root() {
        println!(
            "tessera heat: convergence study, {} levels from {}, {} Laplacian, {} boundaries, t = {:.4e}",
            cli.convergence,
            tessera::partition::join_x(coarse),
            cli.stencil.describe(coarse.len()),
            cli.bc.as_str(),
            cli.run.steps as f64 * dt0
        );
    }
    let mut levels = Vec::new();
    for l in 0..cli.convergence {
        let refine = 1usize << l;
        let shape: Vec<usize> = coarse
            .iter()
            .map(|&n| match cli.bc {
                Boundary::Dirichlet => (n + 1) * refine - 1,
                Boundary::Periodic => n * refine,
            })
            .collect();
        let dt = dt0 / (refine * refine) as f64;
        let steps = cli.run.steps * (refine * refine) as u64;
        let (heat, decomposition) = parallel.agree(setup(parallel, cli, &shape, dt))?;
        let options = RunOptions {
            end_step: steps,
            progress_every: 0.0,
            write_checkpoints: false,
            ..options(cli, &heat, dt)
        };
        let outcome = stepper::run(parallel, &decomposition, &heat, &options)?;
        let e = global_errors(parallel, &heat, &outcome.levels[0], outcome.step);
        if !e.validates(outcome.step) {
            return parallel.agree(Err(Error::NotValidated(format!(
                "level {l} ({}) does not validate: max error {:.3e} against the scheme",
                tessera::partition::join_x(&shape),
                e.vs_scheme
            ))));
        }
        levels.push(Level {
            grid: tessera::partition::join_x(&shape),
            h: heat.spacing().into_iter().fold(0.0, f64::max),
            steps,
            errors: vec![e.vs_analytic, e.spatial],
        });
    }
    if parallel.is_root() {
        print!(
            "{}",
            study::table(
                &levels,
                &[
                    ("max |u - u_exact|", 2.0),
                    ("spatial error", cli.stencil.order() as f64)
                ]
            )
        );
        println!("  every level validates against the exact solution of its scheme");
    }
    Ok(())
}
