export { Drain, closeAtDraining, PHASES, type Phase, type DrainEvent, type Handle, type ListenerPolicy, type DrainSummary, type InFlight, type WithdrawOptions } from './drain.js';
export { ActivityClock } from './activity.js';
export { createWaitingStrategy, parseWaitBeforeExit, waitForQuiet, AUTO_DEFAULTS, type WaitSpec, type WaitingStrategy, type WaitingContext } from './waiting.js';
