#!/usr/bin/env bash
# A real OpenSSH server on 127.0.0.1:2222 for tests and benchmarks. Idempotent: safe to run
# any number of times; it installs, generates keys and starts sshd only when missing.
#
# Test login: the dedicated user `deckuser` (home /home/deckuser), not root, so that the
# remote side looks like a real remote host (its own $HOME, its own ~/.launchdeck) and tests
# never write into the developer's own home. deckuser joins the `docker` group when it exists,
# so a forwarded /var/run/docker.sock works for it. It also has a password (random, kept in the
# state dir) so password authentication can be tested for real.
#
# Output: KEY=VALUE lines on stdout (port, user, key paths, fingerprint), also written to
# $STATE/facts.env, which the pytest fixture reads.
set -euo pipefail

STATE=${DECK_SSHD_STATE:-/var/lib/launchdeck-test/ssh}
PORT=${DECK_SSHD_PORT:-2222}
USER_NAME=deckuser

log() { echo "sshd.sh: $*" >&2; }

if [ ! -x /usr/sbin/sshd ]; then
    log "installing openssh-server"
    # policy-rc.d keeps the package from starting its own sshd on port 22 where it could.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq openssh-server >&2
fi
mkdir -p /run/sshd "$STATE"
chmod 700 "$STATE"

[ -f "$STATE/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C deck-test-host -f "$STATE/host_ed25519"
[ -f "$STATE/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C deck-test-client -f "$STATE/client_ed25519"

if ! id "$USER_NAME" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$USER_NAME"
    rm -f "$STATE/password.set"  # a new user has no password yet
fi
if getent group docker >/dev/null; then usermod -aG docker "$USER_NAME"; fi
# Another test run may be using this server right now: files it reads are only written when
# they would change.
if [ ! -f "$STATE/password" ] || [ ! -f "$STATE/password.set" ]; then
    [ -f "$STATE/password" ] || { head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$STATE/password"; }
    chmod 600 "$STATE/password"
    echo "$USER_NAME:$(cat "$STATE/password")" | chpasswd
    touch "$STATE/password.set"
fi

HOME_DIR=$(getent passwd "$USER_NAME" | cut -d: -f6)
install -d -m 700 -o "$USER_NAME" -g "$USER_NAME" "$HOME_DIR/.ssh"
if ! cmp -s "$STATE/client_ed25519.pub" "$HOME_DIR/.ssh/authorized_keys"; then
    install -m 600 -o "$USER_NAME" -g "$USER_NAME" "$STATE/client_ed25519.pub" "$HOME_DIR/.ssh/authorized_keys"
fi

# Our own config file, so the distribution's /etc/ssh/sshd_config cannot change what tests see.
# MaxSessions stays at OpenSSH's default (10): the client must cope with real hosts' limit.
cat > "$STATE/sshd_config.new" <<CONF
Port $PORT
ListenAddress 127.0.0.1
HostKey $STATE/host_ed25519
PidFile $STATE/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
X11Forwarding no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
CONF
cmp -s "$STATE/sshd_config.new" "$STATE/sshd_config" 2>/dev/null \
    && rm "$STATE/sshd_config.new" || mv "$STATE/sshd_config.new" "$STATE/sshd_config"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

if ! listening; then
    log "starting sshd on 127.0.0.1:$PORT"
    /usr/sbin/sshd -t -f "$STATE/sshd_config"
    /usr/sbin/sshd -f "$STATE/sshd_config" -E "$STATE/sshd.log"
    for _ in $(seq 50); do listening && break; sleep 0.1; done
    listening || { log "sshd did not start; see $STATE/sshd.log"; exit 1; }
fi

FINGERPRINT=$(ssh-keygen -l -E sha256 -f "$STATE/host_ed25519.pub" | awk '{print $2}')
{
    echo "DECK_SSHD_HOST=127.0.0.1"
    echo "DECK_SSHD_PORT=$PORT"
    echo "DECK_SSHD_USER=$USER_NAME"
    echo "DECK_SSHD_HOME=$HOME_DIR"
    echo "DECK_SSHD_CLIENT_KEY=$STATE/client_ed25519"
    echo "DECK_SSHD_HOST_KEY=$STATE/host_ed25519"
    echo "DECK_SSHD_HOST_PUBKEY=$STATE/host_ed25519.pub"
    echo "DECK_SSHD_FINGERPRINT=$FINGERPRINT"
    echo "DECK_SSHD_PASSWORD_FILE=$STATE/password"
    echo "DECK_SSHD_PIDFILE=$STATE/sshd.pid"
} | tee "$STATE/facts.env"
