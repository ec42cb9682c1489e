/*
 * example_args.h: command-line helpers shared by the C examples (dtype names, dims, key=value
 * options, reading a whole file). Header-only; every function is static inline.
 */
#ifndef PRESSIO_ML_EXAMPLE_ARGS_H
#define PRESSIO_ML_EXAMPLE_ARGS_H

#include "pressio_ml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The dtype called `name` (float, double, int8 .. uint64); 0 when unknown. */
static inline int example_parse_dtype(const char* name, enum pressio_ml_dtype* out) {
  static const struct {
    const char* name;
    enum pressio_ml_dtype dtype;
  } table[] = {{"float", pressio_ml_float_dtype},   {"double", pressio_ml_double_dtype},
               {"int8", pressio_ml_int8_dtype},     {"int16", pressio_ml_int16_dtype},
               {"int32", pressio_ml_int32_dtype},   {"int64", pressio_ml_int64_dtype},
               {"uint8", pressio_ml_uint8_dtype},   {"uint16", pressio_ml_uint16_dtype},
               {"uint32", pressio_ml_uint32_dtype}, {"uint64", pressio_ml_uint64_dtype}};
  for (size_t i = 0; i < sizeof table / sizeof table[0]; ++i) {
    if (strcmp(name, table[i].name) == 0) {
      *out = table[i].dtype;
      return 1;
    }
  }
  return 0;
}

/* Dimensions from argv[*arg] up to the first key=value argument (at most 16, each > 0);
 * advances *arg. Returns 1 on success, 0 (after a message) on a bad or missing dimension. */
static inline int example_parse_dims(int argc, char* argv[], int* arg, size_t dims[16],
                                     size_t* ndims) {
  *ndims = 0;
  for (; *arg < argc && strchr(argv[*arg], '=') == NULL; ++*arg) {
    char* end = NULL;
    unsigned long long d = strtoull(argv[*arg], &end, 10);
    if (end == argv[*arg] || *end != '\0' || d == 0 || *ndims == 16) {
      fprintf(stderr, "invalid dimension %s\n", argv[*arg]);
      return 0;
    }
    dims[(*ndims)++] = (size_t)d;
  }
  return *ndims > 0;
}

/* Write `size` bytes to `path`; 1 on success. */
static inline int example_write_file(const char* path, const void* data, size_t size) {
  FILE* f = fopen(path, "wb");
  if (f == NULL) return 0;
  int ok = fwrite(data, 1, size, f) == size;
  return fclose(f) == 0 && ok;
}

/* Print `prog`'s usage line `args` and the registered compressors; returns 2 (usage error). */
static inline int example_usage(const char* prog, const char* args) {
  fprintf(stderr, "usage: %s %s\ncompressors: %s\n", prog, args,
          pressio_ml_supported_compressors());
  return 2;
}

/* Read a whole file into a malloc'd buffer (8-byte aligned, as malloc guarantees); NULL when
 * it cannot be read or is empty. */
static inline void* example_read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) return NULL;
  if (fseek(f, 0, SEEK_END) != 0) {
    fclose(f);
    return NULL;
  }
  long len = ftell(f);
  rewind(f);
  void* buf = len > 0 ? malloc((size_t)len) : NULL;
  if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
    free(buf);
    fclose(f);
    return NULL;
  }
  fclose(f);
  *size = (size_t)len;
  return buf;
}

/* Parse each key=value of argv[arg..] into the declared type of the compressor's option
 * template and set them all. Returns 0 on success, 2 on a usage error (not key=value, unknown
 * key, unparsable value), 1 when the compressor refuses the options; prints why. */
static inline int example_set_options(struct pressio_ml_compressor* compressor, int argc,
                                      char* argv[], int arg) {
  struct pressio_ml_options* options = pressio_ml_compressor_get_options(compressor);
  int status = 0;
  for (; arg < argc && status == 0; ++arg) {
    char* eq = strchr(argv[arg], '=');
    if (eq == NULL) {
      fprintf(stderr, "expected key=value, got %s\n", argv[arg]);
      status = 2;
      break;
    }
    *eq = '\0';
    if (pressio_ml_options_cast_set_string(options, argv[arg], eq + 1) !=
        pressio_ml_options_key_set) {
      fprintf(stderr, "option %s=%s: %s\n", argv[arg], eq + 1, pressio_ml_error_msg());
      status = 2;
    }
  }
  if (status == 0 && pressio_ml_compressor_set_options(compressor, options) != 0) {
    fprintf(stderr, "set_options: %s\n", pressio_ml_compressor_error_msg(compressor));
    status = 1;
  }
  pressio_ml_options_free(options);
  return status;
}

#endif
