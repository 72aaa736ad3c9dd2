// An LRU of completions keyed by (prefix, suffix) that also answers when the user has typed the
// beginning of a cached completion: the rest is shown without a request.

export class CompletionCache {
  private items = new Map<string, { prefix: string; suffix: string; text: string }>();
  constructor(private size = 256) {}

  private key(prefix: string, suffix: string): string {
    return `${prefix.length}:${prefix}\u0000${suffix}`;
  }

  put(prefix: string, suffix: string, text: string): void {
    const k = this.key(prefix, suffix);
    this.items.delete(k);
    this.items.set(k, { prefix, suffix, text });
    while (this.items.size > this.size) {
      const oldest = this.items.keys().next().value as string;
      this.items.delete(oldest);
    }
  }

  get(prefix: string, suffix: string): string | undefined {
    const k = this.key(prefix, suffix);
    const hit = this.items.get(k);
    if (hit !== undefined) {
      this.items.delete(k);
      this.items.set(k, hit);
      return hit.text;
    }
    const entries = Array.from(this.items.values()).reverse();
    for (const e of entries) {
      if (e.suffix === suffix && prefix.length > e.prefix.length && prefix.startsWith(e.prefix)) {
        const typed = prefix.slice(e.prefix.length);
        if (e.text.startsWith(typed) && e.text.length > typed.length) return e.text.slice(typed.length);
      }
    }
    return undefined;
  }

  get length(): number {
    return this.items.size;
  }
}
