//! The particle store: structure of arrays (ids, positions, velocities, forces), the
//! particles this rank owns first, then ghost copies of other ranks' (or periodic
//! images') particles near its sub-box. Kernels loop over plain `f64` slices, one per
//! component, which vectorise.

/// Per-particle data of one rank: indices `0 .. owned` are owned, `owned .. len` ghosts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Store {
    /// Global particle ids (a particle keeps its id for life, whichever rank owns it).
    pub id: Vec<u64>,
    /// Position components x, y, z (length units of the potential).
    pub pos: [Vec<f64>; 3],
    /// Velocity components (owned particles; ghosts carry zeros).
    pub vel: [Vec<f64>; 3],
    /// Force components, accumulated by the pair loop.
    pub force: [Vec<f64>; 3],
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
    pub fn push_owned(&mut self, id: u64, pos: [f64; 3], vel: [f64; 3]) {
        assert_eq!(self.owned, self.len(), "owned particles precede ghosts");
        self.push(id, pos, vel);
        self.owned += 1;
    }

    /// Adds a ghost copy of particle `id` at `pos` (already shifted by the box period
    /// for a periodic image).
    pub fn push_ghost(&mut self, id: u64, pos: [f64; 3]) {
        self.push(id, pos, [0.0; 3]);
    }

    fn push(&mut self, id: u64, pos: [f64; 3], vel: [f64; 3]) {
        self.id.push(id);
        for a in 0..3 {
            self.pos[a].push(pos[a]);
            self.vel[a].push(vel[a]);
            self.force[a].push(0.0);
        }
    }

    /// Drops every ghost, keeping the owned particles.
    pub fn clear_ghosts(&mut self) {
        let n = self.owned;
        self.id.truncate(n);
        for a in 0..3 {
            self.pos[a].truncate(n);
            self.vel[a].truncate(n);
            self.force[a].truncate(n);
        }
    }

    /// Sets every force component to zero (before a force evaluation).
    pub fn zero_forces(&mut self) {
        for f in &mut self.force {
            f.fill(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_particles_precede_ghosts_and_survive_clearing_them() {
        let mut s = Store::new();
        s.push_owned(7, [1.0, 2.0, 3.0], [0.5, 0.0, 0.0]);
        s.push_owned(3, [4.0, 5.0, 6.0], [0.0, 0.5, 0.0]);
        s.push_ghost(9, [-1.0, 2.0, 3.0]);
        assert_eq!((s.owned(), s.len()), (2, 3));
        assert_eq!(s.pos[0], [1.0, 4.0, -1.0]);
        s.clear_ghosts();
        assert_eq!((s.owned(), s.len()), (2, 2));
        assert_eq!(s.id, [7, 3]);
        s.push_ghost(9, [-1.0, 2.0, 3.0]);
        s.force[1][2] = 4.0;
        s.zero_forces();
        assert!(s.force.iter().all(|f| f.iter().all(|&x| x == 0.0)));
    }

    #[test]
    #[should_panic(expected = "owned particles precede ghosts")]
    fn an_owned_particle_after_a_ghost_is_a_bug() {
        let mut s = Store::new();
        s.push_ghost(1, [0.0; 3]);
        s.push_owned(2, [0.0; 3], [0.0; 3]);
    }
}
