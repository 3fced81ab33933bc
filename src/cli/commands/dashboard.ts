// `inboxlens dashboard <domain>`: `check` with the live terminal dashboard.
import type { Argv } from 'yargs';
import type { Command } from '../command.ts';
import { command as check, type CheckArgs } from './check.ts';

export const command: Command<CheckArgs> = {
  order: 50,
  module: async () => {
    const m = await check.module();
    return {
      ...m,
      command: 'dashboard [domain..]',
      describe: 'The live terminal dashboard: authentication, blacklists, placement (plain text when not a TTY)',
      builder: (y: Argv) => (m.builder as (y: Argv) => Argv)(y) as Argv<CheckArgs>,
    };
  },
  run: (argv) => check.run({ ...argv, dashboard: true, dashboardTitle: 'dashboard' }),
};
