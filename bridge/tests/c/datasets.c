/*
 * A LibPressio user's C program over the eight datasets of LibPressio's integration suite
 * (test_compressor_integration: 1-D to 3-D float and int, a 0-1 range, zeros), using only
 * LibPressio's public C API. Unlike that suite, which fails only on a crash, it checks the return
 * code of every call and the bound: for each compressor named on the command line it sets
 * pressio:abs to 1e-2 of the dataset's range (0.5 for the zeros), compresses, decompresses into a
 * clone of the input (as the suite does) and into an output with dims but no buffer, and
 * requires max |x - x'| (in double) <= the bound, floored for integers.
 *
 * usage: datasets <compressor>[:<inner>] ...   ("gwlz:zfp" sets gwlz:compressor=zfp)
 * exit status: 0 when every case passes, 1 otherwise, 2 on usage errors.
 */
#include <libpressio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum shape { D1, D2, D3 };

struct dataset {
  const char* name;
  enum shape shape;
  int is_int;
  /* value at fastest-first index (i, j, k) */
  double (*f)(size_t i, size_t j, size_t k);
};

static double f_1d(size_t i, size_t j, size_t k) { (void)j; (void)k; return (double)i + 0.5; }
static double f_1d_int(size_t i, size_t j, size_t k) { (void)j; (void)k; return (double)i; }
static double f_2d(size_t i, size_t j, size_t k) { (void)k; return (double)(i + 500 * j) + 0.5; }
static double f_2d_int(size_t i, size_t j, size_t k) { (void)k; return (double)(i + 500 * j); }
static double f_3d_int(size_t i, size_t j, size_t k) {
  return ((double)i - 31) + ((double)j - 31) + ((double)k - 31);
}
static double f_3d(size_t i, size_t j, size_t k) { return f_3d_int(i, j, k) + 0.5; }
static double f_zero(size_t i, size_t j, size_t k) { (void)i; (void)j; (void)k; return 0; }
static double f_2d_01(size_t i, size_t j, size_t k) {
  (void)k;
  return (double)((float)(i + 500 * j) / 250000.0f);
}

static const struct dataset datasets[] = {
    {"1d float", D1, 0, f_1d},         {"1d int", D1, 1, f_1d_int},
    {"2d float", D2, 0, f_2d},         {"3d float", D3, 0, f_3d},
    {"3d float zeros", D3, 0, f_zero}, {"2d int", D2, 1, f_2d_int},
    {"3d int", D3, 1, f_3d_int},       {"2d 0-1 float", D2, 0, f_2d_01},
};

static struct pressio_data* make(const struct dataset* d, double* lo, double* hi) {
  size_t dims[3] = {500, 1, 1};
  size_t nd = 1;
  if (d->shape == D2) { dims[1] = 500; nd = 2; }
  if (d->shape == D3) { dims[0] = dims[1] = dims[2] = 62; nd = 3; }
  enum pressio_dtype t = d->is_int ? pressio_int32_dtype : pressio_float_dtype;
  struct pressio_data* data = pressio_data_new_owning(t, nd, dims);
  void* p = pressio_data_ptr(data, NULL);
  size_t n = 0;
  *lo = INFINITY;
  *hi = -INFINITY;
  for (size_t k = 0; k < dims[2]; ++k)
    for (size_t j = 0; j < dims[1]; ++j)
      for (size_t i = 0; i < dims[0]; ++i, ++n) {
        double v = d->f(i, j, k);
        if (d->is_int) ((int*)p)[n] = (int)v; else ((float*)p)[n] = (float)v;
        v = d->is_int ? (double)((int*)p)[n] : (double)((float*)p)[n];
        if (v < *lo) *lo = v;
        if (v > *hi) *hi = v;
      }
  return data;
}

static double value(const struct pressio_data* d, size_t i) {
  const void* p = pressio_data_ptr(d, NULL);
  return pressio_data_dtype(d) == pressio_int32_dtype ? (double)((const int*)p)[i]
                                                      : (double)((const float*)p)[i];
}

/* 0 when the decompressed `out` has the input's dtype, size and the bound */
static int check(const char* label, const char* how, const struct pressio_data* in,
                 const struct pressio_data* out, double bound) {
  size_t n = pressio_data_num_elements(in);
  if (!pressio_data_has_data(out) || pressio_data_dtype(out) != pressio_data_dtype(in) ||
      pressio_data_num_elements(out) != n) {
    printf("FAIL %s %s: output has no buffer or another dtype or size\n", label, how);
    return 1;
  }
  double mx = 0;
  for (size_t i = 0; i < n; ++i) {
    double e = fabs(value(in, i) - value(out, i));
    if (e > mx || e != e) mx = e;
  }
  if (!(mx <= bound)) {
    printf("FAIL %s %s: max error %g > bound %g\n", label, how, mx, bound);
    return 1;
  }
  return 0;
}

static int run(struct pressio* lib, const char* spec, const struct dataset* d) {
  char id[64], label[160];
  const char* inner = strchr(spec, ':');
  size_t len = inner ? (size_t)(inner - spec) : strlen(spec);
  if (len >= sizeof id) return 1;
  memcpy(id, spec, len);
  id[len] = 0;
  snprintf(label, sizeof label, "%s, %s", spec, d->name);
  struct pressio_compressor* c = pressio_get_compressor(lib, id);
  if (c == NULL) {
    printf("FAIL %s: %s\n", label, pressio_error_msg(lib));
    return 1;
  }
  double lo, hi;
  struct pressio_data* in = make(d, &lo, &hi);
  double abs_bound = hi > lo ? 1e-2 * (hi - lo) : 0.5;
  double bound = d->is_int ? floor(abs_bound) : abs_bound;
  struct pressio_options* o = pressio_compressor_get_options(c);
  pressio_options_set_double(o, "pressio:abs", abs_bound);
  if (inner) pressio_options_set_string(o, "gwlz:compressor", inner + 1);
  int failed = 0;
  struct pressio_data* comp = pressio_data_new_empty(pressio_byte_dtype, 0, NULL);
  struct pressio_data* clone = pressio_data_new_clone(in);
  size_t dims[3];
  size_t nd = pressio_data_num_dimensions(in);
  for (size_t i = 0; i < nd; ++i) dims[i] = pressio_data_get_dimension(in, i);
  struct pressio_data* dims_only = pressio_data_new_empty(pressio_data_dtype(in), nd, dims);
  int rc = pressio_compressor_set_options(c, o);
  if (rc == 0) rc = pressio_compressor_compress(c, in, comp);
  if (rc) {
    printf("FAIL %s: rc=%d %s\n", label, rc, pressio_compressor_error_msg(c));
    failed = 1;
  } else {
    struct pressio_data* outs[2] = {clone, dims_only};
    const char* hows[2] = {"into a clone", "into dims only"};
    for (int k = 0; k < 2; ++k) {
      rc = pressio_compressor_decompress(c, comp, outs[k]);
      if (rc) {
        printf("FAIL %s %s: rc=%d %s\n", label, hows[k], rc, pressio_compressor_error_msg(c));
        failed = 1;
      } else {
        failed |= check(label, hows[k], in, outs[k], bound);
      }
    }
    if (!failed)
      printf("ok   %s: %zu bytes, bound %g\n", label, pressio_data_get_bytes(comp), bound);
  }
  pressio_data_free(dims_only);
  pressio_data_free(clone);
  pressio_data_free(comp);
  pressio_data_free(in);
  pressio_options_free(o);
  pressio_compressor_release(c);
  return failed;
}

int main(int argc, char* argv[]) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <compressor>[:<inner>] ...\n", argv[0]);
    return 2;
  }
  struct pressio* lib = pressio_instance();
  int failed = 0;
  for (int a = 1; a < argc; ++a)
    for (size_t k = 0; k < sizeof datasets / sizeof datasets[0]; ++k)
      failed |= run(lib, argv[a], &datasets[k]);
  pressio_release(lib);
  printf(failed ? "FAILED\n" : "ALL OK\n");
  return failed;
}
