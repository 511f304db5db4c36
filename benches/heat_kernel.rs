//! Criterion benchmark of the single-rank heat (FTCS) kernel, no MPI.
//!
//!     cargo bench --bench heat_kernel
//!     cargo bench --bench heat_kernel -- --quick
//!
//! One iteration is one full FTCS step over a Dirichlet block: every interior row through
//! `Kernel::update_row` into a second field, then the two fields are swapped, as the driver
//! does without halo exchange. Throughput is in points (elements) per second, so criterion's
//! "elem/s" is the update rate (1 Gelem/s = 1 Glups).
//!
//! Cases: 2D 1024x1024 (16 MiB for both fields) and 3D 128^3 (32 MiB), around the 32 MiB L3;
//! 2D 4096x4096 (256 MiB), out of cache.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use tessera::grid::field::Field;
use tessera::grid::geometry::Grid;
use tessera::grid::kernels::heat::{Boundary, Heat};
use tessera::grid::laplacian::Stencil;
use tessera::grid::stencil::{self, Stores};
use tessera::parallel::Threads;

/// Fraction of the stability limit used for the time step (as the `heat` binary's default).
const DT_FRACTION: f64 = 0.8;

/// The problem on `shape` (2 or 3 axes) and its two fields: the initial condition, with
/// boundary value 0 in the ghosts, and a scratch field with the same ghosts.
fn setup(shape: &[usize]) -> (Heat, Field<f64>, Field<f64>) {
    let alpha = 1.0;
    let std = Stencil::Standard;
    let dt = DT_FRACTION * Heat::stability_limit(shape, Boundary::Dirichlet, std, alpha);
    let heat = Heat::new(shape, Boundary::Dirichlet, std, alpha, dt).expect("stable problem");
    let grid = Grid::new(shape, &vec![false; shape.len()]).expect("grid");
    let ghost: [usize; 3] = std::array::from_fn(|a| usize::from(grid.is_active(a)));
    let u = stencil::initial_block(&heat, &grid, grid.bounds(), ghost, 0);
    let next = u.clone();
    (heat, u, next)
}

/// One FTCS step: the interior rows of `out` from `u`.
fn step(heat: &Heat, u: &Field<f64>, out: &mut Field<f64>) {
    let inner = out.interior();
    stencil::apply_rows(
        heat,
        &[u],
        out,
        &inner,
        0,
        &Threads::serial(),
        Stores::Cached,
    );
}

fn bench_heat(c: &mut Criterion) {
    let mut group = c.benchmark_group("heat_ftcs_step");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let cases: [(&str, &[usize]); 3] = [
        ("2d", &[1024, 1024]),
        ("3d", &[128, 128, 128]),
        ("2d", &[4096, 4096]),
    ];
    for (label, shape) in cases {
        let (heat, mut u, mut next) = setup(shape);
        let points: usize = shape.iter().product();
        let name = shape
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("x");
        group.throughput(Throughput::Elements(points as u64));
        group.bench_function(BenchmarkId::new(label, name), |b| {
            b.iter(|| {
                step(&heat, black_box(&u), &mut next);
                std::mem::swap(&mut u, &mut next);
            })
        });
        // the state stays finite: the scheme is stable and the modes decay slowly
        assert!(u.as_slice().iter().all(|v| v.is_finite()));
    }
    group.finish();
}

criterion_group!(benches, bench_heat);
criterion_main!(benches);
