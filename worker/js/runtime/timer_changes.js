// The incremental checkpoints of a TimerService (timers.js): which of its timers a checkpoint
// writes, in which order, and their state entries. A TimerService takes this library when it is
// made (new TimerService(rt.timer_changes)) and makes its Changes on trackChanges().
//
// A checkpoint writes one state entry per timer registered, and a deletion per stored timer
// gone, since the one before. Two timers can share an entry key: a timer of a (time, key,
// namespace) registered again once the first one fired or was deleted. So that the older one's
// deletion never removes the newer one's entry, a checkpoint writes its deletions before its
// timers: takeFrozen() the deletions first, and a frozen timer written early (it fires or is
// deleted before its turn) writes the frozen deletions not yet written first. Within a
// generation a stored timer is gone before a timer of its entry key is registered (a key holds
// one timer of a time and namespace), and across generations the older generation's
// checkpoint is written first, so deletions first is always the right order.
//
// The script's completion value is a frozen object { Changes, parseEntry }.
(function () {
  "use strict";

  const EVENT = 0, PROCESSING = 1;

  // The changes of one TimerService since its last checkpoint, and those of the checkpoint being
  // written (its frozen generation). Made by the service's trackChanges(), kept as long as the
  // service; touched only by the task's thread, as the service.
  //
  // A timer's cgen is the generation of the Set it is in (0: none): `added` holds the timers
  // registered in generation `gen` and not stored, `removed` the stored ones gone in it.
  // freeze() makes both the frozen generation frozenGen, which take() writes; a frozen timer
  // whose cgen has changed since was written already.
  class Changes {
    constructor() {
      this.gen = 1;
      this.added = new Set();
      this.removed = new Set();
      this.frozenGen = 0;
      this.frozenAdded = null;  // null: no checkpoint being written
      this.frozenRemoved = null;
      this.removedIt = null;  // the frozen deletions not yet written (null: all written)
      this.addedIt = null;
      this.out = null;  // where a frozen timer's entry goes: [keyGroup, key, value or null, ...]
    }

    // A timer registered (or, on trackChanges(), live and not stored).
    add(timer) {
      timer.cgen = this.gen;
      this.added.add(timer);
    }

    // A live timer fired or deleted.
    gone(timer) {
      // Frozen, unwritten: the checkpoint must have it, live as it was (after the deletions).
      if (timer.cgen === this.frozenGen && this.frozenAdded !== null) {
        if (this.removedIt !== null) this.takeRemoved(Infinity);
        this.save(timer);
      }
      timer.live = false;
      if (timer.stored) {
        timer.cgen = this.gen;
        this.removed.add(timer);
      } else if (timer.cgen === this.gen) {
        this.added.delete(timer);  // registered and gone between two checkpoints
        timer.cgen = 0;
      }
    }

    // A checkpoint's synchronous part: the changes so far become the frozen generation.
    freeze(out) {
      if (this.frozenAdded !== null) {
        throw new Error("timers: a checkpoint's changes are frozen already");
      }
      this.frozenAdded = this.added;
      this.frozenRemoved = this.removed;
      this.removedIt = this.removed.values();
      this.addedIt = this.added.values();
      this.frozenGen = this.gen++;
      this.added = new Set();
      this.removed = new Set();
      this.out = out;
    }

    // Writes up to `budget` entries of the frozen generation, deletions first; true when all
    // of it is out.
    take(budget) {
      if (this.frozenAdded === null) return true;
      let n = 0;
      if (this.removedIt !== null) {
        n = this.takeRemoved(budget);
        if (this.removedIt !== null) return false;
      }
      const it = this.addedIt, gen = this.frozenGen;
      while (n < budget) {
        const next = it.next();
        if (next.done) {
          this.endFrozen();
          return true;
        }
        if (next.value.cgen === gen) {
          this.save(next.value);
          n++;
        }
      }
      return false;
    }

    // Writes up to `budget` frozen deletions; returns how many.
    takeRemoved(budget) {
      const it = this.removedIt, gen = this.frozenGen;
      let n = 0;
      while (n < budget) {
        const next = it.next();
        if (next.done) {
          this.removedIt = null;
          break;
        }
        if (next.value.cgen === gen) {
          this.save(next.value);
          n++;
        }
      }
      return n;
    }

    // A checkpoint given up: what it did not write is a change again (its deletions still go
    // before its timers, and before the current generation's, which are newer).
    abort() {
      if (this.frozenAdded === null) return;
      const gen = this.frozenGen;
      for (const timer of this.frozenRemoved) {
        if (timer.cgen === gen) {
          timer.cgen = this.gen;
          this.removed.add(timer);
        }
      }
      for (const timer of this.frozenAdded) if (timer.cgen === gen) this.add(timer);
      this.endFrozen();
    }

    endFrozen() {
      this.frozenAdded = null;
      this.frozenRemoved = null;
      this.removedIt = null;
      this.addedIt = null;
      this.frozenGen = 0;
    }

    save(timer) {
      this.out.push(timer.keyGroup, entryKey(timer), timer.live ? entryValue(timer) : null);
      timer.stored = timer.live;
      timer.cgen = 0;
    }
  }

  // A timer's state entry. Key: JSON [domain, time, namespace, keyString] (a time of
  // +-Infinity as a string: JSON has none); value: JSON [seq, nsSeq] or [seq, nsSeq, key] when
  // the key is not its key string.
  function entryKey(timer) {
    const t = timer.time;
    return JSON.stringify([timer.domain, Number.isFinite(t) ? t : String(t), timer.namespace,
                           timer.keyString]);
  }
  function entryValue(timer) {
    if (timer.key === timer.keyString) return "[" + timer.seq + "," + timer.nsSeq + "]";
    try {
      return JSON.stringify([timer.seq, timer.nsSeq, timer.key]);
    } catch (e) {
      throw new TypeError("the timer of key " + JSON.stringify(timer.keyString) + " (key group " +
          timer.keyGroup + ") cannot be stored as JSON (" + e.message +
          "; a key must be a JSON value)");
    }
  }
  // A stored timer's entry as { domain, time, namespace, keyString, keyGroup, key, seq, nsSeq }.
  function parseEntry(keyGroup, key, value) {
    let k, v;
    try {
      k = JSON.parse(key);
      v = JSON.parse(value);
    } catch (e) {
      throw new TypeError("the stored timer " + key + " of key group " + keyGroup +
          " is not JSON (" + e.message + ")");
    }
    const time = typeof k[1] === "string" ? Number(k[1]) : k[1];
    if (!Array.isArray(k) || k.length !== 4 || (k[0] !== EVENT && k[0] !== PROCESSING) ||
        typeof time !== "number" || Number.isNaN(time) || typeof k[2] !== "string" ||
        typeof k[3] !== "string" || !Array.isArray(v) || v.length < 2 ||
        !Number.isInteger(v[0]) || !Number.isInteger(v[1])) {
      throw new TypeError("the stored timer " + key + " of key group " + keyGroup +
          " is not [domain 0 or 1, time, namespace, keyString] -> [seq, nsSeq, key?]");
    }
    return { domain: k[0], time, namespace: k[2], keyString: k[3], keyGroup,
             key: v.length > 2 ? v[2] : k[3], seq: v[0], nsSeq: v[1] };
  }

  return Object.freeze({ Changes, parseEntry });
})();
