//! Helpers shared by the gwlz integration tests.

#![allow(dead_code)]

use pressio_ml_core::{Compressor, DType, Data, Options, Registry, RegistryBuilder};

/// A registry with the four inner compressors and gwlz.
pub fn registry() -> Registry {
    let mut b = RegistryBuilder::new();
    pressio_ml_classic::register(&mut b).unwrap();
    pressio_ml_sz3::register(&mut b).unwrap();
    pressio_ml_zfp::register(&mut b).unwrap();
    pressio_ml_sperr::register(&mut b).unwrap();
    pressio_ml_gwlz::register(&mut b).unwrap();
    b.build()
}

/// A gwlz handle with `options` applied.
pub fn gwlz(reg: &Registry, options: &Options) -> Compressor {
    let mut c = reg.compressor("gwlz").unwrap();
    c.set_options(options).unwrap();
    c
}

/// Compress `input` and return the stream.
pub fn compress(c: &mut Compressor, input: &Data) -> Data {
    let mut out = Data::empty(DType::Byte, &[]);
    c.compress(input, &mut out).unwrap();
    out
}

/// Decompress `stream` into a buffer of `input`'s dtype and dims.
pub fn decompress(c: &mut Compressor, stream: &Data, input: &Data) -> Data {
    let mut out = Data::empty(input.dtype(), input.dims());
    c.decompress(stream, &mut out).unwrap();
    out
}

/// A smooth 2-D field with fine-scale texture, `nx` x `ny`.
pub fn smooth_field(nx: usize, ny: usize) -> Data {
    let v: Vec<f32> = (0..nx * ny)
        .map(|i| {
            let (x, y) = ((i % nx) as f32, (i / nx) as f32);
            (x * 0.05).sin() * (y * 0.07).cos() * 10.0 + (x * 0.31 + y * 0.17).sin()
        })
        .collect();
    Data::from_vec(v, &[nx, ny]).unwrap()
}
