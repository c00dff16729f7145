#!/usr/bin/env bash
# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs the Debian packages that `make demo` and `make test` drive for real, if any is missing:
# Podman (with runc), Skopeo, umoci and Distribution as the registry, Docker's credential helpers backed by
# pass/GnuPG, htpasswd and openssl for registry auth and TLS, debootstrap (plus uidmap) for the Molecule
# target images, Go (the unit tests build a small program with docker/cli's and containers/image's decoding rules
# as an oracle for our auth-file parser), shellcheck (for ansible-test sanity), and the Docker CLI (client only). As root it installs them with apt-get; otherwise it
# prints the command to run and fails. Safe to run again: it does nothing when all is there.
set -euo pipefail

APT_PACKAGES=(
  podman runc skopeo docker-registry umoci
  golang-docker-credential-helpers pass gnupg
  apache2-utils openssl debootstrap uidmap
  git make python3-venv golang-go shellcheck
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) != installed ]]; then
    missing+=("$pkg")
  fi
done
need_docker=false
command -v docker >/dev/null || need_docker=true

if ((${#missing[@]} == 0)) && ! $need_docker; then
  echo "system packages: all ${#APT_PACKAGES[@]} present, and the Docker CLI"
  exit 0
fi
if ((EUID != 0)); then
  docker_note=""
  $need_docker && docker_note=" (and the Docker CLI)"
  echo "missing system packages: ${missing[*]}${docker_note}" >&2
  echo "install them as root: sudo $0" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "updating the package lists ..."
apt-get update -qq
if ((${#missing[@]})); then
  echo "installing ${#missing[@]} package(s): ${missing[*]} ..."
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if $need_docker; then
  # Only the client is needed (there is no Docker engine to talk to). Debian's docker.io would also pull in
  # dockerd, containerd and iptables and try to start the daemon, so take just /usr/bin/docker out of it.
  echo "installing the Docker CLI from Debian's docker.io package (client only) ..."
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root docker.io && dpkg-deb --fsys-tarfile docker.io_*.deb | tar -x ./usr/bin/docker)
  install -m 0755 "$tmp/usr/bin/docker" /usr/local/bin/docker
fi
echo "system packages: installed"
