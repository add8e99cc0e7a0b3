'use client';

import { useEffect, useState } from 'react';

/**
 * `value`, updated only once it has stayed the same for `ms`; or at once
 * while `now` is true (a click, unlike typing, is a finished change).
 */
export function useDebounced<T>(value: T, ms: number, now = false): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    if (now) {
      setSettled(value);
      return;
    }
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms, now]);
  return now ? value : settled;
}
