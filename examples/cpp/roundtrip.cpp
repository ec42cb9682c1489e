// roundtrip.cpp: the C++ version of examples/c/roundtrip.c. Compress a raw field with a
// pressio-ml compressor through the C interface, decompress it, and print the size and error
// statistics. Handles are owned by std::unique_ptr with the library's free functions, so every
// path releases them.
//
// usage: roundtrip <compressor_id> <file> <dtype> <dim0> [<dim1> ...] [key=value ...]
//   dims are given FASTEST varying first; key=value options are parsed into each key's declared
//   type (e.g. pressio:abs=1e-3). Output and exit status as in the C example.

#include "pressio_ml.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct DataFree {
  void operator()(pressio_ml_data* d) const { pressio_ml_data_free(d); }
};
struct OptionsFree {
  void operator()(pressio_ml_options* o) const { pressio_ml_options_free(o); }
};
struct CompressorFree {
  void operator()(pressio_ml_compressor* c) const { pressio_ml_compressor_release(c); }
};
struct MetricsFree {
  void operator()(pressio_ml_metrics* m) const { pressio_ml_metrics_free(m); }
};
struct StringFree {
  void operator()(char* s) const { pressio_ml_free(s); }
};

using Data = std::unique_ptr<pressio_ml_data, DataFree>;
using Options = std::unique_ptr<pressio_ml_options, OptionsFree>;
using Compressor = std::unique_ptr<pressio_ml_compressor, CompressorFree>;
using Metrics = std::unique_ptr<pressio_ml_metrics, MetricsFree>;
using String = std::unique_ptr<char, StringFree>;

// A library failure (exit status 1).
struct LibraryError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A usage or input failure (exit status 2).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class T>
T* check(T* p, const char* what) {
  if (p == nullptr) throw LibraryError(std::string(what) + ": " + pressio_ml_error_msg());
  return p;
}

pressio_ml_dtype parse_dtype(const std::string& name) {
  static const std::map<std::string, pressio_ml_dtype> table = {
      {"float", pressio_ml_float_dtype},   {"double", pressio_ml_double_dtype},
      {"int8", pressio_ml_int8_dtype},     {"int16", pressio_ml_int16_dtype},
      {"int32", pressio_ml_int32_dtype},   {"int64", pressio_ml_int64_dtype},
      {"uint8", pressio_ml_uint8_dtype},   {"uint16", pressio_ml_uint16_dtype},
      {"uint32", pressio_ml_uint32_dtype}, {"uint64", pressio_ml_uint64_dtype}};
  auto it = table.find(name);
  if (it == table.end()) throw UsageError("unknown dtype " + name);
  return it->second;
}

template <class T>
double at(const void* p, std::size_t i) {
  T v;
  std::memcpy(&v, static_cast<const unsigned char*>(p) + i * sizeof(T), sizeof(T));
  return static_cast<double>(v);
}

double element(const void* p, pressio_ml_dtype dtype, std::size_t i) {
  switch (dtype) {
    case pressio_ml_double_dtype: return at<double>(p, i);
    case pressio_ml_float_dtype: return at<float>(p, i);
    case pressio_ml_int8_dtype: return at<std::int8_t>(p, i);
    case pressio_ml_int16_dtype: return at<std::int16_t>(p, i);
    case pressio_ml_int32_dtype: return at<std::int32_t>(p, i);
    case pressio_ml_int64_dtype: return at<std::int64_t>(p, i);
    case pressio_ml_uint16_dtype: return at<std::uint16_t>(p, i);
    case pressio_ml_uint32_dtype: return at<std::uint32_t>(p, i);
    case pressio_ml_uint64_dtype: return at<std::uint64_t>(p, i);
    default: return at<std::uint8_t>(p, i);
  }
}

int run(int argc, char* argv[]) {
  if (argc < 5) {
    throw UsageError(std::string("usage: ") + argv[0] +
                     " <compressor_id> <file> <dtype> <dim0 (fastest)> [<dim1> ...] "
                     "[key=value ...]\ncompressors: " +
                     pressio_ml_supported_compressors());
  }
  const std::string id = argv[1];
  const std::string path = argv[2];
  const pressio_ml_dtype dtype = parse_dtype(argv[3]);

  std::vector<std::size_t> dims;
  std::vector<std::pair<std::string, std::string>> settings;
  for (int i = 4; i < argc; ++i) {
    const std::string a = argv[i];
    const auto eq = a.find('=');
    if (eq != std::string::npos) {
      settings.emplace_back(a.substr(0, eq), a.substr(eq + 1));
    } else if (!settings.empty()) {
      throw UsageError("expected key=value, got " + a);
    } else {
      std::size_t used = 0;
      unsigned long long d = 0;
      try {
        d = std::stoull(a, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != a.size() || d == 0) throw UsageError("invalid dimension " + a);
      dims.push_back(static_cast<std::size_t>(d));
    }
  }
  if (dims.empty()) throw UsageError("no dimensions given");
  std::size_t num_elements = 1;
  for (auto d : dims) num_elements *= d;

  std::ifstream file(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const std::size_t expected = num_elements * static_cast<std::size_t>(pressio_ml_dtype_size(dtype));
  if (!file.good() && !file.eof()) throw UsageError("cannot read " + path);
  if (bytes.size() != expected) {
    throw UsageError(path + ": expected " + std::to_string(expected) + " bytes, read " +
                     std::to_string(bytes.size()));
  }
  // an 8-byte aligned copy of the input, as nonowning buffers must be aligned for their dtype
  std::vector<std::uint64_t> storage((expected + 7) / 8);
  std::memcpy(storage.data(), bytes.data(), expected);

  Compressor compressor(pressio_ml_get_compressor(id.c_str()));
  if (!compressor) throw UsageError(pressio_ml_error_msg());

  Options options(check(pressio_ml_compressor_get_options(compressor.get()), "get_options"));
  for (const auto& kv : settings) {
    if (pressio_ml_options_cast_set_string(options.get(), kv.first.c_str(), kv.second.c_str()) !=
        pressio_ml_options_key_set) {
      throw UsageError("option " + kv.first + "=" + kv.second + ": " + pressio_ml_error_msg());
    }
  }
  if (pressio_ml_compressor_set_options(compressor.get(), options.get()) != 0) {
    throw LibraryError(std::string("set_options: ") +
                       pressio_ml_compressor_error_msg(compressor.get()));
  }

  const char* metric_ids[] = {"size", "error_stat"};
  Metrics metrics(pressio_ml_new_metrics(metric_ids, 2));
  if (metrics) {
    pressio_ml_compressor_set_metrics(compressor.get(), metrics.get());
  } else {
    std::cerr << "warning: no size/error_stat metrics: " << pressio_ml_error_msg() << "\n";
  }

  Data input(check(pressio_ml_data_new_nonowning(dtype, storage.data(), dims.size(), dims.data()),
                   "input"));
  Data compressed(check(pressio_ml_data_new_empty(pressio_ml_byte_dtype, 0, nullptr), "output"));
  Data decompressed(
      check(pressio_ml_data_new_empty(dtype, dims.size(), dims.data()), "decompressed"));

  if (pressio_ml_compressor_compress(compressor.get(), input.get(), compressed.get()) != 0) {
    throw LibraryError(std::string("compress: ") +
                       pressio_ml_compressor_error_msg(compressor.get()));
  }
  if (pressio_ml_compressor_decompress(compressor.get(), compressed.get(), decompressed.get()) !=
      0) {
    throw LibraryError(std::string("decompress: ") +
                       pressio_ml_compressor_error_msg(compressor.get()));
  }

  const std::size_t compressed_bytes = pressio_ml_data_get_bytes(compressed.get());
  const void* out = pressio_ml_data_ptr(decompressed.get(), nullptr);
  double max_error = 0;
  for (std::size_t i = 0; i < num_elements; ++i) {
    const double e = std::fabs(element(storage.data(), dtype, i) - element(out, dtype, i));
    if (e > max_error || std::isnan(e)) max_error = e;
  }
  std::printf("compressor=%s\n", id.c_str());
  std::printf("input_bytes=%zu\n", expected);
  std::printf("compressed_bytes=%zu\n", compressed_bytes);
  std::printf("compression_ratio=%.6g\n",
              static_cast<double>(expected) / static_cast<double>(compressed_bytes));
  std::printf("max_abs_error=%.17g\n", max_error);

  Options results(check(pressio_ml_compressor_get_metrics_results(compressor.get()), "results"));
  String text(check(pressio_ml_options_to_string(results.get()), "to_string"));
  std::istringstream lines(text.get());
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("size:", 0) == 0 || line.rfind("error_stat:", 0) == 0) {
      std::printf("%s\n", line.c_str());
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
