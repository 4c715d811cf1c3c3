import { maskEmails } from '@cio-bridge/logger';

export { maskEmails };

// Attribute names whose values are personal data beyond emails.
const personalKeys =
  /^(first_?name|last_?name|full_?name|phone(_?number)?|mobile|address|street|birthday|date_of_birth|ip)$/i;

/** A copy of a JSON value with emails masked everywhere and personal attributes replaced. */
export function maskValue(value: unknown): unknown {
  if (typeof value === 'string') return maskEmails(value);
  if (Array.isArray(value)) return value.map(maskValue);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [
        key,
        personalKeys.test(key) && (typeof inner === 'string' || typeof inner === 'number')
          ? '***'
          : maskValue(inner),
      ]),
    );
  }
  return value;
}
