import type { Logger } from '@cio-bridge/logger';
import type { DeliveryError } from '../errors';
import type { WorkerMetrics } from '../metrics';
import type { Api, DeadLetterBlock, Faults } from './faults';

/** How readiness and log lines name an API and the variables an operator checks for it. */
export interface ApiNames {
  name: string;
  credentials: string;
  url: string;
}

export const API_NAMES: Record<'track' | 'pipelines' | 'app', ApiNames> = {
  track: { name: 'Track API', credentials: 'CIO_SITE_ID, CIO_API_KEY', url: 'CIO_TRACK_URL' },
  pipelines: { name: 'Pipelines API', credentials: 'CIO_PIPELINES_API_KEY', url: 'CIO_PIPELINES_URL' },
  app: { name: 'App API', credentials: 'CIO_APP_API_KEY', url: 'CIO_APP_URL' },
};

export interface ApiHealthOptions {
  api: Api;
  /** what the fault log lines name (default: the Track or App API's; the Pipelines API's with CIO_API=pipelines) */
  names?: ApiNames;
  metrics: WorkerMetrics;
  logger: Logger;
  /** where the faults' start and end are announced */
  faults: Faults;
}

/**
 * The configuration faults that hold a whole API, not one message: Customer.io rejects
 * the credentials (401/403), refuses every operation (a wrong URL, an account fault), or
 * the dead-letter topic refuses the API's dead letters. Delivery reports what it sees;
 * each fault is entered once (a gauge, one log line, a raised event) and left once (a
 * cleared event).
 */
export class ApiHealth {
  private authRejected: DeliveryError | undefined;
  private endpointFault: DeliveryError | undefined;
  private deadLetterBlock: DeadLetterBlock | undefined;

  constructor(private readonly options: ApiHealthOptions) {}

  get api(): Api {
    return this.options.api;
  }

  get names(): ApiNames {
    return this.options.names ?? API_NAMES[this.options.api];
  }

  get credentialsRejected(): boolean {
    return this.authRejected !== undefined;
  }

  /** The endpoint fault holding delivery, if any (status and message, no personal data). */
  get endpointFaulted(): DeliveryError | undefined {
    return this.endpointFault;
  }

  /** Why dead letters cannot be written, while any are blocked. */
  get deadLettersBlocked(): DeadLetterBlock | undefined {
    return this.deadLetterBlock;
  }

  /** Either Customer.io fault holds: send one request at a time, as a probe. */
  get faulted(): boolean {
    return this.authRejected !== undefined || this.endpointFault !== undefined;
  }

  /** A request was answered with success: both Customer.io faults are over. */
  accepted(): void {
    const { api, metrics, logger, faults } = this.options;
    if (this.endpointFault) {
      this.endpointFault = undefined;
      metrics.endpointFault.set({ api }, 0);
      logger.info({ api }, 'Customer.io accepts requests again');
      faults.emit({ kind: 'endpoint', api, raised: false });
    }
    if (this.authRejected) {
      this.authRejected = undefined;
      logger.info({ api }, 'Customer.io accepts the credentials again');
      metrics.credentialsRejected.set({ api }, 0);
      faults.emit({ kind: 'credentials', api, raised: false });
    }
  }

  /** A request failed with an authentication error (401/403). */
  credentialsFailed(error: DeliveryError): void {
    const { api, metrics, logger, faults } = this.options;
    metrics.authFailures.inc({ api });
    if (this.authRejected) return;
    this.authRejected = error;
    metrics.credentialsRejected.set({ api }, 1);
    logger.error(
      { api, status: error.status },
      `Customer.io rejects the credentials (check ${this.names.credentials}): consuming paused until they work`,
    );
    faults.emit({ kind: 'credentials', api, raised: true, error });
  }

  /** The same status for the operations of `people` people with no success between: the endpoint's fault. */
  endpointFailed(error: DeliveryError, people: number): void {
    if (this.endpointFault) return;
    const { api, metrics, logger, faults } = this.options;
    this.endpointFault = error;
    metrics.endpointFault.set({ api }, 1);
    logger.error(
      { api, status: error.status, people },
      `Customer.io refuses every operation with ${error.status ?? error.errorClass}: an endpoint or account fault (check ${this.names.url}); consuming paused, nothing dead-lettered, probing until it works`,
    );
    faults.emit({ kind: 'endpoint', api, raised: true, error });
  }

  /** Dead letters cannot be written for `reason` (the first blocked letter, or the one still blocked). */
  deadLettersRefused(reason: DeadLetterBlock): void {
    const { api, metrics, logger, faults } = this.options;
    const first = this.deadLetterBlock === undefined;
    this.deadLetterBlock = reason;
    if (!first) return;
    metrics.deadLetterBlocked.set({ api }, 1);
    logger.error(
      { api, reason },
      'dead letters cannot be written: consuming paused until they can (check the dead-letter topic’s max.message.bytes and ACLs)',
    );
    faults.emit({ kind: 'dead_letter', api, raised: true, reason });
  }

  /** Every blocked dead letter was written. */
  deadLettersWritten(): void {
    if (this.deadLetterBlock === undefined) return;
    const { api, metrics, logger, faults } = this.options;
    this.deadLetterBlock = undefined;
    metrics.deadLetterBlocked.set({ api }, 0);
    logger.info({ api }, 'dead letters are written again');
    faults.emit({ kind: 'dead_letter', api, raised: false });
  }
}
