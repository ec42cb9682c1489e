//! Fill values (`_FillValue`, `missing_value`, GrADS UNDEF, land masks): the generic
//! `pressio:fill_mode`, `pressio:fill_value` and `pressio:fill_values` keys, declared,
//! documented and parsed once for every plugin, and the rule that says which points of an input
//! are fill points.
//!
//! A fill point is returned bit-exactly by every compressor and is left out of everything else:
//! the value range behind `pressio:rel`, the prediction (compressors see a smooth stand-in
//! there) and the metrics' statistics.

use crate::data::Element;
use crate::error::{PressioError, Result};
use crate::options::{OptionType, Options, Value};
use rayon::prelude::*;

/// Values per piece of [`FillSpec::detect_on`]'s walk over a field.
const PIECE: usize = 1 << 16;

/// `pressio:fill_mode` (`char*`): `auto`, `values` or `none`.
pub const FILL_MODE: &str = "pressio:fill_mode";
/// `pressio:fill_value` (`double`): one declared fill value.
pub const FILL_VALUE: &str = "pressio:fill_value";
/// `pressio:fill_values` (`char*[]`): more declared fill values, as decimal numbers.
pub const FILL_VALUES: &str = "pressio:fill_values";

/// Magnitude from which `auto` treats a finite value as a fill value.
pub const AUTO_MIN_MAGNITUDE: f64 = 1e30;
/// The land-mask value of many ocean models (CMIP `1e20`), also a fill value under `auto`.
pub const AUTO_LAND_MASK: f64 = 1e20;
/// Most declared fill values.
pub const MAX_DECLARED: usize = 64;

/// How fill points are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillMode {
    /// No fill handling: every finite value is data.
    None,
    /// The declared values, plus the usual conventions ([`FillSpec::is_auto_fill`]).
    Auto,
    /// Only the declared values.
    Values,
}

impl FillMode {
    /// The option spelling.
    pub fn name(self) -> &'static str {
        match self {
            FillMode::None => "none",
            FillMode::Auto => "auto",
            FillMode::Values => "values",
        }
    }

    fn parse(s: &str) -> Result<FillMode> {
        match s {
            "none" => Ok(FillMode::None),
            "auto" => Ok(FillMode::Auto),
            "values" => Ok(FillMode::Values),
            _ => Err(PressioError::invalid_option(
                FILL_MODE,
                format!("`{s}` is not auto, values or none"),
            )),
        }
    }
}

/// Which points of a field are fill points.
#[derive(Debug, Clone, PartialEq)]
pub struct FillSpec {
    mode: FillMode,
    /// The declared values (`pressio:fill_value` first, then `pressio:fill_values`).
    declared: Vec<f64>,
}

impl Default for FillSpec {
    fn default() -> Self {
        FillSpec {
            mode: FillMode::Auto,
            declared: Vec::new(),
        }
    }
}

impl FillSpec {
    /// No fill handling at all.
    pub const fn none() -> Self {
        FillSpec {
            mode: FillMode::None,
            declared: Vec::new(),
        }
    }

    /// Exactly the given values (mode `values`).
    pub fn values(declared: &[f64]) -> Self {
        FillSpec {
            mode: FillMode::Values,
            declared: declared.to_vec(),
        }
    }

    /// The mode.
    pub fn mode(&self) -> FillMode {
        self.mode
    }

    /// The declared values.
    pub fn declared(&self) -> &[f64] {
        &self.declared
    }

    /// True for a finite value that `auto` treats as fill whatever was declared: magnitude at
    /// least 1e30 (GrADS UNDEF -2.56e33, netCDF's default 9.96921e36, FLT_MAX, 1e35...) or
    /// exactly ±1e20 in the element type or in `float` (ocean-model land masks, also once a
    /// `float` file has been widened to `double`). Integer elements are never fill points by
    /// convention (1e20 would saturate to the type's maximum).
    pub fn is_auto_fill<T: Element>(x: T) -> bool {
        let v = x.to_f64();
        T::DTYPE.is_floating()
            && v.is_finite()
            && (v.abs() >= AUTO_MIN_MAGNITUDE
                || v.abs() == T::from_f64(AUTO_LAND_MASK).to_f64()
                || v.abs() == f64::from(AUTO_LAND_MASK as f32))
    }

    /// The fill points of `values`: `None` when there are none, else one flag per value.
    ///
    /// Declared values match a point when they are equal after rounding to the element type, or,
    /// for `double` data, after rounding to `float` (a `float` file's fill value survives being
    /// widened to `double`, but is no longer the decimal value it was declared as).
    /// Non-finite values are never fill points (they are kept exactly anyway). Under `auto`,
    /// the conventions of [`FillSpec::is_auto_fill`] are dropped when they would mark every
    /// finite value: such a field is data on a large scale (energies in erg, say), not a mask.
    pub fn detect<T: Element>(&self, values: &[T]) -> Option<Vec<bool>> {
        self.detect_on(values, false)
    }

    /// [`FillSpec::detect`], on the current rayon pool when `parallel`: the field is walked in
    /// fixed pieces, so the mask is the same either way.
    pub fn detect_on<T: Element>(&self, values: &[T], parallel: bool) -> Option<Vec<bool>> {
        if self.mode == FillMode::None {
            return None;
        }
        let declared = self.matchable::<T>();
        let mut mask = None;
        if !declared.is_empty() {
            let mut m = vec![false; values.len()];
            let mark = |(m, v): (&mut [bool], &[T])| Self::mark_declared(&declared, v, m);
            let any = if parallel {
                m.par_chunks_mut(PIECE)
                    .zip(values.par_chunks(PIECE))
                    .map(mark)
                    .reduce(|| false, |a, b| a || b)
            } else {
                mark((&mut m, values))
            };
            if any {
                mask = Some(m);
            }
        }
        if self.mode == FillMode::Auto {
            let count = |(k, v): (usize, &[T])| {
                Self::count_auto(v, mask.as_deref().map(|m| &m[k * PIECE..][..v.len()]))
            };
            let (auto, data) = if parallel {
                values
                    .par_chunks(PIECE)
                    .enumerate()
                    .map(count)
                    .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
            } else {
                count((0, values))
            };
            if auto > 0 && data > 0 {
                let m = mask.get_or_insert_with(|| vec![false; values.len()]);
                if parallel {
                    m.par_chunks_mut(PIECE)
                        .zip(values.par_chunks(PIECE))
                        .for_each(|(m, v)| Self::mark_auto(v, m));
                } else {
                    Self::mark_auto(values, m);
                }
            }
        }
        mask
    }

    /// The declared values as `T` data matches them (see [`FillSpec::detect`]).
    fn matchable<T: Element>(&self) -> Vec<f64> {
        let mut declared: Vec<f64> = self
            .declared
            .iter()
            .map(|&v| T::from_f64(v).to_f64())
            .collect();
        if T::DTYPE == crate::dtype::DType::Double {
            declared.extend(
                self.declared
                    .iter()
                    .map(|&v| f64::from(v as f32))
                    .filter(|w| w.is_finite()),
            );
        }
        declared
    }

    /// Flag in `mask` the values equal to one of `declared`; true when any was.
    fn mark_declared<T: Element>(declared: &[f64], values: &[T], mask: &mut [bool]) -> bool {
        let mut any = false;
        for (m, &x) in mask.iter_mut().zip(values) {
            let v = x.to_f64();
            if v.is_finite() && declared.contains(&v) {
                *m = true;
                any = true;
            }
        }
        any
    }

    /// Among the finite values not flagged in `mask` (when there is one), how many are
    /// conventional fill values ([`FillSpec::is_auto_fill`]) and how many data. `auto` marks
    /// the conventional ones only when both counts over the whole field are positive.
    fn count_auto<T: Element>(values: &[T], mask: Option<&[bool]>) -> (usize, usize) {
        let mut auto = 0usize;
        let mut data = 0usize;
        let mut tally = |x: T| {
            if Self::is_auto_fill(x) {
                auto += 1;
            } else if x.to_f64().is_finite() {
                data += 1;
            }
        };
        match mask {
            None => values.iter().for_each(|&x| tally(x)),
            Some(mask) => values
                .iter()
                .zip(mask)
                .filter(|(_, &m)| !m)
                .for_each(|(&x, _)| tally(x)),
        }
        (auto, data)
    }

    /// Flag the conventional fill values in `mask`.
    fn mark_auto<T: Element>(values: &[T], mask: &mut [bool]) {
        for (m, &x) in mask.iter_mut().zip(values) {
            if !*m && Self::is_auto_fill(x) {
                *m = true;
            }
        }
    }
}

/// The fill keys' state in a plugin (compressor or metric).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FillOptions {
    spec: FillSpec,
    /// `pressio:fill_value` as set (reported back as is).
    value: Option<f64>,
    /// `pressio:fill_values` as set.
    values: Vec<String>,
}

fn parse_values(list: &[String]) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    for entry in list {
        for part in entry.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let v: f64 = part.parse().map_err(|_| {
                PressioError::invalid_option(FILL_VALUES, format!("`{part}` is not a number"))
            })?;
            if !v.is_finite() {
                return Err(PressioError::invalid_option(
                    FILL_VALUES,
                    format!("{part} is not finite (NaN and Inf are always kept exactly)"),
                ));
            }
            out.push(v);
        }
    }
    Ok(out)
}

impl FillOptions {
    /// The fill rule in force.
    pub fn spec(&self) -> &FillSpec {
        &self.spec
    }

    /// Declare the three keys in `options`.
    pub fn declare(&self, options: &mut Options) {
        options.set(FILL_MODE, self.spec.mode.name());
        options.set_or_placeholder(FILL_VALUE, self.value);
        options.set(FILL_VALUES, Value::Strings(self.values.clone()));
    }

    /// Document the three keys.
    pub fn document(docs: &mut Options) {
        docs.set(
            FILL_MODE,
            "how fill values (missing-value markers) are found: auto (default: the declared values \
             plus every finite value with |x| >= 1e30, such as GrADS UNDEF -2.56e33 or netCDF's \
             9.96921e36, and exactly +-1e20, the land mask of ocean models; the conventions are \
             not applied when they would mark every finite value; for data whose own values reach \
             1e30, use values or none), values (only the declared values) or none (every finite value is data). Fill points come back bit-exactly and \
             are left out of the value range behind pressio:rel, of the prediction and of the \
             error metrics",
        );
        docs.set(
            FILL_VALUE,
            "a declared fill value (CF _FillValue / missing_value); points equal to it after \
             rounding to the element type are fill points",
        );
        docs.set(
            FILL_VALUES,
            "more declared fill values, as decimal numbers (one per entry or comma-separated)",
        );
    }

    /// Read the three keys (exact types; another type is an error).
    pub fn apply(&mut self, options: &Options) -> Result<()> {
        let mut next = self.clone();
        if let Some(m) = options.get_typed::<String>(FILL_MODE)? {
            next.spec.mode = FillMode::parse(&m)?;
        }
        if let Some(v) = options.get_typed::<f64>(FILL_VALUE)? {
            if !v.is_finite() {
                return Err(PressioError::invalid_option(
                    FILL_VALUE,
                    format!("{v} is not finite (NaN and Inf are always kept exactly)"),
                ));
            }
            next.value = Some(v);
        }
        if let Some(list) = options.get_typed::<Vec<String>>(FILL_VALUES)? {
            parse_values(&list)?;
            next.values = list;
        }
        let mut declared: Vec<f64> = next.value.into_iter().collect();
        declared.extend(parse_values(&next.values)?);
        if declared.len() > MAX_DECLARED {
            return Err(PressioError::invalid_option(
                FILL_VALUES,
                format!("at most {MAX_DECLARED} fill values may be declared"),
            ));
        }
        next.spec.declared = declared;
        *self = next;
        Ok(())
    }

    /// The keys' types, for plugins that list placeholders only.
    pub fn types() -> [(&'static str, OptionType); 3] {
        [
            (FILL_MODE, OptionType::Str),
            (FILL_VALUE, OptionType::F64),
            (FILL_VALUES, OptionType::Strings),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_finds_conventions_but_not_a_large_scale_field() {
        let f = FillSpec::default();
        let v = [280.0f32, -2.56e33, 281.0, 1e20, f32::NAN, 9.96921e36];
        let m = f.detect(&v).unwrap();
        assert_eq!(m, vec![false, true, false, true, false, true]);
        // a float land mask widened to double is still found
        let widened = [290.0f64, f64::from(1e20f32), 291.0];
        assert_eq!(f.detect(&widened).unwrap(), vec![false, true, false]);
        let declared = FillSpec::values(&[-999.9]);
        let w = [f64::from(-999.9f32), -999.9, 1.0];
        assert_eq!(declared.detect(&w).unwrap(), vec![true, true, false]);
        let ergs = [1e50f64, 3e51, 2e49];
        assert!(f.detect(&ergs).is_none());
        assert!(FillSpec::none().detect(&v).is_none());
        let none = [1.0f64, 2.0];
        assert!(f.detect(&none).is_none());
    }

    #[test]
    fn declared_values_match_in_the_element_type() {
        let f = FillSpec::values(&[-999.9]);
        let v = [1.0f32, -999.9f32, -999.9f32 + 0.001];
        assert_eq!(f.detect(&v).unwrap(), vec![false, true, false]);
        // values mode ignores the conventions
        assert!(f.detect(&[1.0f32, 1e35]).is_none());
    }

    #[test]
    fn options_round_trip_and_refusals() {
        let mut o = FillOptions::default();
        let mut opts = Options::new();
        o.declare(&mut opts);
        assert_eq!(opts.get_str(FILL_MODE), Some("auto"));
        opts.cast_set_string(FILL_VALUE, "-2.56e33").unwrap();
        opts.cast_set_string(FILL_VALUES, "1e20, -999").unwrap();
        opts.cast_set_string(FILL_MODE, "values").unwrap();
        o.apply(&opts).unwrap();
        assert_eq!(o.spec().mode(), FillMode::Values);
        assert_eq!(o.spec().declared(), &[-2.56e33, 1e20, -999.0]);
        let bad = |k: &str, v: Value| {
            let mut p = o.clone();
            p.apply(&Options::new().with(k, v)).is_err()
        };
        assert!(bad(FILL_MODE, "sometimes".into()));
        assert!(bad(FILL_VALUE, f64::NAN.into()));
        assert!(bad(FILL_VALUE, 1.0f32.into()));
        assert!(bad(FILL_VALUES, Value::Strings(vec!["x".into()])));
        assert!(bad(FILL_VALUES, Value::Strings(vec!["inf".into()])));
        let many = vec!["1".to_string(); MAX_DECLARED + 1];
        assert!(bad(FILL_VALUES, Value::Strings(many)));
        // a refused call changes nothing
        assert_eq!(o.spec().mode(), FillMode::Values);
    }
}
