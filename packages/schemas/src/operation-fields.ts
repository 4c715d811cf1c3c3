import type {
  IdentifierKind,
  ObjectIdentifiers,
  PersonIdentifiers,
  TrackAction,
  TrackOperation,
} from './types';

/** The operation's action: `action`, or `event` when absent. */
export function operationAction(op: TrackOperation): TrackAction {
  return op.action ?? 'event';
}

/** Which identifier is set, and its value (undefined when none is). */
export function identifierOf(
  identifiers: PersonIdentifiers | ObjectIdentifiers | undefined,
): { kind: IdentifierKind; value: string } | undefined {
  if (!identifiers) return undefined;
  if (typeof identifiers.id === 'string') return { kind: 'id', value: identifiers.id };
  if (typeof identifiers.email === 'string') return { kind: 'email', value: identifiers.email };
  if (typeof identifiers.cio_id === 'string') return { kind: 'cio_id', value: identifiers.cio_id };
  return undefined;
}
