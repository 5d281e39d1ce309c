import { randomBytes } from 'node:crypto';

/** A topic name no other test uses. */
export function uniqueTopic(label: string): string {
  return `kw-${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}
