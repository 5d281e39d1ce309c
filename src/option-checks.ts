import { ConfigError } from './errors.js';

/** Checks of user-supplied options: each returns the value (or its default) or throws a ConfigError naming the option. */

/** How a value reads in an error message: its type, and the value itself when short. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : `the number ${value}`;
  if (typeof value === 'string') return value.length <= 40 ? `the string "${value}"` : `a string of ${value.length} characters`;
  if (typeof value === 'bigint') return `the bigint ${value}n`;
  if (typeof value === 'boolean' || typeof value === 'symbol') return `the ${typeof value} ${String(value)}`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const constructorName = (value as object).constructor?.name;
  if (!constructorName || constructorName === 'Object') return 'a plain object';
  return `${/^[AEIO]/.test(constructorName) ? 'an' : 'a'} ${constructorName}`;
}

/** An integer option within [min, max], or its default when not given ('required': no default). */
export function integerOption(
  name: string,
  value: unknown,
  fallback: number | 'required',
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
  if (value === undefined) {
    if (fallback === 'required') throw new ConfigError(`option ${name} is required: ${range}`);
    return fallback;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`option ${name} must be ${range}, not ${describeValue(value)}`);
  }
  return value;
}

export function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError(`option ${name} must be true or false, not ${describeValue(value)}`);
  return value;
}

export function oneOfOption<T extends string | number>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new ConfigError(`option ${name} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, not ${describeValue(value)}`);
  }
  return value as T;
}

export function functionOption<T extends (...args: never[]) => unknown>(name: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new ConfigError(`option ${name} must be a function, not ${describeValue(value)}`);
  return value as T;
}

export function stringOption(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw new ConfigError(`option ${name} must be a string, not ${describeValue(value)}`);
  return value;
}

/** A plain object option (or undefined): what a caller passes where kafka-wire reads named fields. */
export function objectOption<T extends object>(name: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`option ${name} must be an object, not ${describeValue(value)}`);
  }
  return value as T;
}
