import { Writable } from 'node:stream';
import { createLogger, maskEmail, messageLogger } from './index';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, destination };
}

describe('logger', () => {
  it('writes JSON lines with the service name and a readable level', () => {
    const { lines, destination } = capture();
    createLogger({ name: 'producer', destination }).info({ topic: 'customerio.track' }, 'published');
    expect(lines[0]).toMatchObject({
      service: 'producer',
      level: 'info',
      msg: 'published',
      topic: 'customerio.track',
    });
  });

  it('redacts secrets and personal data at any depth', () => {
    const { lines, destination } = capture();
    createLogger({ name: 't', destination }).warn(
      {
        email: 'a@b.c',
        req: { headers: { authorization: 'Bearer x' } },
        op: { identifiers: { email: 'x@y.z' } },
      },
      'hi',
    );
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain('a@b.c');
    expect(text).not.toContain('Bearer x');
    expect(text).not.toContain('x@y.z');
    expect(text).toContain('[redacted]');
  });

  it('places a line at a message', () => {
    const { lines, destination } = capture();
    const location = { topic: 't', partition: 2, offset: '41', operationId: '01J' };
    messageLogger(createLogger({ name: 't', destination }), location).error('failed');
    expect(lines[0]).toMatchObject(location);
  });

  it('masks emails', () => {
    expect(maskEmail('jane.doe@example.com')).toBe('j***@example.com');
    expect(maskEmail('user-123')).toBe('user-123');
  });
});
