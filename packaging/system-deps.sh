#!/usr/bin/env bash
# Installs the Debian libraries Qt loads (offscreen and under Xvfb), the sound libraries and
# espeak-ng (the built-in spoken data sets), the OpenSSH server the remote tests use, and
# PostgreSQL for the shared-study tests, when any is missing.
set -eu
need=()
have() { ldconfig -p | grep -q "$1"; }
have libEGL.so.1 || need+=(libegl1)
have libGL.so.1 || need+=(libgl1)
have libfontconfig.so.1 || need+=(libfontconfig1)
have libxkbcommon.so.0 || need+=(libxkbcommon0)
have libdbus-1.so.3 || need+=(libdbus-1-3)
fc-list 2>/dev/null | grep -q . || need+=(fonts-dejavu-core fontconfig)
# soundfile reads WAV clips through libsndfile; espeak-ng speaks the built-in keywords and
# spoken_digits sets
have libsndfile.so.1 || need+=(libsndfile1)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
# the remote-run tests start a real OpenSSH server on 127.0.0.1
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
# the Slurm tests start a one-node cluster of their own (tests/e2e/slurm/cluster.py); the
# packages' own services are not used
[ -x /usr/sbin/slurmctld ] || need+=(slurmctld)
[ -x /usr/sbin/slurmd ] || need+=(slurmd)
command -v sbatch >/dev/null || need+=(slurm-client)
[ -x /usr/sbin/munged ] || need+=(munge)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing system libraries: ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing system libraries (install with apt-get): ${need[*]}" >&2
  fi
fi
# The packaging tests validate the .desktop, AppStream and shared-mime-info files with the
# reference tools (desktop-file-utils, appstream, shared-mime-info: about 3 MB installed).
tools=()
command -v desktop-file-validate >/dev/null || tools+=(desktop-file-utils)
command -v appstreamcli >/dev/null || tools+=(appstream)
command -v update-mime-database >/dev/null || tools+=(shared-mime-info)
if [ ${#tools[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing packaging validators: ${tools[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${tools[@]}" >/dev/null
  else
    echo "missing packaging validators (install with apt-get): ${tools[*]}" >&2
  fi
fi
# The sweep tests start a throw-away PostgreSQL server of their own (tests/pg.py, as the
# `postgres` user the package creates). No system-wide cluster is created, so the package
# leaves no server running.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing PostgreSQL (for the shared-study tests): postgresql"
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/layerforge.conf
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "missing PostgreSQL (install with apt-get): postgresql" >&2
  fi
fi
