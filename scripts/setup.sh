#!/usr/bin/env bash
# One-time set-up of a fresh Debian/Ubuntu machine for inboxlens's lab and tests:
# Dovecot (IMAP, POP3, LMTP, and Sieve: dovecot-sieve) for the seed mailboxes, Postfix for the
# lab's real receiving stack (src/lab/real-stack.ts; "No configuration": the lab writes its own), SpamAssassin's spamd and
# rspamd for content scoring, tmux for the dashboard test, xmllint (libxml2-utils) for the
# JUnit schema test, chromium for the HTML report test, and the independent implementations
# the tests compare with: python3-authres (Authentication-Results), dkimpy (python3-dkim,
# DKIM and ARC) and pyspf (python3-spf, with python3-dnspython: apt would otherwise pick pydns
# for its alternative dependency), then the npm packages (which
# bring the pinned Node 24 runtime). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-sieve postfix spamassassin spamd rspamd tmux libxml2-utils chromium python3-authres python3-dkim python3-spf python3-dnspython)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: please install ${missing[*]} with your package manager (macOS: brew install dovecot spamassassin rspamd tmux libxml2 chromium)" >&2
    exit 1
  fi
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]} from Debian's packages" >&2
  $SUDO apt-get update -q
  # Postfix's package asks what kind of mail system this is: none (the lab runs private instances)
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  # the packages' own services are not wanted: the lab starts its own instances
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  for svc in dovecot spamd spamassassin rspamd postfix; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
fi

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
