// Server-rendered pages. Eta escapes every `<%= %>` output; `<%~ %>` is used only for the
// layout's already-rendered body.
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';

export const VIEWS_DIR = fileURLToPath(new URL('../views/', import.meta.url));

const eta = new Eta({ views: VIEWS_DIR, autoEscape: true, cache: true, autoTrim: false });

export function renderView(name: string, data: Record<string, unknown>): string {
  return eta.render(`./${name}`, data);
}

// Plain-text mail bodies must not be HTML-escaped (a link with & would break); they hold only
// our own text, links we built, and escaped-by-nothing values we control (product name).
const etaText = new Eta({ views: VIEWS_DIR, autoEscape: false, cache: true, autoTrim: false });

/** Renders views/emails/<name>.html.eta and .txt.eta. */
export function renderEmail(name: string, data: Record<string, unknown>): { html: string; text: string } {
  return {
    html: eta.render(`./emails/${name}.html.eta`, data),
    text: etaText.render(`./emails/${name}.txt.eta`, data),
  };
}
