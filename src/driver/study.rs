//! Convergence studies: errors on a sequence of refined grids and the observed order of
//! accuracy between successive levels, `p = log(e_coarse / e_fine) / log(h_coarse / h_fine)`.
//! No MPI: binaries compute each level's (globally reduced) error and print the table here.

/// One grid of a refinement study.
#[derive(Clone, Debug)]
pub struct Level {
    /// The grid, as `63x63`.
    pub grid: String,
    /// Grid spacing (the coarsest axis's).
    pub h: f64,
    /// Steps taken to the common final time (or iterations, for a steady problem).
    pub steps: u64,
    /// The errors measured on this grid, one per column of the table.
    pub errors: Vec<f64>,
}

/// Observed orders between successive levels for error column `column`.
pub fn observed_orders(levels: &[Level], column: usize) -> Vec<f64> {
    levels
        .windows(2)
        .map(|w| (w[0].errors[column] / w[1].errors[column]).ln() / (w[0].h / w[1].h).ln())
        .collect()
}

/// The study as a table: one line per level with each error and the observed order
/// against the previous level, then the finest order of each column against theory:
///
/// ```text
///   grid           h        steps   max |u - u_exact|  order
///   31x31      3.125e-2       100          1.234e-4
///   63x63      1.562e-2       400          3.085e-5   2.00
/// observed order (finest pair): max |u - u_exact| 2.00 (theory 2)
/// ```
pub fn table(levels: &[Level], columns: &[(&str, f64)]) -> String {
    let mut out = format!("  {:<14} {:>10} {:>9}", "grid", "h", "steps");
    for (name, _) in columns {
        out += &format!("  {name:>22}  order");
    }
    out.push('\n');
    let orders: Vec<Vec<f64>> = (0..columns.len())
        .map(|c| observed_orders(levels, c))
        .collect();
    for (l, level) in levels.iter().enumerate() {
        out += &format!("  {:<14} {:>10.3e} {:>9}", level.grid, level.h, level.steps);
        for (c, e) in level.errors.iter().enumerate() {
            let order = if l == 0 {
                "     ".to_string()
            } else {
                format!("{:5.2}", orders[c][l - 1])
            };
            out += &format!("  {e:>22.3e}  {order}");
        }
        out.push('\n');
    }
    if levels.len() > 1 {
        let finest: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(c, (name, theory))| {
                format!("{name} {:.2} (theory {theory})", orders[c].last().unwrap())
            })
            .collect();
        out += &format!("observed order (finest pair): {}\n", finest.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_of_a_second_order_sequence() {
        let levels: Vec<Level> = [16usize, 32, 64]
            .iter()
            .map(|&n| {
                let h = 1.0 / n as f64;
                Level {
                    grid: format!("{n}x{n}"),
                    h,
                    steps: 1,
                    errors: vec![3.0 * h * h, 0.5 * h.powi(4)],
                }
            })
            .collect();
        for o in observed_orders(&levels, 0) {
            assert!((o - 2.0).abs() < 1e-12);
        }
        for o in observed_orders(&levels, 1) {
            assert!((o - 4.0).abs() < 1e-12);
        }
        let t = table(&levels, &[("a", 2.0), ("b", 4.0)]);
        assert!(
            t.contains("observed order (finest pair): a 2.00 (theory 2), b 4.00 (theory 4)"),
            "{t}"
        );
    }
}
