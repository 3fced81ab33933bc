// CI: checks the JSON of a non-interactive `inboxlens demo --json` run: valid
// against the schema, and the lab behaved as designed (good domain delivered,
// broken domain in spam, the listing after the campaign seen as a regression).
import { readFileSync } from 'node:fs';
import { validateReport } from '../src/report/validate.ts';

const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/check-demo.ts demo.json');
  process.exit(2);
}
const doc = JSON.parse(readFileSync(file, 'utf8'));
const problems = validateReport(doc);
const expect = (ok: boolean, what: string) => {
  if (!ok) problems.push(what);
};
const byTarget = (t: string) => doc.targets.filter((x: any) => x.target === t);
const check = (t: any, id: string) => t?.checks.find((c: any) => c.check === id);
const good = byTarget('goodsender.test')[0];
const [before, after] = byTarget('brokensender.test');
expect(Boolean(good && before && after), 'the demo reports goodsender.test once and brokensender.test twice (before, after)');
const rows = (t: any) => (check(t, 'placement')?.data?.rows ?? []) as any[];
expect(rows(good).length >= 6, 'the good campaign reached the seeds');
expect(rows(good).every((r) => r.placement === 'inbox' || r.placement.startsWith('tab:')), `every good copy lands in the inbox or a tab: ${rows(good).map((r) => r.placement).join(', ')}`);
expect(rows(before).filter((r) => r.protocol === 'imap').every((r) => r.placement === 'spam'), 'every broken copy read over IMAP lands in spam');
for (const id of ['spf', 'dkim', 'dmarc', 'mx', 'ptr', 'blacklist', 'content']) expect(check(good, id)?.status === 'pass', `goodsender.test ${id} passes (got ${check(good, id)?.status})`);
const diff = doc.demo?.diff;
expect(diff?.targets?.[0]?.listed?.some((f: any) => f.code === 'dnsbl.listed'), 'the diff shows the new listing');
expect(diff?.regressions?.some((r: string) => /newly listed/.test(r)), 'the listing is a regression');
// the loop's last step: every lab provider's aggregate report was imported, and counted every copy
const reports = doc.demo?.reports;
expect(reports?.files >= 5 && reports?.imported === reports?.files, `the receivers' DMARC aggregate reports were imported (${JSON.stringify(reports)})`);
expect(reports?.messages >= rows(good).length + rows(before).length, 'the aggregate reports count the copies of both campaigns');
// beside the seeds and the listing: what the receivers reported for the broken domain between its two runs
const receivers = diff?.targets?.[0]?.receivers;
expect(receivers?.reports >= 5 && receivers?.messages >= rows(after).length, `the diff shows the receivers' reports between the broken domain's runs (${JSON.stringify(receivers && { reports: receivers.reports, messages: receivers.messages })})`);
expect(receivers?.rates?.dmarcPass === 0, `the receivers report DMARC failing for every broken copy (pass rate ${receivers?.rates?.dmarcPass})`);
if (problems.length) {
  console.error(`demo JSON check failed:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(`demo JSON ok: ${doc.targets.length} runs, ${rows(good).length} seeds, ${diff.regressions.length} regression(s) after the campaign, ${reports.imported} receivers' reports imported`);
