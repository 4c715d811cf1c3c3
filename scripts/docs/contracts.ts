// Error classes and Track actions, from @cio-bridge/contracts.
import { ERROR_CLASSES, OBJECT_ACTIONS, TRACK_ACTIONS } from '@cio-bridge/contracts';
import { codeList } from './markdown';

export const errorClassesLine = (): string =>
  `The error classes (\`x-dlq-error-class\`): ${codeList(ERROR_CLASSES)}.`;

export const actionsLine = (): string =>
  `The actions of a Track operation (\`action\`): ${codeList(TRACK_ACTIONS)}. ` +
  `An object (\`type: "object"\`) takes ${codeList(OBJECT_ACTIONS)}.`;
