// Authentication-Results as receivers write them (issue 12): RFC 8601's own examples,
// iCloud's one-header-per-method, OpenDKIM and OpenDMARC each adding their own under one
// authserv-id, Exchange Online's id-less form, the mailauth fixtures (real Gmail copies),
// and headers a sender planted, which must never pass as the receiver's verdict.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAuthResults } from '../../src/analyze/auth-results.ts';
import { receiverView } from '../../src/analyze/receiver.ts';
import { receiverAuth, authFailures, spamHeaders } from '../../src/placement/classify.ts';
import { parseSeeds } from '../../src/placement/seeds.ts';
import { UsageError } from '../../src/util/errors.ts';
import { ROOT } from '../helpers/cli.ts';

const FIXTURES = path.join(ROOT, '../shared/conformance/mailauth-fixtures');
const msg = (...lines: string[]) => `${lines.join('\r\n')}\r\n`;

// RFC 8601 Appendix B, as published (indentation as in the RFC, the bodies shortened to theirs)
const B2 = msg(
  'Authentication-Results: example.org 1; none',
  'Received: from mail-router.example.com',
  '              (mail-router.example.com [192.0.2.1])',
  '          by server.example.org (8.11.6/8.11.6)',
  '              with ESMTP id g1G0r1kA003489;',
  '          Fri, Feb 15 2002 17:19:07 -0800',
  'From: sender@example.com',
  'Date: Fri, Feb 15 2002 16:54:30 -0800',
  'To: receiver@example.org',
  'Message-Id: <12345.abc@example.com>',
  "Subject: here's a sample",
  '',
  'Hello!  Goodbye!',
);
const B4 = msg(
  'Authentication-Results: example.com;',
  '          auth=pass (cram-md5) smtp.auth=sender@example.net;',
  '          spf=pass smtp.mailfrom=example.net',
  'Authentication-Results: example.com; iprev=pass',
  '          policy.iprev=192.0.2.200',
  'Received: from dialup-1-2-3-4.example.net',
  '              (dialup-1-2-3-4.example.net [192.0.2.200])',
  '          by mail-router.example.com (8.11.6/8.11.6)',
  '              with ESMTPA id g1G0r1kA003489;',
  '          Fri, Feb 15 2002 17:19:07 -0800',
  'From: sender@example.net',
  '',
  'Hello!  Goodbye!',
);
const B5 = msg(
  'Authentication-Results: example.com;',
  '          dkim=pass (good signature) header.d=example.com',
  'Received: from mail-router.example.com',
  '              (mail-router.example.com [192.0.2.1])',
  '          by auth-checker.example.com (8.11.6/8.11.6)',
  '              with ESMTP id i7PK0sH7021929;',
  '          Fri, Feb 15 2002 17:19:22 -0800',
  'DKIM-Signature:  v=1; a=rsa-sha256; s=gatsby; d=example.com;',
  '          t=1188964191; c=simple/simple; h=From:Date:To:Subject:',
  '          Message-Id:Authentication-Results;',
  '          bh=sEuZGD/pSr7ANysbY3jtdaQ3Xv9xPQtS0m70;',
  '          b=EToRSuvUfQVP3Bkz ... rTB0t0gYnBVCM=',
  'Authentication-Results: example.com;',
  '          auth=pass (cram-md5) smtp.auth=sender@example.com;',
  '          spf=fail smtp.mailfrom=example.com',
  'Received: from dialup-1-2-3-4.example.net',
  '              (dialup-1-2-3-4.example.net [192.0.2.200])',
  '          by mail-router.example.com (8.11.6/8.11.6)',
  '              with ESMTPA id g1G0r1kA003489;',
  '          Fri, Feb 15 2002 17:19:07 -0800',
  'From: sender@example.com',
  '',
  'Hello!  Goodbye!',
);
const B6 = msg(
  'Authentication-Results: example.com;',
  '      dkim=pass reason="good signature"',
  '        header.i=@mail-router.example.net;',
  '      dkim=fail reason="bad signature"',
  '        header.i=@newyork.example.com',
  'Received: from mail-router.example.net',
  '          (mail-router.example.net [192.0.2.250])',
  '      by chicago.example.com (8.11.6/8.11.6)',
  '          for <recipient@chicago.example.com>',
  '          with ESMTP id i7PK0sH7021929;',
  '      Fri, Feb 15 2002 17:19:22 -0800',
  'DKIM-Signature: v=1; a=rsa-sha256; s=furble;',
  '      d=mail-router.example.net; t=1188964198; c=relaxed/simple;',
  '      h=From:Date:To:Message-Id:Subject:Authentication-Results;',
  '      bh=ftA9J6GtX8OpwUECzHnCkRzKw1uk6FNiLfJl5Nmv49E=;',
  '      b=oINEO8hgn/gnunsg ... 9n9ODSNFSDij3=',
  'Authentication-Results: example.net;',
  '      dkim=pass (good signature) header.i=@newyork.example.com',
  'Received: from smtp.newyork.example.com',
  '          (smtp.newyork.example.com [192.0.2.220])',
  '      by mail-router.example.net (8.11.6/8.11.6)',
  '          with ESMTP id g1G0r1kA003489;',
  '      Fri, Feb 15 2002 17:19:07 -0800',
  'DKIM-Signature: v=1; a=rsa-sha256; s=gatsby; d=newyork.example.com;',
  '      t=1188964191; c=simple/simple;',
  '      h=From:Date:To:Message-Id:Subject;',
  '      bh=sEu28nfs9fuZGD/pSr7ANysbY3jtdaQ3Xv9xPQtS0m7=;',
  '      b=EToRSuvUfQVP3Bkz ... rTB0t0gYnBVCM=',
  'From: sender@newyork.example.com',
  '',
  'Hello!  Goodbye!',
);
const B7 = [
  'foo.example.net (foobar) 1 (baz);',
  '    dkim (Because I like it) / 1 (One yay) = (wait for it) fail',
  '      policy (A dot can go here) . (like that) expired',
  "      (this surprised me) = (as I wasn't expecting it) 1362471462",
].join('\r\n');

describe('RFC 8601 Appendix B', () => {
  it('B.2: "none", and the version is not part of the authserv-id', () => {
    const p = parseAuthResults('example.org 1; none');
    expect(p).toMatchObject({ authservId: 'example.org', version: 1, none: true, results: [], errors: [] });
    const v = receiverView(B2);
    expect(v.arrival).toMatchObject({ ip: '192.0.2.1', helo: 'mail-router.example.com', by: 'server.example.org' });
    expect(v.authResults.map((a) => a.authservId)).toEqual(['example.org']);
    // the old parser (mailauth's) gave "example.org 1" as the id
    expect(receiverAuth(B2)).toMatchObject({ authservId: 'example.org', dkim: [] });
  });

  it('B.4: two headers of one MTA are both read (auth, spf, iprev)', () => {
    const v = receiverView(B4);
    expect(v.authResults.flatMap((a) => a.results.map((r) => `${r.method}=${r.result}`))).toEqual(['auth=pass', 'spf=pass', 'iprev=pass']);
    expect(v.authResults[0]!.results[0]).toMatchObject({ comments: ['cram-md5'], properties: [{ ptype: 'smtp', property: 'auth', value: 'sender@example.net' }] });
    expect(v.authResults[1]!.results[0]!.properties).toEqual([{ ptype: 'policy', property: 'iprev', value: '192.0.2.200' }]);
    expect(receiverAuth(B4)).toMatchObject({ headers: 2, spf: { result: 'pass', domain: 'example.net' } });
  });

  it('B.5: one ADMD, two MTAs: both example.com headers are the receiver\'s; the spf=fail of the lower one is not lost', () => {
    const v = receiverView(B5);
    expect(v.hop.map((h) => h.by)).toEqual(['auth-checker.example.com', 'mail-router.example.com']);
    expect(v.arrival).toMatchObject({ ip: '192.0.2.200', helo: 'dialup-1-2-3-4.example.net' });
    expect(v.authResults).toHaveLength(2);
    const a = receiverAuth(B5)!;
    // the old code read the topmost header only: dkim=pass, and no SPF verdict at all
    expect(a.spf).toMatchObject({ result: 'fail', domain: 'example.com' });
    expect(a.dkim).toEqual([expect.objectContaining({ result: 'pass', domain: 'example.com', comment: 'good signature' })]);
    expect(authFailures(a)).toEqual(['spf=fail (smtp.mailfrom=example.com)']);
  });

  it('B.6: multi-hop: only chicago.example.com\'s header (authserv-id example.com) is the receiver\'s; example.net\'s is an earlier hop\'s', () => {
    const v = receiverView(B6);
    expect(v.hop.map((h) => h.by)).toEqual(['chicago.example.com']);
    expect(v.arrival).toMatchObject({ ip: '192.0.2.250', helo: 'mail-router.example.net' });
    expect(v.authResults.map((a) => a.authservId)).toEqual(['example.com']);
    expect(v.authResults[0]!.results.map((r) => [r.result, r.reason])).toEqual([['pass', 'good signature'], ['fail', 'bad signature']]);
    expect(v.ignored).toEqual([expect.objectContaining({ authservId: 'example.net', reason: expect.stringContaining('below the receiver\'s hop') })]);
    expect(receiverAuth(B6)!.dkim.map((d) => `${d.result}:${d.domain}`)).toEqual(['pass:mail-router.example.net', 'fail:newyork.example.com']);
  });

  it('B.7: comments anywhere are kept apart from the results', () => {
    const p = parseAuthResults(B7);
    expect(p).toMatchObject({ authservId: 'foo.example.net', version: 1, comments: ['foobar', 'baz'], errors: [] });
    expect(p.results).toEqual([{
      method: 'dkim', methodVersion: 1, result: 'fail',
      properties: [{ ptype: 'policy', property: 'expired', value: '1362471462' }],
      comments: ['Because I like it', 'One yay', 'wait for it', 'A dot can go here', 'like that', 'this surprised me', "as I wasn't expecting it"],
    }]);
    // the old parser: no version, and the method/result taken apart wrongly
    expect(receiverAuth(`Authentication-Results: ${B7}\r\n\r\n`)!.dkim).toEqual([expect.objectContaining({ result: 'fail' })]);
  });

  it('quoted values, nested comments, semicolons inside comments, trailing semicolons', () => {
    const p = parseAuthResults('"mx.google.com"; dkim=pass header.i=@e.example header.b="URn9MW+F" (c (nested; with ; semicolons)); spf=pass smtp.mailfrom="first last"@e.example;');
    expect(p.authservId).toBe('mx.google.com');
    expect(p.results.map((r) => r.method)).toEqual(['dkim', 'spf']);
    expect(p.results[0]!.comments).toEqual(['c (nested; with ; semicolons)']);
    expect(p.results[0]!.properties[1]).toEqual({ ptype: 'header', property: 'b', value: 'URn9MW+F' });
    expect(p.errors).toEqual([]);
  });
});

// iCloud: one header per method, each with its own authserv-id under icloud.com, above its MX's Received
const ICLOUD = msg(
  'Return-Path: <bounce@news.example.com>',
  'Authentication-Results: bimi.icloud.com; bimi=skipped reason="insufficient dmarc"',
  'Authentication-Results: dmarc.icloud.com; dmarc=pass header.from=example.com',
  'Authentication-Results: dkim-verifier.icloud.com;',
  '\tdkim=pass (2048-bit key) header.d=example.com header.i=@example.com header.b=Qm9vaGVy',
  'Authentication-Results: spf.icloud.com; spf=pass (spf.icloud.com: domain of bounce@news.example.com designates 198.51.100.20 as permitted sender) smtp.mailfrom=bounce@news.example.com',
  'Received-SPF: pass (spf.icloud.com: domain of bounce@news.example.com designates 198.51.100.20 as permitted sender) receiver=spf.icloud.com; client-ip=198.51.100.20; helo=out.news.example.com; envelope-from=bounce@news.example.com',
  'Received: from out.news.example.com (out.news.example.com [198.51.100.20])',
  '\tby mx02.mail.icloud.com (Postfix) with ESMTPS id 4Xb1qZ0Fyqz3wq',
  '\tfor <seed@icloud.com>; Tue, 3 Jun 2025 10:00:01 +0000 (UTC)',
  'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1; h=from:to:subject; bh=x; b=y',
  'From: News <news@example.com>',
  'Subject: hi',
  '',
  'body',
);

// Postfix with OpenDKIM and OpenDMARC as milters: each adds its own header under the host's
// authserv-id, right below Postfix's Received (OpenDKIM with AuthservIDWithJobID adds the queue id)
const OPENDKIM = msg(
  'Return-Path: <bounce@example.com>',
  'Delivered-To: seed@mail.example.org',
  'Received: from localhost (localhost [127.0.0.1])',
  '\tby mail.example.org (Postfix) with LMTP id 3C2B1A;',
  '\tTue, 3 Jun 2025 10:00:02 +0000 (UTC)',
  'Received: from out.example.com (out.example.com [203.0.113.9])',
  '\tby mail.example.org (Postfix) with ESMTPS id 4A2B3C4D5E',
  '\tfor <seed@mail.example.org>; Tue, 3 Jun 2025 10:00:01 +0000 (UTC)',
  'DMARC-Filter: OpenDMARC Filter v1.4.2 mail.example.org 4A2B3C4D5E',
  'Authentication-Results: mail.example.org; dmarc=fail (p=reject dis=none) header.from=example.com',
  'Authentication-Results: mail.example.org; spf=fail smtp.mailfrom=example.com',
  'DKIM-Filter: OpenDKIM Filter v2.11.0 mail.example.org 4A2B3C4D5E',
  'Authentication-Results: mail.example.org/4A2B3C4D5E;',
  '\tdkim=fail reason="signature verification failed" (2048-bit key;',
  '\tunprotected) header.d=example.com header.i=@example.com',
  '\theader.a=rsa-sha256 header.s=sel1 header.b=AbCd1234',
  'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=sel1; h=from:to:subject; bh=x; b=y',
  'From: <news@example.com>',
  'Subject: hi',
  '',
  'body',
);

describe('receivers that write several headers', () => {
  it('iCloud: all four headers are read (the old code saw only the topmost, bimi)', () => {
    const a = receiverAuth(ICLOUD)!;
    expect(a.authservIds).toEqual(['bimi.icloud.com', 'dmarc.icloud.com', 'dkim-verifier.icloud.com', 'spf.icloud.com']);
    expect(a.spf).toMatchObject({ result: 'pass', domain: 'news.example.com' });
    expect(a.dkim).toEqual([expect.objectContaining({ result: 'pass', domain: 'example.com', comment: '2048-bit key' })]);
    expect(a.dmarc).toMatchObject({ result: 'pass', domain: 'example.com' });
    const v = receiverView(ICLOUD);
    expect(v.profile).toBe('icloud');
    expect(v.arrival).toMatchObject({ ip: '198.51.100.20', helo: 'out.news.example.com', by: 'mx02.mail.icloud.com' });
    expect(v.receivedSpf).toMatchObject({ result: 'pass', clientIp: '198.51.100.20', envelopeFrom: 'bounce@news.example.com', helo: 'out.news.example.com' });
  });

  it('OpenDKIM and OpenDMARC under one authserv-id, below Postfix\'s Received: all three, job id apart (the old code saw dmarc only)', () => {
    const v = receiverView(OPENDKIM);
    expect(v.hop.map((h) => h.id)).toEqual(['3C2B1A', '4A2B3C4D5E']);
    expect(v.arrival).toMatchObject({ ip: '203.0.113.9', helo: 'out.example.com' });
    expect(v.authResults.map((a) => [a.authservId, a.jobId])).toEqual([['mail.example.org', undefined], ['mail.example.org', undefined], ['mail.example.org', '4A2B3C4D5E']]);
    const a = receiverAuth(OPENDKIM)!;
    expect(a.dkim).toEqual([expect.objectContaining({ result: 'fail', domain: 'example.com', selector: 'sel1', reason: 'signature verification failed', comment: '2048-bit key; unprotected' })]);
    expect(authFailures(a)).toEqual(['dmarc=fail (header.from=example.com)', 'spf=fail (smtp.mailfrom=example.com)', 'dkim=fail (d=example.com)']);
  });

  it('a header the sender put at the top of its message, after the milters\' run: not tied to the hop, ignored', () => {
    const planted = OPENDKIM.replace('DKIM-Signature: v=1;', 'Authentication-Results: mail.example.org; dmarc=pass header.from=example.com; spf=pass smtp.mailfrom=example.com\r\nDKIM-Signature: v=1;');
    const v = receiverView(planted);
    expect(v.authResults).toHaveLength(3);
    expect(v.ignored).toEqual([expect.objectContaining({ authservId: 'mail.example.org', reason: expect.stringContaining('after the headers tied to this hop') })]);
    expect(receiverAuth(planted)!.dmarc).toMatchObject({ result: 'fail' });
    // without the filter lines and job id nothing ties the milters' headers to the hop either
    const bare = OPENDKIM.replace(/DMARC-Filter:[^\r]*\r\n|DKIM-Filter:[^\r]*\r\n/g, '').replace('/4A2B3C4D5E', '');
    expect(receiverAuth(bare)).toBeUndefined();
    expect(receiverAuth(bare, { authservIds: ['mail.example.org'] })!.headers).toBe(3);
  });
});

describe('headers the sender planted never pass as the receiver\'s verdict', () => {
  // a receiver that writes no Authentication-Results at all; the sender put one at the top of its message
  const PLANTED = msg(
    'Received: from mail.sender.example (mail.sender.example [192.0.2.25])',
    '\tby mx.receiver.example (Postfix) with ESMTPS id 4XyZ',
    '\tfor <seed@receiver.example>; Tue, 3 Jun 2025 10:00:01 +0000 (UTC)',
    'Received: from [10.0.0.7] (unknown [10.0.0.7])',
    '\tby mail.sender.example with ESMTPSA id 99; Tue, 3 Jun 2025 10:00:00 +0000',
    'Authentication-Results: mx.receiver.example; spf=pass smtp.mailfrom=bank.example;',
    '\tdkim=pass header.d=bank.example; dmarc=pass header.from=bank.example',
    'From: <security@bank.example>',
    'Subject: verify your account',
    '',
    'body',
  );

  it('below the sender\'s own Received: ignored, with the reason (the old code took it as the receiver\'s dmarc=pass)', () => {
    expect(receiverAuth(PLANTED)).toBeUndefined();
    const v = receiverView(PLANTED);
    expect(v.arrival).toMatchObject({ ip: '192.0.2.25', helo: 'mail.sender.example' });
    expect(v.ignored).toEqual([expect.objectContaining({ authservId: 'mx.receiver.example', reason: expect.stringContaining('below the receiver\'s hop') })]);
  });

  it('at the top of a message that has no Received of its own, after the sender\'s DKIM-Signature: ignored', () => {
    const m = msg(
      'Authentication-Results: mx.google.com; dkim=pass header.i=@example.com; spf=softfail smtp.mailfrom=example.com',
      'Received: from mail.example.com (mail.example.com. [192.0.2.10]) by mx.google.com with ESMTPS id x; Tue, 3 Jun 2025 03:00:01 -0700 (PDT)',
      'DKIM-Signature: v=1; a=rsa-sha256; d=bank.example; s=s; h=from; bh=x; b=y',
      'Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=bank.example; dmarc=pass header.from=bank.example',
      'From: <a@bank.example>',
      '',
      'b',
    );
    const a = receiverAuth(m)!;
    expect(a.spf).toMatchObject({ result: 'softfail', domain: 'example.com' });
    expect(a.dmarc).toBeUndefined();
    expect(a.ignored).toEqual([expect.objectContaining({ authservId: 'mx.google.com' })]);
  });

  it('an authserv-id that is not the receiver\'s, even above its hop, is ignored; a seed may name its own', () => {
    const m = msg(
      'Authentication-Results: filter.corp.example; dkim=pass header.d=example.com',
      'Received: from out.example.com (out.example.com [203.0.113.9]) by mx1.mailhost.example with ESMTPS id 1; Tue, 3 Jun 2025 10:00:01 +0000',
      'From: <a@example.com>',
      '',
      'b',
    );
    expect(receiverAuth(m)).toBeUndefined();
    expect(receiverView(m).ignored[0]!.reason).toContain('is not the receiver\'s');
    expect(receiverAuth(m, { authservIds: ['filter.corp.example'] })!.dkim[0]).toMatchObject({ result: 'pass', domain: 'example.com' });
  });

  it('Gmail: the first header right below its Received is its own, a second one there is the sender\'s', () => {
    const m = msg(
      'Received: from mail.example.com (mail.example.com. [192.0.2.10]) by mx.google.com with ESMTPS id x; Tue, 3 Jun 2025 03:00:01 -0700 (PDT)',
      'Received-SPF: softfail (google.com: domain of transitioning a@example.com does not designate 192.0.2.10 as permitted sender) client-ip=192.0.2.10;',
      'Authentication-Results: mx.google.com; spf=softfail smtp.mailfrom=a@example.com',
      'Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=a@example.com; dmarc=pass header.from=example.com',
      'From: <a@example.com>',
      '',
      'b',
    );
    const a = receiverAuth(m)!;
    expect(a).toMatchObject({ headers: 1, spf: { result: 'softfail' } });
    expect(a.dmarc).toBeUndefined();
    expect(a.ignored).toHaveLength(1);
  });

  it('Exchange Online: the topmost id-less header above its first Received; one planted below is ignored', () => {
    const m = msg(
      'Authentication-Results: spf=fail (sender IP is 203.0.113.7) smtp.mailfrom=example.com; dkim=none (message not signed) header.d=none;dmarc=fail action=oreject header.from=example.com;compauth=fail reason=000',
      'Received: from MW2NAM10FT003.eop-nam10.prod.protection.outlook.com (2603:10b6:303:8c::4) by MW4PR04MB7300.namprd04.prod.outlook.com (2603:10b6:303:74::9) with Microsoft SMTP Server id 15.20.7; Tue, 3 Jun 2025 10:00:02 +0000',
      'Received: from out.example.com (203.0.113.7) by MW2NAM10FT003.mail.protection.outlook.com (10.13.155.1) with Microsoft SMTP Server id 15.20.7; Tue, 3 Jun 2025 10:00:01 +0000',
      'Authentication-Results: spf=pass smtp.mailfrom=example.com; dmarc=pass header.from=example.com',
      'From: <a@example.com>',
      '',
      'b',
    );
    const v = receiverView(m);
    expect(v.profile).toBe('outlook');
    expect(v.arrival).toMatchObject({ ip: '203.0.113.7', helo: 'out.example.com' });
    const a = receiverAuth(m)!;
    expect(a.dmarc).toMatchObject({ result: 'fail', domain: 'example.com' });
    expect(a.dkim).toEqual([expect.objectContaining({ result: 'none' })]);
    expect(a.headers).toBe(1);
    expect(a.ignored).toHaveLength(1);
  });
});

describe('the mailauth fixtures (real Gmail and other copies)', () => {
  const view = (f: string) => receiverView(readFileSync(path.join(FIXTURES, f)));

  it('a copy Gmail forwarded to Gmail: the receiver\'s hop ends at the forwarder\'s submission; the first delivery\'s ARC results are ignored', () => {
    const v = view('arc-pass.eml');
    expect(v.profile).toBe('gmail');
    expect(v.arrival).toMatchObject({ ip: '209.85.220.41', helo: 'mail-sor-f41.google.com', by: 'mx.google.com' });
    expect(v.authResults.map((a) => a.results.map((r) => `${r.method}=${r.result}`).join(' '))).toEqual(['dkim=pass arc=pass spf=neutral']);
    expect(v.arcAuthResults).toMatchObject({ instance: 2, authservId: 'mx.google.com' });
    expect(v.receivedSpf).toMatchObject({ result: 'neutral', clientIp: '209.85.220.41' });
    // the first delivery's ARC set (i=1) is below the hop: not the receiver's
    expect(v.ignored.map((i) => i.name)).toEqual(['arc-authentication-results']);
    expect(view('arc-fail.eml').arrival).toMatchObject({ ip: '209.85.220.41', helo: 'mail-sor-f41.google.com' });
  });

  it('ordinary Gmail copies: the sending IP and HELO, all verdicts', () => {
    expect(view('bimi.eml')).toMatchObject({ profile: 'gmail', arrival: { ip: '141.193.32.19', helo: 'm32-19.eu.mailgun.net' } });
    expect(receiverAuth(readFileSync(path.join(FIXTURES, 'zbimi.eml')))).toMatchObject({ spf: { result: 'pass', domain: 'zone.ee' }, dmarc: { result: 'pass' } });
  });

  it('Postfix + OpenDKIM writing right below its Received with nothing tying it to the hop (message4.eml): trusted only once its authserv-id is named; one above the hop (message2.eml) as it is', () => {
    const m4 = readFileSync(path.join(FIXTURES, 'message4.eml'));
    expect(receiverAuth(m4)).toBeUndefined();
    expect(receiverView(m4).ignored[0]!.reason).toContain('nothing ties it to this hop');
    expect(receiverAuth(m4, { authservIds: ['uvn-67-33.tll01.zonevs.eu'] })).toMatchObject({ authservId: 'uvn-67-33.tll01.zonevs.eu', dkim: [{ result: 'pass', reason: '1024-bit key; insecure key' }] });
    expect(view('message2.eml')).toMatchObject({ profile: 'generic', arrival: { ip: '141.193.32.12', helo: 'm32-12.eu.mailgun.net' } });
    expect(receiverAuth(readFileSync(path.join(FIXTURES, 'message2.eml')))).toMatchObject({ authservId: 'mx.ethereal.email', spf: { result: 'pass' } });
  });

  it('a message with no Received header (message1.eml) has no hop and no verdicts', () => {
    const v = view('message1.eml');
    expect(v.hop).toEqual([]);
    expect(v.arrival).toBeUndefined();
  });
});

describe('a seed names its receiver\'s authserv-id', () => {
  const yaml = (id: string) => `seeds:\n  - address: a@mail.example.org\n    authservId: ${id}\n    imap: { host: imap.example.org }\n    auth: { user: a, pass: x }\n`;
  it('one or a list, lower-cased; a value that is no host name is refused, naming the field', () => {
    expect(parseSeeds(yaml('Filter.Corp.Example'), 'seeds.yaml').seeds[0]!.authservIds).toEqual(['filter.corp.example']);
    expect(parseSeeds(yaml('[a.example, "*.b.example"]'), 'seeds.yaml').seeds[0]!.authservIds).toEqual(['a.example', '*.b.example']);
    expect(() => parseSeeds(yaml('"mx example; dkim=pass"'), 'seeds.yaml')).toThrow(UsageError);
    expect(() => parseSeeds(yaml('"mx example; dkim=pass"'), 'seeds.yaml')).toThrow(/authservId/);
  });
});

describe('the sending IP and HELO from the arrival Received, as MTAs write them', () => {
  const hop = (received: string, extra: string[] = []) => receiverView(msg(`Received: ${received}`, ...extra, 'From: <a@example.com>', '', 'b')).arrival;
  it('Postfix (IPv4, IPv6, unknown rDNS), Exim, Microsoft, qmail', () => {
    expect(hop('from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.org (Postfix) with ESMTPS id 4X1 for <a@example.org>; Tue, 3 Jun 2025 10:00:01 +0000')).toMatchObject({ ip: '192.0.2.1', helo: 'mail.example.com', rdns: 'mail.example.com', id: '4X1' });
    expect(hop('from mail.example.com (mail.example.com [IPv6:2001:db8::25]) by mx.example.org (Postfix) with ESMTPS id 4X2; Tue, 3 Jun 2025 10:00:01 +0000')).toMatchObject({ ip: '2001:db8::25', helo: 'mail.example.com' });
    expect(hop('from helo.example (unknown [198.51.100.7]) by mx.example.org (Postfix) with ESMTP id 4X3; Tue, 3 Jun 2025 10:00:01 +0000')).toMatchObject({ ip: '198.51.100.7', helo: 'helo.example' });
    expect(hop('from [198.51.100.8] (helo=out.example.net) by mx.example.org with esmtps (Exim 4.96) id 1uM; Tue, 03 Jun 2025 10:00:01 +0000')).toMatchObject({ ip: '198.51.100.8', helo: 'out.example.net' });
    expect(hop('from out.example.com (203.0.113.7) by BN8NAM11FT012.mail.protection.outlook.com (10.13.177.34) with Microsoft SMTP Server id 15.20.7; Tue, 3 Jun 2025 10:00:01 +0000')).toMatchObject({ ip: '203.0.113.7', helo: 'out.example.com', by: 'bn8nam11ft012.mail.protection.outlook.com' });
    expect(hop('from mail.example.com (HELO mail.example.com) (192.0.2.9) by mta.example.net with SMTP; 3 Jun 2025 10:00:01 -0000')).toMatchObject({ ip: '192.0.2.9', helo: 'mail.example.com' });
  });

  it('amavis re-injection on loopback stays in the receiver\'s block; the sender\'s own hop below never counts', () => {
    const v = receiverView(msg(
      'Received: from localhost (localhost [127.0.0.1]) by mail.example.org (Postfix) with ESMTP id B2; Tue, 3 Jun 2025 10:00:03 +0000',
      'Received: from mail.example.org ([127.0.0.1]) by localhost (mail.example.org [127.0.0.1]) (amavisd-new, port 10024) with ESMTP id x1; Tue, 3 Jun 2025 10:00:02 +0000',
      'Received: from out.sender.example (out.sender.example [203.0.113.44]) by mail.example.org (Postfix) with ESMTPS id A1; Tue, 3 Jun 2025 10:00:01 +0000',
      'Received: from [10.1.2.3] (unknown [10.1.2.3]) by out.sender.example (Postfix) with ESMTPSA id Z9; Tue, 3 Jun 2025 10:00:00 +0000',
      'From: <a@sender.example>', '', 'b',
    ));
    expect(v.hop.map((h) => h.id)).toEqual(['B2', 'x1', 'A1']);
    expect(v.arrival).toMatchObject({ ip: '203.0.113.44', helo: 'out.sender.example' });
  });
});

// Copies delivered by the lab's real receiving stack (src/lab/real-stack.ts): Postfix with
// rspamd as its milter, then Dovecot's LMTP. rspamd's Authentication-Results stand right
// below Postfix's Received (Postfix shows milters the header without its own Received);
// its X-Spam-Status / X-Spamd-Result / X-Rspamd-* are appended at the END of the header.
describe('Postfix + rspamd (milter) as they really write them', () => {
  const real = (name: string) => readFileSync(path.join(ROOT, 'fixtures/messages', `real-postfix-rspamd-${name}.eml`), 'latin1');
  const clean = real('clean');
  const qid = /X-Rspamd-Queue-Id: (\S+)/.exec(clean)![1]!;
  const ids = { authservIds: ['mx.postfix.lab.test'] };

  it('the hop is Postfix (below Dovecot\'s LMTP Received), from 127.0.0.1 with the sender\'s HELO', () => {
    const v = receiverView(clean, ids);
    expect(v.hop.map((h) => h.by)).toEqual(['store.lab.test', 'mx.postfix.lab.test']);
    expect(v.arrival).toMatchObject({ by: 'mx.postfix.lab.test', ip: '127.0.0.1', helo: 'mta.goodsender.test', id: qid });
    expect(v.authResults.map((a) => a.authservId)).toEqual(['mx.postfix.lab.test']);
    expect(receiverAuth(clean, ids)).toMatchObject({ authservId: 'mx.postfix.lab.test', spf: { result: 'pass' }, dmarc: { result: 'pass', domain: 'goodsender.test' } });
  });

  it('rspamd\'s headers appended at the end count as the receiver\'s when X-Rspamd-Queue-Id is this hop\'s queue id', () => {
    // before the fix: spamHeaders() found nothing (only fields above the hop, or right below it, were the receiver's)
    expect(spamHeaders(clean, ids)).toMatchObject({ spamStatus: 'No, score=-0.70', spamScore: -0.7 });
    expect(spamHeaders(clean, ids)!.verdicts).toContainEqual(expect.objectContaining({ filter: 'rspamd', verdict: 'not-spam', action: 'no action' }));
    // rspamd's X-Spam-Status ("No, score=-0.70", no required=/tests=) is rspamd's, not a SpamAssassin verdict
    expect(spamHeaders(clean, ids)!.verdicts!.map((v) => v.filter)).toEqual(['rspamd']);
    expect(receiverView(clean, ids).receiverFields.map((f) => f.name)).toEqual(expect.arrayContaining(['x-spamd-result', 'x-rspamd-queue-id', 'x-spam-status']));
  });

  it('a closing run with another queue id (the sender wrote it) is not the receiver\'s', () => {
    const forged = clean.replace(`X-Rspamd-Queue-Id: ${qid}`, 'X-Rspamd-Queue-Id: 0000000000A');
    expect(spamHeaders(forged, ids)).toBeUndefined();
    expect(receiverView(forged, ids).receiverFields.map((f) => f.name)).not.toContain('x-spamd-result');
  });

  it('a sender\'s X-Spam-Status just above the milter\'s run is superseded by rspamd\'s', () => {
    const at = clean.indexOf('X-Spam-Status: No, score=-0.70');
    expect(at).toBeGreaterThan(0);
    const planted = `${clean.slice(0, at)}X-Spam-Status: No, score=-9.00 planted\r\n${clean.slice(at)}`;
    expect(spamHeaders(planted, ids)!.spamStatus).toBe('No, score=-0.70');
  });

  it('a copy rspamd scored spam (add header, 6.70): its verdict is spam, though X-Spamd-Result says "False" (True means reject)', () => {
    const scored = real('scored-spam');
    // rspamd removed the Authentication-Results the sender planted under its id (milter_headers remove): one remains, its own
    const v = receiverView(scored, ids);
    expect(v.authResults).toHaveLength(1);
    expect(receiverAuth(scored, ids)).toMatchObject({ dmarc: { result: 'fail', domain: 'brokensender.test' }, spf: { result: 'fail' } });
    const sh = spamHeaders(scored, ids)!;
    expect(sh.spamStatus).toMatch(/^Yes, score=6\.70/);
    // before the fix: { filter: 'rspamd', verdict: 'not-spam' } from "default: False [6.70 / 15.00]"
    expect(sh.verdicts).toEqual([expect.objectContaining({ filter: 'rspamd', verdict: 'spam', action: 'add header', score: 6.7 })]);
  });

  it('the spam copy (rspamd\'s add-header test pattern): X-Spam: Yes alone, no verdict is made up', () => {
    const spam = real('spam');
    expect(spam).toMatch(/\r\nX-Spam: Yes\r\n/);
    expect(receiverAuth(spam, ids)).toBeUndefined();
    expect(receiverView(spam, ids).arrival).toMatchObject({ by: 'mx.postfix.lab.test', ip: '127.0.0.1' });
  });
});
