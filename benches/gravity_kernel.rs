//! Criterion benchmark of the direct-sum gravity tile loop, one core, no MPI.
//!
//!     cargo bench --bench gravity_kernel -- --quick
//!
//! One iteration: 2048 targets against 2048 sources in tiles of `TILE` (4,194,304
//! interactions; 64 KiB of sources), each inverse-square-root method. Criterion's
//! "elem/s" is interactions per second.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use tessera::particles::gravity::{tile_sums, InverseSqrt, Sources, Targets, TileSums, TILE};

const N: usize = 2048;

fn bodies() -> [Vec<f64>; 4] {
    let mut state = 1u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    std::array::from_fn(|c| {
        (0..N)
            .map(|_| if c == 3 { 1.0 / N as f64 } else { next() })
            .collect()
    })
}

fn bench(c: &mut Criterion) {
    let [x, y, z, m] = bodies();
    let id: Vec<u64> = (0..N as u64).collect();
    let mut group = c.benchmark_group("gravity_tiles");
    group.throughput(Throughput::Elements((N * N) as u64));
    let mut methods = vec![InverseSqrt::Exact];
    if tessera::particles::gravity::newton_available() {
        methods.push(InverseSqrt::Newton);
    }
    for method in methods {
        group.bench_function(BenchmarkId::new("inverse_sqrt", method.name()), |b| {
            let mut out = TileSums::default();
            b.iter(|| {
                let targets = Targets {
                    x: &x,
                    y: &y,
                    z: &z,
                    id: &id,
                };
                let mut total = 0.0;
                for t in (0..N).step_by(TILE) {
                    let sources = Sources {
                        x: &x[t..t + TILE],
                        y: &y[t..t + TILE],
                        z: &z[t..t + TILE],
                        m: &m[t..t + TILE],
                        first_id: t as u64,
                    };
                    tile_sums(targets, sources, 1e-4, method, &mut out);
                    total += out.ax[0];
                }
                black_box(total)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
