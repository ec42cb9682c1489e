//! `pressio_ml_deepcq_search` through the C ABI with the shipped DeepCQ model: a search that
//! meets a ratio target on a real field, the bisection baseline, and the error paths.

use pressio_ml::capi::*;
use std::ffi::{CStr, CString};
use std::ptr;

fn field() -> Option<(Vec<f32>, [usize; 3])> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/geocat/ncep06_V_17x64x128.f32");
    let bytes = std::fs::read(p).ok()?;
    let v = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Some((v, [128, 64, 17]))
}

unsafe fn search(
    data: *const pressio_ml_data,
    id: &str,
    settings: &[(&str, f64)],
    text: &[(&str, &str)],
) -> *mut pressio_ml_options {
    let o = pressio_ml_options_new();
    for (k, v) in settings {
        let k = CString::new(*k).unwrap();
        pressio_ml_options_set_double(o, k.as_ptr(), *v);
    }
    for (k, v) in text {
        let (k, v) = (CString::new(*k).unwrap(), CString::new(*v).unwrap());
        pressio_ml_options_set_string(o, k.as_ptr(), v.as_ptr());
    }
    let id = CString::new(id).unwrap();
    let r = pressio_ml_deepcq_search(data, id.as_ptr(), o);
    pressio_ml_options_free(o);
    r
}

unsafe fn get(r: *const pressio_ml_options, key: &str) -> f64 {
    let k = CString::new(key).unwrap();
    let mut v = f64::NAN;
    assert_eq!(
        pressio_ml_options_get_double(r, k.as_ptr(), &mut v),
        0,
        "{key}"
    );
    v
}

#[test]
fn search_through_the_c_abi() {
    let Some((values, dims)) = field() else {
        eprintln!("skipped: ../shared/data not found");
        return;
    };
    unsafe {
        let d = pressio_ml_data_new_copy(
            1, // float
            values.as_ptr().cast(),
            3,
            dims.as_ptr(),
        );
        assert!(!d.is_null());
        for how in ["deepcq", "bisection"] {
            let r = search(
                d,
                "classic",
                &[("deepcq:target_ratio", 20.0), ("deepcq:tolerance", 0.05)],
                &[("deepcq:search", how)],
            );
            assert!(
                !r.is_null(),
                "{how}: {}",
                CStr::from_ptr(pressio_ml_error_msg()).to_string_lossy()
            );
            let achieved = get(r, "deepcq:search:achieved");
            let bound = get(r, "deepcq:search:bound");
            assert!((achieved / 20.0 - 1.0).abs() <= 0.05, "{how}: {achieved}");
            assert!(bound > 0.0 && bound < 1.0);
            let k = CString::new("deepcq:search:compressions").unwrap();
            let mut n = 0u32;
            assert_eq!(pressio_ml_options_get_uinteger(r, k.as_ptr(), &mut n), 0);
            assert!((1..=16).contains(&n), "{how}: {n}");
            eprintln!("{how}: bound {bound:.4e}, ratio {achieved:.3}, {n} compressions");
            pressio_ml_options_free(r);
        }
        // errors: two targets, an unknown model, a target outside what makes sense
        let r = search(
            d,
            "classic",
            &[("deepcq:target_ratio", 20.0), ("deepcq:min_ssim", 0.9)],
            &[],
        );
        assert!(r.is_null());
        assert!(pressio_ml_error_code() != 0);
        let r = search(
            d,
            "classic",
            &[("deepcq:target_ratio", 20.0)],
            &[("deepcq:model", "no-such-deepcq-model")],
        );
        assert!(r.is_null());
        let msg = CStr::from_ptr(pressio_ml_error_msg())
            .to_string_lossy()
            .into_owned();
        assert!(msg.contains("no-such-deepcq-model"), "{msg}");
        let r = search(d, "classic", &[("deepcq:target_ratio", 0.5)], &[]);
        assert!(r.is_null());
        assert!(search(ptr::null(), "classic", &[("deepcq:target_ratio", 2.0)], &[]).is_null());
        assert_eq!(pressio_ml_error_code(), 14);
        pressio_ml_data_free(d);
    }
}
