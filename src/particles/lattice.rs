//! Initial configurations on a lattice (no MPI): the sites of an fcc, bcc or simple cubic
//! lattice of a given number density filling a box of `n0 x n1 x n2` unit cells, as
//! LAMMPS's `lattice fcc RHO` + `create_atoms`. Each rank generates only the sites its
//! sub-box owns, so a million-atom start needs no rank to hold all of them.
//!
//! Site `b` of unit cell `(i, j, k)` is at `((i, j, k) + basis_b) a`, with lattice
//! constant `a = (basis sites / density)^(1/3)`, and has id `1 + ((i n1 + j) n2 + k) B + b`
//! for `B` basis sites: the same positions and ids whatever the rank count.

use crate::error::{Error, Result};
use crate::partition::DIMS;
use clap::ValueEnum;

/// A cubic lattice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Lattice {
    /// Face-centred cubic, 4 sites per unit cell.
    Fcc,
    /// Body-centred cubic, 2 sites per unit cell.
    Bcc,
    /// Simple cubic, 1 site per unit cell.
    Sc,
}

impl Lattice {
    pub fn as_str(self) -> &'static str {
        match self {
            Lattice::Fcc => "fcc",
            Lattice::Bcc => "bcc",
            Lattice::Sc => "sc",
        }
    }

    /// Sites of the unit cell in lattice units.
    pub fn basis(self) -> &'static [[f64; DIMS]] {
        match self {
            Lattice::Fcc => &[
                [0.0, 0.0, 0.0],
                [0.5, 0.5, 0.0],
                [0.5, 0.0, 0.5],
                [0.0, 0.5, 0.5],
            ],
            Lattice::Bcc => &[[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]],
            Lattice::Sc => &[[0.0, 0.0, 0.0]],
        }
    }

    /// The lattice constant for number `density`.
    pub fn constant(self, density: f64) -> Result<f64> {
        if !(density > 0.0 && density.is_finite()) {
            return Err(Error::value(
                "density",
                format!("must be a positive number of atoms per unit volume, got {density}"),
            ));
        }
        Ok((self.basis().len() as f64 / density).cbrt())
    }

    /// Calls `site(id, position)` for every site of `cells` unit cells of constant `a`
    /// for which `mine(position)` holds, visiting only the cells that overlap
    /// `[lo, hi)` (a sub-box; sites outside it are not asked about).
    pub fn sites(
        self,
        cells: [usize; DIMS],
        a: f64,
        lo: [f64; DIMS],
        hi: [f64; DIMS],
        mine: impl Fn([f64; DIMS]) -> bool,
        mut site: impl FnMut(u64, [f64; DIMS]),
    ) {
        let basis = self.basis();
        let range = |axis: usize| {
            let first = ((lo[axis] / a).floor() as i64 - 1).max(0) as usize;
            let last = ((hi[axis] / a).ceil() as i64 + 1).clamp(0, cells[axis] as i64) as usize;
            first..last
        };
        for i in range(0) {
            for j in range(1) {
                for k in range(2) {
                    let cell = ((i * cells[1] + j) * cells[2] + k) as u64;
                    for (b, s) in basis.iter().enumerate() {
                        let pos = [
                            (i as f64 + s[0]) * a,
                            (j as f64 + s[1]) * a,
                            (k as f64 + s[2]) * a,
                        ];
                        if mine(pos) {
                            site(1 + cell * basis.len() as u64 + b as u64, pos);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_fcc_lattice_has_the_density_and_nearest_neighbour_distance() {
        let a = Lattice::Fcc.constant(0.8442).unwrap();
        assert!((4.0 / a.powi(3) - 0.8442).abs() < 1e-12);
        let mut sites = Vec::new();
        let l = 3.0 * a;
        Lattice::Fcc.sites(
            [3; 3],
            a,
            [0.0; 3],
            [l; 3],
            |_| true,
            |id, p| sites.push((id, p)),
        );
        assert_eq!(sites.len(), 108);
        let mut ids: Vec<u64> = sites.iter().map(|s| s.0).collect();
        ids.sort_unstable();
        assert_eq!(ids, (1..=108).collect::<Vec<_>>());
        // nearest neighbours at a / sqrt(2), periodically
        let (_, p0) = sites[0];
        let nearest = sites[1..]
            .iter()
            .map(|(_, p)| {
                (0..3)
                    .map(|d| {
                        let x = (p[d] - p0[d]).abs();
                        x.min(l - x).powi(2)
                    })
                    .sum::<f64>()
                    .sqrt()
            })
            .fold(f64::INFINITY, f64::min);
        assert!((nearest - a / 2f64.sqrt()).abs() < 1e-12);
        assert!(Lattice::Fcc.constant(0.0).is_err());
    }

    #[test]
    fn sub_boxes_generate_each_site_once() {
        let a = Lattice::Bcc.constant(1.0).unwrap();
        let cells = [4, 3, 5];
        let hi: [f64; 3] = std::array::from_fn(|d| cells[d] as f64 * a);
        let mut all = Vec::new();
        for half in 0..2 {
            let cut = hi[0] / 2.0;
            let (lo0, hi0) = if half == 0 { (0.0, cut) } else { (cut, hi[0]) };
            Lattice::Bcc.sites(
                cells,
                a,
                [lo0, 0.0, 0.0],
                [hi0, hi[1], hi[2]],
                |p| p[0] >= lo0 && p[0] < hi0,
                |id, _| all.push(id),
            );
        }
        all.sort_unstable();
        assert_eq!(all, (1..=120).collect::<Vec<_>>());
    }
}
