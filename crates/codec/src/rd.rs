//! Rate-distortion models of a compressor on one field, for encoder-side decisions between a
//! plain stream and one that spends extra bytes (network side information) on a lower error.
//!
//! Both read the compressor's curve in log bytes against log squared error, the shape in which
//! rate-distortion comparisons at equal ratio interpolate (PSNR, `-10 log10 D` up to a
//! constant, linear in log ratio between measured bounds):
//!
//! * [`RdCurve`]: the slope `k` of `ln D = a - k ln B` between two codings, what a unit of
//!   error is worth in bytes when choosing parts of a stream;
//! * [`RdEnvelope`]: the best the compressor does over several codings, what a whole stream
//!   must beat.

/// A measured local rate-distortion curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RdCurve {
    /// `k = -d ln D / d ln B`: how fast the squared error falls as bytes grow; 0 when it could
    /// not be measured (then only size counts).
    pub k: f64,
}

impl RdCurve {
    /// The curve through `(bytes, sse)` and `(finer_bytes, finer_sse)` (`sse` the summed
    /// squared error of each coding). A pair that does not trade bytes for error (equal or
    /// fewer bytes, or no smaller error) gives `k = 0`.
    pub fn measure(bytes: f64, sse: f64, finer_bytes: f64, finer_sse: f64) -> RdCurve {
        let k = (sse / finer_sse).ln() / (finer_bytes / bytes).ln();
        RdCurve {
            k: if k.is_finite() && k > 0.0 { k } else { 0.0 },
        }
    }
}

/// A compressor's measured rate-distortion points on one field, read as the best it can do:
/// the upper concave hull of its points in (log bytes, -log squared error), extended beyond
/// the first and last points along the hull's end segments. Compressors such as SZ3 have
/// bumpy curves at loose bounds (a looser bound can cost more bytes); the hull never credits a
/// rival for beating a bump.
#[derive(Debug, Clone, PartialEq)]
pub struct RdEnvelope {
    /// Hull vertices `(ln bytes, -ln sse)`, by increasing bytes.
    hull: Vec<(f64, f64)>,
}

impl RdEnvelope {
    /// The envelope of `(bytes, sse)` points (non-positive or non-finite ones are dropped).
    pub fn new(points: &[(f64, f64)]) -> RdEnvelope {
        let mut p: Vec<(f64, f64)> = points
            .iter()
            .filter(|(b, d)| b.is_finite() && d.is_finite() && *b > 0.0 && *d > 0.0)
            .map(|&(b, d)| (b.ln(), -d.ln()))
            .collect();
        p.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
        // a point that costs more bytes for no less error is never on the frontier
        let mut frontier: Vec<(f64, f64)> = Vec::new();
        for q in p {
            if frontier.last().is_none_or(|l| q.1 > l.1 && q.0 > l.0) {
                frontier.push(q);
            }
        }
        let mut hull: Vec<(f64, f64)> = Vec::new();
        for q in frontier {
            while hull.len() >= 2 {
                let (a, b) = (hull[hull.len() - 2], hull[hull.len() - 1]);
                // drop b when it lies on or below the chord a-q
                if (b.0 - a.0) * (q.1 - a.1) - (b.1 - a.1) * (q.0 - a.0) >= 0.0 {
                    hull.pop();
                } else {
                    break;
                }
            }
            hull.push(q);
        }
        RdEnvelope { hull }
    }

    /// The squared error the envelope gives at `bytes`; `None` without points.
    pub fn sse_at(&self, bytes: f64) -> Option<f64> {
        let h = &self.hull;
        let x = bytes.ln();
        let y = match h.len() {
            0 => return None,
            1 => h[0].1,
            n => {
                let k = h.windows(2).position(|w| x <= w[1].0).unwrap_or(n - 2);
                let (a, b) = (h[k], h[k + 1]);
                // beyond the ends the end segments go on, never flatter than flat
                let slope = ((b.1 - a.1) / (b.0 - a.0)).max(0.0);
                a.1 + slope * (x - a.0)
            }
        };
        Some((-y).exp())
    }

    /// The gain in dB of PSNR of `(bytes, sse)` over the envelope at equal bytes (positive:
    /// better); `None` without points.
    pub fn gain_db(&self, bytes: f64, sse: f64) -> Option<f64> {
        Some(10.0 * (self.sse_at(bytes)? / sse).log10())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_ignores_bumps_and_extends_its_ends() {
        // D = 1e6 B^-2 at 100, 200, 400 bytes, and a bump: 300 bytes no better than 200
        let d = |b: f64| 1e6 * b.powi(-2);
        let e = RdEnvelope::new(&[
            (200.0, d(200.0)),
            (100.0, d(100.0)),
            (300.0, d(200.0)),
            (400.0, d(400.0)),
        ]);
        for b in [100.0, 150.0, 300.0, 400.0, 800.0, 50.0] {
            let got = e.sse_at(b).unwrap();
            assert!((got / d(b) - 1.0).abs() < 1e-9, "{b}: {got} vs {}", d(b));
        }
        assert!((e.gain_db(300.0, d(300.0) / 2.0).unwrap() - 10.0 * 2f64.log10()).abs() < 1e-9);
        // a point below the chord of its neighbours is not on the hull
        let e = RdEnvelope::new(&[(100.0, 100.0), (200.0, 90.0), (400.0, 10.0)]);
        let mid = e.sse_at(200.0).unwrap();
        assert!(
            mid < 90.0 && (mid - (100f64 * 10.0).sqrt()).abs() < 1e-9,
            "{mid}"
        );
        assert_eq!(RdEnvelope::new(&[]).sse_at(1.0), None);
        assert_eq!(RdEnvelope::new(&[(100.0, 4.0)]).sse_at(50.0), Some(4.0));
    }

    #[test]
    fn a_power_law_slope_is_measured_exactly() {
        // D = 1e6 * B^-2
        let d = |b: f64| 1e6 * b.powi(-2);
        let c = RdCurve::measure(100.0, d(100.0), 150.0, d(150.0));
        assert!((c.k - 2.0).abs() < 1e-12);
    }

    #[test]
    fn pairs_that_trade_nothing_have_no_slope() {
        for (b2, d2) in [(100.0, 1.0), (90.0, 1.0), (150.0, 2.0), (150.0, 4.0)] {
            let c = RdCurve::measure(100.0, 2.0, b2, d2);
            assert_eq!(c.k, 0.0, "{b2} {d2}");
        }
    }
}
