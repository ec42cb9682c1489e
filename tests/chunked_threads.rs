//! `pressio:nthreads` on the chunked compressors (`classic`, `sz3`, `zfp`, `sperr`): fields cut
//! into many chunks (small `<prefix>:chunk_values`, or small `sperr:chunks` for SPERR's volumes)
//! give byte-identical streams at 1, 2 and 3 threads, decode to identical values at any thread
//! count and under any chunk setting, keep their bound on real fields (fill values and NaN
//! included), and cost little ratio against the uncut stream.

use pressio_ml::{keys, registry, DType, Data, Options};
use pressio_ml_codec::chunked::{TAG_CHUNK, TAG_GRID};
use pressio_ml_codec::container::ParsedStream;
use pressio_ml_testdata::{fields, max_abs_error, value_range, Field};

const CHUNKED: [&str; 4] = ["classic", "sz3", "zfp", "sperr"];

/// Options cutting a field of a few hundred thousand values into tens of chunks.
fn small_chunks(id: &str) -> Options {
    let o = Options::new().with(&*format!("{id}:chunk_values"), 16_384u64);
    if id == "sperr" {
        o.with(
            "sperr:chunks",
            Data::from_vec(vec![24u64, 24, 8], &[3]).expect("chunks"),
        )
    } else {
        o
    }
}

fn compress(id: &str, opts: &Options, input: &Data) -> Data {
    let mut c = registry().compressor(id).expect("registered");
    c.set_options(opts)
        .unwrap_or_else(|e| panic!("{id}: options: {e}"));
    let mut out = Data::empty(DType::Byte, &[]);
    c.compress(input, &mut out)
        .unwrap_or_else(|e| panic!("{id}: compress: {e}"));
    out
}

fn decompress(id: &str, opts: &Options, stream: &Data, dims: &[usize]) -> Vec<f32> {
    let mut c = registry().compressor(id).expect("registered");
    c.set_options(opts)
        .unwrap_or_else(|e| panic!("{id}: options: {e}"));
    let mut out = Data::empty(DType::Float, dims);
    c.decompress(stream, &mut out)
        .unwrap_or_else(|e| panic!("{id}: decompress: {e}"));
    out.as_slice::<f32>().expect("float").to_vec()
}

fn chunk_count(stream: &Data) -> usize {
    let parsed = ParsedStream::parse(stream.bytes()).expect("stream");
    assert!(parsed.optional_section(TAG_GRID).is_some(), "no chunk grid");
    parsed
        .sections()
        .iter()
        .filter(|(t, _)| *t == TAG_CHUNK)
        .count()
}

/// Real fields of several shapes: a 3-D and a 4-D cut, a 2-D and a 3-D whole field.
fn test_fields() -> Vec<(Field, Data)> {
    let all = fields();
    let pick = |stem: &str, slices: Option<usize>| {
        all.iter().find(|f| f.name.starts_with(stem)).map(|f| {
            let data = match slices {
                Some(n) => f.load_leading(n),
                None => f.load(),
            };
            let mut f = f.clone();
            f.dims = data.dims().to_vec();
            (f, data)
        })
    };
    [
        pick("cesm_trefht_ens", Some(2)),
        pick("ncep06_T", None),
        pick("field999", None),
        pick("wmag91", None),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[test]
fn streams_do_not_depend_on_the_thread_count_and_decode_anywhere() {
    let cases = test_fields();
    for id in CHUNKED {
        for (field, input) in &cases {
            let values = input.as_slice::<f32>().expect("float");
            let range = value_range(values);
            let bound = 1e-3 * range;
            let opts = small_chunks(id).with(keys::ABS, bound);
            let streams: Vec<Data> = [1u32, 2, 3]
                .iter()
                .map(|&n| compress(id, &opts.clone().with(keys::NTHREADS, n), input))
                .collect();
            for s in &streams[1..] {
                assert!(
                    s.bytes() == streams[0].bytes(),
                    "{id} {}: the stream changes with pressio:nthreads",
                    field.name
                );
            }
            let chunks = chunk_count(&streams[0]);
            assert!(chunks >= 4, "{id} {}: only {chunks} chunks", field.name);
            // any thread count and any chunk setting decodes it to the same values
            let decoders = [
                Options::new().with(keys::NTHREADS, 1u32),
                Options::new().with(keys::NTHREADS, 3u32),
                Options::new().with(&*format!("{id}:chunk_values"), 0u64),
            ];
            let outs: Vec<Vec<f32>> = decoders
                .iter()
                .map(|o| decompress(id, o, &streams[0], &field.dims))
                .collect();
            for o in &outs[1..] {
                assert!(
                    o.iter()
                        .map(|v| v.to_bits())
                        .eq(outs[0].iter().map(|v| v.to_bits())),
                    "{id} {}: decoded values change with the decoder's threads",
                    field.name
                );
            }
            let err = max_abs_error(values, &outs[0]);
            assert!(
                err <= bound,
                "{id} {}: {chunks} chunks, max error {err:e} > {bound:e}",
                field.name
            );
        }
    }
}

#[test]
fn chunks_keep_fill_values_nan_and_the_rel_bound() {
    let Some((field, input)) = test_fields().into_iter().find(|(f, _)| f.dims.len() == 3) else {
        return;
    };
    let mut values = input.as_slice::<f32>().expect("float").to_vec();
    let n = values.len();
    // a land mask over a corner of every chunk row, NaN in a few places
    for (i, v) in values.iter_mut().enumerate() {
        if i % 97 < 9 {
            *v = 1e20;
        } else if i % 1013 == 0 {
            *v = f32::NAN;
        }
    }
    let data = Data::from_vec(values.clone(), &field.dims).expect("data");
    let valid: Vec<f32> = values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v != 1e20)
        .collect();
    let range = value_range(&valid);
    for id in CHUNKED {
        let opts = small_chunks(id)
            .with(keys::REL, 1e-3)
            .with(keys::NTHREADS, 2u32);
        let stream = compress(id, &opts, &data);
        assert!(chunk_count(&stream) >= 4, "{id}: not chunked");
        let out = decompress(id, &Options::new(), &stream, &field.dims);
        assert_eq!(out.len(), n);
        for (i, (&x, &y)) in values.iter().zip(&out).enumerate() {
            if x.is_nan() {
                assert!(y.is_nan(), "{id}: NaN at {i} came back as {y}");
            } else if x == 1e20 {
                assert_eq!(y, x, "{id}: fill value at {i} came back as {y}");
            } else {
                let e = (f64::from(x) - f64::from(y)).abs();
                assert!(e <= 1e-3 * range, "{id}: error {e:e} at {i}");
            }
        }
    }
}

#[test]
fn chunking_costs_little_ratio_and_can_be_turned_off() {
    let Some((field, input)) = test_fields()
        .into_iter()
        .find(|(f, _)| f.name.starts_with("cesm"))
    else {
        return;
    };
    let range = value_range(input.as_slice::<f32>().expect("float"));
    for id in CHUNKED {
        let bound = Options::new().with(keys::ABS, 1e-3 * range);
        // chunks of 2^18 values (SPERR: 64^3 volumes), a sixteenth of the default
        let cut = if id == "sperr" {
            bound.clone().with(
                "sperr:chunks",
                Data::from_vec(vec![64u64, 64, 64], &[3]).expect("chunks"),
            )
        } else {
            bound
                .clone()
                .with(&*format!("{id}:chunk_values"), 1u64 << 18)
        };
        let chunked = compress(id, &cut, &input);
        assert!(chunk_count(&chunked) >= 4, "{id}: not chunked");
        let uncut = compress(
            id,
            &cut.clone()
                .with(&*format!("{id}:chunk_values"), 0u64)
                .with(keys::NTHREADS, 2u32),
            &input,
        );
        let parsed = ParsedStream::parse(uncut.bytes()).expect("stream");
        assert!(
            parsed.optional_section(TAG_GRID).is_none(),
            "{id}: chunk_values = 0 still cut the field"
        );
        let cost = chunked.num_bytes() as f64 / uncut.num_bytes() as f64 - 1.0;
        eprintln!(
            "{id} {}: {} chunks cost {:+.2}% of the stream",
            field.name,
            chunk_count(&chunked),
            100.0 * cost
        );
        assert!(
            cost < 0.08,
            "{id} {}: chunked stream {:.1}% larger",
            field.name,
            100.0 * cost
        );
    }
    for id in CHUNKED {
        let mut c = registry().compressor(id).expect("registered");
        let bad = Options::new().with(&*format!("{id}:chunk_values"), 100u64);
        assert!(
            c.set_options(&bad).is_err(),
            "{id}: a 100-value chunk was accepted"
        );
    }
}
