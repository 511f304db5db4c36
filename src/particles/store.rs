//! The particle store: structure of arrays (ids, positions, velocities, forces and the
//! positions at the last neighbour-list build), the particles this rank owns first, then
//! ghost copies of other ranks' (or periodic images') particles near its sub-box.
//! Kernels loop over plain `f64` slices, one per component, which vectorise.

use crate::partition::DIMS;

/// Everything a rank keeps of one owned particle; what migration and checkpoints move.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Atom {
    pub id: u64,
    pub pos: [f64; DIMS],
    pub vel: [f64; DIMS],
    pub force: [f64; DIMS],
    /// The position at the last neighbour-list build (wrapped into the box then): it
    /// decides the owner, the ghost copies and the list until the next build.
    pub reference: [f64; DIMS],
}

impl Atom {
    /// `f64` values per atom on the wire (the id is exact as an `f64` below 2^53).
    pub const WIRE: usize = 1 + 4 * DIMS;

    /// Appends the atom to a message of `f64`s.
    pub fn pack(&self, out: &mut Vec<f64>) {
        out.push(self.id as f64);
        for v in [self.pos, self.vel, self.force, self.reference] {
            out.extend_from_slice(&v);
        }
    }

    /// The atom packed at the start of `w` (at least [`Atom::WIRE`] values).
    pub fn unpack(w: &[f64]) -> Atom {
        let v = |k: usize| -> [f64; DIMS] { std::array::from_fn(|a| w[1 + k * DIMS + a]) };
        Atom {
            id: w[0] as u64,
            pos: v(0),
            vel: v(1),
            force: v(2),
            reference: v(3),
        }
    }
}

/// The largest particle id (ids travel as `f64`s, exact below 2^53).
pub const MAX_ID: u64 = (1 << 53) - 1;

/// Per-particle data of one rank: indices `0 .. owned` are owned, `owned .. len` ghosts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Store {
    /// Global particle ids (a particle keeps its id for life, whichever rank owns it).
    pub id: Vec<u64>,
    /// Position components x, y, z (length units of the potential).
    pub pos: [Vec<f64>; DIMS],
    /// Velocity components (owned particles only).
    pub vel: [Vec<f64>; DIMS],
    /// Force components on the owned particles, from the last force evaluation.
    pub force: [Vec<f64>; DIMS],
    /// Positions at the last neighbour-list build (owned and ghosts).
    pub reference: [Vec<f64>; DIMS],
    owned: usize,
}

impl Store {
    pub fn new() -> Store {
        Store::default()
    }

    /// Particles this rank owns.
    pub fn owned(&self) -> usize {
        self.owned
    }

    /// Owned particles and ghosts.
    pub fn len(&self) -> usize {
        self.id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    /// Adds an owned particle. Ghosts must not be present (they follow the owned ones).
    ///
    /// # Panics
    /// If ghosts are present (a bug in the caller: owned particles change only between
    /// a [`Store::clear_ghosts`] and the next ghost exchange).
    pub fn push_owned(&mut self, atom: &Atom) {
        assert_eq!(self.owned, self.len(), "owned particles precede ghosts");
        self.id.push(atom.id);
        for a in 0..DIMS {
            self.pos[a].push(atom.pos[a]);
            self.vel[a].push(atom.vel[a]);
            self.force[a].push(atom.force[a]);
            self.reference[a].push(atom.reference[a]);
        }
        self.owned += 1;
    }

    /// Adds a ghost copy of particle `id` at `pos`, whose position at the last build was
    /// `reference` (both already shifted by the box period for a periodic image).
    pub fn push_ghost(&mut self, id: u64, pos: [f64; DIMS], reference: [f64; DIMS]) {
        self.id.push(id);
        for a in 0..DIMS {
            self.pos[a].push(pos[a]);
            self.reference[a].push(reference[a]);
        }
    }

    /// Owned particle `i`.
    pub fn atom(&self, i: usize) -> Atom {
        assert!(i < self.owned, "particle {i} is not owned");
        let v = |x: &[Vec<f64>; DIMS]| -> [f64; DIMS] { std::array::from_fn(|a| x[a][i]) };
        Atom {
            id: self.id[i],
            pos: v(&self.pos),
            vel: v(&self.vel),
            force: v(&self.force),
            reference: v(&self.reference),
        }
    }

    /// Drops every ghost, keeping the owned particles.
    pub fn clear_ghosts(&mut self) {
        let n = self.owned;
        self.id.truncate(n);
        for a in 0..DIMS {
            self.pos[a].truncate(n);
            self.reference[a].truncate(n);
        }
    }

    /// Replaces the owned particles by `atoms` in that order (ghosts are dropped).
    pub fn replace_owned(&mut self, atoms: impl IntoIterator<Item = Atom>) {
        self.owned = 0;
        self.id.clear();
        for a in 0..DIMS {
            self.pos[a].clear();
            self.vel[a].clear();
            self.force[a].clear();
            self.reference[a].clear();
        }
        for atom in atoms {
            self.push_owned(&atom);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atom(id: u64, x: f64) -> Atom {
        Atom {
            id,
            pos: [x, 2.0, 3.0],
            vel: [0.5, 0.0, -0.5],
            force: [1.0, 0.0, 0.0],
            reference: [x, 2.0, 3.0],
        }
    }

    #[test]
    fn owned_particles_precede_ghosts_and_survive_clearing_them() {
        let mut s = Store::new();
        s.push_owned(&atom(7, 1.0));
        s.push_owned(&atom(3, 4.0));
        s.push_ghost(9, [-1.0, 2.0, 3.0], [-1.0, 2.0, 3.0]);
        assert_eq!((s.owned(), s.len()), (2, 3));
        assert_eq!(s.pos[0], [1.0, 4.0, -1.0]);
        s.clear_ghosts();
        assert_eq!((s.owned(), s.len()), (2, 2));
        assert_eq!(s.id, [7, 3]);
        assert_eq!(s.atom(1), atom(3, 4.0));
        s.replace_owned([atom(5, 0.5)]);
        assert_eq!((s.owned(), s.len(), s.vel[0].len()), (1, 1, 1));
    }

    #[test]
    fn an_atom_survives_the_wire() {
        let a = atom((1 << 53) - 1, -0.25);
        let mut w = Vec::new();
        a.pack(&mut w);
        assert_eq!(w.len(), Atom::WIRE);
        assert_eq!(Atom::unpack(&w), a);
    }

    #[test]
    #[should_panic(expected = "owned particles precede ghosts")]
    fn an_owned_particle_after_a_ghost_is_a_bug() {
        let mut s = Store::new();
        s.push_ghost(1, [0.0; 3], [0.0; 3]);
        s.push_owned(&atom(2, 0.0));
    }
}
