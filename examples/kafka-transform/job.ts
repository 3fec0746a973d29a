// Kafka -> transform -> Kafka: reads orders (JSON) from the topic "orders", keeps those of at
// least `min`, adds the tax, and writes them to "big-orders" keyed by customer (so each
// customer's orders stay in one partition, in order). Brokers come from $KAFKA_BROKERS.
// How to run it, with a real broker or the mock cluster tool: README.md in this folder.
import { Job, sources, sinks } from "@sluice/sdk";

interface Order {
  id: number;
  customer: string;
  amount: number;
}

const brokers = process.env.KAFKA_BROKERS ?? "localhost:9092";

const job = new Job("kafka-transform", { parallelism: 2, params: { min: 100, taxRate: 0.2 } });
job
  .source(
    // bounded: stop at the end the topic has when the job starts (drop it to keep reading).
    sources.kafka<Order>({ brokers, topic: "orders", format: "json", bounded: true }),
  )
  .filter((o: Order, params) => o.amount >= params.min)
  .map((o: Order, params) => ({ ...o, tax: Math.round(o.amount * params.taxRate * 100) / 100 }))
  .sink(
    sinks.kafka({
      brokers,
      topic: "big-orders",
      key: (o: Order) => o.customer,
    }),
  );

export default job;
