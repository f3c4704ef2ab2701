#!/usr/bin/env bash
# Installs the services the delivery tests run for real (tests/delivery): Debian's rsyslog, which
# the syslog/CEF test starts itself on loopback ports (no system service is started or changed).
# Installs with apt-get as root, or through sudo where that works without a password; otherwise it
# says why, and the test skips with the same reason (a failure under OTSENTRY_REQUIRE_SYSLOG=1).
set -euo pipefail

if command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ]; then
    echo "test services: rsyslogd present"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "test services: cannot install rsyslog (not root, no passwordless sudo); the syslog test will skip"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "test services: no apt-get here; install rsyslog by hand for the syslog test"
    exit 0
fi

echo "test services: installing rsyslog"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d keeps the package from starting the system's rsyslog: the test starts its own.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod +x "$policy"
    created_policy=1
fi
"${as_root[@]}" apt-get update -qq >/dev/null || true
"${as_root[@]}" apt-get install -y -qq --no-install-recommends rsyslog >/dev/null
if [ "$created_policy" -eq 1 ]; then
    "${as_root[@]}" rm -f "$policy"
fi
echo "test services: rsyslogd $(/usr/sbin/rsyslogd -v | head -1)"
