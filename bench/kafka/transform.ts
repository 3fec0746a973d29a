// Kafka -> transform -> Kafka throughput (bench/kafka/run.sh): JSON orders from "bench-in",
// a filter and a map like Nexmark q1's, written to "bench-out" keyed by customer.
// Brokers from $KAFKA_BROKERS.
import { Job, sources, sinks } from "@sluice/sdk";

interface Order {
  id: number;
  customer: string;
  amount: number;
}

const brokers = process.env.KAFKA_BROKERS ?? "localhost:9092";

const job = new Job("kafka-bench");
job
  .source(sources.kafka<Order>({ brokers, topic: "bench-in", format: "json", bounded: true }))
  .filter((o: Order) => o.amount >= 0)
  .map((o: Order) => ({ id: o.id, customer: o.customer, amount: o.amount * 0.908 }))
  .sink(sinks.kafka({ brokers, topic: "bench-out", key: (o: Order) => o.customer }));

export default job;
