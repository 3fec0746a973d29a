#include <v8-context.h>
#include <v8-exception.h>
#include <v8-isolate.h>
#include <v8-locker.h>
#include <v8-message.h>
#include <v8-persistent-handle.h>
#include <v8-primitive.h>
#include <v8-script.h>

#include <cctype>
#include <memory>
#include <mutex>
#include <string>

#include "worker/js/js_engine.h"
#include "worker/js/v8_chain_runner.h"
#include "worker/js/v8_platform.h"

namespace sluice::js {
namespace {

// Whether a function expression's text starts with `async` as a keyword (`async function`,
// `async (x) =>`, `async x =>`; not an arrow whose parameter is named async), after spaces and
// comments. Lexical: the text is not run.
bool IsAsync(const std::string &source) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < source.size()) {
      if (std::isspace(static_cast<unsigned char>(source[i]))) {
        ++i;
      } else if (source.compare(i, 2, "//") == 0) {
        i = source.find('\n', i);
        if (i == std::string::npos) i = source.size();
      } else if (source.compare(i, 2, "/*") == 0) {
        i = source.find("*/", i + 2);
        i = i == std::string::npos ? source.size() : i + 2;
      } else {
        return;
      }
    }
  };
  auto is_name = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
  };
  skip_space();
  if (source.compare(i, 5, "async") != 0 || (i + 5 < source.size() && is_name(source[i + 5]))) {
    return false;
  }
  i += 5;
  skip_space();
  if (i >= source.size()) return false;
  if (source[i] == '(' || source.compare(i, 8, "function") == 0) return true;
  if (!is_name(source[i])) return false;  // `async => ...`: a parameter named async
  while (i < source.size() && is_name(source[i])) ++i;
  skip_space();
  return source.compare(i, 2, "=>") == 0;
}

// The V8 ChainRunnerFactory. Runners get isolates of their own; CheckFunction
// shares one validation isolate, created on first use and kept for the
// process's life, which any thread may use under mu_ and a v8::Locker (the only
// isolate that changes threads).
class V8ChainRunnerFactory final : public ChainRunnerFactory {
 public:
  Result<std::unique_ptr<ChainRunner>> Create(const ChainSpec &chain, const Limits &limits,
                                              StateBackend *state) override {
    return V8ChainRunner::Create(chain, limits, state);
  }

  Status CheckFunction(const std::string &source) override {
    if (IsAsync(source)) {
      return Status::User("the function is async: it would return a Promise, and Sluice calls "
                          "functions synchronously; remove 'async' and 'await'");
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (isolate_ == nullptr) CreateValidationIsolate();
    v8::Locker locker(isolate_);
    v8::Isolate::Scope isolate_scope(isolate_);
    v8::HandleScope handles(isolate_);
    v8::Local<v8::Context> context = context_.Get(isolate_);
    v8::Context::Scope context_scope(context);
    v8::TryCatch try_catch(isolate_);

    // As the runners compile it: "(" keeps line numbers those of the function's
    // text.
    const std::string wrapped = "(" + source + "\n)";
    v8::Local<v8::String> text;
    if (!v8::String::NewFromUtf8(isolate_, wrapped.data(), v8::NewStringType::kNormal,
                                 static_cast<int>(wrapped.size()))
             .ToLocal(&text)) {
      return Status::User("the function's source is too long");
    }
    v8::ScriptOrigin origin(isolate_, v8::String::NewFromUtf8Literal(isolate_, "sluice:check"));
    v8::Local<v8::Script> script;
    if (v8::Script::Compile(context, text, &origin).ToLocal(&script)) return Status::Ok();

    v8::Local<v8::Message> message = try_catch.Message();
    if (message.IsEmpty()) return Status::User("the function does not compile");
    v8::String::Utf8Value what(isolate_, message->Get());
    std::string error = *what == nullptr ? "SyntaxError" : std::string(*what, what.length());
    constexpr std::string_view kUncaught = "Uncaught ";
    if (error.compare(0, kUncaught.size(), kUncaught) == 0) error.erase(0, kUncaught.size());
    const int line = message->GetLineNumber(context).FromMaybe(0);
    // V8's column is 0-based and counts the "(" wrapped around the source on its first line.
    const int column = message->GetStartColumn(context).FromMaybe(-1) + (line == 1 ? 0 : 1);
    if (line > 0 && column > 0) {
      error += " (line " + std::to_string(line) + ", column " + std::to_string(column) +
               " of the function)";
    } else if (line > 0) {
      error += " (line " + std::to_string(line) + " of the function)";
    }
    return Status::User(error);
  }

 private:
  void CreateValidationIsolate() {
    V8Platform();
    allocator_.reset(v8::ArrayBuffer::Allocator::NewDefaultAllocator());
    v8::Isolate::CreateParams params;
    params.array_buffer_allocator = allocator_.get();
    params.constraints.ConfigureDefaultsFromHeapSize(0, size_t{64} * 1024 * 1024);
    isolate_ = v8::Isolate::New(params);
    v8::Locker locker(isolate_);
    v8::Isolate::Scope isolate_scope(isolate_);
    v8::HandleScope handles(isolate_);
    context_.Reset(isolate_, v8::Context::New(isolate_));
  }

  std::mutex mu_;
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator_;  // guarded by mu_
  v8::Isolate *isolate_ = nullptr;                         // guarded by mu_
  v8::Global<v8::Context> context_;                        // guarded by mu_
};

}  // namespace

ChainRunnerFactory &V8Engine() {
  // Leaked: the validation isolate must outlive every static destructor that
  // might use it.
  static V8ChainRunnerFactory *factory = [] {
    V8Platform();
    return new V8ChainRunnerFactory();
  }();
  return *factory;
}

}  // namespace sluice::js
