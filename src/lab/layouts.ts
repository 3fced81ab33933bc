// The folder layouts the lab gives its seed mailboxes, modelled on how each
// provider presents itself over IMAP: folder names and special-use attributes
// (RFC 6154). Seeds find Junk by `\Junk` first and by these names as a fallback,
// so the names are the providers' real ones.
export type Layout = 'generic' | 'gmail' | 'outlook' | 'yahoo' | 'icloud';

export interface LabFolder {
  name: string;
  specialUse?: '\\Junk' | '\\All' | '\\Trash' | '\\Sent' | '\\Drafts' | '\\Archive';
  /** a Gmail-style inbox tab modelled as a folder (the lab's Dovecot has no X-GM-RAW) */
  tab?: 'promotions' | 'social' | 'updates' | 'forums';
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
};

export function foldersOf(layout: Layout = 'generic'): LabFolder[] {
  return LAYOUTS[layout];
}

/** The layout's spam folder (the one with `\Junk`). */
export function junkFolderOf(layout: Layout = 'generic'): string {
  return LAYOUTS[layout].find((f) => f.specialUse === '\\Junk')!.name;
}

/** The folder that models an inbox tab, for layouts that have tabs. */
export function tabFolderOf(layout: Layout, tab: NonNullable<LabFolder['tab']>): string | undefined {
  return LAYOUTS[layout].find((f) => f.tab === tab)?.name;
}

export const LAYOUT_NAMES = Object.keys(LAYOUTS) as Layout[];
