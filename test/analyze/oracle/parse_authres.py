# Parses Authentication-Results values with python3-authres (Debian's package of the
# authres module, an independent RFC 8601 implementation) for test/analyze/auth-results-oracle.test.ts.
# Input: values separated by a NUL line; output: one JSON list, an entry per value.
import json
import sys

import authres

out = []
for value in sys.stdin.read().split('\n\x00\n'):
    try:
        h = authres.AuthenticationResultsHeader.parse('Authentication-Results: ' + value)
        out.append({
            'authservId': h.authserv_id,
            'version': h.version,
            'results': [{'method': r.method, 'version': r.version, 'result': r.result, 'reason': r.reason,
                         'properties': [[p.type, p.name, p.value] for p in r.properties]} for r in h.results],
        })
    except Exception as e:  # noqa: BLE001 - every failure is reported to the test
        out.append({'error': '%s: %s' % (type(e).__name__, e)})
print(json.dumps(out, default=str))
