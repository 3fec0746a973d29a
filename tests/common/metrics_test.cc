#include "common/metrics.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>

namespace sluice {
namespace {

TEST(MetricsTest, RendersEachFamilyOnceWithItsSamples) {
  MetricsRegistry registry;
  registry.AddCollector([](MetricsWriter& w) {
    w.Counter("sluice_records_in_total", "Records in.", {{"task", "a"}}, 3);
  });
  int second = registry.AddCollector([](MetricsWriter& w) {
    w.Counter("sluice_records_in_total", "Records in.", {{"task", "b\"x"}}, 4);
    w.Gauge("sluice_slots", "Slots.", {}, 2);
  });
  EXPECT_EQ(registry.Render(),
            "# HELP sluice_records_in_total Records in.\n"
            "# TYPE sluice_records_in_total counter\n"
            "sluice_records_in_total{task=\"a\"} 3\n"
            "sluice_records_in_total{task=\"b\\\"x\"} 4\n"
            "# HELP sluice_slots Slots.\n"
            "# TYPE sluice_slots gauge\n"
            "sluice_slots 2\n");
  registry.RemoveCollector(second);
  EXPECT_EQ(registry.Render().find("sluice_slots"), std::string::npos);
}

TEST(MetricsTest, ServesPrometheusTextOverHttp) {
  MetricsRegistry registry;
  registry.AddCollector([](MetricsWriter& w) { w.Gauge("sluice_up", "Up.", {}, 1); });
  MetricsHttpServer server(registry);
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  std::string address = server.address();
  httplib::Client client("http://" + address);
  auto response = client.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find("sluice_up 1\n"), std::string::npos);
}

TEST(MetricsTest, ProbesAnswer200WhenOkAnd503WithTheReasonOtherwise) {
  MetricsRegistry registry;
  MetricsHttpServer server(registry);
  std::atomic<bool> ready{false};
  server.AddProbe("/healthz", [] { return Status::Ok(); });
  server.AddProbe("/readyz", [&] {
    return ready ? Status::Ok() : Status::Unavailable("not registered with coordinator c:1");
  });
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  httplib::Client client("http://" + server.address());
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto not_ready = client.Get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->body, "not registered with coordinator c:1\n");
  ready = true;
  auto now_ready = client.Get("/readyz");
  ASSERT_TRUE(now_ready);
  EXPECT_EQ(now_ready->status, 200);
  EXPECT_EQ(now_ready->body, "ok\n");
}

TEST(MetricsTest, RefusesAnAddressWithoutPort) {
  MetricsRegistry registry;
  MetricsHttpServer server(registry);
  Status st = server.Start("localhost");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("localhost"), std::string::npos);
}

}  // namespace
}  // namespace sluice
