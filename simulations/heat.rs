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
use tessera::driver;
use tessera::driver::report::Verdict;
use tessera::driver::study::{self, Level};
use tessera::grid::field::Field;
use tessera::grid::geometry::Decomposition;
use tessera::grid::kernels::heat::{Boundary, Heat, HeatErrors};
use tessera::grid::laplacian::Stencil;
use tessera::grid::stencil;
use tessera::grid::stepper::{self, GridOptions, GridStepper};
use tessera::io::checkpoint::Param;
use tessera::parallel::{self, Parallel};
use tessera::partition::join_x;
use tessera::Result;

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
    let dt = parallel.agree(stencil::time_step(
        cli.dt,
        stencil::DEFAULT_DT_FRACTION,
        limit,
        "alpha",
    ))?;
    let (heat, decomposition) = parallel.agree(setup(parallel, &cli, shape, dt))?;
    let grid = decomposition.grid();
    let job = cli.run.job(dt, parameters(&cli, dt));
    let mut sim = GridStepper::new(parallel, &decomposition, &heat, &grid_options(&cli, &heat))?;
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
            job.end_step
        );
        println!("  {}", sim.layout_line());
    }

    let outcome = driver::run(parallel, &mut sim, &job)?;

    let errors = global_errors(parallel, &heat, &sim.levels()[0], outcome.step);
    let tolerance = Heat::roundoff_tolerance(outcome.step);
    if parallel.is_root() {
        println!("result at step {} (t = {:.6e})", outcome.step, outcome.time);
        println!(
            "  max |u - u_exact|  = {:.3e}   PDE solution; the scheme's discretisation error predicts {:.3e}",
            errors.vs_analytic, errors.discretisation
        );
        println!(
            "  max |u - u_scheme| = {:.3e}   exact solution of the scheme; round-off tolerance {tolerance:.1e}",
            errors.vs_scheme,
        );
    }
    let verdict = Verdict::check(errors.validates(outcome.step), || {
        format!(
            "the solution does not validate (max error {:.3e} against the scheme)",
            errors.vs_scheme
        )
    });
    let figures = [
        ("max_error_vs_pde".to_string(), errors.vs_analytic),
        (
            "predicted_discretisation_error".to_string(),
            errors.discretisation,
        ),
        ("max_error_vs_scheme".to_string(), errors.vs_scheme),
        ("roundoff_tolerance".to_string(), tolerance),
    ];
    driver::conclude(parallel, &sim, &job, &outcome, verdict, &figures)
}

/// The problem and its split over the ranks, or why not.
fn setup(
    parallel: &Parallel,
    cli: &Cli,
    shape: &[usize],
    dt: f64,
) -> Result<(Heat, Decomposition)> {
    let heat = Heat::new(shape, cli.bc, cli.stencil, cli.alpha, dt)?;
    let periodic = cli.bc == Boundary::Periodic;
    Ok((heat, cli.run.decomposition(parallel, shape, periodic)?))
}

/// The parameters that change the numbers: recorded in checkpoints, checked on restart.
fn parameters(cli: &Cli, dt: f64) -> Vec<(String, Param)> {
    vec![
        ("bc".into(), Param::Text(cli.bc.as_str().into())),
        ("stencil".into(), Param::Text(cli.stencil.as_str().into())),
        ("alpha".into(), Param::Float(cli.alpha)),
        ("dt".into(), Param::Float(dt)),
    ]
}

fn grid_options(cli: &Cli, heat: &Heat) -> GridOptions {
    cli.run.grid(heat.origin(), heat.spacing())
}

/// The errors of `u` after `step` steps, maxima over all ranks.
fn global_errors(parallel: &Parallel, heat: &Heat, u: &Field<f64>, step: u64) -> HeatErrors {
    let e = heat.local_errors(u, step);
    let m = parallel.max_each(&[e.vs_analytic, e.vs_scheme, e.discretisation, e.spatial]);
    HeatErrors {
        vs_analytic: m[0],
        vs_scheme: m[1],
        discretisation: m[2],
        spatial: m[3],
    }
}

/// `--convergence LEVELS`: the same final time on grids refined 2x per axis per level
/// (dt / 4 and 4x the steps per level), printing the error against the PDE (the order of
/// the whole scheme, 2 when dt ~ h^2) and the spatial error (the stencil's order).
fn convergence_study(parallel: &Parallel, cli: &Cli) -> Result<()> {
    let coarse = &cli.size.0;
    let limit = Heat::stability_limit(coarse, cli.bc, cli.stencil, cli.alpha);
    let dt0 = parallel.agree(stencil::time_step(
        cli.dt,
        stencil::DEFAULT_DT_FRACTION,
        limit,
        "alpha",
    ))?;
    let title = format!(
        "tessera heat: convergence study, {} levels from {}, {} Laplacian, {} boundaries, t = {:.4e}",
        cli.convergence,
        join_x(coarse),
        cli.stencil.describe(coarse.len()),
        cli.bc.as_str(),
        cli.run.steps as f64 * dt0
    );
    let columns = [
        ("max |u - u_exact|", 2.0),
        ("spatial error", cli.stencil.order() as f64),
    ];
    let restart = cli.run.restart.is_some();
    study::run(
        parallel,
        &title,
        study::Levels {
            count: cli.convergence,
            coarse,
            periodic: cli.bc == Boundary::Periodic,
        },
        restart,
        &columns,
        study::VALIDATES_AGAINST_SCHEME,
        |l, shape| {
            let refine = 1u64 << l;
            let (dt, steps) = (
                dt0 / (refine * refine) as f64,
                cli.run.steps.saturating_mul(refine * refine),
            );
            let (heat, decomposition) = parallel.agree(setup(parallel, cli, shape, dt))?;
            let job = study::level_job(steps, dt, parameters(cli, dt), cli.run.max_runtime);
            let (sim, outcome) = stepper::run(
                parallel,
                &decomposition,
                &heat,
                &grid_options(cli, &heat),
                &job,
            )?;
            let e = global_errors(parallel, &heat, &sim.levels()[0], outcome.step);
            study::check_level(parallel, l, shape, e.validates(outcome.step), || {
                format!("max error {:.3e} against the scheme", e.vs_scheme)
            })?;
            Ok(Level::new(
                shape,
                &heat.spacing(),
                steps,
                vec![e.vs_analytic, e.spatial],
            ))
        },
    )
}
