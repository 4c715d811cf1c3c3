export {
  createHttpApp,
  finishHttpApp,
  type HttpAppOptions,
  managementRoutes,
  type ReadinessChecks,
} from './app';
export { bearerAuth } from './bearer-auth';
export { HttpError } from './errors';
export { jsonBody, parseJsonBody, readRawBody, requireJson } from './json-body';
export { createHttpMetrics, createRegistry, type HttpMetrics } from './metrics';
export type { HttpNetworkOptions, TrustProxy } from './network';
export { closeServer, listen, serve } from './server';
