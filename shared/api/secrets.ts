/** Secret comparison in constant time: the time taken must not tell an attacker how much of a guess was right. */
import { createHash, timingSafeEqual } from 'node:crypto';

export function secretsEqual(given: string | null | undefined, expected: string | undefined): boolean {
  if (!given || !expected) return false;
  // Hashing first gives equal-length buffers, so the length of the secret does not leak either.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
