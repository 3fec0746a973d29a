#pragma once

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connectors/kafka/kafka_client.h"

namespace sluice::kafka::testing {

// A librdkafka mock cluster in this process (it listens on 127.0.0.1, on ports the OS picks),
// with a real producer and consumer to put messages in and read them back. One per test.
class MockCluster {
 public:
  struct Message {
    int32_t partition = 0;
    int64_t offset = 0;
    std::optional<std::string> key;
    std::optional<std::string> value;
    int64_t timestamp = 0;
  };

  explicit MockCluster(int brokers = 1) : brokers_(brokers) {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", error, sizeof(error));
    owner_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error)));
    cluster_ = rd_kafka_mock_cluster_new(owner_.get(), brokers);
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    // Metadata v4 carries the client's allow.auto.create.topics (see sluice_kafka_mock.cc).
    rd_kafka_mock_set_apiversion(cluster_, /*Metadata*/ 3, 0, 4);
    producer_.reset(NewClient(RD_KAFKA_PRODUCER, {{"linger.ms", "0"}}));
  }
  ~MockCluster() {
    producer_.reset();
    rd_kafka_mock_cluster_destroy(cluster_);
  }

  const std::string& bootstrap() const { return bootstrap_; }

  void CreateTopic(const std::string& name, int partitions) {
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  // Every broker refuses connections (and drops the ones it has) / accepts them again.
  void SetDown(bool down) {
    for (int id = 1; id <= brokers_; ++id) {
      if (down) {
        rd_kafka_mock_broker_set_down(cluster_, id);
      } else {
        rd_kafka_mock_broker_set_up(cluster_, id);
      }
    }
  }

  // The next requests of kind `api` (a Kafka protocol API key) fail with `errors`, in order.
  void FailRequests(int16_t api, const std::vector<rd_kafka_resp_err_t>& errors) {
    rd_kafka_mock_push_request_errors_array(cluster_, api, errors.size(), errors.data());
  }

  void Produce(const std::string& topic, int32_t partition, std::optional<std::string> key,
               std::optional<std::string> value, int64_t timestamp = 0,
               const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size() + 1);
    for (const auto& [name, bytes] : headers) {
      rd_kafka_header_add(hdrs, name.c_str(), -1, bytes.data(), bytes.size());
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE((value ? value->data() : nullptr), (value ? value->size() : 0)),
        RD_KAFKA_V_KEY((key ? key->data() : nullptr), (key ? key->size() : 0)),
        RD_KAFKA_V_TIMESTAMP(timestamp), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
  }
  void Flush() { ASSERT_EQ(rd_kafka_flush(producer_.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR); }

  // Every message in the topic now, by partition and offset, as a read_committed consumer
  // gets them (librdkafka's default; the mock cluster does not keep transactions apart).
  std::vector<Message> ReadAll(const std::string& topic, int partitions) {
    KafkaHandle consumer(NewClient(
        RD_KAFKA_CONSUMER, {{"group.id", "test-reader"}, {"isolation.level", "read_committed"}}));
    std::vector<int64_t> ends(partitions);
    PartitionList list(rd_kafka_topic_partition_list_new(partitions));
    int remaining = 0;
    for (int p = 0; p < partitions; ++p) {
      int64_t low = 0;
      EXPECT_EQ(
          rd_kafka_query_watermark_offsets(consumer.get(), topic.c_str(), p, &low, &ends[p], 5000),
          RD_KAFKA_RESP_ERR_NO_ERROR);
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = low;
      remaining += ends[p] > low ? 1 : 0;
    }
    rd_kafka_assign(consumer.get(), list.get());
    std::map<std::pair<int32_t, int64_t>, Message> by_position;
    while (remaining > 0) {
      KafkaMessage m(rd_kafka_consumer_poll(consumer.get(), 5000));
      if (m == nullptr) {
        ADD_FAILURE() << "no message within 5 s";
        break;
      }
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR || m->offset >= ends[m->partition]) continue;
      Message message;
      message.partition = m->partition;
      message.offset = m->offset;
      if (m->key != nullptr) message.key.emplace(static_cast<char*>(m->key), m->key_len);
      if (m->payload != nullptr) message.value.emplace(static_cast<char*>(m->payload), m->len);
      message.timestamp = rd_kafka_message_timestamp(m.get(), nullptr);
      by_position[{m->partition, m->offset}] = message;
      if (m->offset + 1 == ends[m->partition]) --remaining;
    }
    rd_kafka_consumer_close(consumer.get());
    std::vector<Message> all;
    for (auto& [position, message] : by_position) all.push_back(std::move(message));
    return all;
  }

 private:
  rd_kafka_t* NewClient(rd_kafka_type_t type, const std::map<std::string, std::string>& settings) {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_.c_str(), error, sizeof(error));
    rd_kafka_conf_set(conf, "log_level", "0", error, sizeof(error));
    for (const auto& [name, value] : settings) {
      rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof(error));
    }
    return rd_kafka_new(type, conf, error, sizeof(error));
  }

  int brokers_;
  KafkaHandle owner_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
  KafkaHandle producer_;
};

}  // namespace sluice::kafka::testing
