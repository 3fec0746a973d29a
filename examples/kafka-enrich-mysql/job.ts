// Kafka -> enrich -> MySQL: orders (JSON) from the topic "orders" get their customer's region
// and tier (a lookup table in the job's params), a discount by tier and a total with tax, and
// are upserted into the table `orders` with INSERT ... ON DUPLICATE KEY UPDATE, each batch in
// one transaction. The upsert makes an order written again (after a lost connection, or when
// the topic is read again) harmless.
// Brokers come from $KAFKA_BROKERS; the database from the params (--param key=value).
// See README.md in this folder.
import { Job, sources, sinks } from "@sluice/sdk";

interface Order {
  id: number;
  customer: string;
  amount: number;
  items: string[];
}

const brokers = process.env.KAFKA_BROKERS ?? "localhost:9092";

const job = new Job("kafka-enrich-mysql", {
  parallelism: 2,
  params: {
    host: "127.0.0.1",
    port: 3306,
    user: "sluice",
    password: "",
    database: "shop",
    taxRate: 0.2,
    customers: {
      alice: { region: "eu", tier: "gold" },
      bob: { region: "us", tier: "silver" },
      carol: { region: "apac", tier: "gold" },
    } as Record<string, { region: string; tier: string }>,
    discounts: { gold: 0.1, silver: 0.05 } as Record<string, number>,
  },
});

job
  .source(sources.kafka<Order>({ brokers, topic: "orders", format: "json", bounded: true }))
  .map((order: Order, params) => {
    const customer = params.customers[order.customer] ?? { region: "unknown", tier: "none" };
    const discount = params.discounts[customer.tier] ?? 0;
    const total = order.amount * (1 - discount) * (1 + params.taxRate);
    return { ...order, ...customer, total: Math.round(total * 100) / 100 };
  })
  .sink(
    sinks.mysql({
      host: job.params.host,
      port: job.params.port,
      user: job.params.user,
      password: job.params.password,
      database: job.params.database,
      statement:
        "INSERT INTO orders (id, customer, region, tier, total, items) VALUES (?, ?, ?, ?, ?, ?) " +
        "ON DUPLICATE KEY UPDATE region = VALUES(region), tier = VALUES(tier), " +
        "total = VALUES(total), items = VALUES(items)",
      params: (o) => [o.id, o.customer, o.region, o.tier, o.total, o.items],
    }),
    { name: "orders-table" },
  );

export default job;
