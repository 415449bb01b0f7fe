/**
 * Levenshtein distances from all of `a` to every prefix of `b` (the DP's last row), over words or
 * letters. Word error rate reads the last cell; live commit alignment reads the cells at word
 * boundaries to find where already-committed text ends inside a new hypothesis.
 */
export function editDistanceRow(a: ArrayLike<string>, b: ArrayLike<string>): number[] {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev;
}
