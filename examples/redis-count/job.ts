// Page-view counts in Redis: a deterministic stream of page views, counted per page with a
// keyed running reduce, and after every view the page's count is SET in Redis and its score
// updated in a leaderboard (a sorted set). Both commands are idempotent, so a batch Redis
// asks the sink to send again (after a lost connection) leaves the same final values.
// See README.md in this folder for how to run it.
import { Job, sources, sinks } from "@sluice/sdk";

const job = new Job("redis-count", {
  parallelism: 2,
  params: { redis: "127.0.0.1:6379", password: "", views: 100000, pages: 50 },
});

job
  .source(
    sources.generator({
      count: job.params.views,
      fn: (i: number, params) => ({ page: "/page/" + ((i * 7919) % params.pages), at: i }),
    }),
  )
  .map((view) => ({ page: view.page, views: 1 }))
  .keyBy((r) => r.page)
  .reduce((a, b) => ({ page: a.page, views: a.views + b.views }))
  .sink(
    sinks.redis({
      address: job.params.redis,
      ...(job.params.password === "" ? {} : { password: job.params.password }),
      command: (r) => [
        ["SET", "views:" + r.page, r.views],
        ["ZADD", "top-pages", r.views, r.page],
      ],
    }),
    { name: "redis" },
  );

export default job;
