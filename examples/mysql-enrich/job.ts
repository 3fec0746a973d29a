// Orders enriched and upserted into MySQL/MariaDB: each order from orders.jsonl gets its
// customer's region and a total with tax, then one row per order is written with
// INSERT ... ON DUPLICATE KEY UPDATE, each batch in one transaction. The upsert makes a
// transaction that is written again (after a lost connection) harmless.
// See README.md in this folder for how to run it.
import { Job, sources, sinks } from "@sluice/sdk";

interface Order {
  id: number;
  customer: string;
  amount: number;
  items: string[];
}

const job = new Job("mysql-enrich", {
  parallelism: 2,
  params: {
    host: "127.0.0.1",
    port: 3306,
    user: "sluice",
    password: "",
    database: "shop",
    taxRate: 0.2,
    regions: { alice: "eu", bob: "us", carol: "apac" } as Record<string, string>,
  },
});

job
  .source(sources.file<Order>({ path: "orders.jsonl", format: "json" }))
  .map((order, params) => ({
    ...order,
    region: params.regions[order.customer] ?? "unknown",
    total: Math.round(order.amount * (1 + params.taxRate) * 100) / 100,
  }))
  .sink(
    sinks.mysql({
      host: job.params.host,
      port: job.params.port,
      user: job.params.user,
      password: job.params.password,
      database: job.params.database,
      statement:
        "INSERT INTO orders (id, customer, region, total, items) VALUES (?, ?, ?, ?, ?) " +
        "ON DUPLICATE KEY UPDATE region = VALUES(region), total = VALUES(total), items = VALUES(items)",
      params: (o) => [o.id, o.customer, o.region, o.total, o.items],
    }),
    { name: "orders-table" },
  );

export default job;
