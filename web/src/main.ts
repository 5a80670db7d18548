/** Entry point: hash routing between the run list, a run, a sweep and the Lab; the live indicator. */
import './style.css';
import { onLiveChange } from './api.ts';
import type { ViewHandle } from './components.ts';
import { h } from './dom.ts';
import { listView } from './listView.ts';
import { runView } from './runView.ts';
import { parseHash, type Route } from './state.ts';
import { sweepView } from './sweepView.ts';

const app = document.getElementById('app') as HTMLElement;
const crumbs = document.getElementById('crumbs') as HTMLElement;
const live = document.getElementById('live') as HTMLElement;

onLiveChange((on) => {
  live.textContent = on ? 'live' : 'offline';
  live.classList.toggle('on', on);
});

let view: ViewHandle | null = null;
let shown: Route | null = null;

function renderCrumbs(r: Route): void {
  const parts: Node[] = [h('a', { href: '#/' }, 'runs')];
  if (r.view === 'lab') parts.push(document.createTextNode(' › '), h('span', {}, 'lab'));
  else if (r.view !== 'list') parts.push(document.createTextNode(' › '), h('span', {}, `${r.view} ${r.id}`));
  crumbs.replaceChildren(...parts);
}

function route(): void {
  const r = parseHash(location.hash);
  if (view !== null && shown !== null && shown.view === r.view && shown.id === r.id) {
    shown = r;
    view.update(r);
    return;
  }
  view?.destroy();
  shown = r;
  renderCrumbs(r);
  window.scrollTo(0, 0);
  view =
    r.view === 'lab'
      ? lazyLab()
      : r.view === 'run'
        ? runView(app, r)
        : r.view === 'sweep'
          ? sweepView(app, r)
          : listView(app, r);
}

/**
 * The Lab, loaded on first visit (its chunk brings the config schema; its worker onnxruntime-web),
 * so that the dashboard's first page stays small.
 */
function lazyLab(): ViewHandle {
  let inner: ViewHandle | null = null;
  let gone = false;
  app.replaceChildren(h('p', { class: 'muted' }, 'Loading the Lab…'));
  import('./lab/labView.ts').then(
    (m) => {
      if (!gone) inner = m.labView(app);
    },
    (e: unknown) => app.replaceChildren(h('p', { class: 'message' }, `Cannot load the Lab: ${(e as Error).message}`)),
  );
  return {
    update: (r) => inner?.update(r),
    destroy: () => {
      gone = true;
      inner?.destroy();
    },
  };
}

window.addEventListener('hashchange', route);
route();
