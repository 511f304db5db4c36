//! The particle family (molecular dynamics, issue "Particles I"): particles in a periodic
//! orthogonal box, split over ranks by space, interacting through short-range pair
//! potentials. Kernels (potentials, force loop, integrators, cell lists) use no MPI;
//! the ghost exchange, migration and the stepper reach MPI through `parallel` only.
//!
//! - [`store`]: the particle store, structure of arrays, owned particles then ghosts;
//! - [`domain`]: the periodic box, its split over a 3D process grid, wrapping;
//! - [`cells`]: bins and Verlet neighbour lists (full lists in id order);
//! - [`potentials`]: pair potentials behind one trait; a new potential is one file and
//!   one line in the registry;
//! - [`force`]: the pair loop; [`integrate`]: velocity Verlet, Langevin, keyed random
//!   numbers;
//! - [`lattice`], [`data_file`]: initial configurations (lattices, LAMMPS data files);
//! - [`ghosts`]: ghost atoms by staged exchange; [`md`]: the stepper;
//! - [`gravity`]: the direct-sum gravity pair loop (tiles of global ids), [`tile_tree`]:
//!   order-independent sums of the tiles, [`models`]: Plummer and other initial
//!   conditions, [`nbody`]: the n-body stepper (the ring of ranks).

pub mod cells;
pub mod data_file;
pub mod domain;
pub mod force;
pub mod ghosts;
pub mod gravity;
pub mod integrate;
pub mod lattice;
pub mod md;
pub mod models;
pub mod nbody;
pub mod potentials;
pub mod store;
pub mod tile_tree;
