// Error kinds shared by every module: a ConfigError is the user's to fix (exit 2),
// anything else is a bug in hcprobe (exit 1).

/** Bad user input: a flag, a file, a config value. The message names the value received. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Formats a received value for an error message, cut short when long. */
export function shown(value: unknown): string {
  const s = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** A received JSON value for an error message, unquoted (strings keep their JSON quotes), cut short. */
export function shownJson(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
