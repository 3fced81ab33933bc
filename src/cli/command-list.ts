// The commands' static metadata: what the top-level --help, an unknown word and
// shell completion need, without loading any command module (each pulls in its
// own libraries). One entry per file in src/cli/commands/, named after it;
// test/cli/commands.test.ts fails when an entry differs from its module.
export interface CommandMeta {
  /** the file in src/cli/commands/ (and the command's first word) */
  name: string;
  /** the yargs command string */
  command: string;
  describe: string;
  /** position in --help (lower first) */
  order: number;
}

export const COMMANDS: CommandMeta[] = [
  { name: 'analyze', command: 'analyze <file>', order: 32, describe: 'Judge a received copy (.eml, or - for standard input): the receiver\'s hop and verdicts, inboxlens\'s own SPF/DKIM/DMARC/ARC, where they disagree, the sending IP\'s PTR and listings, the content' },
  { name: 'blacklist', command: 'blacklist [target..]', order: 20, describe: 'Look IPs, IPv4 ranges (up to a /24) and domains up on DNS blacklists (DNSBL/URIBL), with self-tests' },
  { name: 'check', command: 'check [domain..]', order: 10, describe: 'Pre-flight a sending domain: SPF, DKIM, DMARC, MX, PTR, MTA-STS, TLS-RPT, BIMI, bulk-sender rules' },
  { name: 'content', command: 'content <file>', order: 30, describe: 'Judge a message (.eml): headers, HTML/text, size, links, one-click unsubscribe, DKIM alignment, spam score from spamd/rspamd' },
  { name: 'dashboard', command: 'dashboard [domain..]', order: 50, describe: 'The live terminal dashboard: authentication, blacklists, placement (plain text when not a TTY)' },
  { name: 'demo', command: 'demo', order: 5, describe: 'Run the whole job on the embedded lab: pre-flight, blacklists, seed placement, history and a before/after diff (no account, no internet)' },
  { name: 'diff', command: 'diff <before> <after>', order: 61, describe: 'What changed between two runs: listings, findings, placement per provider, time-to-inbox' },
  { name: 'history', command: 'history', order: 60, describe: 'List saved runs (newest first)' },
  { name: 'placement', command: 'placement <action>', order: 30, describe: 'Seed-inbox placement: send a test to seed mailboxes, find each copy over IMAP/POP3 (inbox, tab, spam, missing)' },
  { name: 'reports', command: 'reports <action> [files..]', order: 62, describe: 'Import DMARC aggregate, DMARC failure and SMTP TLS reports (files, folders, an IMAP mailbox) and show what receivers reported per source IP' },
  { name: 'smtp', command: 'smtp [domain..]', order: 25, describe: 'SMTP diagnostics: MX banner, EHLO, STARTTLS, TLS and certificate per address; recipient verification; your submission server' },
];
