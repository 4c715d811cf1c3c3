import type { z } from 'zod';

/** A missing or malformed variable. The message is one line naming it, never its value. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly retriable = false;
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`configuration error: ${variable} ${reason}`);
  }
}

/** Parses the environment with a zod object schema whose keys are variable names. */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  // An empty variable means "not set", as in most deployment tooling.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const variable = String(issue.path[0] ?? 'environment');
  const reason =
    issue.code === 'invalid_type' && present[variable] === undefined ? 'is required' : issue.message;
  throw new ConfigError(variable, reason);
}
