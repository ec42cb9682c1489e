/*
 * A LibPressio user's C program: compresses and decompresses a real float field with the
 * pressio-ml "classic" compressor using only LibPressio's public C API. Nothing here knows about
 * pressio-ml: the plugin library is either linked in (plain linking), preloaded, or absent (then
 * pressio_get_compressor fails and the program says so).
 *
 * usage: classic_roundtrip <file.f32> <abs bound> <dim0 (fastest)> [dim1 ...]
 * exit status: 0 when the round trip respects the bound, 1 otherwise, 2 on usage errors.
 */
#include <libpressio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char* what, const char* msg) {
  fprintf(stderr, "classic_roundtrip: %s: %s\n", what, msg);
  return 1;
}

static double max_abs_error(const float* a, const float* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) {
    double e = fabs((double)a[i] - (double)b[i]);
    if (e > m || e != e) m = e;
  }
  return m;
}

int main(int argc, char* argv[]) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <file.f32> <abs bound> <dim0 (fastest)> [dim1 ...]\n", argv[0]);
    return 2;
  }
  const char* path = argv[1];
  const double bound = strtod(argv[2], NULL);
  size_t ndims = (size_t)(argc - 3);
  size_t dims[8];
  if (ndims > 8) return 2;
  size_t n = 1;
  for (size_t i = 0; i < ndims; ++i) {
    dims[i] = (size_t)strtoull(argv[3 + i], NULL, 10);
    n *= dims[i];
  }

  float* values = malloc(n * sizeof(float));
  FILE* f = fopen(path, "rb");
  if (values == NULL || f == NULL || fread(values, sizeof(float), n, f) != n) {
    fprintf(stderr, "classic_roundtrip: cannot read %zu floats from %s\n", n, path);
    return 2;
  }
  fclose(f);

  struct pressio* library = pressio_instance();
  struct pressio_compressor* compressor = pressio_get_compressor(library, "classic");
  if (compressor == NULL) {
    return fail("pressio_get_compressor(classic)", pressio_error_msg(library));
  }
  printf("compressor: classic %s (prefix %s)\n", pressio_compressor_version(compressor),
         pressio_compressor_get_prefix(compressor));

  /* the options: the compressor's own template, so every key has its declared type */
  struct pressio_options* options = pressio_compressor_get_options(compressor);
  pressio_options_set_double(options, "pressio:abs", bound);
  if (pressio_compressor_check_options(compressor, options) != 0) {
    return fail("check_options", pressio_compressor_error_msg(compressor));
  }
  if (pressio_compressor_set_options(compressor, options) != 0) {
    return fail("set_options", pressio_compressor_error_msg(compressor));
  }
  pressio_options_free(options);

  /* LibPressio's own metrics observe the calls */
  const char* metric_ids[] = {"size", "error_stat"};
  struct pressio_metrics* metrics = pressio_new_metrics(library, metric_ids, 2);
  if (metrics == NULL) return fail("pressio_new_metrics", pressio_error_msg(library));
  pressio_compressor_set_metrics(compressor, metrics); /* the compressor keeps a copy */
  pressio_metrics_free(metrics);

  /* the configuration: thread safety and stability as every LibPressio plugin reports them */
  struct pressio_options* config = pressio_compressor_get_configuration(compressor);
  enum pressio_thread_safety thread_safety;
  const char* stability = NULL;
  if (pressio_options_get_threadsafety(config, "pressio:thread_safe", &thread_safety) != pressio_options_key_set ||
      pressio_options_get_string(config, "pressio:stability", &stability) != pressio_options_key_set) {
    return fail("get_configuration", "pressio:thread_safe or pressio:stability missing");
  }
  printf("thread_safe: %d, stability: %s\n", (int)thread_safety, stability);
  free((void*)stability);
  pressio_options_free(config);

  /* compress into an empty byte buffer */
  struct pressio_data* input = pressio_data_new_nonowning(pressio_float_dtype, values, ndims, dims);
  struct pressio_data* compressed = pressio_data_new_empty(pressio_byte_dtype, 0, NULL);
  if (pressio_compressor_compress(compressor, input, compressed) != 0) {
    return fail("compress", pressio_compressor_error_msg(compressor));
  }

  /* decompress into an empty output (allocated by the plugin) ... */
  struct pressio_data* output = pressio_data_new_empty(pressio_float_dtype, ndims, dims);
  if (pressio_compressor_decompress(compressor, compressed, output) != 0) {
    return fail("decompress (empty output)", pressio_compressor_error_msg(compressor));
  }
  /* ... and into a pre-allocated one (filled in place) */
  float* mine = calloc(n, sizeof(float));
  struct pressio_data* preallocated = pressio_data_new_nonowning(pressio_float_dtype, mine, ndims, dims);
  if (pressio_compressor_decompress(compressor, compressed, preallocated) != 0) {
    return fail("decompress (pre-allocated output)", pressio_compressor_error_msg(compressor));
  }
  size_t out_bytes = 0;
  const float* decoded = pressio_data_ptr(output, &out_bytes);
  if (out_bytes != n * sizeof(float) || pressio_data_num_dimensions(output) != ndims ||
      pressio_data_ptr(preallocated, NULL) != mine) {
    return fail("decompress", "output has the wrong size, dims or buffer");
  }

  double err = max_abs_error(values, decoded, n);
  double err_inplace = max_abs_error(values, mine, n);
  size_t compressed_bytes = pressio_data_get_bytes(compressed);
  printf("elements: %zu, compressed bytes: %zu, ratio: %.3f\n", n, compressed_bytes,
         (double)(n * sizeof(float)) / (double)compressed_bytes);
  printf("max abs error: %.6g (pre-allocated output: %.6g), bound: %g\n", err, err_inplace, bound);

  struct pressio_options* results = pressio_compressor_get_metrics_results(compressor);
  double ratio = 0, max_error = 0;
  pressio_options_get_double(results, "size:compression_ratio", &ratio);
  pressio_options_get_double(results, "error_stat:max_error", &max_error);
  printf("size:compression_ratio = %.3f, error_stat:max_error = %.6g\n", ratio, max_error);
  pressio_options_free(results);

  int ok = err <= bound && err_inplace <= bound && max_error <= bound && ratio > 1.0;
  printf("%s\n", ok ? "OK: within pressio:abs" : "FAILED: bound violated");

  pressio_data_free(preallocated);
  pressio_data_free(output);
  pressio_data_free(compressed);
  pressio_data_free(input);
  pressio_compressor_release(compressor);
  pressio_release(library);
  free(mine);
  free(values);
  return ok ? 0 : 1;
}
