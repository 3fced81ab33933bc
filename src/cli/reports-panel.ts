// The receivers' reports beside the checks in `inboxlens dashboard D` (and
// `check D --dashboard`): a panel only when the history database holds DMARC
// aggregate reports about D — a user who has imported none gets the screen for
// the checks — filled after each run with the last 30 days of them
// (src/reports/receivers.ts). The database is read only, and never created by looking.
import { HistoryStore, defaultDbPath } from '../history/store.ts';
import { ReportStore } from '../reports/store.ts';
import { RECENT_DAYS, recentReportsDetails } from '../reports/receivers.ts';
import type { Detail } from '../types.ts';

export function reportsPanel(db: string | undefined, open: HistoryStore | undefined, domain: string): { label: string; placeholder: string; load: () => Promise<Detail[]> } | undefined {
  const file = db ?? defaultDbPath();
  const withHistory = <T>(f: (h: HistoryStore | undefined) => T): T => HistoryStore.readIfExists(file, open, f);
  let any = false;
  try {
    any = withHistory((h) => Boolean(h && new ReportStore(h).hasAggregateFor(domain)));
  } catch {
    // a database that cannot be read: the run's own saving says so; no panel
    return undefined;
  }
  if (!any) return undefined;
  return {
    label: `Receivers' DMARC reports for ${domain}`,
    placeholder: `the last ${RECENT_DAYS} days of reports, read from the history database once the run has finished`,
    load: async () => withHistory((h) => recentReportsDetails(h, domain)),
  };
}
