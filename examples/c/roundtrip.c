/*
 * roundtrip.c: compress a raw field with a pressio-ml compressor through the C interface,
 * decompress it, and print the size and error statistics.
 *
 * usage: roundtrip <compressor_id> <file> <dtype> <dim0> [<dim1> ...] [key=value ...]
 *
 *   compressor_id  one of pressio_ml_supported_compressors() (e.g. sz3, zfp, classic)
 *   file           headerless little-endian array
 *   dtype          float, double, int8, int16, int32, int64, uint8, uint16, uint32, uint64
 *   dim0 ...       dimensions, FASTEST varying first (a C array float a[nz][ny][nx] is
 *                  "nx ny nz")
 *   key=value      compressor options, parsed into each key's declared type
 *                  (e.g. pressio:abs=1e-3)
 *
 * Output: one "name=value" line per result: compressor, input_bytes, compressed_bytes,
 * compression_ratio, max_abs_error (computed here), then the size:* and error_stat:* results
 * of the attached metrics as "key<type> = value" lines.
 *
 * Exit status: 0 on success, 1 on a library error, 2 on a usage or input error.
 */
#include "example_args.h"

#include <math.h>

/* Element i of a buffer of `dtype`, as a double. */
static double element(const void* p, enum pressio_ml_dtype dtype, size_t i) {
  switch (dtype) {
    case pressio_ml_double_dtype: return ((const double*)p)[i];
    case pressio_ml_float_dtype: return ((const float*)p)[i];
    case pressio_ml_int8_dtype: return ((const int8_t*)p)[i];
    case pressio_ml_int16_dtype: return ((const int16_t*)p)[i];
    case pressio_ml_int32_dtype: return ((const int32_t*)p)[i];
    case pressio_ml_int64_dtype: return (double)((const int64_t*)p)[i];
    case pressio_ml_uint8_dtype: return ((const uint8_t*)p)[i];
    case pressio_ml_uint16_dtype: return ((const uint16_t*)p)[i];
    case pressio_ml_uint32_dtype: return ((const uint32_t*)p)[i];
    case pressio_ml_uint64_dtype: return (double)((const uint64_t*)p)[i];
    default: return ((const uint8_t*)p)[i];
  }
}

/* Print the lines of `text` whose key starts with one of the metric prefixes. */
static void print_metric_lines(const char* text) {
  const char* line = text;
  while (line != NULL && *line != '\0') {
    const char* end = strchr(line, '\n');
    size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
    if (strncmp(line, "size:", 5) == 0 || strncmp(line, "error_stat:", 11) == 0) {
      printf("%.*s\n", (int)len, line);
    }
    line = end != NULL ? end + 1 : NULL;
  }
}

static int usage(const char* prog) {
  return example_usage(prog,
                       "<compressor_id> <file> <dtype> <dim0 (fastest)> [<dim1> ...] [key=value ...]");
}

int main(int argc, char* argv[]) {
  if (argc < 5) return usage(argv[0]);
  const char* id = argv[1];
  const char* path = argv[2];
  enum pressio_ml_dtype dtype;
  if (!example_parse_dtype(argv[3], &dtype)) {
    fprintf(stderr, "unknown dtype %s\n", argv[3]);
    return usage(argv[0]);
  }

  /* dimensions up to the first key=value argument */
  size_t dims[16];
  size_t ndims = 0;
  int arg = 4;
  if (!example_parse_dims(argc, argv, &arg, dims, &ndims)) return usage(argv[0]);
  size_t num_elements = 1;
  for (size_t i = 0; i < ndims; ++i) num_elements *= dims[i];

  size_t file_bytes = 0;
  void* buffer = example_read_file(path, &file_bytes);
  size_t expected = num_elements * (size_t)pressio_ml_dtype_size(dtype);
  if (buffer == NULL || file_bytes != expected) {
    fprintf(stderr, "%s: expected %zu bytes, read %zu\n", path, expected, file_bytes);
    free(buffer);
    return 2;
  }

  int status = 1;
  struct pressio_ml_compressor* compressor = pressio_ml_get_compressor(id);
  struct pressio_ml_metrics* metrics = NULL;
  struct pressio_ml_data* input = NULL;
  struct pressio_ml_data* compressed = NULL;
  struct pressio_ml_data* decompressed = NULL;
  struct pressio_ml_options* results = NULL;
  char* text = NULL;

  if (compressor == NULL) {
    fprintf(stderr, "%s\n", pressio_ml_error_msg());
    status = 2;
    goto done;
  }

  /* options: parse each key=value into the declared type of the compressor's template */
  status = example_set_options(compressor, argc, argv, arg);
  if (status != 0) goto done;
  status = 1;

  /* metrics: size and error statistics */
  {
    const char* ids[2] = {"size", "error_stat"};
    metrics = pressio_ml_new_metrics(ids, 2);
    if (metrics != NULL) {
      pressio_ml_compressor_set_metrics(compressor, metrics);
    } else {
      fprintf(stderr, "warning: no size/error_stat metrics: %s\n", pressio_ml_error_msg());
    }
  }

  input = pressio_ml_data_new_nonowning(dtype, buffer, ndims, dims);
  compressed = pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, NULL);
  decompressed = pressio_ml_data_new_empty(dtype, ndims, dims);
  if (input == NULL || compressed == NULL || decompressed == NULL) {
    fprintf(stderr, "%s\n", pressio_ml_error_msg());
    goto done;
  }
  if (pressio_ml_compressor_compress(compressor, input, compressed) != 0) {
    fprintf(stderr, "compress: %s\n", pressio_ml_compressor_error_msg(compressor));
    goto done;
  }
  if (pressio_ml_compressor_decompress(compressor, compressed, decompressed) != 0) {
    fprintf(stderr, "decompress: %s\n", pressio_ml_compressor_error_msg(compressor));
    goto done;
  }

  {
    size_t compressed_bytes = pressio_ml_data_get_bytes(compressed);
    const void* out = pressio_ml_data_ptr(decompressed, NULL);
    double max_error = 0;
    for (size_t i = 0; i < num_elements; ++i) {
      double e = fabs(element(buffer, dtype, i) - element(out, dtype, i));
      if (e > max_error || e != e) max_error = e;
    }
    printf("compressor=%s\n", id);
    printf("input_bytes=%zu\n", expected);
    printf("compressed_bytes=%zu\n", compressed_bytes);
    printf("compression_ratio=%.6g\n", (double)expected / (double)compressed_bytes);
    printf("max_abs_error=%.17g\n", max_error);
  }

  results = pressio_ml_compressor_get_metrics_results(compressor);
  text = pressio_ml_options_to_string(results);
  if (text != NULL) print_metric_lines(text);
  status = 0;

done:
  pressio_ml_free(text);
  pressio_ml_options_free(results);
  pressio_ml_data_free(decompressed);
  pressio_ml_data_free(compressed);
  pressio_ml_data_free(input);
  pressio_ml_metrics_free(metrics);
  pressio_ml_compressor_release(compressor);
  free(buffer);
  return status;
}
