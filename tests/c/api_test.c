/*
 * Exercises every function of pressio_ml.h at least once, including the error paths (unknown
 * ids, wrong option types, NULL handles and arguments, out-of-range arguments, truncated
 * streams). Built and run by tests/capi_api.rs, also under valgrind memcheck.
 *
 * usage: api_test <field.f32> <nx> <ny> <nz> [compressor_id ...]
 *   The field is read as float32 with dims nx (fastest), ny, nz from the start of the file.
 *   Without compressor ids, every registered compressor is exercised.
 */
#include "pressio_ml.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                          \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s (thread error %d: %s)\n", __FILE__, __LINE__, \
              #cond, pressio_ml_error_code(), pressio_ml_error_msg());                       \
      failures++;                                                                            \
    }                                                                                        \
  } while (0)

/* An error code was recorded for the calling thread with a non-empty message. */
#define CHECK_THREAD_ERROR(code)                                                            \
  do {                                                                                      \
    CHECK(pressio_ml_error_code() == (code));                                               \
    CHECK(pressio_ml_error_msg() != NULL && strlen(pressio_ml_error_msg()) > 0);            \
  } while (0)

static int contains_word(const char* list, const char* word) {
  size_t n = strlen(word);
  const char* p = list;
  while ((p = strstr(p, word)) != NULL) {
    int starts = (p == list || p[-1] == ' ');
    int ends = (p[n] == '\0' || p[n] == ' ');
    if (starts && ends) return 1;
    p += n;
  }
  return 0;
}

static void test_library(void) {
  const char* v = pressio_ml_version();
  CHECK(v != NULL && strlen(v) >= 5);
  CHECK(pressio_ml_supported_compressors() != NULL);
  CHECK(pressio_ml_supported_metrics() != NULL);
  /* the static strings are stable */
  CHECK(pressio_ml_supported_compressors() == pressio_ml_supported_compressors());
  CHECK(pressio_ml_error_msg() != NULL);
  (void)pressio_ml_error_code();
  pressio_ml_free(NULL);
  CHECK(pressio_ml_dtype_size(pressio_ml_double_dtype) == 8);
  CHECK(pressio_ml_dtype_size(pressio_ml_float_dtype) == 4);
  CHECK(pressio_ml_dtype_size(pressio_ml_bool_dtype) == 1);
  CHECK(pressio_ml_dtype_size((enum pressio_ml_dtype)12) == -1);
  CHECK(pressio_ml_dtype_size((enum pressio_ml_dtype)-1) == -1);
}

static void test_data(void) {
  float values[6] = {1, 2, 3, 4, 5, 6};
  size_t dims[2] = {3, 2};
  size_t bytes = 0;

  struct pressio_ml_data* copy = pressio_ml_data_new_copy(pressio_ml_float_dtype, values, 2, dims);
  CHECK(copy != NULL);
  CHECK(pressio_ml_data_dtype(copy) == pressio_ml_float_dtype);
  CHECK(pressio_ml_data_num_dimensions(copy) == 2);
  CHECK(pressio_ml_data_get_dimension(copy, 0) == 3);
  CHECK(pressio_ml_data_get_dimension(copy, 1) == 2);
  CHECK(pressio_ml_data_get_bytes(copy) == 24);
  CHECK(pressio_ml_data_num_elements(copy) == 6);
  CHECK(pressio_ml_data_has_data(copy));
  float* cp = (float*)pressio_ml_data_ptr(copy, &bytes);
  CHECK(cp != NULL && cp != values && bytes == 24 && cp[5] == 6.0f);
  values[0] = 100; /* a copy does not see later changes */
  CHECK(cp[0] == 1.0f);

  /* out of range dimension: 0 and an error */
  CHECK(pressio_ml_data_get_dimension(copy, 2) == 0);
  CHECK_THREAD_ERROR(14);

  /* nonowning: borrows, writes through, is not freed */
  struct pressio_ml_data* view =
      pressio_ml_data_new_nonowning(pressio_ml_float_dtype, values, 2, dims);
  CHECK(view != NULL);
  float* vp = (float*)pressio_ml_data_ptr(view, NULL);
  CHECK(vp == values);
  vp[1] = 42;
  CHECK(values[1] == 42.0f);
  struct pressio_ml_data* clone = pressio_ml_data_new_clone(view);
  CHECK(clone != NULL && pressio_ml_data_ptr(clone, NULL) != (void*)values);
  CHECK(((float*)pressio_ml_data_ptr(clone, NULL))[1] == 42.0f);
  pressio_ml_data_free(view);
  CHECK(values[1] == 42.0f);

  size_t d3[3] = {4, 3, 2};
  struct pressio_ml_data* owning = pressio_ml_data_new_owning(pressio_ml_double_dtype, 3, d3);
  CHECK(owning != NULL && pressio_ml_data_get_bytes(owning) == 24 * 8);
  double* op = (double*)pressio_ml_data_ptr(owning, NULL);
  CHECK(op != NULL && op[23] == 0.0);

  struct pressio_ml_data* empty = pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, NULL);
  CHECK(empty != NULL && !pressio_ml_data_has_data(empty));
  CHECK(pressio_ml_data_ptr(empty, &bytes) == NULL && bytes == 0);
  CHECK(pressio_ml_data_num_elements(empty) == 0);
  struct pressio_ml_data* tmpl = pressio_ml_data_new_empty(pressio_ml_int16_dtype, 3, d3);
  CHECK(!pressio_ml_data_has_data(tmpl) && pressio_ml_data_num_elements(tmpl) == 24);

  /* error paths */
  CHECK(pressio_ml_data_new_empty((enum pressio_ml_dtype)77, 0, NULL) == NULL);
  CHECK_THREAD_ERROR(14);
  CHECK(pressio_ml_data_new_owning(pressio_ml_float_dtype, 2, NULL) == NULL);
  CHECK_THREAD_ERROR(14);
  CHECK(pressio_ml_data_new_copy(pressio_ml_float_dtype, NULL, 2, dims) == NULL);
  CHECK_THREAD_ERROR(14);
  size_t huge[2] = {(size_t)-1, 16};
  CHECK(pressio_ml_data_new_owning(pressio_ml_double_dtype, 2, huge) == NULL);
  CHECK_THREAD_ERROR(7);
  CHECK(pressio_ml_data_new_nonowning(pressio_ml_float_dtype, NULL, 2, dims) == NULL);
  CHECK(pressio_ml_data_new_nonowning(pressio_ml_float_dtype, (char*)values + 1, 1, dims) == NULL);
  CHECK(pressio_ml_data_new_clone(NULL) == NULL);
  CHECK(pressio_ml_data_ptr(NULL, &bytes) == NULL && bytes == 0);
  CHECK(pressio_ml_data_dtype(NULL) == pressio_ml_byte_dtype);
  CHECK(pressio_ml_data_num_dimensions(NULL) == 0);
  CHECK(pressio_ml_data_get_dimension(NULL, 0) == 0);
  CHECK(pressio_ml_data_get_bytes(NULL) == 0);
  CHECK(pressio_ml_data_num_elements(NULL) == 0);
  CHECK(!pressio_ml_data_has_data(NULL));
  CHECK_THREAD_ERROR(14);
  pressio_ml_data_free(NULL);

  pressio_ml_data_free(copy);
  pressio_ml_data_free(clone);
  pressio_ml_data_free(owning);
  pressio_ml_data_free(empty);
  pressio_ml_data_free(tmpl);
}

static void test_options(void) {
  struct pressio_ml_options* o = pressio_ml_options_new();
  CHECK(o != NULL && pressio_ml_options_size(o) == 0);

  uint8_t u8 = 0;
  int8_t i8 = 0;
  uint16_t u16 = 0;
  int16_t i16 = 0;
  uint32_t u32 = 0;
  int32_t i32 = 0;
  uint64_t u64 = 0;
  int64_t i64 = 0;
  float f = 0;
  double d = 0;
  bool b = false;
  enum pressio_ml_dtype dt = pressio_ml_byte_dtype;
  enum pressio_ml_thread_safety ts = pressio_ml_thread_safety_single;

  pressio_ml_options_set_uinteger8(o, "u8", 250);
  CHECK(pressio_ml_options_get_uinteger8(o, "u8", &u8) == pressio_ml_options_key_set && u8 == 250);
  pressio_ml_options_set_integer8(o, "i8", -120);
  CHECK(pressio_ml_options_get_integer8(o, "i8", &i8) == pressio_ml_options_key_set && i8 == -120);
  pressio_ml_options_set_uinteger16(o, "u16", 65000);
  CHECK(pressio_ml_options_get_uinteger16(o, "u16", &u16) == pressio_ml_options_key_set &&
        u16 == 65000);
  pressio_ml_options_set_integer16(o, "i16", -32000);
  CHECK(pressio_ml_options_get_integer16(o, "i16", &i16) == pressio_ml_options_key_set &&
        i16 == -32000);
  pressio_ml_options_set_uinteger(o, "u32", 4000000000u);
  CHECK(pressio_ml_options_get_uinteger(o, "u32", &u32) == pressio_ml_options_key_set &&
        u32 == 4000000000u);
  pressio_ml_options_set_integer(o, "i32", -7);
  CHECK(pressio_ml_options_get_integer(o, "i32", &i32) == pressio_ml_options_key_set && i32 == -7);
  pressio_ml_options_set_uinteger64(o, "u64", UINT64_MAX);
  CHECK(pressio_ml_options_get_uinteger64(o, "u64", &u64) == pressio_ml_options_key_set &&
        u64 == UINT64_MAX);
  pressio_ml_options_set_integer64(o, "i64", INT64_MIN);
  CHECK(pressio_ml_options_get_integer64(o, "i64", &i64) == pressio_ml_options_key_set &&
        i64 == INT64_MIN);
  pressio_ml_options_set_float(o, "f", 1.5f);
  CHECK(pressio_ml_options_get_float(o, "f", &f) == pressio_ml_options_key_set && f == 1.5f);
  pressio_ml_options_set_double(o, "d", 0.125);
  CHECK(pressio_ml_options_get_double(o, "d", &d) == pressio_ml_options_key_set && d == 0.125);
  pressio_ml_options_set_bool(o, "b", true);
  CHECK(pressio_ml_options_get_bool(o, "b", &b) == pressio_ml_options_key_set && b);
  pressio_ml_options_set_dtype(o, "dt", pressio_ml_int64_dtype);
  CHECK(pressio_ml_options_get_dtype(o, "dt", &dt) == pressio_ml_options_key_set &&
        dt == pressio_ml_int64_dtype);
  pressio_ml_options_set_threadsafety(o, "ts", pressio_ml_thread_safety_multiple);
  CHECK(pressio_ml_options_get_threadsafety(o, "ts", &ts) == pressio_ml_options_key_set &&
        ts == pressio_ml_thread_safety_multiple);
  CHECK(pressio_ml_options_size(o) == 13 && pressio_ml_options_num_set(o) == 13);

  /* exact-type semantics: another type is "exists" and leaves the output alone */
  f = -1;
  CHECK(pressio_ml_options_get_float(o, "d", &f) == pressio_ml_options_key_exists && f == -1);
  CHECK(pressio_ml_options_get_integer(o, "u32", &i32) == pressio_ml_options_key_exists);
  CHECK(pressio_ml_options_get_double(o, "absent", &d) == pressio_ml_options_key_does_not_exist);
  CHECK(pressio_ml_options_exists(o, "d") == pressio_ml_options_key_set);
  CHECK(pressio_ml_options_exists(o, "absent") == pressio_ml_options_key_does_not_exist);

  /* strings */
  char* s = NULL;
  pressio_ml_options_set_string(o, "s", "hello world");
  CHECK(pressio_ml_options_get_string(o, "s", &s) == pressio_ml_options_key_set && s != NULL &&
        strcmp(s, "hello world") == 0);
  pressio_ml_free(s);
  s = NULL;
  CHECK(pressio_ml_options_get_string(o, "d", &s) == pressio_ml_options_key_exists && s == NULL);

  const char* items[3] = {"a", "bc", "def"};
  pressio_ml_options_set_strings(o, "arr", 3, items);
  size_t n = 0;
  char** arr = NULL;
  CHECK(pressio_ml_options_get_strings(o, "arr", &n, &arr) == pressio_ml_options_key_set && n == 3);
  if (arr != NULL && n == 3) {
    CHECK(strcmp(arr[2], "def") == 0);
    for (size_t i = 0; i < n; ++i) pressio_ml_free(arr[i]);
    pressio_ml_free(arr);
  }
  pressio_ml_options_set_strings(o, "none", 0, NULL);
  char* sentinel = NULL;
  arr = &sentinel;
  CHECK(pressio_ml_options_get_strings(o, "none", &n, &arr) == pressio_ml_options_key_set &&
        n == 0 && arr == NULL);

  /* data: deep copies both ways */
  double dv[4] = {1, 2, 3, 4};
  size_t dd[1] = {4};
  struct pressio_ml_data* view = pressio_ml_data_new_nonowning(pressio_ml_double_dtype, dv, 1, dd);
  pressio_ml_options_set_data(o, "data", view);
  dv[0] = -1;
  struct pressio_ml_data* got = NULL;
  CHECK(pressio_ml_options_get_data(o, "data", &got) == pressio_ml_options_key_set && got != NULL);
  CHECK(((double*)pressio_ml_data_ptr(got, NULL))[0] == 1.0);
  struct pressio_ml_data* existing = pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, NULL);
  struct pressio_ml_data* same = existing;
  CHECK(pressio_ml_options_get_data(o, "data", &same) == pressio_ml_options_key_set &&
        same == existing && pressio_ml_data_num_elements(existing) == 4);
  CHECK(pressio_ml_options_get_data(o, "s", &same) == pressio_ml_options_key_exists);
  pressio_ml_data_free(got);
  pressio_ml_data_free(existing);
  pressio_ml_data_free(view);

  /* copy and dump */
  struct pressio_ml_options* c = pressio_ml_options_copy(o);
  CHECK(c != NULL && pressio_ml_options_size(c) == pressio_ml_options_size(o));
  char* text = pressio_ml_options_to_string(c);
  CHECK(text != NULL && strstr(text, "d<double> = 0.125") != NULL);
  pressio_ml_free(text);

  /* cast_set_string keeps the declared type */
  CHECK(pressio_ml_options_cast_set_string(c, "d", "2.5") == pressio_ml_options_key_set);
  CHECK(pressio_ml_options_get_double(c, "d", &d) == pressio_ml_options_key_set && d == 2.5);
  CHECK(pressio_ml_options_cast_set_string(c, "u8", "17") == pressio_ml_options_key_set);
  CHECK(pressio_ml_options_get_uinteger8(c, "u8", &u8) == pressio_ml_options_key_set && u8 == 17);
  CHECK(pressio_ml_options_cast_set_string(c, "u8", "300") == pressio_ml_options_key_exists);
  CHECK_THREAD_ERROR(4);
  CHECK(pressio_ml_options_cast_set_string(c, "d", "not a number") ==
        pressio_ml_options_key_exists);
  CHECK(pressio_ml_options_cast_set_string(c, "nope", "1") ==
        pressio_ml_options_key_does_not_exist);
  CHECK_THREAD_ERROR(3);
  pressio_ml_options_free(c);

  /* invalid arguments: recorded, no crash */
  CHECK(pressio_ml_options_get_double(NULL, "d", &d) == pressio_ml_options_key_does_not_exist);
  CHECK_THREAD_ERROR(14);
  CHECK(pressio_ml_options_get_double(o, NULL, &d) == pressio_ml_options_key_does_not_exist);
  CHECK(pressio_ml_options_get_double(o, "d", NULL) == pressio_ml_options_key_does_not_exist);
  CHECK(pressio_ml_options_get_strings(o, "arr", NULL, &arr) ==
        pressio_ml_options_key_does_not_exist);
  CHECK(pressio_ml_options_get_data(o, "data", NULL) == pressio_ml_options_key_does_not_exist);
  pressio_ml_options_set_double(NULL, "d", 1);
  CHECK_THREAD_ERROR(14);
  pressio_ml_options_set_string(o, "s", NULL);
  pressio_ml_options_set_strings(o, "arr", 2, NULL);
  pressio_ml_options_set_data(o, "data", NULL);
  pressio_ml_options_set_dtype(o, "dt", (enum pressio_ml_dtype)99);
  pressio_ml_options_set_threadsafety(o, "ts", (enum pressio_ml_thread_safety)99);
  pressio_ml_options_set_string(o, "\xff\xfe", "x");
  CHECK_THREAD_ERROR(14);
  CHECK(pressio_ml_options_get_dtype(o, "dt", &dt) == pressio_ml_options_key_set &&
        dt == pressio_ml_int64_dtype);
  CHECK(pressio_ml_options_exists(NULL, "x") == pressio_ml_options_key_does_not_exist);
  CHECK(pressio_ml_options_cast_set_string(NULL, "x", "1") ==
        pressio_ml_options_key_does_not_exist);
  CHECK(pressio_ml_options_copy(NULL) == NULL);
  CHECK(pressio_ml_options_to_string(NULL) == NULL);
  CHECK(pressio_ml_options_size(NULL) == 0 && pressio_ml_options_num_set(NULL) == 0);
  pressio_ml_options_free(NULL);
  pressio_ml_options_free(o);
}

static double value_range(const float* v, size_t n) {
  float lo = v[0], hi = v[0];
  for (size_t i = 1; i < n; ++i) {
    if (v[i] < lo) lo = v[i];
    if (v[i] > hi) hi = v[i];
  }
  return (double)hi - (double)lo;
}

static double max_abs_error(const float* a, const float* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) {
    double e = fabs((double)a[i] - (double)b[i]);
    if (e > m || e != e) m = e;
  }
  return m;
}

/* A metrics handle for size and error_stat (whichever are registered), or NULL. */
static struct pressio_ml_metrics* make_metrics(void) {
  const char* ids[2];
  int n = 0;
  if (contains_word(pressio_ml_supported_metrics(), "size")) ids[n++] = "size";
  if (contains_word(pressio_ml_supported_metrics(), "error_stat")) ids[n++] = "error_stat";
  if (n == 0) return NULL;
  struct pressio_ml_metrics* m = pressio_ml_new_metrics(ids, n);
  if (m == NULL && n == 2) { /* no composite yet: one metric */
    m = pressio_ml_new_metrics(ids + 1, 1);
  }
  return m;
}

static void test_compressor(const char* id, const float* field, size_t nx, size_t ny, size_t nz) {
  size_t dims[3] = {nx, ny, nz};
  size_t n = nx * ny * nz;
  double abs_bound = 1e-3 * value_range(field, n);
  fprintf(stderr, "compressor %s, abs bound %g\n", id, abs_bound);

  struct pressio_ml_compressor* c = pressio_ml_get_compressor(id);
  CHECK(c != NULL);
  if (c == NULL) return;
  CHECK(pressio_ml_compressor_version(c) != NULL);
  CHECK(pressio_ml_compressor_get_prefix(c) != NULL);
  CHECK(pressio_ml_compressor_error_code(c) == 0);
  CHECK(strcmp(pressio_ml_compressor_error_msg(c), "") == 0);

  struct pressio_ml_options* cfg = pressio_ml_compressor_get_configuration(c);
  enum pressio_ml_thread_safety ts;
  CHECK(cfg != NULL);
  CHECK(pressio_ml_options_get_threadsafety(cfg, "pressio:thread_safe", &ts) ==
        pressio_ml_options_key_set);
  pressio_ml_options_free(cfg);
  struct pressio_ml_options* docs = pressio_ml_compressor_get_documentation(c);
  CHECK(docs != NULL && pressio_ml_options_size(docs) > 0);
  pressio_ml_options_free(docs);

  struct pressio_ml_options* opts = pressio_ml_compressor_get_options(c);
  CHECK(opts != NULL);
  int has_abs = pressio_ml_options_exists(opts, "pressio:abs") != pressio_ml_options_key_does_not_exist;
  if (has_abs) {
    char text[64];
    snprintf(text, sizeof text, "%.17g", abs_bound);
    CHECK(pressio_ml_options_cast_set_string(opts, "pressio:abs", text) ==
          pressio_ml_options_key_set);
    /* set only pressio:abs (echoing the whole template back is also allowed, but a fresh
       options object states the intent) */
    struct pressio_ml_options* only = pressio_ml_options_new();
    pressio_ml_options_set_double(only, "pressio:abs", abs_bound);
    CHECK(pressio_ml_compressor_check_options(c, only) == 0);
    CHECK(pressio_ml_compressor_set_options(c, only) == 0);

    /* wrong option type: pressio:abs as a float is an error, reported on the handle */
    struct pressio_ml_options* wrong = pressio_ml_options_new();
    pressio_ml_options_set_float(wrong, "pressio:abs", (float)abs_bound);
    int rc = pressio_ml_compressor_set_options(c, wrong);
    CHECK(rc == 4);
    CHECK(pressio_ml_compressor_error_code(c) == rc);
    CHECK(strlen(pressio_ml_compressor_error_msg(c)) > 0);
    CHECK(pressio_ml_error_code() == rc);
    pressio_ml_options_free(wrong);
    CHECK(pressio_ml_compressor_set_options(c, only) == 0);
    CHECK(pressio_ml_compressor_error_code(c) == 0);
    pressio_ml_options_free(only);
  } else {
    fprintf(stderr, "  %s has no pressio:abs; bound not checked\n", id);
    CHECK(pressio_ml_compressor_set_options(c, opts) == 0);
  }
  /* an undeclared key under the compressor's prefix fails check_options */
  {
    char key[256];
    snprintf(key, sizeof key, "%s:no_such_option", pressio_ml_compressor_get_prefix(c));
    struct pressio_ml_options* extra = pressio_ml_options_new();
    pressio_ml_options_set_integer(extra, key, 1);
    CHECK(pressio_ml_compressor_check_options(c, extra) != 0);
    CHECK(pressio_ml_compressor_error_code(c) != 0);
    pressio_ml_options_free(extra);
  }
  pressio_ml_options_free(opts);

  struct pressio_ml_metrics* metrics = make_metrics();
  if (metrics != NULL) {
    pressio_ml_compressor_set_metrics(c, metrics);
    struct pressio_ml_metrics* back = pressio_ml_compressor_get_metrics(c);
    CHECK(back != NULL);
    pressio_ml_metrics_free(back);
  } else {
    CHECK(pressio_ml_compressor_get_metrics(c) == NULL);
  }

  /* compress and decompress into an empty template */
  struct pressio_ml_data* input =
      pressio_ml_data_new_nonowning(pressio_ml_float_dtype, (void*)field, 3, dims);
  struct pressio_ml_data* compressed = pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, NULL);
  CHECK(pressio_ml_compressor_compress(c, input, compressed) == 0);
  CHECK(pressio_ml_compressor_error_code(c) == 0);
  CHECK(pressio_ml_data_dtype(compressed) == pressio_ml_byte_dtype);
  size_t cbytes = 0;
  const void* cptr = pressio_ml_data_ptr(compressed, &cbytes);
  CHECK(cptr != NULL && cbytes > 0);
  fprintf(stderr, "  %zu -> %zu bytes\n", n * 4, cbytes);

  struct pressio_ml_data* out = pressio_ml_data_new_empty(pressio_ml_float_dtype, 3, dims);
  CHECK(pressio_ml_compressor_decompress(c, compressed, out) == 0);
  CHECK(pressio_ml_data_num_elements(out) == n && pressio_ml_data_get_bytes(out) == n * 4);
  const float* dec = (const float*)pressio_ml_data_ptr(out, NULL);
  if (dec != NULL && has_abs) {
    double e = max_abs_error(field, dec, n);
    CHECK(e <= abs_bound);
  }

  if (metrics != NULL) {
    struct pressio_ml_options* res = pressio_ml_compressor_get_metrics_results(c);
    CHECK(res != NULL);
    double max_err = -1;
    if (has_abs && pressio_ml_options_get_double(res, "error_stat:max_error", &max_err) ==
                       pressio_ml_options_key_set) {
      CHECK(max_err <= abs_bound);
    }
    pressio_ml_options_free(res);
  } else {
    struct pressio_ml_options* res = pressio_ml_compressor_get_metrics_results(c);
    CHECK(res != NULL);
    pressio_ml_options_free(res);
  }

  /* decompress into a pre-allocated nonowning buffer: writes through */
  float* target = (float*)calloc(n, sizeof(float));
  struct pressio_ml_data* pre =
      pressio_ml_data_new_nonowning(pressio_ml_float_dtype, target, 3, dims);
  CHECK(pressio_ml_compressor_decompress(c, compressed, pre) == 0);
  CHECK(pressio_ml_data_ptr(pre, NULL) == (void*)target);
  if (dec != NULL) CHECK(memcmp(target, dec, n * sizeof(float)) == 0);
  /* decompress without dims: dtype and dims from the stream */
  struct pressio_ml_data* nodims = pressio_ml_data_new_empty(pressio_ml_float_dtype, 0, NULL);
  CHECK(pressio_ml_compressor_decompress(c, compressed, nodims) == 0);
  CHECK(pressio_ml_data_num_elements(nodims) == n);
  pressio_ml_data_free(nodims);

  /* a wrongly sized template is refused */
  size_t wrong_dims[3] = {nx + 1, ny, nz};
  struct pressio_ml_data* wrong = pressio_ml_data_new_empty(pressio_ml_float_dtype, 3, wrong_dims);
  CHECK(pressio_ml_compressor_decompress(c, compressed, wrong) != 0);
  pressio_ml_data_free(wrong);

  /* truncated streams are refused with an error, never a crash */
  size_t cuts[4] = {0, 1, cbytes / 2, cbytes - 1};
  for (int i = 0; i < 4; ++i) {
    size_t len = cuts[i];
    struct pressio_ml_data* cut =
        len == 0 ? pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, NULL)
                 : pressio_ml_data_new_copy(pressio_ml_byte_dtype, cptr, 1, &len);
    struct pressio_ml_data* o2 = pressio_ml_data_new_empty(pressio_ml_float_dtype, 3, dims);
    int rc = pressio_ml_compressor_decompress(c, cut, o2);
    CHECK(rc != 0);
    CHECK(pressio_ml_compressor_error_code(c) == rc);
    CHECK(strlen(pressio_ml_compressor_error_msg(c)) > 0);
    CHECK(pressio_ml_error_code() == rc);
    pressio_ml_data_free(cut);
    pressio_ml_data_free(o2);
  }

  /* NULL and aliased arguments */
  CHECK(pressio_ml_compressor_compress(c, NULL, compressed) == 14);
  CHECK(pressio_ml_compressor_error_code(c) == 14);
  CHECK(pressio_ml_compressor_compress(c, input, NULL) == 14);
  CHECK(pressio_ml_compressor_decompress(c, compressed, compressed) == 14);
  CHECK(pressio_ml_compressor_set_options(c, NULL) == 14);
  CHECK(pressio_ml_compressor_check_options(c, NULL) == 14);
  struct pressio_ml_data* nothing = pressio_ml_data_new_empty(pressio_ml_float_dtype, 3, dims);
  struct pressio_ml_data* sink = pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, NULL);
  CHECK(pressio_ml_compressor_compress(c, nothing, sink) != 0); /* no data */
  pressio_ml_data_free(nothing);
  pressio_ml_data_free(sink);

  /* many */
  {
    const struct pressio_ml_data* ins[2] = {input, input};
    struct pressio_ml_data* outs[2] = {pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, NULL),
                                       pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, NULL)};
    CHECK(pressio_ml_compressor_compress_many(c, ins, 2, outs, 2) == 0);
    CHECK(pressio_ml_data_has_data(outs[0]) && pressio_ml_data_has_data(outs[1]));
    const struct pressio_ml_data* cins[2] = {outs[0], outs[1]};
    struct pressio_ml_data* douts[2] = {pressio_ml_data_new_empty(pressio_ml_float_dtype, 3, dims),
                                        pressio_ml_data_new_owning(pressio_ml_float_dtype, 3, dims)};
    CHECK(pressio_ml_compressor_decompress_many(c, cins, 2, douts, 2) == 0);
    CHECK(pressio_ml_data_num_elements(douts[0]) == n && pressio_ml_data_num_elements(douts[1]) == n);
    if (has_abs && pressio_ml_data_has_data(douts[1])) {
      CHECK(max_abs_error(field, (const float*)pressio_ml_data_ptr(douts[1], NULL), n) <= abs_bound);
    }
    struct pressio_ml_data* dup[2] = {douts[0], douts[0]};
    CHECK(pressio_ml_compressor_decompress_many(c, cins, 2, dup, 2) == 14);
    CHECK(pressio_ml_compressor_decompress_many(c, cins, 2, douts, 1) != 0);
    CHECK(pressio_ml_compressor_compress_many(c, NULL, 2, outs, 2) == 14);
    for (int i = 0; i < 2; ++i) {
      pressio_ml_data_free(outs[i]);
      pressio_ml_data_free(douts[i]);
    }
  }

  /* a clone works independently */
  struct pressio_ml_compressor* clone = pressio_ml_compressor_clone(c);
  CHECK(clone != NULL);
  struct pressio_ml_data* c2 = pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, NULL);
  CHECK(pressio_ml_compressor_compress(clone, input, c2) == 0);
  struct pressio_ml_data* d2 = pressio_ml_data_new_empty(pressio_ml_float_dtype, 3, dims);
  CHECK(pressio_ml_compressor_decompress(c, c2, d2) == 0);
  pressio_ml_data_free(c2);
  pressio_ml_data_free(d2);
  pressio_ml_compressor_release(clone);

  pressio_ml_metrics_free(metrics);
  pressio_ml_data_free(pre);
  free(target);
  pressio_ml_data_free(out);
  pressio_ml_data_free(compressed);
  pressio_ml_data_free(input);
  pressio_ml_compressor_release(c);
}

static void test_compressor_errors(void) {
  CHECK(pressio_ml_get_compressor("no-such-compressor") == NULL);
  CHECK_THREAD_ERROR(1);
  CHECK(strstr(pressio_ml_error_msg(), "no-such-compressor") != NULL);
  CHECK(pressio_ml_get_compressor(NULL) == NULL);
  CHECK_THREAD_ERROR(14);

  struct pressio_ml_data* d = pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, NULL);
  struct pressio_ml_options* o = pressio_ml_options_new();
  CHECK(pressio_ml_compressor_compress(NULL, d, d) == 14);
  CHECK(pressio_ml_compressor_decompress(NULL, d, d) == 14);
  CHECK(pressio_ml_compressor_compress_many(NULL, NULL, 0, NULL, 0) == 14);
  CHECK(pressio_ml_compressor_decompress_many(NULL, NULL, 0, NULL, 0) == 14);
  CHECK(pressio_ml_compressor_set_options(NULL, o) == 14);
  CHECK(pressio_ml_compressor_check_options(NULL, o) == 14);
  CHECK(pressio_ml_compressor_get_options(NULL) == NULL);
  CHECK(pressio_ml_compressor_get_configuration(NULL) == NULL);
  CHECK(pressio_ml_compressor_get_documentation(NULL) == NULL);
  CHECK(pressio_ml_compressor_get_metrics_results(NULL) == NULL);
  CHECK(pressio_ml_compressor_get_metrics(NULL) == NULL);
  CHECK(pressio_ml_compressor_clone(NULL) == NULL);
  CHECK(pressio_ml_compressor_version(NULL) == NULL);
  CHECK(pressio_ml_compressor_get_prefix(NULL) == NULL);
  CHECK(pressio_ml_compressor_error_code(NULL) == 14);
  CHECK(pressio_ml_compressor_error_msg(NULL) != NULL);
  pressio_ml_compressor_set_metrics(NULL, NULL);
  CHECK_THREAD_ERROR(14);
  pressio_ml_compressor_release(NULL);
  pressio_ml_options_free(o);
  pressio_ml_data_free(d);
}

static void test_metrics(const float* field, size_t nx, size_t ny, size_t nz) {
  const char* unknown[1] = {"no-such-metric"};
  CHECK(pressio_ml_new_metrics(unknown, 1) == NULL);
  CHECK_THREAD_ERROR(2);
  CHECK(pressio_ml_new_metrics(NULL, 3) == NULL);
  CHECK_THREAD_ERROR(14);
  CHECK(pressio_ml_new_metrics(unknown, -1) == NULL);
  CHECK(pressio_ml_metrics_get_options(NULL) == NULL);
  CHECK(pressio_ml_metrics_get_configuration(NULL) == NULL);
  CHECK(pressio_ml_metrics_get_documentation(NULL) == NULL);
  CHECK(pressio_ml_metrics_get_results(NULL) == NULL);
  CHECK(pressio_ml_metrics_set_options(NULL, NULL) == 14);
  CHECK(pressio_ml_metrics_evaluate(NULL, NULL, NULL, NULL) == NULL);
  CHECK(pressio_ml_metrics_error_code(NULL) == 14);
  CHECK(pressio_ml_metrics_error_msg(NULL) != NULL);
  pressio_ml_metrics_free(NULL);

  struct pressio_ml_metrics* m = make_metrics();
  if (m == NULL) {
    fprintf(stderr, "no size/error_stat metric registered: metric evaluation skipped\n");
    return;
  }
  struct pressio_ml_options* mo = pressio_ml_metrics_get_options(m);
  CHECK(mo != NULL);
  CHECK(pressio_ml_metrics_set_options(m, mo) == 0);
  CHECK(pressio_ml_metrics_set_options(m, NULL) == 14);
  CHECK(pressio_ml_metrics_error_code(m) == 14);
  CHECK(strlen(pressio_ml_metrics_error_msg(m)) > 0);
  CHECK(pressio_ml_metrics_set_options(m, mo) == 0);
  CHECK(pressio_ml_metrics_error_code(m) == 0);
  pressio_ml_options_free(mo);
  struct pressio_ml_options* mc = pressio_ml_metrics_get_configuration(m);
  CHECK(mc != NULL);
  pressio_ml_options_free(mc);
  struct pressio_ml_options* md = pressio_ml_metrics_get_documentation(m);
  CHECK(md != NULL);
  pressio_ml_options_free(md);

  size_t dims[3] = {nx, ny, nz};
  size_t n = nx * ny * nz;
  float* noisy = (float*)malloc(n * sizeof(float));
  for (size_t i = 0; i < n; ++i) noisy[i] = field[i] + ((i % 2) ? 0.25f : -0.25f);
  struct pressio_ml_data* a = pressio_ml_data_new_copy(pressio_ml_float_dtype, field, 3, dims);
  struct pressio_ml_data* b = pressio_ml_data_new_nonowning(pressio_ml_float_dtype, noisy, 3, dims);
  size_t half = n * 2;
  struct pressio_ml_data* comp = pressio_ml_data_new_owning(pressio_ml_byte_dtype, 1, &half);
  struct pressio_ml_options* r = pressio_ml_metrics_evaluate(m, a, comp, b);
  CHECK(r != NULL);
  double max_err = -1;
  if (r != NULL && pressio_ml_options_get_double(r, "error_stat:max_error", &max_err) ==
                       pressio_ml_options_key_set) {
    CHECK(fabs(max_err - 0.25) < 1e-3);
  }
  pressio_ml_options_free(r);
  struct pressio_ml_options* r2 = pressio_ml_metrics_get_results(m);
  CHECK(r2 != NULL);
  pressio_ml_options_free(r2);
  CHECK(pressio_ml_metrics_evaluate(m, NULL, comp, NULL) == NULL);
  CHECK(pressio_ml_metrics_error_code(m) != 0);

  /* the DeepCQ search's argument checks (a full search runs in tests/deepcq_capi.rs) */
  struct pressio_ml_options* settings = pressio_ml_options_new();
  CHECK(pressio_ml_deepcq_search(NULL, "classic", settings) == NULL);
  CHECK_THREAD_ERROR(14);
  CHECK(pressio_ml_deepcq_search(a, NULL, settings) == NULL);
  CHECK_THREAD_ERROR(14);
  CHECK(pressio_ml_deepcq_search(a, "classic", NULL) == NULL);
  CHECK_THREAD_ERROR(14);
  CHECK(pressio_ml_deepcq_search(a, "no-such-compressor", settings) == NULL);
  CHECK_THREAD_ERROR(1);
  /* no target set */
  CHECK(pressio_ml_deepcq_search(a, "classic", settings) == NULL);
  CHECK(pressio_ml_error_code() != 0);
  pressio_ml_options_free(settings);
  pressio_ml_data_free(a);
  pressio_ml_data_free(b);
  pressio_ml_data_free(comp);
  free(noisy);
  pressio_ml_metrics_free(m);
}

int main(int argc, char* argv[]) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s <field.f32> <nx> <ny> <nz> [compressor_id ...]\n", argv[0]);
    return 2;
  }
  size_t nx = strtoul(argv[2], NULL, 10), ny = strtoul(argv[3], NULL, 10),
         nz = strtoul(argv[4], NULL, 10);
  size_t n = nx * ny * nz;
  float* field = (float*)malloc(n * sizeof(float));
  FILE* f = fopen(argv[1], "rb");
  if (f == NULL || field == NULL || fread(field, sizeof(float), n, f) != n) {
    fprintf(stderr, "cannot read %zu floats from %s\n", n, argv[1]);
    return 2;
  }
  fclose(f);

  test_library();
  test_data();
  test_options();
  test_compressor_errors();
  test_metrics(field, nx, ny, nz);

  if (argc > 5) {
    for (int i = 5; i < argc; ++i) test_compressor(argv[i], field, nx, ny, nz);
  } else {
    /* every registered compressor: split the static id list */
    const char* ids = pressio_ml_supported_compressors();
    char* list = (char*)malloc(strlen(ids) + 1);
    strcpy(list, ids);
    int count = 0;
    for (char* tok = strtok(list, " "); tok != NULL; tok = strtok(NULL, " ")) {
      test_compressor(tok, field, nx, ny, nz);
      count++;
    }
    if (count == 0) fprintf(stderr, "no compressor registered: compressor round trips skipped\n");
    free(list);
  }
  free(field);

  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("api_test: all checks passed\n");
  return 0;
}
