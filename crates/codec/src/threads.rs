//! Running a codec on the number of threads `pressio:nthreads` asks for.

use pressio_ml_core::{PressioError, Result};

/// Run `f` on a fresh rayon pool of `nthreads` threads, telling it whether it may fan out
/// (`true`) or must stay on the calling thread (`false`, for `nthreads <= 1`, where no pool is
/// started). `plugin` names the plugin in the error when the threads cannot start.
pub fn with_threads<R: Send>(
    plugin: &str,
    nthreads: u32,
    f: impl FnOnce(bool) -> Result<R> + Send,
) -> Result<R> {
    let n = nthreads as usize;
    if n <= 1 {
        return f(false);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| PressioError::backend(plugin, format!("cannot start {n} threads: {e}")))?;
    pool.install(|| f(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_the_requested_threads() {
        assert!(!with_threads("t", 1, Ok).unwrap());
        let (p, n) = with_threads("t", 3, |p| Ok((p, rayon::current_num_threads()))).unwrap();
        assert!(p);
        assert_eq!(n, 3);
        assert!(with_threads("t", 2, |_| -> Result<()> {
            Err(PressioError::Internal("x".into()))
        })
        .is_err());
    }
}
