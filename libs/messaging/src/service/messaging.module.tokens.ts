/** Injection tokens of the messaging module. */
export const MESSAGING_CONFIG = Symbol('MESSAGING_CONFIG');
export const LOGGER = Symbol('LOGGER');
export const KAFKA = Symbol('KAFKA');
export const OUTBOX_PRODUCER = Symbol('OUTBOX_PRODUCER');
export const DATABASE_URL = Symbol('DATABASE_URL');
