// Debounce with cancellation: a newer call supersedes an older one, which resolves false.
// The request of a superseded call is aborted through its AbortSignal.

export class Debouncer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pending: ((go: boolean) => void) | undefined;
  private controller: AbortController | undefined;

  constructor(public delayMs: number) {}

  // Waits delayMs; resolves true with a fresh AbortSignal, or false if superseded meanwhile.
  wait(): Promise<{ go: boolean; signal: AbortSignal }> {
    this.cancel();
    const controller = new AbortController();
    this.controller = controller;
    return new Promise((resolve) => {
      this.pending = (go) => resolve({ go, signal: controller.signal });
      this.timer = setTimeout(() => {
        const p = this.pending;
        this.pending = undefined;
        this.timer = undefined;
        p?.(true);
      }, this.delayMs);
    });
  }

  // Supersede whatever is waiting or in flight: the next keystroke calls this.
  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const p = this.pending;
    this.pending = undefined;
    p?.(false);
    this.controller?.abort();
    this.controller = undefined;
  }
}
