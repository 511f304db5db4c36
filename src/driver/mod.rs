//! The family-independent job.

pub mod study;
