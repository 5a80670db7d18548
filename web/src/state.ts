/**
 * The view state lives in the URL hash so that a view can be shared or bookmarked:
 *   #/                               run list        (?q=filter)
 *   #/run/<id>?x=time&log=1          one run         (x: steps | time = η·t; log: log-scale y)
 *   #/sweep/<id>?x=steps&log=0       one sweep
 *   #/lab?config=<JSON>&run=1        the Lab (its query is read by lab/labView.ts)
 * Run ids contain '/' (sweep/run): each segment is percent-encoded.
 */

export type View = 'list' | 'run' | 'sweep' | 'lab';
export type XMode = 'steps' | 'time';

export interface Route {
  view: View;
  id: string;
  x: XMode;
  log: boolean;
  q: string;
}

export const DEFAULT_ROUTE: Route = { view: 'list', id: '', x: 'steps', log: false, q: '' };

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Parses location.hash (with or without '#'). */
export function parseHash(hash: string): Route {
  const h = hash.replace(/^#/, '');
  const qi = h.indexOf('?');
  const path = (qi === -1 ? h : h.slice(0, qi)).replace(/^\/+/, '');
  const params = new URLSearchParams(qi === -1 ? '' : h.slice(qi + 1));
  const route: Route = {
    ...DEFAULT_ROUTE,
    x: params.get('x') === 'time' ? 'time' : 'steps',
    log: params.get('log') === '1',
    q: params.get('q') ?? '',
  };
  const segs = path
    .split('/')
    .filter((s) => s !== '')
    .map(decode);
  if (segs[0] === 'lab') route.view = 'lab';
  else if ((segs[0] === 'run' || segs[0] === 'sweep') && segs.length > 1) {
    route.view = segs[0];
    route.id = segs.slice(1).join('/');
  }
  return route;
}

/** The hash for a route (defaults left out, so URLs stay short). */
export function formatHash(r: Partial<Route>): string {
  const route = { ...DEFAULT_ROUTE, ...r };
  if (route.view === 'lab') return '#/lab';
  const params = new URLSearchParams();
  if (route.view !== 'list') {
    if (route.x !== 'steps') params.set('x', route.x);
    if (route.log) params.set('log', '1');
  } else if (route.q !== '') params.set('q', route.q);
  const qs = params.toString();
  const path = route.view === 'list' ? '/' : `/${route.view}/${route.id.split('/').map(encodeURIComponent).join('/')}`;
  return `#${path}${qs === '' ? '' : `?${qs}`}`;
}
