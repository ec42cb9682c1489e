//! End-to-end tests of the `pressio-ml` binary: the `pressio`-compatible path, `list`, `doc`,
//! `decompress`, bad inputs and a tiny `bench`.

mod common;

use common::*;

/// `-o rel=1e-3` with the example's metrics on `input`; returns stdout lines.
fn example(comp: &str, input: &std::path::Path, dims: &[String]) -> Run {
    let mut args: Vec<String> = vec![
        "-i".into(),
        input.display().to_string(),
        "-t".into(),
        "float".into(),
    ];
    args.extend(dims.iter().cloned());
    args.extend([
        "-b".into(),
        format!("compressor={comp}"),
        "-o".into(),
        "rel=1e-3".into(),
    ]);
    args.extend(example_metrics());
    args.extend(["-M".into(), "all".into()]);
    run(&args)
}

fn check_example_output(r: &Run, values: &[f32]) {
    let lines = parse_lines(&r.stdout);
    assert!(!lines.is_empty(), "no metric results printed");
    let keys: Vec<&String> = lines.iter().map(|l| &l.0).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "results are not sorted by key");
    if let Some((_, ty, v)) = lines.iter().find(|l| l.0 == "error_stat:max_error") {
        assert_eq!(ty, "double");
        let max_err: f64 = v.parse().expect("max_error is a number");
        let finite = values.iter().filter(|v| v.is_finite()).map(|&v| v as f64);
        let (lo, hi) = finite.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        assert!(
            max_err <= 1e-3 * (hi - lo),
            "max error {max_err} breaks rel 1e-3"
        );
    }
    if let Some((_, ty, v)) = lines.iter().find(|l| l.0 == "size:compression_ratio") {
        assert_eq!(ty, "double");
        assert!(v.parse::<f64>().expect("ratio is a number") > 1.0);
    }
}

#[test]
fn issue_example_on_a_generated_field() {
    let (comps, _) = registered();
    if comps.is_empty() {
        return skip("no compressor registered");
    }
    let t = TempDir::new("example");
    let f = t.join("field.f32");
    let values = smooth_field();
    write_f32(&f, &values);
    for comp in &comps {
        let r = example(comp, &f, &dim_args()).ok();
        check_example_output(&r, &values);
    }
}

#[test]
fn issue_example_on_a_shared_field() {
    let Some(comp) = test_compressor() else {
        return skip("no compressor registered");
    };
    let Some(data) = shared_data() else {
        return skip("../shared/data is absent");
    };
    let f = data.join("geocat/ncep06_T_17x64x128.f32");
    if !f.is_file() {
        return skip("geocat/ncep06_T_17x64x128.f32 is absent");
    }
    let dims: Vec<String> = ["-d", "128", "-d", "64", "-d", "17"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let r = example(&comp, &f, &dims).ok();
    check_example_output(&r, &read_f32(&f));
}

#[test]
fn options_are_cast_to_their_declared_types() {
    let Some(comp) = test_compressor() else {
        return skip("no compressor registered");
    };
    let t = TempDir::new("opts");
    let f = t.join("field.f32");
    write_f32(&f, &smooth_field());
    let mut input = vec![
        "-i".to_string(),
        f.display().to_string(),
        "-t".into(),
        "float".into(),
    ];
    input.extend(dim_args());
    let mut args = input.clone();
    args.extend(
        [
            comp.as_str(),
            "-o",
            "abs=0.25",
            "-o",
            "nthreads=2",
            "-O",
            "all",
        ]
        .map(String::from),
    );
    let r = run(&args).ok();
    let lines = parse_lines(&r.stdout);
    let get = |k: &str| lines.iter().find(|l| l.0 == k).cloned();
    assert_eq!(
        get("pressio:abs"),
        Some(("pressio:abs".into(), "double".into(), "0.25".into()))
    );
    assert_eq!(
        get("pressio:nthreads"),
        Some(("pressio:nthreads".into(), "uint32".into(), "2".into()))
    );
    let keys: Vec<&String> = lines.iter().map(|l| &l.0).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);

    // a regex selects keys; printing options needs no input
    let r = run(&[comp.as_str(), "-O", "^pressio:(abs|rel)$"]).ok();
    let keys: Vec<String> = parse_lines(&r.stdout).into_iter().map(|l| l.0).collect();
    assert_eq!(
        keys,
        vec!["pressio:abs".to_string(), "pressio:rel".to_string()]
    );

    // configuration lines
    let r = run(&[comp.as_str(), "-C", "all"]).ok();
    let conf = parse_lines(&r.stdout);
    assert!(conf
        .iter()
        .any(|l| l.0 == "pressio:thread_safe" && l.1 == "threadsafety"));

    // unknown keys, wrong types, a repeated scalar key
    let base = |extra: &[&str]| {
        let mut a = input.clone();
        a.push(comp.clone());
        a.extend(extra.iter().map(|s| s.to_string()));
        run(&a)
    };
    base(&["-o", "foo=1"]).fails_with(&["non existent option for the compressor: pressio:foo"]);
    base(&["-o", "abs=abc"]).fails_with(&["pressio:abs", "double"]);
    base(&["-o", "nthreads=-3"]).fails_with(&["pressio:nthreads"]);
    base(&["-o", "abs=1", "-o", "abs=2"]).fails_with(&["pressio:abs"]);
    base(&["-o", "novalue"]).fails_with(&["KEY=VALUE"]);
    base(&["-O", "("]).fails_with(&["invalid pattern"]);
}

/// `-w`/`-W` with compressor `comp`, then `decompress` and `-a decompress` on the stream.
fn round_trip(comp: &str, others: &[String]) {
    let t = TempDir::new(&format!("roundtrip-{comp}"));
    let f = t.join("field.f32");
    let values = smooth_field();
    write_f32(&f, &values);
    let stream = t.join("field.prml");
    let dec = t.join("field.dec.f32");
    let mut args = vec![
        "-i".to_string(),
        f.display().to_string(),
        "-t".into(),
        "float".into(),
    ];
    args.extend(dim_args());
    args.extend([
        "-b".into(),
        format!("compressor={comp}"),
        "-o".into(),
        "abs=1e-2".into(),
    ]);
    args.extend(["-w".into(), stream.display().to_string()]);
    args.extend(["-W".into(), dec.display().to_string()]);
    run(&args).ok();
    let decoded = read_f32(&dec);
    assert_eq!(decoded.len(), values.len());
    for (a, b) in values.iter().zip(&decoded) {
        assert!((a - b).abs() as f64 <= 1e-2, "{comp}: {a} vs {b}");
    }
    assert!(std::fs::metadata(&stream).unwrap().len() < (values.len() * 4) as u64);

    // the subcommand finds compressor, dtype and dims in the stream
    let dec2 = t.join("again.f32");
    let r = run(&[
        "decompress".to_string(),
        stream.display().to_string(),
        "-o".into(),
        dec2.display().to_string(),
    ])
    .ok();
    assert!(r.stdout.contains(comp), "{}", r.stdout);
    assert_eq!(
        std::fs::read(&dec).unwrap(),
        std::fs::read(&dec2).unwrap(),
        "{comp}"
    );

    // -a decompress alone reads the stream from -i
    let dec3 = t.join("third.f32");
    let ss = stream.display().to_string();
    let d3 = dec3.display().to_string();
    run(&["-a", "decompress", "-i", &ss, "-W", &d3]).ok();
    assert_eq!(
        std::fs::read(&dec).unwrap(),
        std::fs::read(&dec3).unwrap(),
        "{comp}"
    );

    // another compressor refuses the stream (but gwlz, over its default inner sz3, decodes
    // sz3 streams, and emits sz3's own stream when it steps aside, which sz3 decodes)
    let writer = pressio_ml_codec::container::peek_header(&std::fs::read(&stream).unwrap())
        .map(|h| h.plugin_id)
        .unwrap_or_default();
    for other in others
        .iter()
        .filter(|o| *o != comp && **o != writer && !(o.as_str() == "gwlz" && writer == "sz3"))
    {
        run(&["-a", "decompress", "-i", &ss, "-W", &d3, other]).fails_with(&[other.as_str()]);
    }
    // so does a template with other dims
    run(&["-a", "decompress", "-i", &ss, "-W", &d3, "-d", "7"]).fails_with(&["dims"]);

    // damaged copies of the stream
    let good = std::fs::read(&stream).unwrap();
    let damaged: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() / 2].to_vec()),
        ("short", good[..12.min(good.len())].to_vec()),
        ("empty", Vec::new()),
        (
            "garbage",
            b"this is not a compressed stream at all".to_vec(),
        ),
        ("flipped", {
            let mut g = good.clone();
            let i = g.len() / 2;
            g[i] ^= 0x40;
            g
        }),
        ("raw-field", std::fs::read(&f).unwrap()),
    ];
    for (name, bytes) in damaged {
        let p = t.join(&format!("{name}.prml"));
        std::fs::write(&p, &bytes).unwrap();
        let ps = p.display().to_string();
        run(&["decompress", &ps, "-o", &d3]).fails_with(&[&ps]);
        run(&["-a", "decompress", "-i", &ps, "-W", &d3]).fails_with(&[&ps]);
        run(&["-a", "decompress", "-i", &ps, "-W", &d3, comp]).fails_with(&[&ps]);
    }
}

#[test]
fn written_streams_round_trip_and_damage_is_refused() {
    let (comps, _) = registered();
    if comps.is_empty() {
        return skip("no compressor registered");
    }
    for c in &comps {
        round_trip(c, &comps);
    }
}

#[test]
fn nan_and_inf_are_kept() {
    let (comps, _) = registered();
    if comps.is_empty() {
        return skip("no compressor registered");
    }
    let t = TempDir::new("nonfinite");
    let f = t.join("field.f32");
    let mut values = smooth_field();
    values[5] = f32::NAN;
    values[77] = f32::INFINITY;
    values[300] = f32::NEG_INFINITY;
    write_f32(&f, &values);
    for comp in &comps {
        let dec = t.join(&format!("{comp}.f32"));
        let mut args = vec![
            "-i".to_string(),
            f.display().to_string(),
            "-t".into(),
            "float".into(),
        ];
        args.extend(dim_args());
        args.extend([comp.clone(), "-o".into(), "rel=1e-3".into()]);
        args.extend(["-W".into(), dec.display().to_string()]);
        run(&args).ok();
        let d = read_f32(&dec);
        assert!(d[5].is_nan(), "{comp}");
        assert_eq!(d[77], f32::INFINITY, "{comp}");
        assert_eq!(d[300], f32::NEG_INFINITY, "{comp}");
    }
}

#[test]
fn bad_inputs_fail_cleanly() {
    let Some(comp) = test_compressor() else {
        return skip("no compressor registered");
    };
    let t = TempDir::new("bad");
    let f = t.join("field.f32");
    write_f32(&f, &smooth_field());
    let fs = f.display().to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    // missing file
    let missing = t.join("missing.f32").display().to_string();
    run(&s(&["-i", &missing, "-t", "float", "-d", "4", &comp])).fails_with(&["missing.f32"]);
    // dims that do not match the size
    run(&s(&[
        "-i", &fs, "-t", "float", "-d", "33", "-d", "24", "-d", "10", &comp,
    ]))
    .fails_with(&["bytes", "-d 33"]);
    run(&s(&[
        "-i", &fs, "-t", "double", "-d", "32", "-d", "24", "-d", "10", &comp,
    ]))
    .fails_with(&["bytes"]);
    run(&s(&["-i", &fs, "-t", "float", "-d", "0", &comp])).fails_with(&["dimension"]);
    run(&s(&["-i", &fs, "-t", "float", "-d", "x", &comp])).fails_with(&["dimension"]);
    // unknown type, compressor, metric; no compressor at all
    run(&s(&["-i", &fs, "-t", "float128", &comp])).fails_with(&["float128"]);
    run(&s(&["-i", &fs, "-t", "float", "nosuchcomp"])).fails_with(&["nosuchcomp", "available"]);
    run(&s(&[
        "-i",
        &fs,
        "-t",
        "float",
        "-b",
        "compressor=nosuchcomp",
    ]))
    .fails_with(&["nosuchcomp"]);
    run(&s(&["-i", &fs, "-t", "float", &comp, "-m", "nosuchmetric"]))
        .fails_with(&["nosuchmetric", "available"]);
    run(&s(&["-i", &fs, "-t", "float"])).fails_with(&["no compressor"]);
    run(&s(&[&comp])).fails_with(&["no input"]);
    // no -t and an extension that names no type
    let raw = t.join("field.raw");
    std::fs::copy(&f, &raw).unwrap();
    run(&s(&["-i", &raw.display().to_string(), &comp])).fails_with(&["-t"]);
    // empty file
    let empty = t.join("empty.f32");
    std::fs::write(&empty, b"").unwrap();
    run(&s(&[
        "-i",
        &empty.display().to_string(),
        "-t",
        "float",
        &comp,
    ]))
    .fails_with(&["empty"]);
    // -w/-W without the matching action, and the old meanings where the name shows them
    run(&s(&["-i", &fs, &comp, "-a", "compress", "-W", "/dev/null"]))
        .fails_with(&["-W", "swapped"]);
    run(&s(&[
        "-i",
        &fs,
        &comp,
        "-a",
        "decompress",
        "-w",
        "/dev/null",
    ]))
    .fails_with(&["-w", "swapped"]);
    let old_dec = t.join("old.dec.f32");
    let old_stream = t.join("old.prml");
    let (od, os) = (
        old_dec.display().to_string(),
        old_stream.display().to_string(),
    );
    let mut args = s(&["-i", &fs, "-t", "float"]);
    args.extend(dim_args());
    args.push(comp.clone());
    let with = |extra: &[&str]| {
        let mut a = args.clone();
        a.extend(s(extra));
        a
    };
    run(&with(&["-w", &od])).fails_with(&["-w", "old.dec.f32", "use -W", "swapped"]);
    run(&with(&["-W", &os])).fails_with(&["-W", "old.prml", "use -w", "swapped"]);
    run(&with(&["-W", &os.to_uppercase()])).fails_with(&["use -w"]);
    assert!(
        !old_dec.exists() && !old_stream.exists(),
        "nothing is written"
    );
    run(&s(&["-i", &fs, &comp, "-a", "nonsense"])).fails_with(&["nonsense"]);

    // streams
    let stream = t.join("s.prml");
    let mut args = s(&["-i", &fs, "-t", "float"]);
    args.extend(dim_args());
    args.extend(s(&[&comp, "-w", &stream.display().to_string()]));
    run(&args).ok();
    let out = t.join("out.f32").display().to_string();
    run(&s(&["decompress", &missing, "-o", &out])).fails_with(&["missing.f32"]);
    // an unwritable output
    let unwritable = t.join("no/such/dir/out.f32").display().to_string();
    run(&s(&[
        "decompress",
        &stream.display().to_string(),
        "-o",
        &unwritable,
    ]))
    .fails_with(&["out.f32"]);
}

#[test]
fn list_and_doc() {
    let (comps, metrics) = registered();
    let r = run(&["list"]).ok();
    assert!(r.stdout.contains("compressors:") && r.stdout.contains("metrics:"));
    for c in &comps {
        let d = run(&["doc", c]).ok();
        assert!(d.stdout.contains("options:") && d.stdout.contains("configuration:"));
        assert!(
            d.stdout.contains("pressio:thread_safe<threadsafety>"),
            "{}",
            d.stdout
        );
    }
    for m in &metrics {
        let d = run(&["doc", m]).ok();
        assert!(d.stdout.contains("results:"), "{}", d.stdout);
    }
    run(&["doc", "nosuchplugin"]).fails_with(&["nosuchplugin"]);
    let h = run(&["--help"]).ok();
    assert!(h.stdout.contains("-b <KEY=VALUE>") && h.stdout.contains("bench"));
}

#[test]
fn tiny_bench_writes_table_csv_and_png() {
    let Some(comp) = test_compressor() else {
        return skip("no compressor registered");
    };
    let t = TempDir::new("bench");
    let data = t.join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    // dims in the name are C order (slowest first)
    write_f32(&data.join("sub/smooth_10x24x32.f32"), &smooth_field());
    std::fs::write(data.join("notes.txt"), b"ignored").unwrap();
    let out = t.join("out");
    let r = run(&[
        "bench".to_string(),
        "--data-dir".into(),
        data.display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--compressors".into(),
        comp.clone(),
        "--bounds".into(),
        "1e-2,1e-3".into(),
        "--repeats".into(),
        "1".into(),
    ])
    .ok();
    assert!(r.stdout.contains(&comp), "{}", r.stdout);
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("field,"));
    for l in &lines[1..] {
        assert!(
            l.starts_with("sub/smooth_10x24x32.f32,32x24x10,float,30720,"),
            "{l}"
        );
        assert!(l.contains(",true,"), "bound not met or failed: {l}");
    }
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains("| field |") && md.contains("small"));
    let png = std::fs::read(out.join("bench.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));

    // errors: absent data folder, unknown compressor, bad bounds, nothing matching
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let ds = data.display().to_string();
    let os = out.display().to_string();
    run(&s(&[
        "bench",
        "--data-dir",
        "/no/such/folder",
        "--out",
        &os,
    ]))
    .fails_with(&["/no/such/folder"]);
    run(&s(&[
        "bench",
        "--data-dir",
        &ds,
        "--out",
        &os,
        "--compressors",
        "nosuchcomp",
    ]))
    .fails_with(&["nosuchcomp"]);
    run(&s(&[
        "bench",
        "--data-dir",
        &ds,
        "--out",
        &os,
        "--bounds",
        "-1",
    ]))
    .fails_with(&["--bounds"]);
    run(&s(&[
        "bench",
        "--data-dir",
        &ds,
        "--out",
        &os,
        "--fields",
        "zzz",
    ]))
    .fails_with(&["no field"]);
}

#[test]
fn tiny_bench_on_a_shared_field() {
    let Some(comp) = test_compressor() else {
        return skip("no compressor registered");
    };
    let Some(data) = shared_data() else {
        return skip("../shared/data is absent");
    };
    let t = TempDir::new("bench-shared");
    let r = run(&[
        "bench".to_string(),
        "--data-dir".into(),
        data.display().to_string(),
        "--out".into(),
        t.path().display().to_string(),
        "--compressors".into(),
        comp,
        "--fields".into(),
        "T2_4x48x48".into(),
        "--max-fields".into(),
        "1".into(),
        "--bounds".into(),
        "1e-3".into(),
        "--repeats".into(),
        "1".into(),
        "--tile-to-mb".into(),
        "0.1".into(),
    ])
    .ok();
    assert!(r.stdout.contains("1 fields"), "{}", r.stdout);
    let csv = std::fs::read_to_string(t.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("wrf_python/T2_4x48x48.f32"));
    assert!(t.join("bench.png").is_file() && t.join("results.md").is_file());
}

/// `pressio-ml train aesz` writes a model and its manifest, and `aesz` compresses with it by
/// path within the bound.
#[test]
fn train_aesz_writes_a_usable_model() {
    let t = TempDir::new("train");
    let input = t.join("field.f32");
    let values: Vec<f32> = (0..64 * 64 * 4)
        .map(|i| {
            let (x, y) = ((i % 64) as f32, ((i / 64) % 64) as f32);
            (0.1 * x).sin() * (0.07 * y).cos() * 5.0 + 0.02 * (i / 4096) as f32
        })
        .collect();
    write_f32(&input, &values);
    let input_s = input.display().to_string();
    let out_s = t.path().display().to_string();
    run(&[
        "train",
        "aesz",
        "-i",
        &input_s,
        "-t",
        "float",
        "-d",
        "64",
        "-d",
        "64",
        "-d",
        "4",
        "--block",
        "16x16",
        "--latent",
        "4",
        "--channels",
        "4,8",
        "--epochs",
        "1",
        "--name",
        "tiny",
        "--out",
        &out_s,
    ])
    .ok();
    let model = t.join("tiny.json");
    assert!(model.exists() && t.join("tiny.safetensors").exists());
    let r = run(&[
        "-i",
        &input_s,
        "-t",
        "float",
        "-d",
        "64",
        "-d",
        "64",
        "-d",
        "4",
        "-b",
        "compressor=aesz",
        "-o",
        &format!("aesz:model={}", model.display()),
        "-o",
        "abs=1e-2",
        "-m",
        "error_stat",
        "-M",
        "all",
    ])
    .ok();
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("error_stat:max_error<double> = "))
        .expect("max error printed");
    let err: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(err <= 1e-2, "{line}");
}

#[test]
fn integer_fields_keep_an_integer_bound() {
    let (comps, _) = registered();
    if comps.is_empty() {
        return skip("no compressor registered");
    }
    let t = TempDir::new("int16");
    let f = t.join("field.i16");
    let values: Vec<i16> = smooth_field()
        .iter()
        .map(|&v| (v * 1000.0).round() as i16)
        .collect();
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&f, bytes).unwrap();
    for comp in &comps {
        let dec = t.join(&format!("{comp}.i16"));
        let stream = t.join(&format!("{comp}.prml"));
        let mut args = vec![
            "-i".to_string(),
            f.display().to_string(),
            "-t".into(),
            "int16".into(),
        ];
        args.extend(dim_args());
        args.extend([comp.clone(), "-o".into(), "abs=2.5".into()]);
        if comp == "gwlz" {
            args.extend(["-o".into(), "gwlz:epochs=1".into()]);
        }
        args.extend(["-w".into(), stream.display().to_string()]);
        args.extend(["-W".into(), dec.display().to_string()]);
        run(&args).ok();
        let d: Vec<i16> = std::fs::read(&dec)
            .unwrap()
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(d.len(), values.len(), "{comp}");
        for (a, b) in values.iter().zip(&d) {
            assert!((*a as i32 - *b as i32).abs() <= 2, "{comp}: {a} vs {b}");
        }
        // the stream alone names dtype and dims
        let again = t.join(&format!("{comp}.again.i16"));
        run(&[
            "decompress".to_string(),
            stream.display().to_string(),
            "-o".into(),
            again.display().to_string(),
        ])
        .ok();
        assert_eq!(std::fs::read(&dec).unwrap(), std::fs::read(&again).unwrap());
    }
}

/// Several `-i` (a cfnn target and its anchors) go through `compress_many` and
/// `decompress_many`, with one `-w`/`-W` per buffer; `-a decompress` takes the streams back;
/// the `-p` form gives the same streams; `train cfnn` writes the model they use.
#[test]
fn several_inputs_compress_together() {
    let t = TempDir::new("many");
    let base = smooth_field();
    let n = base.len();
    let fields: Vec<Vec<f32>> = (0..3)
        .map(|k| {
            base.iter()
                .enumerate()
                .map(|(i, &v)| v * (1.0 + k as f32) + 0.01 * ((i * (k + 3)) % 17) as f32)
                .collect()
        })
        .collect();
    let names = ["target", "a0", "a1"];
    let paths: Vec<String> = names
        .iter()
        .zip(&fields)
        .map(|(name, v)| {
            let p = t.join(&format!("{name}.f32"));
            write_f32(&p, v);
            p.display().to_string()
        })
        .collect();
    let dims = dim_args();
    let out_s = t.path().display().to_string();
    let mut train: Vec<String> = ["train", "cfnn", "--target", &paths[0]]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for a in &paths[1..] {
        train.extend(["--anchor".to_string(), a.clone()]);
    }
    train.extend(["-t".into(), "float".into()]);
    train.extend(dims.iter().cloned());
    train.extend(
        [
            "--epochs",
            "1",
            "--windows",
            "16",
            "--tile",
            "20",
            "--name",
            "tiny",
            "--out",
            &out_s,
            "--quiet",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    run(&train).ok();
    let model = t.join("tiny.json").display().to_string();

    let stream = |k: usize, tag: &str| {
        t.join(&format!("{}.{tag}.prml", names[k]))
            .display()
            .to_string()
    };
    let output = |k: usize, tag: &str| t.join(&format!("{}.{tag}.out", names[k]));
    let mut args: Vec<String> = Vec::new();
    for p in &paths {
        args.extend(["-i".to_string(), p.clone()]);
    }
    args.extend(["-t".into(), "float".into()]);
    args.extend(dims.iter().cloned());
    args.extend([
        "cfnn".into(),
        "-o".into(),
        format!("cfnn:model={model}"),
        "-o".into(),
        "rel=1e-3".into(),
        "-M".into(),
        "all".into(),
    ]);
    for k in 0..3 {
        args.extend([
            "-w".into(),
            stream(k, "many"),
            "-W".into(),
            output(k, "many").display().to_string(),
        ]);
    }
    let r = run(&args).ok();
    assert!(r.stdout.contains("cfnn:anchor_bytes"), "{}", r.stdout);
    for (k, v) in fields.iter().enumerate() {
        let out = read_f32(&output(k, "many"));
        assert_eq!(out.len(), n);
        let (lo, hi) = v.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| {
            (a.min(x as f64), b.max(x as f64))
        });
        let err = v
            .iter()
            .zip(&out)
            .map(|(&a, &b)| (a as f64 - b as f64).abs())
            .fold(0.0, f64::max);
        assert!(err <= 1e-3 * (hi - lo), "{}: {err}", names[k]);
    }

    // -a decompress with the streams, anchors last or first alike
    let mut args: Vec<String> = vec!["-a".into(), "decompress".into()];
    for k in [1, 0, 2] {
        args.extend([
            "-i".into(),
            stream(k, "many"),
            "-W".into(),
            output(k, "again").display().to_string(),
        ]);
    }
    run(&args).ok();
    for k in 0..3 {
        assert_eq!(read_f32(&output(k, "again")), read_f32(&output(k, "many")));
    }

    // the -p form: each buffer its own flags, the later ones taking the first one's -t and -d
    let mut args: Vec<String> = vec!["-i".into(), paths[0].clone(), "-t".into(), "float".into()];
    args.extend(dims.iter().cloned());
    args.extend(["-w".into(), stream(0, "p")]);
    for (k, path) in paths.iter().enumerate().skip(1) {
        args.extend([
            "-p".into(),
            "-i".into(),
            path.clone(),
            "-w".into(),
            stream(k, "p"),
        ]);
    }
    args.extend([
        "-b".into(),
        "compressor=cfnn".into(),
        "-o".into(),
        format!("cfnn:model={model}"),
        "-o".into(),
        "rel=1e-3".into(),
        "-a".into(),
        "compress".into(),
    ]);
    run(&args).ok();
    for (k, name) in names.iter().enumerate() {
        assert_eq!(
            std::fs::read(stream(k, "p")).unwrap(),
            std::fs::read(stream(k, "many")).unwrap(),
            "{name}"
        );
    }
}
