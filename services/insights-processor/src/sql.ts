/** Quotes one Postgres identifier (names are validated by the config, quoting is belt and braces). */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** `users` -> `"users"`, `app.users` -> `"app"."users"`. */
export const quoteTable = (name: string): string => name.split('.').map(quoteIdent).join('.');

/** Where a Postgres error comes from: the SQLSTATE class decides whether retrying can help. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * A data error (class 22, data exception; class 23, integrity violation) is caused by
 * the rows written and fails the same way every time; anything else (connection lost,
 * server shutting down, out of resources, a missing column while an operator migrates)
 * is worth retrying.
 */
export function isDataError(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}
