//! The interpolation baseline the network corrects: a coarse 2-D image doubled by the
//! hierarchy's own cubic formulas ([`pressio_ml_codec::interp::fill_odd`]), along x first, then
//! along y (through the x-interpolated points). Training and inference both use it, in f64.

use pressio_ml_codec::interp::{fill_odd, InterpKind};

/// The fine image (`fx * fy`, x fastest) whose even points are `coarse` (`cx * cy`) and whose
/// other points are interpolated. `fx` is `2 cx - 1` or `2 cx` (a last odd column beyond the
/// last coarse one is extrapolated by the hierarchy's boundary rules), likewise `fy`.
pub fn cubic_upsample(coarse: &[f64], cx: usize, cy: usize, fx: usize, fy: usize) -> Vec<f64> {
    debug_assert_eq!(coarse.len(), cx * cy);
    debug_assert!(fx.div_ceil(2) == cx && fy.div_ceil(2) == cy);
    let mut fine = vec![0f64; fx * fy];
    for j in 0..cy {
        let row = &mut fine[2 * j * fx..(2 * j + 1) * fx];
        for i in 0..cx {
            row[2 * i] = coarse[j * cx + i];
        }
        fill_odd(row, InterpKind::Cubic);
    }
    let mut line = vec![0f64; fy];
    for x in 0..fx {
        for j in 0..cy {
            line[2 * j] = fine[2 * j * fx + x];
        }
        fill_odd(&mut line, InterpKind::Cubic);
        for y in (1..fy).step_by(2) {
            fine[y * fx + x] = line[y];
        }
    }
    fine
}

/// The network's phase of fine point `(x, y)`: 0 for (odd x, even y), 1 for (even x, odd y);
/// `None` for known (even, even) points and for (odd, odd) points, which the hierarchy
/// interpolates from reconstructed values.
pub fn phase(x: usize, y: usize) -> Option<usize> {
    match (x & 1, y & 1) {
        (1, 0) => Some(0),
        (0, 1) => Some(1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubic_upsampling_is_exact_on_cubics_and_keeps_known_points() {
        let f = |x: f64, y: f64| 0.5 * x * x * x - x * y + 2.0 * y * y - 3.0;
        let (cx, cy) = (9, 7);
        let coarse: Vec<f64> = (0..cx * cy)
            .map(|k| f(2.0 * (k % cx) as f64, 2.0 * (k / cx) as f64))
            .collect();
        let (fx, fy) = (2 * cx - 1, 2 * cy - 1);
        let fine = cubic_upsample(&coarse, cx, cy, fx, fy);
        for y in 0..fy {
            for x in 0..fx {
                let want = f(x as f64, y as f64);
                let got = fine[y * fx + x];
                if x % 2 == 0 && y % 2 == 0 {
                    assert_eq!(got, want);
                }
                // interior points (full cubic stencils) are exact for cubics
                if (3..fx - 3).contains(&x) && (3..fy - 3).contains(&y) {
                    assert!((got - want).abs() < 1e-9, "({x}, {y}): {got} vs {want}");
                }
            }
        }
        // an even fine extent extrapolates the last odd line from known values
        let fine = cubic_upsample(&coarse, cx, cy, 2 * cx, 2 * cy);
        assert!(fine.iter().all(|v| v.is_finite()));
        assert_eq!(phase(1, 0), Some(0));
        assert_eq!(phase(2, 3), Some(1));
        assert_eq!(phase(3, 5), None);
        assert_eq!(phase(2, 2), None);
    }
}
