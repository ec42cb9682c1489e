// The C++ side of the pressio-ml LibPressio bridge.
//
// One C++ class per plugin kind derives from LibPressio's plugin base classes
// (libpressio::compressors::libpressio_compressor_plugin and
// libpressio::metrics::libpressio_metrics_plugin) and forwards every virtual to the Rust side
// (src/ffi.rs) through the functions declared in pressio_ml_shim.h. The Rust side reads and
// writes LibPressio's pressio_options / pressio_data through LibPressio's C API, so this file
// only deals with object lifetimes, error propagation and registration.
//
// Registration follows LibPressio's convention for third-party plugin libraries: a
// namespace-scope static registers every pressio-ml id when the library is loaded (dlopen,
// LD_PRELOAD or plain linking), and libpressio_register_all() (exported by the Rust side, which
// calls pressio_ml_shim_register_all) makes it explicit for LIBPRESSIO_PLUGINS loaders. Only ids
// LibPressio does not already have are registered: pressio_register's destructor erases its id
// unconditionally, so taking over an existing id would remove LibPressio's own plugin when this
// library is unloaded.

#include "pressio_ml_shim.h"

#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <libpressio_ext/cpp/compressor.h>
#include <libpressio_ext/cpp/data.h>
#include <libpressio_ext/cpp/metrics.h>
#include <libpressio_ext/cpp/options.h>
#include <libpressio_ext/cpp/pressio.h>
#include <libpressio_ext/cpp/registry.h>
#include <std_compat/memory.h>
#include <std_compat/span.h>

namespace libpressio {
namespace pressio_ml_bridge_ns {

namespace {

struct compressor_deleter {
  void operator()(pressio_ml_bridge_compressor* c) const { pressio_ml_bridge_compressor_free(c); }
};
struct metric_deleter {
  void operator()(pressio_ml_bridge_metric* m) const { pressio_ml_bridge_metric_free(m); }
};
using compressor_handle = std::unique_ptr<pressio_ml_bridge_compressor, compressor_deleter>;
using metric_handle = std::unique_ptr<pressio_ml_bridge_metric, metric_deleter>;

void push_child(void* ctx, const char* child) {
  static_cast<std::vector<std::string>*>(ctx)->emplace_back(child);
}

}  // namespace

// Errors raised on the C++ side of the boundary (allocation failures while building options or
// buffers): reported with this code, the same as pressio-ml's "internal error".
constexpr int shim_error_code = 16;

/// A pressio-ml compressor seen by LibPressio.
class pressio_ml_compressor_plugin : public compressors::libpressio_compressor_plugin {
 public:
  explicit pressio_ml_compressor_plugin(compressor_handle h) : handle(std::move(h)) {}
  pressio_ml_compressor_plugin(pressio_ml_compressor_plugin const& other)
      : compressors::libpressio_compressor_plugin(other),
        handle(pressio_ml_bridge_compressor_clone(other.handle.get())) {}

  const char* prefix() const override { return pressio_ml_bridge_compressor_prefix(handle.get()); }
  const char* version() const override { return pressio_ml_bridge_compressor_version(handle.get()); }
  int major_version() const override { return pressio_ml_bridge_compressor_version_part(handle.get(), 0); }
  int minor_version() const override { return pressio_ml_bridge_compressor_version_part(handle.get(), 1); }
  int patch_version() const override { return pressio_ml_bridge_compressor_version_part(handle.get(), 2); }
  uint64_t epoch_version() const override { return static_cast<uint64_t>(major_version()); }

  std::shared_ptr<compressors::libpressio_compressor_plugin> clone() override {
    if (!handle) return nullptr;
    auto copy = compat::make_unique<pressio_ml_compressor_plugin>(*this);
    if (!copy->handle) return nullptr;
    return copy;
  }

 protected:
  pressio_options get_options_impl() const override { return get(0); }
  pressio_options get_configuration_impl() const override { return get(1); }
  pressio_options get_documentation_impl() const override { return get(2); }
  pressio_options get_metrics_results_impl() const override { return get(3); }

  int set_options_impl(pressio_options const& options) override {
    return forward([&] {
      return pressio_ml_bridge_compressor_set_options(handle.get(), get_name().c_str(), &options);
    });
  }
  int check_options_impl(pressio_options const& options) override {
    return forward([&] {
      return pressio_ml_bridge_compressor_check_options(handle.get(), get_name().c_str(), &options);
    });
  }
  int compress_impl(const pressio_data* input, pressio_data* output) override {
    return forward([&] { return pressio_ml_bridge_compressor_compress(handle.get(), input, output); });
  }
  int decompress_impl(const pressio_data* input, pressio_data* output) override {
    return forward([&] { return pressio_ml_bridge_compressor_decompress(handle.get(), input, output); });
  }
  int compress_many_impl(compat::span<const pressio_data* const> const& inputs,
                         compat::span<pressio_data*>& outputs) override {
    return forward([&] {
      return pressio_ml_bridge_compressor_compress_many(handle.get(), inputs.data(), inputs.size(),
                                                        outputs.data(), outputs.size());
    });
  }
  int decompress_many_impl(compat::span<const pressio_data* const> const& inputs,
                           compat::span<pressio_data*>& outputs) override {
    return forward([&] {
      return pressio_ml_bridge_compressor_decompress_many(handle.get(), inputs.data(), inputs.size(),
                                                          outputs.data(), outputs.size());
    });
  }
  std::vector<std::string> children_impl() const override {
    std::vector<std::string> children;
    pressio_ml_bridge_compressor_children(handle.get(), push_child, &children);
    return children;
  }

 private:
  pressio_options get(int which) const {
    pressio_options out;
    pressio_ml_bridge_compressor_get(handle.get(), which, get_name().c_str(), &out);
    return out;
  }

  template <class F>
  int forward(F&& f) {
    try {
      int rc = f();
      if (rc != 0) return set_error(rc, pressio_ml_bridge_compressor_error_msg(handle.get()));
      return 0;
    } catch (std::exception const& e) {
      return set_error(shim_error_code, std::string("pressio-ml bridge: ") + e.what());
    }
  }

  compressor_handle handle;
};

/// A pressio-ml metric seen by LibPressio.
class pressio_ml_metrics_plugin : public metrics::libpressio_metrics_plugin {
 public:
  explicit pressio_ml_metrics_plugin(metric_handle h) : handle(std::move(h)) {}
  pressio_ml_metrics_plugin(pressio_ml_metrics_plugin const& other)
      : metrics::libpressio_metrics_plugin(other), handle(pressio_ml_bridge_metric_clone(other.handle.get())) {}

  const char* prefix() const override { return pressio_ml_bridge_metric_prefix(handle.get()); }

  std::unique_ptr<metrics::libpressio_metrics_plugin> clone() override {
    if (!handle) return nullptr;
    auto copy = compat::make_unique<pressio_ml_metrics_plugin>(*this);
    if (!copy->handle) return nullptr;
    return copy;
  }

  pressio_options get_documentation_impl() const override { return get(2); }
  pressio_options get_options() const override { return get(0); }
  int set_options(pressio_options const& options) override {
    return forward([&] { return pressio_ml_bridge_metric_set_options(handle.get(), get_name().c_str(), &options); });
  }
  std::vector<std::string> children() const override {
    std::vector<std::string> children;
    pressio_ml_bridge_metric_children(handle.get(), push_child, &children);
    return children;
  }
  pressio_options get_metrics_results(pressio_options const& compressor_results) override {
    pressio_options out;
    int rc = pressio_ml_bridge_metric_results(handle.get(), get_name().c_str(), &compressor_results, &out);
    if (rc != 0) set_error(rc, pressio_ml_bridge_metric_error_msg(handle.get()));
    return out;
  }

 protected:
  pressio_options get_configuration_impl() const override { return get(1); }

  int begin_compress_impl(const pressio_data* input, pressio_data const* output) override {
    return hook(0, 0, &input, 1, &output, 1, 0);
  }
  int end_compress_impl(pressio_data const* input, pressio_data const* output, int rc) override {
    return hook(1, 0, &input, 1, &output, 1, rc);
  }
  int begin_decompress_impl(pressio_data const* input, pressio_data const* output) override {
    return hook(2, 0, &input, 1, &output, 1, 0);
  }
  int end_decompress_impl(pressio_data const* input, pressio_data const* output, int rc) override {
    return hook(3, 0, &input, 1, &output, 1, rc);
  }
  int begin_compress_many_impl(compat::span<const pressio_data* const> const& inputs,
                               compat::span<const pressio_data* const> const& outputs) override {
    return hook(0, 1, inputs.data(), inputs.size(), outputs.data(), outputs.size(), 0);
  }
  int end_compress_many_impl(compat::span<const pressio_data* const> const& inputs,
                             compat::span<const pressio_data* const> const& outputs, int rc) override {
    return hook(1, 1, inputs.data(), inputs.size(), outputs.data(), outputs.size(), rc);
  }
  int begin_decompress_many_impl(compat::span<const pressio_data* const> const& inputs,
                                 compat::span<const pressio_data* const> const& outputs) override {
    return hook(2, 1, inputs.data(), inputs.size(), outputs.data(), outputs.size(), 0);
  }
  int end_decompress_many_impl(compat::span<const pressio_data* const> const& inputs,
                               compat::span<const pressio_data* const> const& outputs, int rc) override {
    return hook(3, 1, inputs.data(), inputs.size(), outputs.data(), outputs.size(), rc);
  }

  int begin_check_options_impl(pressio_options const*) override { return options_hook(0, 0); }
  int end_check_options_impl(pressio_options const*, int) override { return options_hook(0, 1); }
  // The compressor's options reach the metric as in pressio-ml's own compressor handle (a
  // metric such as deepcq reads the compressor's pressio:abs / pressio:rel from them).
  int begin_set_options_impl(pressio_options const& options) override {
    int rc = options_hook(1, 0);
    if (rc != 0) return rc;
    return set_options(options);
  }
  int end_set_options_impl(pressio_options const&, int) override { return options_hook(1, 1); }
  int begin_get_options_impl() override { return options_hook(2, 0); }
  int end_get_options_impl(pressio_options const*) override { return options_hook(2, 1); }
  int begin_get_configuration_impl() override { return options_hook(3, 0); }
  int end_get_configuration_impl(pressio_options const&) override { return options_hook(3, 1); }
  int begin_get_documentation_impl() override { return options_hook(4, 0); }
  int end_get_documentation_impl(pressio_options const&) override { return options_hook(4, 1); }

 private:
  pressio_options get(int which) const {
    pressio_options out;
    pressio_ml_bridge_metric_get(handle.get(), which, get_name().c_str(), &out);
    return out;
  }
  int hook(int which, int many, const pressio_data* const* inputs, size_t n_inputs,
           const pressio_data* const* outputs, size_t n_outputs, int rc) {
    return forward([&] {
      return pressio_ml_bridge_metric_hook(handle.get(), which, many, inputs, n_inputs, outputs, n_outputs, rc);
    });
  }
  int options_hook(int which, int phase) {
    pressio_ml_bridge_metric_options_hook(handle.get(), which, phase);
    return 0;
  }
  template <class F>
  int forward(F&& f) {
    try {
      int rc = f();
      if (rc != 0) return set_error(rc, pressio_ml_bridge_metric_error_msg(handle.get()));
      return 0;
    } catch (std::exception const& e) {
      return set_error(shim_error_code, std::string("pressio-ml bridge: ") + e.what());
    }
  }

  metric_handle handle;
};

namespace {

/// The registrations this library made, keyed by (kind, LibPressio id).
struct registrations {
  std::mutex mutex;
  std::map<std::pair<int, std::string>, std::unique_ptr<pressio_register>> entries;

  ~registrations() {
    // unregister while LibPressio's registries are still alive (they were constructed before
    // this object, so they are destroyed after it)
    std::lock_guard<std::mutex> lock(mutex);
    entries.clear();
  }
};

registrations& state() {
  static registrations r;
  return r;
}

bool libpressio_has(int kind, std::string const& id) {
  if (kind == pressio_ml_bridge_compressor_kind) return compressor_plugins().contains(id);
  return metrics_plugins().contains(id);
}

/// Registers rust_id as as_id; the caller holds the mutex. 0 ok, 1 taken, 2 unknown id.
int register_locked(registrations& r, int kind, std::string const& rust_id, std::string const& as_id) {
  auto key = std::make_pair(kind, as_id);
  auto found = r.entries.find(key);
  if (found != r.entries.end()) {
    // ours: registered again if something erased it since
    found->second->ensure_registered();
    return 0;
  }
  if (libpressio_has(kind, as_id)) return 1;
  if (kind == pressio_ml_bridge_compressor_kind) {
    // probe once so an unknown id is refused now rather than at every build
    compressor_handle probe(pressio_ml_bridge_compressor_new(rust_id.c_str()));
    if (!probe) return 2;
    // the factory returns a NEW instance per call, as LibPressio requires
    r.entries.emplace(key, compat::make_unique<pressio_register>(
                               compressor_plugins(), as_id,
                               [rust_id]() -> std::shared_ptr<compressors::libpressio_compressor_plugin> {
                                 compressor_handle h(pressio_ml_bridge_compressor_new(rust_id.c_str()));
                                 if (!h) return nullptr;
                                 return std::make_shared<pressio_ml_compressor_plugin>(std::move(h));
                               }));
  } else {
    metric_handle probe(pressio_ml_bridge_metric_new(rust_id.c_str()));
    if (!probe) return 2;
    r.entries.emplace(key, compat::make_unique<pressio_register>(
                               metrics_plugins(), as_id,
                               [rust_id]() -> std::unique_ptr<metrics::libpressio_metrics_plugin> {
                                 metric_handle h(pressio_ml_bridge_metric_new(rust_id.c_str()));
                                 if (!h) return nullptr;
                                 return compat::make_unique<pressio_ml_metrics_plugin>(std::move(h));
                               }));
  }
  return 0;
}

/// Registers every id when the library is loaded.
struct load_time_registration {
  load_time_registration() { pressio_ml_shim_register_all(); }
};

}  // namespace

// Namespace-scope static: runs when the shared object is loaded, like every LibPressio plugin
// library's `static pressio_register` objects.
static load_time_registration registration;

}  // namespace pressio_ml_bridge_ns
}  // namespace libpressio

using libpressio::pressio_ml_bridge_ns::register_locked;
using libpressio::pressio_ml_bridge_ns::state;

extern "C" void pressio_ml_shim_data_assign(struct pressio_data* dst, struct pressio_data* src) {
  *dst = std::move(*src);
  pressio_data_free(src);
}

extern "C" size_t pressio_ml_shim_register_all(void) {
  try {
    auto& r = state();
    std::lock_guard<std::mutex> lock(r.mutex);
    for (int kind : {pressio_ml_bridge_compressor_kind, pressio_ml_bridge_metric_kind}) {
      size_t n = pressio_ml_bridge_count(kind);
      for (size_t i = 0; i < n; ++i) {
        const char* id = pressio_ml_bridge_id(kind, i);
        if (id != nullptr) register_locked(r, kind, id, id);
      }
    }
    return r.entries.size();
  } catch (...) {
    return 0;
  }
}

extern "C" int pressio_ml_shim_is_ours(int kind, const char* id) {
  auto& r = state();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.entries.count(std::make_pair(kind, std::string(id))) != 0 &&
         libpressio::pressio_ml_bridge_ns::libpressio_has(kind, id);
}

extern "C" void pressio_ml_shim_libpressio_ids(int kind, void (*push)(void* ctx, const char* id), void* ctx) {
  try {
    std::vector<std::string> ids;
    if (kind == pressio_ml_bridge_compressor_kind) {
      for (auto const& entry : libpressio::compressor_plugins()) ids.push_back(entry.first);
    } else {
      for (auto const& entry : libpressio::metrics_plugins()) ids.push_back(entry.first);
    }
    for (auto const& id : ids) push(ctx, id.c_str());
  } catch (...) {
  }
}

extern "C" int pressio_ml_shim_libpressio_has(int kind, const char* id) {
  return libpressio::pressio_ml_bridge_ns::libpressio_has(kind, id) ? 1 : 0;
}

extern "C" int pressio_ml_shim_register_as(int kind, const char* rust_id, const char* as_id) {
  try {
    auto& r = state();
    std::lock_guard<std::mutex> lock(r.mutex);
    return register_locked(r, kind, rust_id, as_id);
  } catch (...) {
    return 3;
  }
}

extern "C" int pressio_ml_shim_unregister(int kind, const char* as_id) {
  auto& r = state();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.entries.erase(std::make_pair(kind, std::string(as_id))) != 0 ? 0 : 1;
}
