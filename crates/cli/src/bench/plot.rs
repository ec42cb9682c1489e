//! The benchmark plot: a 2x2 PNG with the geometric-mean ratio against the bound, PSNR against
//! ratio (rate-distortion), and compression and decompression throughput against the bound, one
//! coloured line per compressor.

use super::report::{aggregates, Aggregate, Settings};
use super::Row;
use crate::error::{CliError, CliResult};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

const FONT: &str = "sans-serif";

/// One line of a panel: a label and its points.
pub(super) type Line = (String, Vec<(f64, f64)>);

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// A log-scale range around positive values, padded by a factor.
fn log_range(values: impl Iterator<Item = f64>, pad: f64) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return None;
    }
    let (mut lo, mut hi) = (lo / pad, hi * pad);
    // span at least a decade so that the axis gets labelled ticks
    if hi / lo < 10.0 {
        let widen = (10.0 / (hi / lo)).sqrt();
        lo /= widen;
        hi *= widen;
    }
    Some((lo, hi))
}

/// A linear range around the values, padded by `pad` (a fraction of the span, at least 1), from
/// zero when `from_zero`.
fn lin_range(values: impl Iterator<Item = f64>, pad: f64, from_zero: bool) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return None;
    }
    let margin = ((hi - lo) * pad).max(if from_zero { hi.abs() * pad } else { 1.0 });
    if from_zero {
        Some((0.0f64.min(lo), hi + margin))
    } else {
        Some((lo - margin, hi + margin))
    }
}

/// Labelled ticks of a log axis over `[lo, hi]`: `exact` when given, else the 1-2-5 sequence
/// (every integer mantissa when that gives too few, powers of ten when too many).
fn log_ticks(lo: f64, hi: f64, exact: Option<&[f64]>) -> Vec<f64> {
    if let Some(e) = exact {
        return e.iter().copied().filter(|v| *v >= lo && *v <= hi).collect();
    }
    if !(lo > 0.0 && hi.is_finite() && lo < hi) {
        return Vec::new();
    }
    let seq = |mantissas: &[f64]| -> Vec<f64> {
        let d1 = hi.log10().ceil() as i32;
        let d0 = (lo.log10().floor() as i32).max(d1 - 40);
        (d0..=d1)
            .flat_map(|d| mantissas.iter().map(move |m| m * 10f64.powi(d)))
            .filter(|v| *v >= lo && *v <= hi)
            .collect()
    };
    let t = seq(&[1.0, 2.0, 5.0]);
    if t.len() < 4 {
        seq(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    } else if t.len() > 12 {
        seq(&[1.0])
    } else {
        t
    }
}

fn short(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e4 || v.abs() < 0.1 {
        format!("{v:.0e}")
    } else if v.abs() >= 10.0 {
        format!("{v:.0}")
    } else {
        let t = format!("{v:.2}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Lines of one metric against the bound, one per label.
fn by_bound(
    aggs: &[Aggregate],
    labels: &[String],
    f: impl Fn(&Aggregate) -> Option<f64>,
) -> Vec<Line> {
    labels
        .iter()
        .map(|l| {
            let pts = aggs
                .iter()
                .filter(|a| &a.label == l)
                .filter_map(|a| f(a).map(|v| (a.bound, v)))
                .filter(|(_, v)| v.is_finite() && *v > 0.0)
                .collect();
            (l.clone(), pts)
        })
        .collect()
}

fn message<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    text: &str,
) -> Result<(), String> {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        title.to_string(),
        (20, 20),
        (FONT, 22).into_font(),
    ))
    .map_err(|e| e.to_string())?;
    area.draw(&Text::new(
        text.to_string(),
        (w as i32 / 4, h as i32 / 2),
        (FONT, 18).into_font(),
    ))
    .map_err(|e| e.to_string())
}

#[allow(clippy::too_many_arguments)]
/// Draw one panel of lines (log or linear axes).
pub(super) fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    lines: &[Line],
    log_x: bool,
    log_y: bool,
    y_from_zero: bool,
    x_exact: Option<&[f64]>,
) -> Result<(), String> {
    let xs = || lines.iter().flat_map(|(_, p)| p.iter().map(|q| q.0));
    let ys = || lines.iter().flat_map(|(_, p)| p.iter().map(|q| q.1));
    let xr = if log_x {
        log_range(xs(), 2.0)
    } else {
        lin_range(xs(), 0.05, false)
    };
    let yr = if log_y {
        log_range(ys(), 1.4)
    } else {
        lin_range(ys(), 0.08, y_from_zero)
    };
    let (Some((x0, x1)), Some((y0, y1))) = (xr, yr) else {
        return message(area, title, "no successful measurements");
    };
    let xt = if log_x {
        log_ticks(x0, x1, x_exact)
    } else {
        Vec::new()
    };
    let yt = if log_y {
        log_ticks(y0, y1, None)
    } else {
        Vec::new()
    };
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(title, (FONT, 24))
        .margin(18)
        .x_label_area_size(50)
        .y_label_area_size(80);
    macro_rules! draw_lines {
        ($chart:expr) => {{
            let chart = &mut $chart;
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(y_desc)
                .label_style((FONT, 16))
                .axis_desc_style((FONT, 18))
                .x_label_formatter(&|v| short(*v))
                .y_label_formatter(&|v| short(*v))
                .x_labels(12)
                .y_labels(10)
                .light_line_style(WHITE)
                .bold_line_style(RGBColor(215, 215, 215))
                .draw()
                .map_err(|e| e.to_string())?;
            for (i, (_, pts)) in lines.iter().enumerate() {
                let c = color(i);
                chart
                    .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(3)))
                    .map_err(|e| e.to_string())?;
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 5, c.filled())))
                    .map_err(|e| e.to_string())?;
            }
        }};
    }
    match (log_x, log_y) {
        (true, true) => {
            let mut chart = builder
                .build_cartesian_2d(
                    (x0..x1).log_scale().with_key_points(xt),
                    (y0..y1).log_scale().with_key_points(yt),
                )
                .map_err(|e| e.to_string())?;
            draw_lines!(chart);
        }
        (true, false) => {
            let mut chart = builder
                .build_cartesian_2d((x0..x1).log_scale().with_key_points(xt), y0..y1)
                .map_err(|e| e.to_string())?;
            draw_lines!(chart);
        }
        (false, true) => {
            let mut chart = builder
                .build_cartesian_2d(x0..x1, (y0..y1).log_scale().with_key_points(yt))
                .map_err(|e| e.to_string())?;
            draw_lines!(chart);
        }
        (false, false) => {
            let mut chart = builder
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| e.to_string())?;
            draw_lines!(chart);
        }
    }
    Ok(())
}

/// One horizontal legend for all panels (the colours are the same in each).
pub(super) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &[String],
) -> Result<(), String> {
    let mut x = 40i32;
    for (i, label) in labels.iter().enumerate() {
        let c = color(i);
        area.draw(&PathElement::new(
            vec![(x, 25), (x + 36, 25)],
            c.stroke_width(4),
        ))
        .map_err(|e| e.to_string())?;
        area.draw(&Circle::new((x + 18, 25), 5, c.filled()))
            .map_err(|e| e.to_string())?;
        area.draw(&Text::new(
            label.clone(),
            (x + 44, 15),
            (FONT, 20).into_font(),
        ))
        .map_err(|e| e.to_string())?;
        x += 44 + 11 * label.chars().count() as i32 + 40;
    }
    Ok(())
}

fn draw_inner(path: &Path, rows: &[Row], settings: &Settings) -> Result<(), String> {
    let aggs = aggregates(rows, settings);
    let labels = &settings.labels;
    let root = BitMapBackend::new(path, (1600, 1200)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let n_fields = rows
        .iter()
        .map(|r| r.field.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let title = format!(
        "pressio-ml benchmark: {n_fields} fields, geometric means, median of {} repeats{}",
        settings.repeats,
        if cfg!(debug_assertions) {
            " (debug build)"
        } else {
            ""
        }
    );
    let root = root.titled(&title, (FONT, 28)).map_err(|e| e.to_string())?;
    let (legend, grid) = root.split_vertically(50);
    draw_legend(&legend, labels)?;
    let areas = grid.split_evenly((2, 2));
    let ratio = by_bound(&aggs, labels, |a| a.ratio);
    panel(
        &areas[0],
        "Compression ratio vs bound (higher is better)",
        "value-range-relative bound",
        "compression ratio",
        &ratio,
        true,
        true,
        false,
        Some(&settings.bounds),
    )?;
    let rd: Vec<Line> = labels
        .iter()
        .map(|l| {
            let pts = aggs
                .iter()
                .filter(|a| &a.label == l)
                .filter_map(|a| Some((a.ratio?, a.psnr?)))
                .filter(|(r, p)| r.is_finite() && *r > 0.0 && p.is_finite())
                .collect();
            (l.clone(), pts)
        })
        .collect();
    panel(
        &areas[1],
        "PSNR vs compression ratio (up and right is better)",
        "compression ratio",
        "mean PSNR (dB)",
        &rd,
        true,
        false,
        false,
        None,
    )?;
    let comp = by_bound(&aggs, labels, |a| a.compress_mbps);
    panel(
        &areas[2],
        "Compression throughput",
        "value-range-relative bound",
        "MB/s",
        &comp,
        true,
        false,
        true,
        Some(&settings.bounds),
    )?;
    let decomp = by_bound(&aggs, labels, |a| a.decompress_mbps);
    panel(
        &areas[3],
        "Decompression throughput",
        "value-range-relative bound",
        "MB/s",
        &decomp,
        true,
        false,
        true,
        Some(&settings.bounds),
    )?;
    root.present().map_err(|e| e.to_string())
}

/// Draw the benchmark plot into `path` (PNG).
pub fn draw(path: &Path, rows: &[Row], settings: &Settings) -> CliResult<()> {
    draw_inner(path, rows, settings).map_err(|message| CliError::Plot {
        path: path.to_path_buf(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks() {
        assert_eq!(
            log_ticks(0.9, 60.0, None),
            vec![1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
        );
        assert_eq!(
            log_ticks(2.5, 9.5, None),
            vec![3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
        );
        assert!(log_ticks(0.0, 10.0, None).is_empty());
        assert!(log_ticks(f64::NAN, 10.0, None).is_empty());
        assert_eq!(
            log_ticks(1e-5, 1.0, Some(&[1e-4, 1e-3, 10.0])),
            vec![1e-4, 1e-3]
        );
        let (a, b) = log_range([5.0].into_iter(), 1.0).unwrap();
        assert!((b / a - 10.0).abs() < 1e-9);
        assert_eq!(
            lin_range([2.0, 4.0].into_iter(), 0.5, true),
            Some((0.0, 6.0))
        );
        assert_eq!(short(5.0), "5");
        assert_eq!(short(0.001), "1e-3");
    }
}
