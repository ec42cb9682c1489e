//! The sampling and tuning helpers of the interpolation substrate.

use pressio_ml_codec::interp::{
    self, estimate_bits, roughness_order, sample_blocks, tune_params, InterpKind, InterpParams,
    InterpPlan, TuneSpace,
};
use pressio_ml_codec::lorenzo;
use pressio_ml_codec::quantizer::{coded_bits, CodeStats};

fn field(dims: &[usize]) -> Vec<f32> {
    let n: usize = dims.iter().product();
    (0..n)
        .map(|i| {
            let x = (i % dims[0]) as f32;
            let ny = dims.get(1).copied().unwrap_or(1);
            let y = ((i / dims[0]) % ny) as f32;
            let z = (i / (dims[0] * ny)) as f32;
            (x * 0.05).sin() * 3.0
                + (y * 0.5).cos()
                + (z * 1.3).sin()
                + ((i * 2654435761) % 1000) as f32 * 1e-6
        })
        .collect()
}

#[test]
fn sample_blocks_copy_the_right_values() {
    for dims in [
        vec![1000usize],
        vec![300, 200],
        vec![70, 50, 40],
        vec![20, 18, 16, 9],
    ] {
        let data = field(&dims);
        let samples = sample_blocks(&data, &dims, 20_000);
        assert!(!samples.is_empty());
        let total: usize = samples.iter().map(|(v, _)| v.len()).sum();
        assert!(total <= 20_000 || samples.len() == 1, "{dims:?}: {total}");
        for (vals, bdims) in &samples {
            assert_eq!(vals.len(), bdims.iter().product::<usize>());
            assert_eq!(bdims.len(), dims.len());
            // Every sampled row is a contiguous run of the source.
            let row = &vals[..bdims[0]];
            assert!(data.windows(bdims[0]).any(|w| w == row), "{dims:?}");
        }
    }
    // Small arrays come back whole.
    let small = field(&[10, 10]);
    let s = sample_blocks(&small, &[10, 10], 1000);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].0, small);
}

#[test]
fn tuning_is_deterministic_and_valid() {
    let dims = [120usize, 90, 30];
    let data = field(&dims);
    let eb = 1e-3;
    let space = TuneSpace::full(3);
    let a = tune_params(&data, &dims, eb, &InterpParams::default(), &space, 50_000).unwrap();
    let b = tune_params(&data, &dims, eb, &InterpParams::default(), &space, 50_000).unwrap();
    assert_eq!(a, b);
    let plan = InterpPlan::standard(&dims, eb, &a).unwrap();
    let enc = interp::compress(&data, &plan, None).unwrap();
    let dec =
        interp::decompress(&plan, &enc.anchors, &enc.codes, &enc.unpredictables, None).unwrap();
    assert!(data
        .iter()
        .zip(&dec)
        .all(|(x, y)| (*x as f64 - *y as f64).abs() <= eb));
    // The smooth x axis (fastest) is the smoothest: it goes last.
    assert_eq!(roughness_order(&data, &dims).last(), Some(&0));
    // Estimates are positive and comparable across predictors.
    let samples = sample_blocks(&data, &dims, 30_000);
    let ib = estimate_bits(
        &samples,
        eb,
        &InterpParams {
            kind: InterpKind::Linear,
            ..a.clone()
        },
    )
    .unwrap();
    let lb = lorenzo::estimate_bits(&samples, eb, 32768).unwrap();
    assert!(ib > 0.0 && lb > 0.0);
}

#[test]
fn code_statistics() {
    let mut st = CodeStats::new();
    st.add(&[5, 5, 5, 5], 0);
    assert!(
        st.bits(32) <= 8.0 + 1e-9,
        "one symbol costs only its table entry"
    );
    st.add(&[6, 6, 6, 6], 2);
    let b = st.bits(32);
    assert!((b - (8.0 + 64.0 + 16.0)).abs() < 1e-9, "{b}");
    let skewed: Vec<u32> = (0..10_000)
        .map(|i| if i % 100 == 0 { 1 } else { 0 })
        .collect();
    assert!(coded_bits(&skewed, 0, 32).unwrap() < 10_000.0);
}
