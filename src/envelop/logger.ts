/** Where the plugin's warnings go: Yoga's logger (`yoga.logger`, Yoga 5), when the plugin runs in Yoga. */
export interface PluginLogger {
  warn(...args: unknown[]): void;
}

/** Yoga's logger, read from the server handed to onYogaInit; undefined elsewhere (then nothing is logged). */
export function loggerOf(yoga: unknown): PluginLogger | undefined {
  const logger = (yoga as { logger?: { warn?: unknown } } | null)?.logger;
  return typeof logger?.warn === 'function' ? (logger as PluginLogger) : undefined;
}
