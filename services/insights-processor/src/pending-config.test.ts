import { loadConfig } from '@cio-bridge/config';
import { insightsEnv } from './config';

const base = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/cio_bridge' };
const DAY_MS = 86_400_000;

describe('pending predictions configuration', () => {
  it('keeps pending predictions 7 days and sweeps every minute by default', () => {
    expect(loadConfig(insightsEnv, base)).toMatchObject({
      INSIGHTS_PENDING_TTL: 7 * DAY_MS,
      INSIGHTS_PENDING_SWEEP_SECONDS: 60,
    });
  });

  it.each([
    ['14d', 14 * DAY_MS],
    ['36h', 36 * 3_600_000],
    ['90m', 90 * 60_000],
    ['3600s', 3_600_000],
    ['7200', 7_200_000],
  ])('reads INSIGHTS_PENDING_TTL=%s', (value, ms) => {
    expect(loadConfig(insightsEnv, { ...base, INSIGHTS_PENDING_TTL: value }).INSIGHTS_PENDING_TTL).toBe(ms);
  });

  it.each(['7 days', '-1d', '30s', 'forever'])('refuses INSIGHTS_PENDING_TTL=%s with one line', (value) => {
    expect(() => loadConfig(insightsEnv, { ...base, INSIGHTS_PENDING_TTL: value })).toThrow(
      /configuration error: INSIGHTS_PENDING_TTL must be/,
    );
  });
});
