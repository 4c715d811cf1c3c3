// The helpers the other infrastructure checks rely on must themselves see what they claim to.
import { metricCatalog, metricsInPromql } from './helpers';

describe('metricsInPromql', () => {
  it('finds the metric names and leaves out functions, labels, ranges and keywords', () => {
    const expr =
      'histogram_quantile(0.95, sum by (api, le) (rate(a_seconds_bucket{route!~"/metrics|x"}[5m]))) > 2 ' +
      'unless on () (sum(rate(b_total[$__rate_interval])) or vector(0)) > 0 and c offset 15m';
    expect(metricsInPromql(expr).sort()).toEqual(['a_seconds_bucket', 'b_total', 'c']);
  });

  it('reads a bare metric and comparisons', () => {
    expect(metricsInPromql('up == 0')).toEqual(['up']);
  });
});

describe('metricCatalog', () => {
  const catalog = metricCatalog();

  it('holds the shared HTTP metrics with the histogram series', () => {
    expect(catalog.has('cio_bridge_http_requests_total')).toBe(true);
    expect(catalog.has('cio_bridge_http_request_duration_seconds_bucket')).toBe(true);
    expect(catalog.has('cio_bridge_http_request_duration_seconds_count')).toBe(true);
  });

  it("holds the services' own metrics, prom-client's defaults and up", () => {
    expect(catalog.has('cio_bridge_webhook_requests_total')).toBe(true);
    expect(catalog.has('process_resident_memory_bytes')).toBe(true);
    expect(catalog.has('up')).toBe(true);
  });

  it('does not hold names no service exports', () => {
    expect(catalog.has('http_requests_totally_made_up')).toBe(false);
    expect(catalog.has('cio_bridge_webhook_requests_total_bucket')).toBe(false);
  });
});
