/*
 * The boundary between the C++ shim (pressio_ml_shim.cc) and the Rust side of the pressio-ml
 * LibPressio bridge (src/ffi.rs).
 *
 * The Rust side owns one handle per LibPressio plugin instance and translates LibPressio's
 * pressio_options / pressio_data through LibPressio's own C API. The shim owns the C++ objects
 * LibPressio sees (subclasses of its plugin base classes) and the registrations.
 *
 * Conventions: functions returning int return 0 on success and a positive pressio-ml error code
 * otherwise; the message is then available from the matching *_error_msg function (borrowed,
 * valid until the next call on the handle). Strings returned by *_id / *_prefix / *_version are
 * borrowed from the Rust side and live as long as the handle (ids: forever). `name` arguments are
 * the plugin's LibPressio name (hierarchical option names); they may be empty.
 */
#ifndef PRESSIO_ML_SHIM_H
#define PRESSIO_ML_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pressio_options;
struct pressio_data;

/* ---- implemented in Rust (src/ffi.rs) ---- */

/** Opaque Rust compressor handle. */
typedef struct pressio_ml_bridge_compressor pressio_ml_bridge_compressor;
/** Opaque Rust metrics handle. */
typedef struct pressio_ml_bridge_metric pressio_ml_bridge_metric;

/** Kinds of plugin, for the id lists. */
enum pressio_ml_bridge_kind { pressio_ml_bridge_compressor_kind = 0, pressio_ml_bridge_metric_kind = 1 };

/** Number of pressio-ml ids of `kind` that the bridge offers to LibPressio. */
size_t pressio_ml_bridge_count(int kind);
/** The i-th id of `kind` (NULL when out of range). */
const char* pressio_ml_bridge_id(int kind, size_t i);

pressio_ml_bridge_compressor* pressio_ml_bridge_compressor_new(const char* id);
pressio_ml_bridge_compressor* pressio_ml_bridge_compressor_clone(const pressio_ml_bridge_compressor* c);
void pressio_ml_bridge_compressor_free(pressio_ml_bridge_compressor* c);
const char* pressio_ml_bridge_compressor_prefix(const pressio_ml_bridge_compressor* c);
const char* pressio_ml_bridge_compressor_version(const pressio_ml_bridge_compressor* c);
/** which: 0 major, 1 minor, 2 patch. */
int pressio_ml_bridge_compressor_version_part(const pressio_ml_bridge_compressor* c, int which);
const char* pressio_ml_bridge_compressor_error_msg(const pressio_ml_bridge_compressor* c);
/** which: 0 options, 1 configuration, 2 documentation, 3 metrics results. */
int pressio_ml_bridge_compressor_get(const pressio_ml_bridge_compressor* c, int which, const char* name,
                                     struct pressio_options* out);
int pressio_ml_bridge_compressor_set_options(pressio_ml_bridge_compressor* c, const char* name,
                                             const struct pressio_options* options);
int pressio_ml_bridge_compressor_check_options(pressio_ml_bridge_compressor* c, const char* name,
                                               const struct pressio_options* options);
int pressio_ml_bridge_compressor_compress(pressio_ml_bridge_compressor* c, const struct pressio_data* input,
                                          struct pressio_data* output);
int pressio_ml_bridge_compressor_decompress(pressio_ml_bridge_compressor* c, const struct pressio_data* input,
                                            struct pressio_data* output);
int pressio_ml_bridge_compressor_compress_many(pressio_ml_bridge_compressor* c,
                                               const struct pressio_data* const* inputs, size_t n_inputs,
                                               struct pressio_data* const* outputs, size_t n_outputs);
int pressio_ml_bridge_compressor_decompress_many(pressio_ml_bridge_compressor* c,
                                                 const struct pressio_data* const* inputs, size_t n_inputs,
                                                 struct pressio_data* const* outputs, size_t n_outputs);
/** Calls push(ctx, child) for each child id. */
void pressio_ml_bridge_compressor_children(const pressio_ml_bridge_compressor* c,
                                           void (*push)(void* ctx, const char* child), void* ctx);

pressio_ml_bridge_metric* pressio_ml_bridge_metric_new(const char* id);
pressio_ml_bridge_metric* pressio_ml_bridge_metric_clone(const pressio_ml_bridge_metric* m);
void pressio_ml_bridge_metric_free(pressio_ml_bridge_metric* m);
const char* pressio_ml_bridge_metric_prefix(const pressio_ml_bridge_metric* m);
const char* pressio_ml_bridge_metric_error_msg(const pressio_ml_bridge_metric* m);
/** which: 0 options, 1 configuration, 2 documentation. */
int pressio_ml_bridge_metric_get(const pressio_ml_bridge_metric* m, int which, const char* name,
                                 struct pressio_options* out);
int pressio_ml_bridge_metric_set_options(pressio_ml_bridge_metric* m, const char* name,
                                         const struct pressio_options* options);
/** Results (every key, typed placeholders while unknown) given the compressor's own results. */
int pressio_ml_bridge_metric_results(pressio_ml_bridge_metric* m, const char* name,
                                     const struct pressio_options* compressor_results,
                                     struct pressio_options* out);
/**
 * A compress/decompress hook. hook: 0 begin_compress, 1 end_compress, 2 begin_decompress,
 * 3 end_decompress (and the same for the _many hooks with the arrays). rc is the compressor's
 * return code for end hooks.
 */
int pressio_ml_bridge_metric_hook(pressio_ml_bridge_metric* m, int hook, int many,
                                  const struct pressio_data* const* inputs, size_t n_inputs,
                                  const struct pressio_data* const* outputs, size_t n_outputs, int rc);
/**
 * An options hook of the compressor the metric is attached to. hook: 0 check_options,
 * 1 set_options, 2 get_options, 3 get_configuration, 4 get_documentation; phase: 0 begin, 1 end.
 */
void pressio_ml_bridge_metric_options_hook(pressio_ml_bridge_metric* m, int hook, int phase);
/** Calls push(ctx, child) for each child id. */
void pressio_ml_bridge_metric_children(const pressio_ml_bridge_metric* m,
                                       void (*push)(void* ctx, const char* child), void* ctx);

/* ---- implemented in C++ (pressio_ml_shim.cc) ---- */

/** Move *src into *dst (the C API has no assignment) and free src. */
void pressio_ml_shim_data_assign(struct pressio_data* dst, struct pressio_data* src);
/**
 * Register every id the bridge offers that LibPressio does not already have (idempotent; ids
 * registered before and erased since are registered again). Returns the number of ids this
 * library has registered.
 */
size_t pressio_ml_shim_register_all(void);
/** 1 when `id` of `kind` is registered in LibPressio by this library, 0 otherwise. */
int pressio_ml_shim_is_ours(int kind, const char* id);
/** Calls push(ctx, id) for every id in LibPressio's registry of `kind`. */
void pressio_ml_shim_libpressio_ids(int kind, void (*push)(void* ctx, const char* id), void* ctx);
/** 1 when LibPressio's registry of `kind` has `id` (whoever registered it), 0 otherwise. */
int pressio_ml_shim_libpressio_has(int kind, const char* id);
/**
 * Register the pressio-ml plugin `rust_id` of `kind` under the LibPressio id `as_id` (for tests
 * and for users who want a pressio-ml plugin whose id LibPressio already uses under another
 * name). Returns 0 on success, 1 when `as_id` is taken, 2 when `rust_id` is unknown.
 */
int pressio_ml_shim_register_as(int kind, const char* rust_id, const char* as_id);
/** Unregister an id that this library registered (0 on success, 1 when it is not ours). */
int pressio_ml_shim_unregister(int kind, const char* as_id);

#ifdef __cplusplus
}
#endif

#endif /* PRESSIO_ML_SHIM_H */
