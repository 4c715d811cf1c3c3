import type { Logger } from '@cio-bridge/logger';
import type { DeliveryError } from '../errors';
import type { WorkerMetrics } from '../metrics';

export interface ApiHealthOptions {
  api: string;
  metrics: WorkerMetrics;
  logger: Logger;
  onAuthRejected?: (error: DeliveryError) => void;
  onAuthAccepted?: () => void;
  onEndpointFault?: (error: DeliveryError) => void;
  onEndpointRecovered?: () => void;
}

/**
 * The two configuration faults that hold a whole API, not one message: Customer.io
 * rejects the credentials (401/403), or refuses every operation (a wrong URL, an
 * account fault). Each is entered once (a gauge, one log line, a callback) and left
 * when a request is accepted again.
 */
export class ApiHealth {
  private authRejected: DeliveryError | undefined;
  private endpointFault: DeliveryError | undefined;

  constructor(private readonly options: ApiHealthOptions) {}

  get credentialsRejected(): boolean {
    return this.authRejected !== undefined;
  }

  /** The endpoint fault holding delivery, if any (status and message, no personal data). */
  get endpointFaulted(): DeliveryError | undefined {
    return this.endpointFault;
  }

  /** Either fault holds: send one request at a time, as a probe. */
  get faulted(): boolean {
    return this.authRejected !== undefined || this.endpointFault !== undefined;
  }

  /** A request was answered with success: both faults are over. */
  accepted(): void {
    const { api, metrics, logger } = this.options;
    if (this.endpointFault) {
      this.endpointFault = undefined;
      metrics.endpointFault.set({ api }, 0);
      logger.info({ api }, 'Customer.io accepts requests again');
      this.options.onEndpointRecovered?.();
    }
    if (this.authRejected) {
      this.authRejected = undefined;
      logger.info({ api }, 'Customer.io accepts the credentials again');
      metrics.credentialsRejected.set({ api }, 0);
      this.options.onAuthAccepted?.();
    }
  }

  /** A request failed with an authentication error (401/403). */
  credentialsFailed(error: DeliveryError): void {
    const { api, metrics, logger } = this.options;
    metrics.authFailures.inc({ api });
    if (this.authRejected) return;
    this.authRejected = error;
    metrics.credentialsRejected.set({ api }, 1);
    logger.error(
      { api, status: error.status },
      'Customer.io rejects the credentials: consuming paused until they work',
    );
    this.options.onAuthRejected?.(error);
  }

  /** The same status for the operations of `people` people with no success between: the endpoint's fault. */
  endpointFailed(error: DeliveryError, people: number): void {
    if (this.endpointFault) return;
    const { api, metrics, logger } = this.options;
    this.endpointFault = error;
    metrics.endpointFault.set({ api }, 1);
    logger.error(
      { api, status: error.status, people },
      `Customer.io refuses every operation with ${error.status ?? error.errorClass}: an endpoint or account fault (check ${api === 'track' ? 'CIO_TRACK_URL' : 'CIO_APP_URL'}); consuming paused, nothing dead-lettered, probing until it works`,
    );
    this.options.onEndpointFault?.(error);
  }
}
