// Turns backend outages inside provider callbacks into ServiceUnavailableError, which the
// provider's error handler answers as 503 temporarily_unavailable instead of a 500.
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { isBackendDown, ServiceUnavailableError } from '../errors.ts';

export async function guard<T>(backend: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isBackendDown(err)) throw new ServiceUnavailableError(backend, err);
    throw err;
  }
}

type AdapterCtor = new (name: string) => Adapter;

export function guardAdapter(Base: AdapterCtor): AdapterCtor {
  return class GuardedAdapter implements Adapter {
    #inner: Adapter;
    constructor(name: string) {
      this.#inner = new Base(name);
    }
    upsert(id: string, payload: AdapterPayload, expiresIn: number) {
      return guard('storage', () => this.#inner.upsert(id, payload, expiresIn));
    }
    find(id: string) {
      return guard('storage', () => this.#inner.find(id));
    }
    findByUserCode(userCode: string) {
      return guard('storage', () => this.#inner.findByUserCode(userCode));
    }
    findByUid(uid: string) {
      return guard('storage', () => this.#inner.findByUid(uid));
    }
    consume(id: string) {
      return guard('storage', () => this.#inner.consume(id));
    }
    destroy(id: string) {
      return guard('storage', () => this.#inner.destroy(id));
    }
    revokeByGrantId(grantId: string) {
      return guard('storage', () => this.#inner.revokeByGrantId(grantId));
    }
  };
}
