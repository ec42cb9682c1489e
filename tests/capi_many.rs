//! Multi-field compression through the C interface: `examples/c/many_fields.c`, linked with the
//! shared and the static library, compresses the MPI surface fields of months the shipped model
//! `cfnn-mpi-tas-2d` never saw (tas from uas and vas) with `compress_many`, decompresses them
//! with `decompress_many`, and checks single-field mode (`cfnn:anchors`) gives the same target
//! stream. Here: every field within the bound in f64, the same streams from both links and from
//! the Rust API, and clear failures for a wrong anchor count.

#[path = "c/support.rs"]
mod support;

use pressio_ml::registry;
use pressio_ml_core::{DType, Data, Options};
use pressio_ml_testdata::multifield;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use support::{Lang, Link};

const MODEL: &str = "cfnn-mpi-tas-2d";

#[test]
fn many_fields_through_the_c_interface() {
    let Some(set) = support::data_dir().and_then(|d| multifield::set(&d, "mpi")) else {
        support::skip("../shared/data is missing: many_fields was not run");
        return;
    };
    let test = set.test_part();
    let dims = test.dims.clone();
    let dir = support::out_dir().join("many_fields");
    std::fs::create_dir_all(&dir).unwrap();
    let fields: Vec<&Vec<f32>> = std::iter::once(&test.target).chain(&test.anchors).collect();
    let files: Vec<PathBuf> = fields
        .iter()
        .enumerate()
        .map(|(k, v)| {
            let p = dir.join(format!("in{k}.f32"));
            multifield::write_raw(&p, v).unwrap();
            p
        })
        .collect();
    let src = vec![support::repo().join("examples/c/many_fields.c")];
    for rel in [1e-3, 1e-4] {
        // the Rust API's streams, for comparison
        let opts = Options::new()
            .with("pressio:rel", rel)
            .with("cfnn:model", MODEL)
            .with("pressio:nthreads", 2u32);
        let mut c = registry().compressor("cfnn").unwrap();
        c.set_options(&opts).unwrap();
        let inputs: Vec<Data> = fields
            .iter()
            .map(|v| Data::from_vec(v.to_vec(), &dims).unwrap())
            .collect();
        let refs: Vec<&Data> = inputs.iter().collect();
        let mut expected: Vec<Data> = (0..3).map(|_| Data::empty(DType::Byte, &[])).collect();
        c.compress_many(&refs, &mut expected).unwrap();
        for link in Link::ALL {
            let exe = support::compile(Lang::C, &src, "many_fields", link);
            let out_dir = dir.join(format!("{}-{rel:e}", link.name()));
            std::fs::create_dir_all(&out_dir).unwrap();
            let mut cmd = Command::new(&exe);
            cmd.arg("cfnn")
                .arg(&out_dir)
                .arg("3")
                .args(&files)
                .arg("float");
            cmd.args(dims.iter().map(|d| d.to_string()));
            cmd.arg(format!("pressio:rel={rel:e}"))
                .arg(format!("cfnn:model={MODEL}"))
                .arg("pressio:nthreads=2");
            let out = support::run_with_limit(&mut cmd, Duration::from_secs(300));
            support::expect_success(&format!("many_fields {} rel {rel:e}", link.name()), &out);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stdout.contains("single-field: the same"), "{stdout}");
            for (k, v) in fields.iter().enumerate() {
                let got = std::fs::read(out_dir.join(format!("out{k}.raw"))).unwrap();
                let got: Vec<f32> = got
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                let err = pressio_ml_testdata::max_abs_error(v, &got);
                let bound = rel * pressio_ml_testdata::value_range(v);
                assert!(err <= bound, "{} field {k}: {err} > {bound}", link.name());
                let stream = std::fs::read(out_dir.join(format!("stream{k}.prml"))).unwrap();
                assert_eq!(
                    stream,
                    expected[k].bytes(),
                    "{} field {k}: the C program's stream differs from the Rust API's",
                    link.name()
                );
            }
        }
    }

    // a model for two anchors given one: a clear error and status 1
    let exe = support::compile(Lang::C, &src, "many_fields", Link::Shared);
    let mut cmd = Command::new(&exe);
    cmd.arg("cfnn")
        .arg(&dir)
        .arg("2")
        .args(&files[..2])
        .arg("float");
    cmd.args(dims.iter().map(|d| d.to_string()));
    cmd.arg("pressio:rel=1e-3")
        .arg(format!("cfnn:model={MODEL}"));
    let out = support::run_with_limit(&mut cmd, Duration::from_secs(300));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("takes 2 anchors"), "{stderr}");
}
