// Types for the npm `dnsbl` package (it ships none), as far as bench/blacklist.ts uses it.
declare module 'dnsbl' {
  export interface BatchResult { address: string; blacklist: string; listed: boolean; txt?: string[][] }
  export function batch(addrs: string | string[], lists: string | string[], opts?: { servers?: string | string[]; concurrency?: number; timeout?: number; includeTxt?: boolean }): Promise<BatchResult[]>;
  export function lookup(addr: string, list: string, opts?: { servers?: string | string[]; timeout?: number; includeTxt?: boolean }): Promise<boolean | { listed: boolean; txt: string[][] }>;
}
