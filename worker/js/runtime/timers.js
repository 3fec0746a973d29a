// Timers of one keyed operator in one task: event-time timers fire when the operator's
// watermark reaches them, processing-time timers when the wall clock does. A timer belongs to a
// key (its key string, key group and the key's value) and a namespace (a window's "start:end",
// or "" for a process function's own timers); registering the same (time, key, namespace)
// twice keeps one timer, as in Flink.
//
// Each domain keeps a min-heap of the distinct times and, per time, its timers in registration
// order, so timers of one time fire in the order they were registered; many timers share a time
// (every key's window ends at the same instant), so the heap stays small. Snapshots are plain arrays (JSON) for checkpoints; restore() takes the timers
// of the key groups a task owns.
//
// The script's completion value is a frozen object { TimerService }.
(function () {
  "use strict";

  const EVENT = 0, PROCESSING = 1;

  // A binary min-heap of distinct times (numbers).
  class TimeHeap {
    constructor() {
      this.items = [];
    }
    get size() {
      return this.items.length;
    }
    peek() {
      return this.items[0];
    }
    push(t) {
      const a = this.items;
      let i = a.length;
      a.push(t);
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (a[p] <= t) break;
        a[i] = a[p];
        i = p;
      }
      a[i] = t;
    }
    pop() {
      const a = this.items;
      const top = a[0];
      const last = a.pop();
      if (a.length > 0) {
        let i = 0;
        const n = a.length;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= n) break;
          const r = l + 1;
          const c = r < n && a[r] < a[l] ? r : l;
          if (a[c] >= last) break;
          a[i] = a[c];
          i = c;
        }
        a[i] = last;
      }
      return top;
    }
  }

  // One domain's timers: per distinct time a bucket, namespace -> key string -> timer, whose
  // insertion order is the registration order (Maps iterate in insertion order, and visit
  // entries added while iterating, so a timer registered while its time fires fires too).
  class Domain {
    constructor() {
      this.heap = new TimeHeap();
      this.buckets = new Map();  // time -> Map(namespace -> Map(keyString -> timer))
      this.count = 0;
    }
    register(time, keyGroup, keyString, key, namespace) {
      let bucket = this.buckets.get(time);
      if (bucket === undefined) {
        bucket = new Map();
        this.buckets.set(time, bucket);
        this.heap.push(time);
      }
      let byKey = bucket.get(namespace);
      if (byKey === undefined) {
        byKey = new Map();
        bucket.set(namespace, byKey);
      }
      if (byKey.has(keyString)) return;
      byKey.set(keyString, { time, keyGroup, keyString, key, namespace });
      this.count++;
    }
    remove(time, keyString, namespace) {
      const bucket = this.buckets.get(time);
      if (bucket === undefined) return;
      const byKey = bucket.get(namespace);
      if (byKey !== undefined && byKey.delete(keyString)) this.count--;
    }
    fireUpTo(time, fire) {
      const heap = this.heap;
      while (heap.size > 0 && heap.peek() <= time) {
        const t = heap.peek();
        const bucket = this.buckets.get(t);
        for (const byKey of bucket.values()) {
          for (const timer of byKey.values()) {
            byKey.delete(timer.keyString);
            this.count--;
            fire(timer);
          }
        }
        // Everything of time t fired (timers added to it meanwhile too).
        heap.pop();
        this.buckets.delete(t);
      }
    }
    next() {
      const heap = this.heap;
      while (heap.size > 0) {
        const t = heap.peek();
        const bucket = this.buckets.get(t);
        let live = false;
        for (const byKey of bucket.values()) {
          if (byKey.size > 0) {
            live = true;
            break;
          }
        }
        if (live) return t;
        heap.pop();
        this.buckets.delete(t);
      }
      return Infinity;
    }
    // Live timers in firing order.
    list() {
      const times = Array.from(this.buckets.keys()).sort((a, b) => a - b);
      const out = [];
      for (const t of times) {
        for (const byKey of this.buckets.get(t).values()) {
          for (const timer of byKey.values()) out.push(timer);
        }
      }
      return out;
    }
  }

  function checkTime(time) {
    if (typeof time !== "number" || Number.isNaN(time)) {
      throw new TypeError("a timer's time must be a number (epoch milliseconds), not " +
          (typeof time === "number" ? "NaN" : typeof time));
    }
  }

  class TimerService {
    constructor() {
      this.domains = [new Domain(), new Domain()];
    }

    // Live timers in both domains.
    get size() {
      return this.domains[EVENT].count + this.domains[PROCESSING].count;
    }

    registerEventTimeTimer(time, keyGroup, keyString, key, namespace = "") {
      checkTime(time);
      this.domains[EVENT].register(time, keyGroup, keyString, key, namespace);
    }
    registerProcessingTimeTimer(time, keyGroup, keyString, key, namespace = "") {
      checkTime(time);
      this.domains[PROCESSING].register(time, keyGroup, keyString, key, namespace);
    }
    deleteEventTimeTimer(time, keyString, namespace = "") {
      this.domains[EVENT].remove(time, keyString, namespace);
    }
    deleteProcessingTimeTimer(time, keyString, namespace = "") {
      this.domains[PROCESSING].remove(time, keyString, namespace);
    }

    // Fires every event-time timer with time <= watermark, earliest first (registration order
    // within a time), as fire({ time, keyGroup, keyString, key, namespace }). Timers registered
    // while firing fire in the same call when they are due.
    advanceWatermark(watermark, fire) {
      this.domains[EVENT].fireUpTo(watermark, fire);
    }
    // The same for processing-time timers and the wall clock `now` (epoch ms).
    advanceProcessingTime(now, fire) {
      this.domains[PROCESSING].fireUpTo(now, fire);
    }

    // The earliest live processing-time timer's time, or Infinity.
    nextProcessingTime() {
      return this.domains[PROCESSING].next();
    }

    // Every live timer as [domain, time, keyGroup, keyString, key, namespace], in firing order
    // per domain.
    snapshot() {
      const out = [];
      for (let d = 0; d < 2; d++) {
        for (const t of this.domains[d].list()) {
          out.push([d, t.time, t.keyGroup, t.keyString, t.key, t.namespace]);
        }
      }
      return out;
    }

    // Adds the timers of a snapshot whose key group satisfies owns(keyGroup).
    restore(snapshot, owns) {
      for (const [d, time, keyGroup, keyString, key, namespace] of snapshot) {
        if (owns(keyGroup)) this.domains[d].register(time, keyGroup, keyString, key, namespace);
      }
    }
  }

  return Object.freeze({ TimerService });
})();
