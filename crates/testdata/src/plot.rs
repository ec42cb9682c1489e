//! Line charts for the benchmarks (rate-distortion curves, ratio against bound): one PNG with one
//! line per series, points marked, a legend, axes fitted to the data.

use plotters::prelude::*;
use std::path::Path;

/// One line: its legend label and its points (drawn sorted by x; non-finite points dropped).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// `(x, y)` points.
    pub points: Vec<(f64, f64)>,
}

/// One series per label of `labels`, each from the `items` whose `label_of` it is, at
/// `xy(item)` (e.g. one rate-distortion line per compressor).
pub fn series_by<T>(
    labels: &[&str],
    items: &[T],
    label_of: impl Fn(&T) -> &str,
    xy: impl Fn(&T) -> (f64, f64),
) -> Vec<Series> {
    labels
        .iter()
        .map(|&l| Series {
            label: l.to_string(),
            points: items.iter().filter(|i| label_of(i) == l).map(&xy).collect(),
        })
        .collect()
}

/// A chart's title and axis names.
#[derive(Debug, Clone, Copy)]
pub struct Chart<'a> {
    /// Caption.
    pub title: &'a str,
    /// X axis description.
    pub x: &'a str,
    /// Y axis description.
    pub y: &'a str,
}

/// A series ready to draw: label, sorted finite points, colour.
type Line<'a> = (&'a str, Vec<(f64, f64)>, RGBColor);

/// The colours of successive series.
const PALETTE: [RGBColor; 8] = [
    RED,
    BLUE,
    GREEN,
    MAGENTA,
    CYAN,
    BLACK,
    RGBColor(230, 120, 0),
    RGBColor(120, 60, 160),
];

/// Draw `series` (later ones on top, colours in order) into a 900x600 PNG at `path`. Empty
/// series are skipped; the axes span the finite points with a small margin.
pub fn line_chart(
    path: &Path,
    chart: Chart<'_>,
    series: &[Series],
) -> Result<(), Box<dyn std::error::Error>> {
    let lines: Vec<Line<'_>> = series
        .iter()
        .zip(PALETTE.iter().cycle())
        .map(|(s, &c)| {
            let mut p: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            p.sort_by(|a, b| a.0.total_cmp(&b.0));
            (s.label.as_str(), p, c)
        })
        .filter(|(_, p, _)| !p.is_empty())
        .collect();
    let all = lines.iter().flat_map(|l| l.1.iter());
    let (x0, x1, y0, y1) = all.fold(
        (f64::MAX, f64::MIN, f64::MAX, f64::MIN),
        |(a, b, c, d), &(x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
    );
    if x0 > x1 {
        return Ok(());
    }
    let pad = |lo: f64, hi: f64| {
        let m = ((hi - lo) * 0.05).max(hi.abs().max(1e-9) * 1e-3);
        (lo - m)..(hi + m)
    };
    let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut c = ChartBuilder::on(&root)
        .caption(chart.title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(pad(x0, x1), pad(y0, y1))?;
    c.configure_mesh().x_desc(chart.x).y_desc(chart.y).draw()?;
    for (label, points, color) in &lines {
        let color = *color;
        c.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        c.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_written_and_empty_ones_skipped() {
        let dir = std::env::temp_dir().join(format!("plot-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let chart = Chart {
            title: "t",
            x: "x",
            y: "y",
        };
        let path = dir.join("a.png");
        let series = vec![
            Series {
                label: "one".into(),
                points: vec![(2.0, 1.0), (1.0, f64::NAN), (0.5, 3.0)],
            },
            Series {
                label: "empty".into(),
                points: vec![],
            },
        ];
        line_chart(&path, chart, &series).unwrap();
        let png = std::fs::read(&path).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let none = dir.join("none.png");
        line_chart(&none, chart, &series[1..]).unwrap();
        assert!(!none.exists(), "nothing to draw, nothing written");
    }
}
