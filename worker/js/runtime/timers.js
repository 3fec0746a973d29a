// Timers of one keyed operator in one task: event-time timers fire when the operator's
// watermark reaches them, processing-time timers when the wall clock does. A timer belongs to a
// key (its key string, key group and the key's value) and a namespace (a window's "start:end",
// or "" for a process function's own timers); registering the same (time, key, namespace)
// twice keeps one timer, as in Flink.
//
// Each domain is a binary min-heap ordered by (time, registration order), so timers of one time
// fire in the order they were registered; deleted timers stay in the heap, marked, until they
// reach the top. Snapshots are plain arrays (JSON) for checkpoints; restore() takes the timers
// of the key groups a task owns.
//
// The script's completion value is a frozen object { TimerService }.
(function () {
  "use strict";

  const EVENT = 0, PROCESSING = 1;

  class Heap {
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
        if (!before(t, a[p])) break;
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
          const c = r < n && before(a[r], a[l]) ? r : l;
          if (!before(a[c], last)) break;
          a[i] = a[c];
          i = c;
        }
        a[i] = last;
      }
      return top;
    }
  }

  function before(a, b) {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  function idOf(domain, time, keyString, namespace) {
    return domain + "|" + time + "|" + namespace + "|" + keyString;
  }

  class TimerService {
    constructor() {
      this.heaps = [new Heap(), new Heap()];
      this.live = new Map();  // id -> timer, for every registered and not yet fired timer
      this.seq = 0;
    }

    // Live timers in both domains.
    get size() {
      return this.live.size;
    }

    registerEventTimeTimer(time, keyGroup, keyString, key, namespace = "") {
      this.register(EVENT, time, keyGroup, keyString, key, namespace);
    }
    registerProcessingTimeTimer(time, keyGroup, keyString, key, namespace = "") {
      this.register(PROCESSING, time, keyGroup, keyString, key, namespace);
    }
    deleteEventTimeTimer(time, keyString, namespace = "") {
      this.remove(EVENT, time, keyString, namespace);
    }
    deleteProcessingTimeTimer(time, keyString, namespace = "") {
      this.remove(PROCESSING, time, keyString, namespace);
    }

    // Fires every event-time timer with time <= watermark, earliest first, as
    // fire({ time, keyGroup, keyString, key, namespace }). Timers registered while firing fire
    // in the same call when they are due.
    advanceWatermark(watermark, fire) {
      this.fireUpTo(EVENT, watermark, fire);
    }
    // The same for processing-time timers and the wall clock `now` (epoch ms).
    advanceProcessingTime(now, fire) {
      this.fireUpTo(PROCESSING, now, fire);
    }

    // The earliest live processing-time timer's time, or Infinity.
    nextProcessingTime() {
      const heap = this.heaps[PROCESSING];
      while (heap.size > 0 && heap.peek().deleted) heap.pop();
      return heap.size > 0 ? heap.peek().time : Infinity;
    }

    // Every live timer as [domain, time, keyGroup, keyString, key, namespace], in firing order
    // per domain.
    snapshot() {
      const out = [];
      for (let d = 0; d < 2; d++) {
        const timers = this.heaps[d].items.filter((t) => !t.deleted);
        timers.sort((a, b) => (before(a, b) ? -1 : 1));
        for (const t of timers) out.push([d, t.time, t.keyGroup, t.keyString, t.key, t.namespace]);
      }
      return out;
    }

    // Adds the timers of a snapshot whose key group satisfies owns(keyGroup).
    restore(snapshot, owns) {
      for (const [d, time, keyGroup, keyString, key, namespace] of snapshot) {
        if (owns(keyGroup)) this.register(d, time, keyGroup, keyString, key, namespace);
      }
    }

    register(domain, time, keyGroup, keyString, key, namespace) {
      if (typeof time !== "number" || Number.isNaN(time)) {
        throw new TypeError("a timer's time must be a number (epoch milliseconds), not " +
            (typeof time === "number" ? "NaN" : typeof time));
      }
      const id = idOf(domain, time, keyString, namespace);
      if (this.live.has(id)) return;
      const timer = { time, seq: this.seq++, keyGroup, keyString, key, namespace, id,
                      deleted: false };
      this.live.set(id, timer);
      this.heaps[domain].push(timer);
    }

    remove(domain, time, keyString, namespace) {
      const id = idOf(domain, time, keyString, namespace);
      const timer = this.live.get(id);
      if (timer === undefined) return;
      timer.deleted = true;
      this.live.delete(id);
    }

    fireUpTo(domain, time, fire) {
      const heap = this.heaps[domain];
      while (heap.size > 0) {
        const top = heap.peek();
        if (top.deleted) {
          heap.pop();
          continue;
        }
        if (top.time > time) break;
        heap.pop();
        this.live.delete(top.id);
        fire(top);
      }
    }
  }

  return Object.freeze({ TimerService });
})();
