//! `heat`: the heat equation du/dt = alpha * Laplacian(u) on the unit square or cube,
//! explicit FTCS on a grid split over MPI ranks, checked against its analytic solution.
//!
//!     mpirun -n 4 target/release/heat --size 1024x1024 --steps 2000 --out runs/heat
//!
//! See `tessera::kernels::heat` for the discretisation and the validation.

use clap::Parser;
use std::process::ExitCode;
use tessera::checkpoint::Param;
use tessera::cli::{self, Extents, RunFlags};
use tessera::driver::{self, RunOptions};
use tessera::geometry::{Decomposition, Grid};
use tessera::kernels::heat::{Boundary, Heat};
use tessera::runtime::{self, Parallel};
use tessera::{Error, Result};

/// The heat equation du/dt = alpha * Laplacian(u) on [0,1]^d (d = 1, 2, 3), explicit FTCS,
/// MPI-parallel, with parallel HDF5 checkpoints. Validates itself against the analytic
/// solution of a two-mode sine initial condition.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Grid points per axis: NX, NXxNY (2D, 5-point stencil) or NXxNYxNZ (3D, 7-point).
    #[arg(long, value_name = "NXxNY[xNZ]", default_value = "1024x1024")]
    size: Extents,
    /// Diffusivity alpha.
    #[arg(long, default_value_t = 1.0)]
    alpha: f64,
    /// Time step (default: 80% of the stability limit 1/(2 alpha sum 1/h^2)).
    #[arg(long)]
    dt: Option<f64>,
    /// Boundary condition on every side: dirichlet (u = 0) or periodic.
    #[arg(long, default_value = "dirichlet")]
    bc: Boundary,
    #[command(flatten)]
    run: RunFlags,
}

/// Fraction of the stability limit used when --dt is not given.
const DEFAULT_DT_FRACTION: f64 = 0.8;

fn main() -> ExitCode {
    runtime::main_with_mpi("heat", run)
}

fn run(parallel: &Parallel) -> Result<()> {
    let Some(cli) = parallel.agree(cli::parse::<Cli>(parallel))? else {
        return Ok(());
    };
    let limit = Heat::stability_limit(&cli.size.0, cli.bc, cli.alpha);
    let dt = cli.dt.unwrap_or(DEFAULT_DT_FRACTION * limit);
    let setup = || -> Result<(Heat, Decomposition)> {
        let heat = Heat::new(&cli.size.0, cli.bc, cli.alpha, dt)?;
        let periodic = vec![cli.bc == Boundary::Periodic; cli.size.0.len()];
        let grid = Grid::new(&cli.size.0, &periodic)?;
        let decomposition = Decomposition::new(
            grid,
            parallel.size(),
            cli.run.procs.as_ref().map(|p| p.0.as_slice()),
        )?;
        Ok((heat, decomposition))
    };
    let (heat, decomposition) = parallel.agree(setup())?;
    let grid = decomposition.grid();
    let flags = &cli.run;
    let options = RunOptions {
        end_step: flags.steps,
        dt,
        checkpoint_every: flags.checkpoint_every,
        out_dir: flags.out.clone(),
        restart: flags.restart.clone(),
        ghost: flags.ghost,
        overlap: !flags.no_overlap,
        overwrite: flags.overwrite,
        progress_every: flags.progress,
        parameters: vec![
            ("bc".into(), Param::Text(cli.bc.as_str().into())),
            ("alpha".into(), Param::Float(cli.alpha)),
            ("dt".into(), Param::Float(dt)),
        ],
        origin: heat.origin(),
        spacing: heat.spacing(),
    };
    if parallel.is_root() {
        println!(
            "tessera heat: {}D heat equation on a {} grid, {} boundaries",
            grid.ndim(),
            grid.shape_string(),
            cli.bc.as_str()
        );
        println!(
            "  alpha {}, dt {dt:.4e} ({:.0}% of the stability limit {limit:.4e}), up to step {}",
            cli.alpha,
            100.0 * dt / limit,
            flags.steps
        );
        println!(
            "  {} ranks on a {} process grid, ghost width {}, overlap {}",
            parallel.size(),
            decomposition.procs_string(),
            flags.ghost,
            if options.overlap { "on" } else { "off" }
        );
        if let Some(r) = &flags.restart {
            println!("  restarting from {}", r.display());
        }
    }

    let outcome = driver::run(parallel, &decomposition, &heat, &options)?;

    let local = heat.local_errors(&outcome.levels[0], outcome.step);
    let errors = tessera::kernels::heat::HeatErrors {
        vs_analytic: parallel.max_f64(local.vs_analytic),
        vs_scheme: parallel.max_f64(local.vs_scheme),
        discretisation: parallel.max_f64(local.discretisation),
    };
    let timings = outcome.timings.max_over_ranks(parallel);
    let validates = errors.validates(outcome.step);
    if parallel.is_root() {
        let steps = outcome.step - outcome.start_step;
        let updates = steps as f64 * grid.cells() as f64;
        println!("result at step {} (t = {:.6e})", outcome.step, outcome.time);
        println!(
            "  max |u - u_exact|  = {:.3e}   PDE solution; FTCS discretisation error predicts {:.3e}",
            errors.vs_analytic, errors.discretisation
        );
        println!(
            "  max |u - u_scheme| = {:.3e}   exact solution of the scheme; round-off tolerance {:.1e}",
            errors.vs_scheme,
            Heat::roundoff_tolerance(outcome.step)
        );
        println!(
            "  {}",
            if validates {
                "Solution validates"
            } else {
                "Solution does NOT validate"
            }
        );
        println!("performance");
        println!(
            "  {steps} steps x {} points in {:.3} s: {:.3} Glups overall, {:.3} Glups in the update",
            grid.cells(),
            timings.total.as_secs_f64(),
            updates / timings.total.as_secs_f64() / 1e9,
            updates / timings.compute.as_secs_f64().max(1e-12) / 1e9
        );
        println!("  time: {}", timings.breakdown());
        match &outcome.checkpoint {
            Some(p) => println!(
                "checkpoint: {} (ParaView: {})",
                p.display(),
                p.with_extension("xmf").display()
            ),
            None => println!(
                "checkpoint: none written (already at step {})",
                outcome.step
            ),
        }
    }
    if validates {
        Ok(())
    } else {
        parallel.agree(Err(Error::NotValidated(format!(
            "the solution does not validate (max error {:.3e} against the scheme)",
            errors.vs_scheme
        ))))
    }
}
