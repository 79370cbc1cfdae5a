/** Flash bundles to devices over SSH (or into a mounted root file system) and check them there. */
export { flashFleet, checkFleet, mapLimit, parseTargets, type FleetOptions, type CheckFleetOptions } from './fleet.js';
export { flashSsh, checksumList, type FlashOptions, type FlashPhase } from './flash-ssh.js';
export { flashDir, DIR_CHECK_SKIPPED } from './flash-dir.js';
export { checkRemote, DEFAULT_DEPLOY_PATH, type CheckOptions } from './remote-check.js';
export { parseTarget, SAFE_PATH, type Target, type SshTarget, type DirTarget } from './target.js';
export { formatFlashTable, formatCheckTable, summarizeCheck, type FlashResult, type RemoteCheckResult, type CheckSummary } from './result.js';
export { satisfies, parseVersion } from './node-range.js';
export { judgeLock, pidAlive } from './lock.js';
export { shQuote, sshBaseArgs, rsyncRsh, type SshOptions } from './ssh.js';
