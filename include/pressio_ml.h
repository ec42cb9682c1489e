/*
 * pressio_ml.h: the C interface of pressio-ml, error-bounded lossy compressors for scientific
 * data.
 *
 * C99; usable from C++ (the declarations have C linkage). Link with -lpressio_ml (shared
 * library libpressio_ml.so) or with libpressio_ml.a plus the system libraries the static
 * library needs (see examples/c/README.md).
 *
 * The interface mirrors LibPressio's C API with the prefix pressio_ml_: the same handle kinds
 * (data, options, compressor, metrics), the same dtype and key status values, the same
 * exact-type option getters and the same ownership rules. Dimensions are always given fastest
 * varying first (dims[0] is the contiguous axis, as in LibPressio and Fortran).
 *
 * OWNERSHIP
 *   - Every function that returns a new handle (pressio_ml_data_new_*, pressio_ml_options_new,
 *     *_copy, *_clone, pressio_ml_get_compressor, pressio_ml_new_metrics, and the getters
 *     returning struct pressio_ml_options*) transfers ownership to the caller, who frees it with
 *     the matching function: pressio_ml_data_free, pressio_ml_options_free,
 *     pressio_ml_compressor_release, pressio_ml_metrics_free.
 *   - Strings returned as `char*` and arrays returned through `char***` are allocated with the C
 *     library's malloc; free them with pressio_ml_free (plain free() works as well).
 *   - Strings returned as `const char*` are borrowed: never free them. How long they stay
 *     valid is stated per function.
 *   - Arguments are borrowed for the duration of the call unless stated otherwise; setters copy
 *     what they are given (strings, string arrays, data values).
 *   - Every free/release function accepts NULL and does nothing.
 *
 * ERRORS
 *   - Functions returning int return 0 on success and a positive error code on failure.
 *   - Functions returning a pointer return NULL on failure.
 *   - Every failure is recorded as the calling thread's last error, read with
 *     pressio_ml_error_code and pressio_ml_error_msg (like errno: a success does not clear it).
 *     Compressor and metrics failures are also recorded on the handle
 *     (pressio_ml_compressor_error_code/_msg, pressio_ml_metrics_error_code/_msg), which a
 *     successful set_options, check_options, compress or decompress call resets.
 *   - NULL handles, NULL required pointers, invalid enum values and out-of-range arguments are
 *     errors (code 14), never crashes. Functions that cannot return an error (void results,
 *     queries) record it as the thread's last error and return a neutral value.
 *   - No panic or exception crosses this interface: an internal failure is error code 16.
 *   - Error codes: 1 unknown compressor, 2 unknown metric, 3 unknown option, 4 wrong option
 *     type, 5 invalid option value, 6 unsupported dtype, 7 invalid dimensions, 8 invalid input,
 *     9 corrupt stream, 10 stream mismatch (another plugin, version or model), 11 model error,
 *     12 unsupported operation, 13 backend failure, 14 invalid argument, 15 I/O error,
 *     16 internal error.
 *
 * THREADS
 *   - The library functions, options and data handles may be used from any thread. An options
 *     or data handle must not be modified by one thread while another thread uses it; reading
 *     one handle from several threads at once (e.g. the same input of several compress calls)
 *     is fine.
 *   - Every compressor handle may be passed to and used from any thread (it is "Send"). Calls
 *     on one handle are serialized by an internal lock, so sharing one handle between threads
 *     is memory-safe for every plugin; a plugin's "pressio:thread_safe" configuration entry
 *     (pressio_ml_options_get_threadsafety) says what runs in parallel:
 *       pressio_ml_thread_safety_multiple:   one handle may be shared by many threads (calls
 *                                            take turns); clones run fully in parallel;
 *       pressio_ml_thread_safety_serialized: use one handle per thread (pressio_ml_compressor_clone);
 *                                            clones run in parallel;
 *       pressio_ml_thread_safety_single:     use one clone per thread; the library serializes
 *                                            every call on every handle of that plugin
 *                                            process-wide, so clones are safe but do not
 *                                            run in parallel.
 *     When a handle is shared, read errors with pressio_ml_error_code/_msg (per thread) rather
 *     than the handle's error functions (whose state belongs to the last call of any thread).
 *   - Metrics handles serialize their calls the same way.
 */
#ifndef PRESSIO_ML_H
#define PRESSIO_ML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Enumerations                                                                             */
/* ---------------------------------------------------------------------------------------- */

/** Element types, with LibPressio's values. */
enum pressio_ml_dtype {
  pressio_ml_double_dtype = 0, /**< 64-bit IEEE float */
  pressio_ml_float_dtype = 1,  /**< 32-bit IEEE float */
  pressio_ml_uint8_dtype = 2,  /**< uint8_t */
  pressio_ml_uint16_dtype = 3, /**< uint16_t */
  pressio_ml_uint32_dtype = 4, /**< uint32_t */
  pressio_ml_uint64_dtype = 5, /**< uint64_t */
  pressio_ml_int8_dtype = 6,   /**< int8_t */
  pressio_ml_int16_dtype = 7,  /**< int16_t */
  pressio_ml_int32_dtype = 8,  /**< int32_t */
  pressio_ml_int64_dtype = 9,  /**< int64_t */
  pressio_ml_byte_dtype = 10,  /**< untyped bytes (compressed streams) */
  pressio_ml_bool_dtype = 11   /**< bool, one byte each */
};

/** Result of option lookups, with LibPressio's values and exact-type get semantics. */
enum pressio_ml_options_key_status {
  /** The key holds a value (for typed gets: a value of exactly the requested type). */
  pressio_ml_options_key_set = 0,
  /** pressio_ml_options_exists: declared without a value. Typed gets: the key holds a value of
   *  another type. pressio_ml_options_cast_set_string: the text could not be converted. */
  pressio_ml_options_key_exists = 1,
  /** The key is absent (typed gets: absent, or declared without a value). */
  pressio_ml_options_key_does_not_exist = 2
};

/** Thread safety levels reported as "pressio:thread_safe" (see THREADS above). */
enum pressio_ml_thread_safety {
  pressio_ml_thread_safety_single = 0,     /**< one clone per thread; calls serialized globally */
  pressio_ml_thread_safety_serialized = 1, /**< one clone per thread; clones run in parallel */
  pressio_ml_thread_safety_multiple = 2    /**< handles may be shared; clones run in parallel */
};

/* ---------------------------------------------------------------------------------------- */
/* Opaque handles                                                                           */
/* ---------------------------------------------------------------------------------------- */

/** A typed n-D buffer: owns its bytes, borrows them from the caller, or holds metadata only. */
struct pressio_ml_data;
/** A map of option keys to typed values or typed placeholders (declared, unset keys). */
struct pressio_ml_options;
/** An instance of a compressor plugin with its options, attached metrics and last error. */
struct pressio_ml_compressor;
/** An instance of one or more metrics plugins. */
struct pressio_ml_metrics;

/* ---------------------------------------------------------------------------------------- */
/* Library                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/** Version of pressio-ml, "major.minor.patch". Static string: never free it. */
const char* pressio_ml_version(void);

/** Space-separated ids of every compressor, sorted. Static string (built on first call): never
 *  free it. NULL only on an internal failure. */
const char* pressio_ml_supported_compressors(void);

/** Space-separated ids of every metric, sorted. Static string: never free it. */
const char* pressio_ml_supported_metrics(void);

/** Code of the calling thread's last error, 0 if it never had one. Not reset by successes. */
int pressio_ml_error_code(void);

/** Message of the calling thread's last error ("" if none). Borrowed: valid until the thread's
 *  next failing call. Never NULL. */
const char* pressio_ml_error_msg(void);

/** Free a string or an array that this library returned as "free with pressio_ml_free"
 *  (malloc'd). NULL is ignored. Never pass handles here. */
void pressio_ml_free(void* ptr);

/** Size in bytes of one element of `dtype`, or -1 when `dtype` is not a valid dtype. */
int pressio_ml_dtype_size(enum pressio_ml_dtype dtype);

/* ---------------------------------------------------------------------------------------- */
/* Data                                                                                     */
/* ---------------------------------------------------------------------------------------- */
/* `dims` holds `num_dimensions` extents, fastest varying first; it is copied. It may be NULL
 * only when num_dimensions is 0, which creates a buffer without dimensions and without bytes.
 * Every constructor returns a new handle (free it with pressio_ml_data_free) or NULL on error
 * (invalid dtype, NULL pointer, sizes that overflow or exceed 2^40 bytes). */

/** A new buffer owning a copy of the product(dims) * size(dtype) bytes at `src`. */
struct pressio_ml_data* pressio_ml_data_new_copy(enum pressio_ml_dtype dtype, const void* src,
                                                 size_t num_dimensions, const size_t dims[]);

/** A new buffer that BORROWS `data`: the library reads and writes it in place and never frees
 *  it. `data` must stay valid until the handle is freed, and be aligned for `dtype`
 *  (a misaligned pointer is refused). Decompressing into such a handle writes into `data`. */
struct pressio_ml_data* pressio_ml_data_new_nonowning(enum pressio_ml_dtype dtype, void* data,
                                                      size_t num_dimensions, const size_t dims[]);

/** A new zero-filled buffer owned by the handle. */
struct pressio_ml_data* pressio_ml_data_new_owning(enum pressio_ml_dtype dtype,
                                                   size_t num_dimensions, const size_t dims[]);

/** A new handle with a dtype and dims but no bytes (has_data is false): the output template of
 *  compress (pressio_ml_byte_dtype, 0, NULL) and of decompress (the expected dtype and dims, or
 *  no dims to take them from the stream). */
struct pressio_ml_data* pressio_ml_data_new_empty(enum pressio_ml_dtype dtype,
                                                  size_t num_dimensions, const size_t dims[]);

/** A new deep copy of `src` that owns its bytes (also when `src` borrows). NULL on error. */
struct pressio_ml_data* pressio_ml_data_new_clone(const struct pressio_ml_data* src);

/** Free the handle and the bytes it owns; borrowed bytes are left alone. NULL is ignored. */
void pressio_ml_data_free(struct pressio_ml_data* data);

/** Pointer to the first byte, borrowed from the handle (NULL when it has no bytes). It stays
 *  valid until the handle is freed or its contents are replaced (compress, decompress,
 *  pressio_ml_options_get_data into it). The caller may write through it. If `out_bytes` is not
 *  NULL it receives the size in bytes. */
void* pressio_ml_data_ptr(const struct pressio_ml_data* data, size_t* out_bytes);

/** The element type. A NULL handle returns pressio_ml_byte_dtype (recorded as an error). */
enum pressio_ml_dtype pressio_ml_data_dtype(const struct pressio_ml_data* data);

/** Number of dimensions (0 for a NULL handle, recorded as an error). */
size_t pressio_ml_data_num_dimensions(const struct pressio_ml_data* data);

/** Extent of dimension `i` (0 is the fastest). Returns 0 when `i` is out of range or the handle
 *  is NULL; both are recorded as errors. */
size_t pressio_ml_data_get_dimension(const struct pressio_ml_data* data, size_t i);

/** Size of the buffer in bytes (0 when it has no bytes or the handle is NULL). */
size_t pressio_ml_data_get_bytes(const struct pressio_ml_data* data);

/** Number of elements the dims describe (0 without dims or for a NULL handle). */
size_t pressio_ml_data_num_elements(const struct pressio_ml_data* data);

/** True when the handle holds bytes (false for empty buffers and NULL). */
bool pressio_ml_data_has_data(const struct pressio_ml_data* data);

/* ---------------------------------------------------------------------------------------- */
/* Options                                                                                  */
/* ---------------------------------------------------------------------------------------- */
/* Setters replace the key's type and value and copy their argument; on an invalid argument
 * (NULL handle or key, key or string not UTF-8, invalid enum value) nothing is set and the
 * error is recorded as the thread's last error.
 *
 * Typed getters follow LibPressio's exact-type semantics and write `*value` only on
 * pressio_ml_options_key_set:
 *   pressio_ml_options_key_set            the key holds a value of exactly this type;
 *   pressio_ml_options_key_exists         the key holds a value of another type (no conversion
 *                                         is attempted: a double is not read as a float);
 *   pressio_ml_options_key_does_not_exist the key is absent or declared without a value; also
 *                                         returned, with a recorded error, on invalid arguments.
 *
 * Compressors read options with their declared type. To set options from text, or without
 * knowing their types, fetch pressio_ml_compressor_get_options() and use
 * pressio_ml_options_cast_set_string on it. */

/** A new, empty options map. Free it with pressio_ml_options_free. */
struct pressio_ml_options* pressio_ml_options_new(void);

/** A new deep copy of `options` (data values included); NULL on error. */
struct pressio_ml_options* pressio_ml_options_copy(const struct pressio_ml_options* options);

/** Free an options handle. NULL is ignored. */
void pressio_ml_options_free(struct pressio_ml_options* options);

/** Raw status of `key`: set (holds a value), exists (declared without a value, a typed
 *  placeholder) or does_not_exist. */
enum pressio_ml_options_key_status pressio_ml_options_exists(
    const struct pressio_ml_options* options, const char* key);

/** Number of keys, with or without a value (0 for NULL). */
size_t pressio_ml_options_size(const struct pressio_ml_options* options);

/** Number of keys holding a value (0 for NULL). */
size_t pressio_ml_options_num_set(const struct pressio_ml_options* options);

/** A human-readable dump, one "key<type> = value" line per key in sorted order (for display;
 *  do not parse it). malloc'd: free it with pressio_ml_free. NULL on error. */
char* pressio_ml_options_to_string(const struct pressio_ml_options* options);

/** Parse `value` into the declared type of `key` and set it, as command lines need (numbers,
 *  "true"/"false", dtype names, thread safety names, strings). Returns set on success, exists
 *  (error 4 recorded) when the text cannot be converted, does_not_exist (error 3 recorded) when
 *  `key` is not declared in `options`, or on invalid arguments. */
enum pressio_ml_options_key_status pressio_ml_options_cast_set_string(
    struct pressio_ml_options* options, const char* key, const char* value);

/** Set `key` to a uint8_t. */
void pressio_ml_options_set_uinteger8(struct pressio_ml_options* options, const char* key,
                                      uint8_t value);
/** Exact-type get of a uint8_t. */
enum pressio_ml_options_key_status pressio_ml_options_get_uinteger8(
    const struct pressio_ml_options* options, const char* key, uint8_t* value);

/** Set `key` to an int8_t. */
void pressio_ml_options_set_integer8(struct pressio_ml_options* options, const char* key,
                                     int8_t value);
/** Exact-type get of an int8_t. */
enum pressio_ml_options_key_status pressio_ml_options_get_integer8(
    const struct pressio_ml_options* options, const char* key, int8_t* value);

/** Set `key` to a uint16_t. */
void pressio_ml_options_set_uinteger16(struct pressio_ml_options* options, const char* key,
                                       uint16_t value);
/** Exact-type get of a uint16_t. */
enum pressio_ml_options_key_status pressio_ml_options_get_uinteger16(
    const struct pressio_ml_options* options, const char* key, uint16_t* value);

/** Set `key` to an int16_t. */
void pressio_ml_options_set_integer16(struct pressio_ml_options* options, const char* key,
                                      int16_t value);
/** Exact-type get of an int16_t. */
enum pressio_ml_options_key_status pressio_ml_options_get_integer16(
    const struct pressio_ml_options* options, const char* key, int16_t* value);

/** Set `key` to a uint32_t (LibPressio's "uinteger"). */
void pressio_ml_options_set_uinteger(struct pressio_ml_options* options, const char* key,
                                     uint32_t value);
/** Exact-type get of a uint32_t. */
enum pressio_ml_options_key_status pressio_ml_options_get_uinteger(
    const struct pressio_ml_options* options, const char* key, uint32_t* value);

/** Set `key` to an int32_t (LibPressio's "integer"). */
void pressio_ml_options_set_integer(struct pressio_ml_options* options, const char* key,
                                    int32_t value);
/** Exact-type get of an int32_t. */
enum pressio_ml_options_key_status pressio_ml_options_get_integer(
    const struct pressio_ml_options* options, const char* key, int32_t* value);

/** Set `key` to a uint64_t. */
void pressio_ml_options_set_uinteger64(struct pressio_ml_options* options, const char* key,
                                       uint64_t value);
/** Exact-type get of a uint64_t. */
enum pressio_ml_options_key_status pressio_ml_options_get_uinteger64(
    const struct pressio_ml_options* options, const char* key, uint64_t* value);

/** Set `key` to an int64_t. */
void pressio_ml_options_set_integer64(struct pressio_ml_options* options, const char* key,
                                      int64_t value);
/** Exact-type get of an int64_t. */
enum pressio_ml_options_key_status pressio_ml_options_get_integer64(
    const struct pressio_ml_options* options, const char* key, int64_t* value);

/** Set `key` to a float. */
void pressio_ml_options_set_float(struct pressio_ml_options* options, const char* key,
                                  float value);
/** Exact-type get of a float (a double value is not converted: key_exists). */
enum pressio_ml_options_key_status pressio_ml_options_get_float(
    const struct pressio_ml_options* options, const char* key, float* value);

/** Set `key` to a double (error bounds such as "pressio:abs" are doubles). */
void pressio_ml_options_set_double(struct pressio_ml_options* options, const char* key,
                                   double value);
/** Exact-type get of a double. */
enum pressio_ml_options_key_status pressio_ml_options_get_double(
    const struct pressio_ml_options* options, const char* key, double* value);

/** Set `key` to a bool. */
void pressio_ml_options_set_bool(struct pressio_ml_options* options, const char* key,
                                 bool value);
/** Exact-type get of a bool. */
enum pressio_ml_options_key_status pressio_ml_options_get_bool(
    const struct pressio_ml_options* options, const char* key, bool* value);

/** Set `key` to a dtype (an invalid value sets nothing and records error 14). */
void pressio_ml_options_set_dtype(struct pressio_ml_options* options, const char* key,
                                  enum pressio_ml_dtype value);
/** Exact-type get of a dtype. */
enum pressio_ml_options_key_status pressio_ml_options_get_dtype(
    const struct pressio_ml_options* options, const char* key, enum pressio_ml_dtype* value);

/** Set `key` to a thread safety level (an invalid value sets nothing and records error 14). */
void pressio_ml_options_set_threadsafety(struct pressio_ml_options* options, const char* key,
                                         enum pressio_ml_thread_safety value);
/** Exact-type get of a thread safety level (e.g. "pressio:thread_safe" of a configuration). */
enum pressio_ml_options_key_status pressio_ml_options_get_threadsafety(
    const struct pressio_ml_options* options, const char* key,
    enum pressio_ml_thread_safety* value);

/** Set `key` to a copy of the NUL-terminated UTF-8 string `value`. */
void pressio_ml_options_set_string(struct pressio_ml_options* options, const char* key,
                                   const char* value);
/** Exact-type get of a string. On key_set, `*value` receives a malloc'd copy that the caller
 *  frees with pressio_ml_free. */
enum pressio_ml_options_key_status pressio_ml_options_get_string(
    const struct pressio_ml_options* options, const char* key, char** value);

/** Set `key` to a copy of the `size` strings in `values` (`values` may be NULL when size is 0). */
void pressio_ml_options_set_strings(struct pressio_ml_options* options, const char* key,
                                    size_t size, const char* const values[]);
/** Exact-type get of a string array. On key_set, `*size` receives the count and `*values` a
 *  malloc'd array of `*size` malloc'd strings (NULL when the count is 0): free each string,
 *  then the array, with pressio_ml_free. */
enum pressio_ml_options_key_status pressio_ml_options_get_strings(
    const struct pressio_ml_options* options, const char* key, size_t* size, char*** values);

/** Set `key` to a deep copy of `value` (borrowed bytes are copied; the caller keeps `value`). */
void pressio_ml_options_set_data(struct pressio_ml_options* options, const char* key,
                                 const struct pressio_ml_data* value);
/** Exact-type get of a data buffer; on key_set a deep copy is delivered:
 *    - if `*value` is NULL, it receives a new handle (free it with pressio_ml_data_free);
 *    - otherwise `*value` must be a live handle whose contents are replaced by the copy (as
 *      LibPressio's copy assignment; memory it borrowed is not touched or freed). */
enum pressio_ml_options_key_status pressio_ml_options_get_data(
    const struct pressio_ml_options* options, const char* key, struct pressio_ml_data** value);

/* ---------------------------------------------------------------------------------------- */
/* Compressors                                                                              */
/* ---------------------------------------------------------------------------------------- */

/** A new handle for the compressor `compressor_id` (see pressio_ml_supported_compressors), or
 *  NULL with error 1 ("invalid compressor id") when there is none. Each call builds a fresh
 *  instance with default options. Release it with pressio_ml_compressor_release. */
struct pressio_ml_compressor* pressio_ml_get_compressor(const char* compressor_id);

/** Free a compressor handle (and its attached metrics). NULL is ignored. No other thread may be
 *  using the handle. */
void pressio_ml_compressor_release(struct pressio_ml_compressor* compressor);

/** A new, independent handle with the same options and a copy of the attached metrics; NULL on
 *  error. Release it with pressio_ml_compressor_release. */
struct pressio_ml_compressor* pressio_ml_compressor_clone(
    const struct pressio_ml_compressor* compressor);

/** A new options object with every settable key: current values, or typed placeholders for
 *  unset keys (the template for pressio_ml_options_cast_set_string). NULL on error. Free it
 *  with pressio_ml_options_free. */
struct pressio_ml_options* pressio_ml_compressor_get_options(
    const struct pressio_ml_compressor* compressor);

/** A new options object with the read-only configuration ("pressio:thread_safe",
 *  "pressio:stability", "pressio:version", ...). NULL on error. Free it with
 *  pressio_ml_options_free. */
struct pressio_ml_options* pressio_ml_compressor_get_configuration(
    const struct pressio_ml_compressor* compressor);

/** A new options object whose string values document every key ("pressio:description" for the
 *  plugin itself). NULL on error. Free it with pressio_ml_options_free. */
struct pressio_ml_options* pressio_ml_compressor_get_documentation(
    const struct pressio_ml_compressor* compressor);

/** Apply `options`: keys the compressor does not know are ignored; a known key holding a value
 *  of another type than declared is error 4; an invalid value is error 5. Returns 0 or an error
 *  code. `options` is only read. */
int pressio_ml_compressor_set_options(struct pressio_ml_compressor* compressor,
                                      const struct pressio_ml_options* options);

/** Validate `options` without applying them: keys with the compressor's prefix that it does
 *  not declare are error 3. Returns 0 or an error code. */
int pressio_ml_compressor_check_options(struct pressio_ml_compressor* compressor,
                                        const struct pressio_ml_options* options);

/** Compress `input` (which must hold data) into `output`, whose contents are replaced by a
 *  pressio_ml_byte_dtype buffer owned by `output` (normally created with
 *  pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, NULL)). The caller keeps owning both
 *  handles. `input` and `output` must be distinct. Returns 0 or an error code. */
int pressio_ml_compressor_compress(struct pressio_ml_compressor* compressor,
                                   const struct pressio_ml_data* input,
                                   struct pressio_ml_data* output);

/** Decompress the stream `input` into `output`, which the caller keeps owning:
 *    - empty `output` (pressio_ml_data_new_empty): its contents are replaced by a new owned
 *      buffer; when it has dims, the stream must match its element count (error 7) and dtype
 *      (error 10); without dims, dtype and dims come from the stream;
 *    - pre-allocated `output` (owning or nonowning): the result is written into its bytes in
 *      place (a nonowning buffer's memory receives the values); dtype and size must match.
 *  Truncated, corrupt or foreign streams are refused (errors 8, 9, 10) and never crash.
 *  Returns 0 or an error code. */
int pressio_ml_compressor_decompress(struct pressio_ml_compressor* compressor,
                                     const struct pressio_ml_data* input,
                                     struct pressio_ml_data* output);

/** Compress `num_inputs` buffers; `num_outputs` must equal `num_inputs`, and each output is
 *  handled as in pressio_ml_compressor_compress. Outputs must be distinct from each other and
 *  from the inputs. Returns 0 or an error code. */
int pressio_ml_compressor_compress_many(struct pressio_ml_compressor* compressor,
                                        const struct pressio_ml_data* const inputs[],
                                        size_t num_inputs, struct pressio_ml_data* const outputs[],
                                        size_t num_outputs);

/** Decompress `num_inputs` streams; each output is handled as in
 *  pressio_ml_compressor_decompress. Same array rules as pressio_ml_compressor_compress_many.
 *  Returns 0 or an error code. */
int pressio_ml_compressor_decompress_many(struct pressio_ml_compressor* compressor,
                                          const struct pressio_ml_data* const inputs[],
                                          size_t num_inputs,
                                          struct pressio_ml_data* const outputs[],
                                          size_t num_outputs);

/** Code of the handle's last error: 0 when the last set_options, check_options, compress or
 *  decompress call succeeded. A NULL handle returns 14. */
int pressio_ml_compressor_error_code(const struct pressio_ml_compressor* compressor);

/** Message of the handle's last error ("" when none). Borrowed from the handle: valid until the
 *  next call on this handle (from any thread) or its release. A NULL handle returns a static
 *  message. Never NULL. */
const char* pressio_ml_compressor_error_msg(const struct pressio_ml_compressor* compressor);

/** The plugin's version, "major.minor.patch". Borrowed from the handle: valid until it is
 *  released. NULL for a NULL handle. */
const char* pressio_ml_compressor_version(const struct pressio_ml_compressor* compressor);

/** The plugin's option prefix (its keys are "<prefix>:name"). Borrowed from the handle: valid
 *  until it is released. NULL for a NULL handle. */
const char* pressio_ml_compressor_get_prefix(const struct pressio_ml_compressor* compressor);

/** Attach a COPY of `metrics` to the compressor: its hooks observe every later compress and
 *  decompress call. The caller keeps owning (and frees) `metrics`. */
void pressio_ml_compressor_set_metrics(struct pressio_ml_compressor* compressor,
                                       const struct pressio_ml_metrics* metrics);

/** A new copy of the attached metrics, or NULL when none is attached (not an error) or on error
 *  (recorded). Free it with pressio_ml_metrics_free. */
struct pressio_ml_metrics* pressio_ml_compressor_get_metrics(
    const struct pressio_ml_compressor* compressor);

/** A new options object with the attached metrics' results (e.g. "size:compression_ratio",
 *  "error_stat:max_error"); empty when no metrics are attached. NULL on error. Free it with
 *  pressio_ml_options_free. */
struct pressio_ml_options* pressio_ml_compressor_get_metrics_results(
    const struct pressio_ml_compressor* compressor);

/* ---------------------------------------------------------------------------------------- */
/* Metrics                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/** A new metrics handle evaluating the `num_metrics` metrics named in `metric_ids` together
 *  (see pressio_ml_supported_metrics; e.g. {"size", "error_stat"}); the ids are copied. NULL
 *  with error 2 when an id is unknown. Free it with pressio_ml_metrics_free. */
struct pressio_ml_metrics* pressio_ml_new_metrics(const char* const metric_ids[],
                                                  int num_metrics);

/** Free a metrics handle. NULL is ignored. */
void pressio_ml_metrics_free(struct pressio_ml_metrics* metrics);

/** A new options object with the metrics' settable options. NULL on error. Free it with
 *  pressio_ml_options_free. */
struct pressio_ml_options* pressio_ml_metrics_get_options(const struct pressio_ml_metrics* metrics);

/** A new options object with the metrics' configuration. NULL on error. Free it with
 *  pressio_ml_options_free. */
struct pressio_ml_options* pressio_ml_metrics_get_configuration(
    const struct pressio_ml_metrics* metrics);

/** A new options object documenting the metrics' keys. NULL on error. Free it with
 *  pressio_ml_options_free. */
struct pressio_ml_options* pressio_ml_metrics_get_documentation(
    const struct pressio_ml_metrics* metrics);

/** Apply `options` to the metrics (unknown keys are ignored). Returns 0 or an error code. */
int pressio_ml_metrics_set_options(struct pressio_ml_metrics* metrics,
                                   const struct pressio_ml_options* options);

/** A new options object with the current results: every result key, unset ones as typed
 *  placeholders. NULL on error. Free it with pressio_ml_options_free. */
struct pressio_ml_options* pressio_ml_metrics_get_results(const struct pressio_ml_metrics* metrics);

/** Evaluate the metrics without a compressor: the compression hooks run when `uncompressed` is
 *  not NULL and the decompression hooks when `decompressed` is not NULL (at least one is
 *  required); `compressed` may be NULL. All three are only read. Returns a new options object
 *  with the results (free it with pressio_ml_options_free), NULL on error. */
struct pressio_ml_options* pressio_ml_metrics_evaluate(struct pressio_ml_metrics* metrics,
                                                       const struct pressio_ml_data* uncompressed,
                                                       const struct pressio_ml_data* compressed,
                                                       const struct pressio_ml_data* decompressed);

/** Code of the handle's last error (0 when its last call succeeded); 14 for a NULL handle. */
int pressio_ml_metrics_error_code(const struct pressio_ml_metrics* metrics);

/** Message of the handle's last error ("" when none). Borrowed from the handle: valid until the
 *  next call on it. A NULL handle returns a static message. Never NULL. */
const char* pressio_ml_metrics_error_msg(const struct pressio_ml_metrics* metrics);

/* ---------------------------------------------------------------------------------------- */
/* DeepCQ search                                                                            */
/* ---------------------------------------------------------------------------------------- */

/** Search the relative bound (pressio:rel) of compressor `compressor_id` that meets a quality
 *  target on `input`, from DeepCQ's predictions verified (and, when they miss, refined) with
 *  real compressions, as `pressio-ml opt` does. `settings` holds exactly one of the doubles
 *  "deepcq:target_ratio", "deepcq:target_psnr", "deepcq:min_ssim", and optionally
 *  "deepcq:tolerance" (double, relative, default 0.05), "deepcq:max_compressions" (uint32,
 *  default 16), "deepcq:search" ("deepcq" or "bisection"), "deepcq:model" and "deepcq:head".
 *  Returns a new options object with "deepcq:search:bound", "deepcq:search:achieved",
 *  "deepcq:search:met" (bool), "deepcq:search:compressions" (uint32) and
 *  "deepcq:search:seconds" (free it with pressio_ml_options_free), or NULL with the error in
 *  pressio_ml_error_code / pressio_ml_error_msg. All arguments are only read. */
struct pressio_ml_options* pressio_ml_deepcq_search(const struct pressio_ml_data* input,
                                                    const char* compressor_id,
                                                    const struct pressio_ml_options* settings);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PRESSIO_ML_H */
