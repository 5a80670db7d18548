"""The JSON-lines protocol every bench peer speaks (one request a line on stdin, one answer a line on stdout).

Requests: {"cmd": "load", "dir", "workload"}, {"cmd": "time", "workload", "measure", "runs", "warmup"},
{"cmd": "checks", "workload"}, {"cmd": "drop", "workload"}, {"cmd": "quit"}. A failing request is
answered with {"error": ...} and the peer keeps serving: the bench reports that measure as missing.
"""
import json
import sys


def serve(make_workload, hello, on_drop=None):
    """Prints `hello`, then answers requests until stdin closes or a quit; `make_workload(dir, spec)`."""
    print(json.dumps(hello), flush=True)
    workloads = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            cmd = req['cmd']
            if cmd == 'quit':
                break
            if cmd == 'load':
                w = req['workload']
                workloads[w['workload']] = make_workload(req['dir'], w)
                res = {'ok': True}
            elif cmd == 'time':
                res = {'ms': workloads[req['workload']].time(req['measure'], int(req.get('runs', 1)), bool(req.get('warmup', True)))}
            elif cmd == 'checks':
                res = {'checks': workloads[req['workload']].checks()}
            elif cmd == 'drop':
                workloads.pop(req['workload'], None)
                if on_drop is not None:
                    on_drop()
                res = {'ok': True}
            else:
                res = {'error': f'unknown command {cmd}'}
        except Exception as e:  # answer, do not die: the bench reports the measure as missing
            res = {'error': f'{type(e).__name__}: {e}'}
        print(json.dumps(res), flush=True)
