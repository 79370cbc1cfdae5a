/**
 * The POSIX sh scripts flash runs on a device (busybox sh or dash; needs coreutils' `mv -T` and
 * `sha256sum`, and `tar` with gzip). Each reports `key=value` lines on stdout.
 *
 * Layout under the deploy path P:
 *   releases/<id>/          one verified bundle per id (id = first 16 hex of manifest.json's sha256)
 *   current -> releases/<id>, previous -> releases/<id>   (relative symlinks, switched with mv -T)
 *   .upload/<id>.tar.gz     the upload (kept across an interrupted flash, so rsync resumes it)
 *   releases/.incoming-<id>-<token>/   unpacked and verified here, then renamed into releases/<id>
 *   .lock/                  mkdir lock: owner (token, host, pid, user, time), device-pid while the
 *                           device-side activation runs, activate (id prev prevprev) between the
 *                           switch and the end of the check.
 *
 * Exit codes: 0 ok; 4 device problem (message in error=); 75 lock held by someone else; 76 lock
 * lost; 77 an existing release was damaged and removed (upload again); 78 unpack failed; 79
 * checksum mismatch.
 */

const COMMON = `set -u
emit() { printf '%s=%s\\n' "$1" "$2"; }
die() { emit error "$2"; exit "$1"; }
own_lock() { [ -f "$P/.lock/owner" ] && grep -qx "token=$TOKEN" "$P/.lock/owner"; }
# atomic symlink switch: a new link beside the old one, renamed over it
setlink() { ln -sfn "$1" "$P/$2.tmp" && mv -T "$P/$2.tmp" "$P/$2"; }
release_of() { readlink "$P/$1" 2>/dev/null | sed 's#^releases/##'; }
`;

/** args: P TOKEN OWNER ID NODE BREAK(token of a lock judged stale, or -) */
export const PREPARE = `${COMMON}
P=$1; TOKEN=$2; OWNER=$3; ID=$4; NODE=$5; BREAK=$6
emit uname "$(uname -m)"
if [ ! -x "$NODE" ]; then
  found=$(command -v node 2>/dev/null || true)
  [ -n "$found" ] && emit nodefallback "$NODE" && NODE=$found
fi
if [ -x "$NODE" ]; then
  emit nodepath "$NODE"
  emit nodeinfo "$("$NODE" -p 'process.version + " " + process.arch' 2>/dev/null || echo broken)"
else
  emit nodepath missing
fi
if command -v rsync >/dev/null 2>&1; then emit rsync yes; else emit rsync no; fi
for c in sha256sum tar readlink find; do
  command -v "$c" >/dev/null 2>&1 || die 4 "'$c' is not installed on the device"
done
mkdir -p "$P/releases" "$P/.upload" || die 4 "cannot create $P/releases (does the user own $P?)"
if [ "$BREAK" != - ] && [ -f "$P/.lock/owner" ] && grep -qx "token=$BREAK" "$P/.lock/owner"; then
  if [ -f "$P/.lock/activate" ]; then
    # that flash died between switching current and finishing its check: put back what it replaced
    read -r aid aprev aprevprev < "$P/.lock/activate"
    if [ "$aprev" != - ]; then setlink "releases/$aprev" current; else rm -f "$P/current"; fi
    if [ "$aprevprev" != - ]; then setlink "releases/$aprevprev" previous; else rm -f "$P/previous"; fi
    emit recovered "$aid"
  fi
  mv "$P/.lock" "$P/.lock.stale.$TOKEN" && rm -rf "$P/.lock.stale.$TOKEN" && emit broke "$BREAK"
fi
if mkdir "$P/.lock" 2>/dev/null; then
  printf 'token=%s\\n%s\\n' "$TOKEN" "$OWNER" > "$P/.lock/owner" || die 4 "cannot write $P/.lock/owner"
  emit lock ok
else
  emit lock held
  sed -n 's/^\\([a-zA-Z]*\\)=/owner.\\1=/p' "$P/.lock/owner" 2>/dev/null
  now=$(date +%s)
  mt=$(stat -c %Y "$P/.lock" 2>/dev/null || echo "$now")
  emit lockage "$((now - mt))"
  dp=$(cat "$P/.lock/device-pid" 2>/dev/null || true)
  if [ -n "$dp" ] && kill -0 "$dp" 2>/dev/null; then emit devicebusy yes; else emit devicebusy no; fi
  exit 75
fi
# holding the lock: clear what interrupted flashes left behind (not a resumable upload of this id)
rm -rf "$P"/releases/.incoming-* "$P"/.lock.stale.* "$P/current.tmp" "$P/previous.tmp"
for f in "$P"/.upload/*; do
  [ -e "$f" ] && [ "$f" != "$P/.upload/$ID.tar.gz" ] && rm -f "$f"
done
ln -s probe "$P/.lock/probe" && mv -T "$P/.lock/probe" "$P/.lock/probe2" \\
  || { rm -rf "$P/.lock"; die 4 "mv -T does not work here (GNU coreutils needed for atomic symlink switches)"; }
emit current "$(release_of current)"
emit previous "$(release_of previous)"
if [ -f "$P/releases/$ID/manifest.json" ]; then emit have yes; else emit have no; fi
emit uploaded "$(wc -c < "$P/.upload/$ID.tar.gz" 2>/dev/null || echo 0)"
emit freekb "$(df -Pk "$P" 2>/dev/null | awk 'NR==2 {print $4}')"
exit 0
`;

/** args: P TOKEN ID NFILES (files including manifest.json); stdin: sha256sum list for the release. */
export const INSTALL = `${COMMON}
P=$1; TOKEN=$2; ID=$3; NFILES=$4
own_lock || die 76 "lost the device lock"
R="$P/releases/$ID"
if [ -d "$R" ]; then
  if (cd "$R" && sha256sum -c -) > "$P/.lock/sums" 2>&1; then
    emit installed existing
    exit 0
  fi
  rm -rf "$R"
  emit damaged "$(grep -v ': OK$' "$P/.lock/sums" | head -n 3 | tr '\\n' ' ')"
  exit 77
fi
U="$P/.upload/$ID.tar.gz"
[ -f "$U" ] || die 4 "the upload $U is missing"
INC="$P/releases/.incoming-$ID-$TOKEN"
rm -rf "$INC"
mkdir -p "$INC" || die 4 "cannot create $INC"
if ! tar -xzf "$U" -C "$INC" 2> "$P/.lock/tar.err"; then
  rm -rf "$INC"; rm -f "$U"
  die 78 "unpacking failed: $(tail -n 2 "$P/.lock/tar.err" | tr '\\n' ' ')"
fi
if ! (cd "$INC" && sha256sum -c -) > "$P/.lock/sums" 2>&1; then
  rm -rf "$INC"; rm -f "$U"
  die 79 "checksum mismatch on the device: $(grep -v ': OK$' "$P/.lock/sums" | head -n 3 | tr '\\n' ' ')"
fi
n=$(find "$INC" -type f | wc -l)
if [ "$n" -ne "$NFILES" ]; then
  rm -rf "$INC"; rm -f "$U"
  die 79 "the unpacked bundle holds $n files, the manifest lists $NFILES"
fi
sync
mv "$INC" "$R" || die 4 "cannot move the release into $R"
rm -f "$U"
sync
emit installed new
`;

/**
 * args: P TOKEN ID NODE ENTRY PREV PREVPREV CREATED(yes|no) KEEP [check args...]
 * Switch current, run the check, roll back if it fails, prune, unlock. Ignores hang-ups: once
 * started it finishes on the device even if the connection drops, so the device never stays on
 * an unchecked release (and a later flash repairs it from .lock/activate after a power cut).
 */
export const ACTIVATE = `${COMMON}
trap '' HUP PIPE INT TERM
P=$1; TOKEN=$2; ID=$3; NODE=$4; ENTRY=$5; PREV=$6; PREVPREV=$7; CREATED=$8; KEEP=$9
shift 9
own_lock || die 76 "lost the device lock"
echo $$ > "$P/.lock/device-pid"
cd "$P" || die 4 "cannot enter $P"
cur=$(readlink current 2>/dev/null || true)
switched=no
if [ "$cur" != "releases/$ID" ]; then
  printf '%s %s %s\\n' "$ID" "$PREV" "$PREVPREV" > .lock/activate
  sync
  setlink "releases/$ID" current || die 4 "cannot switch current to releases/$ID"
  if [ -n "$cur" ]; then setlink "$cur" previous; fi
  touch "releases/$ID"
  sync
  switched=yes
fi
emit switched "$switched"
"$NODE" "current/$ENTRY" check current --json "$@" > .lock/check.out 2> .lock/check.err
rc=$?
emit checkrc "$rc"
rolled=no
if [ "$rc" -ne 0 ] && [ "$switched" = yes ]; then
  if [ "$PREV" != - ]; then setlink "releases/$PREV" current; else rm -f current; fi
  if [ "$PREVPREV" != - ]; then setlink "releases/$PREVPREV" previous; else rm -f previous; fi
  [ "$CREATED" = yes ] && rm -rf "releases/$ID"
  sync
  rolled=yes
fi
rm -f .lock/activate
emit rolledback "$rolled"
emit current "$(release_of current)"
emit previous "$(release_of previous)"
# keep KEEP releases: current and previous, then the newest others by activation time
curl=$(readlink current 2>/dev/null || true)
prevl=$(readlink previous 2>/dev/null || true)
n=0; pruned=
[ -n "$curl" ] && n=$((n + 1))
[ -n "$prevl" ] && [ "$prevl" != "$curl" ] && n=$((n + 1))
for r in $(ls -1t releases 2>/dev/null); do
  if [ "releases/$r" = "$curl" ] || [ "releases/$r" = "$prevl" ]; then continue; fi
  if [ "$n" -lt "$KEEP" ]; then n=$((n + 1)); else rm -rf "releases/$r" && pruned="$pruned $r"; fi
done
emit pruned "\${pruned# }"
emit releases "$(ls -1t releases 2>/dev/null | tr '\\n' ' ')"
echo '--- check stdout ---'
cat .lock/check.out
echo '--- check stderr ---'
tail -n 20 .lock/check.err
echo '--- end ---'
own_lock && rm -rf "$P/.lock"
exit 0
`;

/** args: P TOKEN. Releases the lock if it is still ours. */
export const UNLOCK = `${COMMON}
P=$1; TOKEN=$2
if own_lock; then rm -rf "$P/.lock"; emit unlocked yes; else emit unlocked no; fi
`;

/**
 * args: P NODE(or -) [check args...]. Runs the check on the current release (read-only apart from
 * check-report.json) and prints its JSON report. NODE - : the nodePath of the current manifest.
 */
export const CHECK = `${COMMON}
trap '' HUP PIPE
P=$1; NODE=$2
shift 2
cd "$P" 2>/dev/null || die 4 "no deploy directory $P on the device"
cur=$(readlink current 2>/dev/null) || die 5 "no current release in $P (flash one first)"
emit current "\${cur#releases/}"
emit uname "$(uname -m)"
if [ "$NODE" = - ]; then NODE=$(sed -n 's/.*"nodePath": *"\\([^"]*\\)".*/\\1/p' current/manifest.json | head -n 1); fi
if [ -z "$NODE" ] || [ ! -x "$NODE" ]; then NODE=$(command -v node 2>/dev/null || true); fi
[ -n "$NODE" ] || die 4 "node not found on the device (pass ?node=PATH in the target)"
emit nodepath "$NODE"
ENTRY=$(sed -n 's/.*"entry": *"\\([^"]*\\)".*/\\1/p' current/manifest.json | head -n 1)
[ -n "$ENTRY" ] || ENTRY=runtime/edgedistill-device.mjs
out=.check.$$.out; err=.check.$$.err
"$NODE" "current/$ENTRY" check current --json "$@" > "$out" 2> "$err"
emit checkrc "$?"
echo '--- check stdout ---'
cat "$out"
echo '--- check stderr ---'
tail -n 20 "$err"
echo '--- end ---'
rm -f "$out" "$err"
`;

/** Splits an ACTIVATE/CHECK output into its key=value head and the check's stdout and stderr. */
export function splitCheckOutput(text: string): { head: string; checkStdout: string; checkStderr: string } {
  const a = text.indexOf('--- check stdout ---\n');
  if (a < 0) return { head: text, checkStdout: '', checkStderr: '' };
  const b = text.indexOf('--- check stderr ---\n', a);
  const c = text.indexOf('--- end ---', b < 0 ? a : b);
  const head = text.slice(0, a);
  const checkStdout = text.slice(a + '--- check stdout ---\n'.length, b < 0 ? (c < 0 ? text.length : c) : b);
  const checkStderr = b < 0 ? '' : text.slice(b + '--- check stderr ---\n'.length, c < 0 ? text.length : c);
  return { head, checkStdout, checkStderr };
}
