// The in-process store must stay bounded: expired entries are swept without being read, and a
// flood of writes past the cap evicts the oldest entries instead of growing the heap.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/adapters/memory-adapter.ts';

describe('in-process store bounds', () => {
  let store: MemoryStore | undefined;
  afterEach(async () => {
    await store?.close();
  });

  it('sweeps expired entries nobody reads again', async () => {
    store = new MemoryStore({ sweepIntervalMs: 50 });
    const a = store.adapter('AccessToken');
    await a.upsert('short', { grantId: 'g' }, 1);
    await a.upsert('long', { grantId: 'g' }, 60);
    expect(store.size).toBe(3);
    await sleep(1200);
    // Swept by the timer, not by a read; the grant index stays while its longer-lived member does.
    expect(store.size).toBe(2);
    expect(store.dump().map(([k]) => k.split(':')[0]).sort()).toEqual(['AccessToken', 'grant']);
  });

  it('evicts the oldest entries past the cap', async () => {
    store = new MemoryStore({ maxEntries: 100 });
    const a = store.adapter('Interaction');
    for (let i = 0; i < 1000; i++) await a.upsert(`id-${i}`, { uid: `${i}` }, 60);
    expect(store.dump().length).toBeLessThanOrEqual(100);
    expect(await a.find('id-999')).toBeDefined();
    expect(await a.find('id-0')).toBeUndefined();
  });
});
