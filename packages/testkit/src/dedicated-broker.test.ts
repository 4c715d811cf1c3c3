import { newClusterId } from './dedicated-broker';

describe('newClusterId', () => {
  it('never starts with "-", which the storage tool would take for an option', () => {
    // 0xf8 makes the first base64url character '-'.
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x11)];
    const random = () => draws.shift() ?? Buffer.alloc(16, 0x22);
    const id = newClusterId(random);
    expect(id).not.toMatch(/^-/);
    expect(Buffer.from(id, 'base64url')).toHaveLength(16);
  });

  it('is 16 random bytes in base64url', () => {
    expect(newClusterId(() => Buffer.alloc(16, 0x11))).toBe(Buffer.alloc(16, 0x11).toString('base64url'));
  });
});
