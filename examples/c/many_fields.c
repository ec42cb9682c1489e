/*
 * many_fields.c: compress several fields together through the C interface
 * (pressio_ml_compressor_compress_many / decompress_many), e.g. a cfnn target and its anchor
 * fields, then, for cfnn, the target alone in single-field mode with the decompressed anchors
 * handed over as one stacked buffer (the cfnn:anchors option).
 *
 * usage: many_fields <compressor_id> <out_dir> <n> <file1> ... <filen> <dtype> <dim0> [<dim1> ...] [key=value ...]
 *
 *   n files     raw fields of the same dtype and dims (for cfnn: the target first, then the
 *               anchors in the model's order)
 *   out_dir     receives stream<k>.prml and out<k>.raw for each field k (0-based)
 *   dtype       float, double, int8, int16, int32, int64, uint8, uint16, uint32, uint64
 *   dim0 ...    dimensions, FASTEST varying first
 *   key=value   compressor options, parsed into each key's declared type
 *
 * With cfnn and n > 1 it also checks that single-field mode writes the same target stream as
 * compress_many and decodes it to the same values. Exit status: 0 on success, 1 on a library
 * error or a mismatch, 2 on a usage or input error.
 */
#include "example_args.h"

#define MAX_FIELDS 16

/* Write field k's stream (`stream<k>.prml`) or data (`out<k>.raw`) into `dir`. */
static int write_file(const char* dir, const char* name, int k, const void* data, size_t size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s%d.%s", dir, name, k, strcmp(name, "stream") == 0 ? "prml" : "raw");
  return example_write_file(path, data, size);
}

static int usage(const char* prog) {
  return example_usage(prog,
                       "<compressor_id> <out_dir> <n> <file1> ... <filen> <dtype> "
                       "<dim0 (fastest)> [<dim1> ...] [key=value ...]");
}

/* The cfnn single-field check: the target alone, with the decompressed anchors outs[1..n)
 * stacked into cfnn:anchors, must give streams[0] and outs[0] again. */
static int single_field(struct pressio_ml_compressor* compressor, struct pressio_ml_data** inputs,
                        struct pressio_ml_data** streams, struct pressio_ml_data** outs, int n,
                        enum pressio_ml_dtype dtype, const size_t* dims, size_t ndims) {
  size_t field_bytes = pressio_ml_data_get_bytes(outs[0]);
  size_t sdims[17];
  memcpy(sdims, dims, ndims * sizeof dims[0]);
  sdims[ndims] = (size_t)(n - 1);
  unsigned char* all = malloc(field_bytes * (size_t)(n - 1));
  if (all == NULL) return 1;
  for (int k = 1; k < n; ++k) {
    memcpy(all + field_bytes * (size_t)(k - 1), pressio_ml_data_ptr(outs[k], NULL), field_bytes);
  }
  int status = 1;
  struct pressio_ml_data* stacked = pressio_ml_data_new_copy(dtype, all, ndims + 1, sdims);
  free(all);
  struct pressio_ml_options* options = pressio_ml_options_new();
  struct pressio_ml_data* stream = pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, NULL);
  struct pressio_ml_data* out = pressio_ml_data_new_empty(dtype, ndims, dims);
  if (stacked == NULL) goto done;
  pressio_ml_options_set_data(options, "cfnn:anchors", stacked);
  if (pressio_ml_compressor_set_options(compressor, options) != 0 ||
      pressio_ml_compressor_compress(compressor, inputs[0], stream) != 0 ||
      pressio_ml_compressor_decompress(compressor, stream, out) != 0) {
    fprintf(stderr, "single-field: %s\n", pressio_ml_compressor_error_msg(compressor));
    goto done;
  }
  size_t a = pressio_ml_data_get_bytes(stream), b = pressio_ml_data_get_bytes(streams[0]);
  if (a != b || memcmp(pressio_ml_data_ptr(stream, NULL), pressio_ml_data_ptr(streams[0], NULL), a) != 0) {
    fprintf(stderr, "single-field: the target stream differs from compress_many's\n");
    goto done;
  }
  if (memcmp(pressio_ml_data_ptr(out, NULL), pressio_ml_data_ptr(outs[0], NULL), field_bytes) != 0) {
    fprintf(stderr, "single-field: the target decodes to other values\n");
    goto done;
  }
  printf("single-field: the same %zu-byte target stream and values\n", a);
  status = 0;
done:
  pressio_ml_data_free(out);
  pressio_ml_data_free(stream);
  pressio_ml_data_free(stacked);
  pressio_ml_options_free(options);
  return status;
}

int main(int argc, char* argv[]) {
  if (argc < 6) return usage(argv[0]);
  const char* id = argv[1];
  const char* out_dir = argv[2];
  char* end = NULL;
  long n = strtol(argv[3], &end, 10);
  if (*end != '\0' || n < 1 || n > MAX_FIELDS || argc < 6 + n) return usage(argv[0]);
  const char* files[MAX_FIELDS];
  for (int k = 0; k < n; ++k) files[k] = argv[4 + k];
  int arg = 4 + (int)n;
  enum pressio_ml_dtype dtype;
  if (!example_parse_dtype(argv[arg], &dtype)) {
    fprintf(stderr, "unknown dtype %s\n", argv[arg]);
    return usage(argv[0]);
  }
  ++arg;
  size_t dims[16];
  size_t ndims = 0;
  if (!example_parse_dims(argc, argv, &arg, dims, &ndims)) return usage(argv[0]);
  size_t num_elements = 1;
  for (size_t i = 0; i < ndims; ++i) num_elements *= dims[i];
  size_t raw_bytes = num_elements * (size_t)pressio_ml_dtype_size(dtype);

  int status = 2;
  void* bufs[MAX_FIELDS] = {0};
  struct pressio_ml_data* inputs[MAX_FIELDS] = {0};
  struct pressio_ml_data* streams[MAX_FIELDS] = {0};
  struct pressio_ml_data* outs[MAX_FIELDS] = {0};
  struct pressio_ml_compressor* compressor = NULL;
  for (int k = 0; k < n; ++k) {
    size_t got = 0;
    bufs[k] = example_read_file(files[k], &got);
    if (bufs[k] == NULL || got != raw_bytes) {
      fprintf(stderr, "%s: cannot read it, or not %zu bytes\n", files[k], raw_bytes);
      goto done;
    }
  }
  compressor = pressio_ml_get_compressor(id);
  if (compressor == NULL) {
    fprintf(stderr, "%s\n", pressio_ml_error_msg());
    goto done;
  }
  status = example_set_options(compressor, argc, argv, arg);
  if (status != 0) goto done;
  status = 1;
  for (int k = 0; k < n; ++k) {
    inputs[k] = pressio_ml_data_new_nonowning(dtype, bufs[k], ndims, dims);
    streams[k] = pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, NULL);
    outs[k] = pressio_ml_data_new_empty(dtype, ndims, dims);
  }
  if (pressio_ml_compressor_compress_many(compressor, (const struct pressio_ml_data* const*)inputs,
                                          (size_t)n, streams, (size_t)n) != 0) {
    fprintf(stderr, "compress_many: %s\n", pressio_ml_compressor_error_msg(compressor));
    goto done;
  }
  if (pressio_ml_compressor_decompress_many(compressor,
                                            (const struct pressio_ml_data* const*)streams,
                                            (size_t)n, outs, (size_t)n) != 0) {
    fprintf(stderr, "decompress_many: %s\n", pressio_ml_compressor_error_msg(compressor));
    goto done;
  }
  size_t total = 0;
  for (int k = 0; k < n; ++k) {
    size_t s = pressio_ml_data_get_bytes(streams[k]);
    total += s;
    if (!write_file(out_dir, "stream", k, pressio_ml_data_ptr(streams[k], NULL), s) ||
        !write_file(out_dir, "out", k, pressio_ml_data_ptr(outs[k], NULL), raw_bytes)) {
      fprintf(stderr, "cannot write into %s\n", out_dir);
      status = 2;
      goto done;
    }
    printf("field %d: %zu bytes -> %zu bytes\n", k, raw_bytes, s);
  }
  printf("%s: %ld fields, ratio %.3f\n", id, n, (double)(raw_bytes * (size_t)n) / (double)total);
  status = 0;
  if (n > 1 && strcmp(id, "cfnn") == 0) {
    status = single_field(compressor, inputs, streams, outs, (int)n, dtype, dims, ndims);
  }

done:
  for (int k = 0; k < n; ++k) {
    pressio_ml_data_free(outs[k]);
    pressio_ml_data_free(streams[k]);
    pressio_ml_data_free(inputs[k]);
    free(bufs[k]);
  }
  pressio_ml_compressor_release(compressor);
  return status;
}
