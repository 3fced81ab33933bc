// What inboxlens knows of the big mailbox providers as receivers: the host names
// their MX and internal relays write in the `by` clause of Received, the
// authserv-ids of the Authentication-Results headers they add (RFC 8601 §2.5), and
// where those headers stand. A receiver must strip or rename headers with its own
// authserv-id that arrive from outside (RFC 8601 §5), which is what makes trusting
// its id sound; everything else in a received copy may have been written by the
// sender. Patterns: "mx.google.com" exact, "*.icloud.com" any subdomain.

export interface ReceiverProfile {
  id: 'gmail' | 'outlook' | 'yahoo' | 'icloud' | 'generic';
  /** host names in `by` that belong to this receiver */
  hosts: string[];
  /** authserv-ids it writes; empty: it writes none (Exchange Online) */
  authservIds: string[];
  /**
   * Exchange Online writes Authentication-Results without an authserv-id: trust the
   * topmost such header above the receiver's first Received, and nothing else
   */
  noAuthservId?: boolean;
  /**
   * writes its Authentication-Results right below its own arrival Received (Gmail) and removes
   * headers with its id that arrive from outside (RFC 8601 §5): the first one there is its own
   */
  writesBelowArrival?: boolean;
  /** `by` clauses with an address literal or a bare name are this receiver's internal hops (Gmail's "by 2002:a05:…") */
  internalByAddress?: boolean;
}

export const RECEIVER_PROFILES: ReceiverProfile[] = [
  { id: 'gmail', hosts: ['mx.google.com', '*.google.com'], authservIds: ['mx.google.com'], writesBelowArrival: true, internalByAddress: true },
  {
    id: 'outlook',
    hosts: ['*.outlook.com', '*.protection.outlook.com', '*.office365.com', '*.hotmail.com', '*.exchangelabs.com'],
    authservIds: [],
    noAuthservId: true,
  },
  { id: 'yahoo', hosts: ['*.yahoo.com', '*.yahoodns.net', '*.aol.com'], authservIds: ['*.yahoo.com', '*.aol.com'], internalByAddress: true },
  { id: 'icloud', hosts: ['*.icloud.com', '*.me.com', '*.apple.com'], authservIds: ['*.icloud.com'] },
];

export function matchesPattern(name: string, pattern: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase();
  if (p.startsWith('*.')) return n.endsWith(p.slice(1)) && n.length > p.length - 1;
  return n === p;
}

export function matchesAny(name: string, patterns: string[]): boolean {
  return patterns.some((p) => matchesPattern(name, p));
}

/** The profile whose hosts include this `by` name. */
export function profileForHost(host: string): ReceiverProfile | undefined {
  return RECEIVER_PROFILES.find((p) => matchesAny(host, p.hosts));
}

export function profileById(id: string | undefined): ReceiverProfile | undefined {
  return RECEIVER_PROFILES.find((p) => p.id === id);
}
