import { ConfigurationError } from './errors.js';

/** Milliseconds, or a string such as "500ms", "90s", "15m", "24h", "30d". */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function toMs(duration: Duration, name: string): number {
  if (typeof duration === 'number') {
    if (Number.isFinite(duration) && duration >= 0) return duration;
  } else {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(duration);
    if (match) return Number(match[1]) * (UNIT[match[2] as string] as number);
  }
  throw new ConfigurationError(`${name} must be a non-negative number of milliseconds or a string like "24h"; got ${JSON.stringify(duration)}.`);
}
