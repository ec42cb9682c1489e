//! Errors cross the bridge as LibPressio expects them: a positive code and a message on the
//! compressor handle (`set_error`), for bad option types, corrupt or foreign streams, empty
//! inputs and mismatched outputs; the handle stays usable afterwards.

mod common;

#[test]
fn libpressio_errors() {
    if !common::skip_without_libpressio() {
        #[cfg(pressio_ml_libpressio)]
        real::run();
    }
}

#[cfg(pressio_ml_libpressio)]
mod real {
    use super::common::*;
    use pressio_ml_core::{DType, Data, Options};

    fn smooth(n0: usize, n1: usize) -> Data {
        let v: Vec<f32> = (0..n0 * n1)
            .map(|i| ((i % n0) as f32 * 0.1).sin() + ((i / n0) as f32 * 0.05).cos())
            .collect();
        Data::from_vec(v, &[n0, n1]).unwrap()
    }

    pub fn run() {
        let lib = Library::new();
        let c = lib.compressor("classic").unwrap();
        assert_eq!(c.set(&Options::new().with("pressio:abs", 1e-3f64)), 0);
        let input = smooth(64, 48);
        let pin = PData::copy_of(&input);
        let mut compressed = PData::empty(DType::Byte, &[]);
        assert_eq!(c.compress(&pin, &mut compressed), 0, "{}", c.error_msg());
        let stream = compressed.to_data();
        assert!(stream.num_bytes() > 16);

        // a corrupted stream: refused with pressio-ml's "corrupt stream" error (code 9) or a
        // stream mismatch (10), never a crash or garbage
        let mut bad = stream.bytes().to_vec();
        let mid = bad.len() / 2;
        bad[mid] ^= 0x5a;
        bad[mid + 1] ^= 0xff;
        let bad = PData::copy_of(&Data::from_byte_vec(bad));
        let mut out = PData::empty(DType::Float, &[64, 48]);
        let rc = c.decompress(&bad, &mut out);
        assert!(rc == 9 || rc == 10, "rc {rc}: {}", c.error_msg());
        assert_eq!(rc, c.error_code());
        assert!(!c.error_msg().is_empty());
        assert!(
            !out.has_data(),
            "a failed decompression leaves the output alone"
        );

        // truncated stream
        let cut = PData::copy_of(&Data::from_byte_vec(
            stream.bytes()[..stream.num_bytes() / 3].to_vec(),
        ));
        let rc = c.decompress(&cut, &mut out);
        assert!(rc == 9 || rc == 10, "rc {rc}: {}", c.error_msg());

        // garbage that is not a pressio-ml stream at all
        let junk = PData::copy_of(&Data::from_byte_vec(b"definitely not a stream".to_vec()));
        assert_ne!(c.decompress(&junk, &mut out), 0);
        assert!(c.error_msg().contains("stream"), "{}", c.error_msg());

        // an output template that contradicts the stream
        let mut wrong = PData::empty(DType::Float, &[10, 10]);
        assert_eq!(
            c.decompress(&compressed, &mut wrong),
            7,
            "{}",
            c.error_msg()
        );
        let mut wrong_type = PData::empty(DType::Int32, &[64, 48]);
        assert_eq!(
            c.decompress(&compressed, &mut wrong_type),
            10,
            "{}",
            c.error_msg()
        );

        // empty and unsupported inputs
        let empty = PData::empty(DType::Float, &[0]);
        let mut o2 = PData::empty(DType::Byte, &[]);
        assert_eq!(c.compress(&empty, &mut o2), 8, "{}", c.error_msg());
        // raw bytes are not a field (integers are: see tests/datasets.rs)
        let raw = PData::copy_of(&Data::from_byte_vec((0..100u8).collect()));
        assert_eq!(c.compress(&raw, &mut o2), 6, "{}", c.error_msg());
        assert!(c.error_msg().contains("byte"), "{}", c.error_msg());
        let empty_stream = PData::empty(DType::Byte, &[0]);
        assert_eq!(c.decompress(&empty_stream, &mut out), 8);

        // an unknown option type for a declared key (see tests/options.rs for user pointers);
        // here a wrongly typed value through the raw C API
        assert_eq!(
            c.set(&Options::new().with("classic:quant_radius", "many")),
            4
        );
        assert!(c.error_msg().contains("classic:quant_radius"));

        // the handle still works, and errors are cleared by the next successful call
        let mut good = PData::empty(DType::Float, &[64, 48]);
        assert_eq!(c.decompress(&compressed, &mut good), 0, "{}", c.error_msg());
        assert_eq!(c.error_code(), 0);
        assert!(max_err(&input, &good.to_data()) <= 1e-3);

        // unknown ids are LibPressio's own error
        let err = lib.compressor("no_such_pressio_ml_plugin").err().unwrap();
        assert!(err.contains("no_such_pressio_ml_plugin"), "{err}");
    }
}
