//! One benchmark measurement: configure, time compress and decompress, check the bound.

use super::Field;
use crate::error::{CliError, CliResult, Context};
use crate::opts::cast_through_template;
use pressio_ml::{keys, Compressor, DType, Data, FillSpec, Registry};
use std::time::{Duration, Instant};

/// A compressor as benchmarked: an id plus options, with the label used in reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Registry id.
    pub id: String,
    /// `(key, value)` options; bare keys are resolved against the plugin's prefix, then
    /// `pressio:`.
    pub options: Vec<(String, String)>,
    /// `ID` or `ID:VALUE:VALUE...`.
    pub label: String,
}

impl Spec {
    /// Parse `ID` or `ID/KEY=VALUE/KEY=VALUE`.
    pub fn parse(text: &str) -> CliResult<Spec> {
        let mut parts = text.split('/');
        let id = parts.next().unwrap_or_default().trim().to_string();
        if id.is_empty() {
            return Err(CliError::usage(format!(
                "compressor spec `{text}` has no id"
            )));
        }
        let mut options = Vec::new();
        let mut label = id.clone();
        for p in parts {
            let Some((k, v)) = p.split_once('=') else {
                return Err(CliError::usage(format!(
                    "compressor spec `{text}`: `{p}` is not KEY=VALUE (expected ID/KEY=VALUE/...)"
                )));
            };
            if k.trim().is_empty() {
                return Err(CliError::usage(format!(
                    "compressor spec `{text}`: empty key"
                )));
            }
            label.push(':');
            label.push_str(v.trim());
            options.push((k.trim().to_string(), v.trim().to_string()));
        }
        Ok(Spec { id, options, label })
    }
}

/// Errors of a reconstruction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    /// `20 log10(range) - 10 log10(mse)` over the valid input values (infinite when exact).
    pub psnr: f64,
    /// Largest `|x - x'|` over the valid input values (infinite if one became non-finite).
    pub max_error: f64,
    /// Range (max - min) of the valid input values.
    pub range: f64,
    /// Non-finite input values and fill points that did not come back bit-exactly.
    pub nonfinite_mismatches: usize,
    /// Fill points of the input (`pressio:fill_mode=auto`'s conventions).
    pub fill_points: usize,
}

/// Compare `original` and `decoded` element by element over the valid values: finite and not a
/// fill point under the default `pressio:fill_mode=auto` (the same rule the compressors apply,
/// so that a field with a 1e20 land mask is measured on its sea points).
pub fn quality(original: &Data, decoded: &Data) -> CliResult<Quality> {
    let a = original.to_f64_vec();
    let b = decoded.to_f64_vec();
    // detected in the element type: an f32 1e20 land mask is not 1e20 once widened to f64
    let auto = FillSpec::default();
    let fill = match original.dtype() {
        DType::Float => auto.detect(original.as_slice::<f32>()?),
        DType::Double => auto.detect(original.as_slice::<f64>()?),
        _ => None,
    };
    let fill_points = fill
        .as_ref()
        .map_or(0, |m| m.iter().filter(|&&f| f).count());
    if a.len() != b.len() {
        return Err(CliError::input(format!(
            "decompressed {} values, expected {}",
            b.len(),
            a.len()
        )));
    }
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut sse, mut n, mut max_error, mut mismatches) = (0.0f64, 0usize, 0.0f64, 0usize);
    for (i, (&x, &y)) in a.iter().zip(&b).enumerate() {
        let is_fill = fill.as_ref().is_some_and(|m| m[i]);
        if is_fill {
            if x.to_bits() != y.to_bits() {
                mismatches += 1;
            }
        } else if x.is_finite() {
            lo = lo.min(x);
            hi = hi.max(x);
            let e = if y.is_finite() {
                (x - y).abs()
            } else {
                f64::INFINITY
            };
            max_error = max_error.max(e);
            sse += e * e;
            n += 1;
        } else if !(x.is_nan() && y.is_nan() || x == y) {
            mismatches += 1;
        }
    }
    let range = if lo <= hi { hi - lo } else { 0.0 };
    let mse = if n > 0 { sse / n as f64 } else { 0.0 };
    let psnr = if mse == 0.0 {
        f64::INFINITY
    } else {
        20.0 * range.log10() - 10.0 * mse.log10()
    };
    Ok(Quality {
        psnr,
        max_error,
        range,
        nonfinite_mismatches: mismatches,
        fill_points,
    })
}

/// One line of the benchmark results.
#[derive(Debug, Clone)]
pub struct Row {
    /// Field name (path under the data folder).
    pub field: String,
    /// Dims, fastest first.
    pub dims: Vec<usize>,
    /// Element type.
    pub dtype: DType,
    /// Size of the field in bytes.
    pub bytes: usize,
    /// Compressor label.
    pub label: String,
    /// Requested value-range-relative bound.
    pub bound: f64,
    /// The absolute bound it means for this field (`bound * range`).
    pub abs_bound: f64,
    /// Compressed size in bytes.
    pub compressed_bytes: usize,
    /// `bytes / compressed_bytes`.
    pub ratio: f64,
    /// PSNR in dB.
    pub psnr: f64,
    /// Largest pointwise error.
    pub max_error: f64,
    /// True when every finite value is within `abs_bound` and non-finite values came back.
    pub within_bound: bool,
    /// Median compression throughput, MB (10^6 bytes) of input per second.
    pub compress_mbps: f64,
    /// Median decompression throughput, MB of output per second.
    pub decompress_mbps: f64,
    /// Size of the buffer the throughput was timed on (larger than `bytes` when tiled).
    pub timed_bytes: usize,
    /// Why the measurement failed, if it did.
    pub error: Option<String>,
}

impl Row {
    /// A row for a failed measurement.
    pub fn failed(field: &Field, spec: &Spec, bound: f64, error: String) -> Row {
        Row {
            field: field.name.clone(),
            dims: field.dims.clone(),
            dtype: field.dtype,
            bytes: field.dims.iter().product::<usize>() * field.dtype.size(),
            label: spec.label.clone(),
            bound,
            abs_bound: f64::NAN,
            compressed_bytes: 0,
            ratio: f64::NAN,
            psnr: f64::NAN,
            max_error: f64::NAN,
            within_bound: false,
            compress_mbps: f64::NAN,
            decompress_mbps: f64::NAN,
            timed_bytes: 0,
            error: Some(error),
        }
    }

    /// True when the measurement succeeded.
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// A copy of `data` repeated along the slowest dimension until it holds at least `mb` MB;
/// `None` when the field is already that large.
pub fn tile(data: &Data, mb: f64) -> Option<Data> {
    let target = (mb * 1e6).ceil() as usize;
    let bytes = data.bytes();
    if bytes.is_empty() || bytes.len() >= target {
        return None;
    }
    let k = target.div_ceil(bytes.len());
    let mut dims = data.dims().to_vec();
    *dims.last_mut()? *= k;
    Data::from_bytes(data.dtype(), &dims, &bytes.repeat(k)).ok()
}

pub(crate) fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    let n = v.len();
    if n == 0 {
        Duration::ZERO
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

pub(crate) fn mbps(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / 1e6 / t.as_secs_f64().max(1e-9)
}

/// A compressor configured for `spec` at relative bound `bound` (set as `pressio:rel`, or as
/// `pressio:abs = bound * range` for plugins without `pressio:rel`).
pub fn configure(
    registry: &Registry,
    spec: &Spec,
    bound: f64,
    range: f64,
) -> CliResult<Compressor> {
    let mut c = registry.compressor(&spec.id)?;
    let template = c.get_options();
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in &spec.options {
        let key = if k.contains(':') {
            k.clone()
        } else {
            let own = format!("{}:{k}", c.prefix());
            if template.contains(&own) {
                own
            } else {
                format!("pressio:{k}")
            }
        };
        groups.push((key, vec![v.clone()]));
    }
    if template.contains(keys::REL) {
        groups.push((keys::REL.to_string(), vec![format!("{bound:?}")]));
    } else if template.contains(keys::ABS) {
        groups.push((keys::ABS.to_string(), vec![format!("{:?}", bound * range)]));
    } else {
        return Err(CliError::usage(format!(
            "{} takes neither pressio:rel nor pressio:abs",
            spec.id
        )));
    }
    let options = cast_through_template(&template, &groups)?;
    c.set_options(&options)
        .context(|| format!("{}: options refused", spec.label))?;
    Ok(c)
}

pub(crate) fn compress_once(c: &mut Compressor, input: &Data) -> CliResult<(Data, Duration)> {
    let mut outs = [Data::empty(DType::Byte, &[])];
    let t = Instant::now();
    c.compress_many(&[input], &mut outs)
        .context(|| "compression failed")?;
    let dt = t.elapsed();
    let [o] = outs;
    Ok((o, dt))
}

pub(crate) fn decompress_once(
    c: &mut Compressor,
    stream: &Data,
    like: &Data,
) -> CliResult<(Data, Duration)> {
    let mut outs = [Data::empty(like.dtype(), like.dims())];
    let t = Instant::now();
    c.decompress_many(&[stream], &mut outs)
        .context(|| "decompression failed")?;
    let dt = t.elapsed();
    let [o] = outs;
    Ok((o, dt))
}

fn measure_inner(
    registry: &Registry,
    field: &Field,
    data: &Data,
    tiled: Option<&Data>,
    spec: &Spec,
    bound: f64,
    repeats: usize,
) -> CliResult<Row> {
    let range = quality(data, data)?.range;
    let mut c = configure(registry, spec, bound, range)?;
    let timed = tiled.unwrap_or(data);
    let mut ctimes = Vec::with_capacity(repeats);
    let mut dtimes = Vec::with_capacity(repeats);
    let mut stream = Data::empty(DType::Byte, &[]);
    let mut decoded = Data::empty(timed.dtype(), timed.dims());
    for _ in 0..repeats {
        let (s, t) = compress_once(&mut c, timed)?;
        ctimes.push(t);
        stream = s;
    }
    for _ in 0..repeats {
        let (d, t) = decompress_once(&mut c, &stream, timed)?;
        dtimes.push(t);
        decoded = d;
    }
    if tiled.is_some() {
        stream = compress_once(&mut c, data)?.0;
        decoded = decompress_once(&mut c, &stream, data)?.0;
    }
    let q = quality(data, &decoded)?;
    let abs_bound = bound * q.range;
    let bytes = data.num_bytes();
    Ok(Row {
        field: field.name.clone(),
        dims: field.dims.clone(),
        dtype: field.dtype,
        bytes,
        label: spec.label.clone(),
        bound,
        abs_bound,
        compressed_bytes: stream.num_bytes(),
        ratio: bytes as f64 / stream.num_bytes().max(1) as f64,
        psnr: q.psnr,
        max_error: q.max_error,
        within_bound: q.max_error <= abs_bound && q.nonfinite_mismatches == 0,
        compress_mbps: mbps(timed.num_bytes(), median(ctimes)),
        decompress_mbps: mbps(timed.num_bytes(), median(dtimes)),
        timed_bytes: timed.num_bytes(),
        error: None,
    })
}

/// Measure `spec` on `field` at relative bound `bound`: `repeats` timed compressions and
/// decompressions (on `tiled` when given), ratio and errors on the original data. Failures are
/// recorded in the row, never propagated.
pub fn measure(
    registry: &Registry,
    field: &Field,
    data: &Data,
    tiled: Option<&Data>,
    spec: &Spec,
    bound: f64,
    repeats: usize,
) -> Row {
    measure_inner(registry, field, data, tiled, spec, bound, repeats)
        .unwrap_or_else(|e| Row::failed(field, spec, bound, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parsing() {
        let s = Spec::parse("classic/predictor=interp").unwrap();
        assert_eq!(s.id, "classic");
        assert_eq!(s.label, "classic:interp");
        assert_eq!(
            s.options,
            vec![("predictor".to_string(), "interp".to_string())]
        );
        assert_eq!(Spec::parse("sz3").unwrap().label, "sz3");
        assert!(Spec::parse("").is_err());
        assert!(Spec::parse("sz3/oops").is_err());
    }

    #[test]
    fn quality_and_tiling() {
        let a = Data::from_vec(vec![0.0f32, 1.0, 2.0, f32::NAN], &[4]).unwrap();
        let b = Data::from_vec(vec![0.0f32, 1.5, 2.0, f32::NAN], &[4]).unwrap();
        let q = quality(&a, &b).unwrap();
        assert_eq!(q.max_error, 0.5);
        assert_eq!(q.range, 2.0);
        assert_eq!(q.nonfinite_mismatches, 0);
        assert!((q.psnr - (20.0 * 2f64.log10() - 10.0 * (0.25f64 / 3.0).log10())).abs() < 1e-9);
        assert!(quality(&a, &a).unwrap().psnr.is_infinite());
        // an f32 land mask at 1e20 is left out of the range and must come back exactly
        let m = Data::from_vec(vec![1.0f32, 1e20, 3.0], &[3]).unwrap();
        let q = quality(&m, &m).unwrap();
        assert_eq!(
            (q.range, q.fill_points, q.nonfinite_mismatches),
            (2.0, 1, 0)
        );
        let n = Data::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap();
        assert_eq!(quality(&m, &n).unwrap().nonfinite_mismatches, 1);
        let t = tile(&a, 0.0001).unwrap();
        assert_eq!(t.dims(), &[4 * 7]);
        assert!(tile(&a, 0.000001).is_none());
        assert_eq!(
            median(vec![Duration::from_secs(3), Duration::from_secs(1)]),
            Duration::from_secs(2)
        );
    }
}
