//! The kernels tessera ships. Each is one file with no MPI in it; adding one is a new
//! file and one line here (see the README, "Write your own kernel").

pub mod advection;
pub mod advection_stability;
pub mod allen_cahn;
pub mod heat;
pub mod life;
pub mod poisson;
pub mod sine_modes;
pub mod wave;
