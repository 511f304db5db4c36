//! Molecular dynamics on a spatial decomposition: the stepper the `md` binary runs.
//!
//! One step (velocity Verlet, LAMMPS's order): half kick, drift; on a neighbour step
//! (every `neigh_every` steps, and with `neigh_check` only if an atom moved more than
//! half the skin) wrap positions into the box, migrate atoms to the ranks that own them,
//! sort them by bin, rebuild ghosts and Verlet lists; otherwise refresh ghost positions;
//! pair forces (plus Langevin forces); half kick; thermodynamics when due.
//!
//! Why the trajectory is bitwise the same on any rank and thread count: every atom's
//! update is its own arithmetic; wrapping happens at the same steps on every rank count;
//! a ghost coordinate is one addition of `+-L` or none; each atom's force is a sum over
//! its neighbours in id order (pairs beyond the cutoff add an exact zero); global sums
//! are exact. Which rank owns an atom changes who computes, never what.
//!
//! A checkpoint holds, per atom in id order, the position, velocity, force and the
//! position at the last neighbour build, which fixes owner, ghosts and list: a restart
//! on any rank count rebuilds exactly the state the run had.

use super::cells::{Bins, NeighbourList, SlicedLists};
use super::domain::Domain;
use super::force;
use super::ghosts::Ghosts;
use super::integrate::{self, Langevin};
use super::potentials::PairPotential;
use super::store::{Atom, Store};
use crate::driver::report::{Phases, Work};
use crate::driver::{Advance, Stepper};
use crate::error::{Error, Result};
use crate::io::checkpoint::{Checkpoint, Writer};
use crate::io::hdf5::Block;
use crate::io::xdmf::{Attribute, Sidecar};
use crate::parallel::{ExactSum, Parallel, Threads};
use crate::partition::{owner_on_axis, DIMS};
use std::time::Instant;

/// What a run does, besides its atoms.
pub struct MdOptions {
    pub potential: Box<dyn PairPotential>,
    /// Neighbour-list skin: lists hold pairs within cutoff + skin.
    pub skin: f64,
    pub dt: f64,
    pub mass: f64,
    /// Neighbour lists are rebuilt at steps that are multiples of this.
    pub neigh_every: u64,
    /// Rebuild at those steps only if an atom moved more than half the skin.
    pub neigh_check: bool,
    /// Thermodynamics every this many steps (0: only at the start and the end).
    pub thermo_every: u64,
    /// `None`: NVE.
    pub langevin: Option<Langevin>,
    pub threads: usize,
}

impl MdOptions {
    /// Force cutoff + skin: the ghost cutoff and the list cutoff.
    pub fn ghost_cutoff(&self) -> f64 {
        self.potential.cutoff() + self.skin
    }
}

/// Thermodynamic output of one step, LAMMPS's `thermo_style` columns (energies per
/// atom, as LAMMPS normalises them in LJ units), with the total momentum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thermo {
    pub step: u64,
    /// `2 E_kin / (3N - 3)` (k_B = 1).
    pub temperature: f64,
    pub e_pair: f64,
    pub e_kin: f64,
    pub e_total: f64,
    /// `(2 E_kin + W) / (3 V)`, W the pair virial.
    pub pressure: f64,
    /// `sum m v` and `sum m |v|` per axis.
    pub momentum: [f64; DIMS],
    pub momentum_scale: f64,
}

impl Thermo {
    pub const HEADER: &'static str =
        "    Step          Temp                E_pair               E_kin              E_total               Press";

    /// A thermo line with 15 significant digits.
    pub fn line(&self) -> String {
        format!(
            "{:8} {:>19} {:>21} {:>19} {:>21} {:>21}",
            self.step,
            sig(self.temperature),
            sig(self.e_pair),
            sig(self.e_kin),
            sig(self.e_total),
            sig(self.pressure)
        )
    }
}

/// `x` with 15 significant digits.
fn sig(x: f64) -> String {
    format!("{x:.14e}")
        .parse::<f64>()
        .map(|y| format!("{y}"))
        .unwrap_or_else(|_| x.to_string())
}

/// Counts the run reports.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    /// Neighbour-list builds.
    pub builds: u64,
    /// Steps whose forces came from a list an atom had moved more than half the skin
    /// away from (pairs may have been missed; LAMMPS's "dangerous builds").
    pub dangerous_steps: u64,
    /// Atoms that arrived at this rank from another at neighbour builds.
    pub migrated: u64,
    /// Ghost atoms and list pairs on this rank at the last build.
    pub ghosts: u64,
    pub pairs: u64,
}

/// A molecular-dynamics run on this rank's sub-box.
pub struct MolecularDynamics {
    name: String,
    domain: Domain,
    opts: MdOptions,
    threads: Threads,
    store: Store,
    atoms: u64,
    ghosts: Ghosts,
    bins: Bins,
    list: NeighbourList,
    /// The lists transposed for the vector pair loop.
    sliced: SlicedLists,
    /// Positions packed for the pair loop (rebuilt every step).
    packed: Vec<force::Packed>,
    energy: Vec<f64>,
    virial: Vec<f64>,
    /// The thermodynamic lines computed so far (the first is step 0 or the restart's).
    pub thermo: Vec<Thermo>,
    pub counters: Counters,
}

/// A per-atom dataset of a checkpoint: its path and the vector it holds.
type Column = (&'static str, fn(&Atom) -> [f64; DIMS]);

/// Phases an MD step reports, LAMMPS's breakdown.
pub const PHASES: [&str; 5] = ["pair", "neighbour", "comm", "integrate", "thermo"];

fn blown_up(step: u64, what: String) -> Error {
    Error::NotValidated(format!(
        "the run blew up at step {step}: {what}; the time step --dt is too large for this system (or atoms overlap)"
    ))
}

impl MolecularDynamics {
    /// A run of `atoms` atoms in total, this rank holding `mine` (anywhere in the box:
    /// they are sent to their owners), on `domain`. Builds ghosts and lists, checks the
    /// ids and that no two atoms overlap, and computes the forces of step 0. Collective.
    pub fn new(
        parallel: &Parallel,
        name: &str,
        domain: Domain,
        mine: Vec<Atom>,
        atoms: u64,
        opts: MdOptions,
    ) -> Result<MolecularDynamics> {
        let threads = parallel.agree(Threads::new(opts.threads))?;
        let ghosts = Ghosts::new(parallel, &domain);
        let b = &domain.bounds;
        let length = std::array::from_fn(|a| b.length(a));
        let bins = Bins::new(b.lo, length, domain.ghost_cutoff / 2.0);
        let mut md = MolecularDynamics {
            name: name.to_string(),
            domain,
            opts,
            threads,
            store: Store::new(),
            atoms,
            ghosts,
            bins,
            list: NeighbourList::default(),
            sliced: SlicedLists::default(),
            packed: Vec::new(),
            energy: Vec::new(),
            virial: Vec::new(),
            thermo: Vec::new(),
            counters: Counters::default(),
        };
        let _ = md.migrate(parallel, mine);
        parallel.agree(md.check_ids(parallel))?;
        md.rebuild(parallel, 0, false)?;
        parallel.agree(md.check_overlaps())?;
        md.compute_forces(0, true);
        Ok(md)
    }

    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    pub fn atoms(&self) -> u64 {
        self.atoms
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Sends every atom of `atoms` to the rank that owns its reference position and
    /// makes the atoms received this rank's owned atoms; returns how many arrived.
    /// Collective.
    fn migrate(&mut self, parallel: &Parallel, atoms: Vec<Atom>) -> u64 {
        let mut outgoing = vec![Vec::new(); parallel.size()];
        let mut staying = Vec::with_capacity(atoms.len());
        for atom in atoms {
            let owner = self.domain.owner(atom.reference);
            if owner == parallel.rank() {
                staying.push(atom);
            } else {
                atom.pack(&mut outgoing[owner]);
            }
        }
        let arrived = parallel.route(&outgoing, Atom::WIRE);
        staying.extend(arrived.chunks_exact(Atom::WIRE).map(Atom::unpack));
        self.store.replace_owned(staying);
        (arrived.len() / Atom::WIRE) as u64
    }

    /// Ids are unique and the count is the header's: checked by gathering ids in order.
    fn check_ids(&self, parallel: &Parallel) -> Result<()> {
        let owned = self.store.owned() as u64;
        let total = parallel.sum(owned);
        if total != self.atoms {
            return Err(Error::value(
                "data",
                format!("{} atoms were read, {} expected", total, self.atoms),
            ));
        }
        let (sorted, _) = self.in_id_order(parallel);
        if let Some(w) = sorted.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(Error::value(
                "data",
                format!("atom id {} appears twice", w[0].id),
            ));
        }
        Ok(())
    }

    /// This rank's share of the atoms in global id order (ranks hold consecutive id
    /// ranges) and the index of its first atom in that order. Collective.
    fn in_id_order(&self, parallel: &Parallel) -> (Vec<Atom>, u64) {
        let owned = self.store.owned();
        let lo = parallel.min(
            (0..owned)
                .map(|i| self.store.id[i])
                .min()
                .unwrap_or(u64::MAX),
        );
        let hi = parallel.max((0..owned).map(|i| self.store.id[i]).max().unwrap_or(0));
        let span = if hi >= lo { (hi - lo + 1) as usize } else { 1 };
        let p = parallel.size();
        let mut outgoing = vec![Vec::new(); p];
        for i in 0..owned {
            let to = owner_on_axis(span, p.min(span), (self.store.id[i] - lo) as usize);
            self.store.atom(i).pack(&mut outgoing[to]);
        }
        let received = parallel.route(&outgoing, Atom::WIRE);
        let mut atoms: Vec<Atom> = received
            .chunks_exact(Atom::WIRE)
            .map(Atom::unpack)
            .collect();
        atoms.sort_unstable_by_key(|a| a.id);
        let first = parallel.exclusive_prefix_sum(atoms.len() as u64);
        (atoms, first)
    }

    /// Two atoms at the same place (r = 0) make infinite forces: refused, naming them.
    fn check_overlaps(&self) -> Result<()> {
        let s = &self.store;
        for i in 0..s.owned() {
            for &j in self.list.of(i) {
                let j = j as usize;
                if (0..DIMS).all(|a| s.pos[a][i] == s.pos[a][j]) {
                    return Err(Error::value(
                        "data",
                        format!(
                            "atoms {} and {} are at the same position ({}, {}, {})",
                            s.id[i], s.id[j], s.pos[0][i], s.pos[1][i], s.pos[2][i]
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The neighbour build of `step`: with `wrap`, positions are wrapped into the box and
    /// become the reference positions; atoms go to their owners, are sorted by bin, and
    /// ghosts and lists are rebuilt from the reference positions. Collective.
    fn rebuild(&mut self, parallel: &Parallel, step: u64, wrap: bool) -> Result<()> {
        if wrap {
            let wrapped = self.wrap_positions();
            parallel.agree(wrapped.map_err(|w| blown_up(step, w)))?;
        }
        let owned: Vec<Atom> = (0..self.store.owned())
            .map(|i| self.store.atom(i))
            .collect();
        let arrived = self.migrate(parallel, owned);
        if wrap {
            self.counters.migrated += arrived;
        }
        self.sort_by_bin();
        self.ghosts.build(&mut self.store, &self.domain);
        let s = &self.store;
        self.bins.fill(&s.reference, &s.id, s.len());
        self.list.build(
            &self.bins,
            &s.reference,
            s.owned(),
            self.domain.ghost_cutoff,
        );
        // padded with the index of the sentinel that follows the packed positions
        self.sliced.build(&self.list, s.owned(), s.len() as u32);
        self.counters.builds += 1;
        self.counters.ghosts = self.ghosts.count(&self.store) as u64;
        self.counters.pairs = self.list.len() as u64;
        Ok(())
    }

    /// Wraps owned positions into the box; they become the reference positions.
    fn wrap_positions(&mut self) -> std::result::Result<(), String> {
        let s = &mut self.store;
        for i in 0..s.owned() {
            for a in 0..DIMS {
                let Some(x) = self.domain.bounds.wrap(a, s.pos[a][i]) else {
                    return Err(format!(
                        "atom {} is at {} on axis {a}, more than a box length outside the box",
                        s.id[i], s.pos[a][i]
                    ));
                };
                s.pos[a][i] = x;
                s.reference[a][i] = x;
            }
        }
        Ok(())
    }

    /// Orders the owned atoms by bin, then id, so neighbours sit close in memory.
    fn sort_by_bin(&mut self) {
        let s = &self.store;
        let mut order: Vec<([i64; DIMS], u64, usize)> = (0..s.owned())
            .map(|i| {
                let b = self
                    .bins
                    .coords(s.reference[0][i], s.reference[1][i], s.reference[2][i]);
                (b, s.id[i], i)
            })
            .collect();
        order.sort_unstable();
        let atoms: Vec<Atom> = order.iter().map(|&(_, _, i)| s.atom(i)).collect();
        self.store.replace_owned(atoms);
    }

    /// Pair forces (and per-atom energy and virial if `tally`), then the thermostat's.
    fn compute_forces(&mut self, step: u64, tally: bool) {
        let owned = self.store.owned();
        let tallies = if tally {
            self.energy.resize(owned, 0.0);
            self.virial.resize(owned, 0.0);
            Some((&mut self.energy[..], &mut self.virial[..]))
        } else {
            None
        };
        let s = &mut self.store;
        force::pack_positions(&s.pos, s.len(), &mut self.packed);
        let input = force::PairInput {
            list: &self.list,
            sliced: &self.sliced,
            xyz: &self.packed,
        };
        force::all_pair_forces(
            self.opts.potential.as_ref(),
            input,
            owned,
            &mut s.force,
            tallies,
            &self.threads,
        );
        if let Some(l) = &self.opts.langevin {
            l.add_forces(s, step, self.opts.dt, self.opts.mass);
        }
    }

    /// Sums the thermodynamic quantities of `step` (exactly, so the same digits on any
    /// rank count) from the tallies of the last force evaluation. Collective.
    fn record_thermo(&mut self, parallel: &Parallel, step: u64) -> Result<()> {
        let s = &self.store;
        let m = self.opts.mass;
        let mut sums: Vec<ExactSum> = (0..4 + DIMS).map(|_| ExactSum::new()).collect();
        for i in 0..s.owned() {
            let v = [s.vel[0][i], s.vel[1][i], s.vel[2][i]];
            sums[0].add(0.5 * m * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]));
            sums[1].add(self.energy[i]);
            sums[2].add(self.virial[i]);
            sums[3].add(m * (v[0].abs() + v[1].abs() + v[2].abs()));
            for a in 0..DIMS {
                sums[4 + a].add(m * v[a]);
            }
        }
        let t: Vec<f64> = sums.iter().map(|x| parallel.sum_exact(x)).collect();
        let n = self.atoms as f64;
        let dof = (3.0 * n - 3.0).max(1.0);
        let th = Thermo {
            step,
            temperature: 2.0 * t[0] / dof,
            e_pair: t[1] / n,
            e_kin: t[0] / n,
            e_total: (t[0] + t[1]) / n,
            pressure: (2.0 * t[0] + t[2]) / (3.0 * self.domain.bounds.volume()),
            momentum: [t[4], t[5], t[6]],
            momentum_scale: t[3],
        };
        if !(th.e_total.is_finite() && th.pressure.is_finite()) {
            return parallel.agree(Err(blown_up(step, "the energy is not finite".into())));
        }
        if parallel.is_root() {
            if self.thermo.is_empty() {
                println!("{}", Thermo::HEADER);
            }
            println!("{}", th.line());
        }
        self.thermo.push(th);
        Ok(())
    }

    /// Whether thermodynamics are due after `step`.
    fn thermo_due(&self, step: u64) -> bool {
        self.opts.thermo_every > 0 && step.is_multiple_of(self.opts.thermo_every)
    }

    /// The largest squared displacement of an owned atom from its reference position,
    /// or infinity if a position is not finite.
    fn max_displacement2(&self) -> f64 {
        let s = &self.store;
        let mut worst: f64 = 0.0;
        for i in 0..s.owned() {
            let d2: f64 = (0..DIMS)
                .map(|a| (s.pos[a][i] - s.reference[a][i]).powi(2))
                .sum();
            if !d2.is_finite() {
                return f64::INFINITY;
            }
            worst = worst.max(d2);
        }
        worst
    }

    /// Initial velocities: Maxwell–Boltzmann at `temperature` keyed by atom id and
    /// `seed`, the centre-of-mass motion removed and scaled to exactly `temperature`
    /// (all with exact sums: the same velocities on any rank count). Collective.
    pub fn create_velocities(&mut self, parallel: &Parallel, temperature: f64, seed: u64) {
        let m = self.opts.mass;
        let s = &mut self.store;
        let owned = s.owned();
        for i in 0..owned {
            let v = integrate::thermal_velocity(seed, s.id[i], temperature, m);
            for (a, &va) in v.iter().enumerate() {
                s.vel[a][i] = va;
            }
        }
        let n = self.atoms as f64;
        for a in 0..DIMS {
            let mut sum = ExactSum::new();
            s.vel[a][..owned].iter().for_each(|&v| sum.add(v));
            let mean = parallel.sum_exact(&sum) / n;
            s.vel[a][..owned].iter_mut().for_each(|v| *v -= mean);
        }
        let mut ke = ExactSum::new();
        for i in 0..owned {
            ke.add(m * (s.vel[0][i].powi(2) + s.vel[1][i].powi(2) + s.vel[2][i].powi(2)));
        }
        let t = parallel.sum_exact(&ke) / (3.0 * n - 3.0).max(1.0);
        let scale = if t > 0.0 {
            (temperature / t).sqrt()
        } else {
            0.0
        };
        for a in 0..DIMS {
            s.vel[a][..owned].iter_mut().for_each(|v| *v *= scale);
        }
        // a thermostat's step-0 drag depends on the velocities just set (as LAMMPS's
        // setup computes it); the pair part is recomputed to the same bits
        if self.opts.langevin.is_some() {
            self.compute_forces(0, true);
        }
    }
}

impl Stepper for MolecularDynamics {
    fn name(&self) -> &str {
        &self.name
    }

    fn phases(&self) -> Vec<&'static str> {
        PHASES.to_vec()
    }

    fn work(&self) -> Work {
        Work {
            per_step: self.atoms as f64,
            item: "atom",
            unit: "Matom-steps/s",
            scale: 1e6,
        }
    }

    fn state_bytes(&self) -> f64 {
        self.atoms as f64 * (8 + 4 * DIMS * 8) as f64
    }

    fn decomposition(&self) -> String {
        self.domain.describe()
    }

    fn threads(&self) -> usize {
        self.threads.count()
    }

    fn advance(&mut self, parallel: &Parallel, step: u64, phases: &mut Phases) -> Result<Advance> {
        if self.thermo.is_empty() {
            // the starting state's line (step 0, or the restart's step)
            self.record_thermo(parallel, step)?;
        }
        let new = step + 1;
        let (dt, m) = (self.opts.dt, self.opts.mass);
        let t = Instant::now();
        let owned = self.store.owned();
        {
            let s = &mut self.store;
            integrate::half_kick(&mut s.vel, &s.force, owned, dt, m);
            integrate::drift(&mut s.pos, &s.vel, owned, dt);
        }
        let moved = parallel.max(self.max_displacement2());
        phases.add("integrate", t.elapsed());
        let half_skin2 = (0.5 * self.opts.skin).powi(2);
        if !moved.is_finite() {
            return parallel.agree(Err(blown_up(new, "a position is not finite".into())));
        }
        let due = new.is_multiple_of(self.opts.neigh_every);
        let build = due && (!self.opts.neigh_check || moved > half_skin2);
        let t = Instant::now();
        if build {
            self.rebuild(parallel, new, true)?;
            phases.add("neighbour", t.elapsed());
        } else {
            if moved > half_skin2 {
                self.counters.dangerous_steps += 1;
            }
            self.ghosts.refresh(&mut self.store);
            phases.add("comm", t.elapsed());
        }
        let t = Instant::now();
        let tally = self.thermo_due(new);
        self.compute_forces(new, tally);
        phases.add("pair", t.elapsed());
        let t = Instant::now();
        {
            // atoms may have migrated: the owned count is the new one
            let s = &mut self.store;
            let owned = s.owned();
            integrate::half_kick(&mut s.vel, &s.force, owned, dt, m);
        }
        phases.add("integrate", t.elapsed());
        if tally {
            let t = Instant::now();
            self.record_thermo(parallel, new)?;
            phases.add("thermo", t.elapsed());
        }
        Ok(Advance::Stepped)
    }

    fn finish(&mut self, parallel: &Parallel, step: u64, phases: &mut Phases) -> Result<Advance> {
        if self.thermo.last().is_some_and(|t| t.step == step) {
            return Ok(Advance::Stepped);
        }
        let t = Instant::now();
        if !self.thermo.is_empty() {
            self.compute_energies_only(step);
        }
        self.record_thermo(parallel, step)?;
        phases.add("thermo", t.elapsed());
        Ok(Advance::Stepped)
    }

    fn progress_note(&self) -> Option<String> {
        self.thermo
            .last()
            .map(|t| format!("T {:.4} E_total {:.6}", t.temperature, t.e_total))
    }

    fn save(&self, parallel: &Parallel, writer: &mut Writer) -> Result<()> {
        // the collective gathering first, so an attribute that fails on one rank cannot
        // leave the others waiting in it
        let (atoms, first) = self.in_id_order(parallel);
        let b = &self.domain.bounds;
        writer.attr("box_lo", &b.lo)?;
        writer.attr("box_hi", &b.hi)?;
        writer.attr("atoms", &[self.atoms])?;
        let (n, total) = (atoms.len(), self.atoms as usize);
        let ids: Vec<u64> = atoms.iter().map(|a| a.id).collect();
        writer.dataset(
            "particles/id",
            &Block::rows(total, first as usize, n, 0),
            &ids,
        )?;
        let rows = Block::rows(total, first as usize, n, DIMS);
        let columns: [Column; 4] = [
            ("particles/position", |a| a.pos),
            ("particles/velocity", |a| a.vel),
            ("particles/force", |a| a.force),
            ("particles/reference_position", |a| a.reference),
        ];
        for (path, get) in columns {
            let data: Vec<f64> = atoms.iter().flat_map(get).collect();
            writer.dataset(path, &rows, &data)?;
        }
        let attr = |name: &str, path: &str, components: usize| Attribute {
            name: name.into(),
            dataset: path.into(),
            number_type: ("Float", 8),
            components,
        };
        writer.sidecar(Sidecar::Points {
            count: total,
            positions: attr("position", "particles/position", DIMS),
            attributes: vec![
                attr("velocity", "particles/velocity", DIMS),
                attr("force", "particles/force", DIMS),
                Attribute {
                    number_type: ("UInt", 8),
                    ..attr("id", "particles/id", 1)
                },
            ],
        });
        Ok(())
    }

    fn check_geometry(&self, checkpoint: &Checkpoint) -> Result<()> {
        let b = &self.domain.bounds;
        let lo = checkpoint.attr::<f64>("box_lo")?;
        let hi = checkpoint.attr::<f64>("box_hi")?;
        if lo != b.lo || hi != b.hi {
            return Err(Error::checkpoint(
                checkpoint.path(),
                format!(
                    "holds the box {lo:?} to {hi:?}, this run's box is {:?} to {:?}",
                    b.lo, b.hi
                ),
            ));
        }
        let atoms = checkpoint.attr::<u64>("atoms")?;
        if atoms != [self.atoms] {
            return Err(Error::checkpoint(
                checkpoint.path(),
                format!("holds {atoms:?} atoms, this run has {}", self.atoms),
            ));
        }
        Ok(())
    }

    fn restore(&mut self, parallel: &Parallel, checkpoint: &Checkpoint) -> Result<()> {
        let total = self.atoms as usize;
        let (first, n) = crate::partition::split_axis(total, parallel.size(), parallel.rank());
        let mut ids = vec![0u64; n];
        checkpoint.read(
            parallel,
            "particles/id",
            &Block::rows(total, first, n, 0),
            &mut ids,
        )?;
        let rows = Block::rows(total, first, n, DIMS);
        let mut columns = Vec::new();
        for path in [
            "particles/position",
            "particles/velocity",
            "particles/force",
            "particles/reference_position",
        ] {
            let mut data = vec![0.0; n * DIMS];
            checkpoint.read(parallel, path, &rows, &mut data)?;
            columns.push(data);
        }
        let row = |c: usize, i: usize| -> [f64; DIMS] {
            std::array::from_fn(|a| columns[c][i * DIMS + a])
        };
        let atoms: Vec<Atom> = (0..n)
            .map(|i| Atom {
                id: ids[i],
                pos: row(0, i),
                vel: row(1, i),
                force: row(2, i),
                reference: row(3, i),
            })
            .collect();
        let inside = atoms.iter().all(|a| {
            (0..DIMS).all(|d| {
                a.reference[d] >= self.domain.bounds.lo[d]
                    && a.reference[d] < self.domain.bounds.hi[d]
            }) && a
                .pos
                .iter()
                .chain(&a.vel)
                .chain(&a.force)
                .all(|x| x.is_finite())
        });
        parallel.agree(if inside {
            Ok(())
        } else {
            Err(Error::checkpoint(
                checkpoint.path(),
                "holds an atom outside the box or a value that is not finite",
            ))
        })?;
        let _ = self.migrate(parallel, atoms);
        parallel.agree(self.check_ids(parallel))?;
        self.rebuild(parallel, checkpoint.header.step, false)?;
        self.thermo.clear();
        self.compute_energies_only(checkpoint.header.step);
        Ok(())
    }
}

impl MolecularDynamics {
    /// Per-atom energies and virials of the current positions, leaving the forces (read
    /// from a checkpoint, with the thermostat's part) as they are.
    fn compute_energies_only(&mut self, step: u64) {
        let forces = self.store.force.clone();
        self.compute_forces(step, true);
        self.store.force = forces;
    }
}
