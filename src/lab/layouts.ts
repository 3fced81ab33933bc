// The folder layouts the lab gives its seed mailboxes, modelled on how each
// provider presents itself over IMAP: folder names and special-use attributes
// (RFC 6154). Seeds find Junk by `\Junk` first and by these names as a fallback,
// so the names are the providers' real ones.
export type Layout = 'generic' | 'gmail' | 'outlook' | 'yahoo' | 'icloud' | 'dotted-de';

/**
 * How a layout is stored: `maildir` — Maildir++ under a `/` separator (the lab's
 * default Dovecot); `mdbox-dotted` — mdbox storage with one namespace under the
 * `INBOX.` prefix and the `.` separator, as Courier-style servers and many hosting
 * panels present it. One Dovecot serves one store (its namespace is global).
 */
export type Store = 'maildir' | 'mdbox-dotted';

export interface LabFolder {
  name: string;
  specialUse?: '\\Junk' | '\\All' | '\\Trash' | '\\Sent' | '\\Drafts' | '\\Archive';
  /** a Gmail-style inbox tab modelled as a folder (the lab's Dovecot has no X-GM-RAW) */
  tab?: 'promotions' | 'social' | 'updates' | 'forums';
  /** the spam folder of a layout that marks none with `\Junk`: clients must find it by name */
  junk?: true;
}

export const LAYOUTS: Record<Layout, LabFolder[]> = {
  generic: [
    { name: 'INBOX' },
    { name: 'Junk', specialUse: '\\Junk' },
    { name: 'Sent', specialUse: '\\Sent' },
    { name: 'Trash', specialUse: '\\Trash' },
  ],
  gmail: [
    { name: 'INBOX' },
    { name: '[Gmail]/Spam', specialUse: '\\Junk' },
    { name: '[Gmail]/All Mail', specialUse: '\\All' },
    { name: '[Gmail]/Trash', specialUse: '\\Trash' },
    { name: '[Gmail]/Sent Mail', specialUse: '\\Sent' },
    { name: '[Gmail]/Drafts', specialUse: '\\Drafts' },
    // Gmail's tabs are labels searched with X-GM-RAW "category:…"; Dovecot has no
    // such extension, so the lab files tabbed mail into these folders instead
    { name: 'Categories/Promotions', tab: 'promotions' },
    { name: 'Categories/Social', tab: 'social' },
    { name: 'Categories/Updates', tab: 'updates' },
    { name: 'Categories/Forums', tab: 'forums' },
  ],
  outlook: [
    { name: 'INBOX' },
    { name: 'Junk Email', specialUse: '\\Junk' },
    { name: 'Sent Items', specialUse: '\\Sent' },
    { name: 'Deleted Items', specialUse: '\\Trash' },
    { name: 'Archive', specialUse: '\\Archive' },
  ],
  yahoo: [
    { name: 'INBOX' },
    { name: 'Bulk Mail', specialUse: '\\Junk' },
    { name: 'Sent', specialUse: '\\Sent' },
    { name: 'Trash', specialUse: '\\Trash' },
    { name: 'Archive', specialUse: '\\Archive' },
  ],
  icloud: [
    { name: 'INBOX' },
    { name: 'Junk', specialUse: '\\Junk' },
    { name: 'Sent Messages', specialUse: '\\Sent' },
    { name: 'Deleted Messages', specialUse: '\\Trash' },
    { name: 'Archive', specialUse: '\\Archive' },
  ],
  // a German mailbox on a dotted INBOX. namespace (mdbox): the spam folder is
  // localized and carries no \Junk attribute, so placement must know its name;
  // over IMAP it is INBOX.Unerw&APw-nscht (modified UTF-7, RFC 3501 §5.1.3)
  'dotted-de': [
    { name: 'INBOX' },
    { name: 'INBOX.Unerwünscht', junk: true },
    { name: 'INBOX.Gesendet', specialUse: '\\Sent' },
    { name: 'INBOX.Papierkorb', specialUse: '\\Trash' },
  ],
};

export function storeOf(layout: Layout = 'generic'): Store {
  return layout === 'dotted-de' ? 'mdbox-dotted' : 'maildir';
}

export function foldersOf(layout: Layout = 'generic'): LabFolder[] {
  return LAYOUTS[layout];
}

/** The layout's spam folder (the one with `\Junk`, or the one known by name). */
export function junkFolderOf(layout: Layout = 'generic'): string {
  return LAYOUTS[layout].find((f) => f.specialUse === '\\Junk' || f.junk)!.name;
}

/** The folder that models an inbox tab, for layouts that have tabs. */
export function tabFolderOf(layout: Layout, tab: NonNullable<LabFolder['tab']>): string | undefined {
  return LAYOUTS[layout].find((f) => f.tab === tab)?.name;
}

export const LAYOUT_NAMES = Object.keys(LAYOUTS) as Layout[];
