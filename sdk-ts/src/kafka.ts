/** Kafka record types shared by `sources.kafka` and `sinks.kafka`, and their argument checks. */
/**
 * A Kafka message's bytes in records of the `"bytes"` format (and what `sinks.kafka` accepts
 * back): a string when the bytes are valid UTF-8, else `{ base64 }` holding them base64-encoded.
 */
export type KafkaBytes = string | { readonly base64: string };

/** One Kafka header of a {@link KafkaRecord}, in the order the message carries them. */
export interface KafkaHeader {
  readonly key: string;
  readonly value: KafkaBytes | null;
}

/** A record of `sources.kafka({ format: "bytes" })`: the whole message. */
export interface KafkaRecord {
  /** null when the message has no key. */
  readonly key: KafkaBytes | null;
  /** null for a message without a value (a tombstone). */
  readonly value: KafkaBytes | null;
  readonly headers: readonly KafkaHeader[];
  /** The message's timestamp in epoch milliseconds, null when it has none. */
  readonly timestamp: number | null;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** How `sources.kafka` turns messages into records. */
export type KafkaFormat = "string" | "json" | "bytes";

/**
 * Where a Kafka source starts in each partition: the earliest offset still there, the end (only
 * messages produced after the job starts), or the first message whose timestamp is at or after
 * a time (epoch milliseconds or a Date).
 */
export type KafkaStartFrom = "earliest" | "latest" | { readonly timestamp: number | Date };

const KAFKA_TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/** Checks and normalises Kafka bootstrap servers to "host:port,host:port" (sources.kafka, sinks.kafka). */
export function kafkaBrokers(brokers: unknown, what: string): string {
  const list = typeof brokers === "string" ? [brokers] : Array.isArray(brokers) ? brokers : [];
  if (list.length === 0 || !list.every((b) => typeof b === "string" && b.trim() !== "")) {
    throw new Error(`${what}: \`brokers\` must be a non-empty string or array of "host:port" strings`);
  }
  return list.map((b: string) => b.trim()).join(",");
}

/** Checks a Kafka topic name (sources.kafka, sinks.kafka). */
export function kafkaTopic(topic: unknown, what: string): string {
  if (typeof topic !== "string" || !KAFKA_TOPIC.test(topic) || topic === "." || topic === "..") {
    throw new Error(
      `${what}: topic ${JSON.stringify(topic)} is not a Kafka topic name (1 to 249 of a-z, A-Z, 0-9, '.', '_', '-')`,
    );
  }
  return topic;
}

/** Checks librdkafka pass-through properties (sources.kafka, sinks.kafka). */
export function kafkaProperties(properties: unknown, what: string): Record<string, string | number | boolean> {
  if (typeof properties !== "object" || properties === null || Array.isArray(properties)) {
    throw new Error(`${what}: \`properties\` must be an object of librdkafka properties`);
  }
  for (const [key, value] of Object.entries(properties)) {
    if (!["string", "number", "boolean"].includes(typeof value)) {
      throw new Error(`${what}: property ${JSON.stringify(key)} must be a string, number or boolean`);
    }
  }
  return { ...(properties as Record<string, string | number | boolean>) };
}

