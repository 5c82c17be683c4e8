// Public API of dsnot. Nothing but exports lives here.
export type { DeviceKind, DeviceOption } from './backends/backend.js';
