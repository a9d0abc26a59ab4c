#!/usr/bin/env bash
# Debian packages the tests drive, installed only when their binary is missing.
# Prints one line per dependency: present / installed / MISSING. Never fails the make:
# a test that needs a MISSING dependency fails (or reports it) by itself, never skips silently.
set -u

# package -> the binary that shows it is installed
packages=(chromium chromium-driver dovecot-imapd)
declare -A binary=(
  [chromium]=/usr/bin/chromium
  [chromium-driver]=/usr/bin/chromedriver
  [dovecot-imapd]=/usr/sbin/dovecot
)

missing=()
for p in "${packages[@]}"; do
  [ -x "${binary[$p]}" ] || missing+=("$p")
done

why=""
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    sudo=()
    why="not root, and no password-less sudo"
  fi
  if [ -z "$why" ] && ! command -v apt-get >/dev/null; then
    why="no apt-get on this machine"
  fi
  if [ -z "$why" ]; then
    echo "system-deps: installing ${missing[*]} (apt-get)"
    if ! "${sudo[@]}" apt-get update -qq; then
      why="apt-get update failed"
    elif ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
      why="apt-get install failed"
    fi
  fi
fi

for p in "${packages[@]}"; do
  b=${binary[$p]}
  if [[ " ${missing[*]} " != *" $p "* ]]; then
    echo "system-deps: $p present ($b)"
  elif [ -x "$b" ]; then
    echo "system-deps: $p installed ($b)"
  else
    echo "system-deps: MISSING $p ($b${why:+: $why}) - the tests that need it will fail"
  fi
done
exit 0
