//! `md`: short-range molecular dynamics (Lennard-Jones, Morse) in a periodic box split
//! over MPI ranks, with ghost atoms, migration and Verlet lists; the same trajectory bit
//! for bit on any number of ranks and threads.
//!
//!     mpirun -n 2 target/release/md --lattice fcc --density 0.8442 --cells 20x20x20 \
//!         --temperature 1.44 --steps 100          # LAMMPS's LJ benchmark, 32,000 atoms
//!     mpirun -n 2 target/release/md --data model.data --steps 1000   # a LAMMPS model
//!
//! See `tessera::particles` for the method and why it is reproducible.

use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use tessera::cli::{self, Extents, JobFlags};
use tessera::driver;
use tessera::driver::report::Verdict;
use tessera::io::checkpoint::Param;
use tessera::io::input;
use tessera::parallel::{self, Parallel};
use tessera::particles::data_file;
use tessera::particles::domain::{Domain, PeriodicBox};
use tessera::particles::integrate::Langevin;
use tessera::particles::lattice::Lattice;
use tessera::particles::md::{MdOptions, MolecularDynamics};
use tessera::particles::potentials;
use tessera::particles::store::Atom;
use tessera::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Ensemble {
    /// Constant energy: velocity Verlet.
    Nve,
    /// Constant temperature: velocity Verlet with a Langevin thermostat.
    Langevin,
}

/// Molecular dynamics of atoms in a periodic box, MPI-parallel with ghost atoms and
/// migration, checkpointed to parallel HDF5. Bitwise-identical trajectories on any
/// number of ranks and threads; NVE runs check energy and momentum conservation.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Start from a lattice filling the box: fcc, bcc or sc.
    #[arg(long, default_value = "fcc")]
    lattice: Lattice,
    /// Number density of the lattice (atoms per unit volume).
    #[arg(long, default_value_t = 0.8442)]
    density: f64,
    /// Unit cells of the lattice per axis (the box).
    #[arg(long, value_name = "NXxNYxNZ", default_value = "20x20x20")]
    cells: Extents,
    /// Initial temperature (Maxwell–Boltzmann, keyed by atom id; zero total momentum).
    #[arg(long, default_value_t = 1.44)]
    temperature: f64,
    /// Seed of the initial velocities and of the Langevin forces.
    #[arg(long, default_value_t = 87287)]
    seed: u64,
    /// Start from a LAMMPS data file (atom_style atomic, orthogonal box, one type)
    /// instead of a lattice; its velocities are used if it has them.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Pair potential: lj/cut or morse.
    #[arg(long, default_value = "lj/cut")]
    potential: String,
    /// Potential coefficients: epsilon,sigma for lj/cut (default 1,1); d0,alpha,r0 for
    /// morse.
    #[arg(long, value_delimiter = ',', value_name = "C1,C2,...")]
    coeff: Option<Vec<f64>>,
    /// Force cutoff.
    #[arg(long, default_value_t = 2.5)]
    cutoff: f64,
    /// Shift the energy to zero at the cutoff (LAMMPS pair_modify shift yes).
    #[arg(long)]
    shift: bool,
    /// Neighbour-list skin: lists hold pairs within cutoff + skin.
    #[arg(long, default_value_t = 0.3)]
    skin: f64,
    /// Time step.
    #[arg(long, default_value_t = 0.005)]
    dt: f64,
    /// Atom mass (a data file gives its own).
    #[arg(long, default_value_t = 1.0)]
    mass: f64,
    /// Rebuild neighbour lists every N steps (LAMMPS neigh_modify every N).
    #[arg(long, value_name = "N", default_value_t = 20)]
    neigh_every: u64,
    /// At those steps rebuild only if an atom moved more than half the skin
    /// (LAMMPS check yes).
    #[arg(long)]
    neigh_check: bool,
    /// Thermodynamic output every N steps (0: the first and last step only).
    #[arg(long, value_name = "N", default_value_t = 50)]
    thermo: u64,
    /// nve, or langevin (thermostat at --temperature with damping time --damp).
    #[arg(long, default_value = "nve")]
    ensemble: Ensemble,
    /// Langevin damping time.
    #[arg(long, default_value_t = 1.0)]
    damp: f64,
    #[command(flatten)]
    run: JobFlags,
}

fn main() -> ExitCode {
    parallel::main_with_mpi("md", run)
}

/// The bound on NVE energy drift: per atom, this fraction of the initial kinetic energy
/// per atom.
const DRIFT_BOUND: f64 = 0.02;
/// The bound on the change of the total momentum: this fraction of `sum m |v|`.
const MOMENTUM_BOUND: f64 = 1e-10;

fn run(parallel: &Parallel) -> Result<()> {
    let Some(cli) = parallel.agree(cli::parse::<Cli>(parallel))? else {
        return Ok(());
    };
    let mut opts = parallel.agree(options(&cli))?;
    let start = parallel.agree(initial_state(parallel, &cli, &mut opts))?;
    let source = start.source.clone();
    let velocities_given = start.velocities;
    let mut md =
        MolecularDynamics::new(parallel, "md", start.domain, start.mine, start.atoms, opts)?;
    if !velocities_given {
        md.create_velocities(parallel, cli.temperature, cli.seed);
    }
    let job = cli.run.job(cli.dt, parameters(&cli));
    if parallel.is_root() {
        let d = md.domain();
        println!(
            "tessera md: {} atoms, {source}, box {:.6} x {:.6} x {:.6}",
            md.atoms(),
            d.bounds.length(0),
            d.bounds.length(1),
            d.bounds.length(2)
        );
        println!(
            "  {} cutoff {} skin {}, dt {}, {}, lists every {} steps{}",
            cli.potential,
            cli.cutoff,
            cli.skin,
            cli.dt,
            match cli.ensemble {
                Ensemble::Nve => "NVE".to_string(),
                Ensemble::Langevin => format!("Langevin T {} damp {}", cli.temperature, cli.damp),
            },
            cli.neigh_every,
            if cli.neigh_check { " (if moved)" } else { "" }
        );
        println!(
            "  {} ranks: {}, {} thread(s) each",
            parallel.size(),
            d.describe(),
            cli.run.threads
        );
    }

    let outcome = driver::run(parallel, &mut md, &job)?;

    let first = md.thermo.first().copied();
    let last = md.thermo.last().copied();
    let (Some(first), Some(last)) = (first, last) else {
        unreachable!("thermodynamics are recorded at the first and last step");
    };
    let drift = (last.e_total - first.e_total).abs();
    let drift_bound = DRIFT_BOUND * first.e_kin.max(f64::MIN_POSITIVE);
    // the change of the total momentum (a data file's atoms need not start at rest)
    let momentum = (0..3).fold(0.0f64, |m, a| {
        m.max((last.momentum[a] - first.momentum[a]).abs())
    });
    let momentum_bound = MOMENTUM_BOUND * last.momentum_scale;
    let c = md.counters;
    let migrated = parallel.sum(c.migrated);
    if parallel.is_root() {
        println!(
            "result at step {} (t = {:.6}): T {:.10}, E_total {:.12} per atom",
            outcome.step, outcome.time, last.temperature, last.e_total
        );
        println!(
            "  energy drift |dE| = {drift:.3e} per atom since step {} (bound {drift_bound:.3e}: {} of E_kin at the start)",
            first.step, DRIFT_BOUND
        );
        println!(
            "  total momentum change max |d sum m v| = {momentum:.3e} (bound {momentum_bound:.3e} = {MOMENTUM_BOUND:.0e} x sum m|v|)"
        );
        println!(
            "  neighbour builds {}, atoms migrated {migrated}, dangerous steps {}; on rank 0: owned atoms {}, ghosts {}, list pairs {}",
            c.builds,
            c.dangerous_steps,
            md.store().owned(),
            c.ghosts,
            c.pairs
        );
        if c.dangerous_steps > 0 {
            println!(
                "  warning: on {} steps an atom had moved more than half the skin since the list was built: pairs may have been missed (use --neigh-check or a larger --skin)",
                c.dangerous_steps
            );
        }
    }
    let verdict = match cli.ensemble {
        Ensemble::Nve => Verdict::check(drift <= drift_bound && momentum <= momentum_bound, || {
            format!(
                "energy drift {drift:.3e} (bound {drift_bound:.3e}) or momentum {momentum:.3e} (bound {momentum_bound:.3e}) too large"
            )
        }),
        Ensemble::Langevin => Verdict::NotChecked,
    };
    let figures = [
        ("temperature".to_string(), last.temperature),
        ("e_pair".to_string(), last.e_pair),
        ("e_total".to_string(), last.e_total),
        ("pressure".to_string(), last.pressure),
        ("energy_drift".to_string(), drift),
        ("momentum_change".to_string(), momentum),
        ("neighbour_builds".to_string(), c.builds as f64),
        ("dangerous_steps".to_string(), c.dangerous_steps as f64),
    ];
    driver::conclude(parallel, &md, &job, &outcome, verdict, &figures)
}

/// The run's options from the flags, or what is wrong with them.
fn options(cli: &Cli) -> Result<MdOptions> {
    let coeff = match (&cli.coeff, cli.potential.as_str()) {
        (Some(c), _) => c.clone(),
        (None, "lj/cut") => vec![1.0, 1.0],
        (None, other) if other == "morse" => {
            return Err(Error::arg(
                "--coeff",
                format!("the coefficients of '{other}' have no default (morse: d0,alpha,r0)"),
            ))
        }
        // an unknown potential: the registry names it
        (None, _) => Vec::new(),
    };
    let potential = potentials::by_name(&cli.potential, &coeff, cli.cutoff, cli.shift)?;
    let positive = |name: &'static str, x: f64| {
        if x > 0.0 && x.is_finite() {
            Ok(())
        } else {
            Err(Error::value(name, format!("must be positive, got {x}")))
        }
    };
    positive("dt", cli.dt)?;
    positive("skin", cli.skin)?;
    positive("mass", cli.mass)?;
    if cli.neigh_every == 0 {
        return Err(Error::value("neigh-every", "must be at least 1"));
    }
    if !(cli.temperature >= 0.0 && cli.temperature.is_finite()) {
        return Err(Error::value(
            "temperature",
            format!("must be 0 or more, got {}", cli.temperature),
        ));
    }
    let langevin = match cli.ensemble {
        Ensemble::Nve => None,
        Ensemble::Langevin => {
            positive("damp", cli.damp)?;
            Some(Langevin {
                temperature: cli.temperature,
                damp: cli.damp,
                seed: cli.seed,
            })
        }
    };
    Ok(MdOptions {
        potential,
        skin: cli.skin,
        dt: cli.dt,
        mass: cli.mass,
        neigh_every: cli.neigh_every,
        neigh_check: cli.neigh_check,
        thermo_every: cli.thermo,
        langevin,
        threads: cli.run.threads,
    })
}

/// The atoms at the start, this rank's share of them.
struct Start {
    domain: Domain,
    mine: Vec<Atom>,
    atoms: u64,
    /// Where they came from, for the first output line.
    source: String,
    /// Whether they came with velocities.
    velocities: bool,
}

/// The atoms at the start (a lattice or a data file) that this rank's sub-box owns.
/// Makes no collective call (its errors are agreed by the caller); a data file sets
/// the mass in `opts`.
fn initial_state(parallel: &Parallel, cli: &Cli, opts: &mut MdOptions) -> Result<Start> {
    let rg = opts.ghost_cutoff();
    let procs = cli.run.procs.as_ref().map(|p| p.0.as_slice());
    let (domain, mine, atoms, source, velocities) = if let Some(path) = &cli.data {
        input::regular_file(path).map_err(|m| Error::input(path, 0, m))?;
        // every rank streams the file, keeping the atoms its sub-box owns; the box
        // comes from the file's header, read first
        let (_, bounds) = data_file::read_header(path)?;
        let domain = Domain::new(bounds, parallel.size(), parallel.rank(), procs, rg)?;
        let file = data_file::read(path, &|_, p| domain.owner(p) == parallel.rank())?;
        opts.mass = file.mass;
        let mine: Vec<Atom> = file
            .kept
            .iter()
            .map(|&(id, pos, vel)| Atom {
                id,
                pos,
                vel,
                force: [0.0; 3],
                reference: pos,
            })
            .collect();
        let source = format!("from {}", path.display());
        (domain, mine, file.atoms, source, file.has_velocities)
    } else {
        let cells: [usize; 3] = cli.cells.0.as_slice().try_into().map_err(|_| {
            Error::arg(
                "--cells",
                format!("needs three counts NXxNYxNZ, got {}", cli.cells.0.len()),
            )
        })?;
        let a = cli.lattice.constant(cli.density)?;
        let hi = cells.map(|n| n as f64 * a);
        let bounds = PeriodicBox::new([0.0; 3], hi)?;
        let domain = Domain::new(bounds, parallel.size(), parallel.rank(), procs, rg)?;
        let atoms =
            cells.iter().map(|&n| n as u64).product::<u64>() * cli.lattice.basis().len() as u64;
        let mut mine = Vec::new();
        cli.lattice.sites(
            cells,
            a,
            domain.sub_lo,
            domain.sub_hi,
            |p| domain.owner(p) == parallel.rank(),
            |id, pos| {
                mine.push(Atom {
                    id,
                    pos,
                    reference: pos,
                    ..Atom::default()
                })
            },
        );
        let source = format!(
            "{} lattice {} cells, density {}",
            cli.lattice.as_str(),
            tessera::partition::join_x(&cells),
            cli.density
        );
        (domain, mine, atoms, source, false)
    };
    Ok(Start {
        domain,
        mine,
        atoms,
        source,
        velocities,
    })
}

/// The parameters that change the trajectory: recorded in checkpoints, checked on restart.
fn parameters(cli: &Cli) -> Vec<(String, Param)> {
    let mut p = vec![
        ("potential".into(), Param::Text(cli.potential.clone())),
        (
            "coeff".into(),
            Param::Text(
                cli.coeff
                    .as_ref()
                    .map(|c| {
                        c.iter()
                            .map(|x| format!("{x:e}"))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_else(|| "default".into()),
            ),
        ),
        ("cutoff".into(), Param::Float(cli.cutoff)),
        ("shift".into(), Param::Int(i64::from(cli.shift))),
        ("skin".into(), Param::Float(cli.skin)),
        ("dt".into(), Param::Float(cli.dt)),
        ("neigh-every".into(), Param::Int(cli.neigh_every as i64)),
        ("neigh-check".into(), Param::Int(i64::from(cli.neigh_check))),
        (
            "ensemble".into(),
            Param::Text(format!("{:?}", cli.ensemble).to_lowercase()),
        ),
    ];
    if cli.data.is_none() {
        p.push(("mass".into(), Param::Float(cli.mass)));
    }
    if cli.ensemble == Ensemble::Langevin {
        p.push(("temperature".into(), Param::Float(cli.temperature)));
        p.push(("damp".into(), Param::Float(cli.damp)));
        p.push(("seed".into(), Param::Int(cli.seed as i64)));
    }
    p
}
