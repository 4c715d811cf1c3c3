import { z } from 'zod';

export const commaList = (what: string) =>
  z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    )
    .refine((items) => items.length > 0, `must be a comma-separated list of ${what}`);

/** Shortest accepted bearer token: long enough that guessing one is hopeless. */
export const MIN_TOKEN_LENGTH = 16;

/** Comma-separated secrets (several during a rotation), each at least MIN_TOKEN_LENGTH long. */
export const tokenList = (what: string) =>
  commaList(what).refine(
    (tokens) => tokens.every((token) => token.length >= MIN_TOKEN_LENGTH),
    `must hold tokens of at least ${MIN_TOKEN_LENGTH} characters each`,
  );

export const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${max}`);

export const port = (fallback: number) => integer(1, 65535).prefault(String(fallback));

export const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((value) => ['true', '1', 'yes'].includes(value));

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'must be one of fatal, error, warn, info, debug, trace, silent',
  })
  .default('info');
