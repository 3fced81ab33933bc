// The DKIM selectors inboxlens tries when the user names none (or in addition to
// the ones they name). A selector is chosen by whoever set up signing, so no list
// can be complete and a miss proves nothing: Amazon SES (Easy DKIM) and Postmark
// issue random or dated selectors, SparkPost encodes the month the domain was added
// (scphMMYY), HubSpot adds the account id (hs1-<id>). Each entry says where it
// comes from; providers whose selectors cannot be guessed are left out on purpose.

export interface KnownSelector {
  selector: string;
  /** who assigns it, and where that is documented */
  source: string;
}

export const KNOWN_SELECTORS: readonly KnownSelector[] = [
  { selector: 'google', source: 'Google Workspace default (Admin console › Gmail › Authenticate email; support.google.com/a/answer/174126)' },
  { selector: 'selector1', source: 'Microsoft 365 / Exchange Online (CNAME to selector1-<domain>._domainkey.<tenant>.onmicrosoft.com; learn.microsoft.com email-authentication-dkim-configure)' },
  { selector: 'selector2', source: 'Microsoft 365 / Exchange Online, the rotation partner of selector1' },
  { selector: 'k1', source: 'Mailchimp / Mandrill (k1._domainkey CNAME to dkim.mcsv.net); also Mailgun on older domains' },
  { selector: 'k2', source: 'Mailchimp domain authentication (k2._domainkey CNAME to dkim2.mcsv.net)' },
  { selector: 'k3', source: 'Mailchimp domain authentication (k3._domainkey CNAME to dkim3.mcsv.net)' },
  { selector: 'mandrill', source: 'Mailchimp Transactional (Mandrill), legacy set-up' },
  { selector: 's1', source: 'Twilio SendGrid domain authentication (s1._domainkey CNAME to s1.domainkey.uNNN.wl.sendgrid.net)' },
  { selector: 's2', source: 'Twilio SendGrid, the rotation partner of s1' },
  { selector: 'smtpapi', source: 'SendGrid legacy (pre-automated-security) selector' },
  { selector: 'default', source: 'cPanel, Plesk and DirectAdmin default; the OpenDKIM documentation examples' },
  { selector: 'dkim', source: 'Rspamd dkim_signing default selector; many hosting panels' },
  { selector: 'mail', source: 'Yandex 360 default; common in OpenDKIM/Amavis set-up guides; Brevo (Sendinblue) legacy' },
  { selector: 'smtp', source: 'Mailgun (smtp._domainkey on many sending domains)' },
  { selector: 'mx', source: 'Mailgun (mx._domainkey on many sending domains)' },
  { selector: 'krs', source: 'Mailgun (krs._domainkey, its newer default)' },
  { selector: 'mxvault', source: 'common in public selector surveys (MxToolbox, zk-email archive); origin not documented by a vendor' },
  { selector: 'everlytickey1', source: 'Everlytic domain authentication' },
  { selector: 'everlytickey2', source: 'Everlytic, the rotation partner of everlytickey1' },
  { selector: 'pm', source: 'Postmark-hosted keys are often seen as "pm"; Postmark normally issues dated "<yyyymmddhhmmss>pm" selectors, which cannot be guessed' },
  { selector: 'cm', source: 'Campaign Monitor (cm._domainkey)' },
  { selector: 'mailjet', source: 'Mailjet (mailjet._domainkey)' },
  { selector: 'resend', source: 'Resend (resend._domainkey)' },
  { selector: 'brevo1', source: 'Brevo (ex-Sendinblue) domain authentication (brevo1._domainkey CNAME)' },
  { selector: 'brevo2', source: 'Brevo, the rotation partner of brevo1' },
  { selector: 'ctct1', source: 'Constant Contact self-authentication (ctct1._domainkey CNAME)' },
  { selector: 'ctct2', source: 'Constant Contact, the rotation partner of ctct1' },
  { selector: 'zoho', source: 'Zoho Mail (the selector its DKIM set-up suggests)' },
  { selector: 'zmail', source: 'Zoho Mail (older default)' },
  { selector: 'protonmail', source: 'Proton Mail custom domains (protonmail._domainkey CNAME to protonmail.domainkey.<id>.domains.proton.ch)' },
  { selector: 'protonmail2', source: 'Proton Mail custom domains, second key' },
  { selector: 'protonmail3', source: 'Proton Mail custom domains, third key' },
  { selector: 'fm1', source: 'Fastmail custom domains (fm1._domainkey CNAME to fm1.<domain>.dkim.fmhosted.com)' },
  { selector: 'fm2', source: 'Fastmail custom domains, second key' },
  { selector: 'fm3', source: 'Fastmail custom domains, third key' },
  { selector: 'sig1', source: 'Apple iCloud+ custom email domains (sig1._domainkey CNAME to sig1.dkim.<domain>.at.icloudmailadmin.com)' },
  { selector: 'x', source: 'MXroute (x._domainkey)' },
];

export const GUESSED_SELECTORS: readonly string[] = KNOWN_SELECTORS.map((s) => s.selector);

/**
 * The short list a --domains-file batch guesses unless told --dkim-guess: one or
 * two per family of the most common signers (Google, Microsoft 365, Mailchimp,
 * SendGrid, hosting panels, Rspamd, Mailgun). A batch of thousands of customer
 * domains is usually run by the ESP that signs for them and knows the selectors.
 */
export const BATCH_SELECTORS: readonly string[] = ['google', 'selector1', 'selector2', 'k1', 's1', 's2', 'default', 'dkim', 'mail', 'smtp'];

export function selectorSource(selector: string): string | undefined {
  return KNOWN_SELECTORS.find((s) => s.selector === selector)?.source;
}
