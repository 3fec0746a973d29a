// q7.ts with checkpoints every second (bench/RESULTS.md, issue 17: what checkpoints cost a windowed job).
import { Job } from "@sluice/sdk";
import { highestBid } from "./q7";

const job = new Job("nexmark-q7-checkpoints", { checkpointInterval: "1s", params: { events: 20_000_000, sink: "discard" } });
highestBid(job);
export default job;
