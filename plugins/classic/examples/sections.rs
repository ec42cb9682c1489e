//! Print the section sizes of classic streams for one shared field (a stream-overhead check).
//!
//! ```text
//! cargo run --release -p pressio-ml-classic --example sections -- geocat/ncep06_Z3_17x64x128.f32 1e-2
//! ```

use pressio_ml_classic::Classic;
use pressio_ml_codec::container::ParsedStream;
use pressio_ml_core::{keys, CompressorPlugin, Data, Options};
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rel_path = args
        .first()
        .map(String::as_str)
        .unwrap_or("geocat/ncep06_Z3_17x64x128.f32");
    let rel: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1e-2);
    let dir = std::env::var("PRESSIO_DATA").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data")
            .display()
            .to_string()
    });
    let bytes = std::fs::read(Path::new(&dir).join(rel_path)).expect("field");
    let stem = rel_path.trim_end_matches(".f32");
    let mut dims: Vec<usize> = stem
        .rsplit('_')
        .next()
        .expect("dims")
        .split('x')
        .map(|s| s.parse().expect("dim"))
        .collect();
    dims.reverse();
    let v: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let input = Data::from_vec(v, &dims).expect("data");
    let mut c = Classic::default();
    c.set_options(&Options::new().with(keys::REL, rel))
        .expect("rel");
    let z = c.compress(&input).expect("compress");
    let p = ParsedStream::parse(z.bytes()).expect("parse");
    let body: usize = p.sections().iter().map(|(_, d)| d.len()).sum();
    println!(
        "stream {} bytes, sections {} bytes, container overhead {}",
        z.num_bytes(),
        body,
        z.num_bytes() - body
    );
    for (t, d) in p.sections() {
        println!("  {}: {} bytes", t.name(), d.len());
    }
}
