//! Property tests of the codec substrate: quantizer, Lorenzo, interpolation, Huffman, dual
//! quantization. Every bound is checked in f64.

use pressio_ml_codec::huffman;
use pressio_ml_codec::interp::{
    self, ExternalPredictor, InterpKind, InterpParams, InterpPlan, LevelInfo, LevelPredictor,
};
use pressio_ml_codec::lorenzo;
use pressio_ml_codec::quantizer::{Dequantizer, DualQuantizer, Float, LinearQuantizer};
use pressio_ml_core::Result;
use proptest::prelude::*;

/// Check `|x - y| <= eb` in f64 for finite `x`, bit equality otherwise.
fn check_bound<T: Float>(orig: &[T], dec: &[T], eb: f64) -> std::result::Result<(), TestCaseError> {
    prop_assert_eq!(orig.len(), dec.len());
    for (i, (&x, &y)) in orig.iter().zip(dec).enumerate() {
        if x.finite() {
            let e = (x.as_f64() - y.as_f64()).abs();
            prop_assert!(e <= eb, "index {}: |{:?} - {:?}| = {} > {}", i, x, y, e, eb);
        } else {
            prop_assert_eq!(x.to_bits_u64(), y.to_bits_u64(), "index {}", i);
        }
    }
    Ok(())
}

/// Dims: 1 to 4 axes with small extents (including 1, 2, 3).
fn dims_strategy() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1usize..4, 1usize..24, 30usize..70], 1..=4)
        .prop_filter("not too many values", |d| {
            d.iter().product::<usize>() <= 6000
        })
}

/// A field value generator mixing smooth structure, noise and extreme values.
fn field(dims: &[usize], seed: u64, wild: u8) -> Vec<f64> {
    let n: usize = dims.iter().product();
    let mut s = seed | 1;
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|i| {
            let smooth = (i as f64 * 0.013).sin() * 10.0 + (i as f64 * 0.0007).cos() * 3.0;
            let v = smooth + (rnd() - 0.5) * 0.1;
            let r = rnd();
            match wild {
                0 => v,
                1 if r < 0.03 => [1e30, -1e30, 1e-30, 0.0, -0.0][(r * 1000.0) as usize % 5],
                2 if r < 0.02 => [f64::MAX, f64::MIN, 3.4e38, -3.4e38, f64::MIN_POSITIVE]
                    [(r * 1000.0) as usize % 5],
                3 if r < 0.02 => {
                    [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][(r * 1000.0) as usize % 3]
                }
                4 => (rnd() - 0.5) * 1e6,
                _ => v,
            }
        })
        .collect()
}

fn eb_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(1e-300),
        Just(1e-9),
        Just(1e-4),
        Just(0.01),
        Just(0.5),
        Just(10.0),
        Just(1e35)
    ]
}

fn interp_roundtrip<T: Float>(
    data: &[T],
    dims: &[usize],
    eb: f64,
    params: &InterpParams,
) -> std::result::Result<(), TestCaseError> {
    let sq = interp::squeeze_dims(dims, data.len()).unwrap();
    let plan = InterpPlan::standard(&sq, eb, params).unwrap();
    let mut work = data.to_vec();
    let enc = interp::compress_in_place(&mut work, &plan, None).unwrap();
    prop_assert_eq!(enc.codes.len(), plan.num_codes());
    prop_assert!(enc.codes.iter().all(|&c| c < 2 * plan.radius()));
    let dec =
        interp::decompress(&plan, &enc.anchors, &enc.codes, &enc.unpredictables, None).unwrap();
    check_bound(data, &dec, eb)?;
    // The encoder's working array is exactly the decoder's output.
    for (a, b) in work.iter().zip(&dec) {
        prop_assert_eq!(a.to_bits_u64(), b.to_bits_u64());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn interp_keeps_the_bound(
        dims in dims_strategy(),
        seed in any::<u64>(),
        wild in 0u8..5,
        eb in eb_strategy(),
        cubic in any::<bool>(),
        anchor in prop_oneof![Just(0usize), Just(2), Just(4), Just(16)],
        alpha in prop_oneof![Just(1.0), Just(1.25), Just(2.0)],
        beta in prop_oneof![Just(1.0), Just(2.0), Just(4.0)],
        reverse in any::<bool>(),
        radius in prop_oneof![Just(32768u32), Just(2), Just(1)],
    ) {
        let vals = field(&dims, seed, wild);
        let nd = dims.iter().filter(|&&d| d > 1).count().max(1);
        let order: Vec<usize> = if reverse { (0..nd).collect() } else { (0..nd).rev().collect() };
        let params = InterpParams {
            kind: if cubic { InterpKind::Cubic } else { InterpKind::Linear },
            dim_order: Some(order),
            alpha,
            beta,
            anchor_stride: anchor,
            radius,
        };
        let f32s: Vec<f32> = vals.iter().map(|&v| v as f32).collect();
        interp_roundtrip(&f32s, &dims, eb, &params)?;
        interp_roundtrip(&vals, &dims, eb, &params)?;
    }

    #[test]
    fn lorenzo_keeps_the_bound(
        dims in dims_strategy(),
        seed in any::<u64>(),
        wild in 0u8..5,
        eb in eb_strategy(),
        radius in prop_oneof![Just(32768u32), Just(3)],
    ) {
        let vals = field(&dims, seed, wild);
        let f32s: Vec<f32> = vals.iter().map(|&v| v as f32).collect();
        let enc = lorenzo::compress(&f32s, &dims, eb, radius).unwrap();
        let dec = lorenzo::decompress(&dims, eb, radius, &enc.codes, &enc.unpredictables).unwrap();
        check_bound(&f32s, &dec, eb)?;
        let enc = lorenzo::compress(&vals, &dims, eb, radius).unwrap();
        let dec = lorenzo::decompress(&dims, eb, radius, &enc.codes, &enc.unpredictables).unwrap();
        check_bound(&vals, &dec, eb)?;
    }

    #[test]
    fn dual_quantization_roundtrip(
        dims in dims_strategy(),
        seed in any::<u64>(),
        wild in 0u8..5,
        eb in prop_oneof![Just(1e-9), Just(1e-4), Just(0.01), Just(0.5), Just(1e35)],
        radius in prop_oneof![Just(32768u32), Just(2)],
    ) {
        let vals = field(&dims, seed, wild);
        let f32s: Vec<f32> = vals.iter().map(|&v| v as f32).collect();
        let enc = lorenzo::dual_compress(&f32s, &dims, eb, radius).unwrap();
        let dec = lorenzo::dual_decompress(&dims, eb, radius, &enc).unwrap();
        check_bound(&f32s, &dec, eb)?;
        let enc = lorenzo::dual_compress(&vals, &dims, eb, radius).unwrap();
        let dec = lorenzo::dual_decompress(&dims, eb, radius, &enc).unwrap();
        check_bound(&vals, &dec, eb)?;
    }

    #[test]
    fn quantizer_pairs(x in any::<f64>(), p in any::<f64>(), eb in eb_strategy()) {
        for (x, p) in [(x, p), (x, x * 0.999), (x, 0.0)] {
            let mut q = LinearQuantizer::<f64>::new(eb, 32768).unwrap();
            let (code, xr) = q.quantize(x, p);
            let un = q.take_unpredictables();
            let mut d = Dequantizer::new(eb, 32768, &un).unwrap();
            let y = d.recover(p, code).unwrap();
            prop_assert_eq!(y.to_bits(), xr.to_bits());
            check_bound(&[x], &[y], eb)?;
            let xs = x as f32;
            let ps = p as f32;
            let mut q = LinearQuantizer::<f32>::new(eb, 32768).unwrap();
            let (code, _) = q.quantize(xs, ps);
            let un = q.take_unpredictables();
            let y = Dequantizer::new(eb, 32768, &un).unwrap().recover(ps, code).unwrap();
            check_bound(&[xs], &[y], eb)?;
        }
    }

    #[test]
    fn huffman_roundtrip(
        syms in prop_oneof![
            prop::collection::vec(0u32..4, 0..3000),
            prop::collection::vec(32760u32..32776, 0..3000),
            prop::collection::vec(0u32..65536, 0..3000),
            prop::collection::vec(any::<u32>(), 0..500),
        ],
        parallel in any::<bool>(),
    ) {
        let mut out = Vec::new();
        huffman::encode(&syms, parallel, &mut out).unwrap();
        out.extend_from_slice(b"trailing");
        let (dec, used) = huffman::decode(&out, syms.len(), parallel).unwrap();
        prop_assert_eq!(&dec, &syms);
        prop_assert_eq!(&out[used..], b"trailing");
        // Truncation never panics.
        for cut in [0usize, 1, used / 2, used.saturating_sub(1)] {
            let _ = huffman::decode(&out[..cut], syms.len(), false);
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn huffman_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = huffman::decode(&bytes, 10_000, false);
        let _ = InterpPlan::read_from(&bytes);
    }

    #[test]
    fn huffman_forged_tables_never_panic(
        lens in prop::collection::vec(0u8..30, 1..40),
        n in 1usize..5000,
        bits in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        // A well-formed header (dense table) around arbitrary lengths and code bits.
        let mut b = Vec::new();
        let put = |v: u64, b: &mut Vec<u8>| {
            let mut v = v;
            while v >= 0x80 {
                b.push((v as u8) | 0x80);
                v >>= 7;
            }
            b.push(v as u8);
        };
        put(n as u64, &mut b);
        b.push(2);
        put(32760, &mut b);
        put(lens.len() as u64, &mut b);
        b.extend_from_slice(&lens);
        let chunks = n.div_ceil(huffman::CHUNK_SYMBOLS);
        put(chunks as u64, &mut b);
        for _ in 0..chunks {
            put((bits.len() / chunks) as u64, &mut b);
        }
        b.extend_from_slice(&bits);
        if let Ok((syms, _)) = huffman::decode(&b, n, false) {
            prop_assert_eq!(syms.len(), n);
        }
    }
}

#[test]
fn huffman_large_skewed_alphabet() {
    // Geometric-like distribution over the full 2R alphabet, as quantization codes look.
    let mut syms = Vec::new();
    let mut s = 12345u64;
    for _ in 0..400_000 {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = ((s >> 11) as f64 / (1u64 << 53) as f64).max(1e-300);
        let mag = (-u.ln() * 40.0) as i64;
        let sign = if s & 1 == 0 { 1 } else { -1 };
        syms.push((32768 + sign * mag.min(32767)) as u32);
    }
    syms.push(0);
    syms.push(65535);
    let mut out = Vec::new();
    huffman::encode(&syms, true, &mut out).unwrap();
    let (dec, _) = huffman::decode(&out, syms.len(), true).unwrap();
    assert_eq!(dec, syms);
    // Within 1% of the entropy (plus table).
    let mut hist = std::collections::HashMap::new();
    for &x in &syms {
        *hist.entry(x).or_insert(0usize) += 1;
    }
    let n = syms.len() as f64;
    let h: f64 = hist
        .values()
        .map(|&c| -(c as f64 / n) * (c as f64 / n).log2())
        .sum();
    let bits = (out.len() * 8) as f64;
    assert!(
        bits < h * n * 1.01 + 8.0 * 4.0 * hist.len() as f64,
        "{bits} vs {}",
        h * n
    );
}

/// A deterministic "external" predictor: the mean of the two neighbours on the coarser grid
/// along the fastest axis where they exist, else the nearest known value.
struct Neighbourhood;

impl ExternalPredictor<f32> for Neighbourhood {
    fn predict_level(&mut self, level: &LevelInfo, recon: &[f32], pred: &mut [f32]) -> Result<()> {
        let s = level.stride;
        let n0 = level.dims[0];
        for (i, p) in pred.iter_mut().enumerate() {
            let c0 = i % n0;
            let row = i - c0;
            let lo = (c0 / (2 * s)) * 2 * s;
            let hi = lo + 2 * s;
            *p = if hi < n0 {
                0.5 * (recon[row + lo] + recon[row + hi])
            } else {
                recon[row + lo]
            };
        }
        Ok(())
    }
}

#[test]
fn external_levels_roundtrip() {
    let dims = [37usize, 20, 9];
    let n: usize = dims.iter().product();
    let data: Vec<f32> = (0..n)
        .map(|i| ((i % 37) as f32 * 0.2).sin() + (i / 740) as f32 * 0.1)
        .collect();
    let eb = 1e-3;
    let mut plan = InterpPlan::standard(
        &dims,
        eb,
        &InterpParams {
            anchor_stride: 8,
            ..Default::default()
        },
    )
    .unwrap();
    for (i, lv) in plan.levels_mut().iter_mut().enumerate() {
        if i % 2 == 0 {
            lv.predictor = LevelPredictor::External(InterpKind::Cubic);
        }
    }
    let enc = interp::compress(&data, &plan, Some(&mut Neighbourhood)).unwrap();
    let dec = interp::decompress(
        &plan,
        &enc.anchors,
        &enc.codes,
        &enc.unpredictables,
        Some(&mut Neighbourhood),
    )
    .unwrap();
    for (a, b) in data.iter().zip(&dec) {
        assert!((*a as f64 - *b as f64).abs() <= eb);
    }
    // Without the predictor an external plan is refused, not mis-decoded.
    assert!(
        interp::decompress(&plan, &enc.anchors, &enc.codes, &enc.unpredictables, None).is_err()
    );
}

/// Exact values on the level's points with one odd axis (covers only those), noise elsewhere:
/// a predictor the choosing encoder should keep, and whose uncovered points are interpolated.
struct Oracle {
    truth: Vec<f32>,
    noise: f32,
}

impl ExternalPredictor<f32> for Oracle {
    fn predict_level(&mut self, _: &LevelInfo, _: &[f32], pred: &mut [f32]) -> Result<()> {
        for (i, (p, t)) in pred.iter_mut().zip(&self.truth).enumerate() {
            *p = t + self.noise * ((i * 7919 % 101) as f32 - 50.0);
        }
        Ok(())
    }

    fn covers(&self, _: &LevelInfo, odd_axes: u8) -> bool {
        odd_axes.count_ones() == 1
    }
}

#[test]
fn choosing_keeps_the_better_predictor_per_level_and_decodes() {
    let dims = [40usize, 33, 18];
    let n: usize = dims.iter().product();
    let data: Vec<f32> = (0..n)
        .map(|i| {
            ((i % 40) as f32 * 0.3).sin() * ((i / 40 % 33) as f32 * 0.2).cos()
                + (i / 1320) as f32 * 0.05
        })
        .collect();
    let eb = 1e-3;
    for (noise, want_kept) in [(0.0f32, true), (1.0, false)] {
        let base = InterpPlan::standard(
            &dims,
            eb,
            &InterpParams {
                anchor_stride: 16,
                ..Default::default()
            },
        )
        .unwrap();
        let mut plan = base.clone();
        for lv in plan.levels_mut() {
            lv.predictor = LevelPredictor::External(InterpKind::Cubic);
        }
        let mut oracle = Oracle {
            truth: data.clone(),
            noise,
        };
        let mut work = data.clone();
        let (enc, kept) =
            interp::compress_choosing(&mut work, &mut plan, Some(&mut oracle), Vec::new()).unwrap();
        assert_eq!(kept.len(), plan.levels().len());
        assert!(
            kept.iter().all(|&k| k == want_kept),
            "noise {noise}: {kept:?}"
        );
        for (lv, &k) in plan.levels().iter().zip(&kept) {
            assert_eq!(matches!(lv.predictor, LevelPredictor::External(_)), k);
        }
        // the plan round-trips through its bytes, and decoding replays the encoder exactly
        let mut bytes = Vec::new();
        plan.write_to(&mut bytes);
        let plan = InterpPlan::read_from(&bytes).unwrap().0;
        let dec = interp::decompress(
            &plan,
            &enc.anchors,
            &enc.codes,
            &enc.unpredictables,
            Some(&mut oracle),
        )
        .unwrap();
        assert_eq!(dec, work);
        for (a, b) in data.iter().zip(&dec) {
            assert!((*a as f64 - *b as f64).abs() <= eb);
        }
        if !want_kept {
            // every level fell back: the stream is the plain interpolation's
            let plain = interp::compress(&data, &base, None).unwrap();
            assert_eq!(plain.codes, enc.codes);
        }
    }
}

#[test]
fn corrupt_inputs_are_errors() {
    let dims = [16usize, 16];
    let data: Vec<f64> = (0..256).map(|i| (i as f64 * 0.1).sin()).collect();
    let plan = InterpPlan::standard(&dims, 1e-3, &InterpParams::default()).unwrap();
    let enc = interp::compress(&data, &plan, None).unwrap();
    // Wrong code count, missing unpredictables, out-of-range code.
    assert!(interp::decompress(
        &plan,
        &enc.anchors,
        &enc.codes[1..],
        &enc.unpredictables,
        None
    )
    .is_err());
    let mut codes = enc.codes.clone();
    codes[3] = 0;
    assert!(interp::decompress(&plan, &enc.anchors, &codes, &[], None).is_err());
    codes[3] = 1 << 20;
    assert!(interp::decompress(&plan, &enc.anchors, &codes, &enc.unpredictables, None).is_err());
    assert!(lorenzo::decompress(&[3, 3], 0.1, 32768, &[0; 9], &[1.0f64]).is_err());
    assert!(DualQuantizer::new(0.0, 10).is_err());
}
