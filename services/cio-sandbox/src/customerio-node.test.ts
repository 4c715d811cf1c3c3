import {
  APIClient,
  CustomerIORequestError,
  IdentifierType,
  SendEmailRequest,
  TrackClient,
} from 'customerio-node';
import { type Sandbox, startSandbox } from './index';

// Drives the official customerio-node clients against the sandbox: every call the
// worker makes must be accepted with the shape the client really sends.
describe('customerio-node against the sandbox', () => {
  let sandbox: Sandbox;
  let track: TrackClient;
  let api: APIClient;
  const noRetry = { retry: { maxRetries: 0 } };

  beforeAll(async () => {
    sandbox = await startSandbox({ siteId: 'site-1', apiKey: 'key-1', appApiKey: 'app-1' });
    track = new TrackClient('site-1', 'key-1', { url: sandbox.trackUrl, ...noRetry });
    api = new APIClient('app-1', { url: sandbox.appUrl, ...noRetry });
  });
  afterAll(() => sandbox.close());
  beforeEach(() => sandbox.control.reset());

  const admin = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${sandbox.url}/_sandbox${path}`);
    return (await response.json()) as T;
  };

  it('identify creates and updates a person', async () => {
    await expect(track.identify('user-1', { email: 'one@example.com', plan: 'free' })).resolves.toEqual({});
    await track.identify('user-1', { plan: 'pro', created_at: 1716400000 });
    const person = await admin<Record<string, unknown>>('/people/user-1');
    expect(person).toMatchObject({
      id: 'user-1',
      email: 'one@example.com',
      attributes: { email: 'one@example.com', plan: 'pro', created_at: 1716400000 },
      suppressed: false,
      deleted: false,
    });
  });

  it('track stores the event with its id, data and timestamp', async () => {
    await track.identify('user-2', {});
    await track.track('user-2', {
      id: '01HYA5Z8QK8M3V4W5X6Y7Z8A9B',
      name: 'product_scanned',
      data: { sku: 'abc', points: 5 },
      timestamp: 1716403000,
    });
    const events = await admin<Array<Record<string, unknown>>>('/events?person=user-2');
    expect(events).toEqual([
      expect.objectContaining({
        id: '01HYA5Z8QK8M3V4W5X6Y7Z8A9B',
        person: 'user-2',
        name: 'product_scanned',
        data: { sku: 'abc', points: 5 },
        timestamp: 1716403000,
        via: 'v1',
      }),
    ]);
  });

  it('trackAnonymous stores an event without a person', async () => {
    await track.trackAnonymous('anon-7', { name: 'page_opened', data: { path: '/' } });
    const events = await admin<Array<Record<string, unknown>>>('/events');
    expect(events).toEqual([
      expect.objectContaining({
        person: null,
        anonymous_id: 'anon-7',
        name: 'page_opened',
        data: { path: '/' },
      }),
    ]);
  });

  it('destroy deletes, suppress and unsuppress toggle the suppression', async () => {
    await track.identify('user-3', { email: 'three@example.com' });
    await track.destroy('user-3');
    expect(await admin('/people/user-3')).toMatchObject({ deleted: true, suppressed: false });
    await track.identify('user-4', {});
    await track.suppress('user-4');
    expect(await admin('/people/user-4')).toMatchObject({ deleted: true, suppressed: true });
    await track.identify('user-4', { plan: 'ignored' });
    expect(await admin('/people/user-4')).toMatchObject({ deleted: true, attributes: {} });
    await track.unsuppress('user-4');
    await track.identify('user-4', { plan: 'back' });
    expect(await admin('/people/user-4')).toMatchObject({
      deleted: false,
      suppressed: false,
      attributes: { plan: 'back' },
    });
  });

  it('addDevice and deleteDevice manage devices', async () => {
    await track.identify('user-5', {});
    await track.addDevice('user-5', 'token-a', 'ios', { last_used: 1716400000, app_version: '1.2' });
    await track.addDevice('user-5', 'token-b', 'android');
    await track.deleteDevice('user-5', 'token-a');
    const person = await admin<{ devices: unknown[] }>('/people/user-5');
    expect(person.devices).toEqual([{ id: 'token-b', platform: 'android', last_used: null, attributes: {} }]);
    const ops = await admin<Array<{ action: string }>>('/operations');
    expect(ops.map((op) => op.action)).toEqual(['identify', 'add_device', 'add_device', 'delete_device']);
  });

  it('mergeCustomers merges the secondary into the primary', async () => {
    await track.identify('primary-1', { tier: 'gold' });
    await track.identify('secondary-1', { tier: 'silver', city: 'Denver' });
    await track.mergeCustomers(IdentifierType.Id, 'primary-1', IdentifierType.Id, 'secondary-1');
    expect(await admin('/people/primary-1')).toMatchObject({ attributes: { tier: 'gold', city: 'Denver' } });
    expect(await admin('/people/secondary-1')).toMatchObject({ deleted: true });
  });

  it('batch and entity reach the v2 API', async () => {
    await track.batch([
      { type: 'person', identifiers: { id: 'u-9' }, action: 'identify', attributes: { a: 1 } },
      { type: 'person', identifiers: { id: 'u-9' }, action: 'event', name: 'e', id: 'evt-1' },
    ]);
    await track.entity({
      type: 'person',
      identifiers: { id: 'u-9' },
      action: 'event',
      name: 'e2',
      id: 'evt-2',
    });
    const ops = await admin<Array<{ via: string; id: string | null }>>('/operations');
    expect(ops.map((op) => [op.via, op.id])).toEqual([
      ['v2-batch', null],
      ['v2-batch', 'evt-1'],
      ['v2-entity', 'evt-2'],
    ]);
  });

  it('getAccountRegion answers with the documented shape', async () => {
    await expect(track.getAccountRegion()).resolves.toEqual({
      url: 'https://track.customer.io',
      region: 'us',
      environment_id: 1,
    });
  });

  it('APIClient.sendEmail is accepted and recorded', async () => {
    const answer = (await api.sendEmail(
      new SendEmailRequest({
        to: 'reader@example.com',
        identifiers: { id: 'user-1' },
        transactional_message_id: 'welcome',
        message_data: { first_name: 'Ada' },
      }),
    )) as { delivery_id: string; queued_at: number };
    expect(answer.delivery_id).toEqual(expect.any(String));
    expect(Number.isInteger(answer.queued_at)).toBe(true);
    const sends = await admin<Array<Record<string, unknown>>>('/sends');
    expect(sends).toEqual([
      expect.objectContaining({
        delivery_id: answer.delivery_id,
        transactional_message_id: 'welcome',
        to: 'reader@example.com',
        identifiers: { id: 'user-1' },
        message_data: { first_name: 'Ada' },
      }),
    ]);
  });

  it('rejects wrong credentials with 401 as a CustomerIORequestError', async () => {
    const wrongTrack = new TrackClient('site-1', 'wrong', { url: sandbox.trackUrl, ...noRetry });
    const error = await wrongTrack.identify('x', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CustomerIORequestError);
    expect((error as CustomerIORequestError).statusCode).toBe(401);
    const wrongApi = new APIClient('nope', { url: sandbox.appUrl, ...noRetry });
    const sendError = await wrongApi
      .sendEmail(
        new SendEmailRequest({ to: 'a@example.com', identifiers: { id: '1' }, transactional_message_id: 1 }),
      )
      .catch((e: unknown) => e);
    expect((sendError as CustomerIORequestError).statusCode).toBe(401);
  });

  it('answers a documented limit with 400 that the client surfaces', async () => {
    const error = await track.track('user-1', { name: 'x'.repeat(101) }).catch((e: unknown) => e);
    expect((error as CustomerIORequestError).statusCode).toBe(400);
    expect((error as CustomerIORequestError).message).toMatch(/name exceeds the limit of 100 bytes/);
  });

  it('identifiers with reserved characters survive the path encoding', async () => {
    await track.identify('a/b c@example.com', { plan: 'x' });
    const people = await admin<Array<{ email: string | null }>>('/people');
    expect(people.map((p) => p.email)).toEqual(['a/b c@example.com']);
  });
});
