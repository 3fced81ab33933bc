// The big sending services, recognised by the PTR names of their outbound
// hosts. A module of its own (no DNS code): `reports show` names the services
// of cached PTR names without loading the resolver.

/** PTR-name suffixes of the big sending services (what their outbound hosts are named). */
export const SERVICES: [RegExp, string][] = [
  [/\.google\.com$|\.googlemail\.com$/, 'Google'],
  [/\.outbound\.protection\.outlook\.com$|\.protection\.outlook\.com$|\.outlook\.com$|\.hotmail\.com$/, 'Microsoft'],
  [/\.amazonses\.com$/, 'Amazon SES'],
  [/\.sendgrid\.net$/, 'SendGrid'],
  [/\.mailgun\.(net|org)$|\.mailgun\.info$/, 'Mailgun'],
  [/\.mcsv\.net$|\.mcdlv\.net$|\.rsgsv\.net$/, 'Mailchimp'],
  [/\.mandrillapp\.com$/, 'Mandrill'],
  [/\.sparkpostmail\.com$|\.sparkpost\.com$/, 'SparkPost'],
  [/\.mailjet\.com$/, 'Mailjet'],
  [/\.mtasv\.net$|\.postmarkapp\.com$/, 'Postmark'],
  [/\.sendinblue\.com$|\.brevo\.com$|\.sendibt\d*\.com$/, 'Brevo'],
  [/\.mktomail\.com$/, 'Marketo'],
  [/\.exacttarget\.com$|\.salesforce\.com$/, 'Salesforce'],
  [/\.hubspotemail\.net$|\.hubspot\.net$/, 'HubSpot'],
  [/\.zoho\.(com|eu|in)$/, 'Zoho'],
  [/\.yahoo\.com$|\.yahoodns\.net$/, 'Yahoo'],
  [/\.icloud\.com$|\.apple\.com$/, 'Apple'],
  [/\.fastmail\.(com|fm)$|\.messagingengine\.com$/, 'Fastmail'],
  [/\.mimecast\.com$|\.mimecast-offshore\.com$/, 'Mimecast'],
  [/\.pphosted\.com$/, 'Proofpoint'],
  [/\.messagelabs\.com$/, 'Broadcom MessageLabs'],
];

export function serviceFor(ptr: string | undefined): string | undefined {
  if (!ptr) return undefined;
  const n = `.${ptr.toLowerCase().replace(/\.$/, '')}`;
  return SERVICES.find(([re]) => re.test(n))?.[1];
}
