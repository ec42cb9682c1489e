/*
 * Drives one compressor from 8 threads at once through the C interface. Built and run by
 * tests/capi_stress.rs.
 *
 * usage: stress_test <compressor_id> <field.f32> <abs_bound> <iterations> <dim0> [<dim1> ...]
 *
 * Phase 1 ("shared"): when the plugin's pressio:thread_safe is multiple, all threads share the
 * one handle; otherwise each thread clones it (pressio_ml_compressor_clone), as the header
 * prescribes for single and serialized plugins.
 * Phase 2 ("clones"): every thread uses its own clone with its own bound (abs * (1 + t)), set
 * concurrently with the other threads' compressions.
 * Every thread compresses a variant of the field (scaled and shifted by its index), decompresses
 * it into an empty template and into a pre-allocated nonowning buffer, and checks that every
 * value is within the bound. Exit status 0 when every round trip passed.
 */
#define _POSIX_C_SOURCE 200809L
#include "pressio_ml.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8

struct job {
  int index;
  int phase; /* 1: shared handle or clone per thread, 2: clones with their own bound */
  struct pressio_ml_compressor* shared;
  int share;
  const float* field;
  size_t n;
  size_t ndims;
  const size_t* dims;
  double abs_bound;
  int iterations;
  pthread_barrier_t* barrier;
  int failures;
  int round_trips;
  char message[512];
};

static void fail(struct job* j, const char* what, const char* msg) {
  if (j->failures++ == 0) {
    snprintf(j->message, sizeof j->message, "thread %d phase %d: %s: %s", j->index, j->phase, what,
             msg);
  }
}

static void* worker(void* arg) {
  struct job* j = (struct job*)arg;
  struct pressio_ml_compressor* c = j->shared;
  double bound = j->abs_bound;
  int own = 0;
  if (!j->share) {
    c = pressio_ml_compressor_clone(j->shared);
    own = 1;
    if (c == NULL) {
      fail(j, "clone", pressio_ml_error_msg());
      pthread_barrier_wait(j->barrier);
      return NULL;
    }
    if (j->phase == 2) {
      bound = j->abs_bound * (1.0 + j->index);
      struct pressio_ml_options* o = pressio_ml_options_new();
      pressio_ml_options_set_double(o, "pressio:abs", bound);
      if (pressio_ml_compressor_set_options(c, o) != 0) fail(j, "set_options", pressio_ml_error_msg());
      pressio_ml_options_free(o);
    }
  }

  /* this thread's variant of the field */
  float* values = (float*)malloc(j->n * sizeof(float));
  float* target = (float*)malloc(j->n * sizeof(float));
  for (size_t i = 0; i < j->n; ++i) values[i] = j->field[i] * (1.0f + 0.125f * j->index) + (float)j->index;
  struct pressio_ml_data* input =
      pressio_ml_data_new_nonowning(pressio_ml_float_dtype, values, j->ndims, j->dims);
  struct pressio_ml_data* pre =
      pressio_ml_data_new_nonowning(pressio_ml_float_dtype, target, j->ndims, j->dims);

  pthread_barrier_wait(j->barrier); /* start together */
  for (int it = 0; it < j->iterations && j->failures == 0; ++it) {
    struct pressio_ml_data* compressed = pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, NULL);
    struct pressio_ml_data* out = pressio_ml_data_new_empty(pressio_ml_float_dtype, j->ndims, j->dims);
    if (pressio_ml_compressor_compress(c, input, compressed) != 0) {
      fail(j, "compress", pressio_ml_error_msg());
    } else if (pressio_ml_compressor_decompress(c, compressed, out) != 0) {
      fail(j, "decompress", pressio_ml_error_msg());
    } else if (pressio_ml_compressor_decompress(c, compressed, pre) != 0) {
      fail(j, "decompress into a pre-allocated buffer", pressio_ml_error_msg());
    } else {
      const float* dec = (const float*)pressio_ml_data_ptr(out, NULL);
      double worst = 0;
      for (size_t i = 0; i < j->n; ++i) {
        double e = fabs((double)values[i] - (double)dec[i]);
        double e2 = fabs((double)values[i] - (double)target[i]);
        if (e > worst || e != e) worst = e;
        if (e2 > worst || e2 != e2) worst = e2;
      }
      if (!(worst <= bound)) {
        char msg[128];
        snprintf(msg, sizeof msg, "max error %g exceeds %g", worst, bound);
        fail(j, "round trip", msg);
      } else {
        j->round_trips++;
      }
    }
    pressio_ml_data_free(compressed);
    pressio_ml_data_free(out);
  }

  pressio_ml_data_free(input);
  pressio_ml_data_free(pre);
  free(values);
  free(target);
  if (own) pressio_ml_compressor_release(c);
  return NULL;
}

int main(int argc, char* argv[]) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s <compressor_id> <field.f32> <abs> <iterations> <dim0> ...\n", argv[0]);
    return 2;
  }
  const char* id = argv[1];
  double abs_bound = strtod(argv[3], NULL);
  int iterations = atoi(argv[4]);
  size_t dims[16];
  size_t ndims = 0, n = 1;
  for (int i = 5; i < argc && ndims < 16; ++i) {
    dims[ndims] = strtoul(argv[i], NULL, 10);
    n *= dims[ndims++];
  }
  float* field = (float*)malloc(n * sizeof(float));
  FILE* f = fopen(argv[2], "rb");
  if (f == NULL || field == NULL || fread(field, sizeof(float), n, f) != n) {
    fprintf(stderr, "cannot read %zu floats from %s\n", n, argv[2]);
    return 2;
  }
  fclose(f);

  struct pressio_ml_compressor* c = pressio_ml_get_compressor(id);
  if (c == NULL) {
    fprintf(stderr, "%s\n", pressio_ml_error_msg());
    return 2;
  }
  struct pressio_ml_options* cfg = pressio_ml_compressor_get_configuration(c);
  enum pressio_ml_thread_safety ts = pressio_ml_thread_safety_single;
  if (pressio_ml_options_get_threadsafety(cfg, "pressio:thread_safe", &ts) !=
      pressio_ml_options_key_set) {
    fprintf(stderr, "%s reports no pressio:thread_safe\n", id);
    return 1;
  }
  pressio_ml_options_free(cfg);
  struct pressio_ml_options* o = pressio_ml_options_new();
  pressio_ml_options_set_double(o, "pressio:abs", abs_bound);
  if (pressio_ml_compressor_set_options(c, o) != 0) {
    fprintf(stderr, "set_options: %s\n", pressio_ml_compressor_error_msg(c));
    return 1;
  }
  pressio_ml_options_free(o);

  int total_failures = 0, total_round_trips = 0;
  for (int phase = 1; phase <= 2; ++phase) {
    int share = phase == 1 && ts == pressio_ml_thread_safety_multiple;
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    pthread_t threads[THREADS];
    struct job jobs[THREADS];
    for (int t = 0; t < THREADS; ++t) {
      struct job j = {t, phase, c, share, field, n, ndims, dims, abs_bound, iterations, &barrier,
                      0, 0, {0}};
      jobs[t] = j;
      if (pthread_create(&threads[t], NULL, worker, &jobs[t]) != 0) {
        fprintf(stderr, "cannot start thread %d\n", t);
        return 1;
      }
    }
    for (int t = 0; t < THREADS; ++t) {
      pthread_join(threads[t], NULL);
      total_failures += jobs[t].failures;
      total_round_trips += jobs[t].round_trips;
      if (jobs[t].failures != 0) fprintf(stderr, "%s\n", jobs[t].message);
    }
    pthread_barrier_destroy(&barrier);
    printf("%s phase %d (%s): done\n", id, phase,
           share ? "one shared handle" : "one clone per thread");
  }
  pressio_ml_compressor_release(c);
  free(field);
  printf("%s: thread_safe=%d, %d round trips, %d failures\n", id, (int)ts, total_round_trips,
         total_failures);
  return total_failures == 0 ? 0 : 1;
}
