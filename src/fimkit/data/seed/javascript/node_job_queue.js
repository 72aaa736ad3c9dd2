'use strict';

const { EventEmitter } = require('node:events');

/**
 * In-memory job queue. Emits:
 *   'enqueued' (job)   'started' (job)   'completed' (job, result)
 *   'failed' (job, error)   'drain' ()
 */
class JobQueue extends EventEmitter {
  constructor({ concurrency = 2, maxAttempts = 3 } = {}) {
    super();
    this.concurrency = concurrency;
    this.maxAttempts = maxAttempts;
    this.pending = [];
    this.running = 0;
    this.seq = 0;
  }

  /** @param {string} name @param {() => Promise<any>} handler */
  add(name, handler) {
    const job = { id: ++this.seq, name, handler, attempts: 0 };
    this.pending.push(job);
    this.emit('enqueued', job);
    // Defer so listeners attached right after add() still see 'started'.
    queueMicrotask(() => this._pump());
    return job.id;
  }

  get size() {
    return this.pending.length + this.running;
  }

  _pump() {
    while (this.running < this.concurrency && this.pending.length > 0) {
      this._run(this.pending.shift());
    }
    if (this.size === 0) this.emit('drain');
  }

  async _run(job) {
    this.running++;
    job.attempts++;
    this.emit('started', job);
    try {
      const result = await job.handler();
      this.emit('completed', job, result);
    } catch (err) {
      if (job.attempts < this.maxAttempts) {
        this.pending.push(job); // retry at the back of the line
      } else {
        this.emit('failed', job, err);
      }
    } finally {
      this.running--;
      this._pump();
    }
  }

  /** Resolve once every queued and running job has settled. */
  idle() {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.once('drain', resolve));
  }
}

module.exports = { JobQueue };
