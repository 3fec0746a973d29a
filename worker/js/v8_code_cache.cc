#include "worker/js/v8_code_cache.h"

#include <utility>

namespace sluice::js {

namespace {

std::string KeyOf(const std::string &name, const std::string &source) {
  std::string key;
  key.reserve(name.size() + 1 + source.size());
  key.append(name).push_back('\0');
  key.append(source);
  return key;
}

}  // namespace

CodeCache &CodeCache::Process() {
  static CodeCache *cache = new CodeCache();  // leaked: isolates may compile during exit
  return *cache;
}

std::shared_ptr<const std::string> CodeCache::Find(const std::string &name,
                                                   const std::string &source) {
  const std::string key = KeyOf(name, source);
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  ++found_;
  return it->second.code;
}

void CodeCache::Rejected() {
  std::lock_guard lock(mutex_);
  ++rejected_;
}

void CodeCache::Store(const std::string &name, const std::string &source, std::string code) {
  std::string key = KeyOf(name, source);
  const size_t bytes = key.size() + code.size();
  if (bytes > max_bytes_) return;
  auto shared = std::make_shared<const std::string>(std::move(code));
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    bytes_ -= it->second.bytes;
    it->second = Entry{std::move(shared), bytes};
  } else {
    auto [added, _] = entries_.emplace(std::move(key), Entry{std::move(shared), bytes});
    order_.push_back(&added->first);  // a node's key stays put until the node is erased
  }
  bytes_ += bytes;
  Evict();
}

void CodeCache::Evict() {
  while (bytes_ > max_bytes_ && !order_.empty()) {
    auto it = entries_.find(*order_.front());
    order_.pop_front();
    bytes_ -= it->second.bytes;
    entries_.erase(it);
  }
}

size_t CodeCache::entries() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

size_t CodeCache::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

size_t CodeCache::found() const {
  std::lock_guard lock(mutex_);
  return found_;
}

size_t CodeCache::rejected() const {
  std::lock_guard lock(mutex_);
  return rejected_;
}

}  // namespace sluice::js
