// The receiver's spam headers decoded per filter, as rspamd (milter), Exchange Online
// and SpamAssassin write them; a sender's own "X-Spam-Status: No" below the receiver's
// hop is never read as the receiver's (analyze and placement rows alike).
import { describe, expect, it } from 'vitest';
import { decodeSpamHeaders } from '../../src/analyze/spam.ts';
import { receiverView } from '../../src/analyze/receiver.ts';
import { spamHeaders } from '../../src/placement/classify.ts';

const msg = (...lines: string[]) => `${lines.join('\r\n')}\r\n\r\nbody\r\n`;

describe('spam headers per filter', () => {
  it('rspamd through Postfix\'s milter: the score, the threshold, the action and the symbols, tied to the hop by its queue id', () => {
    const m = msg(
      'Received: from out.example.com (out.example.com [203.0.113.9])',
      '\tby mail.example.org (Postfix) with ESMTPS id 4XcL2h0qTlz9sWQ',
      '\tfor <seed@mail.example.org>; Tue, 3 Jun 2025 10:00:01 +0000 (UTC)',
      'X-Rspamd-Queue-Id: 4XcL2h0qTlz9sWQ',
      'X-Spamd-Result: default: False [3.40 / 15.00];',
      '\tMIME_GOOD(-0.10)[text/plain];',
      '\tR_SPF_SOFTFAIL(0.60)[~all];',
      '\tDMARC_POLICY_SOFTFAIL(0.10)[example.com : SPF not aligned (relaxed), No valid DKIM,none];',
      '\tR_DKIM_NA(0.00)[];',
      '\tBAYES_SPAM(2.80)[87.55%]',
      'X-Rspamd-Server: mail',
      'X-Rspamd-Action: no action',
      'Authentication-Results: mail.example.org;',
      '\tspf=softfail (mail.example.org: domain of bounce@example.com is not allowed to send from 203.0.113.9) smtp.mailfrom=bounce@example.com;',
      '\tdmarc=fail reason="SPF not aligned (relaxed), No valid DKIM" header.from=example.com (policy=none)',
      'From: <a@example.com>',
    );
    const v = receiverView(m);
    expect(v.authResults).toHaveLength(1);
    const [r] = decodeSpamHeaders(v.receiverFields);
    expect(r).toMatchObject({ filter: 'rspamd', verdict: 'not-spam', score: 3.4, threshold: 15, action: 'no action' });
    expect(r!.rules).toEqual(expect.arrayContaining([{ name: 'BAYES_SPAM', score: 2.8 }, { name: 'R_SPF_SOFTFAIL', score: 0.6 }]));
  });

  it('Exchange Online: SCL, SFV, CAT, BCL, and a bulk message moved to Junk Email (dest:J) despite SCL 1', () => {
    const m = msg(
      'X-MS-Exchange-Organization-SCL: 1',
      'X-Microsoft-Antispam-Mailbox-Delivery: ucf:0;jmr:0;auth:0;dest:J;OFR:SpamFilterAuthJ;ENG:(910001)(944506478)(944626604)(920097)(930097);RF:JunkEmail;',
      'X-Microsoft-Antispam: BCL:7;',
      'X-Forefront-Antispam-Report: CIP:203.0.113.7;CTRY:US;LANG:en;SCL:1;SRV:BULK;IPV:NLI;SFV:NSPM;H:mail.example.com;PTR:mail.example.com;CAT:BULK;SFS:(13230031)(4636009);DIR:INB;',
      'Authentication-Results: spf=pass (sender IP is 203.0.113.7) smtp.mailfrom=example.com; dkim=pass (signature was verified) header.d=example.com;dmarc=pass action=none header.from=example.com;compauth=pass reason=100',
      'Received: from mail.example.com (203.0.113.7) by BN8NAM11FT012.mail.protection.outlook.com (10.13.177.34) with Microsoft SMTP Server (version=TLS1_2) id 15.20.7; Tue, 3 Jun 2025 10:00:01 +0000',
      'From: <a@example.com>',
    );
    const [r] = decodeSpamHeaders(receiverView(m).receiverFields);
    expect(r).toMatchObject({ filter: 'microsoft', verdict: 'spam', scl: 1, bcl: 7, sfv: 'NSPM', cat: 'BULK' });
    expect(r!.notes).toEqual(expect.arrayContaining([expect.stringContaining('BCL 7'), 'delivered to Junk Email', expect.stringContaining('CAT:BULK: bulk')]));
  });

  it('a sender\'s own X-Spam-Status below the receiver\'s hop is not the receiver\'s; the receiver\'s is', () => {
    const m = msg(
      'X-Spam-Flag: YES',
      'X-Spam-Status: Yes, score=8.2 required=5.0 tests=BAYES_99,RDNS_NONE,URIBL_BLACK autolearn=no version=3.4.6',
      'Received: from out.example.com (unknown [203.0.113.9]) by mx.receiver.example (Postfix) with ESMTP id 1; Tue, 3 Jun 2025 10:00:01 +0000',
      'X-Spam-Status: No, score=-5.0 required=5.0 tests=ALL_TRUSTED',
      'From: <a@example.com>',
    );
    const [r] = decodeSpamHeaders(receiverView(m).receiverFields);
    expect(r).toMatchObject({ filter: 'spamassassin', verdict: 'spam', score: 8.2, threshold: 5 });
    expect(r!.rules!.map((x) => x.name)).toEqual(['BAYES_99', 'RDNS_NONE', 'URIBL_BLACK']);
    // placement rows read the same fields
    expect(spamHeaders(m)).toMatchObject({ spamScore: 8.2, spamFlag: 'YES' });
    const onlySender = m.replace(/^X-Spam-Flag: YES\r\nX-Spam-Status: Yes[^\r]*\r\n/, '');
    expect(decodeSpamHeaders(receiverView(onlySender).receiverFields)).toEqual([]);
    // the old code read the sender's "No, score=-5.0" as the receiver's
    expect(spamHeaders(onlySender)).toBeUndefined();
  });
});
