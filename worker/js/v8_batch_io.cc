#include "worker/js/v8_batch_io.h"

#include <v8-array-buffer.h>
#include <v8-container.h>
#include <v8-json.h>
#include <v8-typed-array.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace sluice::js {
namespace {

// A columnar batch on the wire (the exchange codec, runtime/codec.js): a 20-byte frame
//   byte 0 0x01 (no JSON line starts with it), byte 1 the version (1), byte 2 the blob's
//   encoding (0 Latin-1, 1 UTF-16 code units), byte 3 zero,
//   u32 header bytes, u32 numbers, u32 strings, u32 blob code units
// followed by the header (UTF-8 JSON), the numbers (float64), the strings' lengths (u32, code
// units) and the blob (the strings, concatenated). Everything little-endian.
constexpr uint8_t kColumnarVersion = 1;
constexpr size_t kColumnarFrame = 20;

void PutU32(char *at, uint32_t value) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

uint32_t GetU32(const char *at) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= uint32_t{static_cast<uint8_t>(at[i])} << (8 * i);
  return value;
}

static_assert(sizeof(double) == 8 && sizeof(uint16_t) == 2 && sizeof(uint32_t) == 4);
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the columnar batch codec copies float64, u32 and UTF-16 as they are");

// The short strings of a batch seen so far, by content, so that a value repeated in a batch
// (a hot channel, a URL, a country) becomes one JS string: one allocation instead of one per
// record, and less for the receiver's young generation to scavenge. Open addressing over the
// blob's bytes (a string is found again only when its bytes are equal), in a table per thread
// that is never cleared: a slot counts only when it carries the current batch's stamp.
class RepeatedStrings {
 public:
  static constexpr size_t kMaxLength = 64;

  RepeatedStrings() {
    if (++Stamp() == 0) {  // wrapped around: clear the old stamps once
      Slots().fill(Slot{});
      Stamp() = 1;
    }
    stamp_ = Stamp();
  }

  // The string made earlier in this batch for these bytes, or null.
  const v8::Local<v8::Value> *Find(std::string_view bytes,
                                   const std::vector<v8::Local<v8::Value>> &made) {
    if (bytes.size() > kMaxLength) return nullptr;
    last_hash_ = Hash(bytes);
    std::array<Slot, kSlots> &slots = Slots();
    for (size_t at = last_hash_ & kMask, probes = 0; probes < kMaxProbes;
         at = (at + 1) & kMask, ++probes) {
      const Slot &slot = slots[at];
      if (slot.stamp != stamp_) return nullptr;
      if (slot.hash == last_hash_ && slot.length == bytes.size() &&
          std::memcmp(slot.data, bytes.data(), bytes.size()) == 0) {
        return &made[slot.index];
      }
    }
    return nullptr;
  }

  // Remembers string `index` (just made for `bytes`, after a Find that missed).
  void Add(std::string_view bytes, uint64_t index) {
    if (bytes.size() > kMaxLength || used_ >= kSlots / 2 || index > UINT32_MAX) return;
    std::array<Slot, kSlots> &slots = Slots();
    for (size_t at = last_hash_ & kMask, probes = 0; probes < kMaxProbes;
         at = (at + 1) & kMask, ++probes) {
      Slot &slot = slots[at];
      if (slot.stamp == stamp_) continue;
      slot = Slot{bytes.data(), static_cast<uint32_t>(bytes.size()), last_hash_,
                  static_cast<uint32_t>(index), stamp_};
      ++used_;
      return;
    }
  }

 private:
  static constexpr size_t kSlots = 4096;
  static constexpr size_t kMask = kSlots - 1;
  static constexpr size_t kMaxProbes = 8;

  struct Slot {
    const char *data = nullptr;
    uint32_t length = 0;
    uint32_t hash = 0;
    uint32_t index = 0;
    uint32_t stamp = 0;
  };

  static std::array<Slot, kSlots> &Slots() {
    thread_local std::array<Slot, kSlots> slots{};
    return slots;
  }
  static uint32_t &Stamp() {
    thread_local uint32_t stamp = 0;
    return stamp;
  }

  static uint32_t Hash(std::string_view bytes) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ bytes.size();
    size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
      uint64_t word;
      std::memcpy(&word, bytes.data() + i, 8);
      h = (h ^ word) * 0xff51afd7ed558ccdull;
      h ^= h >> 32;
    }
    for (; i < bytes.size(); ++i) h = (h ^ static_cast<uint8_t>(bytes[i])) * 0x100000001b3ull;
    h ^= h >> 29;
    return static_cast<uint32_t>(h);
  }

  uint32_t stamp_ = 0;
  size_t used_ = 0;
  uint32_t last_hash_ = 0;
};

}  // namespace

v8::Local<v8::String> V8String(v8::Isolate *isolate, std::string_view text) {
  return v8::String::NewFromUtf8(isolate, text.data(), v8::NewStringType::kNormal,
                                 static_cast<int>(text.size()))
      .ToLocalChecked();
}

std::string StdString(v8::Isolate *isolate, v8::Local<v8::Value> value) {
  if (value.IsEmpty()) return "";
  v8::String::Utf8Value utf8(isolate, value);
  return *utf8 == nullptr ? "" : std::string(*utf8, utf8.length());
}

// Copies a JS string out as UTF-8. Output lines are almost always ASCII, for
// which one Latin-1 copy (a memcpy inside V8) and a scan beat V8's generic
// UTF-8 encoder.
void CopyUtf8(v8::Isolate *isolate, v8::Local<v8::String> text, std::string *out) {
  if (text->IsOneByte()) {
    const int length = text->Length();
    out->resize(length);
    auto *bytes = reinterpret_cast<uint8_t *>(out->data());
    text->WriteOneByte(isolate, bytes, 0, length, v8::String::NO_NULL_TERMINATION);
    uint8_t high = 0;
    for (int i = 0; i < length; ++i) high |= bytes[i];
    if (high < 0x80) return;
  }
  const int length = text->Utf8Length(isolate);
  out->resize(length);
  text->WriteUtf8(isolate, out->data(), length, nullptr,
                  v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
}

// Frames the driver's [header, nums, lens, texts] into `out`: the texts go one after the other
// into the blob, as Latin-1 when all of them are one-byte strings, else as UTF-16.
Status EncodeColumnar(v8::Isolate *isolate, v8::Local<v8::Context> context,
                      v8::Local<v8::Array> parts, std::string *out) {
  v8::Local<v8::Value> header, nums, lens, texts_value;
  if (parts->Length() != 4 || !parts->Get(context, 0).ToLocal(&header) || !header->IsString() ||
      !parts->Get(context, 1).ToLocal(&nums) || !nums->IsFloat64Array() ||
      !parts->Get(context, 2).ToLocal(&lens) || !lens->IsUint32Array() ||
      !parts->Get(context, 3).ToLocal(&texts_value) || !texts_value->IsArray()) {
    return Status::Internal("the JS driver returned a bad columnar batch");
  }
  v8::Local<v8::Array> text_array = texts_value.As<v8::Array>();
  const uint32_t text_count = text_array->Length();
  std::vector<v8::Local<v8::String>> texts(text_count);
  bool one_byte = true;
  size_t units = 0;
  for (uint32_t i = 0; i < text_count; ++i) {
    v8::Local<v8::Value> text;
    if (!text_array->Get(context, i).ToLocal(&text) || !text->IsString()) {
      return Status::Internal("the JS driver returned a bad columnar batch");
    }
    texts[i] = text.As<v8::String>();
    one_byte = one_byte && texts[i]->IsOneByte();
    units += static_cast<size_t>(texts[i]->Length());
  }
  std::string header_utf8;
  CopyUtf8(isolate, header.As<v8::String>(), &header_utf8);
  const size_t num_bytes = nums.As<v8::Float64Array>()->ByteLength();
  const size_t len_bytes = lens.As<v8::Uint32Array>()->ByteLength();
  const size_t blob_bytes = one_byte ? units : 2 * units;
  if (header_utf8.size() > UINT32_MAX || units > UINT32_MAX) {
    return Status::Internal("a columnar batch too large to frame");
  }
  out->resize(kColumnarFrame + header_utf8.size() + num_bytes + len_bytes + blob_bytes);
  char *at = out->data();
  at[0] = static_cast<char>(kColumnarMagic);
  at[1] = static_cast<char>(kColumnarVersion);
  at[2] = one_byte ? 0 : 1;
  at[3] = 0;
  PutU32(at + 4, static_cast<uint32_t>(header_utf8.size()));
  PutU32(at + 8, static_cast<uint32_t>(num_bytes / 8));
  PutU32(at + 12, static_cast<uint32_t>(len_bytes / 4));
  PutU32(at + 16, static_cast<uint32_t>(units));
  at += kColumnarFrame;
  std::memcpy(at, header_utf8.data(), header_utf8.size());
  at += header_utf8.size();
  nums.As<v8::Float64Array>()->CopyContents(at, num_bytes);
  at += num_bytes;
  lens.As<v8::Uint32Array>()->CopyContents(at, len_bytes);
  at += len_bytes;
  std::vector<uint16_t> utf16;  // aligned
  for (v8::Local<v8::String> text : texts) {
    const int length = text->Length();
    if (one_byte) {
      text->WriteOneByte(isolate, reinterpret_cast<uint8_t *>(at), 0, length,
                         v8::String::NO_NULL_TERMINATION);
      at += length;
    } else {
      utf16.resize(static_cast<size_t>(length));
      text->Write(isolate, utf16.data(), 0, length, v8::String::NO_NULL_TERMINATION);
      std::memcpy(at, utf16.data(), 2 * static_cast<size_t>(length));
      at += 2 * static_cast<size_t>(length);
    }
  }
  return Status::Ok();
}

// The driver's arguments (header, nums, strs) for a columnar batch. Every string of the blob
// becomes a JS string of its own: slices of one string would keep the whole batch alive for as
// long as any of its strings is kept (in keyed state, say).
Status DecodeColumnarFrame(v8::Isolate *isolate, std::string_view bytes,
                           v8::Local<v8::Value> args[3]) {
  if (bytes.size() < kColumnarFrame || static_cast<uint8_t>(bytes[1]) != kColumnarVersion ||
      static_cast<uint8_t>(bytes[2]) > 1) {
    return Status::InvalidArgument("a columnar batch with an unknown version or framing");
  }
  const bool one_byte = bytes[2] == 0;
  const uint64_t header_bytes = GetU32(bytes.data() + 4);
  const uint64_t num_bytes = uint64_t{GetU32(bytes.data() + 8)} * 8;
  const uint64_t num_strings = GetU32(bytes.data() + 12);
  const uint64_t units = GetU32(bytes.data() + 16);
  const uint64_t unit_bytes = one_byte ? 1 : 2;
  if (kColumnarFrame + header_bytes + num_bytes + 4 * num_strings + unit_bytes * units !=
          bytes.size() ||
      header_bytes > static_cast<uint64_t>(v8::String::kMaxLength)) {
    return Status::InvalidArgument("a columnar batch whose sizes do not add up");
  }
  const char *at = bytes.data() + kColumnarFrame;
  v8::Local<v8::String> header;
  if (!v8::String::NewFromUtf8(isolate, at, v8::NewStringType::kNormal,
                               static_cast<int>(header_bytes))
           .ToLocal(&header)) {
    return Status::InvalidArgument("a columnar batch whose header is no string");
  }
  at += header_bytes;
  // The runtime's own copy, outside the task's ArrayBuffer budget (v8_budget_allocator.h): an
  // allocation through the isolate's allocator that failed here would abort the process.
  void *numbers = std::malloc(num_bytes == 0 ? 1 : num_bytes);
  if (numbers == nullptr) return Status(StatusCode::kResourceExhausted, ErrorDomain::kInternal,
                                    "no memory for a columnar batch");
  if (num_bytes > 0) std::memcpy(numbers, at, num_bytes);
  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(
      isolate, v8::ArrayBuffer::NewBackingStore(
                   numbers, num_bytes, [](void *data, size_t, void *) { std::free(data); },
                   nullptr));
  at += num_bytes;
  const char *lengths = at;
  const char *text = at + 4 * num_strings;
  std::vector<v8::Local<v8::Value>> strings(num_strings);
  std::vector<uint16_t> utf16;  // aligned
  RepeatedStrings repeated;
  uint64_t offset = 0;
  for (uint64_t i = 0; i < num_strings; ++i) {
    const uint64_t length = GetU32(lengths + 4 * i);
    if (offset + length > units) {
      return Status::InvalidArgument("a columnar batch whose strings do not add up");
    }
    v8::MaybeLocal<v8::String> made;
    if (one_byte) {
      const std::string_view bytes(text + offset, length);
      if (const v8::Local<v8::Value> *same = repeated.Find(bytes, strings)) {
        strings[i] = *same;
        offset += length;
        continue;
      }
      made = v8::String::NewFromOneByte(isolate, reinterpret_cast<const uint8_t *>(bytes.data()),
                                        v8::NewStringType::kNormal, static_cast<int>(length));
      repeated.Add(bytes, i);
    } else {
      utf16.resize(length);
      std::memcpy(utf16.data(), text + 2 * offset, 2 * length);
      made = v8::String::NewFromTwoByte(isolate, utf16.data(), v8::NewStringType::kNormal,
                                        static_cast<int>(length));
    }
    v8::Local<v8::String> string;
    if (!made.ToLocal(&string)) {
      return Status::InvalidArgument("a columnar batch whose strings are too long");
    }
    strings[i] = string;
    offset += length;
  }
  if (offset != units) {
    return Status::InvalidArgument("a columnar batch whose strings do not add up");
  }
  args[0] = header;
  args[1] = v8::Float64Array::New(buffer, 0, num_bytes / 8);
  args[2] = v8::Array::New(isolate, strings.data(), strings.size());
  return Status::Ok();
}

}  // namespace sluice::js
