//! Gravitational n-body dynamics by direct summation over a ring of ranks: the stepper the
//! `nbody` binary runs.
//!
//! **Distribution.** Bodies keep their global ids `0 .. N` for life; rank `r` owns a
//! contiguous range of whole tiles of [`TILE`] ids ([`block_of`]): `O(N/P)` memory.
//!
//! **Force evaluation (the ring).** Each rank packs its block's positions and masses; the
//! blocks travel round the ranks, `P - 1` shifts, each sent to the next rank while the
//! block in hand is computed against (nonblocking, [`RingShift`]). So every rank meets
//! every block once, holding three blocks at a time (its own, the one in hand, the one
//! arriving).
//!
//! **Reproducible order.** For each target the contribution of every tile of sources is
//! one sum in id order ([`gravity::tile_sums`], SIMD lanes over targets); the tile sums
//! are combined by a tree fixed by the tile indices ([`TileTree`]), whatever order the
//! ring brings them in. A body's acceleration is therefore the same bits on any rank
//! count, thread count (threads take groups of targets) and after a restart. With
//! `--summation arrival` the tile sums are added in the order they arrive instead: the same work without the
//! tree, not reproducible across rank counts (for the cost of reproducibility).
//!
//! **Integrator.** Leapfrog kick-drift-kick with a fixed step:
//! `v += dt/2 a; x += dt v; a = a(x); v += dt/2 a`, each body's own arithmetic.
//!
//! **Diagnostics** (exact sums over ranks, so the same digits on any rank count):
//! kinetic `K = 1/2 sum m v^2`, potential `W = 1/2 sum m phi` (softened), `E = K + W`,
//! virial ratio `K / |W|` (1/2 in equilibrium), centre of mass, momentum `sum m v`,
//! angular momentum `sum m x × v`, and the radii about the centre of mass holding 10, 50
//! and 90 % of the mass (Lagrangian radii, found exactly by bisection on the radii).

use super::gravity::{self, InverseSqrt, Sources, Targets, TileSums, TILE};
use super::tile_tree::TileTree;
use crate::driver::report::{Phases, Work};
use crate::driver::{Advance, Stepper};
use crate::error::{Error, Result};
use crate::io::checkpoint::{Checkpoint, Writer};
use crate::io::hdf5::Block;
use crate::io::xdmf::{Attribute, Sidecar};
use crate::parallel::{ExactSum, Parallel, RingShift, Threads};
use crate::partition::split_axis;
use std::time::{Duration, Instant};

/// Targets per group a thread takes (a group's tree of tile sums stays in cache).
const GROUP: usize = 512;
/// Message tag of the ring.
const RING_TAG: i32 = 41;

/// How a target's tile sums are added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Summation {
    /// The fixed tree over tile indices: the same bits on any rank and thread count.
    Tree,
    /// Tile sums added in the order they arrive: no tree, depends on the rank count.
    Arrival,
}

impl Summation {
    pub fn name(self) -> &'static str {
        match self {
            Summation::Tree => "tree",
            Summation::Arrival => "arrival",
        }
    }
}

/// What a run does, besides its bodies.
#[derive(Clone, Debug)]
pub struct NbodyOptions {
    pub dt: f64,
    /// Plummer softening length `eps`.
    pub softening: f64,
    pub inverse_sqrt: InverseSqrt,
    pub summation: Summation,
    /// Diagnostics every this many steps (0: the first and last step only).
    pub diagnostics_every: u64,
    pub threads: usize,
}

/// The first global id and the number of bodies rank `rank` of `size` owns: whole tiles
/// of [`TILE`] ids, split as evenly as tiles allow (ranks past the last tile own none).
pub fn block_of(bodies: u64, size: usize, rank: usize) -> (u64, usize) {
    let tiles = bodies.div_ceil(TILE as u64) as usize;
    let (t0, nt) = split_axis(tiles, size, rank);
    let first = (t0 * TILE) as u64;
    let end = (((t0 + nt) * TILE) as u64).min(bodies);
    (first, end.saturating_sub(first) as usize)
}

/// This rank's bodies, structure of arrays, ids `first .. first + len` in order.
#[derive(Clone, Debug, Default)]
pub struct Bodies {
    pub first: u64,
    pub pos: [Vec<f64>; 3],
    pub vel: [Vec<f64>; 3],
    pub mass: Vec<f64>,
    /// Acceleration and potential from the last force evaluation.
    pub acc: [Vec<f64>; 3],
    pub phi: Vec<f64>,
    ids: Vec<u64>,
}

impl Bodies {
    /// `len` bodies from id `first`, all zero.
    pub fn zeros(first: u64, len: usize) -> Bodies {
        let z = || vec![0.0; len];
        Bodies {
            first,
            pos: [z(), z(), z()],
            vel: [z(), z(), z()],
            mass: z(),
            acc: [z(), z(), z()],
            phi: z(),
            ids: (first..first + len as u64).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.mass.len()
    }

    pub fn is_empty(&self) -> bool {
        self.mass.is_empty()
    }

    pub fn ids(&self) -> &[u64] {
        &self.ids
    }
}

/// One line of diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Diagnostics {
    pub step: u64,
    pub time: f64,
    pub kinetic: f64,
    pub potential: f64,
    pub total: f64,
    /// `(E - E0) / |E0|`, E0 the energy at the start of the simulation.
    pub energy_error: f64,
    /// `K / |W|`.
    pub virial: f64,
    pub centre: [f64; 3],
    pub momentum: [f64; 3],
    pub angular: [f64; 3],
    /// `sum m |v|` and `sum m |x| |v|`: the scales of momentum and angular momentum.
    pub momentum_scale: f64,
    pub angular_scale: f64,
    /// Radii about the centre of mass holding 10, 50, 90 % of the mass.
    pub lagrangian: [f64; 3],
}

impl Diagnostics {
    pub const HEADER: &'static str = "    step        time       E_kin         E_pot       E_total     dE/|E0|  K/|W|     r10     r50     r90   |P|       |L|";

    pub fn line(&self) -> String {
        let norm = |v: [f64; 3]| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        format!(
            "{:8} {:11.5} {:11.8} {:13.9} {:13.9} {:10.3e} {:6.4} {:7.4} {:7.4} {:7.4} {:9.2e} {:9.2e}",
            self.step,
            self.time,
            self.kinetic,
            self.potential,
            self.total,
            self.energy_error,
            self.virial,
            self.lagrangian[0],
            self.lagrangian[1],
            self.lagrangian[2],
            norm(self.momentum),
            norm(self.angular)
        )
    }
}

/// Mass fractions of the Lagrangian radii.
pub const LAGRANGIAN_FRACTIONS: [f64; 3] = [0.1, 0.5, 0.9];

/// Phases a step reports.
pub const PHASES: [&str; 4] = ["force", "ring", "integrate", "diagnostics"];

/// An n-body run on this rank's block.
pub struct Nbody {
    name: String,
    total: u64,
    opts: NbodyOptions,
    threads: Threads,
    bodies: Bodies,
    ring: RingShift<f64>,
    /// The block in hand: `[first id, count, x.., y.., z.., m..]`.
    block: Vec<f64>,
    /// Per group of targets: the tree of tile sums, and the running sums of the
    /// arrival order.
    trees: Vec<TileTree>,
    running: Vec<TileSums>,
    /// The diagnostics of step 0 (measured at construction; a restart reads them from
    /// the checkpoint).
    initial: Option<Diagnostics>,
    pub diagnostics: Vec<Diagnostics>,
    /// Time waiting for the ring in the last force evaluation.
    ring_wait: Duration,
    ranks: usize,
}

fn blown_up(step: u64, what: String) -> Error {
    Error::NotValidated(format!(
        "the run blew up at step {step}: {what}; the time step --dt is too large for this softening (or bodies coincide)"
    ))
}

impl Nbody {
    /// A run of `total` bodies, this rank holding `bodies` (its [`block_of`]). Checks the
    /// bodies, moves the centre of mass to rest at the origin if `centre` and computes
    /// the accelerations of step 0. Collective.
    pub fn new(
        parallel: &Parallel,
        name: &str,
        total: u64,
        bodies: Bodies,
        centre: bool,
        opts: NbodyOptions,
    ) -> Result<Nbody> {
        let threads = parallel.agree(Threads::new(opts.threads))?;
        let (first, len) = block_of(total, parallel.size(), parallel.rank());
        assert!(bodies.first == first && bodies.len() == len);
        let mut nb = Nbody {
            name: name.to_string(),
            total,
            threads,
            ring: RingShift::new(parallel, RING_TAG),
            block: Vec::new(),
            trees: Vec::new(),
            running: Vec::new(),
            initial: None,
            diagnostics: Vec::new(),
            ring_wait: Duration::ZERO,
            ranks: parallel.size(),
            bodies,
            opts,
        };
        parallel.agree(nb.check_bodies("the initial state"))?;
        if centre {
            nb.move_to_centre_of_mass(parallel);
        }
        nb.compute_forces(parallel);
        parallel.agree(nb.check_forces(0))?;
        nb.initial = Some(nb.measure(parallel, 0));
        Ok(nb)
    }

    pub fn bodies(&self) -> &Bodies {
        &self.bodies
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn options(&self) -> &NbodyOptions {
        &self.opts
    }

    /// The most tree nodes that waited for a sibling at once in any group of targets
    /// (each node holds 4 values per target): the tree's memory.
    pub fn tree_peak(&self) -> usize {
        self.trees.iter().map(|t| t.peak_waiting).max().unwrap_or(0)
    }

    /// The diagnostics at step 0 of the simulation (also after a restart).
    pub fn initial(&self) -> Option<Diagnostics> {
        self.initial
    }

    /// Masses positive, everything finite: the first offending body named.
    fn check_bodies(&self, what: &str) -> Result<()> {
        let b = &self.bodies;
        for i in 0..b.len() {
            let id = b.first + i as u64;
            if !(b.mass[i] > 0.0 && b.mass[i].is_finite()) {
                return Err(Error::value(
                    "bodies",
                    format!(
                        "{what}: body {id} has mass {}; masses must be positive",
                        b.mass[i]
                    ),
                ));
            }
            let finite = (0..3).all(|a| b.pos[a][i].is_finite() && b.vel[a][i].is_finite());
            if !finite {
                return Err(Error::value(
                    "bodies",
                    format!("{what}: body {id} has a position or velocity that is not finite"),
                ));
            }
        }
        Ok(())
    }

    /// Accelerations finite (two bodies at the same place without softening, or a step
    /// too large, make them infinite).
    fn check_forces(&self, step: u64) -> Result<()> {
        let b = &self.bodies;
        let bad = (0..b.len()).find(|&i| !(0..3).all(|a| b.acc[a][i].is_finite()));
        match bad {
            None => Ok(()),
            Some(i) if self.opts.softening == 0.0 => Err(Error::value(
                "softening",
                format!(
                    "is 0 and body {} feels an infinite force at step {step}: it coincides with another body (give a positive --softening)",
                    b.first + i as u64
                ),
            )),
            Some(i) => Err(blown_up(
                step,
                format!(
                    "body {} has an acceleration that is not finite",
                    b.first + i as u64
                ),
            )),
        }
    }

    /// Subtracts the mass-weighted mean position and velocity (exact sums). Collective.
    fn move_to_centre_of_mass(&mut self, parallel: &Parallel) {
        let b = &mut self.bodies;
        let mass = parallel.sum_exact(&b.mass.iter().copied().collect());
        for a in 0..3 {
            for v in [&mut b.pos, &mut b.vel] {
                let s: ExactSum = b.mass.iter().zip(&v[a]).map(|(m, x)| m * x).collect();
                let mean = parallel.sum_exact(&s) / mass;
                v[a].iter_mut().for_each(|x| *x -= mean);
            }
        }
    }

    /// Accelerations and potentials of all bodies: the ring. Collective.
    fn compute_forces(&mut self, parallel: &Parallel) {
        let b = &self.bodies;
        let n = b.len();
        let groups = n.div_ceil(GROUP);
        let tiles = self.total.div_ceil(TILE as u64);
        if self.trees.len() != groups {
            self.trees = (0..groups).map(|_| TileTree::new(tiles)).collect();
            self.running = vec![TileSums::default(); groups];
        }
        self.trees.iter_mut().for_each(TileTree::clear);
        for r in &mut self.running {
            r.resize(0);
        }
        // the own block first
        self.block.clear();
        self.block.push(b.first as f64);
        self.block.push(n as f64);
        for a in 0..3 {
            self.block.extend_from_slice(&b.pos[a]);
        }
        self.block.extend_from_slice(&b.mass);

        let p = parallel.size();
        self.ring_wait = Duration::ZERO;
        for s in 0..p {
            let pending = if s + 1 < p {
                Some(self.ring.begin(&self.block))
            } else {
                None
            };
            visit(
                &self.bodies,
                &self.block,
                &mut self.trees,
                &mut self.running,
                &self.opts,
                &self.threads,
            );
            if let Some(pending) = pending {
                let t = Instant::now();
                let arrived = pending.finish();
                self.ring_wait += t.elapsed();
                self.block.clear();
                self.block.extend_from_slice(arrived.received(0));
            }
        }

        let b = &mut self.bodies;
        for g in 0..groups {
            let sums = match self.opts.summation {
                Summation::Tree => self.trees[g].total().expect("every tile was visited"),
                Summation::Arrival => &self.running[g],
            };
            let lo = g * GROUP;
            let hi = (lo + GROUP).min(n);
            b.acc[0][lo..hi].copy_from_slice(&sums.ax);
            b.acc[1][lo..hi].copy_from_slice(&sums.ay);
            b.acc[2][lo..hi].copy_from_slice(&sums.az);
            b.phi[lo..hi].copy_from_slice(&sums.phi);
        }
    }

    /// The diagnostics of the current state. Collective.
    pub fn measure(&self, parallel: &Parallel, step: u64) -> Diagnostics {
        let b = &self.bodies;
        let n = b.len();
        let mut sums: Vec<ExactSum> = (0..16).map(|_| ExactSum::new()).collect();
        for i in 0..n {
            let m = b.mass[i];
            let x = [b.pos[0][i], b.pos[1][i], b.pos[2][i]];
            let v = [b.vel[0][i], b.vel[1][i], b.vel[2][i]];
            let v2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
            let r2 = x[0] * x[0] + x[1] * x[1] + x[2] * x[2];
            sums[0].add(m);
            sums[1].add(0.5 * m * v2);
            sums[2].add(0.5 * m * b.phi[i]);
            sums[3].add(m * v2.sqrt());
            sums[4].add(m * (r2 * v2).sqrt());
            let l = [
                x[1] * v[2] - x[2] * v[1],
                x[2] * v[0] - x[0] * v[2],
                x[0] * v[1] - x[1] * v[0],
            ];
            for a in 0..3 {
                sums[5 + a].add(m * x[a]);
                sums[8 + a].add(m * v[a]);
                sums[11 + a].add(m * l[a]);
            }
        }
        let t: Vec<f64> = sums.iter().map(|s| parallel.sum_exact(s)).collect();
        let mass = t[0];
        let centre = [t[5] / mass, t[6] / mass, t[7] / mass];
        let (kinetic, potential) = (t[1], t[2]);
        let total = kinetic + potential;
        let e0 = self.initial.map_or(total, |d| d.total);
        Diagnostics {
            step,
            time: step as f64 * self.opts.dt,
            kinetic,
            potential,
            total,
            energy_error: (total - e0) / e0.abs(),
            virial: kinetic / potential.abs(),
            centre,
            momentum: [t[8], t[9], t[10]],
            angular: [t[11], t[12], t[13]],
            momentum_scale: t[3],
            angular_scale: t[4],
            lagrangian: self.lagrangian_radii(parallel, centre, mass),
        }
    }

    /// The smallest radius about `centre` within which the bodies' mass reaches each of
    /// [`LAGRANGIAN_FRACTIONS`] of `mass`: a bisection on the bit patterns of the squared
    /// radii (ordered like the numbers), with exact mass sums. Collective.
    fn lagrangian_radii(&self, parallel: &Parallel, centre: [f64; 3], mass: f64) -> [f64; 3] {
        let b = &self.bodies;
        let r2: Vec<u64> = (0..b.len())
            .map(|i| {
                let d: f64 = (0..3).map(|a| (b.pos[a][i] - centre[a]).powi(2)).sum();
                d.to_bits()
            })
            .collect();
        let top = parallel.max(r2.iter().copied().max().unwrap_or(0));
        LAGRANGIAN_FRACTIONS.map(|f| {
            let goal = f * mass;
            // the smallest bits `hi` with mass(r2 <= hi) >= goal
            let (mut lo, mut hi) = (0u64, top);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let mut inside = ExactSum::new();
                for (i, &r) in r2.iter().enumerate() {
                    if r <= mid {
                        inside.add(b.mass[i]);
                    }
                }
                if parallel.sum_exact(&inside) >= goal {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            f64::from_bits(hi).sqrt()
        })
    }

    fn diagnostics_due(&self, step: u64) -> bool {
        self.opts.diagnostics_every > 0 && step.is_multiple_of(self.opts.diagnostics_every)
    }

    /// Records (and on rank 0 prints) the diagnostics of `step`. Collective.
    fn record(&mut self, parallel: &Parallel, step: u64) -> Result<()> {
        let d = self.measure(parallel, step);
        if !d.total.is_finite() {
            return parallel.agree(Err(blown_up(step, "the energy is not finite".into())));
        }
        if parallel.is_root() {
            if self.diagnostics.is_empty() {
                println!("{}", Diagnostics::HEADER);
            }
            println!("{}", d.line());
        }
        self.diagnostics.push(d);
        Ok(())
    }

    /// Accelerations, velocities and positions finite on every rank. Collective.
    fn check_state(&self, parallel: &Parallel, step: u64) -> Result<()> {
        let b = &self.bodies;
        let fine = (0..3).all(|a| {
            b.pos[a].iter().all(|x| x.is_finite()) && b.vel[a].iter().all(|x| x.is_finite())
        });
        let forces = self.check_forces(step);
        if !parallel.all(fine && forces.is_ok()) {
            return parallel.agree(Err(forces.err().unwrap_or_else(|| {
                blown_up(step, "a position or velocity is not finite".into())
            })));
        }
        Ok(())
    }
}

/// Computes the contributions of `block` (packed as [`Nbody::block`]) to every target
/// group: tile by tile into the groups' trees, or the whole block at once into their
/// running sums. Groups are shared among the threads; a group's sums are its own.
fn visit(
    bodies: &Bodies,
    block: &[f64],
    trees: &mut [TileTree],
    running: &mut [TileSums],
    opts: &NbodyOptions,
    threads: &Threads,
) {
    let first = block[0] as u64;
    let len = block[1] as usize;
    let col = |c: usize| &block[2 + c * len..2 + (c + 1) * len];
    let (sx, sy, sz, sm) = (col(0), col(1), col(2), col(3));
    let eps2 = opts.softening * opts.softening;
    let n = bodies.len();
    let work = |g: usize, tree: &mut TileTree, run: &mut TileSums| {
        let (lo, hi) = (g * GROUP, ((g + 1) * GROUP).min(n));
        let targets = Targets {
            x: &bodies.pos[0][lo..hi],
            y: &bodies.pos[1][lo..hi],
            z: &bodies.pos[2][lo..hi],
            id: &bodies.ids[lo..hi],
        };
        let sources = |a: usize, b: usize| Sources {
            x: &sx[a..b],
            y: &sy[a..b],
            z: &sz[a..b],
            m: &sm[a..b],
            first_id: first + a as u64,
        };
        let mut scratch = TileSums::default();
        for start in (0..len).step_by(TILE) {
            let end = (start + TILE).min(len);
            let mut sums = match opts.summation {
                Summation::Tree => tree.buffer(),
                Summation::Arrival => std::mem::take(&mut scratch),
            };
            let method = opts.inverse_sqrt;
            gravity::tile_sums(targets, sources(start, end), eps2, method, &mut sums);
            match opts.summation {
                Summation::Tree => tree.add((first + start as u64) / TILE as u64, sums),
                Summation::Arrival if run.ax.is_empty() => *run = sums,
                Summation::Arrival => {
                    run.add(&sums);
                    scratch = sums;
                }
            }
        }
    };
    match threads.pool() {
        None => {
            for (g, (tree, run)) in trees.iter_mut().zip(running.iter_mut()).enumerate() {
                work(g, tree, run);
            }
        }
        Some(pool) => {
            use rayon::prelude::*;
            pool.install(|| {
                trees
                    .par_iter_mut()
                    .zip(running.par_iter_mut())
                    .enumerate()
                    .for_each(|(g, (tree, run))| work(g, tree, run));
            });
        }
    }
}

impl Stepper for Nbody {
    fn name(&self) -> &str {
        &self.name
    }

    fn phases(&self) -> Vec<&'static str> {
        PHASES.to_vec()
    }

    fn work(&self) -> Work {
        let n = self.total as f64;
        Work {
            per_step: n * n,
            item: "interaction",
            unit: "G interactions/s",
            scale: 1e9,
        }
    }

    fn state_bytes(&self) -> f64 {
        self.total as f64 * (8 + 11 * 8) as f64
    }

    fn decomposition(&self) -> String {
        format!(
            "{} ranks in a ring, blocks of whole {TILE}-body tiles",
            self.ranks
        )
    }

    fn threads(&self) -> usize {
        self.threads.count()
    }

    fn advance(&mut self, parallel: &Parallel, step: u64, phases: &mut Phases) -> Result<Advance> {
        if self.diagnostics.is_empty() {
            let t = Instant::now();
            self.record(parallel, step)?;
            phases.add("diagnostics", t.elapsed());
        }
        let new = step + 1;
        let half = 0.5 * self.opts.dt;
        let dt = self.opts.dt;
        let t = Instant::now();
        {
            let b = &mut self.bodies;
            for a in 0..3 {
                for i in 0..b.len() {
                    b.vel[a][i] += half * b.acc[a][i];
                    b.pos[a][i] += dt * b.vel[a][i];
                }
            }
        }
        phases.add("integrate", t.elapsed());
        let t = Instant::now();
        self.compute_forces(parallel);
        let elapsed = t.elapsed();
        phases.add("force", elapsed.saturating_sub(self.ring_wait));
        phases.add("ring", self.ring_wait);
        let t = Instant::now();
        {
            let b = &mut self.bodies;
            for a in 0..3 {
                for i in 0..b.len() {
                    b.vel[a][i] += half * b.acc[a][i];
                }
            }
        }
        self.check_state(parallel, new)?;
        phases.add("integrate", t.elapsed());
        if self.diagnostics_due(new) {
            let t = Instant::now();
            self.record(parallel, new)?;
            phases.add("diagnostics", t.elapsed());
        }
        Ok(Advance::Stepped)
    }

    fn finish(&mut self, parallel: &Parallel, step: u64, phases: &mut Phases) -> Result<Advance> {
        if self.diagnostics.last().is_some_and(|d| d.step == step) {
            return Ok(Advance::Stepped);
        }
        let t = Instant::now();
        self.record(parallel, step)?;
        phases.add("diagnostics", t.elapsed());
        Ok(Advance::Stepped)
    }

    fn progress_note(&self) -> Option<String> {
        self.diagnostics.last().map(|d| {
            format!(
                "E {:.9} dE/|E0| {:.2e} r50 {:.4}",
                d.total, d.energy_error, d.lagrangian[1]
            )
        })
    }

    fn series(&self) -> Vec<(&'static str, Vec<f64>)> {
        let col = |f: fn(&Diagnostics) -> f64| self.diagnostics.iter().map(f).collect();
        vec![
            ("time", col(|d| d.time)),
            ("energy_error", col(|d| d.energy_error)),
            ("virial_ratio", col(|d| d.virial)),
            ("r10", col(|d| d.lagrangian[0])),
            ("r50", col(|d| d.lagrangian[1])),
            ("r90", col(|d| d.lagrangian[2])),
        ]
    }

    fn save(&self, parallel: &Parallel, writer: &mut Writer) -> Result<()> {
        // the collective measurements first, so an attribute failing on one rank cannot
        // leave the others waiting in them
        let view = self.measure(parallel, 0);
        let initial = self
            .initial
            .expect("the initial diagnostics are recorded first");
        let b = &self.bodies;
        let (total, first, n) = (self.total as usize, b.first as usize, b.len());
        writer.attr("bodies", &[self.total])?;
        writer.attr(
            "initial",
            &[
                initial.total,
                initial.kinetic,
                initial.potential,
                initial.virial,
                initial.momentum[0],
                initial.momentum[1],
                initial.momentum[2],
                initial.angular[0],
                initial.angular[1],
                initial.angular[2],
                initial.momentum_scale,
                initial.angular_scale,
            ],
        )?;
        // the region pictures show: the centre of mass +- 2 r90
        let half = 2.0 * view.lagrangian[2];
        writer.attr("box_lo", &view.centre.map(|c| c - half))?;
        writer.attr("box_hi", &view.centre.map(|c| c + half))?;
        writer.dataset("particles/id", &Block::rows(total, first, n, 0), &b.ids)?;
        let rows = Block::rows(total, first, n, 3);
        let interleave = |v: &[Vec<f64>; 3]| -> Vec<f64> {
            (0..n).flat_map(|i| [v[0][i], v[1][i], v[2][i]]).collect()
        };
        writer.dataset("particles/position", &rows, &interleave(&b.pos))?;
        writer.dataset("particles/velocity", &rows, &interleave(&b.vel))?;
        writer.dataset("particles/acceleration", &rows, &interleave(&b.acc))?;
        let one = Block::rows(total, first, n, 0);
        writer.dataset("particles/mass", &one, &b.mass)?;
        writer.dataset("particles/potential", &one, &b.phi)?;
        let attr = |name: &str, path: &str, components: usize| Attribute {
            name: name.into(),
            dataset: path.into(),
            number_type: ("Float", 8),
            components,
        };
        writer.sidecar(Sidecar::Points {
            count: total,
            positions: attr("position", "particles/position", 3),
            attributes: vec![
                attr("velocity", "particles/velocity", 3),
                attr("acceleration", "particles/acceleration", 3),
                attr("mass", "particles/mass", 1),
                attr("potential", "particles/potential", 1),
                Attribute {
                    number_type: ("UInt", 8),
                    ..attr("id", "particles/id", 1)
                },
            ],
        });
        Ok(())
    }

    fn check_geometry(&self, checkpoint: &Checkpoint) -> Result<()> {
        let bodies = checkpoint.attr::<u64>("bodies")?;
        if bodies != [self.total] {
            return Err(Error::checkpoint(
                checkpoint.path(),
                format!("holds {bodies:?} bodies, this run has {}", self.total),
            ));
        }
        Ok(())
    }

    fn restore(&mut self, parallel: &Parallel, checkpoint: &Checkpoint) -> Result<()> {
        let total = self.total as usize;
        let (first, n) = (self.bodies.first as usize, self.bodies.len());
        let mut ids = vec![0u64; n];
        checkpoint.read(
            parallel,
            "particles/id",
            &Block::rows(total, first, n, 0),
            &mut ids,
        )?;
        let rows = Block::rows(total, first, n, 3);
        let mut columns = Vec::new();
        for path in [
            "particles/position",
            "particles/velocity",
            "particles/acceleration",
        ] {
            let mut data = vec![0.0; n * 3];
            checkpoint.read(parallel, path, &rows, &mut data)?;
            columns.push(data);
        }
        let one = Block::rows(total, first, n, 0);
        let mut mass = vec![0.0; n];
        checkpoint.read(parallel, "particles/mass", &one, &mut mass)?;
        let mut phi = vec![0.0; n];
        checkpoint.read(parallel, "particles/potential", &one, &mut phi)?;
        let initial = checkpoint.attr::<f64>("initial")?;
        let ordered = ids
            .iter()
            .enumerate()
            .all(|(i, &id)| id == (first + i) as u64);
        let damaged = |m: &str| Error::checkpoint(checkpoint.path(), m.to_string());
        parallel.agree(if !ordered {
            Err(damaged("its bodies are not in id order"))
        } else if initial.len() != 12 {
            Err(damaged("its 'initial' attribute does not hold 12 values"))
        } else {
            Ok(())
        })?;
        let b = &mut self.bodies;
        for a in 0..3 {
            for i in 0..n {
                b.pos[a][i] = columns[0][3 * i + a];
                b.vel[a][i] = columns[1][3 * i + a];
                b.acc[a][i] = columns[2][3 * i + a];
            }
        }
        b.mass = mass;
        b.phi = phi;
        let check = self
            .check_bodies("the checkpoint")
            .and_then(|_| self.check_forces(checkpoint.header.step))
            .map_err(|e| Error::checkpoint(checkpoint.path(), e.to_string()));
        parallel.agree(check)?;
        let v = |k: usize| [initial[k], initial[k + 1], initial[k + 2]];
        self.initial = Some(Diagnostics {
            total: initial[0],
            kinetic: initial[1],
            potential: initial[2],
            virial: initial[3],
            momentum: v(4),
            angular: v(7),
            momentum_scale: initial[10],
            angular_scale: initial[11],
            ..Diagnostics::default()
        });
        self.diagnostics.clear();
        Ok(())
    }
}

/// The bodies of HDF5 file `path` (`/particles/position` and `/particles/velocity`,
/// `N x 3`, and `/particles/mass`, `N`, all `f64`: the layout of this code's
/// checkpoints), this rank's [`block_of`] them; the total first. Collective; the errors
/// name the file and what is wrong.
pub fn read_input(parallel: &Parallel, path: &std::path::Path) -> Result<(u64, Bodies)> {
    use crate::io::hdf5 as h5;
    let bad = |m: String| Error::input(path, 0, m);
    let file = h5::open_input(parallel, path)?;
    let datasets = (|| {
        let open = |name: &str| {
            let d = file
                .dataset(&format!("particles/{name}"))
                .map_err(|_| bad(format!("has no dataset /particles/{name}")))?;
            if !d.dtype().is_ok_and(|t| t.is::<f64>()) {
                return Err(bad(format!("/particles/{name} does not hold f64 values")));
            }
            Ok(d)
        };
        let (pos, vel, mass) = (open("position")?, open("velocity")?, open("mass")?);
        let shape = pos.shape();
        if shape.len() != 2 || shape[1] != 3 {
            return Err(bad(format!(
                "/particles/position has shape {shape:?}, not N x 3"
            )));
        }
        let n = shape[0];
        if vel.shape() != [n, 3] {
            return Err(bad(format!(
                "/particles/velocity has shape {:?}, /particles/position {shape:?}: the lengths differ",
                vel.shape()
            )));
        }
        if mass.shape() != [n] {
            return Err(bad(format!(
                "/particles/mass has shape {:?}, /particles/position {shape:?}: the lengths differ",
                mass.shape()
            )));
        }
        if n < parallel.size() {
            return Err(bad(format!(
                "holds {n} bodies, fewer than the {} ranks",
                parallel.size()
            )));
        }
        Ok((pos, vel, mass, n as u64))
    })();
    let (pos, vel, mass, total) = parallel.agree(datasets)?;
    let (first, n) = block_of(total, parallel.size(), parallel.rank());
    let mut bodies = Bodies::zeros(first, n);
    let rows = Block::rows(total as usize, first as usize, n, 3);
    let mut xyz = vec![0.0; 3 * n];
    let mut uvw = vec![0.0; 3 * n];
    let read = h5::read_block(&pos, &rows, &mut xyz)
        .and_then(|_| h5::read_block(&vel, &rows, &mut uvw))
        .and_then(|_| {
            let one = Block::rows(total as usize, first as usize, n, 0);
            h5::read_block(&mass, &one, &mut bodies.mass)
        });
    parallel.agree(read.map_err(|e| bad(format!("cannot be read ({e})"))))?;
    for a in 0..3 {
        for i in 0..n {
            bodies.pos[a][i] = xyz[3 * i + a];
            bodies.vel[a][i] = uvw[3 * i + a];
        }
    }
    Ok((total, bodies))
}
