#!/usr/bin/python3
# pyspf (Debian's python3-spf) as an independent SPF oracle for the differential
# tests: reads one JSON request a line on stdin, {"id", "ip", "sender", "helo"},
# evaluates it with pyspf's check_host() in strict RFC 7208 mode against the DNS
# server named on the command line (the fixture server on loopback), and writes
# {"id", "result", "explanation"} a line on stdout. Usage: pyspf-oracle.py HOST PORT [TIMEOUT]
#
# With "terms": true, pyspf runs with one reading of RFC 7208 §4.6.4 changed to
# inboxlens's (and mailauth's): the void limit counts terms, so the address lookups
# of an mx term's hosts are not void lookups (stock pyspf counts each empty one).
# The differential test uses it to show that a disagreement is that reading and
# nothing else.
import json
import sys

import dns.resolver
import spf

host, port = sys.argv[1], int(sys.argv[2])
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0

# pyspf resolves through dnspython's default resolver (spf.DNSLookup_dnspython calls
# dns.resolver.query): point it at the fixture server only, no resolv.conf, no search list
r = dns.resolver.Resolver(configure=False)
r.nameservers = [host]
r.port = port
r.timeout = timeout
r.lifetime = timeout
r.cache = None
dns.resolver.default_resolver = r
if spf.DNSLookup is not spf.DNSLookup_dnspython:
    sys.exit('pyspf-oracle: pyspf does not use dnspython here (install python3-dnspython)')

stock_dns_mx = spf.query.dns_mx


def dns_mx_terms(self, domainname):
    """pyspf's dns_mx (strict), with the hosts' address lookups not counted as void"""
    mxnames = self.dns(domainname, 'MX')
    if len(mxnames) > spf.MAX_MX:
        raise spf.PermError('More than %d MX records returned' % spf.MAX_MX)
    mxnames.sort()
    return [a for mx in mxnames[:spf.MAX_MX] for a in self.dns(mx[1], self.A, ignore_void=True)]


for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    req = json.loads(line)
    out = {'id': req.get('id')}
    spf.query.dns_mx = dns_mx_terms if req.get('terms') else stock_dns_mx
    try:
        q = spf.query(i=req['ip'], s=req.get('sender', ''), h=req.get('helo', ''), strict=True, timeout=timeout)
        result, code, explanation = q.check()
        out.update(result=result, explanation=explanation, lookups=q.lookups, voidLookups=q.void_lookups)
    except Exception as e:  # an oracle crash is reported, never a result
        out.update(result='crash', error='%s: %s' % (type(e).__name__, e))
    sys.stdout.write(json.dumps(out) + '\n')
    sys.stdout.flush()
