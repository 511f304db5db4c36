//! The particle family (molecular dynamics, issue "Particles I"; being built): particles
//! in a periodic orthogonal box, split over ranks by space, interacting through short-range
//! pair potentials. No MPI here.
//!
//! - [`store`]: the particle store, structure of arrays, owned particles then ghosts;
//! - [`potentials`]: pair potentials behind one trait; a new potential is one file and
//!   one line in the registry.

pub mod potentials;
pub mod store;
