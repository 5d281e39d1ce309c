/** At most `maxCount` messages per `intervalMs` for a topic; undefined or no entry: no limit. */
export interface RateLimit {
  intervalMs: number;
  maxCount: number;
}

export interface RateLimits {
  /** For topics not listed in `topics`. */
  default?: RateLimit;
  /** Per topic; null: this topic is not limited, whatever the default. */
  topics?: Record<string, RateLimit | null>;
}

interface TopicWindow {
  limit: RateLimit | undefined;
  start: number;
  count: number;
}

/**
 * Per-topic message rate limits, as Dory applies them (doc/design.md, "Message Rate
 * Limiting"): fixed windows of `intervalMs`, the first starting at the topic's first message and
 * the next ones at whole intervals after it, on a monotonic clock (setting the wall clock back
 * discards nothing). A message over the window's `maxCount` is to be discarded.
 */
export class TopicRateLimiter {
  private readonly windows = new Map<string, TopicWindow>();

  constructor(
    private limits: RateLimits,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether the next message of `topic` is within its limit (it is counted either way). */
  allow(topic: string): boolean {
    const now = this.now();
    let window = this.windows.get(topic);
    if (!window) {
      window = { limit: this.limitOf(topic), start: now, count: 0 };
      this.windows.set(topic, window);
    }
    const { limit } = window;
    if (!limit) return true;
    if (now >= window.start + limit.intervalMs) {
      window.start += Math.floor((now - window.start) / limit.intervalMs) * limit.intervalMs;
      window.count = 0;
    }
    window.count++;
    return window.count <= limit.maxCount;
  }

  /** New limits (a reload): windows start over. */
  reload(limits: RateLimits): void {
    this.limits = limits;
    this.windows.clear();
  }

  private limitOf(topic: string): RateLimit | undefined {
    const own = this.limits.topics?.[topic];
    if (own === null) return undefined;
    return own ?? this.limits.default;
  }
}
