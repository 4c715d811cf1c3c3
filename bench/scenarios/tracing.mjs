// What tracing costs: producer requests/s for single-event POST /v1/track requests
// carrying a W3C traceparent, with tracing off (OTEL_* unset, the default) and on
// (OTLP/HTTP to a local sink that accepts and drops), alternating in the same run.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { httpLoad, median, startService } from '../lib.mjs';

const require = createRequire(import.meta.url);
const { seedExamples } = require('@cio-bridge/schemas');

const PORT = 18481;
const SINK_PORT = 18482;
const TOKEN = 'bench-tracing-token';
const CONNECTIONS = 16;

export default async function run({ durationMs, repeats, log }) {
  const suffix = `bench-tracing-${Date.now().toString(36)}`;
  const [seed] = Object.values(seedExamples());
  const body = JSON.stringify({ ...seed, identifiers: { id: 'bench-traced' } });
  let exported = 0;
  const sink = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      exported++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((resolve) => sink.listen(SINK_PORT, '127.0.0.1', resolve));
  const rates = { off: [], on: [] };
  try {
    for (let r = 0; r < repeats; r++) {
      for (const mode of ['off', 'on']) {
        const otel =
          mode === 'on'
            ? { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${SINK_PORT}/v1/traces` }
            : {
                OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
                OTEL_EXPORTER_OTLP_ENDPOINT: '',
                OTEL_TRACES_EXPORTER: '',
              };
        const service = await startService(
          'producer',
          {
            PORT: String(PORT),
            INGEST_API_TOKENS: TOKEN,
            KAFKA_TOPIC_TRACK: `${suffix}.track`,
            KAFKA_TOPIC_TRANSACTIONAL: `${suffix}.transactional`,
            ...otel,
          },
          { readyUrl: `http://127.0.0.1:${PORT}/readyz` },
        );
        try {
          const load = (ms) =>
            httpLoad({
              url: `http://127.0.0.1:${PORT}/v1/track`,
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                authorization: `Bearer ${TOKEN}`,
                traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
              },
              body,
              connections: CONNECTIONS,
              duration: ms / 1000,
            });
          await load(1_000);
          const result = await load(durationMs);
          if (result.errors || result.non2xx) throw new Error(`producer answered ${result.non2xx} non-2xx`);
          rates[mode].push(result.rps);
          log(`tracing ${mode} repeat ${r + 1}: ${Math.round(result.rps)} requests/s`);
        } finally {
          await service.stop();
        }
      }
    }
  } finally {
    sink.close();
  }
  if (exported === 0) throw new Error('tracing on exported nothing to the sink');
  return [
    {
      figure: 'producer single-event requests/s with tracing on (OTLP to a local sink)',
      value: Math.round(median(rates.on)),
      unit: 'req/s',
      baseline: Math.round(median(rates.off)),
      baselineName: 'tracing off (OTEL_* unset, the default)',
      goal: null,
    },
  ];
}
