// Kafka -> windowed count -> Redis: page clicks (JSON) from the topic "clicks" are counted per
// page in tumbling 10-second windows of event time. The event time is each Kafka message's own
// timestamp, and the source keeps a watermark per partition (the slowest partition decides), so
// a click up to 2 s out of order still lands in its window. Each window's counts go into the
// Redis hash `clicks:<window start>` (field: the page, value: the count); HSET is idempotent,
// so a window written again after a lost connection leaves the same hash.
// Brokers come from $KAFKA_BROKERS; Redis from --param redis=host:port. See README.md.
import { Job, sources, sinks, windows } from "@sluice/sdk";

interface Click {
  user: string;
  page: string;
}

const brokers = process.env.KAFKA_BROKERS ?? "localhost:9092";

const job = new Job("kafka-windowed-redis", {
  parallelism: 2,
  params: { redis: "127.0.0.1:6379" },
});

job
  .source(
    sources.kafka<Click>({
      brokers,
      topic: "clicks",
      format: "json",
      // bounded: stop at the end the topic has when the job starts (drop it to keep reading).
      bounded: true,
      watermarks: { maxOutOfOrderness: "2s", idleTimeout: "5s" },
    }),
  )
  .keyBy((click: Click) => click.page)
  .window(windows.tumbling("10s"))
  .count()
  .sink(
    sinks.redis({
      address: job.params.redis,
      command: (r) => ["HSET", "clicks:" + r.window.start, r.key, r.value],
    }),
    { name: "redis" },
  );

export default job;
