export type { WebhookDefaults, WebhookLogEntry } from './admin';
export { checkSendEmail } from './app-api';
export {
  type ActiveFaults,
  type Credentials,
  type FaultSpec,
  parseFaults,
  SlidingWindowLimiter,
} from './control';
export { LIMITS, type Problem } from './limits';
export { parseV2Operation, type TrackOperation } from './operations';
export {
  createSandbox,
  DEFAULT_CREDENTIALS,
  routePattern,
  type SandboxApp,
  type SandboxControl,
  type SandboxOptions,
} from './sandbox';
export { type Sandbox, type StartSandboxOptions, startSandbox } from './server';
export {
  type Counters,
  type Device,
  type Identifiers,
  type Operation,
  type Person,
  type RequestLogEntry,
  SandboxState,
  type Send,
  type StoredEvent,
  type Via,
} from './state';
export {
  type SendWebhookOptions,
  sendWebhook,
  signWebhook,
  splitCredentials,
  type WebhookResult,
} from './webhooks';
