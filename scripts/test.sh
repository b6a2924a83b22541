#!/bin/sh
# Install finpilot with its test tools into .venv and run the test suite.
# Extra arguments go to pytest. Debian's chromium is installed for the browser test when
# this runs as root on a Debian-like machine, and patroni + etcd-server for the Patroni failover
# test, and prometheus + prometheus-alertmanager for the watch tests; elsewhere those tests say
# what they need.
set -eu
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
# scripts/constraints.txt pins the versions the suite was last run with: the scanners' dependency
# trees (checkov, semgrep, cyclonedx) otherwise send pip's resolver backtracking for many minutes.
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' -c scripts/constraints.txt
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's chromium for the browser test..." >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if { [ ! -x /usr/bin/patroni ] || [ ! -x /usr/bin/etcd ]; } && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's patroni and etcd-server for the Patroni failover test..." >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq patroni etcd-server >/dev/null
fi
if { [ ! -x /usr/bin/prometheus ] || [ ! -x /usr/bin/prometheus-alertmanager ]; } && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's prometheus and prometheus-alertmanager for the watch tests..." >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus prometheus-alertmanager >/dev/null
fi
exec .venv/bin/python -m pytest "$@"
