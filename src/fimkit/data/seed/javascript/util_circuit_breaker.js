'use strict';

/**
 * Circuit breaker for calls to a flaky dependency.
 *
 *   CLOSED    -> calls pass through; failures are counted
 *   OPEN      -> calls fail fast until `resetAfterMs` has elapsed
 *   HALF_OPEN -> a single trial call decides whether to close or re-open
 *
 * Failing fast gives the dependency room to recover instead of piling
 * more load onto it.
 */
const State = Object.freeze({ CLOSED: 'closed', OPEN: 'open', HALF_OPEN: 'half_open' });

class CircuitOpenError extends Error {
  constructor(name) {
    super(`Circuit "${name}" is open`);
    this.name = 'CircuitOpenError';
  }
}

class CircuitBreaker {
  constructor(action, { name = 'default', failureThreshold = 5, resetAfterMs = 30_000, now = Date.now } = {}) {
    this.action = action;
    this.name = name;
    this.failureThreshold = failureThreshold;
    this.resetAfterMs = resetAfterMs;
    this.now = now;
    this.state = State.CLOSED;
    this.failures = 0;
    this.openedAt = 0;
    this.trialInFlight = false;
  }

  async call(...args) {
    if (this.state === State.OPEN) {
      if (this.now() - this.openedAt < this.resetAfterMs) throw new CircuitOpenError(this.name);
      this.state = State.HALF_OPEN;
    }
    const isTrial = this.state === State.HALF_OPEN;
    if (isTrial) {
      // Only one probe at a time; everyone else keeps failing fast.
      if (this.trialInFlight) throw new CircuitOpenError(this.name);
      this.trialInFlight = true;
    }

    try {
      const result = await this.action(...args);
      this.#onSuccess();
      return result;
    } catch (err) {
      this.#onFailure();
      throw err;
    } finally {
      if (isTrial) this.trialInFlight = false;
    }
  }

  #onSuccess() {
    this.failures = 0;
    this.state = State.CLOSED;
  }

  #onFailure() {
    this.failures += 1;
    if (this.state === State.HALF_OPEN || this.failures >= this.failureThreshold) {
      this.state = State.OPEN;
      this.openedAt = this.now();
    }
  }
}

module.exports = { CircuitBreaker, CircuitOpenError, State };

// const breaker = new CircuitBreaker((id) => fetch(`https://api.example.com/quotes/${id}`));
// await breaker.call(42);
