#!/usr/bin/python3
# dkimpy (Debian's python3-dkim) as an independent DKIM/ARC implementation for the
# differential tests (test/auth/dkimpy-oracle.test.ts). Reads one JSON document on
# stdin: {"dns": {"host", "port"}, "cases": [{"id", "op", "message" (base64), ...}]}
# and writes one JSON document: {"results": [{"id", ...}]}. Key records come from
# the fixture DNS server over dnspython, the same server inboxlens asks.
#   op "dkim-verify": every DKIM-Signature, top to bottom: {"sigs": [{"pass", "error"}]}
#   op "arc-verify":  {"cv": "pass"|"fail"|"none", "reason"}
#   op "dkim-sign":   {"header": the DKIM-Signature field} (selector, domain, key (PEM
#                     or the base64 ed25519 seed), algorithm, canon "h/b", headers)
import base64
import json
import logging
import sys

import dkim
import dns.exception
import dns.name
import dns.resolver

doc = json.load(sys.stdin)
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = [doc["dns"]["host"]]
resolver.port = int(doc["dns"]["port"])
resolver.lifetime = 10


def dnsfunc(name, timeout=5):
    # dkimpy's own get_txt, pointed at the fixture server: the first TXT record's strings joined
    if isinstance(name, bytes):
        name = name.decode("ascii")
    try:
        a = resolver.resolve(name, "TXT", raise_on_no_answer=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers):
        return None
    except (dns.name.EmptyLabel, dns.name.LabelTooLong, dns.name.NameTooLong):
        # a signature with an empty d= or s= names no record: dkimpy's own get_txt lets
        # dnspython's exception escape arc_verify, a resolver answers nothing
        return None
    except dns.exception.Timeout as e:
        raise dkim.DnsTimeoutError(str(e))
    for rrset in a.response.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            return b"".join(list(rrset.items)[0].strings)
    return None


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        if record.levelno >= logging.INFO:
            self.messages.append(record.getMessage())


def run(case):
    msg = base64.b64decode(case["message"])
    log = logging.getLogger("oracle-%s" % case["id"])
    log.propagate = False
    log.setLevel(logging.DEBUG)
    h = Collect()
    log.addHandler(h)
    op = case["op"]
    if op == "dkim-verify":
        d = dkim.DKIM(msg, logger=log, minkey=1024)
        n = sum(1 for k, _ in d.headers if k.lower() == b"dkim-signature")
        sigs = []
        for i in range(n):
            h.messages.clear()
            try:
                ok = bool(d.verify(idx=i, dnsfunc=dnsfunc))
                err = None if ok else "; ".join(h.messages) or "signature did not verify"
            except dkim.DKIMException as e:
                ok, err = False, "%s: %s" % (type(e).__name__, e)
            sigs.append({"pass": ok, "error": err})
        return {"sigs": sigs}
    if op == "arc-verify":
        cv, _results, reason = dkim.arc_verify(msg, logger=log, dnsfunc=dnsfunc)
        return {"cv": cv.decode() if isinstance(cv, bytes) else str(cv), "reason": str(reason)}
    if op == "dkim-sign":
        canon = case.get("canon", "relaxed/simple").split("/")
        header = dkim.sign(
            msg, case["selector"].encode(), case["domain"].encode(), case["key"].encode(),
            signature_algorithm=case.get("algorithm", "rsa-sha256").encode(),
            canonicalize=(canon[0].encode(), canon[1].encode()),
            include_headers=[x.encode() for x in case["headers"]] if case.get("headers") else None,
            logger=log,
        )
        return {"header": header.decode("ascii")}
    raise ValueError("unknown op %s" % op)


out = []
for case in doc["cases"]:
    try:
        r = run(case)
    except Exception as e:  # reported, never swallowed: the test fails on it
        r = {"crash": "%s: %s" % (type(e).__name__, e)}
    r["id"] = case["id"]
    out.append(r)
json.dump({"results": out}, sys.stdout)
