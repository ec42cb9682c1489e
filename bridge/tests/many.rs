//! `compress_many` / `decompress_many` through LibPressio's C API on real fields, with the output
//! kinds LibPressio callers use: empty templates, LibPressio-owned pre-allocated buffers, and
//! non-owning views of the caller's memory (filled in place).

mod common;

#[test]
fn libpressio_compress_many() {
    if !common::skip_without_libpressio() {
        #[cfg(pressio_ml_libpressio)]
        real::run();
    }
}

#[cfg(pressio_ml_libpressio)]
mod real {
    use super::common::*;
    use pressio_ml_core::{DType, Options};
    use pressio_ml_plugin::sys;

    pub fn run() {
        let names = [
            "ncep06_T_17x64x128",
            "vorticity2d_512x512",
            "wmag91_91x91x91",
        ];
        let fields: Vec<_> = names.iter().filter_map(|n| field(n)).collect();
        if fields.len() != names.len() {
            skipped("../shared/data not found (set PRESSIO_ML_DATA to run on real fields)");
            return;
        }
        let lib = Library::new();
        let c = lib.compressor("classic").unwrap();
        c.set_metrics(&lib, &["size", "error_stat"]);
        let bound = 1e-2;
        assert_eq!(
            c.set(&Options::new().with("pressio:abs", bound)),
            0,
            "{}",
            c.error_msg()
        );

        let inputs: Vec<PData> = fields.iter().map(|(d, _)| PData::copy_of(d)).collect();
        let compressed: Vec<PData> = fields
            .iter()
            .map(|_| PData::empty(DType::Byte, &[]))
            .collect();
        let in_ptrs: Vec<*const sys::pressio_data> =
            inputs.iter().map(|p| p.0 as *const _).collect();
        let mut out_ptrs: Vec<*mut sys::pressio_data> = compressed.iter().map(|p| p.0).collect();
        // SAFETY: valid handles and arrays.
        let rc = unsafe {
            sys::pressio_compressor_compress_many(
                c.0,
                in_ptrs.as_ptr(),
                3,
                out_ptrs.as_mut_ptr(),
                3,
            )
        };
        assert_eq!(rc, 0, "{}", c.error_msg());
        for (p, (d, _)) in compressed.iter().zip(&fields) {
            assert!(p.has_data() && p.bytes() < d.num_bytes());
        }

        // outputs: empty (allocated by the plugin), LibPressio-owned (filled in place), and a view
        // of our own memory (filled in place)
        let (d0, dims0) = &fields[0];
        let (_, dims1) = &fields[1];
        let (d2, dims2) = &fields[2];
        let out0 = PData::empty(DType::Float, dims0);
        let out1 = PData::owning(DType::Float, dims1);
        let mut mine = vec![0f32; d2.num_elements()];
        let out2 = PData::nonowning(DType::Float, &mut mine, dims2);
        let ptr1 = out1.ptr();
        let ptr2 = out2.ptr();
        let cin: Vec<*const sys::pressio_data> =
            compressed.iter().map(|p| p.0 as *const _).collect();
        let mut couts = vec![out0.0, out1.0, out2.0];
        // SAFETY: valid handles and arrays; `mine` outlives out2.
        let rc = unsafe {
            sys::pressio_compressor_decompress_many(c.0, cin.as_ptr(), 3, couts.as_mut_ptr(), 3)
        };
        assert_eq!(rc, 0, "{}", c.error_msg());
        assert_eq!(out0.dims(), *dims0);
        assert_eq!(out1.ptr(), ptr1, "pre-allocated output keeps its buffer");
        assert_eq!(out2.ptr(), ptr2, "caller's buffer is filled in place");
        assert!(max_err(d0, &out0.to_data()) <= bound);
        assert!(max_err(&fields[1].0, &out1.to_data()) <= bound);
        let filled = pressio_ml_core::Data::from_vec(mine.clone(), dims2).unwrap();
        assert!(max_err(d2, &filled) <= bound);

        // the single-buffer path agrees with the many path
        let mut single = PData::empty(DType::Byte, &[]);
        assert_eq!(c.compress(&inputs[0], &mut single), 0);
        assert_eq!(single.to_data(), compressed[0].to_data());

        // LibPressio's metrics saw compress_many/decompress_many too
        let r = c.metrics_results().to_options();
        assert!(r.get::<f64>("size:compression_ratio").1.unwrap_or(0.0) > 1.0);

        // mismatched counts are an error, not a crash
        let mut two = vec![out0.0, out1.0];
        // SAFETY: valid handles; the array lengths are what we pass.
        let rc = unsafe {
            sys::pressio_compressor_decompress_many(c.0, cin.as_ptr(), 3, two.as_mut_ptr(), 2)
        };
        assert_eq!(rc, 14, "{}", c.error_msg());
        assert!(
            c.error_msg().contains("3 inputs but 2 outputs"),
            "{}",
            c.error_msg()
        );
        drop(out2);
    }
}
