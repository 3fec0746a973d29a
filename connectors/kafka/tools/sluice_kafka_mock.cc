// sluice-kafka-mock: a Kafka cluster for tests and examples (librdkafka's mock cluster, which
// speaks the Kafka protocol on 127.0.0.1 sockets) and produce/consume helpers that use the real
// librdkafka client. Not installed. See connectors/kafka/README.md.
//
//   sluice-kafka-mock serve [--brokers N] [--topic name:partitions ...]
//       prints "bootstrap <servers>" and runs until killed; reads commands from stdin:
//       "down" (every broker refuses connections), "up", "quit".
//   sluice-kafka-mock produce --bootstrap S --topic T [--json]
//       one message per stdin line: the line as the value, or with --json a JSON object
//       {"value", "key", "partition", "timestamp", "headers": [{"key", "value"}]} whose byte
//       fields are strings or {"base64": "..."}.
//   sluice-kafka-mock consume --bootstrap S --topic T [--committed]
//       prints every message in the topic now, by partition and offset, as JSON lines in the
//       shape of the source's "bytes" format; with --committed only those of committed
//       transactions (isolation.level=read_committed; librdkafka's mock cluster does not keep
//       transactions apart, so there it is every message too).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "connectors/kafka/json_text.h"
#include "connectors/kafka/kafka_client.h"
#include "connectors/kafka/kafka_records.h"

namespace sluice::kafka {
namespace {

using nlohmann::json;

constexpr int16_t kMetadataApiKey = 3;

int Fail(const std::string& message) {
  std::fprintf(stderr, "sluice-kafka-mock: %s\n", message.c_str());
  return 1;
}

rd_kafka_t* NewClient(rd_kafka_type_t type, const std::map<std::string, std::string>& settings,
                      std::string* error) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char text[512];
  for (const auto& [name, value] : settings) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), text, sizeof(text)) !=
        RD_KAFKA_CONF_OK) {
      *error = text;
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  rd_kafka_t* handle = rd_kafka_new(type, conf, text, sizeof(text));
  if (handle == nullptr) {
    *error = text;
    rd_kafka_conf_destroy(conf);
  }
  return handle;
}

int Serve(int brokers, const std::vector<std::string>& topics) {
  std::string error;
  KafkaHandle owner(NewClient(RD_KAFKA_PRODUCER, {{"log_level", "0"}}, &error));
  if (owner == nullptr) return Fail(error);
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(owner.get(), brokers);
  if (cluster == nullptr) return Fail("cannot start the mock cluster");
  // Metadata v4 carries the client's allow.auto.create.topics; with the mock's default (older)
  // versions it creates every topic a consumer asks about, which no real broker does.
  rd_kafka_mock_set_apiversion(cluster, kMetadataApiKey, 0, 4);
  for (const std::string& spec : topics) {
    const size_t colon = spec.rfind(':');
    const std::string name = spec.substr(0, colon);
    const int partitions = colon == std::string::npos ? 1 : std::atoi(spec.c_str() + colon + 1);
    if (name.empty() || partitions <= 0) return Fail("bad --topic " + spec + " (name:partitions)");
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, name.c_str(), partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Fail("cannot create topic " + name + ": " + rd_kafka_err2str(err));
    }
  }
  std::printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  std::fflush(stdout);
  std::string command;
  while (std::getline(std::cin, command)) {
    if (command == "quit") break;
    if (command != "down" && command != "up") {
      std::printf("unknown command '%s' (down, up, quit)\n", command.c_str());
    } else {
      for (int id = 1; id <= brokers; ++id) {
        if (command == "down") {
          rd_kafka_mock_broker_set_down(cluster, id);
        } else {
          rd_kafka_mock_broker_set_up(cluster, id);
        }
      }
      std::printf("brokers %s\n", command.c_str());
    }
    std::fflush(stdout);
  }
  if (std::cin.eof() && command != "quit") pause();  // no stdin: run until killed
  rd_kafka_mock_cluster_destroy(cluster);
  return 0;
}

// A byte field of a --json line: a string or {"base64": "..."}; null or absent: none.
bool Bytes(const json& line, const char* name, std::optional<std::string>* out) {
  auto it = line.find(name);
  if (it == line.end() || it->is_null()) return true;
  if (it->is_string()) {
    *out = it->get<std::string>();
    return true;
  }
  if (it->is_object() && it->contains("base64") && (*it)["base64"].is_string()) {
    *out = Base64Decode((*it)["base64"].get<std::string>());
    return out->has_value();
  }
  return false;
}

int Produce(const std::string& bootstrap, const std::string& topic, bool json_lines) {
  std::string error;
  KafkaHandle producer(NewClient(
      RD_KAFKA_PRODUCER,
      {{"bootstrap.servers", bootstrap}, {"partitioner", "murmur2_random"}, {"linger.ms", "5"}},
      &error));
  if (producer == nullptr) return Fail(error);
  std::string line;
  uint64_t count = 0;
  while (std::getline(std::cin, line)) {
    std::optional<std::string> key, value = line;
    int32_t partition = RD_KAFKA_PARTITION_UA;
    int64_t timestamp = 0;
    rd_kafka_headers_t* headers = rd_kafka_headers_new(4);
    if (json_lines) {
      json parsed = json::parse(line, nullptr, false);
      value.reset();
      if (!parsed.is_object() || !Bytes(parsed, "key", &key) || !Bytes(parsed, "value", &value)) {
        rd_kafka_headers_destroy(headers);
        return Fail("bad --json line: " + line);
      }
      if (parsed.contains("partition")) partition = parsed["partition"].get<int32_t>();
      if (parsed.contains("timestamp")) timestamp = parsed["timestamp"].get<int64_t>();
      for (const json& header : parsed.value("headers", json::array())) {
        std::optional<std::string> header_value;
        if (!Bytes(header, "value", &header_value)) return Fail("bad header in: " + line);
        rd_kafka_header_add(headers, header["key"].get<std::string>().c_str(), -1,
                            header_value ? header_value->data() : nullptr,
                            header_value ? header_value->size() : 0);
      }
    }
    rd_kafka_resp_err_t err;
    do {
      err = rd_kafka_producev(
          producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_VALUE((value ? value->data() : nullptr), (value ? value->size() : 0)),
          RD_KAFKA_V_KEY((key ? key->data() : nullptr), (key ? key->size() : 0)),
          RD_KAFKA_V_TIMESTAMP(timestamp), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(producer.get(), 100);
    } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(headers);
      return Fail(std::string("produce: ") + rd_kafka_err2str(err));
    }
    ++count;  // producev took the headers
  }
  if (rd_kafka_flush(producer.get(), 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Fail("not every message was delivered within 30 s");
  }
  std::fprintf(stderr, "produced %llu messages to %s\n", static_cast<unsigned long long>(count),
               topic.c_str());
  return 0;
}

// The message as a "bytes" record line (key, value, headers, timestamp, position).
std::string BytesLine(const std::string& topic, rd_kafka_message_t& message) {
  MessageView view;
  view.topic = topic;
  view.partition = message.partition;
  view.offset = message.offset;
  rd_kafka_timestamp_type_t type;
  int64_t timestamp = rd_kafka_message_timestamp(&message, &type);
  if (type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) view.timestamp_ms = timestamp;
  if (message.key != nullptr)
    view.key = std::string_view(static_cast<char*>(message.key), message.key_len);
  if (message.payload != nullptr) {
    view.value = std::string_view(static_cast<char*>(message.payload), message.len);
  }
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == 0; ++i) {
      std::optional<std::string_view> bytes;
      if (value != nullptr) bytes = std::string_view(static_cast<const char*>(value), size);
      view.headers.emplace_back(name, bytes);
    }
  }
  std::string line;
  static_cast<void>(AppendRecordLine(RecordFormat::kBytes, view, &line));
  return line;
}

int Consume(const std::string& bootstrap, const std::string& topic, bool committed) {
  std::string error;
  KafkaHandle consumer(
      NewClient(RD_KAFKA_CONSUMER,
                {{"bootstrap.servers", bootstrap},
                 {"group.id", "sluice-kafka-mock"},
                 {"enable.auto.commit", "false"},
                 {"enable.partition.eof", "true"},
                 {"isolation.level", committed ? "read_committed" : "read_uncommitted"}},
                &error));
  if (consumer == nullptr) return Fail(error);
  KafkaTopic handle(rd_kafka_topic_new(consumer.get(), topic.c_str(), nullptr));
  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(consumer.get(), 0, handle.get(), &raw, 10000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Fail(std::string("metadata: ") + rd_kafka_err2str(err));
  KafkaMetadata metadata(raw);
  if (metadata->topic_cnt != 1 || metadata->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Fail("topic " + topic + " not found");
  }
  const int partitions = metadata->topics[0].partition_cnt;
  std::vector<int64_t> ends(partitions);
  std::vector<bool> done(partitions, true);
  PartitionList list(rd_kafka_topic_partition_list_new(partitions));
  size_t remaining = 0;
  for (int p = 0; p < partitions; ++p) {
    int64_t low = 0;
    err = rd_kafka_query_watermark_offsets(consumer.get(), topic.c_str(), p, &low, &ends[p], 10000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      return Fail(std::string("offsets: ") + rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = low;
    done[p] = ends[p] <= low;
    remaining += done[p] ? 0 : 1;
  }
  rd_kafka_assign(consumer.get(), list.get());
  std::vector<std::vector<std::string>> lines(partitions);
  // A partition is read once a message or its end (past aborted messages and transaction
  // markers, which a committed reader never gets) reaches the end offset of the start.
  const auto reached = [&](int32_t p, int64_t next) {
    if (p < 0 || p >= partitions || done[p] || next < ends[p]) return;
    done[p] = true;
    --remaining;
  };
  while (remaining > 0) {
    KafkaMessage message(rd_kafka_consumer_poll(consumer.get(), 10000));
    if (message == nullptr) return Fail("no message within 10 s");
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        reached(message->partition, message->offset);
        continue;
      }
      return Fail(std::string("consume: ") + rd_kafka_message_errstr(message.get()));
    }
    if (message->offset >= ends[message->partition]) continue;
    lines[message->partition].push_back(BytesLine(topic, *message));
    reached(message->partition, message->offset + 1);
  }
  for (const auto& partition : lines) {
    for (const std::string& line : partition) std::fwrite(line.data(), 1, line.size(), stdout);
  }
  rd_kafka_consumer_close(consumer.get());
  return 0;
}

}  // namespace
}  // namespace sluice::kafka

int main(int argc, char** argv) {
  CLI::App app{"A librdkafka mock Kafka cluster with produce/consume helpers, for tests"};
  app.require_subcommand(1);
  int brokers = 1;
  std::vector<std::string> topics;
  auto* serve = app.add_subcommand("serve", "start a mock cluster; prints \"bootstrap <servers>\"");
  serve->add_option("--brokers", brokers, "number of brokers")->check(CLI::Range(1, 16));
  serve->add_option("--topic", topics, "a topic to create, name:partitions (repeatable)");
  std::string bootstrap, topic;
  bool json_lines = false;
  auto* produce = app.add_subcommand("produce", "produce stdin lines to a topic");
  produce->add_option("--bootstrap", bootstrap, "bootstrap servers")->required();
  produce->add_option("--topic", topic, "topic")->required();
  produce->add_flag("--json", json_lines, "lines are JSON objects {value, key, partition, ...}");
  auto* consume = app.add_subcommand("consume", "print every message of a topic as JSON lines");
  consume->add_option("--bootstrap", bootstrap, "bootstrap servers")->required();
  consume->add_option("--topic", topic, "topic")->required();
  bool committed = false;
  consume->add_flag("--committed", committed,
                    "only messages of committed transactions (isolation.level=read_committed)");
  CLI11_PARSE(app, argc, argv);
  if (serve->parsed()) return sluice::kafka::Serve(brokers, topics);
  if (produce->parsed()) return sluice::kafka::Produce(bootstrap, topic, json_lines);
  return sluice::kafka::Consume(bootstrap, topic, committed);
}
