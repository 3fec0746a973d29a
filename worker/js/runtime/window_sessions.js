// Session windows: the methods of the window operator (windows.js) for them, installed on its
// prototype by install(proto, config) (config: window_config.js). A record opens [ts, ts + gap)
// and merges with every window of its key it intersects (touching counts).
//
// Timers. A session's window moves while records extend it (nearly every record does),
// so its timers are not tied to one window: they have the namespace "" and mean "look at this
// key's sessions now". A session's due time is its end - 1 until its time trigger fired, then
// its cleanup time (the count trigger has only the cleanup time). The invariant: every session
// has a live timer at or before its due time. A session that grows keeps the timer it has (its
// due time only grows), unless its trigger had fired and it is due again; when a timer fires, the
// key's sessions due then fire or are cleaned up, and every other session of the key registers
// a timer at its due time (a no-op when there is one: a timer is (time, key, namespace)). So a
// session extended many times costs one timer, moved when it fires, as Flink's lazy timers.
//
// Event-time session timers are kept by the operator (SessionTimers below), not in ctx.timers: a
// binary heap of { time, seq, keyGroup, keyString, key } in (time, registration) order — no Maps
// per time, as most session timers have a millisecond of their own. Registering a (time, key)
// the heap holds adds a second entry; it fires right after the first, at the same time, and
// onSessionTimer's firedKeys makes it a no-op, as ctx.timers would have kept one timer.
// prepareSnapshot() (windows.js) hands them to ctx.timers, which keeps one of each.
//
// The script's completion value is a frozen object { install, SessionTimers }.
(function () {
  "use strict";

  class SessionTimers {
    constructor() {
      this.heap = [];
      this.seq = 0;
    }
    get count() {
      return this.heap.length;
    }
    add(time, keyGroup, keyString, key) {
      const heap = this.heap;
      const t = { time, seq: this.seq++, keyGroup, keyString, key };
      let i = heap.length;
      heap.push(t);
      while (i > 0) {
        const p = (i - 1) >> 1;
        const q = heap[p];
        if (q.time < time || q.time === time) break;  // an earlier one registered first
        heap[i] = q;
        i = p;
      }
      heap[i] = t;
    }
    // The earliest time (count > 0).
    next() {
      return this.heap[0].time;
    }
    // Removes and returns the earliest timer.
    shift() {
      const heap = this.heap;
      const top = heap[0];
      const last = heap.pop();
      const n = heap.length;
      if (n > 0) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= n) break;
          const r = l + 1;
          const c = r < n && before(heap[r], heap[l]) ? r : l;
          if (!before(heap[c], last)) break;
          heap[i] = heap[c];
          i = c;
        }
        heap[i] = last;
      }
      return top;
    }
    // Every timer in firing order (the heap stays).
    sorted() {
      return this.heap.slice().sort((a, b) => (before(a, b) ? -1 : 1));
    }
  }

  function before(a, b) {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  function install(proto, config) {
    const { STRIDE, removeWindow, COUNT } = config;
    const methods = {
      // Session windows: [time, time + gap) merges with every window of the key it intersects.
      addToSession(keyGroup, keyString, key, record, time, watermark) {
        let start = time, end = time + this.gap;
        let ws = this.state.get(keyGroup, keyString);
        if (ws === undefined) ws = [];
        let hits = 0, hit = -1;
        for (let i = 0; i < ws.length; i += STRIDE) {
          if (ws[i] <= end && ws[i + 1] >= start) {
            hits++;
            hit = i;
          }
        }
        let i;
        if (hits === 0) {
          // Alone, the new window can be late; merged with an existing one it cannot (that one's
          // cleanup timer has not fired).
          if (end - 1 + this.lateness <= watermark) return false;
          i = ws.length;
          ws.push(start, end, this.first(record, 0), 0);
          this.registerSessionTimer(keyGroup, keyString, key, this.sessionDue(end, watermark));
        } else if (hits === 1) {
          // The common way a session grows: one window, extended. Its timer stays (see "Session
          // timers"), unless its trigger fired and the new end is due again.
          i = hit;
          const oldEnd = ws[i + 1];
          if (start < ws[i]) ws[i] = start;
          if (end > oldEnd) {
            ws[i + 1] = end;
            if (this.trigger !== COUNT && oldEnd - 1 <= watermark && end - 1 > watermark) {
              this.registerSessionTimer(keyGroup, keyString, key, end - 1);
            }
          }
          ws[i + 2] = this.add(ws[i + 2], record);
        } else {
          // Merge the windows it touches, in order of start, into one.
          const merged = [];
          const kept = [];
          for (let j = 0; j < ws.length; j += STRIDE) {
            const into = ws[j] <= end && ws[j + 1] >= start ? merged : kept;
            into.push(ws[j], ws[j + 1], ws[j + 2], ws[j + 3]);
          }
          const order = [];
          for (let j = 0; j < merged.length; j += STRIDE) order.push(j);
          order.sort((a, b) => merged[a] - merged[b]);
          let acc, pending = 0;
          for (let n = 0; n < order.length; n++) {
            const j = order[n];
            start = Math.min(start, merged[j]);
            end = Math.max(end, merged[j + 1]);
            acc = n === 0 ? merged[j + 2] : this.merge(acc, merged[j + 2]);
            pending += merged[j + 3];
          }
          ws = kept;
          i = ws.length;
          ws.push(start, end, this.add(acc, record), pending);
          // The merged windows' timers stay (each at or before its window's due time, so at or
          // before the merged one's), except that the merged window may be due again.
          this.registerSessionTimer(keyGroup, keyString, key, this.sessionDue(end, watermark));
        }
        this.onElementAdded(ws, i, key, watermark);
        this.state.put(keyGroup, keyString, ws);
        return true;
      },


      // The first time after `after` at which a session ending at `end` is due: its end - 1 while
      // its time trigger has not fired, then its cleanup time.
      sessionDue(end, after) {
        return this.trigger !== COUNT && end - 1 > after ? end - 1 : this.cleanupTime(end);
      },

      registerSessionTimer(keyGroup, keyString, key, time) {
        if (this.eventTime) {
          this.sessionTimers.add(time, keyGroup, keyString, key);
        } else {
          this.timers.registerProcessingTimeTimer(time, keyGroup, keyString, key, "");
        }
      },

      // A timer of a key's sessions (in the operator's time domain): the sessions due at its time
      // fire or are cleaned up, the others register a timer at their due time. A key has one
      // session timer per time, but a checkpoint taken before session timers had the namespace ""
      // holds timers "start:end" for the trigger and cleanup of each window, which may share a
      // time with another: firedKeys handles a key once per time.
      onSessionTimer(timer) {
        const time = timer.time, keyGroup = timer.keyGroup, keyString = timer.keyString;
        if (time !== this.firedTime) {
          this.firedTime = time;
          this.firedKeys.clear();
        }
        if (this.firedKeys.has(keyString)) return;
        this.firedKeys.add(keyString);
        const ws = this.state.get(keyGroup, keyString);
        if (ws === undefined) return;
        let removed = false;
        for (let i = 0; i < ws.length;) {
          const start = ws[i], end = ws[i + 1];
          const cleanup = time === this.cleanupTime(end);
          const fires = this.trigger !== COUNT ? time === end - 1
            : cleanup && this.ending() && ws[i + 3] > 0;
          if (fires) this.emitWindow(timer.key, start, end, ws[i + 2], !cleanup);
          if (cleanup) {
            removeWindow(ws, i);
            removed = true;
          } else {
            this.registerSessionTimer(keyGroup, keyString, timer.key, this.sessionDue(end, time));
            i += STRIDE;
          }
        }
        if (!removed) return;
        if (ws.length === 0) {
          this.state.delete(keyGroup, keyString);
        } else {
          this.state.put(keyGroup, keyString, ws);
        }
      },

    };
    for (const name of Object.keys(methods)) {
      Object.defineProperty(proto, name, { value: methods[name], writable: true, configurable: true });
    }
  }

  return Object.freeze({ install, SessionTimers });
})();
