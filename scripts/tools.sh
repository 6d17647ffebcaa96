#!/usr/bin/env bash
# Debian tools the tests use: kcat (an independent Kafka client), prometheus and promtool
# (a real scrape of the worker), chromium (the dashboard in a real browser), openssl (the
# TLS test makes its certificate). Installs the missing ones with apt-get, as root or via sudo.
missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -eq 0 ]; then
  return 0 2>/dev/null || exit 0
fi
echo "== installing Debian tools the tests need: ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "the tests need ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root" >&2
    return 1 2>/dev/null || exit 1
  fi
  sudo=(sudo)
fi
"${sudo[@]}" apt-get update -qq &&
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
