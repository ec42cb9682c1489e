//! Valid points: finite in the uncompressed input and not a fill point under the generic fill
//! keys ([`FillSpec`]).
//!
//! Fill handling applies to `float` and `double` buffers, the element types the compressors'
//! field envelope handles; in an integer, byte or bool buffer every point is valid (an integer
//! saturated at its maximum is data, not a `1e20` land mask).

use pressio_ml_core::{DType, Data, Element, FillSpec, Result};

/// The fill points of `d` under `spec`, one flag per element, or `None` when there is none:
/// fill handling is off (mode `none`), no point matches, or `d` is not a float buffer.
pub fn fill_mask(d: &Data, spec: &FillSpec) -> Result<Option<Vec<bool>>> {
    Ok(match d.dtype() {
        DType::Float => spec.detect(d.as_slice::<f32>()?),
        DType::Double => spec.detect(d.as_slice::<f64>()?),
        _ => None,
    })
}

fn count_valid<T: Element>(values: &[T], fill: Option<&[bool]>) -> u64 {
    let finite = |v: &T| v.to_f64().is_finite();
    let n = match fill {
        None => values.iter().filter(|v| finite(v)).count(),
        Some(m) => values
            .iter()
            .zip(m)
            .filter(|(v, f)| !**f && finite(v))
            .count(),
    };
    n as u64
}

/// Number of valid points of `d` under `spec` (under mode `none`: its finite points).
pub fn valid_points(d: &Data, spec: &FillSpec) -> Result<u64> {
    let mask = fill_mask(d, spec)?;
    let m = mask.as_deref();
    Ok(match d.dtype() {
        DType::Float => count_valid(d.as_slice::<f32>()?, m),
        DType::Double => count_valid(d.as_slice::<f64>()?, m),
        _ => d.num_elements() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_counts_follow_the_fill_rule() {
        let v = vec![280.0f32, -2.56e33, f32::NAN, 1e20, 281.0, f32::INFINITY];
        let d = Data::from_vec(v, &[6]).unwrap();
        let auto = FillSpec::default();
        assert_eq!(
            fill_mask(&d, &auto).unwrap(),
            Some(vec![false, true, false, true, false, false])
        );
        assert_eq!(valid_points(&d, &auto).unwrap(), 2);
        assert_eq!(fill_mask(&d, &FillSpec::none()).unwrap(), None);
        assert_eq!(valid_points(&d, &FillSpec::none()).unwrap(), 4);
        let declared = FillSpec::values(&[280.0]);
        assert_eq!(valid_points(&d, &declared).unwrap(), 3);
        // integers: never fill (u8 255 is what 1e20 saturates to)
        let b = Data::from_vec(vec![255u8, 1, 2], &[3]).unwrap();
        assert_eq!(fill_mask(&b, &auto).unwrap(), None);
        assert_eq!(valid_points(&b, &auto).unwrap(), 3);
        let e = Data::from_vec(Vec::<f64>::new(), &[0]).unwrap();
        assert_eq!(valid_points(&e, &auto).unwrap(), 0);
    }
}
