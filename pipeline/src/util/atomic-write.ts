/** Atomic writes live in the runtime (the device-side check writes its report with them too). */
export { writeFileAtomic, writeFileAtomicSync } from '../../../runtime/src/util/atomic-write.js';
