# Debian packages for scripts/setup.sh, installed as root or through sudo.
# A fresh machine often runs its automatic updates at boot, and a second set-up may run beside the
# first: apt-get then stops at once with "Could not get lock". These wait for the lock instead
# (every SETUP_APT_RETRY_S seconds, 10 by default, up to SETUP_APT_WAIT_S, 600 by default), and say so.

apt_get() {
  local sudo="" waited=0 tries=0 out step=${SETUP_APT_RETRY_S:-10} limit=${SETUP_APT_WAIT_S:-600}
  [ "$(id -u)" = 0 ] || sudo="sudo"
  while :; do
    if out=$(DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout="$step" "$@" 2>&1); then
      return 0
    fi
    if ! grep -qE "Could not get lock|Unable to lock|Unable to acquire" <<<"$out"; then
      printf '%s\n' "$out" >&2
      return 1
    fi
    if [ "$waited" -ge "$limit" ]; then
      printf '%s\n' "$out" >&2
      echo "setup: apt-get still waits for the package lock after ${waited} s; try again when the other apt-get or dpkg has finished" >&2
      return 1
    fi
    [ "$tries" = 0 ] && echo "setup: another apt-get or dpkg holds the package lock ($(grep -m1 -oE 'held by process [0-9]+[^.]*' <<<"$out" || echo 'lock held')); waiting for it" >&2
    sleep "$step"
    waited=$((waited + step))
    tries=$((tries + 1))
  done
}

# apt_install PACKAGE...: refresh the package lists, then install without recommended extras.
apt_install() {
  apt_get update -qq && apt_get install -y -qq --no-install-recommends "$@"
}
