#!/usr/bin/env bash
# The system packages the tests need besides Node (npm test runs this first, as pretest):
#   prometheus (promtool: checks a live scrape, the alert recipes and the Grafana dashboard's queries),
#   mosquitto (the MQTT 5 broker of the USP tests; tests start their own on free ports),
#   chromium (headless, for the report and live page tests),
#   coturn (turnserver: the STUN server of the UDP connection-request tests, started by them on free ports),
#   prosody (the XMPP server of the XMPP connection-request tests; tests start their own on free ports),
#   rabbitmq-server (the STOMP broker of the USP STOMP tests, with its rabbitmq_stomp plugin; tests start their own node).
#   bsdutils (script, util-linux: runs the CLI under a pseudo-terminal for the live progress line test).
# (prlimit, from util-linux, is on every Debian install, as bsdutils is.)
# Installs what is missing with apt-get when it can (root, or sudo without a password);
# otherwise names the command to run and fails.
#   --check   only say what is missing (exit 0 when nothing is, 1 when something is)
# SYSTEM_DEPS_ROOT (for the tests of this script) is prefixed to the absolute paths it looks at.
set -euo pipefail
root="${SYSTEM_DEPS_ROOT:-}"
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
{ command -v mosquitto >/dev/null 2>&1 || [ -x "$root/usr/sbin/mosquitto" ]; } || missing+=(mosquitto)
{ [ -x "$root/usr/bin/chromium" ] || command -v chromium >/dev/null 2>&1; } || missing+=(chromium)
{ [ -x "$root/usr/bin/turnserver" ] || command -v turnserver >/dev/null 2>&1; } || missing+=(coturn)
{ [ -x "$root/usr/bin/prosody" ] || command -v prosody >/dev/null 2>&1; } || missing+=(prosody)
[ -x "$root/usr/lib/rabbitmq/bin/rabbitmq-server" ] || missing+=(rabbitmq-server)
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
if [ "${1:-}" = "--check" ]; then
  if [ ${#missing[@]} -eq 0 ]; then
    echo "system-deps: every system package the tests use is here" >&2
    exit 0
  fi
  echo "system-deps: missing ${missing[*]} (npm test installs them)" >&2
  exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0
echo "system-deps: installing ${missing[*]} (Debian packages) for the tests" >&2
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "system-deps: the tests need the Debian packages: ${missing[*]}; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: no apt-get here; install ${missing[*]} with your package manager" >&2
  exit 1
fi
# The tests start their own servers on free ports: keep the packages' system services
# (rabbitmq-server, prosody, coturn, mosquitto) from being started by the install, as
# Debian's policy-rc.d convention allows, unless this machine already has a policy.
policy="$root/usr/sbin/policy-rc.d"
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# written by cpe-sim scripts/system-deps.sh for the length of one install\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod 755 "$policy"
  trap '"${as_root[@]}" rm -f "$policy"' EXIT
fi
"${as_root[@]}" apt-get update -qq
# Through env: sudo's env_reset would drop a DEBIAN_FRONTEND set in front of it, and a
# debconf question would then wait on a terminal whose output goes to /dev/null.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
echo "system-deps: installed ${missing[*]}" >&2
