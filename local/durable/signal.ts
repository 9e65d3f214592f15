/** A wake-up signal: waiters sleep until notified or until their timeout, whichever comes first. */
export class WakeSignal {
  #waiters: (() => void)[] = [];
  #pending = false;

  /** Wakes one waiter, or remembers the wake-up if nobody waits so the next wait returns at once. */
  notifyOne(): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter();
    else this.#pending = true;
  }

  notifyAll(): void {
    const waiters = this.#waiters.splice(0);
    if (waiters.length === 0) this.#pending = true;
    for (const waiter of waiters) waiter();
  }

  wait(timeoutMs: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        const at = this.#waiters.indexOf(done);
        if (at >= 0) this.#waiters.splice(at, 1);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.#waiters.push(done);
    });
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
