//! Conway's Game of Life on a 2D periodic grid: a cellular automaton, and the kernel that
//! shows a field need not be `f64` (here `u8`: 0 dead, 1 alive).
//!
//! Rule (B3/S23): with `n` the number of live cells among the 8 Moore neighbours (edge and
//! corner ghosts included, so the stencil has radius 1), a dead cell with `n = 3` is born
//! and a live cell with `n = 2` or `3` survives; every other cell is dead in the next
//! generation. One step of the driver is one generation (time = generation, `dt = 1`).
//!
//! Discretisation, stability, order: none of these apply. Life is not the discretisation
//! of anything: the update is exact integer logic, so there is no time-step limit and no
//! order of accuracy (and no `--convergence` study). Results are bitwise identical on any
//! rank count and thread count because each cell's new value is a pure function of its 3x3
//! neighbourhood.
//!
//! Update: [`Kernel::update_row`] works on whole rows of `u8`. It sums the 8 displaced
//! neighbour rows (`u8` adds: a count is at most 8, so it cannot overflow) and applies the
//! rule branch-free, `out = (n == 3) | (c & (n == 2))`, in one loop over slices trimmed to
//! the row length, so the compiler vectorises it (32 cells per AVX2 instruction).
//!
//! Grid: `NX x NY` cells, periodic on both axes (the torus); 1D and 3D sizes are refused.
//! Cell `(i, j)` sits at `x = (i / NX, j / NY)` on the unit square, as for every periodic
//! grid in tessera.
//!
//! Initial state ([`Pattern`]):
//! - `Glider`: one glider (5 cells) whose 4x4 box starts at `(NX/2 - 2, NY/2 - 2)`, just
//!   before the centre of the grid, where the blocks of 2 and 4 ranks meet, so it crosses
//!   rank boundaries at once (and wraps around the torus on longer runs). It moves by
//!   `(+1, +1)` every 4 generations.
//! - `Soup`: each cell alive with probability `density`, decided by a hash of its GLOBAL
//!   index and a seed, so the initial state does not depend on the decomposition.
//!
//! Validation: a glider is exact. After `n` generations the field must equal, cell for
//! cell, phase `n % 4` of the glider ([`GLIDER_PHASES`], hard-coded bitmaps) shifted by
//! `(n / 4, n / 4)` with wrap-around ([`Life::glider_cell`]); a run counts the cells that
//! differ ([`Life::local_mismatches`]) and validates when there are none (the population
//! is then 5). A random soup has no reference solution: a run only reports its population.

use crate::error::{Error, Result};
use crate::grid::field::{Field, RowStencil};
use crate::grid::stencil::{GlobalIndex, Kernel};

/// The glider's four phases, each a 4x4 bitmap (row `r` is offset `r` along the first axis,
/// column `c` offset `c` along the second) relative to the corner of phase 0's box. After
/// phase 3 comes phase 0 moved by `(+1, +1)`.
pub const GLIDER_PHASES: [[&str; 4]; 4] = [
    [".#..", "..#.", "###.", "...."],
    ["....", "#.#.", ".##.", ".#.."],
    ["....", "..#.", "#.#.", ".##."],
    ["....", ".#..", "..##", ".##."],
];

/// Smallest grid extent on which a glider moves as on the infinite plane: its 4x4 box plus
/// one dead cell on each side, so no cell sees the glider from both sides of the torus.
pub const GLIDER_MIN_EXTENT: usize = 6;

/// The initial state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pattern {
    /// One glider near the centre of the grid (see the module docs).
    Glider,
    /// Each cell alive with probability `density`, from a hash of its global index and `seed`.
    Soup { density: f64, seed: u64 },
}

impl Pattern {
    pub fn as_str(&self) -> &'static str {
        match self {
            Pattern::Glider => "glider",
            Pattern::Soup { .. } => "soup",
        }
    }
}

/// Conway's Game of Life (B3/S23) on a periodic `NX x NY` grid.
#[derive(Clone, Debug)]
pub struct Life {
    /// Cells per axis `[NX, NY]`.
    extents: [usize; 2],
    pattern: Pattern,
    /// Corner of the glider's box at generation 0.
    glider_origin: [i64; 2],
}

impl Life {
    /// The automaton on a grid of `shape` cells (2 axes) starting from `pattern`.
    pub fn new(shape: &[usize], pattern: Pattern) -> Result<Life> {
        let &[nx, ny] = shape else {
            return Err(Error::value(
                "size",
                format!(
                    "Life runs on a 2D grid (NXxNY), got {} ax{}",
                    shape.len(),
                    if shape.len() == 1 { "is" } else { "es" }
                ),
            ));
        };
        match pattern {
            Pattern::Glider if nx.min(ny) < GLIDER_MIN_EXTENT => {
                return Err(Error::value(
                    "size",
                    format!(
                        "a glider needs at least {GLIDER_MIN_EXTENT}x{GLIDER_MIN_EXTENT} cells \
                         to move freely on the torus, got {nx}x{ny}"
                    ),
                ));
            }
            Pattern::Soup { density, .. } if !(0.0..=1.0).contains(&density) => {
                return Err(Error::value(
                    "density",
                    format!("must be a probability in [0, 1], got {density}"),
                ));
            }
            _ => {}
        }
        Ok(Life {
            extents: [nx, ny],
            pattern,
            glider_origin: [nx as i64 / 2 - 2, ny as i64 / 2 - 2],
        })
    }

    pub fn pattern(&self) -> Pattern {
        self.pattern
    }

    /// Corner of the glider's 4x4 box at generation 0.
    pub fn glider_origin(&self) -> [i64; 2] {
        self.glider_origin
    }

    /// Grid spacing per axis (the periodic convention `h = 1 / N`).
    pub fn spacing(&self) -> Vec<f64> {
        self.extents.iter().map(|&n| 1.0 / n as f64).collect()
    }

    /// Coordinate of the first cell per axis.
    pub fn origin(&self) -> Vec<f64> {
        vec![0.0; 2]
    }

    /// `idx`'s position on the torus: its two grid axes wrapped into the grid.
    fn wrapped(&self, idx: GlobalIndex) -> [i64; 2] {
        [
            idx[1].rem_euclid(self.extents[0] as i64),
            idx[2].rem_euclid(self.extents[1] as i64),
        ]
    }

    /// Whether cell `idx` is alive in a lone glider after `generation` generations:
    /// phase `generation % 4` moved by `generation / 4` cells along both axes.
    pub fn glider_cell(&self, idx: GlobalIndex, generation: u64) -> u8 {
        let phase = &GLIDER_PHASES[(generation % 4) as usize];
        // the shift modulo the extents (a u64 generation count may exceed i64)
        let shift = generation / 4;
        let [i, j] = self.wrapped(idx);
        let offset = |x: i64, origin: i64, n: usize| {
            let s = (shift % n as u64) as i64;
            (x - origin - s).rem_euclid(n as i64) as usize
        };
        let r = offset(i, self.glider_origin[0], self.extents[0]);
        let c = offset(j, self.glider_origin[1], self.extents[1]);
        if r < 4 && c < 4 {
            u8::from(phase[r].as_bytes()[c] == b'#')
        } else {
            0
        }
    }

    /// Whether cell `idx` of a soup of `density` is alive at generation 0.
    fn soup_cell(&self, idx: GlobalIndex, density: f64, seed: u64) -> u8 {
        let [i, j] = self.wrapped(idx);
        let linear = (i as u64) * self.extents[1] as u64 + j as u64;
        let h = mix(seed ^ mix(linear));
        // 53 random bits as a uniform number in [0, 1): alive with probability `density`
        u8::from(((h >> 11) as f64) * (1.0 / (1u64 << 53) as f64) < density)
    }

    /// Number of owned cells of `u` that differ from the lone glider after `generation`
    /// generations (0 for a soup, which has no reference).
    pub fn local_mismatches(&self, u: &Field<u8>, generation: u64) -> i64 {
        if self.pattern != Pattern::Glider {
            return 0;
        }
        let mut count = 0;
        u.for_each_owned(|g, v| {
            count += i64::from(v != self.glider_cell(g, generation));
        });
        count
    }

    /// Live cells of the generation-0 state among the global cells `owned` of this rank.
    pub fn local_initial_population(&self, owned: &crate::grid::geometry::IndexBox) -> i64 {
        let hi = owned.hi();
        let mut count = 0;
        for i in owned.lo[1]..hi[1] {
            for j in owned.lo[2]..hi[2] {
                count += i64::from(self.initial_value(0, [0, i as i64, j as i64]));
            }
        }
        count
    }
}

/// Live cells among the owned cells of `u`.
pub fn local_population(u: &Field<u8>) -> i64 {
    u.owned_view().iter().map(|&v| i64::from(v)).sum()
}

/// SplitMix64's finaliser: a cheap, well-mixing 64-bit hash.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Kernel for Life {
    type Value = u8;

    fn name(&self) -> &'static str {
        "life"
    }

    fn radius(&self) -> usize {
        1
    }

    fn initial_value(&self, _level: usize, idx: GlobalIndex) -> u8 {
        match self.pattern {
            Pattern::Glider => self.glider_cell(idx, 0),
            Pattern::Soup { density, seed } => self.soup_cell(idx, density, seed),
        }
    }

    fn boundary_value(&self, _idx: GlobalIndex) -> u8 {
        0 // never used: the grid is periodic on both axes
    }

    #[inline(always)]
    fn update_row(&self, s: &RowStencil<'_, u8>, out: &mut [u8]) {
        let n = out.len();
        let c = &s.row(0, 0, 0)[..n];
        let (w, e) = (&s.row(0, 0, -1)[..n], &s.row(0, 0, 1)[..n]);
        let (sw, so, se) = (
            &s.row(0, -1, -1)[..n],
            &s.row(0, -1, 0)[..n],
            &s.row(0, -1, 1)[..n],
        );
        let (nw, no, ne) = (
            &s.row(0, 1, -1)[..n],
            &s.row(0, 1, 0)[..n],
            &s.row(0, 1, 1)[..n],
        );
        for m in 0..n {
            // live neighbours, at most 8: u8 adds cannot overflow
            let count = sw[m] + so[m] + se[m] + w[m] + e[m] + nw[m] + no[m] + ne[m];
            out[m] = u8::from(count == 3) | (c[m] & u8::from(count == 2));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::geometry::Grid;
    use crate::grid::stencil::{self, Stores};
    use crate::parallel::Threads;

    /// A block of the whole periodic `shape` grid holding `alive` (global `(i, j)`).
    fn block(shape: [usize; 2], alive: &[(i64, i64)]) -> Field<u8> {
        let grid = Grid::new(&shape, &[true, true]).unwrap();
        let mut u = Field::new(grid.bounds(), [0, 1, 1]);
        u.fill_with(|g| u8::from(alive.contains(&(g[1], g[2]))));
        u
    }

    /// `generations` generations of `life` on one block (ghosts refreshed by copying).
    fn run(life: &Life, mut u: Field<u8>, generations: u64) -> Field<u8> {
        let mut next = u.clone();
        let inner = u.interior();
        let threads = Threads::serial();
        for _ in 0..generations {
            u.wrap_periodic();
            stencil::apply_rows(life, &[&u], &mut next, &inner, 0, &threads, Stores::Cached);
            std::mem::swap(&mut u, &mut next);
        }
        u
    }

    /// The live cells of `u`, sorted.
    fn alive(u: &Field<u8>) -> Vec<(i64, i64)> {
        let mut v = Vec::new();
        u.for_each_owned(|g, x| {
            assert!(x <= 1, "a cell holds {x}");
            if x == 1 {
                v.push((g[1], g[2]));
            }
        });
        v
    }

    fn glider_life(shape: [usize; 2]) -> (Life, Field<u8>) {
        let life = Life::new(&shape, Pattern::Glider).unwrap();
        let grid = Grid::new(&shape, &[true, true]).unwrap();
        let u = stencil::initial_block(&life, &grid, grid.bounds(), [0, 1, 1], 0);
        (life, u)
    }

    #[test]
    fn blinker_oscillates_with_period_2() {
        let life = Life::new(&[7, 8], Pattern::Glider).unwrap();
        let row = [(3, 2), (3, 3), (3, 4)];
        let column = [(2, 3), (3, 3), (4, 3)];
        let u = block([7, 8], &row);
        let one = run(&life, u.clone(), 1);
        assert_eq!(alive(&one), column);
        let two = run(&life, one, 1);
        assert_eq!(alive(&two), row);
        // also across the periodic seam
        let seam = block([7, 8], &[(0, 7), (0, 0), (0, 1)]);
        assert_eq!(alive(&run(&life, seam, 1)), [(0, 0), (1, 0), (6, 0)]);
    }

    #[test]
    fn block_is_still() {
        let life = Life::new(&[6, 6], Pattern::Glider).unwrap();
        // a block straddling both periodic seams
        let cells = [(0, 0), (0, 5), (5, 0), (5, 5)];
        let mut want = cells.to_vec();
        want.sort();
        let u = run(&life, block([6, 6], &cells), 5);
        assert_eq!(alive(&u), want);
    }

    #[test]
    fn the_kernel_reproduces_the_four_glider_phases() {
        let (life, u0) = glider_life([10, 9]);
        assert_eq!(alive(&u0).len(), 5);
        let mut u = u0;
        for generation in 1..=40 {
            u = run(&life, u, 1);
            assert_eq!(alive(&u).len(), 5, "generation {generation}");
            assert_eq!(
                life.local_mismatches(&u, generation),
                0,
                "generation {generation}"
            );
            // and not the neighbouring generation's shape
            assert!(life.local_mismatches(&u, generation + 1) > 0);
        }
    }

    #[test]
    fn the_phase_bitmaps_follow_from_phase_0() {
        // each hard-coded phase is the rule applied to the one before, and phase 3 leads to
        // phase 0 moved by (+1, +1)
        let (life, mut u) = glider_life([8, 8]);
        let o = life.glider_origin();
        for p in 1..=4usize {
            u = run(&life, u, 1);
            let (bitmap, shift) = (&GLIDER_PHASES[p % 4], (p / 4) as i64);
            let mut want = Vec::new();
            for (r, line) in bitmap.iter().enumerate() {
                for (c, ch) in line.bytes().enumerate() {
                    if ch == b'#' {
                        want.push((o[0] + r as i64 + shift, o[1] + c as i64 + shift));
                    }
                }
            }
            want.sort();
            assert_eq!(alive(&u), want, "phase {p}");
        }
    }

    #[test]
    fn a_glider_crosses_the_torus_and_comes_back() {
        // 6x6 is the smallest grid the glider is allowed on: 24 generations bring it home
        let (life, u0) = glider_life([6, 6]);
        let u = run(&life, u0.clone(), 24);
        assert_eq!(alive(&u), alive(&u0));
        assert_eq!(life.local_mismatches(&u, 24), 0);
    }

    #[test]
    fn a_wrong_field_does_not_validate() {
        let (life, mut u) = glider_life([12, 12]);
        u.array_mut()[[0, 2, 2]] ^= 1;
        assert_eq!(life.local_mismatches(&u, 0), 1);
    }

    #[test]
    fn soup_density_and_bounds() {
        let shape = [64, 50];
        let soup = |density| Life::new(&shape, Pattern::Soup { density, seed: 7 }).unwrap();
        let grid = Grid::new(&shape, &[true, true]).unwrap();
        let count = |l: &Life| l.local_initial_population(&grid.bounds());
        assert_eq!(count(&soup(0.0)), 0);
        assert_eq!(count(&soup(1.0)), 64 * 50);
        let p = count(&soup(0.3)) as f64 / (64.0 * 50.0);
        assert!((p - 0.3).abs() < 0.03, "{p}");
        // ghosts hold the value of the cell they wrap onto
        let s = soup(0.5);
        assert_eq!(
            s.initial_value(0, [0, -1, 3]),
            s.initial_value(0, [0, 63, 3])
        );
        assert_eq!(
            s.initial_value(0, [0, 5, 50]),
            s.initial_value(0, [0, 5, 0])
        );
        for bad in [-0.1, 1.5, f64::NAN] {
            let e = Life::new(
                &shape,
                Pattern::Soup {
                    density: bad,
                    seed: 1,
                },
            )
            .unwrap_err();
            assert!(e.to_string().contains("density"), "{e}");
        }
    }

    #[test]
    fn only_2d_grids_and_room_for_a_glider() {
        for shape in [vec![10], vec![10, 10, 10]] {
            let e = Life::new(&shape, Pattern::Glider).unwrap_err();
            assert!(e.to_string().starts_with("size"), "{e}");
        }
        assert!(Life::new(&[5, 20], Pattern::Glider).is_err());
        let soup = Pattern::Soup {
            density: 0.3,
            seed: 1,
        };
        assert!(Life::new(&[3, 2], soup).is_ok());
    }
}
