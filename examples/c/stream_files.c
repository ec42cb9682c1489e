/*
 * stream_files.c: compress a raw field into a stream file, or decompress a stream file into a
 * raw field, through the C interface: the two halves of "compress here, decompress there".
 *
 * usage: stream_files compress   <compressor_id> <raw_in>    <stream_out> <dtype> <dim0> [<dim1> ...] [key=value ...]
 *        stream_files decompress <compressor_id> <stream_in> <raw_out>    <dtype> <dim0> [<dim1> ...] [key=value ...]
 *
 *   compressor_id  one of pressio_ml_supported_compressors() (e.g. sz3, classic, aesz)
 *   dtype          float, double, int8, int16, int32, int64, uint8, uint16, uint32, uint64
 *   dim0 ...       dimensions, FASTEST varying first
 *   key=value      compressor options, parsed into each key's declared type
 *
 * Exit status: 0 on success, 1 on a library error, 2 on a usage or input error.
 */
#include "example_args.h"

static int usage(const char* prog) {
  return example_usage(prog,
                       "compress|decompress <compressor_id> <in> <out> <dtype> <dim0 (fastest)> "
                       "[<dim1> ...] [key=value ...]");
}

int main(int argc, char* argv[]) {
  if (argc < 7) return usage(argv[0]);
  int compress;
  if (strcmp(argv[1], "compress") == 0) {
    compress = 1;
  } else if (strcmp(argv[1], "decompress") == 0) {
    compress = 0;
  } else {
    return usage(argv[0]);
  }
  const char* id = argv[2];
  const char* in_path = argv[3];
  const char* out_path = argv[4];
  enum pressio_ml_dtype dtype;
  if (!example_parse_dtype(argv[5], &dtype)) {
    fprintf(stderr, "unknown dtype %s\n", argv[5]);
    return usage(argv[0]);
  }
  size_t dims[16];
  size_t ndims = 0;
  int arg = 6;
  if (!example_parse_dims(argc, argv, &arg, dims, &ndims)) return usage(argv[0]);
  size_t num_elements = 1;
  for (size_t i = 0; i < ndims; ++i) num_elements *= dims[i];
  size_t raw_bytes = num_elements * (size_t)pressio_ml_dtype_size(dtype);

  size_t in_bytes = 0;
  void* in_buf = example_read_file(in_path, &in_bytes);
  if (in_buf == NULL || (compress && in_bytes != raw_bytes)) {
    fprintf(stderr, "%s: cannot read it, or not %zu bytes\n", in_path, raw_bytes);
    free(in_buf);
    return 2;
  }

  int status = 1;
  struct pressio_ml_compressor* compressor = pressio_ml_get_compressor(id);
  struct pressio_ml_data* input = NULL;
  struct pressio_ml_data* output = NULL;
  if (compressor == NULL) {
    fprintf(stderr, "%s\n", pressio_ml_error_msg());
    status = 2;
    goto done;
  }
  status = example_set_options(compressor, argc, argv, arg);
  if (status != 0) goto done;
  status = 1;

  if (compress) {
    input = pressio_ml_data_new_nonowning(dtype, in_buf, ndims, dims);
    output = pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, NULL);
  } else {
    size_t len = in_bytes;
    input = pressio_ml_data_new_nonowning(pressio_ml_byte_dtype, in_buf, 1, &len);
    output = pressio_ml_data_new_empty(dtype, ndims, dims);
  }
  if (input == NULL || output == NULL) {
    fprintf(stderr, "%s\n", pressio_ml_error_msg());
    goto done;
  }
  int rc = compress ? pressio_ml_compressor_compress(compressor, input, output)
                    : pressio_ml_compressor_decompress(compressor, input, output);
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", argv[1], pressio_ml_compressor_error_msg(compressor));
    goto done;
  }
  {
    size_t out_bytes = pressio_ml_data_get_bytes(output);
    const void* out = pressio_ml_data_ptr(output, NULL);
    if (!example_write_file(out_path, out, out_bytes)) {
      fprintf(stderr, "cannot write %s\n", out_path);
      status = 2;
      goto done;
    }
    printf("%s %s: %zu bytes -> %zu bytes\n", argv[1], id, in_bytes, out_bytes);
  }
  status = 0;

done:
  pressio_ml_data_free(output);
  pressio_ml_data_free(input);
  pressio_ml_compressor_release(compressor);
  free(in_buf);
  return status;
}
