import { setTimeout as sleep } from 'node:timers/promises';
import type { ReadinessChecks } from '@cio-bridge/http';
import type { Logger } from '@cio-bridge/logger';
import { GrowingPause } from '../delivery/retry-policy';
import type { WorkerMetrics } from '../metrics';
import type { CustomerioOptions } from '../output/customerio';
import type { WorkerTuning } from '../settings';
import { API_NAMES, ApiHealth, type ApiNames } from './api-health';
import { type Api, type FaultEvent, type FaultKind, Faults } from './faults';
import { checkTrackAccount, type PreflightResult } from './preflight';

/** What the shared request budget of one API tells about itself (rate-limit.ts's RedisBudget). */
export interface SharedBudgetState {
  readonly usingFallback: boolean;
  readonly instances: number;
  currentRps(): number;
}

export interface WorkerHealthOptions {
  customerio: Pick<CustomerioOptions, 'trackUrl' | 'siteId' | 'apiKey' | 'region'>;
  tuning: Pick<WorkerTuning, 'requestTimeoutMs' | 'authProbeMinMs' | 'authProbeMaxMs'>;
  metrics: WorkerMetrics;
  logger: Logger;
  /** the topic each consumed API reads (readiness names it) */
  topics: Partial<Record<Api, string>>;
  /** answers once the Kafka cluster's metadata does */
  kafkaReady: () => Promise<'degraded' | undefined>;
  /** with REDIS_URL: the shared budgets, by API (filled as they are made) */
  sharedBudgets?: ReadonlyMap<Api, SharedBudgetState>;
  /** with REDIS_URL: the transactional send ledger's Redis (its in-process fallback is reported) */
  ledgerRedis?: { readonly usingFallback: boolean; readiness: () => 'degraded' | undefined };
  /** how each API is named with its variables (the Track topic's: the Pipelines API's with CIO_API=pipelines) */
  names?: Partial<Record<Api, ApiNames>>;
  /**
   * ask Customer.io's account check before consuming (default). The Pipelines API has
   * none: its first request's 401 is the check, and delivery pauses on it.
   */
  checkAccount?: boolean;
}

/** The parts of /status that belong to what is taken from Kafka (the intake's). */
export interface IntakeState {
  heldPartitions: { topic: string; partition: number }[];
  hotPartitions: { topic: string; partition: number }[];
  buffered: { track: number; app: number };
}

export interface WorkerStatus extends IntakeState {
  /** Customer.io rejects the credentials of these APIs (consuming their topic is paused) */
  credentialsRejected: { track: boolean; app: boolean };
  /** per API with REDIS_URL: whether Redis is unavailable and this instance uses budget ÷ instances last seen */
  sharedBudget: Record<string, { fallback: boolean; instances: number; rps: number }>;
  /** with REDIS_URL: whether Redis is unavailable and the send ledger is this instance's memory */
  transactionalLedger?: { fallback: boolean };
  /** CIO_REGION and the account's region as Customer.io reported it at start */
  region: { configured?: string; account?: string };
  /** the endpoint refuses every operation of these APIs (consuming their topic is paused) */
  endpointFault: { track: boolean; app: boolean };
  stopping: boolean;
}

type RaisedFault = Extract<FaultEvent, { raised: true }>;
type PreflightFault = Extract<PreflightResult, { ok: false }>;

/**
 * The worker's health: every configuration fault (each API's state, the start-up account
 * check), the readiness checks and the /status answer. Faults are announced on `faults`;
 * health keeps the faults raised from those events, as consumer pausing does.
 */
export class WorkerHealth {
  readonly faults = new Faults();
  private readonly apis = new Map<Api, ApiHealth>();
  /** the faults raised and not cleared, by `kind:api` */
  private readonly raised = new Map<string, RaisedFault>();
  private accountRegion: string | undefined;
  private crashed: Error | undefined;
  private lifecycle: 'starting' | 'started' | 'stopping' = 'starting';
  private readonly preflightStop = new AbortController();

  constructor(private readonly options: WorkerHealthOptions) {
    this.faults.subscribe((event) => {
      const key = `${event.kind}:${event.api}`;
      if (event.raised) this.raised.set(key, event);
      else this.raised.delete(key);
    });
  }

  /** The fault state of one API, which its delivery reports into. */
  api(api: Api): ApiHealth {
    let health = this.apis.get(api);
    if (!health) {
      const { metrics, logger } = this.options;
      health = new ApiHealth({
        api,
        names: this.namesOf(api),
        metrics,
        logger: logger.child({ api }),
        faults: this.faults,
      });
      this.apis.set(api, health);
    }
    return health;
  }

  private namesOf(api: Api): ApiNames {
    return this.options.names?.[api] ?? API_NAMES[api];
  }

  started(): void {
    if (this.lifecycle === 'starting') this.lifecycle = 'started';
  }

  stopping(): void {
    this.lifecycle = 'stopping';
    this.preflightStop.abort();
  }

  get isStopping(): boolean {
    return this.lifecycle === 'stopping';
  }

  /** The consumer crashed (kafkajs may restart it): not ready until it joins the group again. */
  consumerCrashed(error: Error): void {
    this.crashed = error;
  }

  consumerJoined(): void {
    this.crashed = undefined;
  }

  /**
   * The start-up account check (GET /api/v1/accounts/region with the Track credentials).
   * A refusal raises a `preflight` fault (the Track topic pauses before anything is
   * consumed), shows in readiness and in one log line; `untilPassed` asks again.
   */
  async preflight(): Promise<boolean> {
    const { customerio, tuning, metrics, logger } = this.options;
    if (this.options.checkAccount === false) return true;
    const result = await checkTrackAccount({
      trackUrl: customerio.trackUrl,
      siteId: customerio.siteId ?? '',
      apiKey: customerio.apiKey ?? '',
      timeoutMs: tuning.requestTimeoutMs,
    });
    const fault = this.preflightFault;
    if (result.ok) {
      this.accountRegion = result.region;
      if (fault) {
        logger.info('Customer.io accepts the Track API credentials and endpoint now');
        metrics.credentialsRejected.set({ api: 'track' }, 0);
        metrics.endpointFault.set({ api: 'track' }, 0);
        this.faults.emit({ kind: 'preflight', api: 'track', raised: false });
      }
      const configured = customerio.region;
      if (configured && result.region !== configured) {
        logger.warn(
          { configured, account: result.region },
          `the Customer.io account is in region ${result.region}, not ${configured}: set CIO_REGION=${result.region}`,
        );
      }
      return true;
    }
    if (result.fault === 'unknown') {
      // Customer.io could not be asked: not a verdict; delivery finds out on its own.
      logger.warn({ reason: result.error.message }, 'could not check the Customer.io account at start');
      return true;
    }
    if (result.fault === 'credentials') {
      metrics.authFailures.inc({ api: 'track' });
      metrics.credentialsRejected.set({ api: 'track' }, 1);
    } else {
      metrics.endpointFault.set({ api: 'track' }, 1);
    }
    if (!fault) {
      logger.error(
        { status: result.error.status },
        `${preflightReason(result)}: consuming paused, checking again until it passes`,
      );
    }
    // Raised again when the answer changes, so readiness shows the latest one.
    if (!fault || fault.fault !== result.fault || fault.error.message !== result.error.message) {
      this.faults.emit({
        kind: 'preflight',
        api: 'track',
        raised: true,
        fault: result.fault,
        error: result.error,
      });
    }
    return false;
  }

  /** Asks again with growing pauses until the account check passes or the worker stops. */
  async preflightUntilPassed(): Promise<void> {
    const { authProbeMinMs, authProbeMaxMs } = this.options.tuning;
    const pause = new GrowingPause(authProbeMinMs, authProbeMaxMs);
    const signal = this.preflightStop.signal;
    while (!this.isStopping) {
      await sleep(pause.next(), undefined, { signal }).catch(() => undefined);
      if (this.isStopping || (await this.preflight())) return;
    }
  }

  private get preflightFault(): PreflightFault | undefined {
    const event = this.raised.get('preflight:track');
    return event?.kind === 'preflight' ? { ok: false, fault: event.fault, error: event.error } : undefined;
  }

  private faultsOf<K extends FaultKind>(kind: K): Extract<RaisedFault, { kind: K }>[] {
    return (['track', 'app'] as const).flatMap((api) => {
      const event = this.raised.get(`${kind}:${api}`);
      return event ? [event as Extract<RaisedFault, { kind: K }>] : [];
    });
  }

  /** The readiness checks of /readyz: each throws the reason the worker is not ready. */
  readiness(): ReadinessChecks {
    const { sharedBudgets, ledgerRedis, kafkaReady, topics } = this.options;
    return {
      // Redis away: still ready on budget ÷ instances last seen, and readiness says so.
      ...(sharedBudgets && {
        sharedBudget: () =>
          [...sharedBudgets.values()].some((shared) => shared.usingFallback) ? 'degraded' : undefined,
      }),
      // Redis away: the send ledger is this instance's memory; still ready.
      ...(ledgerRedis && { transactionalLedger: ledgerRedis.readiness }),
      kafka: async () => {
        if (this.crashed) throw new Error(`Kafka consumer failed: ${this.crashed.message}`);
        // `degraded`: an OAUTHBEARER token renewal fails while the current token holds
        return await kafkaReady();
      },
      customerio: () => {
        const preflight = this.preflightFault;
        if (preflight) throw new Error(preflightReason(preflight));
        const faulted = this.faultsOf('endpoint');
        if (faulted.length > 0) {
          throw new Error(
            faulted
              .map(
                ({ api, error }) =>
                  `Customer.io refuses every operation of the ${this.namesOf(api).name} with ${error.status ?? error.errorClass} (check ${this.namesOf(api).url})`,
              )
              .join('; '),
          );
        }
        const rejected = this.faultsOf('credentials');
        if (rejected.length > 0) {
          throw new Error(
            `Customer.io rejects the credentials (${rejected.map(({ api }) => `${this.namesOf(api).name}: check ${this.namesOf(api).credentials}`).join('; ')})`,
          );
        }
      },
      deadLetters: () => {
        const blocked = this.faultsOf('dead_letter');
        if (blocked.length === 0) return;
        throw new Error(
          blocked
            .map(({ api, reason }) =>
              reason === 'too_large'
                ? `the dead-letter topic refuses a dead letter of ${topics[api]} as too large: raise its max.message.bytes to at least the source topic's`
                : `the worker may not write to the dead-letter topic (${topics[api]}'s dead letters): check its ACLs`,
            )
            .join('; '),
        );
      },
      worker: () => {
        if (this.lifecycle === 'stopping') throw new Error('stopping');
        if (this.lifecycle === 'starting') throw new Error('starting');
      },
    };
  }

  /** The /status answer: the faults from health, what is taken from Kafka from the intake. */
  status(intake: IntakeState): WorkerStatus {
    const has = (kind: FaultKind, api: Api) => this.raised.has(`${kind}:${api}`);
    return {
      credentialsRejected: { track: has('credentials', 'track'), app: has('credentials', 'app') },
      hotPartitions: intake.hotPartitions,
      heldPartitions: intake.heldPartitions,
      sharedBudget: Object.fromEntries(
        [...(this.options.sharedBudgets ?? [])].map(([api, shared]) => [
          api,
          { fallback: shared.usingFallback, instances: shared.instances, rps: shared.currentRps() },
        ]),
      ),
      ...(this.options.ledgerRedis && {
        transactionalLedger: { fallback: this.options.ledgerRedis.usingFallback },
      }),
      region: { configured: this.options.customerio.region, account: this.accountRegion },
      endpointFault: {
        track: has('endpoint', 'track') || this.preflightFault?.fault === 'endpoint',
        app: has('endpoint', 'app'),
      },
      buffered: intake.buffered,
      stopping: this.isStopping,
    };
  }
}

function preflightReason(result: PreflightFault): string {
  return result.fault === 'credentials'
    ? `Customer.io rejects the credentials of the Track API (CIO_SITE_ID, CIO_API_KEY) with ${result.error.status}`
    : `CIO_TRACK_URL does not answer as the Track API (${result.error.message})`;
}
