// Public URL shorteners: anyone can create a link on them, so spammers hide
// their destinations behind them and filters score them (SpamAssassin's
// URL_SHORTENER rules, Gmail's sender guidelines). A curated subset of the
// general-purpose services in SpamAssassin's 25_url_shortener.cf (Apache-2.0),
// plus the IP-logging services in that file; brand-only shorteners that point
// at one company's own site (youtu.be, amzn.to) are left out.
export const URL_SHORTENERS: ReadonlySet<string> = new Set([
  'bit.ly', 'bitly.com', 'bit.do', 'j.mp', 'tinyurl.com', 'tiny.cc', 'tiny.one', 'tiny.pl', 'goo.gl', 'ow.ly', 'owl.li',
  'is.gd', 'v.gd', 'buff.ly', 'rebrand.ly', 'rb.gy', 'cutt.ly', 'shorturl.at', 'shorturl.asia', 't.ly', 't.co', 's.id',
  'bl.ink', 'b.link', 'short.gy', 'shorte.st', 'ouo.io', 'adf.ly', 'x.co', 'u.to', 'u.nu', 'qr.ae', 'qrco.de', 'lnkd.in',
  'dlvr.it', 'trib.al', 'snip.ly', 'soo.gd', 'shorl.com', 'clck.ru', 'gg.gg', 'urlz.at', 'tinylink.in', 'hyperurl.co',
  'shrtco.de', 'chilp.it', 'kurl.no', 'lnkiy.in', 'ndurl.com', 'alturl.com', 'page.link', 'app.link', 'han.gl', 'kisa.link',
  'grabify.link', 'iplogger.org', 'iplogger.com', '2no.co', 'yip.su', 'bitly.ws', 'shrunken.com', 'go.ly', 'to.ly',
]);

/** The shortener a host belongs to (the host itself or a parent domain on the list), or undefined. */
export function shortenerOf(host: string): string | undefined {
  // suffix walk, not the PSL: some shorteners (page.link, app.link) are private public suffixes
  const labels = host.toLowerCase().replace(/\.$/, '').split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    const s = labels.slice(i).join('.');
    if (URL_SHORTENERS.has(s)) return s;
  }
  return undefined;
}
