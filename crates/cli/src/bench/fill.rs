//! The fill-value table of `pressio-ml bench`: on every field that holds fill points (the
//! `pressio:fill_mode=auto` conventions, e.g. IPSL's 1e20 land mask), each compressor runs with
//! the default fill handling and with `pressio:fill_mode=none`, and the table shows the ratio
//! and the max error over the valid points of both runs next to the bound.

use super::measure::{measure, Row, Spec};
use super::Field;
use pressio_ml::{Data, Registry};
use std::fmt::Write;

/// The spec with fill handling switched off (label `<label>:fill=none`).
fn without_fill(spec: &Spec) -> Spec {
    let mut s = spec.clone();
    s.options.push(("fill_mode".into(), "none".into()));
    s.label = format!("{}:fill=none", spec.label);
    s
}

/// Measure `spec` on `data` with and without fill handling at every bound: (auto, none) rows.
pub fn measure_pairs(
    registry: &Registry,
    field: &Field,
    data: &Data,
    spec: &Spec,
    bounds: &[f64],
    repeats: usize,
) -> Vec<(Row, Row)> {
    let none = without_fill(spec);
    bounds
        .iter()
        .map(|&b| {
            (
                measure(registry, field, data, None, spec, b, repeats),
                measure(registry, field, data, None, &none, b, repeats),
            )
        })
        .collect()
}

fn cell(r: &Row) -> String {
    if r.ok() {
        format!("{:.2} | {:.3e}", r.ratio, r.max_error)
    } else {
        "error | error".into()
    }
}

/// The markdown table of the pairs.
pub fn markdown(pairs: &[(Row, Row)]) -> String {
    let mut s = String::from(
        "## Fill values\n\nFields with fill points, each compressor with the default \
         `pressio:fill_mode=auto` (fill points exact, bound relative to the valid range) and \
         with `pressio:fill_mode=none` (the bound is relative to a range that includes the fill \
         value). Max errors are over the valid points.\n\n\
         | field | compressor | rel | bound on valid points | ratio (auto) | max error (auto) \
         | ratio (none) | max error (none) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for (auto, none) in pairs {
        let _ = writeln!(
            s,
            "| {} | {} | {:.0e} | {:.3e} | {} | {} |",
            auto.field,
            auto.label,
            auto.bound,
            auto.abs_bound,
            cell(auto),
            cell(none)
        );
    }
    s
}
