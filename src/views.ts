// Server-rendered pages. Eta escapes every `<%= %>` output; `<%~ %>` is used only for the
// layout's already-rendered body.
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';

export const VIEWS_DIR = fileURLToPath(new URL('../views/', import.meta.url));

const eta = new Eta({ views: VIEWS_DIR, autoEscape: true, cache: true, autoTrim: false });

export function renderView(name: string, data: Record<string, unknown>): string {
  return eta.render(`./${name}`, data);
}
