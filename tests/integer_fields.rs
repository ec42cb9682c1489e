//! Integer fields (int8 to int64, uint8 to uint64) through every registered compressor: the
//! bound is kept exactly, in integers (|x - x'| <= floor(abs), compared in i128), on real-valued
//! shared fields cast to int16 and int32 and on synthetic counters, including 64-bit values
//! beyond 2^53 that f64 cannot carry (stored losslessly).

use pressio_ml::{keys, registry, DType, Data, Element, Options};

/// Options that keep the learned plugins' compression-time training short in a test.
fn quick(id: &str) -> Options {
    let mut o = Options::new();
    if id == "gwlz" {
        o.set("gwlz:epochs", 1u32);
        o.set("gwlz:max_samples", 256u32);
    }
    o
}

trait Int: Element + Copy {
    fn wide(self) -> i128;
}
macro_rules! int {
    ($($t:ty),*) => {$(impl Int for $t { fn wide(self) -> i128 { self as i128 } })*};
}
int!(i8, i16, i32, i64, u8, u16, u32, u64);

/// Round-trip `values` through `id` under `opts`; the largest integer error and the ratio.
fn round_trip<T: Int>(
    id: &str,
    values: &[T],
    dims: &[usize],
    opts: &Options,
) -> pressio_ml::Result<(i128, f64)> {
    let reg = registry();
    let mut c = reg.compressor(id)?;
    c.set_options(&quick(id))?;
    c.set_options(opts)?;
    let input = Data::from_vec(values.to_vec(), dims)?;
    let mut comp = Data::empty(DType::Byte, &[]);
    c.compress(&input, &mut comp)?;
    let mut out = Data::empty(T::DTYPE, dims);
    c.decompress(&comp, &mut out)?;
    assert_eq!(out.dtype(), T::DTYPE, "{id}: decompressed dtype");
    let worst = values
        .iter()
        .zip(out.as_slice::<T>()?)
        .map(|(a, b)| (a.wide() - b.wide()).abs())
        .max()
        .unwrap_or(0);
    Ok((
        worst,
        input.num_bytes() as f64 / comp.num_bytes().max(1) as f64,
    ))
}

fn check<T: Int>(label: &str, values: &[T], dims: &[usize]) {
    let range = {
        let lo = values.iter().map(|v| v.wide()).min().unwrap();
        let hi = values.iter().map(|v| v.wide()).max().unwrap();
        (hi - lo) as f64
    };
    for id in registry().compressor_ids() {
        for (what, opts, bound) in [
            ("abs=0", Options::new().with(keys::ABS, 0.0), 0i128),
            ("abs=1", Options::new().with(keys::ABS, 1.0), 1),
            ("abs=2.7", Options::new().with(keys::ABS, 2.7), 2),
            ("abs=100", Options::new().with(keys::ABS, 100.0), 100),
            (
                "rel=1e-2",
                Options::new().with(keys::REL, 1e-2),
                (1e-2 * range).floor() as i128,
            ),
        ] {
            let (worst, ratio) = round_trip(&id, values, dims, &opts)
                .unwrap_or_else(|e| panic!("{id} {label} {what}: {e}"));
            assert!(
                worst <= bound,
                "{id} {label} {what}: integer error {worst} > {bound}"
            );
            if what == "abs=100" && id == "sz3" {
                println!("{label}: sz3 ratio {ratio:.2} at abs=100");
            }
        }
    }
}

fn real_field() -> Option<(Vec<f32>, Vec<usize>)> {
    let f = pressio_ml_testdata::fields()
        .into_iter()
        .find(|f| f.path.ends_with("geocat/ncep06_Z3_17x64x128.f32"))?;
    let d = f.load_leading(4);
    Some((d.as_slice::<f32>().ok()?.to_vec(), d.dims().to_vec()))
}

#[test]
fn real_fields_cast_to_int16_and_int32_keep_integer_bounds() {
    let Some((values, dims)) = real_field() else {
        eprintln!("skipped: ../shared/data not found");
        return;
    };
    // geopotential height in m: int16 holds it directly, int32 in tenths of a metre
    let i16s: Vec<i16> = values.iter().map(|&v| v.round() as i16).collect();
    check("ncep06_Z3 as int16", &i16s, &dims);
    let i32s: Vec<i32> = values.iter().map(|&v| (v * 10.0).round() as i32).collect();
    check("ncep06_Z3 x10 as int32", &i32s, &dims);
}

#[test]
fn synthetic_counters_of_every_integer_type() {
    let dims = [24usize, 20, 6];
    let n: usize = dims.iter().product();
    let counter = |i: usize| ((i % 24) * 3 + (i / 480) * 7 + (i * 2654435761) % 5) as i64;
    check(
        "u8",
        &(0..n).map(|i| counter(i) as u8).collect::<Vec<_>>(),
        &dims,
    );
    check(
        "i8",
        &(0..n).map(|i| (counter(i) - 60) as i8).collect::<Vec<_>>(),
        &dims,
    );
    check(
        "u16",
        &(0..n)
            .map(|i| (counter(i) * 300) as u16)
            .collect::<Vec<_>>(),
        &dims,
    );
    check(
        "u32",
        &(0..n)
            .map(|i| counter(i) as u32 * 70_000)
            .collect::<Vec<_>>(),
        &dims,
    );
    check(
        "i64",
        &(0..n)
            .map(|i| -counter(i) * 1_000_000_007)
            .collect::<Vec<_>>(),
        &dims,
    );
    // beyond 2^53: f64 cannot hold these, the stream keeps them losslessly
    let big: Vec<u64> = (0..n).map(|i| u64::MAX - counter(i) as u64 * 3).collect();
    check("u64 near u64::MAX", &big, &dims);
    let extremes: Vec<i64> = (0..n)
        .map(|i| if i % 2 == 0 { i64::MIN } else { i64::MAX })
        .collect();
    check("i64 extremes", &extremes, &dims);
}
