export { createHttpApp, finishHttpApp, type HttpAppOptions, type ReadinessChecks } from './app';
export { bearerAuth } from './bearer-auth';
export { HttpError } from './errors';
export { jsonBody, parseJsonBody, readRawBody, requireJson } from './json-body';
export { createRegistry } from './metrics';
export { closeServer, listen } from './server';
